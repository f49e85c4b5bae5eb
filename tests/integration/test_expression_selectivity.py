"""An expression filter whose value is rare (`payload ->> 'ip' = $3`, the key always 'ip'):
the planner prices a hypothetical index on the expression at its default selectivity (half
a percent), so without a measure of the expression the advisor chooses a walk of an
ordered index that reads a whole tenant; with its distinct values counted on a sample, the
index on the expression, which really runs faster."""

from __future__ import annotations

import random
import time

import psycopg

from advisor.collect.samples import expression_selectivity
from advisor.collect.schema import read_schema
from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend, what_if
from advisor.model import IndexDesign, KeyColumn, TableName
from advisor.pg import capabilities, session
from tests.support import create_database, settings_for

# 400,000 events over 2,000 organizations (Zipf-like, the first holds about 37%), each with
# one of 50,000 IP addresses in its payload: an address is on 8 events.
SETUP = """
SELECT setseed(0.3);
CREATE TABLE events (
    id bigint PRIMARY KEY, "orgId" int NOT NULL, "createdAt" timestamptz NOT NULL,
    payload jsonb NOT NULL);
INSERT INTO events
SELECT g, least(2000, floor(1 / power(random() * 0.9999 + 0.0001, 1.5)))::int,
       timestamptz '2026-01-01' + g * interval '10 s',
       jsonb_build_object('ip', '10.' || (g % 50000), 'source', 'web')
FROM generate_series(1, 400000) g;
ANALYZE events;
"""
BY_IP = (
    'select "events"."id" from "events" where ("events"."orgId" = %s '
    'and "events"."payload"->>%s = %s) order by "events"."createdAt" desc limit %s'
)


def _calls(rng: random.Random) -> tuple[int, str, str, int]:
    org = 1 if rng.random() < 0.4 else rng.randint(1, 2000)
    return (org, "ip", f"10.{rng.randint(0, 49_999)}", 20)


def _run(dsn: str, calls: list[tuple[int, str, str, int]], log: bool = False) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        if log:
            conn.execute("SET log_min_duration_statement = 0")
        started = time.perf_counter()
        for call in calls:
            conn.execute(BY_IP, call, prepare=False).fetchall()
        return time.perf_counter() - started


def test_a_rare_expression_value_gets_the_index_on_the_expression(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(cluster, "expression_selectivity", SETUP)
    rng = random.Random(3)
    calls = [_calls(rng) for _ in range(30)]
    _run(dsn, calls, log=True)  # the server log tells the key
    chosen = {}
    for rows in (0, 30_000):
        settings = settings_for(dsn, parameter_log_dir=cluster.base, sample_expression_rows=rows)
        with session(dsn, settings) as conn:
            chosen[rows] = [r.design for r in recommend(conn, settings).recommendations]
    assert not any("payload" in str(d) for d in chosen[0])  # the planner's default alone
    (design,) = chosen[30_000]
    assert "(payload ->> ('ip'::text))" in design.definition_sql()

    # It really runs faster than what the default chose, with the same calls.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(chosen[0][0].create_sql(concurrently=False))
        conn.execute("ANALYZE events")
    _run(dsn, calls)
    walk = _run(dsn, calls)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(design.create_sql(concurrently=False))
        conn.execute("ANALYZE events")
    _run(dsn, calls)
    assert _run(dsn, calls) < walk / 3


def test_a_role_that_may_not_read_the_rows_measures_nothing(cluster: ThrowawayCluster) -> None:
    dsn = create_database(cluster, "expression_selectivity_denied", SETUP)
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS stats_only")
        conn.execute("CREATE ROLE stats_only LOGIN")
        conn.execute("GRANT pg_read_all_stats TO stats_only")
    reader = cluster.dsn("expression_selectivity_denied", user="stats_only")
    expression = "payload ->> 'ip'"
    with session(dsn, settings_for(dsn)) as conn:
        table = read_schema(conn).tables[TableName("public", "events")]
        measured = expression_selectivity(conn, table, expression, 30_000)
    assert measured is not None and 1e-6 < measured < 1e-4  # 8 of 400,000 rows: 2e-5
    with session(reader, settings_for(reader)) as conn:
        assert expression_selectivity(conn, table, expression, 30_000) is None


def test_an_expression_index_is_sized_by_its_sampled_width_and_values(
    cluster: ThrowawayCluster,
) -> None:
    """HypoPG prices `payload ->> 'ip'` at 32 bytes a key and knows nothing of its repeats
    (an address is on 8 events); measured on a sample, the estimate comes near the index as
    built, where HypoPG's is several times it."""
    dsn = create_database(cluster, "expression_sizes", SETUP)
    ip = IndexDesign(
        TableName("public", "events"), (KeyColumn("payload ->> 'ip'", is_expression=True),)
    )
    estimates = {}
    for rows in (0, 30_000):
        settings = settings_for(dsn, sample_expression_rows=rows)
        with session(dsn, settings) as conn:
            whatif = what_if(conn, capabilities(conn), settings, read_schema(conn))
            try:
                estimates[rows] = whatif.size_bytes(ip)
            finally:
                whatif.close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ip.create_sql(concurrently=False))
        row = conn.execute(
            "SELECT pg_relation_size(indexrelid) FROM pg_index WHERE indrelid = 'events'::regclass"
            " AND NOT indisprimary"
        ).fetchone()
    assert row is not None
    built = int(row[0])
    assert estimates[0] > 3 * built, (estimates, built)
    assert built / 2 < estimates[30_000] < built * 2, (estimates, built)
