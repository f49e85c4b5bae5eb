"""`pg-advisor health` and the daemon's health findings: the index health of one database.

Without the daemon's state the only usage window is the statistics' own: the counters of
pg_stat_user_indexes since their last reset (or, when no reset is on record, since the
server started). With a state directory, each index's first observation by the daemon
bounds the window, so a new index is never called unused for scans it could not have had.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from advisor.analyze.health import find_problems
from advisor.config import Settings, health_settings
from advisor.history import (
    Delta,
)
from advisor.jobs.observe import IndexKey, Observation
from advisor.model import (
    HealthReport,
)


def check_health(observation: Observation, settings: Settings) -> HealthReport:
    """Unused, duplicate, redundant and invalid indexes of the observed database."""
    usage = observation.usage
    observed = _observed_since(usage, observation.first_seen)
    now = usage.ended_at if usage is not None else observation.workload.collected_at
    findings = find_problems(observation.schema, usage, observed, now, health_settings(settings))
    caveat = None
    if usage is not None and not observation.first_seen:
        caveat = (
            f"usage counted since {usage.started_at:%Y-%m-%d %H:%M} UTC (the last statistics "
            "reset): an index created after that may look unused only because it is new; "
            "`pg-advisor run` records when it first saw each index"
        )
    return HealthReport(
        database=observation.database,
        findings=findings,
        observed_seconds=usage.seconds if usage is not None else 0.0,
        write_rates=tuple(sorted(observation.write_rates.values(), key=lambda r: r.table)),
        caveat=caveat,
    )


def _observed_since(
    usage: Delta | None, first_seen: Mapping[IndexKey, datetime]
) -> dict[IndexKey, datetime]:
    """Since when each index has been watched: its first sighting by the daemon, never
    before the usage window starts."""
    if usage is None:
        return dict(first_seen)
    return {
        (i.table, i.index): max(
            first_seen.get((i.table, i.index), usage.started_at), usage.started_at
        )
        for i in usage.indexes
    }
