"""The SQL scripts people run with `psql -f`: nothing from the database (an index, table or
database name, a statement's text) can end a comment and run as SQL, and every drop comes
with the statement that rolls it back."""

from __future__ import annotations

from advisor.export.console import comment, connect_line, health_to_sql
from advisor.model import Finding, FindingKind, HealthReport, TableName

EVIL = "evil\nDROP TABLE canary; --"
ORDERS = TableName("public", "orders")


def _report(database: str = "app") -> HealthReport:
    finding = Finding(
        FindingKind.DUPLICATE,
        ORDERS,
        EVIL,
        8192,
        f"the same as {EVIL}",
        'DROP INDEX CONCURRENTLY IF EXISTS public."evil\nDROP TABLE canary; --";',
        covered_by="orders_customer_id_idx",
        restore_sql="CREATE INDEX orders_customer_id_idx2 ON public.orders USING btree "
        "(customer_id);",
    )
    return HealthReport(database, (finding,), 86_400.0)


def _statements(script: str) -> list[str]:
    """The lines psql runs as SQL or meta-commands: all but comments and blanks."""
    return [line for line in script.splitlines() if line.strip() and not line.startswith("--")]


def test_a_line_break_in_a_name_cannot_end_a_comment() -> None:
    script = health_to_sql([_report()])
    # The one statement is the quoted DROP, whose line break stays inside the quotes.
    assert _statements(script) == [
        'DROP INDEX CONCURRENTLY IF EXISTS public."evil',
        'DROP TABLE canary; --";',
    ]


def test_a_drop_comes_with_its_rollback() -> None:
    script = health_to_sql([_report()])
    assert (
        "--   to roll back: CREATE INDEX orders_customer_id_idx2 ON public.orders USING btree "
        "(customer_id);" in script.splitlines()
    )


def test_a_database_name_with_a_line_break_stops_the_script() -> None:
    assert connect_line("app") == "\\connect app"
    assert connect_line('my "db"') == '\\connect "my ""db"""'
    assert connect_line(EVIL).startswith("\\quit")
    script = health_to_sql([_report(EVIL), _report("app")])
    statements = _statements(script)
    assert statements[0].startswith("\\quit")  # before anything of that database runs
    assert not any(line.startswith("\\connect") and "evil" in line for line in statements)


def test_every_line_of_a_comment_is_commented() -> None:
    assert comment("a\nb\r\nc", "  ") == ["--   a", "--   b", "--   c"]
    assert comment("") == ["--"]
