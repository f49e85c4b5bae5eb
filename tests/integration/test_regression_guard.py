"""The regression guard on a real server: a recommended index that makes another statement
on its table slower for real is flagged by the daemon, with the index to drop; a statement
that did not slow down is not.

The classic: `WHERE sensor = $1 ORDER BY taken LIMIT 1`. Before, only an index on
(sensor) exists: the statement fetches the sensor's 1,000 rows and sorts them (about a
millisecond). A lookup by `taken` has the advisor recommend an index on (taken); once it is
built, the planner estimates that walking it in `taken` order finds a row of the sensor
within a hundred rows, but the busy sensors' rows all come last in that order: the walk
reads nearly the whole table (tens of milliseconds)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from advisor.daemon import Daemon
from advisor.demo.sandbox import ThrowawayCluster
from tests.integration.test_report import section
from tests.support import create_database, reset_statements, run_workload, settings_for

DATABASE = "regression_guard"
# 100 sensors of 1,000 readings each, in `taken` order: sensor 99 holds the last 1,000.
DDL = """
CREATE TABLE readings (
    id bigint PRIMARY KEY, sensor int NOT NULL, taken int NOT NULL, value int NOT NULL
);
INSERT INTO readings SELECT g, g / 1000, g, g % 97 FROM generate_series(0, 99999) g;
CREATE INDEX readings_sensor_idx ON readings (sensor);
"""
LATEST_OF_SENSOR = (
    "select id, value from readings where sensor = %s order by taken limit 1",
    lambda rng: (rng.randint(90, 99),),
)
COUNT_OF_SENSOR = (
    "select count(*) from readings where sensor = %s",
    lambda rng: (rng.randint(90, 99),),
)
AT_TIME = (
    "select id, value from readings where taken = %s",
    lambda rng: (rng.randint(0, 99_999),),
)
CALLS = 40


def workload(dsn: str, with_lookups: bool, seed: int) -> None:
    """The two sensor statements, then the lookups by time that call for the index. The
    count runs first: after a walk of the whole table, its sub-millisecond calls find the
    CPU caches cold, a slowdown (real, but the walk's doing) that the guard would see."""
    run_workload(dsn, [(*COUNT_OF_SENSOR, CALLS), (*LATEST_OF_SENSOR, CALLS)], seed=seed)
    if with_lookups:
        run_workload(dsn, [(*AT_TIME, 30)], seed=seed)


def test_an_index_that_makes_a_statement_on_its_table_slower_is_flagged_with_its_undo(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = create_database(cluster, DATABASE, DDL)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # The visibility map set: the count is an index-only scan from the start, and no
        # autovacuum of the fresh table changes its plan between the two windows.
        conn.execute("VACUUM (ANALYZE) readings")
    reset_statements(dsn)
    settings = settings_for(
        dsn, databases=[DATABASE], state_dir=tmp_path / "state", out=tmp_path / "reports"
    )
    daemon = Daemon(settings)
    try:
        daemon.collect(DATABASE)
        workload(dsn, with_lookups=True, seed=1)
        daemon.collect(DATABASE)
        daemon.analyze(DATABASE)
        analysis = daemon.status.get(DATABASE).analysis
        assert analysis is not None
        # On (taken), covering or not (the statements' columns are few): never (sensor, ...).
        (recommended,) = [r for r in analysis.recommendations if r.design.keys[0].column == "taken"]
        index = recommended.name
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(recommended.create_sql)
            conn.execute("ANALYZE readings")
        daemon.collect(DATABASE)  # first sees the index: the interval it was built in
        workload(dsn, with_lookups=False, seed=2)
        daemon.collect(DATABASE)
        daemon.analyze(DATABASE)
        daemon.report(DATABASE)
        status = daemon.status.get(DATABASE)
        texts = daemon.store.texts(DATABASE, [r.queryid for r in status.regressions])
    finally:
        daemon.store.close()

    flagged = {texts[r.queryid]: r for r in status.regressions}
    print({t: (r.before_mean_ms, r.since_mean_ms) for t, r in flagged.items()})
    (slower,) = [r for text, r in flagged.items() if "order by taken limit" in text]
    assert slower.index == index and slower.table.name == "readings"
    assert slower.before_calls == CALLS and slower.since_calls == CALLS
    assert slower.since_mean_ms > 3 * slower.before_mean_ms
    assert slower.undo_sql == f"DROP INDEX CONCURRENTLY IF EXISTS public.{index};"
    # The count by sensor runs as before: not flagged. Nor is the lookup the index helped.
    unchanged = [t for t in flagged if "count(*)" in t or "taken = $1" in t]
    assert not unchanged, [(t, flagged[t]) for t in unchanged]

    day = slower.measured_at.date().isoformat()
    report = (tmp_path / "reports" / f"{day}.md").read_text()
    rows = section(report, "## Slower since an index appeared")
    (row,) = [line for line in rows.splitlines() if "order by taken limit" in line]
    assert f"`{index}`" in row and f"`{slower.undo_sql}`" in row
    assert f"({CALLS} calls) →" in row
    assert "| Slower since an index appeared | 1 statement(s)" in report
