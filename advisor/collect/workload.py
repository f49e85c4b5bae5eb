"""Reading the workload of one database from pg_stat_statements, whatever its version."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg import sql

from advisor.analyze.secrets import may_hold_secret
from advisor.history import (
    Delta,
    StatementCounters,
)
from advisor.model import (
    Statement,
    Workload,
)
from advisor.pg import MARKER, Connection

EXTENSION_SCHEMA_SQL = f"""{MARKER}
SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
"""

VIEW_COLUMNS_SQL = f"""{MARKER}
SELECT a.attname FROM pg_attribute a
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
"""

# Window start: the last reset of pg_stat_statements (PG 14+), else the server start.
INFO_EXISTS_SQL = f"{MARKER} SELECT to_regclass(%s) IS NOT NULL"
WINDOW_START_SQL = f"{MARKER} SELECT now(), pg_postmaster_start_time()"


@dataclass(frozen=True)
class StatementColumns:
    """The version-dependent column names of pg_stat_statements on this server."""

    exec_ms: str
    plan_ms: str | None
    has_toplevel: bool
    # The mean and (population) stddev of one call's execution time, where present.
    mean_exec_ms: str | None = None
    stddev_exec_ms: str | None = None

    @classmethod
    def from_names(cls, names: set[str]) -> StatementColumns:
        exec_ms = "total_exec_time" if "total_exec_time" in names else "total_time"
        plan_ms = "total_plan_time" if "total_plan_time" in names else None
        mean = next((n for n in ("mean_exec_time", "mean_time") if n in names), None)
        stddev = next((n for n in ("stddev_exec_time", "stddev_time") if n in names), None)
        if mean is None or stddev is None:
            mean = stddev = None
        return cls(exec_ms, plan_ms, "toplevel" in names, mean, stddev)

    def plan_sum(self) -> sql.Composable:
        """`sum(total_plan_time)`, or 0 where the server does not time planning."""
        if self.plan_ms is None:
            return sql.SQL("0")
        return sql.SQL("sum({})").format(sql.Identifier(self.plan_ms))

    def sum_of_squares(self) -> sql.Composable:
        """The sum of every call's execution time squared, over the rows summed: per row,
        calls × (stddev² + mean²), since pg_stat_statements' stddev is the population one
        (see analyze/timing.py); 0 where the server has no stddev."""
        if self.mean_exec_ms is None or self.stddev_exec_ms is None:
            return sql.SQL("0")
        return sql.SQL("sum(calls * (power({stddev}, 2) + power({mean}, 2)))").format(
            stddev=sql.Identifier(self.stddev_exec_ms), mean=sql.Identifier(self.mean_exec_ms)
        )


def statement_columns(conn: Connection, extension_schema: str) -> StatementColumns:
    view = sql.Identifier(extension_schema, "pg_stat_statements").as_string(conn)
    names = {row[0] for row in conn.execute(VIEW_COLUMNS_SQL, (view,)).fetchall()}
    return StatementColumns.from_names(names)


def extension_schema(conn: Connection) -> str:
    row = conn.execute(EXTENSION_SCHEMA_SQL).fetchone()
    return str(row[0]) if row else "public"


def _workload_query(schema: str, columns: StatementColumns) -> sql.Composed:
    """Per queryid of the current database: summed counters and one text (the busiest)."""
    return sql.SQL(
        MARKER
        + """
SELECT queryid, (array_agg(query ORDER BY calls DESC))[1], sum(calls)::bigint,
       sum({exec_ms})::float8, {plan}::float8, sum(rows)::bigint
FROM {fn}(true) AS s
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
GROUP BY queryid
ORDER BY sum({exec_ms}) DESC
"""
    ).format(
        exec_ms=sql.Identifier(columns.exec_ms),
        plan=columns.plan_sum(),
        fn=sql.Identifier(schema, "pg_stat_statements"),
    )


def window_start(conn: Connection, schema: str) -> tuple[datetime, datetime]:
    """(now, start of the observation window) on the server's clock."""
    row = conn.execute(WINDOW_START_SQL).fetchone()
    assert row is not None
    now, started = row
    info = sql.Identifier(schema, "pg_stat_statements_info")
    exists = conn.execute(INFO_EXISTS_SQL, (info.as_string(conn),)).fetchone()
    if exists and exists[0]:
        reset = conn.execute(
            sql.SQL(MARKER + " SELECT stats_reset FROM {}").format(info)
        ).fetchone()
        if reset and reset[0] is not None:
            started = max(started, reset[0])
    return now, started


def read_workload(conn: Connection, database: str, min_calls: int, limit: int) -> Workload:
    """The statements of the connected database with at least `min_calls` calls, the
    busiest `limit` of them, excluding the advisor's own statements and those whose text
    may hold a secret (their text goes no further than this function)."""
    schema = extension_schema(conn)
    columns = statement_columns(conn, schema)
    now, started = window_start(conn, schema)
    rows = conn.execute(_workload_query(schema, columns)).fetchall()
    statements, excluded = _select(
        ((q, text, StatementCounters(q, c, e, p, r)) for q, text, c, e, p, r in rows),
        min_calls,
        limit,
    )
    window = max((now - started).total_seconds(), 1.0)
    return Workload(
        database=database,
        statements=tuple(statements),
        window_seconds=window,
        collected_at=datetime.now(UTC),
        excluded=dict(excluded),
    )


def _select(
    rows: Iterable[tuple[int | None, str | None, StatementCounters]], min_calls: int, limit: int
) -> tuple[list[Statement], Counter[str]]:
    """The statements worth analyzing, busiest first as given, and why the others are not."""
    excluded: Counter[str] = Counter()
    statements: list[Statement] = []
    for queryid, text, counters in rows:
        reason = _exclusion(queryid, text, counters.calls, min_calls)
        if reason:
            excluded[reason] += 1
        elif len(statements) >= limit:
            excluded["beyond max_statements"] += 1
        else:
            assert text is not None
            statements.append(
                Statement(
                    counters.queryid,
                    text,
                    int(counters.calls),
                    float(counters.total_exec_ms),
                    float(counters.total_plan_ms),
                    int(counters.rows),
                )
            )
    return statements, excluded


def _exclusion(queryid: int | None, text: str | None, calls: int, min_calls: int) -> str | None:
    if queryid is None or text == "<insufficient privilege>":
        return "insufficient privilege (GRANT pg_read_all_stats)"
    if text is None:
        return "query text unavailable"
    if may_hold_secret(text):
        return "text withheld: may hold a secret"
    if MARKER in text:
        return "the advisor's own"
    if calls < min_calls:
        return "fewer calls than min_calls"
    return None


def workload_from_delta(
    delta: Delta, texts: Mapping[int, str], min_calls: int, limit: int
) -> Workload:
    """The workload of a window of stored counters, busiest statements first."""
    busiest = sorted(delta.statements, key=lambda c: (-c.total_ms, c.queryid))
    statements, excluded = _select(
        ((c.queryid, texts.get(c.queryid), c) for c in busiest), min_calls, limit
    )
    return Workload(
        database=delta.database,
        statements=tuple(statements),
        window_seconds=max(delta.seconds, 1.0),
        collected_at=delta.ended_at,
        excluded=dict(excluded),
    )
