"""Prometheus exposition: a custom collector that reads the daemon's latest results.

Nothing is computed at scrape time beyond formatting; the jobs produce, the collector reads.
Label cardinality is bounded: recommendations by `max_recommendations`, statements (and
statements slower since an index appeared) by `top_statements`, findings are summed by
kind, applications (connection pools, export/poolmetrics.py) by `max_application_series`.
Statement texts are labels only with `export_query_text` (a text can carry literals;
/metrics is unauthenticated by default).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from advisor import __version__
from advisor.export.poolmetrics import pool_families
from advisor.model import FindingKind
from advisor.status import DatabaseStatus, RuntimeStatus

PREFIX = "pg_advisor"
JOBS = ("collect", "analyze", "report")
# Job label values also served under their deprecated spelling, for one release, so that
# dashboards and alert rules written for it keep working.
DEPRECATED_TASKS = {"analyze": "analyse"}
QUERY_LABEL_CHARS = 200


class AdvisorCollector(Collector):
    """Yields every pg_advisor_* family from the RuntimeStatus."""

    def __init__(
        self,
        status: RuntimeStatus,
        top_statements: int = 20,
        export_query_text: bool = False,
        max_application_series: int = 10,
    ) -> None:
        self._status = status
        self._top = top_statements
        self._export_query_text = export_query_text
        self._max_application_series = max_application_series

    def collect(self) -> Iterator[Metric]:
        databases = self._status.databases()
        build = GaugeMetricFamily(f"{PREFIX}_build_info", "pg-advisor version.", labels=["version"])
        build.add_metric([__version__], 1)
        yield build
        yield from _health(databases)
        yield from _jobs(databases)
        yield from _whatif(databases)
        yield from _recommendations(databases)
        yield from _findings(databases)
        yield from _statements(databases, self._top, self._export_query_text)
        yield from _realized(databases)
        yield from _regressions(databases, self._top)
        yield from _windows(databases)
        yield from pool_families(databases, self._max_application_series)


def _health(databases: list[DatabaseStatus]) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        f"{PREFIX}_up",
        "1 if the last collection from the database succeeded, else 0.",
        labels=["database"],
    )
    replica_up = GaugeMetricFamily(
        f"{PREFIX}_replica_up",
        "1 if the last collection of a replica's index counters succeeded, else 0 (while "
        "0, unused indexes are reported unknown).",
        labels=["database", "replica"],
    )
    for db in databases:
        up.add_metric([db.database], 1 if db.up else 0)
        for replica, state in sorted(db.replicas.items()):
            replica_up.add_metric([db.database, replica], 1 if state.up else 0)
    yield up
    yield replica_up


def _jobs(databases: list[DatabaseStatus]) -> Iterator[Metric]:
    duration = GaugeMetricFamily(
        f"{PREFIX}_job_duration_seconds",
        "Duration of the last run of a job.",
        labels=["task", "database"],
    )
    last_success = GaugeMetricFamily(
        f"{PREFIX}_job_last_success_timestamp_seconds",
        "Unix time of the last successful run of a job.",
        labels=["task", "database"],
    )
    runs = CounterMetricFamily(
        f"{PREFIX}_job_runs", "Runs of a job by outcome.", labels=["task", "database", "outcome"]
    )
    errors = CounterMetricFamily(
        f"{PREFIX}_errors", "Errors by the stage that failed.", labels=["stage", "database"]
    )
    for db in databases:
        for job in JOBS:
            outcome = db.jobs.get(job)
            if outcome is None:
                continue
            for task in _spellings(job):
                duration.add_metric([task, db.database], outcome.duration_seconds)
                if outcome.last_success_at is not None:
                    last_success.add_metric(
                        [task, db.database], outcome.last_success_at.timestamp()
                    )
        for (job, result), count in sorted(db.runs.items()):
            for task in _spellings(job):
                runs.add_metric([task, db.database, result], count)
        for stage, count in sorted(db.errors.items()):
            for name in _spellings(stage):
                errors.add_metric([name, db.database], count)
    yield from (duration, last_success, runs, errors)


def _spellings(job: str) -> tuple[str, ...]:
    """The job's label value, and its deprecated spelling where it has one."""
    old = DEPRECATED_TASKS.get(job)
    return (job, old) if old else (job,)


def _whatif(databases: list[DatabaseStatus]) -> Iterator[Metric]:
    explains = CounterMetricFamily(
        f"{PREFIX}_whatif_explains", "What-if plans asked of the planner.", labels=["database"]
    )
    hits = CounterMetricFamily(
        f"{PREFIX}_whatif_cache_hits",
        "What-if plans answered from the cost cache.",
        labels=["database"],
    )
    valued = GaugeMetricFamily(
        f"{PREFIX}_statements_costed_with_values",
        "Statements the last analysis costed with the values they run with (pg_qualstats, "
        "the server log, pg_stats), not the generic plan alone.",
        labels=["database"],
    )
    for db in databases:
        explains.add_metric([db.database], db.whatif_explains)
        hits.add_metric([db.database], db.whatif_cache_hits)
        if db.analysis is not None:
            valued.add_metric([db.database], db.analysis.statements_with_values)
    yield from (explains, hits, valued)


def _recommendations(databases: list[DatabaseStatus]) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        f"{PREFIX}_recommendation_info",
        "An open index recommendation (always 1), with its definition.",
        labels=["database", "table", "index", "definition"],
    )
    saved = GaugeMetricFamily(
        f"{PREFIX}_recommendation_saved_seconds_per_day",
        "Estimated workload time an open recommendation saves per day.",
        labels=["database", "index"],
    )
    size = GaugeMetricFamily(
        f"{PREFIX}_recommendation_size_bytes",
        "Estimated size of a recommended index.",
        labels=["database", "index"],
    )
    age = GaugeMetricFamily(
        f"{PREFIX}_recommendation_open_seconds",
        "How long a recommendation has been open (since first seen).",
        labels=["database", "index"],
    )
    count = GaugeMetricFamily(
        f"{PREFIX}_recommendations", "Open recommendations.", labels=["database"]
    )
    now = datetime.now(UTC)
    for db in databases:
        recommendations = db.analysis.recommendations if db.analysis else ()
        first_seen = {r.name: r.first_seen for r in db.open_recommendations}
        count.add_metric([db.database], len(recommendations))
        for rec in recommendations:
            labels = [db.database, rec.name]
            info.add_metric(
                [db.database, str(rec.design.table), rec.name, rec.design.definition_sql()], 1
            )
            saved.add_metric(labels, rec.estimated_ms_saved_per_day / 1000)
            size.add_metric(labels, rec.estimated_size_bytes)
            seen = first_seen.get(rec.name)
            age.add_metric(labels, (now - seen).total_seconds() if seen else 0.0)
    yield from (count, info, saved, size, age)


def _findings(databases: list[DatabaseStatus]) -> Iterator[Metric]:
    size = GaugeMetricFamily(
        f"{PREFIX}_index_problem_bytes",
        "Bytes of existing indexes with a problem, by kind (unused, redundant, ...).",
        labels=["database", "kind"],
    )
    count = GaugeMetricFamily(
        f"{PREFIX}_index_problems",
        "Existing indexes with a problem, by kind.",
        labels=["database", "kind"],
    )
    for db in databases:
        sizes: dict[str, int] = defaultdict(int)
        counts: dict[str, int] = defaultdict(int)
        for finding in db.findings:
            sizes[finding.kind.value] += finding.size_bytes
            counts[finding.kind.value] += 1
        for kind in FindingKind:
            size.add_metric([db.database, kind.value], sizes[kind.value])
            count.add_metric([db.database, kind.value], counts[kind.value])
    yield from (size, count)


def _statements(databases: list[DatabaseStatus], top: int, with_text: bool) -> Iterator[Metric]:
    """The top statements by queryid. Their counters are the collect job's running totals,
    which a pg_stat_statements reset or eviction does not lower. Statements without a
    stored text (withheld: it may hold a secret) are not shown."""
    calls = CounterMetricFamily(
        f"{PREFIX}_statement_calls",
        f"Calls of the top {top} statements by total time (cumulative; never falls).",
        labels=["database", "queryid"],
    )
    seconds = CounterMetricFamily(
        f"{PREFIX}_statement_seconds",
        f"Execution and planning time of the top {top} statements (cumulative; never falls).",
        labels=["database", "queryid"],
    )
    info = GaugeMetricFamily(
        f"{PREFIX}_statement_info",
        "A top statement's fingerprint"
        + (" and text (truncated)" if with_text else "")
        + " (always 1).",
        labels=["database", "queryid", "fingerprint", *(["query"] if with_text else [])],
    )
    for db in databases:
        shown = [s for s in db.top_statements[:top] if s.queryid in db.texts]
        for counters in shown:
            labels = [db.database, str(counters.queryid)]
            calls.add_metric(labels, counters.calls)
            seconds.add_metric(labels, counters.total_ms / 1000)
            described = [*labels, db.fingerprints.get(counters.queryid, "")]
            if with_text:
                text = " ".join(db.texts[counters.queryid].split())[:QUERY_LABEL_CHARS]
                described.append(text)
            info.add_metric(described, 1)
    yield from (calls, seconds, info)


def _realized(databases: list[DatabaseStatus]) -> Iterator[Metric]:
    mean = GaugeMetricFamily(
        f"{PREFIX}_realized_mean_seconds",
        "Mean time of the statements a created index was meant to help, before and after.",
        labels=["database", "index", "phase"],
    )
    ratio = GaugeMetricFamily(
        f"{PREFIX}_realized_saved_ratio",
        "Share of the helped statements' mean time a created index really saved.",
        labels=["database", "index"],
    )
    for db in databases:
        for realized in db.realized:
            mean.add_metric([db.database, realized.name, "before"], realized.before_mean_ms / 1000)
            mean.add_metric([db.database, realized.name, "after"], realized.after_mean_ms / 1000)
            before = realized.before_mean_ms
            saved = 1 - realized.after_mean_ms / before if before > 0 else 0.0
            ratio.add_metric([db.database, realized.name], saved)
    yield from (mean, ratio)


def _regressions(databases: list[DatabaseStatus], top: int) -> Iterator[Metric]:
    """Statements slower since a created index appeared (the costliest `top` of each
    database), and per index the statement that undoes it."""
    ratio = GaugeMetricFamily(
        f"{PREFIX}_regression_ratio",
        "Mean execution time of a statement since a created index appeared over its mean "
        "before, for statements slower by more than regression_threshold with confidence.",
        labels=["database", "index", "queryid"],
    )
    undo = GaugeMetricFamily(
        f"{PREFIX}_regression_undo_info",
        "A created index that made statements slower (always 1), with the SQL that drops it.",
        labels=["database", "table", "index", "sql"],
    )
    for db in databases:
        shown = db.regressions[:top]
        for regression in shown:
            ratio.add_metric(
                [db.database, regression.index, str(regression.queryid)], regression.ratio
            )
        for regression in {r.index: r for r in shown}.values():
            undo.add_metric(
                [db.database, str(regression.table), regression.index, regression.undo_sql], 1
            )
    yield from (ratio, undo)


def _windows(databases: list[DatabaseStatus]) -> Iterator[Metric]:
    calls = GaugeMetricFamily(
        f"{PREFIX}_workload_calls",
        "Statement calls within the window ending at the last analysis (1h, 24h, 7d).",
        labels=["database", "window"],
    )
    seconds = GaugeMetricFamily(
        f"{PREFIX}_workload_seconds",
        "Statement execution and planning time within the window (1h, 24h, 7d).",
        labels=["database", "window"],
    )
    evicted = GaugeMetricFamily(
        f"{PREFIX}_statements_evicted",
        "pg_stat_statements entries evicted since its last reset (raise "
        "pg_stat_statements.max if this grows).",
        labels=["database"],
    )
    for db in databases:
        for window, (count, total) in sorted(db.windows.items()):
            calls.add_metric([db.database, window], count)
            seconds.add_metric([db.database, window], total)
        if db.snapshot is not None and db.snapshot.statements_evicted is not None:
            evicted.add_metric([db.database], db.snapshot.statements_evicted)
    yield from (calls, seconds, evicted)


def make_registry(
    status: RuntimeStatus,
    top_statements: int,
    export_query_text: bool = False,
    max_application_series: int = 10,
) -> CollectorRegistry:
    """A registry with the advisor's collector and the process's own metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        AdvisorCollector(status, top_statements, export_query_text, max_application_series)
    )
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry
