"""The advisor never changes the monitored database: every statement its sessions sent,
as the server logged them (log_statement = all), is a read, a plan or session state."""

from __future__ import annotations

import re

from pglast import ast, parse_sql

from advisor.jobs.recommend import recommend
from advisor.pg import session
from advisor.sandbox import ThrowawayCluster
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
