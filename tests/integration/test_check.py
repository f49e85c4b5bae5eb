"""`pg-advisor check` against a real server: statements from a file, on empty tables as a
CI database has them, then on the same tables once the indexes exist."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from advisor.demo.sandbox import ThrowawayCluster
from tests.integration.test_cli import run_cli
from tests.support import create_database


def _ci_database(cluster: ThrowawayCluster, name: str) -> str:
    """A CI database: the migrations applied, no data, never analyzed, no
    pg_stat_statements."""
    dsn = create_database(cluster, name, "", extensions=("hypopg",))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(MIGRATIONS)
    return dsn


MIGRATIONS = """
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, org_id bigint NOT NULL);
CREATE TABLE posts (
    id bigserial PRIMARY KEY, author_id bigint NOT NULL REFERENCES users,
    title text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
"""
QUERIES = """
-- the application's statements, as drizzle sends them
select "id", "org_id" from "users" where "users"."email" = $1;
select "id", "title" from "posts" where "posts"."author_id" = $1
  order by "posts"."created_at" desc limit $2;
select "id" from "users" where "id" = $1;  /* served by the primary key */
"""


def _check(dsn: str, path: Path, *flags: str) -> tuple[int, str, str]:
    result = run_cli("check", "--dsn", dsn, str(path), *flags)
    return result.returncode, result.stdout, result.stderr


def test_check_on_empty_tables_names_the_indexes_then_passes_once_they_exist(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = _ci_database(cluster, "check_ci")
    queries = tmp_path / "queries.sql"
    queries.write_text(QUERIES)

    code, out, err = _check(dsn, queries, "--format", "json")
    assert code == 6, err
    (result,) = json.loads(out)["checks"]
    verdicts = [s["verdict"] for s in result["statements"]]
    assert verdicts == ["needs index", "needs index", "served"]
    assert result["statements"][2]["served_by"] == ["users_pkey"]
    needed = {tuple(k["column"] for k in r["keys"]) for r in result["recommendations"]}
    assert ("email",) in needed
    assert any(keys[0] == "author_id" for keys in needed)

    code, script, err = _check(dsn, queries, "--format", "sql")
    assert code == 6, err
    with psycopg.connect(dsn, autocommit=True) as conn:
        for line in script.splitlines():
            if line.startswith("CREATE INDEX"):
                conn.execute(line)
    code, out, err = _check(dsn, queries)
    assert code == 0, out + err
    assert "0 new index(es) needed" in out


def test_a_bad_statement_is_named_and_the_rest_is_planned(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = _ci_database(cluster, "check_bad")
    queries = tmp_path / "queries.sql"
    queries.write_text(QUERIES + "\nselec nothing;\nselect 1 from nowhere where x = $1;\n")
    code, out, err = _check(dsn, queries, "--format", "json")
    assert code == 6, err
    statements = json.loads(out)["checks"][0]["statements"]
    assert [s["verdict"] for s in statements][3:] == ["not planned", "not planned"]
    assert "syntax" in statements[3]["reason"]
    assert "nowhere" in statements[4]["reason"] or "unknown" in statements[4]["reason"]

    only_bad = tmp_path / "bad.sql"
    only_bad.write_text("selec nothing;")
    assert _check(dsn, only_bad)[0] == 2


def test_statements_too_deep_or_too_long_to_parse_are_named_and_the_rest_is_planned(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = _ci_database(cluster, "check_bounds")
    deep = 'select "id" from "users" where "id" = ' + "+".join(["$1"] * 25_000)  # was SIGSEGV
    long = 'select "id" from "posts" where "author_id" in (' + ", ".join(
        f"${n}" for n in range(1, 20_001)
    )
    queries = tmp_path / "queries.sql"
    queries.write_text(f"{QUERIES}\n{deep};\n{long});\n")
    code, out, err = _check(dsn, queries, "--format", "json")
    assert code == 6, err
    statements = json.loads(out)["checks"][0]["statements"]
    assert [s["verdict"] for s in statements] == [
        *("needs index", "needs index", "served"),
        *("not planned", "not planned"),
    ]
    assert statements[3]["reason"].startswith("parse nesting limit")
    assert statements[4]["reason"].endswith("over 100,000 (parse_max_bytes)")


def test_statements_from_stdin_and_no_statements_at_all(cluster: ThrowawayCluster) -> None:
    dsn = _ci_database(cluster, "check_stdin")
    empty = run_cli("check", "--dsn", dsn, "/dev/null")
    assert empty.returncode == 2 and "no statements" in empty.stderr
    missing = run_cli("check", "--dsn", dsn, "/no/such/file.sql")
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_a_server_log_is_input_and_accepted_statements_are_ignored(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = _ci_database(cluster, "check_log")
    start = len(cluster.server_log())
    with psycopg.connect(dsn, autocommit=True) as conn:  # the application's test run
        conn.execute('select "id", "org_id" from "users" where "users"."email" = %s', ("a@b",))
        conn.execute('select "id" from "users" where "id" = %s', (7,))
        conn.execute(
            'select "id", "title" from "posts" where "posts"."author_id" = %s '
            'order by "posts"."created_at" desc limit 20',
            (7,),
        )
    log = tmp_path / "postgresql.log"
    log.write_text(cluster.server_log()[start:])
    code, _out, err = _check(dsn, log, "--format", "json")  # a log file is not SQL ...
    assert code == 2, err
    result = run_cli("check", "--dsn", dsn, "--log", str(log), "--format", "json")
    assert result.returncode == 6, result.stderr  # ... but --log reads its statements
    statements = json.loads(result.stdout)["checks"][0]["statements"]
    assert [s["verdict"] for s in statements] == ["needs index", "served", "needs index"]

    # The e-mail lookup is accepted as it is (any values, any layout): only the page is left.
    accepted = tmp_path / "accepted.sql"
    accepted.write_text("SELECT id, org_id FROM users WHERE users.email = 'x';\n")
    result = run_cli(
        "check", "--dsn", dsn, "--log", str(log), "--ignore", str(accepted), "--format", "json"
    )
    statements = json.loads(result.stdout)["checks"][0]["statements"]
    assert [s["verdict"] for s in statements] == ["served", "needs index"]
