"""The advisor under the roles it is deployed with: a role that sees the statements but
may not plan them is told which grant is missing (exit 5), never that the workload is well
indexed; write statements a read-only role may not EXPLAIN are named with what is left
out; and a role that may not set pg_stat_statements.track does not try (each refused SET
is an error line in the DBA's server log)."""

from __future__ import annotations

import json
import random

import psycopg

from advisor.demo.sandbox import ThrowawayCluster
from tests.integration.test_cli import run_cli
from tests.support import create_database, run_workload

SETUP = """
CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, plan text NOT NULL);
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', 'free'
FROM generate_series(1, 100000) g;
"""
BY_EMAIL = "SELECT id, plan FROM accounts WHERE email = %s"
UPGRADE = "UPDATE accounts SET plan = 'pro' WHERE email = %s"
REFUSED_SET = 'permission denied to set parameter "pg_stat_statements.track"'
ENV = {"ADVISOR_MIN_CALLS": "2", "ADVISOR_MIN_SAVED_MS_PER_DAY": "0"}


def _email(r: random.Random) -> tuple[str]:
    return (f"user{r.randint(1, 100000)}@example.com",)


def _role(cluster: ThrowawayCluster, name: str, *grants: str) -> None:
    # Called after create_database: the database holding its grants was dropped anew.
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {name}")
        conn.execute(f"CREATE ROLE {name} LOGIN")
        conn.execute(f"GRANT pg_read_all_stats TO {name}")
    for grant in grants:
        with psycopg.connect(cluster.dsn("least_privilege"), autocommit=True) as conn:
            conn.execute(grant)


def test_a_role_that_may_plan_nothing_gets_exit_5_naming_the_grant(
    cluster: ThrowawayCluster,
) -> None:
    create_database(cluster, "least_privilege", SETUP)
    dsn = cluster.dsn("least_privilege")
    run_workload(dsn, [(BY_EMAIL, _email, 20), (UPGRADE, _email, 20)])
    _role(cluster, "stats_only")
    result = run_cli(
        "recommend", "--dsn", cluster.dsn("least_privilege", user="stats_only"), env=ENV
    )
    assert result.returncode == 5, (result.stdout, result.stderr)
    error = " ".join(result.stderr.split())
    assert "permission denied for table accounts" in error
    assert "GRANT SELECT ON ALL TABLES IN SCHEMA public TO stats_only;" in error
    assert "well indexed" not in result.stdout


def test_a_read_only_role_is_told_which_writes_it_may_not_plan(
    cluster: ThrowawayCluster,
) -> None:
    create_database(cluster, "least_privilege", SETUP)
    dsn = cluster.dsn("least_privilege")
    run_workload(dsn, [(BY_EMAIL, _email, 20), (UPGRADE, _email, 20)])
    _role(cluster, "reader", "GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
    reader = cluster.dsn("least_privilege", user="reader")
    refused_before = cluster.server_log().count(REFUSED_SET)
    result = run_cli("recommend", "--dsn", reader, "--format", "json", env=ENV)
    assert result.returncode == 0, result.stderr
    (analysis,) = json.loads(result.stdout)["analyses"]
    keys = [[k["column"] for k in r["keys"]] for r in analysis["recommendations"]]
    assert keys == [["email"]]
    (denied,) = [s for s in analysis["skipped"] if s["query"].startswith("UPDATE")]
    assert "EXPLAIN of an UPDATE needs the UPDATE privilege on public.accounts" in denied["reason"]
    table = run_cli("recommend", "--dsn", reader, env=ENV)
    assert table.returncode == 0, table.stderr
    assert "not planned (1): permission denied: EXPLAIN of an UPDATE" in " ".join(
        table.stdout.split()
    )
    assert cluster.server_log().count(REFUSED_SET) == refused_before
