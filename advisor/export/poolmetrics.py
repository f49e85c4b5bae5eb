"""The pg_advisor_* families of the connection samples and the pool judgement.

Labels stay bounded: an application_name is set by any client, so it becomes a sanitized
label of at most LABEL_CHARS characters, and only the `max_application_series` applications
with the most connections get series of their own, the rest adding up under "(other)";
states and wait event types are a fixed few. The per-database gauges are always present
(0 when nothing is idle in a transaction), so that alert rules and panels have a series.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from advisor.analyze.pools import PoolKind, bounded_applications, state_label
from advisor.status import DatabaseStatus

PREFIX = "pg_advisor"
# pg_stat_activity's wait_event_type values (PostgreSQL 15-17); any other is "other".
WAIT_EVENT_TYPES = (
    "Activity",
    "BufferPin",
    "Client",
    "Extension",
    "IO",
    "IPC",
    "LWLock",
    "Lock",
    "Timeout",
)


def pool_families(databases: Sequence[DatabaseStatus], max_series: int) -> Iterator[Metric]:
    """Connections by application and state, limits and headroom, waits, the oldest
    session idle in a transaction, and the pool judgement of the last analysis."""
    connections = GaugeMetricFamily(
        f"{PREFIX}_connections",
        f"Client connections to the database at the last collection, by application "
        f"(sanitized; the {max_series} largest, the rest as '(other)') and state; the "
        "advisor's own are left out.",
        labels=["database", "application", "state"],
    )
    available = GaugeMetricFamily(
        f"{PREFIX}_connections_available",
        "Connections ordinary roles may open on the server: max_connections minus the "
        "reserved slots.",
        labels=["database"],
    )
    in_use = GaugeMetricFamily(
        f"{PREFIX}_connections_server",
        "Client connections open on the whole server (every database, the advisor's too).",
        labels=["database"],
    )
    waiting = GaugeMetricFamily(
        f"{PREFIX}_connections_waiting",
        "Active sessions of the database waiting, by wait_event_type.",
        labels=["database", "wait_event_type"],
    )
    idle_age = GaugeMetricFamily(
        f"{PREFIX}_idle_in_transaction_max_age_seconds",
        "The longest a session of the database has been idle in a transaction (0: none).",
        labels=["database"],
    )
    for db in databases:
        sample = db.activity
        if sample is None:
            continue
        sizes: dict[str, float] = defaultdict(float)
        for group in sample.groups:
            sizes[group.application] += group.connections
        labels = bounded_applications(sizes, max_series)
        series: dict[tuple[str, str], float] = defaultdict(float)
        for group in sample.groups:
            series[(labels[group.application], state_label(group.state))] += group.connections
        for (application, state), count in sorted(series.items()):
            connections.add_metric([db.database, application, state], count)
        available.add_metric([db.database], sample.available)
        in_use.add_metric([db.database], sample.server_connections)
        waits = dict.fromkeys((*WAIT_EVENT_TYPES, "other"), 0)
        for kind, count in sample.waits:
            waits[kind if kind in WAIT_EVENT_TYPES else "other"] += count
        for kind, count in waits.items():
            waiting.add_metric([db.database, kind], count)
        oldest = max((t.idle_seconds for t in sample.idle_in_transaction), default=0.0)
        idle_age.add_metric([db.database], oldest)
    yield from (connections, available, in_use, waiting, idle_age)
    yield from _judgement(databases, max_series)


def _judgement(databases: Sequence[DatabaseStatus], max_series: int) -> Iterator[Metric]:
    peak = GaugeMetricFamily(
        f"{PREFIX}_pool_peak_in_use",
        "The most connections an application had in use at once (any state but idle) over "
        "the analysis window.",
        labels=["database", "application"],
    )
    suggested = GaugeMetricFamily(
        f"{PREFIX}_pool_suggested_max",
        "The pg.Pool max suggested for an application from its peak in use (see the report).",
        labels=["database", "application"],
    )
    findings = GaugeMetricFamily(
        f"{PREFIX}_pool_findings",
        "Connection pool findings of the last analysis, by kind.",
        labels=["database", "kind"],
    )
    for db in databases:
        pools = db.pools
        if pools is None:
            continue
        sizes = {s.application: float(s.peak_connections) for s in pools.suggestions}
        labels = bounded_applications(sizes, max_series)
        peaks: dict[str, float] = defaultdict(float)
        maxima: dict[str, float] = defaultdict(float)
        for s in pools.suggestions:
            # "(other)" adds the others up: their peaks and maxima as if one pool.
            peaks[labels[s.application]] += s.peak_in_use
            maxima[labels[s.application]] += s.suggested_max
        for application in sorted(peaks):
            peak.add_metric([db.database, application], peaks[application])
            suggested.add_metric([db.database, application], maxima[application])
        counts = {kind: 0 for kind in PoolKind}
        for finding in pools.findings:
            counts[finding.kind] += 1
        for kind, count in counts.items():
            findings.add_metric([db.database, kind.value], count)
    yield from (peak, suggested, findings)
