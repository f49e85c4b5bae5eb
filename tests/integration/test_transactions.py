"""Related rows written outside a transaction, found from what the server counts, with
node-postgres and Drizzle sending the traffic as an application does (issue 20)."""

from __future__ import annotations

import os
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from advisor.daemon import Daemon
from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.observe import observe
from advisor.pg import session
from tests.drizzle_project import PROJECT, require_node
from tests.integration.test_report import plain_report, section
from tests.support import create_database, settings_for

SCHEMA = """
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE profiles (
    id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id), bio text
);
CREATE INDEX ON profiles (user_id);
"""
TITLE = "Related rows written outside a transaction"


def _signups(dsn: str, count: int, wrap: bool, other: int = 0) -> None:
    require_node()
    subprocess.run(
        ["node", "signup.mjs"],
        cwd=PROJECT,
        env={
            **os.environ,
            "DSN": dsn,
            "N": str(count),
            "WRAP": "1" if wrap else "0",
            "OTHER": str(other),
        },
        check=True,
        timeout=120,
    )


def test_paired_inserts_without_a_transaction_are_found_with_their_numbers(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = create_database(cluster, "unwrapped", SCHEMA)
    _signups(dsn, 150, wrap=False)
    report, handoff = plain_report(dsn, tmp_path)

    found = section(report, "## Anti-patterns")
    assert f"### {TITLE}: public.profiles" in found
    assert "INSERT INTO public.users and INSERT INTO public.profiles ran 150 times each" in found
    assert "counted no BEGIN in this database" in found
    assert "each ran as its own transaction" in found
    # The handoff carries the Drizzle fix, with the schema's names for the key.
    changes = section(handoff, "### Query changes worth making")
    assert f"**{TITLE}**" in changes
    assert "await db.transaction(async (tx) => {" in changes
    assert "tx.insert(profiles).values({ ...newProfiles, userId: row.id });" in changes


def _database_transactions(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _wait_for_transactions(dsn: str, at_least: int, timeout_seconds: float = 20.0) -> None:
    """Until pg_stat_database counts `at_least` transactions: a backend adds its counts
    as it exits, a moment after its client has gone."""
    deadline = time.monotonic() + timeout_seconds
    while _database_transactions(dsn) < at_least:
        assert time.monotonic() < deadline, "pg_stat_database never counted the signups"
        time.sleep(0.1)


def test_the_daemons_report_counts_the_databases_transactions_over_its_stored_window(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = create_database(cluster, "unwrapped_daemon", SCHEMA)
    settings = settings_for(
        dsn,
        databases=["unwrapped_daemon"],
        state_dir=tmp_path / "state",
        out=tmp_path / "reports",
        listen="127.0.0.1:1",
    )
    daemon = Daemon(settings)
    try:
        daemon.collect("unwrapped_daemon")
        before = _database_transactions(dsn)
        _signups(dsn, 150, wrap=False)
        _wait_for_transactions(dsn, before + 300)
        daemon.collect("unwrapped_daemon")
        daemon.analyze("unwrapped_daemon")
        daemon.report("unwrapped_daemon")
    finally:
        daemon.store.close()

    day = datetime.now(UTC).date().isoformat()
    found = section((tmp_path / "reports" / f"{day}.md").read_text(), "## Anti-patterns")
    assert f"### {TITLE}: public.profiles" in found
    assert "INSERT INTO public.users and INSERT INTO public.profiles ran 150 times each" in found
    assert "counted no BEGIN in this database" in found
    # Each of the 300 INSERTs was a transaction of its own, counted between the collections.
    counted = re.search(
        r"pg_stat_database counted ([\d,]+) transactions over the same window against "
        r"([\d,]+) statement calls",
        found,
    )
    assert counted is not None, found
    assert int(counted[1].replace(",", "")) >= 300
    assert int(counted[2].replace(",", "")) >= 300


def test_the_same_inserts_inside_transactions_give_no_finding(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = create_database(cluster, "wrapped", SCHEMA)
    _signups(dsn, 150, wrap=True)
    with psycopg.connect(dsn) as conn:  # the traffic did reach the server
        (users,) = conn.execute("SELECT count(*) FROM profiles").fetchone() or (0,)
    assert users == 150
    report, handoff = plain_report(dsn, tmp_path)
    assert TITLE not in report and TITLE not in handoff


def test_no_finding_when_begin_is_not_counted(cluster: ThrowawayCluster, tmp_path: Path) -> None:
    dsn = create_database(cluster, "untracked", SCHEMA)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER DATABASE untracked SET pg_stat_statements.track_utility = off")
    _signups(dsn, 150, wrap=False)
    report, _ = plain_report(dsn, tmp_path)
    assert TITLE not in report


def test_the_server_log_makes_it_certain_where_the_counts_cannot(tmp_path: Path) -> None:
    # 150 separate signups beside 100 transactions of other work: pg_stat_statements alone
    # cannot tell (100 BEGINs could have wrapped most of them); the log, whose prefix
    # prints each line's virtual transaction id, shows no signup in one transaction.
    with ThrowawayCluster(settings={"log_line_prefix": "'%m [%p] %v '"}) as logged:
        dsn = create_database(logged, "logged", SCHEMA)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("ALTER DATABASE logged SET log_statement = 'all'")
        _signups(dsn, 150, wrap=False, other=100)
        report, _ = plain_report(dsn, tmp_path / "counts")
        assert TITLE not in report  # the counts alone are no evidence
        report, _ = plain_report(dsn, tmp_path / "log", parameter_log_dir=logged.base)
        # Only the report reads the log for transactions: recommend and health do not.
        settings = settings_for(dsn, parameter_log_dir=logged.base)
        with session(dsn, settings) as conn:
            assert observe(conn, settings).logged_transactions is None
            assert observe(conn, settings, transactions_log=True).logged_transactions
    found = section(report, "## Anti-patterns")
    assert f"### {TITLE}: public.profiles" in found
    assert "the server log (log_line_prefix %v) holds 150 and 150 of their calls, 0 in one" in found
