"""Partitioned tables end to end: an index recommended for a statement on a hash- or a
range-partitioned table targets the partitioned table, and the printed SQL, which cannot
use CONCURRENTLY on it, builds it the way PostgreSQL allows (ON ONLY, each partition's
concurrently, ATTACH); the planner then uses it on every partition."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psycopg

from advisor.demo.sandbox import ThrowawayCluster
from advisor.export.console import to_sql
from advisor.jobs.recommend import recommend
from advisor.pg import session
from tests.integration.test_cli import run_cli
from tests.integration.test_report import plain_report
from tests.support import create_database, run_workload, settings_for

# Events hashed over 4 partitions by id, measurements by month (one of them partitioned
# again by hash): neither statement names its partition key, so nothing prunes.
SETUP = """
CREATE TABLE events (
    id bigint NOT NULL, org_id int NOT NULL, created_at timestamptz NOT NULL, body text
) PARTITION BY HASH (id);
CREATE TABLE events_0 PARTITION OF events FOR VALUES WITH (MODULUS 4, REMAINDER 0);
CREATE TABLE events_1 PARTITION OF events FOR VALUES WITH (MODULUS 4, REMAINDER 1);
CREATE TABLE events_2 PARTITION OF events FOR VALUES WITH (MODULUS 4, REMAINDER 2);
CREATE TABLE events_3 PARTITION OF events FOR VALUES WITH (MODULUS 4, REMAINDER 3);
INSERT INTO events
SELECT g, g % 2000, timestamptz '2026-01-01' + g * interval '1 minute', 'event ' || g
FROM generate_series(1, 200000) g;
CREATE TABLE readings (
    id bigint NOT NULL, sensor_id int NOT NULL, taken_at timestamptz NOT NULL, value float8
) PARTITION BY RANGE (taken_at);
CREATE TABLE readings_2025 PARTITION OF readings
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE readings_2026 PARTITION OF readings
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') PARTITION BY HASH (id);
CREATE TABLE readings_2026_a PARTITION OF readings_2026 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE readings_2026_b PARTITION OF readings_2026 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO readings
SELECT g, g % 3000, timestamptz '2025-01-01' + g * interval '2 minutes', g * 0.5
FROM generate_series(1, 400000) g;
ANALYZE events, readings;
"""
BY_ORG = "SELECT id, body FROM events WHERE org_id = %s"
BY_SENSOR = "SELECT taken_at, value FROM readings WHERE sensor_id = %s"
LEAVES = {
    "events": ["events_0", "events_1", "events_2", "events_3"],
    "readings": ["readings_2025", "readings_2026_a", "readings_2026_b"],
}


def _plan(conn: psycopg.Connection, sql: str) -> str:
    return "\n".join(row[0] for row in conn.execute(sql).fetchall())


def test_partitioned_tables_get_an_index_that_builds_as_printed(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = create_database(cluster, "partitioned", SETUP)
    run_workload(
        dsn,
        [
            (BY_ORG, lambda r: (r.randint(0, 1999),), 30),
            (BY_SENSOR, lambda r: (r.randint(0, 2999),), 30),
        ],
    )
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        analysis = recommend(conn, settings)
    by_table = {r.design.table.name: r for r in analysis.recommendations}
    assert by_table["events"].design.key_columns == ("org_id",)
    assert by_table["readings"].design.key_columns == ("sensor_id",)
    readings = by_table["readings"].create_sql
    # The sub-partitioned partition's index is attached after its own partitions'. (The
    # name's tail, `sensor_id_idx`, may carry INCLUDE columns, as the measured times go.)
    tail = by_table["readings"].name.removeprefix("readings_")
    assert readings.index(f"ATTACH PARTITION public.readings_2026_b_{tail}") < readings.index(
        f"ATTACH PARTITION public.readings_2026_{tail}"
    )
    script = tmp_path / "indexes.sql"
    script.write_text(to_sql([analysis]))
    psql = [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script)]
    # As printed, outside a transaction (psql autocommits); twice, as a rerun would.
    subprocess.run([*psql, dsn], check=True, capture_output=True, text=True)
    subprocess.run([*psql, dsn], check=True, capture_output=True, text=True)
    with psycopg.connect(dsn, autocommit=True) as conn:
        events_tail = by_table["events"].name.removeprefix("events_")
        valid = dict(
            conn.execute(
                "SELECT c.relname, i.indisvalid FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE %s OR c.relname LIKE %s",
                (f"%{events_tail}", f"%{tail}"),
            ).fetchall()
        )
        assert valid[by_table["events"].name] and valid[by_table["readings"].name]
        assert all(valid.values()), valid
        conn.execute("ANALYZE events, readings")
        conn.execute("SET enable_seqscan = off")  # the plan's shape, not its cost, is asserted
        for sql, name_tail, leaves in (
            (BY_ORG, events_tail, LEAVES["events"]),
            (BY_SENSOR, tail, LEAVES["readings"]),
        ):
            plan = _plan(conn, "EXPLAIN " + sql.replace("%s", "7"))
            assert all(f"{leaf}_{name_tail}" in plan for leaf in leaves), plan
        # Health's fixes run as printed: a duplicate partitioned index is dropped whole (no
        # CONCURRENTLY: PostgreSQL refuses it there), never partition by partition (an
        # attached index cannot be dropped alone).
        conn.execute("CREATE INDEX events_org_copy " + by_table["events"].design.definition_sql())
    fixes = run_cli("health", "--dsn", dsn, "--format", "sql")
    assert fixes.returncode == 0, fixes.stderr
    drops = [line for line in fixes.stdout.splitlines() if line.startswith("DROP INDEX")]
    # One of the two, whole; its restore builds it on every partition again (not ON ONLY).
    events_name = by_table["events"].name
    assert drops in (
        ["DROP INDEX IF EXISTS public.events_org_copy;"],
        [f"DROP INDEX IF EXISTS public.{events_name};"],
    ), fixes.stdout
    assert f"to roll back: CREATE INDEX {events_name} ON public.events USING" in fixes.stdout
    dropped = drops[0].removeprefix("DROP INDEX IF EXISTS public.").rstrip(";")
    script.write_text(fixes.stdout)
    subprocess.run([*psql, dsn], check=True, capture_output=True, text=True)
    with psycopg.connect(dsn, autocommit=True) as conn:
        left = conn.execute(
            "SELECT count(*) FILTER (WHERE c.relname = %s), count(*) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relname LIKE 'events%%' AND i.indisvalid",
            (dropped,),
        ).fetchone()
    assert left == (0, 5)  # the kept one, on the partitioned table and its 4 partitions


def test_the_handoff_builds_a_partitioned_tables_index_the_way_postgresql_allows(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = create_database(cluster, "partitioned_handoff", SETUP)
    run_workload(dsn, [(BY_ORG, lambda r: (r.randint(0, 1999),), 30)])
    _, handoff = plain_report(dsn, tmp_path)
    assert (
        "CREATE INDEX IF NOT EXISTS events_org_id_idx ON ONLY public.events USING btree (org_id);"
        in handoff
    )
    for n in range(4):
        assert (
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS events_{n}_org_id_idx ON public.events_{n} "
            in handoff
        )
        assert (
            f"ALTER INDEX public.events_org_id_idx ATTACH PARTITION public.events_{n}_org_id_idx;"
            in handoff
        )
        assert f"'events_{n}_org_id_idx'" in handoff  # the check for invalid indexes
    assert "public.events is a partitioned table" in handoff
    # The migration's line stays the plain one: it runs in drizzle's transaction.
    assert "CREATE INDEX IF NOT EXISTS events_org_id_idx ON public.events USING" in handoff
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_org_id_idx" not in handoff


def test_a_statement_that_names_the_partition_key_gets_its_index(
    cluster: ThrowawayCluster,
) -> None:
    """A generic plan cannot prune by a parameter: PostgreSQL 15 prunes when it executes,
    and EXPLAIN EXECUTE with NULL values prunes every partition, so no index ever showed
    in the plan and `WHERE id = $1` on a table hashed by id got nothing. The statement is
    costed with a value from the partitions' statistics (the partitioned table's own are
    missing, as autovacuum leaves them), which prunes as the calls' custom plans do."""
    setup = SETUP.replace(
        "ANALYZE events, readings;", "ANALYZE events_0, events_1, events_2, events_3;"
    )
    dsn = create_database(cluster, "partition_key", setup)
    run_workload(
        dsn,
        [("SELECT org_id, body FROM events WHERE id = %s", lambda r: (r.randint(1, 200000),), 30)],
    )
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        analysis = recommend(conn, settings)
    (rec,) = [r for r in analysis.recommendations if r.design.table.name == "events"]
    assert rec.design.key_columns == ("id",)
    assert "ON ONLY public.events USING btree (id)" in rec.create_sql
