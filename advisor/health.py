"""`pg-advisor health`: the index-health findings of one database, judged now.

Without the daemon's state the only usage window is the statistics' own: the counters of
pg_stat_user_indexes since their last reset (or, when no reset is on record, since the
server started). With a state directory, each index's first observation by the daemon
bounds the window, so a new index is never called unused for scans it could not have had.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from advisor.advise import health_settings, observed_write_rates
from advisor.analyze.health import find_problems
from advisor.collect.schema import read_schema
from advisor.collect.snapshot import read_usage
from advisor.config import Settings
from advisor.model import Delta, HealthReport, TableName
from advisor.pg import Connection, capabilities, translate
from advisor.store import Store


def check_health(conn: Connection, settings: Settings, store: Store | None = None) -> HealthReport:
    """Unused, duplicate, redundant and invalid indexes of the connected database."""
    try:
        caps = capabilities(conn)
        schema = read_schema(conn)
        usage = read_usage(conn, caps.database)
        # Without pg_stat_statements no write is attributed to a window: no rate is invented.
        rates = (
            observed_write_rates(conn, caps.database, settings, schema).rates
            if caps.pg_stat_statements
            else {}
        )
    except psycopg.Error as error:
        raise translate(error, "reading index statistics") from None
    observed, caveat = _observed_since(usage, store, caps.database)
    findings = find_problems(schema, usage, observed, usage.ended_at, health_settings(settings))
    return HealthReport(
        database=caps.database,
        findings=findings,
        observed_seconds=usage.seconds,
        write_rates=tuple(sorted(rates.values(), key=lambda r: r.table)),
        caveat=caveat,
    )


def _observed_since(
    usage: Delta, store: Store | None, database: str
) -> tuple[dict[tuple[TableName, str], datetime], str | None]:
    first_seen = store.index_first_seen(database) if store is not None else {}
    observed = {
        (i.table, i.index): max(
            first_seen.get((i.table, i.index), usage.started_at), usage.started_at
        )
        for i in usage.indexes
    }
    caveat = None
    if store is None or not first_seen:
        caveat = (
            f"usage counted since {usage.started_at:%Y-%m-%d %H:%M} UTC (the last statistics "
            "reset): an index created after that may look unused only because it is new; "
            "`pg-advisor run` records when it first saw each index"
        )
    return observed, caveat
