"""Cheap, frequent reads of cumulative counters: the daemon's collection step.

Statement counters are read with `pg_stat_statements(showtext := false)`, which does not
touch the query-text file; texts are fetched only for queryids not seen before, and a text
that may hold a secret (`ALTER ROLE ... PASSWORD '...'`) is dropped as it is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from psycopg import sql

from advisor.analyze.secrets import may_hold_secret
from advisor.collect.workload import extension_schema, statement_columns
from advisor.history import (
    Delta,
    IndexCounters,
    Snapshot,
    StatementCounters,
    TableCounters,
)
from advisor.model import (
    TableName,
)
from advisor.pg import MARKER, Connection

SERVER_SQL = f"{MARKER} SELECT now(), pg_postmaster_start_time()"
# The same, with the database's transactions in the same round trip: pg_stat_database
# lists every database of pg_database, so the row is always there.
SNAPSHOT_SERVER_SQL = f"""{MARKER}
SELECT now(), pg_postmaster_start_time(), xact_commit + xact_rollback, stats_reset
FROM pg_stat_database WHERE datname = current_database()
"""

TABLES_SQL = f"""{MARKER}
SELECT schemaname, relname, coalesce(seq_scan, 0), coalesce(seq_tup_read, 0),
       coalesce(idx_scan, 0), n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd, n_live_tup,
       pg_table_size(relid)
FROM pg_stat_user_tables
"""

INDEXES_SQL = f"""{MARKER}
SELECT schemaname, relname, indexrelname, idx_scan, idx_tup_read, idx_tup_fetch,
       pg_relation_size(indexrelid)
FROM pg_stat_user_indexes
"""


def _counters_query(schema: str, conn: Connection) -> sql.Composed:
    columns = statement_columns(conn, schema)
    return sql.SQL(
        MARKER
        + """
SELECT queryid, sum(calls)::bigint, sum({exec_ms})::float8, {plan}::float8, sum(rows)::bigint,
       {squares}::float8
FROM {fn}(false)
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND queryid IS NOT NULL
GROUP BY queryid
"""
    ).format(
        exec_ms=sql.Identifier(columns.exec_ms),
        plan=columns.plan_sum(),
        squares=columns.sum_of_squares(),
        fn=sql.Identifier(schema, "pg_stat_statements"),
    )


class SnapshotReader:
    """Reads snapshots of one database; remembers the version-dependent SQL it built."""

    def __init__(self, conn: Connection, database: str) -> None:
        self._database = database
        self._schema = extension_schema(conn)
        self._counters_sql = _counters_query(self._schema, conn)
        info = sql.Identifier(self._schema, "pg_stat_statements_info").as_string(conn)
        row = conn.execute(f"{MARKER} SELECT to_regclass(%s) IS NOT NULL", (info,)).fetchone()
        self._info_sql: sql.Composed | None = None
        if row and row[0]:
            self._info_sql = sql.SQL(MARKER + " SELECT stats_reset, dealloc FROM {}").format(
                sql.Identifier(self._schema, "pg_stat_statements_info")
            )

    def take(self, conn: Connection) -> Snapshot:
        """The counters of every statement, user table and user index, and the database's
        transactions, now."""
        row = conn.execute(SNAPSHOT_SERVER_SQL).fetchone()
        assert row is not None
        now, started, transactions, transactions_reset_at = row
        reset_at: datetime | None = None
        evicted: int | None = None
        if self._info_sql is not None:
            info = conn.execute(self._info_sql).fetchone()
            if info is not None:
                reset_at, evicted = info[0], int(info[1])
        statements = tuple(
            StatementCounters(int(q), int(c), float(e), float(p), int(r), float(s))
            for q, c, e, p, r, s in conn.execute(self._counters_sql).fetchall()
        )
        tables, indexes = read_table_counters(conn), read_index_counters(conn)
        return Snapshot(
            database=self._database,
            taken_at=now,
            server_started_at=started,
            statements_reset_at=reset_at,
            statements=statements,
            tables=tables,
            indexes=indexes,
            statements_evicted=evicted,
            transactions=None if transactions is None else int(transactions),
            transactions_reset_at=transactions_reset_at,
        )

    def texts(self, conn: Connection, queryids: Iterable[int]) -> dict[int, str]:
        """Query texts of the given queryids (this reads pg_stat_statements' text file).
        Texts that may hold a secret are left out, as unavailable ones are."""
        wanted = sorted(set(queryids))
        if not wanted:
            return {}
        query = sql.SQL(
            MARKER
            + """
SELECT queryid, (array_agg(query ORDER BY calls DESC))[1]
FROM {fn}(true)
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND queryid = ANY(%s)
GROUP BY queryid
"""
        ).format(fn=sql.Identifier(self._schema, "pg_stat_statements"))
        return {
            int(queryid): str(text)
            for queryid, text in conn.execute(query, (wanted,)).fetchall()
            if text is not None and not may_hold_secret(str(text))
        }


USAGE_WINDOW_SQL = f"""{MARKER}
SELECT now(), coalesce(stats_reset, pg_postmaster_start_time())
FROM pg_stat_database WHERE datname = current_database()
"""


def read_usage(conn: Connection, database: str) -> Delta:
    """Index and table counters since the statistics started counting, as one Delta."""
    row = conn.execute(USAGE_WINDOW_SQL).fetchone()
    assert row is not None
    now, started = row
    return Delta(database, started, now, (), read_table_counters(conn), read_index_counters(conn))


def read_replica_usage(conn: Connection, database: str) -> Delta:
    """A replica's index counters since its statistics started counting (a standby keeps
    its own: the scans run on it), as one Delta without tables or statements."""
    row = conn.execute(USAGE_WINDOW_SQL).fetchone()
    assert row is not None
    now, started = row
    return Delta(database, started, now, (), (), read_index_counters(conn))


def take_index_snapshot(conn: Connection, database: str) -> Snapshot:
    """The index counters of a replica now, as a snapshot (no statements, no tables)."""
    row = conn.execute(SERVER_SQL).fetchone()
    assert row is not None
    now, started = row
    return Snapshot(database, now, started, None, (), (), read_index_counters(conn))


def read_table_counters(conn: Connection) -> tuple[TableCounters, ...]:
    return tuple(
        TableCounters(TableName(s, t), *(int(v or 0) for v in rest))
        for s, t, *rest in conn.execute(TABLES_SQL).fetchall()
    )


def read_index_counters(conn: Connection) -> tuple[IndexCounters, ...]:
    return tuple(
        IndexCounters(TableName(s, t), i, *(int(v or 0) for v in rest))
        for s, t, i, *rest in conn.execute(INDEXES_SQL).fetchall()
    )
