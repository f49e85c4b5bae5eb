"""Write rates of the tables, from the cumulative statistics counters."""

from __future__ import annotations

from advisor.model import Delta, TableName, TableWriteRate
from advisor.pg import MARKER, Connection

SECONDS_PER_DAY = 86_400.0

# Counters run since the database's statistics were last reset; with no reset on record,
# since the server started (an underestimate of the window, so rates err high: safe).
WRITES_SQL = f"""{MARKER}
SELECT t.schemaname, t.relname, t.n_tup_ins, t.n_tup_upd, t.n_tup_hot_upd, t.n_tup_del,
       extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time()))
FROM pg_stat_user_tables t
JOIN pg_stat_database d ON d.datname = current_database()
"""


def read_write_rates(conn: Connection) -> dict[TableName, TableWriteRate]:
    """Rows written per day to every user table, since its counters started."""
    rates = {}
    for schema, table, ins, upd, hot, dele, seconds in conn.execute(WRITES_SQL).fetchall():
        per_day = SECONDS_PER_DAY / max(float(seconds or 0), 1.0)
        name = TableName(schema, table)
        rates[name] = TableWriteRate(
            name, ins * per_day, upd * per_day, hot * per_day, dele * per_day
        )
    return rates


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
