"""Write activity of the tables: rates from stored deltas."""

from __future__ import annotations

from advisor.history import (
    Delta,
)
from advisor.model import (
    TableName,
    TableWriteRate,
)

SECONDS_PER_DAY = 86_400.0


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
