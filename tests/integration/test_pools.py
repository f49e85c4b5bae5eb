"""Connection pools against a real server and real node-postgres/Drizzle traffic: a pool of
15 connections left idle and a session left idle in a transaction are found by the daemon's
collection, with their counts and ages, and reach the metrics and the report."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from prometheus_client.exposition import generate_latest

from advisor.analyze.pools import PoolKind
from advisor.collect.connections import sample_activity
from advisor.daemon import Daemon
from advisor.demo.sandbox import ThrowawayCluster
from advisor.export.poolcode import pool_code
from advisor.pg import session
from tests.drizzle_project import NODE_MODULES, copy_project, require_node
from tests.handoff_items import missing_from_json, validate
from tests.support import create_database, settings_for

DATABASE = "pools"
API, WORKER = "orders-api", "billing-worker"
# What PostgreSQL keeps of a hostile name: printable ASCII, 63 bytes.
HOSTILE = "`evil` | *bold* [x](y) <b>" + "z" * 170
POOL_SIZE = 15

# An API whose pool opened 15 connections for concurrent requests and keeps them idle
# (idleTimeoutMillis 0), a worker that began a transaction, updated a row and never
# committed, and a client with a hostile application_name.
APP_JS = """
import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { sql } from 'drizzle-orm';

const url = process.env.DATABASE_URL;
const pool = new pg.Pool({
  connectionString: url, application_name: process.env.API, max: 15, idleTimeoutMillis: 0,
});
const db = drizzle({ client: pool });
await Promise.all(Array.from({ length: 15 }, () => db.execute(sql`select pg_sleep(0.3)`)));

const worker = new pg.Client({ connectionString: url, application_name: process.env.WORKER });
await worker.connect();
await worker.query('BEGIN');
await worker.query('UPDATE accounts SET balance = balance + 1 WHERE id = 1');
const hostile = new pg.Client({ connectionString: url, application_name: process.env.HOSTILE });
await hostile.connect();
await hostile.query('SELECT 1');

console.log(JSON.stringify({ worker_pid: worker.processID }));
process.stdin.resume();
process.stdin.on('end', async () => {
  await worker.query('ROLLBACK');
  await Promise.all([worker.end(), hostile.end(), pool.end()]);
  process.exit(0);
});
"""


@dataclass
class Traffic:
    dsn: str
    worker_pid: int
    started: float


@pytest.fixture(scope="module")
def traffic(
    cluster: ThrowawayCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Traffic]:
    require_node()
    dsn = create_database(
        cluster,
        DATABASE,
        "CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);"
        "INSERT INTO accounts VALUES (1, 0), (2, 0);",
    )
    project = copy_project(tmp_path_factory.mktemp("pools"))
    (project / "app.mjs").write_text(APP_JS)
    env = {
        "DATABASE_URL": dsn,
        "API": API,
        "WORKER": WORKER,
        "HOSTILE": HOSTILE,
        "PATH": "/usr/bin:/bin",
    }
    process = subprocess.Popen(
        ["node", "app.mjs"],
        cwd=project,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, f"the node script failed (exit {process.poll()})"
        started = time.monotonic()
        yield Traffic(dsn, int(json.loads(line)["worker_pid"]), started)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    assert NODE_MODULES.exists()


def test_one_sample_counts_the_idle_pool_and_the_open_transaction(traffic: Traffic) -> None:
    settings = settings_for(traffic.dsn)
    time.sleep(max(0.0, 1.2 - (time.monotonic() - traffic.started)))
    with session(traffic.dsn, settings) as conn:
        sample = sample_activity(conn, DATABASE, settings.application_name)
    groups = {(g.application, g.state): g for g in sample.groups}
    assert groups[(API, "idle")].connections == POOL_SIZE
    assert groups[(API, "idle")].user == "postgres"
    assert groups[(WORKER, "idle in transaction")].connections == 1
    (idle,) = sample.idle_in_transaction
    assert idle.pid == traffic.worker_pid and idle.application == WORKER
    assert idle.idle_seconds >= 1.0 and idle.transaction_seconds >= idle.idle_seconds
    # The advisor's own session is not counted; it is on the server.
    assert all(g.application != settings.application_name for g in sample.groups)
    client_sessions = POOL_SIZE + 2
    assert sample.server_connections >= client_sessions + 1
    assert sample.max_connections == 50 and sample.reserved_connections == 3
    assert sample.headroom == 47 - sample.server_connections


def test_the_daemon_finds_the_idle_pool_and_the_session_idle_in_a_transaction(
    traffic: Traffic, tmp_path: Path
) -> None:
    settings = settings_for(
        traffic.dsn,
        state_dir=tmp_path / "state",
        out=tmp_path / "reports",
        listen="127.0.0.1:1",
        idle_in_transaction_min_seconds=1.0,
    )
    daemon = Daemon(settings)
    try:
        daemon.collect(DATABASE)
        time.sleep(1.1)
        daemon.collect(DATABASE)
        daemon.judge_pools(DATABASE)
        status = daemon.status.get(DATABASE)
        scrape = generate_latest(daemon.registry).decode()
        daemon.report(DATABASE)
    finally:
        daemon.store.close()
    pools = status.pools
    assert pools is not None
    by_kind = {(f.kind, f.application): f for f in pools.findings}

    idle = by_kind[(PoolKind.IDLE_CONNECTIONS, API)]
    assert idle.connections == POOL_SIZE
    assert "15 idle connections in each of 2 samples" in idle.evidence
    suggestion = pools.suggestion(API)
    assert suggestion is not None
    assert (suggestion.peak_connections, suggestion.peak_in_use) == (POOL_SIZE, 0)
    assert suggestion.suggested_max == 2

    stuck = by_kind[(PoolKind.IDLE_IN_TRANSACTION, WORKER)]
    assert stuck.pid == traffic.worker_pid and stuck.seconds >= 1.0
    assert f"pid {traffic.worker_pid}" in stuck.evidence
    worker = pools.suggestion(WORKER)
    assert worker is not None and worker.peak_in_use == 1 and worker.suggested_max == 2

    # The metrics: counts by application and state, the open transaction's age.
    database = f'database="{DATABASE}"'
    assert f'pg_advisor_connections{{application="{API}",{database},state="idle"}} 15.0' in scrape
    age = next(
        line
        for line in scrape.splitlines()
        if line.startswith(f"pg_advisor_idle_in_transaction_max_age_seconds{{{database}}}")
    )
    assert float(age.split()[-1]) >= 1.0
    assert f'pg_advisor_pool_findings{{{database},kind="idle_in_transaction"}} 1.0' in scrape
    # The hostile name is a bounded, sanitized label.
    label = "_evil_ _ _bold_ _x__y_ _b_" + "z" * 14
    assert f'application="{label}"' in scrape
    assert "`evil`" not in scrape

    # The report: the pools with their numbers, the code, the hostile name escaped.
    (report,) = [
        p for p in (tmp_path / "reports").glob("*.md") if p.name != "role-comm-database.md"
    ]
    text = report.read_text()
    assert "## Connection pools" in text
    assert f"| {API} | postgres | 15 | 0 | 2 |" in text
    assert "max: 2," in text and "drizzle({ client: pool })" in text
    assert "ALTER ROLE postgres SET idle_in_transaction_session_timeout = '60s';" in text
    assert "\\`evil\\` \\| \\*bold\\*" in text
    assert "`evil` |" not in text
    handoff = (tmp_path / "reports" / "role-comm-database.md").read_text()
    assert "### Connection pool changes" in handoff and "max: 2," in handoff
    # Its JSON twin carries the same pool changes, code included.
    document = json.loads((tmp_path / "reports" / "role-comm-database.json").read_text())
    validate(document)
    assert missing_from_json(handoff, document) == []
    (idle,) = [
        c for c in document["findings"]["pool_changes"] if c["kind"] == "idle_in_transaction"
    ]
    assert "ALTER ROLE postgres SET idle_in_transaction_session_timeout" in idle["timeout_sql"]


def test_suggested_pool_code_runs_with_node_postgres_and_drizzle(
    traffic: Traffic, tmp_path: Path
) -> None:
    """The code the report gives is the code a team pastes: it connects and queries."""
    settings = settings_for(traffic.dsn, state_dir=tmp_path / "state", listen="127.0.0.1:1")
    daemon = Daemon(settings)
    try:
        daemon.collect(DATABASE)
        daemon.judge_pools(DATABASE)
        pools = daemon.status.get(DATABASE).pools
    finally:
        daemon.store.close()
    assert pools is not None
    suggestion = pools.suggestion(API)
    assert suggestion is not None
    project = copy_project(tmp_path / "project")
    script = pool_code(suggestion, pools) + (
        "\nimport { sql } from 'drizzle-orm';\n"
        "const { rows } = await db.execute(sql`select current_setting('application_name') AS app,"
        " current_setting('idle_in_transaction_session_timeout') AS timeout`);\n"
        "console.log(JSON.stringify({ ...rows[0], max: pool.options.max }));\n"
        "await pool.end();\n"
    )
    (project / "pool.mjs").write_text(script)
    result = subprocess.run(
        ["node", "pool.mjs"],
        cwd=project,
        env={"DATABASE_URL": traffic.dsn, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"app": API, "timeout": "1min", "max": 2}


def test_sessions_outside_the_watched_database_count_only_against_the_server(
    cluster: ThrowawayCluster, traffic: Traffic
) -> None:
    settings = settings_for(traffic.dsn)
    with (
        psycopg.connect(cluster.dsn(), application_name="elsewhere"),
        session(traffic.dsn, settings) as conn,
    ):
        sample = sample_activity(conn, DATABASE, settings.application_name)
        total = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        ).fetchone()
    assert all(g.application != "elsewhere" for g in sample.groups)
    assert total is not None and sample.server_connections == total[0]
