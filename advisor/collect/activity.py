"""Write activity of the tables: HOT shares from the counters, rates from stored deltas."""

from __future__ import annotations

from advisor.model import Delta, TableName, TableWriteRate
from advisor.pg import MARKER, Connection

SECONDS_PER_DAY = 86_400.0

HOT_SHARES_SQL = f"""{MARKER}
SELECT schemaname, relname, n_tup_hot_upd::float8 / n_tup_upd
FROM pg_stat_user_tables WHERE n_tup_upd > 0
"""


def read_hot_shares(conn: Connection) -> dict[TableName, float]:
    """The share of each table's updates that stayed HOT, by its counters: a share, never
    a rate (the counters' window is not the workload's)."""
    return {TableName(s, t): float(share) for s, t, share in conn.execute(HOT_SHARES_SQL)}


def write_rates_from_delta(delta: Delta) -> dict[TableName, TableWriteRate]:
    """Rows written per day to every table within a window of stored counters."""
    per_day = SECONDS_PER_DAY / max(delta.seconds, 1.0)
    return {
        t.table: TableWriteRate(
            t.table,
            t.n_tup_ins * per_day,
            t.n_tup_upd * per_day,
            t.n_tup_hot_upd * per_day,
            t.n_tup_del * per_day,
        )
        for t in delta.tables
    }
