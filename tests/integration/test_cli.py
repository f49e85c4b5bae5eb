"""`pg-advisor` as a user runs it: formats, the DSN fallback, errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest

from advisor import __version__
from advisor.demo.sandbox import ThrowawayCluster
from tests.support import create_database, run_workload


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "DATABASE_URL"))
    }
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "advisor.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"pg-advisor {__version__}"


def test_json_output_is_one_document_on_stdout(blog_dsn: str) -> None:
    result = run_cli("recommend", "--dsn", blog_dsn, "--format", "json", "--min-calls", "2")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (analysis,) = document["analyses"]
    assert analysis["database"] == "blog"
    tables = {r["table"]["name"] for r in analysis["recommendations"]}
    assert {"posts", "comments", "orders"} <= tables
    first = analysis["recommendations"][0]
    assert first["create_sql"].startswith("CREATE INDEX CONCURRENTLY IF NOT EXISTS")
    assert first["statements"][0]["cost_after"] < first["statements"][0]["cost_before"]


def test_dsn_falls_back_to_database_url(blog_dsn: str) -> None:
    result = run_cli(
        "recommend", "--format", "sql", env={"DATABASE_URL": blog_dsn, "ADVISOR_MIN_CALLS": "2"}
    )
    assert result.returncode == 0, result.stderr
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_id_created_at_idx" in result.stdout


def test_table_output_names_the_indexes(blog_dsn: str) -> None:
    result = run_cli("recommend", "--dsn", blog_dsn, "--min-calls", "2", env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "posts_author_id_created_at_idx" in result.stdout
    assert "Database blog" in result.stdout


def test_unreachable_server_exits_3_without_printing_the_password() -> None:
    with_password = "postgresql://advisor:s3cret-pw@127.0.0.1:1/app"
    result = run_cli("recommend", "--dsn", with_password)
    assert result.returncode == 3
    assert "cannot connect" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout


@pytest.mark.parametrize("command", ["recommend", "health", "report", "run"])
def test_missing_dsn_is_a_configuration_error_in_every_command(command: str) -> None:
    result = run_cli(command, env={"DATABASE_URL": "", "ADVISOR_DSN": ""})
    assert result.returncode == 2, result.stderr
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["recommend", "run"])
def test_malformed_dsn_is_a_configuration_error(command: str) -> None:
    result = run_cli(command, "--dsn", "host=127.0.0.1 password=s3cret port")
    assert result.returncode == 2, result.stderr
    assert "invalid DSN" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


@pytest.mark.parametrize("flag", ["--analyze-interval", "--analyse-interval"])
def test_run_takes_both_spellings_of_the_analysis_interval(flag: str) -> None:
    result = run_cli("run", flag, "5", env={"DATABASE_URL": ""})
    assert result.returncode == 2
    assert "no DSN given" in result.stderr  # the flag itself was accepted


def test_unknown_log_level_exits_2_with_the_choices() -> None:
    result = run_cli("run", "--dsn", "postgresql://x@127.0.0.1:1/x", "--log-level", "bogus")
    assert result.returncode == 2
    said = " ".join(result.stderr.replace("│", " ").split())
    assert "'bogus' is not one of" in said
    assert all(f"'{level}'" in said for level in ("debug", "info", "warning", "error"))
    assert "Traceback" not in result.stderr


def test_invalid_setting_exits_2_naming_it() -> None:
    result = run_cli("recommend", "--dsn", "postgresql://x@127.0.0.1:1/x", "--budget-mb", "-5")
    assert result.returncode == 2
    assert "budget_mb" in result.stderr


def test_missing_pg_stat_statements_exits_4_with_the_fix(cluster: ThrowawayCluster) -> None:
    dsn = create_database(cluster, "no_pss", "", extensions=("hypopg",))
    result = run_cli("recommend", "--dsn", dsn)
    assert result.returncode == 4
    assert "CREATE EXTENSION pg_stat_statements" in result.stderr


def test_missing_hypopg_exits_4_with_the_fix(cluster: ThrowawayCluster) -> None:
    dsn = create_database(cluster, "no_hypopg", "", extensions=("pg_stat_statements",))
    result = run_cli("recommend", "--dsn", dsn)
    assert result.returncode == 4
    assert "CREATE EXTENSION hypopg" in result.stderr


@pytest.fixture(scope="module")
def unpreloaded() -> Iterator[ThrowawayCluster]:
    with ThrowawayCluster(settings={"shared_preload_libraries": "''"}) as server:
        yield server


def test_pg_stat_statements_not_preloaded_exits_4_with_the_fix(
    unpreloaded: ThrowawayCluster,
) -> None:
    dsn = create_database(unpreloaded, "app", "")
    result = run_cli("recommend", "--dsn", dsn)
    assert result.returncode == 4
    assert "shared_preload_libraries" in result.stderr


def test_role_without_connect_privilege_exits_5(cluster: ThrowawayCluster) -> None:
    dsn = create_database(cluster, "locked", "")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS outsider")
        conn.execute("CREATE ROLE outsider LOGIN")
        conn.execute('REVOKE CONNECT ON DATABASE "locked" FROM PUBLIC')
    result = run_cli("recommend", "--dsn", cluster.dsn("locked", user="outsider"))
    assert result.returncode == 5
    assert "permission denied" in result.stderr


def test_several_databases_are_analyzed_and_the_sql_connects_to_each(
    cluster: ThrowawayCluster, blog_dsn: str
) -> None:
    second = create_database(cluster, "second_app", "CREATE TABLE t (id int PRIMARY KEY, v int)")
    run_workload(second, [("SELECT v FROM t WHERE id = %s", lambda r: (r.randint(1, 9),), 3)])
    args = ["recommend", "--dsn", blog_dsn, "--min-calls", "2"]
    args += ["--database", "blog", "--database", "second_app"]
    as_json = run_cli(*args, "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert [a["database"] for a in json.loads(as_json.stdout)["analyses"]] == ["blog", "second_app"]
    as_sql = run_cli(*args, "--format", "sql")
    assert as_sql.returncode == 0, as_sql.stderr
    assert as_sql.stdout.index("\\connect blog") < as_sql.stdout.index("\\connect second_app")


LONG_NAMES = """
CREATE TABLE customer_subscription_renewal_events (
    id bigint PRIMARY KEY,
    subscription_account_identifier bigint NOT NULL,
    subscription_renewal_attempted_at timestamptz NOT NULL);
INSERT INTO customer_subscription_renewal_events
SELECT g, g % 5000, timestamptz '2026-01-01' + g * interval '1 second'
FROM generate_series(1, 100000) g;
CREATE INDEX customer_subscription_renewal_events_attempted_duplicate_one
    ON customer_subscription_renewal_events (subscription_renewal_attempted_at);
CREATE INDEX customer_subscription_renewal_events_attempted_duplicate_two
    ON customer_subscription_renewal_events (subscription_renewal_attempted_at);
"""


def _lines(output: str) -> set[str]:
    return {line.strip() for line in output.splitlines()}


def test_tables_written_to_a_pipe_keep_every_statement_and_index_name_whole(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(cluster, "long_names", LONG_NAMES)
    run_workload(
        dsn,
        [
            (
                "SELECT id FROM customer_subscription_renewal_events "
                "WHERE subscription_account_identifier = %s",
                lambda r: (r.randint(0, 4999),),
                20,
            )
        ],
    )
    plan = json.loads(run_cli("recommend", "--dsn", dsn, "--format", "json").stdout)
    creates = [r["create_sql"] for r in plan["analyses"][0]["recommendations"]]
    assert creates and all(len(sql) > 80 for sql in creates)
    table = run_cli("recommend", "--dsn", dsn)  # stdout is a pipe, not a terminal
    assert table.returncode == 0, table.stderr
    for sql in creates:
        assert sql + ";" in _lines(table.stdout) or sql in _lines(table.stdout), table.stdout
    # The plan drops one of the two duplicates: its DROP and its name stand whole too.
    (drop,) = plan["analyses"][0]["drops"]
    assert drop["fix_sql"] in _lines(table.stdout), table.stdout
    words = {word for line in table.stdout.splitlines() for word in line.split()}
    names = [r["name"] for r in plan["analyses"][0]["recommendations"]]
    for name in [drop["index"], drop["covered_by"], *names]:  # whole in their table cells
        assert name in words, table.stdout

    health = run_cli("health", "--dsn", dsn)
    assert health.returncode == 0, health.stderr
    drops = [line for line in _lines(health.stdout) if line.startswith("DROP INDEX")]
    assert any("customer_subscription_renewal_events_attempted_duplicate_" in d for d in drops)
    assert all(d.endswith(";") for d in drops), drops
