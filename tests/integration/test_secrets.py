"""A password set with ALTER ROLE stays in pg_stat_statements verbatim; the daemon never
exports, stores or logs it. Statement texts reach /metrics only with export_query_text."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from prometheus_client.exposition import generate_latest

from advisor.daemon import Daemon
from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.observe import observe
from advisor.pg import session
from advisor.store import Store
from tests.support import create_database, run_workload, settings_for

SECRET = "LeakMe_Secret_42"
DATABASE = "secrets"
DDL = """
CREATE TABLE accounts (id int PRIMARY KEY, email text NOT NULL, password text NOT NULL);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', md5(g::text)
FROM generate_series(1, 2000) g;
"""
LOOKUP = "SELECT id, password FROM accounts WHERE email = %s"


@pytest.fixture(scope="module")
def secrets_dsn(cluster: ThrowawayCluster) -> str:
    """A database whose workload holds a password change besides ordinary lookups."""
    dsn = create_database(cluster, DATABASE, DDL)
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS weak")
        conn.execute("CREATE ROLE weak LOGIN")
    return dsn


def _change_the_password_and_query(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE weak PASSWORD '{SECRET}'")
    run_workload(dsn, [(LOOKUP, lambda rng: (f"user{rng.randint(1, 2000)}@example.com",), 20)])


def _collected_daemon(dsn: str, state_dir: Path, **overrides: object) -> Daemon:
    daemon = Daemon(settings_for(dsn, state_dir=state_dir, **overrides))
    daemon.collect(DATABASE)
    _change_the_password_and_query(dsn)
    daemon.collect(DATABASE)
    return daemon


def _state_bytes(state_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(state_dir.iterdir()) if p.is_file())


def test_a_password_set_with_alter_role_is_never_exported_stored_or_logged(
    secrets_dsn: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    daemon = _collected_daemon(secrets_dsn, tmp_path, export_query_text=True)
    daemon.analyze(DATABASE)
    with psycopg.connect(secrets_dsn) as conn:
        kept = conn.execute(
            "SELECT count(*) FROM pg_stat_statements WHERE query LIKE %s", (f"%{SECRET}%",)
        ).fetchone()
    assert kept is not None and kept[0] >= 1  # the server does keep it: the test means something

    body = generate_latest(daemon.registry).decode()
    daemon.store.close()

    assert "FROM accounts WHERE email" in body  # texts are exported (export_query_text)...
    assert SECRET not in body  # ...but not this one
    assert SECRET.encode() not in _state_bytes(tmp_path)
    logged = capfd.readouterr()
    assert SECRET not in logged.out + logged.err


def test_the_workload_read_leaves_the_secret_out_and_says_why(secrets_dsn: str) -> None:
    _change_the_password_and_query(secrets_dsn)
    settings = settings_for(secrets_dsn)
    with session(secrets_dsn, settings) as conn:
        workload = observe(conn, settings).workload
    assert not any(SECRET in s.text for s in workload.statements)
    assert any("accounts" in s.text for s in workload.statements)
    assert workload.excluded.get("text withheld: may hold a secret", 0) >= 1


def test_a_secret_stored_by_an_earlier_version_is_deleted_at_start(
    secrets_dsn: str, tmp_path: Path
) -> None:
    with Store(tmp_path) as earlier:
        earlier.save_texts(DATABASE, {42: f"ALTER ROLE weak PASSWORD '{SECRET}'", 7: "SELECT 1"})
    daemon = Daemon(settings_for(secrets_dsn, state_dir=tmp_path))
    assert daemon.store.texts(DATABASE, [42, 7]) == {7: "SELECT 1"}
    # Not only once the daemon stops: the running daemon's files no longer hold it either.
    assert SECRET.encode() not in _state_bytes(tmp_path)
    daemon.store.close()


@pytest.mark.parametrize("export", [False, True])
def test_query_texts_are_on_metrics_only_with_export_query_text(
    secrets_dsn: str, tmp_path: Path, export: bool
) -> None:
    daemon = _collected_daemon(secrets_dsn, tmp_path, export_query_text=export)
    body = generate_latest(daemon.registry).decode()
    daemon.store.close()
    info = [line for line in body.splitlines() if line.startswith("pg_advisor_statement_info{")]
    assert info, body
    assert all('fingerprint="' in line and 'queryid="' in line for line in info)
    assert any("FROM accounts WHERE email" in line for line in info) is export
    assert all(("query=" in line) is export for line in info)
