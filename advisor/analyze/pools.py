"""Connection pools judged from pg_stat_activity samples, with the numbers that show it.

- Peaks: per application, the most connections it held, the most it had in use at once
  (any state but idle: a client checked out of its pool), and the fewest it held idle, over
  the analysis window (kept as a few buckets, see `record_peaks`).
- A pool that holds many idle connections: at least `pool_idle_min_connections` idle in
  every sample it was seen in.
- Sessions idle in a transaction for at least `idle_in_transaction_min_seconds`.
- Pools that together can exhaust the server: the sum of each application's peak (the
  least its pool's `max` can be) reaches `pool_exhaustion_share` of the connections
  ordinary roles may open (max_connections minus the reserved slots).
- A suggested `pg.Pool` `max` per application: max(pool_min_size, ceil(pool_size_factor
  x peak in use)), stated with its numbers in the suggestion.

Also the label rules the exporter follows: application names are untrusted text, so a label
is a sanitized, capped name, and only the busiest applications get a series of their own.

Pure: samples in, findings out.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from advisor.analyze.writerates import duration
from advisor.history import ActivitySample

# States in which a session is not checked out of its pool (or cannot be told).
NOT_IN_USE = frozenset({"idle", "unknown", "disabled"})
IDLE_IN_TRANSACTION = "idle in transaction"
# Applications tracked per bucket (the most connections first): names can rotate.
MAX_TRACKED_APPLICATIONS = 500
# Buckets a window is kept in: peaks age out a bucket at a time.
BUCKETS_PER_WINDOW = 24
# Label values: at most this many characters, of these; the rest are other applications.
LABEL_CHARS = 40
_UNSAFE_LABEL_CHARS = re.compile(r"[^A-Za-z0-9 ._:/@+-]")
OTHER_APPLICATIONS = "(other)"
UNNAMED_APPLICATION = "(unnamed)"
STATE_LABELS = {
    "active": "active",
    "idle": "idle",
    "idle in transaction": "idle_in_transaction",
    "idle in transaction (aborted)": "idle_in_transaction_aborted",
    "fastpath function call": "fastpath_function_call",
    "disabled": "disabled",
}


@dataclass(frozen=True)
class PoolSettings:
    """Thresholds of the checks (config.pool_settings maps them from Settings, where each
    is documented with its default)."""

    pool_idle_min_connections: int
    idle_in_transaction_min_seconds: float
    idle_in_transaction_timeout_seconds: float
    pool_size_factor: float
    pool_min_size: int
    pool_exhaustion_share: float
    pool_idle_timeout_ms: int
    pool_connection_timeout_ms: int


# ------------------------------------------------------------------------ peaks


@dataclass(frozen=True)
class ApplicationPeak:
    """One application's connections over some samples: the most it held, the most in
    use at once, the most and the fewest idle, and the roles it connected as."""

    application: str
    users: tuple[str, ...]
    peak_connections: int
    peak_in_use: int
    peak_idle: int
    least_idle: int
    samples: int


@dataclass(frozen=True)
class PeakBucket:
    """The applications' peaks over the samples taken from `start` on (one bucket)."""

    start: datetime
    peaks: tuple[ApplicationPeak, ...]


def sample_peaks(sample: ActivitySample) -> tuple[ApplicationPeak, ...]:
    """Each application's connections in one sample, by name."""
    totals: dict[str, list[int]] = {}
    users: dict[str, set[str]] = {}
    for group in sample.groups:
        counts = totals.setdefault(group.application, [0, 0, 0])
        counts[0] += group.connections
        if group.state not in NOT_IN_USE:
            counts[1] += group.connections
        if group.state == "idle":
            counts[2] += group.connections
        users.setdefault(group.application, set()).add(group.user)
    return tuple(
        ApplicationPeak(app, tuple(sorted(users[app])), total, in_use, idle, idle, 1)
        for app, (total, in_use, idle) in sorted(totals.items())
    )


def merge_peaks(peaks: Iterable[ApplicationPeak]) -> tuple[ApplicationPeak, ...]:
    """Peaks of the same applications over more samples, by name."""
    merged: dict[str, ApplicationPeak] = {}
    for peak in peaks:
        seen = merged.get(peak.application)
        if seen is None:
            merged[peak.application] = peak
            continue
        merged[peak.application] = ApplicationPeak(
            peak.application,
            tuple(sorted(set(seen.users) | set(peak.users))),
            max(seen.peak_connections, peak.peak_connections),
            max(seen.peak_in_use, peak.peak_in_use),
            max(seen.peak_idle, peak.peak_idle),
            min(seen.least_idle, peak.least_idle),
            seen.samples + peak.samples,
        )
    return tuple(merged[name] for name in sorted(merged))


def record_peaks(
    buckets: Sequence[PeakBucket], sample: ActivitySample, window_seconds: float
) -> tuple[PeakBucket, ...]:
    """The buckets with a new sample folded in, those older than the window dropped. A
    window is kept in BUCKETS_PER_WINDOW buckets, each with at most
    MAX_TRACKED_APPLICATIONS applications (those with the most connections)."""
    width = max(window_seconds / BUCKETS_PER_WINDOW, 1.0)
    epoch = sample.taken_at.timestamp()
    start = sample.taken_at - timedelta(seconds=epoch % width)
    oldest = sample.taken_at - timedelta(seconds=window_seconds)
    kept = [b for b in buckets if b.start + timedelta(seconds=width) > oldest]
    current = sample_peaks(sample)
    if kept and kept[-1].start == start:
        current = merge_peaks((*kept[-1].peaks, *current))
        kept.pop()
    if len(current) > MAX_TRACKED_APPLICATIONS:
        busiest = sorted(current, key=lambda p: (-p.peak_connections, p.application))
        current = tuple(sorted(busiest[:MAX_TRACKED_APPLICATIONS], key=lambda p: p.application))
    kept.append(PeakBucket(start, current))
    return tuple(kept)


# --------------------------------------------------------------------- findings


class PoolKind(enum.Enum):
    IDLE_CONNECTIONS = "idle_connections"
    IDLE_IN_TRANSACTION = "idle_in_transaction"
    EXHAUSTION = "exhaustion"


@dataclass(frozen=True)
class PoolSuggestion:
    """The `max` suggested for an application's pool, from its peak in use."""

    application: str
    users: tuple[str, ...]
    peak_connections: int
    peak_in_use: int
    suggested_max: int
    # How it was derived, with the numbers: "max(2, ceil(1.5 x 4)) = 6".
    formula: str


@dataclass(frozen=True)
class PoolFinding:
    """A connection habit, with its evidence (numbers) and what to change. `application`
    is None for the server-wide exhaustion finding; `pid` is the oldest session's."""

    kind: PoolKind
    application: str | None
    evidence: str
    advice: str
    users: tuple[str, ...] = ()
    connections: int = 0
    seconds: float = 0.0
    pid: int | None = None


@dataclass(frozen=True)
class PoolAnalysis:
    """What the connection samples of one database's window say."""

    database: str
    sample: ActivitySample
    peaks: tuple[ApplicationPeak, ...]
    suggestions: tuple[PoolSuggestion, ...]
    findings: tuple[PoolFinding, ...]
    window_seconds: float
    settings: PoolSettings

    @property
    def samples(self) -> int:
        return max((p.samples for p in self.peaks), default=1)

    def suggestion(self, application: str) -> PoolSuggestion | None:
        return next((s for s in self.suggestions if s.application == application), None)


def judge_pools(
    sample: ActivitySample,
    buckets: Sequence[PeakBucket],
    settings: PoolSettings,
    window_seconds: float,
) -> PoolAnalysis:
    """Findings and suggested pool sizes from the latest sample and the window's peaks
    (`buckets`; the latest sample alone where they are empty)."""
    peaks = merge_peaks(p for b in buckets for p in b.peaks) or sample_peaks(sample)
    suggestions = tuple(suggest_pool(p, settings) for p in peaks)
    by_name = {s.application: s for s in suggestions}
    findings = (
        *(_idle_pool(p, by_name[p.application], settings, window_seconds) for p in peaks),
        *_idle_in_transaction(sample, settings),
        _exhaustion(sample, peaks, suggestions, settings),
    )
    return PoolAnalysis(
        sample.database,
        sample,
        peaks,
        suggestions,
        tuple(f for f in findings if f is not None),
        window_seconds,
        settings,
    )


def suggest_pool(peak: ApplicationPeak, settings: PoolSettings) -> PoolSuggestion:
    """max(pool_min_size, ceil(pool_size_factor x peak in use))."""
    scaled = math.ceil(settings.pool_size_factor * peak.peak_in_use)
    suggested = max(settings.pool_min_size, scaled)
    formula = (
        f"max({settings.pool_min_size}, ceil({settings.pool_size_factor:g} x "
        f"{peak.peak_in_use} in use at the peak)) = {suggested}"
    )
    return PoolSuggestion(
        peak.application,
        peak.users,
        peak.peak_connections,
        peak.peak_in_use,
        suggested,
        formula,
    )


def _idle_pool(
    peak: ApplicationPeak,
    suggestion: PoolSuggestion,
    settings: PoolSettings,
    window_seconds: float,
) -> PoolFinding | None:
    if peak.least_idle < settings.pool_idle_min_connections:
        return None
    if peak.peak_connections <= suggestion.suggested_max:
        return None
    samples = "the one sample" if peak.samples == 1 else f"each of {peak.samples} samples"
    evidence = (
        f"'{peak.application}' held at least {peak.least_idle} idle connections in {samples} "
        f"within {duration(window_seconds)} ({peak.peak_connections} open at most, "
        f"{peak.peak_in_use} in use at once at most)."
    )
    advice = (
        f"Its pool keeps {peak.peak_connections - suggestion.suggested_max} more connections "
        f"than its observed concurrency needs: max {suggestion.suggested_max} "
        f"({suggestion.formula}), and idleTimeoutMillis {settings.pool_idle_timeout_ms} "
        "to close the connections it no longer uses."
    )
    return PoolFinding(
        PoolKind.IDLE_CONNECTIONS, peak.application, evidence, advice, peak.users, peak.least_idle
    )


def _idle_in_transaction(sample: ActivitySample, settings: PoolSettings) -> tuple[PoolFinding, ...]:
    """One finding per application with sessions idle in a transaction for too long."""
    long_idle = [
        t
        for t in sample.idle_in_transaction
        if t.idle_seconds >= settings.idle_in_transaction_min_seconds
    ]
    totals: dict[str, int] = {}
    for group in sample.groups:
        if group.state.startswith(IDLE_IN_TRANSACTION):
            totals[group.application] = totals.get(group.application, 0) + group.connections
    findings = []
    for application in sorted({t.application for t in long_idle}):
        sessions = [t for t in long_idle if t.application == application]
        oldest = max(sessions, key=lambda t: (t.idle_seconds, -t.pid))
        users = tuple(sorted({t.user for t in sessions}))
        count = totals.get(application, len(sessions))
        evidence = (
            f"{count} session{'s' if count != 1 else ''} of '{application}' idle in a "
            f"transaction; the longest (pid {oldest.pid}, role '{oldest.user}') has been idle "
            f"{duration(oldest.idle_seconds)} since its last statement, in a transaction "
            f"open for {duration(oldest.transaction_seconds)}."
        )
        advice = (
            "An open transaction holds its locks and its pool connection, and keeps VACUUM "
            "from removing rows deleted after it began. Find the code path that neither "
            "commits nor releases the client (pool.connect() without client.release() in a "
            "finally, a slow await inside db.transaction), and let the server end such "
            "sessions: idle_in_transaction_session_timeout = "
            f"{duration(settings.idle_in_transaction_timeout_seconds)} for the role."
        )
        findings.append(
            PoolFinding(
                PoolKind.IDLE_IN_TRANSACTION,
                application,
                evidence,
                advice,
                users,
                count,
                oldest.idle_seconds,
                oldest.pid,
            )
        )
    return tuple(findings)


def _exhaustion(
    sample: ActivitySample,
    peaks: Sequence[ApplicationPeak],
    suggestions: Sequence[PoolSuggestion],
    settings: PoolSettings,
) -> PoolFinding | None:
    held = sum(p.peak_connections for p in peaks)
    available = sample.available
    if not peaks or held < settings.pool_exhaustion_share * available:
        return None
    busiest = sorted(peaks, key=lambda p: (-p.peak_connections, p.application))
    parts = ", ".join(f"'{p.application}' {p.peak_connections}" for p in busiest[:5])
    more = f" and {len(busiest) - 5} more" if len(busiest) > 5 else ""
    share = held / available if available else math.inf
    evidence = (
        f"The pools of {sample.database} held up to {held} connections together (the sum of "
        f"each application's peak: {parts}{more}) of the {available} the server allows "
        f"({sample.max_connections} max_connections - {sample.reserved_connections} "
        f"reserved): {share:.0%}. Now {sample.server_connections} client connections are "
        f"open on the server, {sample.headroom} left."
    )
    suggested = sum(s.suggested_max for s in suggestions)
    advice = (
        "When every pool grows to its peak at once, new connections fail with 'sorry, too "
        "many clients already'. Size each pool to its concurrency (the suggested maxima add "
        f"up to {suggested}), count every instance of the application (each has its own "
        "pool), or put PgBouncer in transaction mode in front of the server."
    )
    return PoolFinding(PoolKind.EXHAUSTION, None, evidence, advice, (), held)


# ----------------------------------------------------------------------- labels


def application_label(name: str) -> str:
    """A metric label value for an application_name: characters outside a safe set
    replaced by `_`, at most LABEL_CHARS; an empty name is UNNAMED_APPLICATION."""
    return _UNSAFE_LABEL_CHARS.sub("_", name)[:LABEL_CHARS] or UNNAMED_APPLICATION


def state_label(state: str) -> str:
    """A metric label value for a pg_stat_activity state (one of a fixed few)."""
    return STATE_LABELS.get(state, "unknown")


def bounded_applications(sizes: Mapping[str, float], limit: int) -> dict[str, str]:
    """The label of each application name: the `limit` largest (by `sizes`, ties by name)
    their sanitized name, the others OTHER_APPLICATIONS. Names that sanitize alike share a
    label (their series add up)."""
    ranked = sorted(sizes, key=lambda name: (-sizes[name], name))
    return {
        name: application_label(name) if rank < limit else OTHER_APPLICATIONS
        for rank, name in enumerate(ranked)
    }
