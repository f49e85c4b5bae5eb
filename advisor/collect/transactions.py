"""What the server counts of transactions: whether pg_stat_statements tracks BEGIN and
COMMIT, and pg_stat_database's transactions over pg_stat_statements' own window."""

from __future__ import annotations

from datetime import timedelta

import psycopg

from advisor.pg import MARKER, Connection

TRACK_UTILITY_SQL = (
    MARKER + " SELECT coalesce(current_setting('pg_stat_statements.track_utility', true), '')"
)
DATABASE_TRANSACTIONS_SQL = (
    MARKER
    + """
SELECT xact_commit + xact_rollback, coalesce(stats_reset, pg_postmaster_start_time()), now()
FROM pg_stat_database WHERE datname = current_database()
"""
)
# pg_stat_database's window matches pg_stat_statements' when they started this close.
_SAME_START = timedelta(seconds=60)
_SAME_START_SHARE = 0.02


def tracks_utility(conn: Connection) -> bool:
    """Whether pg_stat_statements counts utility statements (BEGIN, COMMIT ...)."""
    try:
        row = conn.execute(TRACK_UTILITY_SQL).fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return False
    return row is not None and str(row[0]).lower() in ("on", "true", "1")


def database_transactions(conn: Connection, window_seconds: float) -> int | None:
    """The transactions (commits and rollbacks) of the connected database over the last
    `window_seconds` (pg_stat_statements' window, read just before), when
    pg_stat_database's counters started then too (a statistics reset or the server's
    start); None when its window is another one."""
    row = conn.execute(DATABASE_TRANSACTIONS_SQL).fetchone()
    if row is None or row[0] is None or row[1] is None:
        return None
    count, since, now = int(row[0]), row[1], row[2]
    window = timedelta(seconds=window_seconds)
    slack = max(_SAME_START, window * _SAME_START_SHARE)
    return count if abs(since - (now - window)) <= slack else None
