"""Reading value knowledge from a real server: pg_stats, pg_qualstats and the server log."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from advisor.collect.values import (
    read_column_statistics,
    read_parameter_log,
    read_qual_constants,
    read_value_knowledge,
)
from advisor.demo.sandbox import ThrowawayCluster
from advisor.model import TableName
from advisor.pg import Connection, capabilities, session
from tests.support import settings_for

DATABASE = "values_collect"
READER = "values_reader"

# 20,000 tasks: 'blocked' is rare (0.5%), 'done' frequent; created_at follows the
# physical order (correlation 1). A partitioned table has only inherited statistics.
SCHEMA = """
CREATE TYPE task_status AS ENUM ('todo', 'done', 'blocked');
CREATE TABLE tasks (
    id bigserial PRIMARY KEY,
    tenant_id int NOT NULL,
    status task_status NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO tasks (tenant_id, status, created_at)
SELECT g % 20,
       CASE WHEN g % 200 = 0 THEN 'blocked' WHEN g % 4 = 0 THEN 'todo' ELSE 'done' END::task_status,
       timestamptz '2026-01-01' + g * interval '1 minute'
FROM generate_series(1, 20000) AS g;
CREATE TABLE events (id int NOT NULL, kind text NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (1000);
CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (1000) TO (2000);
INSERT INTO events SELECT g, CASE WHEN g % 10 = 0 THEN 'login' ELSE 'view' END
FROM generate_series(0, 1999) AS g;
ANALYZE;
-- Created after ANALYZE, with too few rows for autovacuum to analyze it.
CREATE TABLE fresh (a int);
INSERT INTO fresh SELECT generate_series(1, 10);
"""

BY_STATUS = "select id from tasks where status = %s and tenant_id = %s"
BY_TENANT = "select count(*) from tasks where tenant_id = %s"

TASKS = TableName("public", "tasks")


@dataclass(frozen=True)
class ValuesDatabase:
    dsn: str
    reader_dsn: str
    by_status: int  # pg_stat_statements' queryid of BY_STATUS
    by_tenant: int  # of BY_TENANT, run with pg_qualstats.track_constants = off


def queryid(conn: Connection, text: str) -> int:
    normalized = text.replace("%s", "$1", 1).replace("%s", "$2", 1)
    row = conn.execute(
        "SELECT queryid FROM pg_stat_statements WHERE query = %s", (normalized,)
    ).fetchone()
    assert row is not None, f"{normalized!r} not in pg_stat_statements"
    return int(row[0])


@pytest.fixture(scope="module")
def values_db(cluster: ThrowawayCluster) -> Iterator[ValuesDatabase]:
    if not cluster.has_library("pg_qualstats"):
        pytest.skip("pg_qualstats is not installed (postgresql-<major>-pg-qualstats)")
    with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f"DROP ROLE IF EXISTS {READER}")
        admin.execute(f'CREATE DATABASE "{DATABASE}"')
        admin.execute(f"CREATE ROLE {READER} LOGIN")
    dsn = cluster.dsn(DATABASE)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
        conn.execute("CREATE EXTENSION pg_qualstats")
        conn.execute(SCHEMA)
        # The reader may read one column of tasks and nothing else.
        conn.execute(f"GRANT SELECT (tenant_id) ON tasks TO {READER}")
        # pg_qualstats samples 1/max_connections of statements unless told otherwise.
        conn.execute("SET pg_qualstats.sample_rate = 1")
        for status, times in (("blocked", 5), ("todo", 2)):
            for _ in range(times):
                conn.execute(BY_STATUS, (status, 3), prepare=False).fetchall()
        conn.execute("SET pg_qualstats.track_constants = off")
        conn.execute(BY_TENANT, (4,), prepare=False).fetchall()
        database = ValuesDatabase(
            dsn=dsn,
            reader_dsn=cluster.dsn(DATABASE, user=READER),
            by_status=queryid(conn, BY_STATUS),
            by_tenant=queryid(conn, BY_TENANT),
        )
    yield database
    with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin.execute(f"DROP ROLE IF EXISTS {READER}")


# ------------------------------------------------------------------------------ pg_stats


def test_column_statistics_hold_rare_and_frequent_values_with_their_shares(
    values_db: ValuesDatabase,
) -> None:
    wanted = [(TASKS, "status"), (TASKS, "tenant_id"), (TASKS, "created_at")]
    with session(values_db.dsn, settings_for(values_db.dsn)) as conn:
        stats, notes = read_column_statistics(conn, wanted)
    assert notes == []
    status = stats[(TASKS, "status")]
    assert status.type_name == "task_status"
    shares = dict(status.most_common)
    assert shares["done"] == pytest.approx(0.745, abs=0.01)
    assert shares["todo"] == pytest.approx(0.25, abs=0.01)
    assert shares["blocked"] == pytest.approx(0.005, abs=0.002)
    assert status.null_fraction == 0.0 and status.n_distinct == 3
    tenant = stats[(TASKS, "tenant_id")]
    assert tenant.type_name == "integer" and len(tenant.most_common) == 20
    created = stats[(TASKS, "created_at")]
    assert created.type_name == "timestamp with time zone"
    assert created.correlation == pytest.approx(1.0)
    assert created.most_common == () and len(created.histogram) > 10
    assert created.histogram[0].startswith("2026-01-01")


def test_partitioned_table_statistics_are_its_inherited_ones(values_db: ValuesDatabase) -> None:
    events = TableName("public", "events")
    with session(values_db.dsn, settings_for(values_db.dsn)) as conn:
        stats, notes = read_column_statistics(conn, [(events, "kind")])
    assert notes == []
    assert dict(stats[(events, "kind")].most_common) == pytest.approx(
        {"view": 0.9, "login": 0.1}, abs=0.01
    )


def test_never_analyzed_and_missing_tables_get_one_note_each(values_db: ValuesDatabase) -> None:
    fresh = TableName("public", "fresh")
    gone = TableName("public", "gone")
    wanted = [(fresh, "a"), (fresh, "a"), (gone, "x"), (gone, "y"), (TASKS, "status")]
    with session(values_db.dsn, settings_for(values_db.dsn)) as conn:
        stats, notes = read_column_statistics(conn, wanted)
    assert list(stats) == [(TASKS, "status")]
    assert len(notes) == 2
    (fresh_note,) = [note for note in notes if "fresh" in note]
    assert "never been analyzed" in fresh_note and "ANALYZE public.fresh" in fresh_note
    assert any("public.gone does not exist" in note for note in notes)


def test_role_without_select_gets_a_grant_note_and_no_statistics(
    values_db: ValuesDatabase,
) -> None:
    wanted = [(TASKS, "status"), (TASKS, "created_at"), (TASKS, "tenant_id")]
    with session(values_db.reader_dsn, settings_for(values_db.reader_dsn)) as conn:
        stats, notes = read_column_statistics(conn, wanted)
    # The one column the role may read is the one it gets statistics for.
    assert list(stats) == [(TASKS, "tenant_id")]
    (note,) = notes
    assert note.startswith(f"role {READER} cannot read pg_stats of public.tasks")
    assert f"GRANT SELECT ON public.tasks TO {READER}" in note
    assert "created_at" in note and "status" in note


def test_no_columns_sends_no_query(values_db: ValuesDatabase) -> None:
    with session(values_db.dsn, settings_for(values_db.dsn)) as conn:
        conn.close()  # any query would fail
        assert read_column_statistics(conn, []) == ({}, [])


# -------------------------------------------------------------------------- pg_qualstats


def test_qual_constants_are_the_bound_values_with_their_occurrences(
    values_db: ValuesDatabase,
) -> None:
    with session(values_db.dsn, settings_for(values_db.dsn)) as conn:
        constants, notes = read_qual_constants(
            conn, capabilities(conn), [values_db.by_status, values_db.by_tenant]
        )
    assert notes == []
    assert {c.queryid for c in constants} == {values_db.by_status}
    status = {c.literal: c for c in constants if c.column == "status"}
    assert set(status) == {"'blocked'::task_status", "'todo'::task_status"}
    blocked = status["'blocked'::task_status"]
    assert (blocked.table, blocked.symbol, blocked.occurrences) == (TASKS, "=", 5)
    assert status["'todo'::task_status"].occurrences == 2
    # Where the constant ($1) is in the statement's text.
    assert blocked.position == BY_STATUS.index("%s")
    assert blocked.rows_evaluated > 0
    (tenant,) = [c for c in constants if c.column == "tenant_id"]
    # The other qual's constant differs between calls: its rows are summed into one.
    assert tenant.literal.startswith("3::") and tenant.occurrences == 7


def test_constants_tracked_off_give_a_note(values_db: ValuesDatabase) -> None:
    with session(values_db.dsn, settings_for(values_db.dsn)) as conn:
        constants, notes = read_qual_constants(conn, capabilities(conn), [values_db.by_tenant])
    assert constants == ()
    (note,) = notes
    assert "pg_qualstats.track_constants = on" in note


def test_statements_never_sampled_give_a_note(values_db: ValuesDatabase) -> None:
    with session(values_db.dsn, settings_for(values_db.dsn)) as conn:
        constants, notes = read_qual_constants(conn, capabilities(conn), [12345])
    assert constants == ()
    (note,) = notes
    assert "pg_qualstats.sample_rate" in note


def test_without_pg_qualstats_there_is_a_note_saying_how_to_enable_it(
    values_db: ValuesDatabase,
) -> None:
    with session(values_db.dsn, settings_for(values_db.dsn)) as conn:
        caps = dataclasses.replace(capabilities(conn), pg_qualstats=False)
        constants, notes = read_qual_constants(conn, caps, [values_db.by_status])
    assert constants == ()
    (note,) = notes
    for step in (
        f"postgresql-{caps.major}-pg-qualstats",
        "shared_preload_libraries",
        "CREATE EXTENSION pg_qualstats",
        "pg_qualstats.track_constants = on",
        "pg_qualstats.sample_rate",
    ):
        assert step in note


def test_role_without_pg_read_all_stats_sees_no_constants_and_gets_a_grant_note(
    values_db: ValuesDatabase,
) -> None:
    with session(values_db.reader_dsn, settings_for(values_db.reader_dsn)) as conn:
        constants, notes = read_qual_constants(conn, capabilities(conn), [values_db.by_status])
    assert constants == ()
    assert notes == [
        f"pg_qualstats hides the constants of other roles' statements from role {READER}: "
        f"GRANT pg_read_all_stats TO {READER}"
    ]


def test_role_denied_pg_qualstats_gets_a_note_and_the_session_stays_usable(
    values_db: ValuesDatabase,
) -> None:
    with psycopg.connect(values_db.dsn, autocommit=True) as admin:
        admin.execute("REVOKE SELECT ON pg_qualstats FROM PUBLIC")
        try:
            with session(values_db.reader_dsn, settings_for(values_db.reader_dsn)) as conn:
                constants, notes = read_qual_constants(
                    conn, capabilities(conn), [values_db.by_status]
                )
                assert conn.execute("SELECT 1").fetchone() == (1,)
        finally:
            admin.execute("GRANT SELECT ON pg_qualstats TO PUBLIC")
    assert constants == ()
    (note,) = notes
    assert f"role {READER} cannot read pg_qualstats" in note
    assert f"GRANT SELECT ON pg_qualstats TO {READER}" in note


# ------------------------------------------------------------------------------ together


def test_value_knowledge_combines_the_sources_and_their_notes(
    cluster: ThrowawayCluster, values_db: ValuesDatabase
) -> None:
    with session(values_db.dsn, settings_for(values_db.dsn)) as conn:
        knowledge = read_value_knowledge(
            conn,
            capabilities(conn),
            [(TASKS, "status"), (TableName("public", "fresh"), "a")],
            [values_db.by_status],
            cluster.logfile.parent,
            log_max_bytes=4 * 1024 * 1024,
        )
    assert list(knowledge.columns) == [(TASKS, "status")]
    assert {c.column for c in knowledge.constants} == {"status", "tenant_id"}
    # The session cluster logs every statement (log_statement = 'all'), bind values too.
    text = BY_STATUS.replace("%s", "$1", 1).replace("%s", "$2", 1)
    counts = {entry.values: entry.count for entry in knowledge.logged if entry.text == text}
    assert counts[("blocked", "3")] == 5 and counts[("todo", "3")] == 2
    assert len(knowledge.notes) == 1 and "public.fresh" in knowledge.notes[0]


# --------------------------------------------------------- a server without the preload


@pytest.fixture(scope="module")
def plain_cluster() -> Iterator[ThrowawayCluster]:
    """A server that logs every statement with its duration and does not preload
    pg_qualstats."""
    settings = {
        "shared_preload_libraries": "'pg_stat_statements'",
        "log_min_duration_statement": "0",
    }
    with ThrowawayCluster(settings=settings) as server:
        yield server


def test_pg_qualstats_installed_but_not_preloaded_gives_a_note(
    plain_cluster: ThrowawayCluster,
) -> None:
    if not plain_cluster.has_extension("pg_qualstats"):
        pytest.skip("pg_qualstats is not installed (postgresql-<major>-pg-qualstats)")
    dsn = plain_cluster.dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_qualstats")
    with session(dsn, settings_for(dsn)) as conn:
        caps = capabilities(conn)
        assert caps.pg_qualstats
        first = read_qual_constants(conn, caps, [1])
        # The first call loaded the library into this session: the second must not be fooled.
        second = read_qual_constants(conn, caps, [1])
    for constants, notes in (first, second):
        assert constants == ()
        (note,) = notes
        assert note.startswith("pg_qualstats is installed but not loaded")
        assert "shared_preload_libraries" in note


def test_server_log_with_durations_gives_the_bound_values(
    plain_cluster: ThrowawayCluster,
) -> None:
    dsn = plain_cluster.dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for value in ("it's", "it's", None):
            conn.execute("SELECT %s::text AS v,\n  %s::int AS n", (value, 7), prepare=False)
    logged, notes = read_parameter_log(plain_cluster.logfile.parent)
    assert notes == []
    text = "SELECT $1::text AS v,\n  $2::int AS n"
    counts = {entry.values: entry.count for entry in logged if entry.text == text}
    assert counts == {("it's", "7"): 2, (None, "7"): 1}
