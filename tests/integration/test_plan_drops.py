"""`pg-advisor recommend` is a DBA's whole plan: the creates and the safe drops, each drop
with its reason, in every format; `--no-drops` leaves the drops out."""

from __future__ import annotations

import json

import psycopg
import pytest

from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.pg import session
from tests.integration.test_cli import run_cli
from tests.support import create_database, run_workload, settings_for

SCHEMA = """
CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    email text NOT NULL CONSTRAINT accounts_email_key UNIQUE,
    region int NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO accounts
SELECT g, 'user' || g || '@example.com', g % 40, CASE WHEN g % 10 = 0 THEN 'closed' ELSE 'active' END,
       timestamptz '2026-01-01' + g * interval '1 minute'
FROM generate_series(1, 60000) g;
CREATE TABLE events (id bigint PRIMARY KEY, account_id bigint NOT NULL, kind int NOT NULL);
INSERT INTO events SELECT g, g % 60000 + 1, g % 7 FROM generate_series(1, 300000) g;

-- Safe to drop: a prefix of a wider btree, an exact copy, a non-unique copy of a unique key.
CREATE INDEX accounts_region_idx ON accounts (region);
CREATE INDEX accounts_region_created_idx ON accounts (region, created_at);
CREATE INDEX accounts_region_created_copy ON accounts (region, created_at);
CREATE INDEX accounts_email_idx ON accounts (email);
-- Never dropped by a plan: a unique copy, and partial indexes with their own predicate.
CREATE UNIQUE INDEX accounts_id_copy ON accounts (id);
CREATE INDEX accounts_active_region ON accounts (region) WHERE status = 'active';
CREATE INDEX accounts_active_region_copy ON accounts (region) WHERE status = 'active';
"""
SAFE = {"accounts_region_idx", "accounts_region_created_idx", "accounts_email_idx"}
NEVER = {
    "accounts_pkey",
    "accounts_email_key",
    "accounts_id_copy",
    "accounts_active_region",
    "accounts_active_region_copy",
    "accounts_region_created_copy",  # the copy kept: its name sorts first
}


def _workload(dsn: str) -> None:
    run_workload(
        dsn,
        [
            # Writes to a session's own temporary table: attributed to no table of the schema.
            ("CREATE TEMPORARY TABLE scratch (id int)", lambda r: (), 1),
            ("INSERT INTO scratch VALUES (%s)", lambda r: (r.randint(1, 9),), 5),
            (
                "SELECT id, kind FROM events WHERE account_id = %s",
                lambda r: (r.randint(1, 60000),),
                30,
            ),
            (
                "SELECT id FROM accounts WHERE region = %s ORDER BY created_at DESC LIMIT 20",
                lambda r: (r.randint(0, 39),),
                30,
            ),
            (
                "SELECT id FROM accounts WHERE email = %s",
                lambda r: (f"user{r.randint(1, 60000)}@example.com",),
                30,
            ),
        ],
    )


@pytest.fixture(scope="module")
def plan_dsn(cluster: ThrowawayCluster) -> str:
    dsn = create_database(cluster, "plan_drops", SCHEMA)
    _workload(dsn)
    return dsn


def _statements(script: str) -> list[str]:
    return [line for line in script.splitlines() if line and not line.startswith("--")]


def test_sql_is_the_whole_plan_creates_then_each_safe_drop_under_its_reason(
    plan_dsn: str,
) -> None:
    result = run_cli("recommend", "--dsn", plan_dsn, "--format", "sql")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    drops = [line for line in lines if line.startswith("DROP INDEX")]
    assert {d.removeprefix("DROP INDEX CONCURRENTLY IF EXISTS public.") for d in drops} == {
        f"{name};" for name in SAFE
    }
    creates = [n for n, line in enumerate(lines) if line.startswith("CREATE INDEX")]
    assert creates, result.stdout  # events(account_id) is missing
    assert max(creates) < min(n for n, line in enumerate(lines) if line.startswith("DROP"))
    for drop in drops:
        at = lines.index(drop)
        assert lines[at - 1].startswith("--   "), lines[at - 2 : at + 1]  # its reason
        assert "serves every scan" in lines[at - 1] or "duplicate of" in lines[at - 1]


def test_the_plan_runs_as_is_and_keeps_what_enforces_or_filters(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(cluster, "plan_drops_applied", SCHEMA)
    _workload(dsn)
    script = run_cli("recommend", "--dsn", dsn, "--format", "sql")
    assert script.returncode == 0, script.stderr
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in _statements(script.stdout):
            conn.execute(statement)
        names = {
            row[0]
            for row in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
        }
    assert not names & SAFE
    assert names >= NEVER
    assert any(n.startswith("events_account_id") for n in names), names


def test_no_drops_leaves_them_out(plan_dsn: str) -> None:
    result = run_cli("recommend", "--dsn", plan_dsn, "--format", "sql", "--no-drops")
    assert result.returncode == 0, result.stderr
    assert "DROP INDEX" not in result.stdout
    assert "CREATE INDEX CONCURRENTLY" in result.stdout
    document = json.loads(
        run_cli("recommend", "--dsn", plan_dsn, "--format", "json", "--no-drops").stdout
    )
    assert document["analyses"][0]["drops"] == []


def test_json_and_table_carry_the_drops_whole(plan_dsn: str) -> None:
    document = json.loads(run_cli("recommend", "--dsn", plan_dsn, "--format", "json").stdout)
    (analysis,) = document["analyses"]
    assert {d["index"] for d in analysis["drops"]} == SAFE
    by_name = {d["index"]: d for d in analysis["drops"]}
    assert by_name["accounts_email_idx"]["covered_by"] == "accounts_email_key"
    assert by_name["accounts_region_idx"]["kind"] == "redundant"
    assert analysis["drops_note"]
    (note,) = analysis["write_notes"]
    assert note.startswith("1 write statement(s)"), note
    table = run_cli("recommend", "--dsn", plan_dsn)  # a pipe: no terminal width
    assert table.returncode == 0, table.stderr
    whole = {line.strip() for line in table.stdout.splitlines()}
    for drop in analysis["drops"]:
        assert drop["fix_sql"] in whole, table.stdout
    assert "safe drop(s)" in table.stdout


def test_the_selection_plans_the_workload_without_the_dropped_indexes(plan_dsn: str) -> None:
    settings = settings_for(plan_dsn)
    with session(plan_dsn, settings) as conn:
        with_drops = recommend(conn, settings, drops=True)
        without = recommend(conn, settings)
        row = conn.execute(
            "SELECT to_regprocedure('hypopg_hide_index(oid)') IS NOT NULL"
        ).fetchone()
        hidable = bool(row and row[0])
    assert {d.index for d in with_drops.drops} == SAFE
    assert without.drops == () and without.drops_note is None
    assert with_drops.drops_note is not None
    if hidable:
        assert "hidden from the planner" in with_drops.drops_note
    else:
        assert "no hypopg_hide_index" in with_drops.drops_note
    # The kept indexes serve the same scans: the creates do not change.
    assert [r.name for r in with_drops.recommendations] == [r.name for r in without.recommendations]
