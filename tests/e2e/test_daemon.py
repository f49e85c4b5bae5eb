"""The daemon end to end: a real PostgreSQL, `pg-advisor run` as a process, the real
Prometheus scraping it, a workload, a database restart, a statistics reset, a daemon
restart, and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from advisor.demo import sample
from advisor.demo.sandbox import ThrowawayCluster, free_port, wait_until_ready
from advisor.store import Store
from tests.prometheus import PROMTOOL, PrometheusServer
from tests.support import create_database, create_sample_database, reset_statements, run_workload

PAGINATION = sample.STATEMENTS[0]


@pytest.fixture(scope="module")
def server() -> Iterator[ThrowawayCluster]:
    """A cluster of its own: this test stops and restarts it."""
    with ThrowawayCluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def shop_dsn(server: ThrowawayCluster) -> str:
    return create_sample_database(server, "shop")


class DaemonProcess:
    def __init__(self, dsn: str, state_dir: Path, out: Path, databases: str | None = None) -> None:
        self.port = free_port()
        self.log = state_dir.parent / f"daemon-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
        env.update({"ADVISOR_MIN_CALLS": "2", "ADVISOR_MIN_SAVED_MS_PER_DAY": "0"})
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "advisor.cli",
                "run",
                "--dsn",
                dsn,
                "--listen",
                f"127.0.0.1:{self.port}",
                "--state-dir",
                str(state_dir),
                "--out",
                str(out),
                "--collect-interval",
                "1",
                "--analyze-interval",
                "2",
                *(["--database", databases] if databases else []),
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("w"),
            env=env,
        )
        self.wait(lambda: self.get("/health")[0] == 200, "the daemon serving /health")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except OSError:
            return 0, ""

    def wait(self, condition: object, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():  # type: ignore[operator]
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited {self.process.returncode}: {self.logs()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.logs()[-3000:]}")
            time.sleep(0.3)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)


def test_daemon_lifecycle(server: ThrowawayCluster, shop_dsn: str, tmp_path: Path) -> None:
    state_dir, out = tmp_path / "state", tmp_path / "reports"
    reset_statements(shop_dsn)
    daemon = DaemonProcess(shop_dsn, state_dir, out)
    prometheus = PrometheusServer([f"127.0.0.1:{daemon.port}"])
    try:
        daemon.wait(lambda: daemon.get("/ready")[0] == 200, "the first collection")
        run_workload(shop_dsn, [(s.sql, s.params, s.calls) for s in sample.STATEMENTS])

        # Prometheus sees the recommendation the daemon found in the window's workload.
        found = prometheus.wait_for('pg_advisor_recommendation_info{database="shop"}', 90)
        assert "posts_author_id_created_at_idx" in {r["metric"]["index"] for r in found}
        assert prometheus.wait_for('pg_advisor_up{database="shop"} == 1')
        assert prometheus.wait_for('pg_advisor_whatif_explains_total{database="shop"} > 0')
        assert prometheus.wait_for("pg_advisor_statement_calls_total > 0")
        assert prometheus.wait_for('pg_advisor_workload_calls{database="shop",window="1h"} > 0')
        exposition = daemon.get("/metrics")[1]
        check = subprocess.run(
            [PROMTOOL, "check", "metrics"], input=exposition, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr

        # The database goes away: the daemon stays up, says so, and recovers.
        server.stop()
        daemon.wait(lambda: daemon.get("/ready")[0] == 503, "/ready to report the outage")
        assert prometheus.wait_for('pg_advisor_up{database="shop"} == 0', 30)
        body = daemon.get("/ready")[1]
        assert json.loads(body)["databases"]["shop"]["ready"] is False
        assert daemon.get("/health")[0] == 200
        server.start()
        wait_until_ready(server.dsn())
        daemon.wait(lambda: daemon.get("/ready")[0] == 200, "recovery after the restart")

        # A statistics reset in the middle: no negative, no doubled counts.
        run_workload(shop_dsn, [(PAGINATION.sql, PAGINATION.params, 10)], seed=1)
        time.sleep(2.5)
        reset_statements(shop_dsn, everything=True)
        run_workload(shop_dsn, [(PAGINATION.sql, PAGINATION.params, 7)], seed=2)
        time.sleep(2.5)
        assert daemon.stop() == 0
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
        prometheus.stop()

    store = Store(state_dir)
    try:
        window = store.window("shop", datetime.now(UTC) - timedelta(days=1))
        assert window is not None
        for counters in window.statements:
            assert counters.calls >= 0 and counters.total_exec_ms >= 0
        texts = store.texts("shop", [c.queryid for c in window.statements])
        pagination = [
            c
            for c in window.statements
            if texts.get(c.queryid, "").startswith(
                'select "id", "title", "created_at" from "posts"'
            )
        ]
        ran = PAGINATION.calls + 10 + 7
        assert pagination and sum(c.calls for c in pagination) <= ran
        assert sum(c.calls for c in pagination) >= 7
        assert store.recommendations("shop")
    finally:
        store.close()

    # A new daemon on the same state finds the recommendation without any new workload.
    restarted = DaemonProcess(shop_dsn, state_dir, out)
    try:
        restarted.wait(
            lambda: "posts_author_id_created_at_idx" in restarted.get("/metrics")[1],
            "the recommendation from the stored window",
        )
        assert restarted.stop() == 0
        assert "Traceback" not in restarted.logs()
    finally:
        if restarted.process.poll() is None:
            restarted.process.kill()


def test_sigterm_stops_within_seconds(shop_dsn: str, tmp_path: Path) -> None:
    daemon = DaemonProcess(shop_dsn, tmp_path / "state", tmp_path / "reports")
    daemon.wait(lambda: daemon.get("/ready")[0] == 200, "the first collection")
    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < 8
    lines = [json.loads(line) for line in daemon.logs().splitlines() if line.startswith("{")]
    assert any(line["event"] == "daemon.stopped" for line in lines)


def test_unusable_state_dir_is_a_clear_error(shop_dsn: str, tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "advisor.cli",
            "run",
            "--dsn",
            shop_dsn,
            "--state-dir",
            str(not_a_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert str(not_a_dir) in result.stderr


def test_database_down_at_start_does_not_stop_the_daemon(tmp_path: Path) -> None:
    dsn = f"postgresql://advisor:pw-not-shown@127.0.0.1:{free_port()}/nothing"
    daemon = DaemonProcess(dsn, tmp_path / "state", tmp_path / "reports")
    try:
        daemon.wait(lambda: daemon.get("/ready")[0] == 503, "/ready to say not ready")
        time.sleep(2)
        assert daemon.process.poll() is None
        assert 'pg_advisor_up{database="nothing"} 0.0' in daemon.get("/metrics")[1]
        assert daemon.stop() == 0
        assert "pw-not-shown" not in daemon.logs()
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()


def test_all_databases_are_discovered(
    server: ThrowawayCluster, shop_dsn: str, tmp_path: Path
) -> None:
    create_database(server, "other_app", "CREATE TABLE t (id int)")
    daemon = DaemonProcess(shop_dsn, tmp_path / "state", tmp_path / "reports", databases="*")
    try:
        daemon.wait(
            lambda: all(
                f'pg_advisor_up{{database="{name}"}} 1.0' in daemon.get("/metrics")[1]
                for name in ("shop", "other_app")
            ),
            "both databases collected",
        )
        daemon.wait(lambda: daemon.get("/ready")[0] == 200, "ready")
        # `postgres` has no pg_stat_statements: not watched, so not blocking readiness.
        assert 'database="postgres"' not in daemon.get("/metrics")[1]
        assert daemon.stop() == 0
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()


def test_created_recommendation_gets_its_realized_benefit_measured(
    server: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = create_sample_database(server, "loop")
    reset_statements(dsn)
    daemon = DaemonProcess(dsn, tmp_path / "state", tmp_path / "reports")
    name = "posts_author_id_created_at_idx"
    try:
        daemon.wait(lambda: daemon.get("/ready")[0] == 200, "the first collection")
        run_workload(dsn, [(PAGINATION.sql, PAGINATION.params, 60)])
        daemon.wait(lambda: f'index="{name}"' in daemon.get("/metrics")[1], "the recommendation")
        with psycopg.connect(dsn, autocommit=True) as conn:
            (create_sql,) = [
                line.split('definition="')[1].split('"')[0]
                for line in daemon.get("/metrics")[1].splitlines()
                if line.startswith("pg_advisor_recommendation_info") and name in line
            ]
            conn.execute(f"CREATE INDEX CONCURRENTLY {name} {create_sql}")
            conn.execute("ANALYZE posts")
        # Built: the daemon stops recommending it and starts measuring it.
        daemon.wait(lambda: f'index="{name}"' not in daemon.get("/metrics")[1], "the index noticed")
        run_workload(dsn, [(PAGINATION.sql, PAGINATION.params, 60)], seed=3)
        daemon.wait(
            lambda: (
                f'pg_advisor_realized_saved_ratio{{database="loop",index="{name}"}}'
                in daemon.get("/metrics")[1]
            ),
            "the realized benefit",
        )
        line = next(
            line
            for line in daemon.get("/metrics")[1].splitlines()
            if line.startswith("pg_advisor_realized_saved_ratio") and name in line
        )
        assert float(line.split()[-1]) > 0.5
        assert daemon.stop() == 0
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
