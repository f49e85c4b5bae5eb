"""pg_stat_statements changed its column names across versions; the reader follows them."""

from __future__ import annotations

from advisor.collect.workload import StatementColumns

PG13 = {
    "userid",
    "dbid",
    "queryid",
    "query",
    "plans",
    "total_plan_time",
    "calls",
    "total_exec_time",
    "rows",
}
PG12 = {"userid", "dbid", "queryid", "query", "calls", "total_time", "rows"}
PG14 = PG13 | {"toplevel"}
PG17 = PG14 | {"shared_blk_read_time", "stats_since"}


def test_pg12_has_only_total_time_and_no_planning_time() -> None:
    assert StatementColumns.from_names(PG12) == StatementColumns("total_time", None, False)


def test_pg13_splits_planning_and_execution_time() -> None:
    assert StatementColumns.from_names(PG13) == StatementColumns(
        "total_exec_time", "total_plan_time", False
    )


def test_pg14_and_newer_have_toplevel() -> None:
    assert StatementColumns.from_names(PG14).has_toplevel
    assert StatementColumns.from_names(PG17) == StatementColumns(
        "total_exec_time", "total_plan_time", True
    )


def test_the_sum_of_squares_needs_both_mean_and_stddev() -> None:
    with_spread = StatementColumns.from_names(PG13 | {"mean_exec_time", "stddev_exec_time"})
    assert (with_spread.mean_exec_ms, with_spread.stddev_exec_ms) == (
        "mean_exec_time",
        "stddev_exec_time",
    )
    old = StatementColumns.from_names(PG12 | {"mean_time", "stddev_time"})
    assert (old.mean_exec_ms, old.stddev_exec_ms) == ("mean_time", "stddev_time")
    assert StatementColumns.from_names(PG13 | {"mean_exec_time"}).stddev_exec_ms is None
