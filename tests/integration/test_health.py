"""Index health on real catalogs: each case built for real, each fix run for real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from advisor.analyze.health import find_problems
from advisor.collect.schema import read_schema
from advisor.config import Settings, health_settings
from advisor.demo.sandbox import ThrowawayCluster
from advisor.history import (
    Delta,
    IndexCounters,
)
from advisor.model import (
    Finding,
    FindingKind,
    Schema,
    TableName,
)
from advisor.pg import session
from tests.support import create_database, settings_for

NOW = datetime.now(UTC)

CASES = """
CREATE SCHEMA "Shop";

-- An exact duplicate, with a name that needs quoting and contains " ON ".
CREATE TABLE "Shop"."Dup Table" (a int, b int);
CREATE INDEX dup_a ON "Shop"."Dup Table" (a);
CREATE INDEX "dup_a ""Copy"" ON x" ON "Shop"."Dup Table" (a);

-- Prefixes: forward, and read backwards.
CREATE TABLE prefix (a int, b int, c int, d int);
CREATE INDEX prefix_a ON prefix (a);
CREATE INDEX prefix_a_b ON prefix (a, b);
CREATE INDEX prefix_c_desc ON prefix (c DESC);
CREATE INDEX prefix_c_d ON prefix (c, d);
CREATE INDEX prefix_d_mixed ON prefix (d DESC, a);
CREATE INDEX prefix_d_a ON prefix (d, a, b);

-- Unique and primary-key indexes are never redundant to a wider plain index.
CREATE TABLE uniq (id int PRIMARY KEY, a int, b int);
CREATE UNIQUE INDEX uniq_a_key ON uniq (a);
CREATE INDEX uniq_a_b ON uniq (a, b);
CREATE INDEX uniq_id_a ON uniq (id, a);

-- Partial indexes with different predicates serve different rows.
CREATE TABLE part (a int, b int, c int);
CREATE INDEX part_open ON part (a) WHERE b IS NULL;
CREATE INDEX part_closed ON part (a, c) WHERE b IS NOT NULL;

-- Operator classes and collations make different indexes of the same column.
CREATE TABLE words (t text, u text);
CREATE INDEX words_t ON words (t);
CREATE INDEX words_t_pattern ON words (t text_pattern_ops);
CREATE INDEX words_t_c_prefix ON words (t COLLATE "C");
CREATE INDEX words_t_u ON words (t, u);

-- Unused: one index big enough to matter, one too small to.
CREATE TABLE idle (id int PRIMARY KEY, b int, c int);
INSERT INTO idle SELECT g, g, g FROM generate_series(1, 100000) g;
CREATE INDEX idle_b ON idle (b);
CREATE INDEX idle_rare_c ON idle (c) WHERE b = 7 AND c < 100;
"""

FAILED_UNIQUE_BUILD = "CREATE UNIQUE INDEX CONCURRENTLY inv_x_key ON inv (x)"


def fail_unique_build(dsn: str) -> None:
    """Leave an INVALID index behind the way production does: a CONCURRENTLY build of a
    unique index over duplicate keys."""
    with (
        psycopg.connect(dsn, autocommit=True) as conn,
        pytest.raises(psycopg.errors.UniqueViolation),
    ):
        conn.execute(FAILED_UNIQUE_BUILD)


@pytest.fixture(scope="module")
def dsn(cluster: ThrowawayCluster) -> str:
    dsn = create_database(
        cluster,
        "health",
        CASES + "CREATE TABLE inv (x int); INSERT INTO inv VALUES (1), (1), (2);",
        extensions=(),
    )
    fail_unique_build(dsn)
    return dsn


def read(dsn: str) -> Schema:
    with session(dsn, settings_for(dsn)) as conn:
        return read_schema(conn)


def problems(schema: Schema, usage: Delta | None = None) -> tuple[Finding, ...]:
    observed = {
        (table.name, index.name): NOW - timedelta(days=30)
        for table in schema.tables.values()
        for index in table.indexes
    }
    return find_problems(schema, usage, observed, NOW, health_settings(Settings()))


def on(
    findings: tuple[Finding, ...], table: TableName
) -> list[tuple[FindingKind, str, str | None]]:
    return [(f.kind, f.index, f.covered_by) for f in findings if f.table == table]


def public(name: str) -> TableName:
    return TableName("public", name)


def run(dsn: str, sql: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def index_state(dsn: str, schema_name: str, index: str) -> bool | None:
    """indisvalid of the index, None when it does not exist."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
            (schema_name, index),
        ).fetchone()
    return None if row is None else bool(row[0])


# ---------------------------------------------------------------------------- finding


def test_exact_duplicate_is_found_with_a_quoted_drop(dsn: str) -> None:
    findings = problems(read(dsn))
    table = TableName("Shop", "Dup Table")
    assert on(findings, table) == [(FindingKind.DUPLICATE, 'dup_a "Copy" ON x', "dup_a")]
    (finding,) = (f for f in findings if f.table == table)
    assert finding.fix_sql == 'DROP INDEX CONCURRENTLY IF EXISTS "Shop"."dup_a ""Copy"" ON x";'


def test_prefix_and_backward_prefix_are_redundant(dsn: str) -> None:
    assert on(problems(read(dsn)), public("prefix")) == [
        (FindingKind.REDUNDANT, "prefix_a", "prefix_a_b"),
        (FindingKind.REDUNDANT, "prefix_c_desc", "prefix_c_d"),
    ]


def test_unique_and_primary_key_indexes_are_not_redundant(dsn: str) -> None:
    assert on(problems(read(dsn)), public("uniq")) == []


def test_partial_indexes_with_different_predicates_are_not_redundant(dsn: str) -> None:
    assert on(problems(read(dsn)), public("part")) == []


def test_operator_class_and_collation_keep_same_column_indexes_apart(dsn: str) -> None:
    assert on(problems(read(dsn)), public("words")) == [
        (FindingKind.REDUNDANT, "words_t", "words_t_u")
    ]


def test_failed_concurrent_unique_build_is_invalid(dsn: str) -> None:
    findings = problems(read(dsn))
    assert on(findings, public("inv")) == [(FindingKind.INVALID, "inv_x_key", None)]
    (finding,) = (f for f in findings if f.table == public("inv"))
    assert finding.fix_sql == "REINDEX INDEX CONCURRENTLY public.inv_x_key;"
    assert "CREATE UNIQUE INDEX CONCURRENTLY inv_x_key ON public.inv" in finding.reason


def test_big_index_without_scans_is_unused_and_small_one_is_skipped(dsn: str) -> None:
    schema = read(dsn)
    table = schema.tables[public("idle")]
    sizes = {i.name: i.size_bytes for i in table.indexes}
    assert sizes["idle_b"] >= 1 << 20 > sizes["idle_rare_c"]
    scans = {"idle_pkey": 40, "idle_b": 0, "idle_rare_c": 0}
    usage = Delta(
        "health",
        NOW - timedelta(days=30),
        NOW,
        statements=(),
        indexes=tuple(IndexCounters(table.name, name, idx_scan=n) for name, n in scans.items()),
    )
    findings = problems(schema, usage)
    assert on(findings, table.name) == [(FindingKind.UNUSED, "idle_b", None)]
    assert "no scans in 30.0 days" in findings[0].reason
    assert on(problems(schema, None), table.name) == []


# -------------------------------------------------------------------------- fixing


def test_dropping_the_reported_duplicate_removes_it_and_keeps_the_other(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(cluster, "health_fix_duplicate", CASES, extensions=())
    (finding,) = (f for f in problems(read(dsn)) if f.table == TableName("Shop", "Dup Table"))
    run(dsn, finding.fix_sql)
    assert index_state(dsn, "Shop", 'dup_a "Copy" ON x') is None
    assert index_state(dsn, "Shop", "dup_a") is True
    assert on(problems(read(dsn)), TableName("Shop", "Dup Table")) == []


def test_dropping_the_redundant_prefixes_leaves_no_finding(cluster: ThrowawayCluster) -> None:
    dsn = create_database(cluster, "health_fix_prefix", CASES, extensions=())
    for finding in problems(read(dsn)):
        if finding.kind is FindingKind.REDUNDANT:
            run(dsn, finding.fix_sql)
    assert [f for f in problems(read(dsn)) if f.kind is FindingKind.REDUNDANT] == []
    assert index_state(dsn, "public", "prefix_a_b") is True


def test_invalid_index_is_repaired_by_its_fix_once_the_duplicate_keys_are_gone(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(
        cluster,
        "health_fix_invalid",
        "CREATE TABLE inv (x int); INSERT INTO inv VALUES (1), (1), (2);",
        extensions=(),
    )
    fail_unique_build(dsn)
    assert index_state(dsn, "public", "inv_x_key") is False
    (finding,) = problems(read(dsn))
    run(dsn, "DELETE FROM inv WHERE ctid = (SELECT max(ctid) FROM inv WHERE x = 1)")
    run(dsn, finding.fix_sql)
    assert index_state(dsn, "public", "inv_x_key") is True
    assert problems(read(dsn)) == ()


def test_leftover_of_a_failed_reindex_is_reported_and_dropped(cluster: ThrowawayCluster) -> None:
    dsn = create_database(
        cluster,
        "health_fix_ccnew",
        "CREATE TABLE inv (x int); INSERT INTO inv VALUES (1), (1), (2);",
        extensions=(),
    )
    fail_unique_build(dsn)
    (finding,) = problems(read(dsn))
    with pytest.raises(psycopg.errors.UniqueViolation):
        run(dsn, finding.fix_sql)  # the duplicate keys are still there
    findings = problems(read(dsn))
    assert [(f.kind, f.index) for f in findings] == [
        (FindingKind.INVALID, "inv_x_key"),
        (FindingKind.INVALID, "inv_x_key_ccnew"),
    ]
    leftover = findings[1]
    assert leftover.fix_sql == "DROP INDEX CONCURRENTLY IF EXISTS public.inv_x_key_ccnew;"
    run(dsn, leftover.fix_sql)
    assert index_state(dsn, "public", "inv_x_key_ccnew") is None


def test_partitioned_index_fixes_run_without_concurrently(cluster: ThrowawayCluster) -> None:
    dsn = create_database(
        cluster,
        "health_fix_partitioned",
        """
        CREATE TABLE events (a int, b int) PARTITION BY RANGE (a);
        CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (10);
        CREATE INDEX events_a ON events (a);
        CREATE INDEX events_a_copy ON events (a);
        CREATE INDEX events_b_only ON ONLY events (b);
        """,
        extensions=(),
    )
    findings = {f.index: f for f in problems(read(dsn)) if f.table == public("events")}
    assert findings["events_a_copy"].kind is FindingKind.DUPLICATE
    assert findings["events_b_only"].kind is FindingKind.INVALID
    for name in ("events_a_copy", "events_b_only"):
        assert findings[name].fix_sql == f"DROP INDEX IF EXISTS public.{name};"
        run(dsn, findings[name].fix_sql)
        assert index_state(dsn, "public", name) is None
    assert index_state(dsn, "public", "events_a") is True
