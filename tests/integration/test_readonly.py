"""The advisor never changes the monitored database: every statement its sessions sent,
as the server logged them (log_statement = all), is a read, a plan or session state."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

from pglast import ast, parse_sql

from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.jobs.report import report_now
from advisor.pg import session
from advisor.store import Store
from tests.support import settings_for

_ENTRY = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[\d+\] app=(?P<app>.*?) db=\S* "
    r"LOG:  (?:statement|execute [^:]*): (?P<sql>.*)$"
)
_NEW_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")

# Reads, plans and session state; EXPLAIN only without ANALYZE (checked below).
_ALLOWED = (
    ast.SelectStmt,
    ast.ExplainStmt,
    ast.PrepareStmt,
    ast.DeallocateStmt,
    ast.VariableSetStmt,
    ast.VariableShowStmt,
)


def _logged_statements(log: str, application: str) -> list[str]:
    statements: list[str] = []
    current: list[str] | None = None
    for line in log.splitlines():
        if _NEW_ENTRY.match(line):
            if current is not None:
                statements.append("\n".join(current))
            match = _ENTRY.match(line)
            current = [match["sql"]] if match and match["app"] == application else None
        elif current is not None:
            current.append(line)
    if current is not None:
        statements.append("\n".join(current))
    return statements


def _is_read_only(statement: ast.Node) -> bool:
    if not isinstance(statement, _ALLOWED):
        return False
    if isinstance(statement, ast.SelectStmt):
        return statement.intoClause is None and not statement.lockingClause
    if isinstance(statement, ast.ExplainStmt):
        options = {o.defname.lower() for o in statement.options or ()}
        return "analyze" not in options and "analyse" not in options
    return True


def test_advisor_sends_no_ddl_or_dml(cluster: ThrowawayCluster, blog_dsn: str) -> None:
    log_start = len(cluster.server_log())
    settings = settings_for(blog_dsn, application_name="pg-advisor-readonly-test")
    with session(blog_dsn, settings) as conn:
        analysis = recommend(conn, settings)
    assert analysis.whatif_explains > 0
    statements = _logged_statements(cluster.server_log()[log_start:], "pg-advisor-readonly-test")
    assert len(statements) > analysis.whatif_explains
    offending = [
        text for text in statements for node in parse_sql(text) if not _is_read_only(node.stmt)
    ]
    assert offending == []


def test_the_log_check_would_catch_a_write() -> None:
    (node,) = parse_sql("INSERT INTO t VALUES (1)")
    assert not _is_read_only(node.stmt)
    (node,) = parse_sql("EXPLAIN (ANALYZE) DELETE FROM t")
    assert not _is_read_only(node.stmt)
    (node,) = parse_sql("CREATE INDEX ON t (a)")
    assert not _is_read_only(node.stmt)
    (node,) = parse_sql("SELECT 1 INTO t2")
    assert not _is_read_only(node.stmt)


def test_one_report_reads_each_catalog_and_statistic_once(
    cluster: ThrowawayCluster, blog_dsn: str, tmp_path: Path
) -> None:
    log_start = len(cluster.server_log())
    settings = settings_for(blog_dsn, application_name="pg-advisor-once-test", out=tmp_path)
    with session(blog_dsn, settings) as conn:
        report_now(conn, settings, Store(tmp_path / "state"), date(2026, 12, 3), False)
    statements = _logged_statements(cluster.server_log()[log_start:], "pg-advisor-once-test")
    reads = [text for text in statements if _reads_catalog_or_statistics(text)]
    assert len(reads) > 5
    repeated = {text: n for text, n in Counter(reads).items() if n > 1}
    assert repeated == {}


def _reads_catalog_or_statistics(text: str) -> bool:
    """A query of the system catalogs or the statistics views, not a planner call."""
    if "hypopg" in text:
        return False
    selects = [n.stmt for n in parse_sql(text) if isinstance(n.stmt, ast.SelectStmt)]
    names = {v.relname for select in selects for v in _range_vars(select)}
    return any(name.startswith("pg_") for name in names)


def _range_vars(node: ast.Node) -> list[ast.RangeVar]:
    from pglast.visitors import Visitor

    found: list[ast.RangeVar] = []

    class Collect(Visitor):  # type: ignore[misc]
        def visit_RangeVar(self, ancestors: object, node: ast.RangeVar) -> None:
            found.append(node)

    Collect()(node)
    return found


def test_the_repeat_check_sees_catalog_reads() -> None:
    assert _reads_catalog_or_statistics("SELECT relname FROM pg_class WHERE oid = 1")
    assert _reads_catalog_or_statistics("SELECT 1 FROM x JOIN pg_stat_user_tables s ON true")
    assert not _reads_catalog_or_statistics("SELECT * FROM hypopg_create_index('x')")
    assert not _reads_catalog_or_statistics("SELECT id FROM posts WHERE id = 1")
