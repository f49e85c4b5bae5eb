"""The regression guard's statistics: windows' means and variances from stored sums, and
when a statement counts as slower since an index appeared."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from advisor.analyze.regression import (
    RegressionSettings,
    confident_slowdown,
    margin_z,
    slower_statements,
)
from advisor.analyze.timing import TimingWindow, sum_of_squares
from advisor.collect.deltas import delta, merge
from advisor.history import Delta, IndexRegression, Snapshot, StatementCounters
from advisor.model import (
    ParsedStatement,
    PlannableText,
    StatementKind,
    TableAccess,
    TableName,
)

SETTINGS = RegressionSettings(
    regression_threshold=0.10,
    regression_confidence=0.99,
    regression_min_calls=30,
    regression_min_ms=0.5,
)
T = datetime(2026, 3, 1, tzinfo=UTC)
READINGS = TableName("public", "readings")
OTHER = TableName("public", "other")


def window(times: list[float]) -> TimingWindow:
    """The window pg_stat_statements' counters give for these calls."""
    return TimingWindow(
        len(times),
        sum(times),
        sum_of_squares(len(times), statistics.fmean(times), statistics.pstdev(times)),
    )


def calls(rng: random.Random, count: int, mean: float, spread: float) -> list[float]:
    return [max(rng.gauss(mean, spread), 0.01) for _ in range(count)]


# ------------------------------------------------------------------ the windows' math


def test_a_window_between_two_snapshots_has_the_mean_and_variance_of_its_own_calls() -> None:
    rng = random.Random(1)
    earlier, later = calls(rng, 500, 3.0, 1.0), calls(rng, 80, 20.0, 4.0)
    first, both = window(earlier), window(earlier + later)
    between = TimingWindow(
        both.calls - first.calls,
        both.total_ms - first.total_ms,
        both.sum_of_squares - first.sum_of_squares,
    )
    assert between.mean_ms == pytest.approx(statistics.fmean(later))
    assert between.variance_ms2 == pytest.approx(statistics.variance(later), rel=1e-6)


def test_merged_windows_combine_like_welfords_parallel_formula() -> None:
    rng = random.Random(2)
    a, b = calls(rng, 40, 5.0, 1.0), calls(rng, 60, 9.0, 2.0)
    merged = window(a) + window(b)
    # Chan et al.: M2 = M2a + M2b + delta² · na · nb / n
    m2a = statistics.pvariance(a) * len(a)
    m2b = statistics.pvariance(b) * len(b)
    shift = statistics.fmean(b) - statistics.fmean(a)
    m2 = m2a + m2b + shift * shift * len(a) * len(b) / (len(a) + len(b))
    assert merged.variance_ms2 == pytest.approx(m2 / (len(a) + len(b) - 1))
    assert merged.variance_ms2 == pytest.approx(statistics.variance(a + b))


def test_a_window_without_squares_has_no_variance_rather_than_none_at_all() -> None:
    stored_before_the_upgrade = TimingWindow(100, 250.0, 0.0)
    assert stored_before_the_upgrade.variance_ms2 is None
    assert TimingWindow(1, 2.0, 4.0).variance_ms2 is None
    assert TimingWindow(3, 6.0, 12.0).variance_ms2 == 0.0  # three calls of 2 ms


def test_deltas_subtract_the_squares_and_never_call_their_rounding_a_reset() -> None:
    older = Snapshot("app", T, T, T, (StatementCounters(1, 100, 200.0, 0.0, 0, 500.0),))
    # One more call of 0 ms: the squares recomputed from mean and stddev came out lower.
    newer = Snapshot(
        "app",
        T + timedelta(minutes=1),
        T,
        T,
        (StatementCounters(1, 101, 200.0, 0.0, 0, 499.9999999),),
    )
    change = delta(older, newer)
    assert not change.reset
    (row,) = change.statements
    assert (row.calls, row.exec_ms_sum_of_squares) == (1, 0.0)
    again = merge([change, change])
    assert again.statements[0].exec_ms_sum_of_squares == 0.0


# ------------------------------------------------------------------- the decision


def test_a_clear_slowdown_with_enough_calls_is_flagged() -> None:
    rng = random.Random(3)
    before, since = window(calls(rng, 60, 1.0, 0.3)), window(calls(rng, 60, 30.0, 5.0))
    assert confident_slowdown(before, since, SETTINGS) is not None


def test_too_few_calls_on_either_side_is_never_flagged() -> None:
    rng = random.Random(4)
    slow = window(calls(rng, 200, 30.0, 5.0))
    fast = window(calls(rng, 200, 1.0, 0.3))
    assert confident_slowdown(window(calls(rng, 29, 1.0, 0.3)), slow, SETTINGS) is None
    assert confident_slowdown(fast, window(calls(rng, 29, 30.0, 5.0)), SETTINGS) is None


def test_a_slowdown_within_the_threshold_is_not_flagged_however_many_calls() -> None:
    rng = random.Random(5)
    before = window(calls(rng, 20_000, 10.0, 2.0))
    since = window(calls(rng, 20_000, 10.8, 2.0))  # 8 % slower, and surely so
    assert margin_z(before, since, 0.0) is not None and margin_z(before, since, 0.0) > 10
    assert confident_slowdown(before, since, SETTINGS) is None


def test_a_noisy_slowdown_past_the_threshold_needs_confidence() -> None:
    before = TimingWindow(30, 30 * 10.0, sum_of_squares(30, 10.0, 8.0))
    since = TimingWindow(30, 30 * 12.0, sum_of_squares(30, 12.0, 8.0))  # +20 %, very noisy
    assert confident_slowdown(before, since, SETTINGS) is None
    many_before = TimingWindow(3000, 3000 * 10.0, sum_of_squares(3000, 10.0, 8.0))
    many_since = TimingWindow(3000, 3000 * 12.0, sum_of_squares(3000, 12.0, 8.0))
    assert confident_slowdown(many_before, many_since, SETTINGS) is not None


def test_a_tiny_statement_must_also_slow_down_by_the_minimum_in_milliseconds() -> None:
    rng = random.Random(8)
    before = window(calls(rng, 1000, 0.18, 0.02))
    since = window(calls(rng, 1000, 0.29, 0.02))  # 60 % slower: load and caches
    assert margin_z(before, since, SETTINGS.regression_threshold) is not None
    assert confident_slowdown(before, since, SETTINGS) is None
    plan_flip = window(calls(rng, 1000, 5.0, 0.5))
    assert confident_slowdown(before, plan_flip, SETTINGS) is not None


def test_an_unknown_variance_is_never_flagged() -> None:
    rng = random.Random(6)
    since = window(calls(rng, 100, 30.0, 5.0))
    assert confident_slowdown(TimingWindow(100, 100.0, 0.0), since, SETTINGS) is None


# --------------------------------------------------------- statements on the table


def parsed(queryid: int, table: TableName) -> ParsedStatement:
    return ParsedStatement(
        queryid, StatementKind.SELECT, PlannableText("select 1", "select 1"), (TableAccess(table),)
    )


def counters(queryid: int, times: list[float]) -> StatementCounters:
    w = window(times)
    return StatementCounters(queryid, w.calls, w.total_ms, 0.0, 0, w.sum_of_squares)


def test_every_statement_on_the_table_is_compared_and_only_the_slower_ones_come_back() -> None:
    rng = random.Random(7)
    statements = {1: parsed(1, READINGS), 2: parsed(2, READINGS), 3: parsed(3, OTHER)}
    before = Delta(
        "app",
        T,
        T + timedelta(hours=1),
        (
            counters(1, calls(rng, 50, 1.0, 0.2)),
            counters(2, calls(rng, 50, 0.8, 0.1)),
            counters(3, calls(rng, 50, 1.0, 0.2)),
        ),
    )
    since = Delta(
        "app",
        T + timedelta(hours=2),
        T + timedelta(hours=3),
        (
            counters(1, calls(rng, 50, 25.0, 3.0)),  # slower: flagged
            counters(2, calls(rng, 50, 0.8, 0.1)),  # unchanged
            counters(3, calls(rng, 50, 25.0, 3.0)),  # slower, but another table
            counters(4, calls(rng, 50, 25.0, 3.0)),  # new since: nothing to compare with
        ),
    )
    (found,) = slower_statements(READINGS, statements, before, since, SETTINGS)
    assert found.queryid == 1 and found.since.mean_ms > 20 * found.before.mean_ms


def test_the_undo_drops_the_index_concurrently_by_its_quoted_name() -> None:
    regression = IndexRegression(
        "app", "Readings_taken_idx", READINGS, 1, 50, 1.0, 50, 25.0, T, partitioned=False
    )
    assert regression.undo_sql == 'DROP INDEX CONCURRENTLY IF EXISTS public."Readings_taken_idx";'
    assert regression.ratio == 25.0
    partitioned = IndexRegression("app", "i", READINGS, 1, 50, 1.0, 50, 25.0, T, partitioned=True)
    assert partitioned.undo_sql == "DROP INDEX IF EXISTS public.i;"
