"""The collect backoff: a failing collection waits 1 s, 2 s, 4 s ... (capped) before the
next attempt, skips the runs scheduled in between, and starts over after a success."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from advisor.config import load_settings
from advisor.daemon import Daemon, retry_wait
from advisor.demo.sandbox import ThrowawayCluster


def test_the_wait_doubles_up_to_the_cap() -> None:
    assert [retry_wait(n, 300.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert retry_wait(12, 300.0) == 300.0
    assert retry_wait(10_000, 5.0) == 5.0  # no overflow however long it fails


def test_a_failing_collection_backs_off_and_a_success_resets_it(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    name = "backoff_later"
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    settings = load_settings(None, dsn=cluster.dsn(name), state_dir=tmp_path)
    daemon = Daemon(settings)
    collect = daemon._job("collect", name, daemon.collect)

    collect()  # the database does not exist yet
    runs = daemon.status.get(name).runs
    assert runs[("collect", "failure")] == 1
    collect()  # within the 1 s wait: skipped, not attempted
    assert daemon.status.get(name).runs[("collect", "failure")] == 1

    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(cluster.dsn(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
    time.sleep(retry_wait(1, settings.retry_max_seconds) + 0.1)
    collect()
    status = daemon.status.get(name)
    assert status.runs[("collect", "success")] == 1
    assert status.up
    collect()  # no backoff after a success: the next run goes ahead at once
    assert daemon.status.get(name).runs[("collect", "success")] == 2

    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    collect()
    assert daemon.status.get(name).runs[("collect", "failure")] == 2
    # The success started the count over: the wait is 1 s again, not 2 s.
    time.sleep(retry_wait(1, settings.retry_max_seconds) + 0.1)
    collect()
    assert daemon.status.get(name).runs[("collect", "failure")] == 3
