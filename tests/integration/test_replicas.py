"""Index usage over a real primary and a real streaming replica: statistics are per server,
so an index read only on the standby is not unused, and a standby that cannot be read makes
the unused verdicts unknown, never unused (issue 18)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from advisor.config import load_settings
from advisor.daemon import Daemon
from advisor.demo.sandbox import ThrowawayCluster, ThrowawayStandby, free_port
from advisor.model import FindingKind
from tests.integration.test_cli import run_cli
from tests.support import create_database

SCHEMA = """
CREATE TABLE items (id int PRIMARY KEY, tag int NOT NULL, note int NOT NULL);
INSERT INTO items SELECT g, g % 1000, g FROM generate_series(1, 50000) g;
CREATE INDEX items_tag ON items (tag);    -- read on the standby only
CREATE INDEX items_note ON items (note);  -- read nowhere
"""
READ_ON_STANDBY = "SELECT count(*) FROM items WHERE tag = %s"
# A day is 86,400 s: unused after about a second of watching, instead of two weeks.
SHORT_WAIT = {"ADVISOR_UNUSED_MIN_DAYS": "0.00001", "ADVISOR_UNUSED_MIN_SIZE_MB": "0"}


def label(server: ThrowawayCluster) -> str:
    return f"127.0.0.1:{server.port}"


def standby_scans(standby: ThrowawayStandby, database: str, index: str) -> int:
    with psycopg.connect(standby.dsn(database), autocommit=True) as conn:
        row = conn.execute(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = %s", (index,)
        ).fetchone()
    return int(row[0]) if row else 0


def read_on_standby(standby: ThrowawayStandby, database: str, times: int = 5) -> None:
    """Queries that only the index on tag serves, run on the standby, counted there."""
    with psycopg.connect(standby.dsn(database), autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_bitmapscan = off")
        for tag in range(times):
            conn.execute(READ_ON_STANDBY, (tag,)).fetchall()
    # A backend's counters reach the shared statistics when it ends, shortly after.
    deadline = time.monotonic() + 10
    while standby_scans(standby, database, "items_tag") < times:
        assert time.monotonic() < deadline, "the standby's index scans were never counted"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def replicated(cluster: ThrowawayCluster, standby: ThrowawayStandby) -> str:
    """The database on the primary, replayed on the standby, its tag index read there."""
    dsn = create_database(cluster, "replicated", SCHEMA, extensions=())
    standby.wait_for_replay()
    read_on_standby(standby, "replicated")
    time.sleep(1.0)  # past the short wait
    return dsn


def unused_of(result: str) -> dict[str, dict[str, object]]:
    (report,) = json.loads(result)["databases"]
    return {f["index"]: f for f in report["findings"] if f["kind"] in ("unused", "unknown")}


def test_an_index_read_only_on_the_replica_is_not_unused(
    replicated: str, standby: ThrowawayStandby
) -> None:
    alone = run_cli("health", "--dsn", replicated, "--format", "json", env=SHORT_WAIT)
    assert alone.returncode == 0, alone.stderr
    # Judged on the primary alone, both look unused: its statistics know nothing else.
    assert {n: f["kind"] for n, f in unused_of(alone.stdout).items()} == {
        "items_note": "unused",
        "items_tag": "unused",
    }

    both = run_cli(
        "health",
        "--dsn",
        replicated,
        "--replica",
        standby.dsn(),
        "--format",
        "json",
        env=SHORT_WAIT,
    )
    assert both.returncode == 0, both.stderr
    found = unused_of(both.stdout)
    assert {n: f["kind"] for n, f in found.items()} == {"items_note": "unused"}
    assert f"on the primary and replica(s) {label(standby)}" in str(found["items_note"]["reason"])
    (report,) = json.loads(both.stdout)["databases"]
    (replica,) = report["replicas"]
    assert replica["replica"] == label(standby) and replica["reachable"]
    assert replica["counted_since"] is not None


def test_without_the_wait_period_nothing_is_unused_and_health_says_what_the_counters_cover(
    replicated: str, standby: ThrowawayStandby
) -> None:
    result = run_cli("health", "--dsn", replicated, "--replica", standby.dsn(), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert unused_of(result.stdout) == {}
    (report,) = json.loads(result.stdout)["databases"]
    assert "on the primary and every replica read" in report["caveat"]
    assert "shorter than unused_min_days (14): no index is called unused" in report["caveat"]


def test_an_unreachable_replica_makes_the_unused_unknown_and_the_sql_drops_nothing(
    replicated: str,
) -> None:
    nowhere = f"postgresql://postgres:secret@127.0.0.1:{free_port()}/postgres"
    result = run_cli(
        "health", "--dsn", replicated, "--replica", nowhere, "--format", "json", env=SHORT_WAIT
    )
    assert result.returncode == 0, result.stderr
    found = unused_of(result.stdout)
    assert {n: f["kind"] for n, f in found.items()} == {
        "items_note": "unknown",
        "items_tag": "unknown",
    }
    reason = str(found["items_note"]["reason"])
    assert reason.startswith("unknown: replica 127.0.0.1:") and "unreachable (" in reason
    assert found["items_note"]["fix_sql"] == ""
    assert "secret" not in result.stdout + result.stderr

    script = run_cli(
        "health", "--dsn", replicated, "--replica", nowhere, "--format", "sql", env=SHORT_WAIT
    )
    assert script.returncode == 0, script.stderr
    assert "unknown: items_note" in script.stdout
    assert "DROP INDEX" not in script.stdout


# ------------------------------------------------------------------------- the daemon


def get(daemon: Daemon, path: str) -> tuple[int, str]:
    host, port = daemon.listen_address
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def watching(
    cluster: ThrowawayCluster, standby: ThrowawayStandby, tmp_path: Path
) -> Iterator[tuple[Daemon, str]]:
    """A daemon watching a fresh database on the primary and the standby, its scheduled
    jobs an hour apart (the test runs them), after its first collection."""
    name = "replicated_daemon"
    create_database(cluster, name, SCHEMA)
    standby.wait_for_replay()
    settings = load_settings(
        None,
        dsn=cluster.dsn(name),
        replicas=[standby.dsn()],
        state_dir=tmp_path / "state",
        out=tmp_path / "reports",
        listen=f"127.0.0.1:{free_port()}",
        collect_interval=3600,
        analyze_interval=3600,
        unused_min_days=0.00001,
        unused_min_size_mb=0,
        min_calls=1,
    )
    daemon = Daemon(settings)
    daemon.start()
    try:
        deadline = time.monotonic() + 30
        while daemon.status.get(name).runs[("collect", "success")] < 1:
            assert time.monotonic() < deadline, "no first collection"
            time.sleep(0.05)
        yield daemon, name
    finally:
        daemon.stop()
        if not (standby.datadir / "postmaster.pid").exists():
            standby.start()


def test_the_daemon_adds_the_replicas_scans_and_a_replica_down_makes_them_unknown(
    watching: tuple[Daemon, str], cluster: ThrowawayCluster, standby: ThrowawayStandby
) -> None:
    daemon, name = watching
    collect = daemon._job("collect", name, daemon.collect)
    analyze = daemon._job("analyze", name, daemon.analyze)
    with psycopg.connect(cluster.dsn(name), autocommit=True) as conn:
        for tag in range(3):  # a workload on the primary for the analysis to look at
            conn.execute("SELECT count(*) FROM items WHERE id > %s", (tag,)).fetchall()
    read_on_standby(standby, name)
    time.sleep(1.0)
    collect()
    analyze()
    status = daemon.status.get(name)
    assert status.replicas[label(standby)].up
    assert status.jobs["analyze"].last_error is None
    findings = {
        f.index: f for f in status.findings if f.kind in (FindingKind.UNUSED, FindingKind.UNKNOWN)
    }
    assert {n: f.kind for n, f in findings.items()} == {"items_note": FindingKind.UNUSED}
    assert f"replica(s) {label(standby)}" in findings["items_note"].reason
    code, metrics = get(daemon, "/metrics")
    assert f'pg_advisor_replica_up{{database="{name}",replica="{label(standby)}"}} 1.0' in metrics

    standby.stop()
    collect()
    status = daemon.status.get(name)
    assert status.up and not status.replicas[label(standby)].up
    code, body = get(daemon, "/ready")
    assert code == 200  # the primary is watched; the replica's state is in the body
    replica = json.loads(body)["databases"][name]["replicas"][label(standby)]
    assert replica["up"] is False and replica["error"]
    _, metrics = get(daemon, "/metrics")
    assert f'pg_advisor_replica_up{{database="{name}",replica="{label(standby)}"}} 0.0' in metrics
    analyze()
    findings = {f.index: f for f in daemon.status.get(name).findings if f.index == "items_note"}
    assert findings["items_note"].kind is FindingKind.UNKNOWN
    assert findings["items_note"].fix_sql == ""
    assert f"replica {label(standby)} unreachable" in findings["items_note"].reason
