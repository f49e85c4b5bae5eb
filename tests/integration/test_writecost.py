"""Write-aware recommendations: the same reads earn less index on a write-heavy table."""

from __future__ import annotations

from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.model import Analysis
from advisor.pg import session
from tests.support import create_database, run_workload, settings_for

# Autovacuum held off: whether it has set the visibility map yet changes what an index-only
# scan costs, and so how wide the advice is (the write cost is what the test compares).
TABLES = """
CREATE TABLE reads_t (id bigint PRIMARY KEY, a int NOT NULL, b int NOT NULL, c int, pad text)
    WITH (autovacuum_enabled = off);
CREATE TABLE writes_t (id bigint PRIMARY KEY, a int NOT NULL, b int NOT NULL, c int, pad text)
    WITH (autovacuum_enabled = off);
INSERT INTO reads_t SELECT g, g % 500, g % 37, g, repeat('x', 40) FROM generate_series(1, 200000) g;
INSERT INTO writes_t SELECT g, g % 500, g % 37, g, repeat('x', 40) FROM generate_series(1, 200000) g;
"""


def _width(analysis: Analysis, table: str) -> int:
    return sum(r.design.width for r in analysis.recommendations if r.design.table.name == table)


def test_write_heavy_table_gets_a_smaller_recommendation_for_the_same_reads(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(cluster, "writecost", TABLES)
    reads = [
        (
            f"SELECT c FROM {table} WHERE a = %s AND b = %s",
            lambda r: (r.randint(0, 499), r.randint(0, 36)),
            40,
        )
        for table in ("reads_t", "writes_t")
    ]
    run_workload(dsn, reads)
    # The application writes in the window: inserts in batches of 500 rows and updates of
    # 500 rows a call, the kind of loop a workload keeps up (not a one-off bulk load).
    batches = iter(range(200001, 10**9, 500))
    run_workload(
        dsn,
        [
            (
                "INSERT INTO writes_t SELECT g, g %% 500, g %% 37, g, 'y' "
                "FROM generate_series(%s::bigint, %s::bigint) g",
                lambda r: (lambda start: (start, start + 499))(next(batches)),
                600,
            ),
            (
                "UPDATE writes_t SET c = c + 1 WHERE id BETWEEN %s AND %s",
                lambda r: (lambda start: (start, start + 499))(r.randint(1, 199000)),
                40,
            ),
        ],
    )
    with session(dsn, settings_for(dsn)) as conn:
        aware = recommend(conn, settings_for(dsn))
    with session(dsn, settings_for(dsn)) as conn:
        blind = recommend(conn, settings_for(dsn, index_write_ms_per_row=0.0))

    assert _width(aware, "reads_t") > 0
    assert _width(aware, "writes_t") < _width(aware, "reads_t")
    # Without the write cost both tables get the same advice: the writes made the difference.
    assert _width(blind, "writes_t") == _width(blind, "reads_t")
    (on_reads,) = [r for r in aware.recommendations if r.design.table.name == "reads_t"]
    assert on_reads.estimated_write_ms_per_day == 0.0


def test_index_on_a_hot_updated_column_is_flagged(cluster: ThrowawayCluster) -> None:
    dsn = create_database(
        cluster,
        "hot_updates",
        """
        CREATE TABLE jobs (id bigint PRIMARY KEY, state text NOT NULL, attempts int NOT NULL)
            WITH (fillfactor = 70);
        INSERT INTO jobs SELECT g, (ARRAY['done','done','done','queued'])[1 + g % 4], g % 1000
        FROM generate_series(1, 200000) g;
        """,
    )
    # No reset: reads and writes share pg_stat_statements' window, however long it is.
    run_workload(
        dsn,
        [
            ("SELECT id FROM jobs WHERE attempts = %s", lambda r: (r.randint(5, 9),), 40),
            (
                "UPDATE jobs SET attempts = attempts + 1 WHERE id = %s",
                lambda r: (r.randint(1, 200000),),
                300,
            ),
        ],
    )
    with session(dsn, settings_for(dsn)) as conn:
        analysis = recommend(conn, settings_for(dsn))
    flagged = [r for r in analysis.recommendations if r.design.key_columns == ("attempts",)]
    assert flagged, analysis.recommendations
    (warning,) = flagged[0].warnings
    assert "ends HOT updates" in warning and "attempts" in warning
    assert flagged[0].estimated_write_ms_per_day > 0
