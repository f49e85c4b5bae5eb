"""The pool judgement (pure): peaks over the window, the findings and their numbers, the
suggested size, and bounded, sanitized metric labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest

from advisor.analyze.pools import (
    OTHER_APPLICATIONS,
    PoolKind,
    PoolSettings,
    application_label,
    bounded_applications,
    judge_pools,
    record_peaks,
)
from advisor.export.metrics import AdvisorCollector
from advisor.export.poolcode import pool_code, timeout_sql
from advisor.history import ActivitySample, ConnectionGroup, IdleTransaction
from advisor.status import RuntimeStatus

SETTINGS = PoolSettings(
    pool_idle_min_connections=10,
    idle_in_transaction_min_seconds=60.0,
    idle_in_transaction_timeout_seconds=60.0,
    pool_size_factor=1.5,
    pool_min_size=2,
    pool_exhaustion_share=0.8,
    pool_idle_timeout_ms=30_000,
    pool_connection_timeout_ms=2_000,
)
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
DAY = 86_400.0


def sample(
    groups: list[tuple[str, str, int]],
    at: datetime = T0,
    idle: tuple[IdleTransaction, ...] = (),
    server: int | None = None,
    max_connections: int = 100,
) -> ActivitySample:
    built = tuple(ConnectionGroup(app, "app", state, n) for app, state, n in groups)
    return ActivitySample(
        database="shop",
        taken_at=at,
        groups=built,
        idle_in_transaction=idle,
        waits=(),
        server_connections=server if server is not None else sum(n for *_, n in groups),
        max_connections=max_connections,
        reserved_connections=3,
    )


def test_peaks_keep_the_most_in_use_and_the_fewest_idle_over_the_window() -> None:
    busy = sample([("api", "active", 8), ("api", "idle", 12)], T0)
    quiet = sample([("api", "idle", 20)], T0 + timedelta(minutes=1))
    buckets = record_peaks(record_peaks((), busy, DAY), quiet, DAY)
    analysis = judge_pools(quiet, buckets, SETTINGS, DAY)
    (peak,) = analysis.peaks
    assert (peak.peak_connections, peak.peak_in_use, peak.least_idle, peak.samples) == (
        20,
        8,
        12,
        2,
    )
    (suggestion,) = analysis.suggestions
    assert suggestion.suggested_max == 12  # ceil(1.5 x 8)
    assert suggestion.formula == "max(2, ceil(1.5 x 8 in use at the peak)) = 12"


def test_a_peak_older_than_the_window_no_longer_counts() -> None:
    old = sample([("api", "active", 40)], T0)
    now = sample([("api", "active", 2)], T0 + timedelta(hours=2))
    buckets = record_peaks(record_peaks((), old, 3600.0), now, 3600.0)
    (peak,) = judge_pools(now, buckets, SETTINGS, 3600.0).peaks
    assert peak.peak_in_use == 2


def test_a_pool_holding_idle_connections_is_found_with_its_numbers() -> None:
    now = sample([("api", "idle", 15), ("api", "active", 1)])
    analysis = judge_pools(now, record_peaks((), now, DAY), SETTINGS, DAY)
    (finding,) = analysis.findings
    assert finding.kind is PoolKind.IDLE_CONNECTIONS and finding.application == "api"
    assert "at least 15 idle connections" in finding.evidence
    assert "16 open at most, 1 in use at once at most" in finding.evidence
    assert "max 2" in finding.advice  # max(2, ceil(1.5 x 1))


def test_few_idle_connections_or_a_pool_sized_to_its_use_are_no_finding() -> None:
    few = sample([("api", "idle", 9)])
    assert judge_pools(few, (), SETTINGS, DAY).findings == ()
    # 12 idle, but 30 in use at the peak: 42 open is within the max of 45 it needs.
    sized = sample([("api", "idle", 12), ("api", "active", 30)])
    assert judge_pools(sized, (), SETTINGS, DAY).findings == ()


def test_a_session_idle_in_a_transaction_is_found_with_its_age_and_pid() -> None:
    stuck = IdleTransaction(4242, "worker", "billing", 95.0, 100.0)
    brief = IdleTransaction(4243, "worker", "billing", 2.0, 3.0)
    now = sample(
        [("worker", "idle in transaction", 2), ("worker", "active", 1)], idle=(stuck, brief)
    )
    (finding,) = judge_pools(now, (), SETTINGS, DAY).findings
    assert finding.kind is PoolKind.IDLE_IN_TRANSACTION
    assert (finding.pid, finding.seconds, finding.connections) == (4242, 95.0, 2)
    assert "pid 4242" in finding.evidence and "idle 95 s" in finding.evidence
    assert finding.users == ("billing",)
    assert timeout_sql("billing", 60) == (
        "ALTER ROLE billing SET idle_in_transaction_session_timeout = '60s';"
    )
    assert timeout_sql('Odd "role"', 60).startswith('ALTER ROLE "Odd ""role"""')


def test_pools_whose_peaks_add_up_to_the_limit_can_exhaust_the_server() -> None:
    first = sample([("api", "active", 50)], T0)
    later = sample([("api", "active", 5), ("jobs", "active", 40)], T0 + timedelta(minutes=5))
    buckets = record_peaks(record_peaks((), first, DAY), later, DAY)
    findings = judge_pools(later, buckets, SETTINGS, DAY).findings
    (exhaustion,) = [f for f in findings if f.kind is PoolKind.EXHAUSTION]
    # 50 + 40 = 90 of 97 (100 - 3 reserved), though never 90 at once.
    assert exhaustion.connections == 90
    assert "'api' 50, 'jobs' 40" in exhaustion.evidence and "of the 97" in exhaustion.evidence
    below = sample([("api", "active", 70)])
    assert judge_pools(below, (), SETTINGS, DAY).findings == ()


def test_the_pool_code_carries_a_hostile_name_only_as_a_string_literal() -> None:
    name = "x'); process.exit(1); //\n`${evil}`"
    now = sample([(name, "active", 4)])
    analysis = judge_pools(now, (), SETTINGS, DAY)
    (suggestion,) = analysis.suggestions
    code = pool_code(suggestion, analysis)
    assert 'application_name: "x\'); process.exit(1); //\\n`${evil}`",' in code
    assert "max: 6," in code and "drizzle({ client: pool })" in code
    assert code.count("\n") == 12  # the name added no line


def test_labels_are_sanitized_capped_and_bounded_with_an_other_bucket() -> None:
    assert application_label("orders-api") == "orders-api"
    assert application_label('a\nb"c}{`') == "a_b_c___"
    assert len(application_label("z" * 200)) == 40
    assert application_label("") == "(unnamed)"
    sizes = {f"app{i}": float(i) for i in range(30)}
    labels = bounded_applications(sizes, 10)
    assert {labels[f"app{i}"] for i in range(20, 30)} == {f"app{i}" for i in range(20, 30)}
    assert {labels[f"app{i}"] for i in range(20)} == {OTHER_APPLICATIONS}


def test_the_exporter_shows_at_most_the_bounded_applications() -> None:
    groups = [(f"tenant-{i}\n{'x' * 100}", "idle", 1 + i) for i in range(40)]
    now = sample(groups, idle=(IdleTransaction(7, "tenant-0", "app", 30.0, 31.0),))
    status = RuntimeStatus(["shop"])
    with status.edit("shop") as editor:
        editor.update(activity=now, pools=judge_pools(now, (), SETTINGS, DAY))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AdvisorCollector(status, 20, max_application_series=5))
    text = generate_latest(registry).decode()
    connections = [line for line in text.splitlines() if line.startswith("pg_advisor_connections{")]
    assert len(connections) == 6  # 5 applications and (other), all idle
    other = sum(1 + i for i in range(35))
    assert (
        f'pg_advisor_connections{{application="(other)",database="shop",state="idle"}} {other:.1f}'
        in text
    )
    assert "\n" not in "".join(line.split("{", 1)[1] for line in connections if "{" in line)
    assert 'pg_advisor_idle_in_transaction_max_age_seconds{database="shop"} 30.0' in text
    assert 'pg_advisor_connections_available{database="shop"} 97.0' in text
    assert 'pg_advisor_connections_waiting{database="shop",wait_event_type="Lock"} 0.0' in text
    suggested = [
        line for line in text.splitlines() if line.startswith("pg_advisor_pool_suggested_max{")
    ]
    assert len(suggested) == 6
