"""The daemon's latest results, shared between the scheduler's jobs (which write them) and
the HTTP server's scrapes (which read them). Scrapes never compute; they read this."""

from __future__ import annotations

import heapq
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypedDict, Unpack

from advisor.analyze.pools import PoolAnalysis
from advisor.history import (
    ActivitySample,
    IndexRegression,
    RealizedBenefit,
    Snapshot,
    StatementCounters,
    StoredRecommendation,
)
from advisor.model import (
    Analysis,
    Finding,
)


@dataclass(frozen=True)
class JobOutcome:
    """The last run of one job for one database."""

    duration_seconds: float = 0.0
    last_success_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class ReplicaStatus:
    """The last collection of one replica's index counters for one database."""

    up: bool
    error: str | None = None
    last_success_at: datetime | None = None


@dataclass(frozen=True)
class DatabaseStatus:
    """Everything the exporter shows about one database."""

    database: str
    up: bool = False
    jobs: dict[str, JobOutcome] = field(default_factory=dict)
    runs: Counter[tuple[str, str]] = field(default_factory=Counter)  # (job, outcome)
    errors: Counter[str] = field(default_factory=Counter)  # by stage
    whatif_explains: int = 0
    whatif_cache_hits: int = 0
    analysis: Analysis | None = None
    findings: tuple[Finding, ...] = ()
    snapshot: Snapshot | None = None
    # The busiest statements of the snapshot, busiest first (chosen by the collect job, so
    # that a scrape does not sort thousands of rows), with their running totals (counters
    # that never fall, see collect.deltas.running_totals).
    top_statements: tuple[StatementCounters, ...] = ()
    texts: dict[int, str] = field(default_factory=dict)
    fingerprints: dict[int, str] = field(default_factory=dict)  # of those texts
    open_recommendations: tuple[StoredRecommendation, ...] = ()
    # Workload totals over the standard windows ("1h", "24h", "7d"): (calls, seconds).
    windows: dict[str, tuple[int, float]] = field(default_factory=dict)
    realized: tuple[RealizedBenefit, ...] = ()
    # Each configured replica (host:port) by its last collection for this database.
    replicas: dict[str, ReplicaStatus] = field(default_factory=dict)
    # Statements slower since a created index appeared, the costliest first.
    regressions: tuple[IndexRegression, ...] = ()
    # The last pg_stat_activity sample (each collection), and the pools judged on the
    # window's samples (each analysis).
    activity: ActivitySample | None = None
    pools: PoolAnalysis | None = None


class StatusChanges(TypedDict, total=False):
    """The fields of a DatabaseStatus a job may replace (the job counters change through
    job_succeeded and job_failed)."""

    up: bool
    analysis: Analysis | None
    findings: tuple[Finding, ...]
    snapshot: Snapshot | None
    top_statements: tuple[StatementCounters, ...]
    texts: dict[int, str]
    fingerprints: dict[int, str]
    open_recommendations: tuple[StoredRecommendation, ...]
    windows: dict[str, tuple[int, float]]
    realized: tuple[RealizedBenefit, ...]
    regressions: tuple[IndexRegression, ...]
    whatif_explains: int
    whatif_cache_hits: int
    replicas: dict[str, ReplicaStatus]
    activity: ActivitySample | None
    pools: PoolAnalysis | None


def busiest(statements: Iterable[StatementCounters], count: int) -> tuple[StatementCounters, ...]:
    """The `count` statements with the most total time, busiest first."""
    return tuple(heapq.nsmallest(count, statements, key=lambda s: (-s.total_ms, s.queryid)))


class RuntimeStatus:
    """Thread-safe holder of each database's DatabaseStatus."""

    def __init__(self, databases: list[str]) -> None:
        self._lock = threading.Lock()
        self._by_database = {name: DatabaseStatus(name) for name in databases}
        self.started = threading.Event()

    def add(self, database: str) -> None:
        with self._lock:
            self._by_database.setdefault(database, DatabaseStatus(database))

    def databases(self) -> list[DatabaseStatus]:
        with self._lock:
            return list(self._by_database.values())

    def get(self, database: str) -> DatabaseStatus:
        with self._lock:
            return self._by_database[database]

    @contextmanager
    def edit(self, database: str) -> Iterator[_Editor]:
        """Change one database's status; the change is published atomically at the end."""
        with self._lock:
            editor = _Editor(self._by_database[database])
        yield editor
        with self._lock:
            self._by_database[database] = editor.status


class _Editor:
    def __init__(self, status: DatabaseStatus) -> None:
        self.status = replace(
            status,
            jobs=dict(status.jobs),
            runs=Counter(status.runs),
            errors=Counter(status.errors),
        )

    def update(self, **changes: Unpack[StatusChanges]) -> None:
        self.status = replace(self.status, **changes)

    def job_succeeded(self, job: str, seconds: float, at: datetime) -> None:
        self.status.jobs[job] = JobOutcome(seconds, at, None)
        self.status.runs[(job, "success")] += 1

    def job_failed(self, job: str, seconds: float, stage: str, error: str) -> None:
        previous = self.status.jobs.get(job, JobOutcome())
        self.status.jobs[job] = JobOutcome(seconds, previous.last_success_at, error)
        self.status.runs[(job, "failure")] += 1
        self.status.errors[stage] += 1
