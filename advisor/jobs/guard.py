"""The daemon's regression guard: after a recommended index appears, every statement on its
table is compared before and since (analyze/regression.py decides), from the stored deltas.

"Before" is the analysis window (`analysis_window_hours`) that ended when the daemon first
saw the index; "since" is everything after. The collection interval in which the index
was built belongs to neither: its calls ran partly with it and partly without.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from advisor.analyze.regression import slower_statements
from advisor.config import Settings, regression_settings
from advisor.history import IndexRegression, StoredRecommendation
from advisor.jobs.observe import Observation
from advisor.store import Store


def measure_regressions(
    store: Store, settings: Settings, observation: Observation, now: datetime
) -> tuple[IndexRegression, ...]:
    """The statements slower since each created recommendation's index appeared, for the
    indexes that still exist (a dropped one was undone: nothing is left to flag)."""
    database = observation.database
    schema = observation.schema
    existing = {
        (table.name, index.name)
        for table in schema.tables.values()
        for index in table.indexes
        if index.valid
    }
    statements = observation.parsed_statements()
    limits = regression_settings(settings)
    found: list[IndexRegression] = []
    for rec in store.recommendations(database, "created"):
        appeared = _appeared(rec, observation)
        if appeared is None or (rec.table, rec.name) not in existing:
            continue
        span = timedelta(hours=settings.analysis_window_hours)
        before = store.window_within(database, appeared - span, appeared)
        since = store.window_within(database, appeared)
        if before is None or since is None:
            continue
        table = schema.tables.get(rec.table)
        partitioned = table is not None and table.partitioned
        for slow in slower_statements(rec.table, statements, before, since, limits):
            found.append(
                IndexRegression(
                    database=database,
                    index=rec.name,
                    table=rec.table,
                    queryid=slow.queryid,
                    before_calls=slow.before.calls,
                    before_mean_ms=slow.before.mean_ms,
                    since_calls=slow.since.calls,
                    since_mean_ms=slow.since.mean_ms,
                    measured_at=now,
                    partitioned=partitioned,
                )
            )
    return tuple(found)


def _appeared(rec: StoredRecommendation, observation: Observation) -> datetime | None:
    """When the index was first seen by a collection; else when an analysis saw it."""
    return observation.first_seen.get((rec.table, rec.name), rec.created_at)
