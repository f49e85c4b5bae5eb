"""Selection for the whole workload, with the planner replaced by a cost table."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from advisor.analyze.select import SelectionSettings, Target, select_indexes
from advisor.model import IndexDesign, KeyColumn, PlanEstimate, Statement, TableName

T = TableName("public", "t")
U = TableName("public", "u")


def design(table: TableName, *columns: str) -> IndexDesign:
    return IndexDesign(table, tuple(KeyColumn.of(c) for c in columns))


A, AB, B, C = design(T, "a"), design(T, "a", "b"), design(T, "b"), design(T, "c")
UX = design(U, "x")


class CostTable:
    """A planner whose cost of a statement is the best cost any present design gives it."""

    def __init__(
        self,
        base: dict[int, float],
        with_index: dict[tuple[int, IndexDesign], float],
        sizes: dict[IndexDesign, int],
        combined: Callable[[int, frozenset[IndexDesign]], float | None] | None = None,
    ) -> None:
        self.base, self.with_index, self.sizes = base, with_index, sizes
        self.combined = combined
        self.calls = 0

    def plan(self, queryid: int, designs: Iterable[IndexDesign]) -> PlanEstimate:
        self.calls += 1
        present = frozenset(designs)
        if self.combined is not None:
            cost = self.combined(queryid, present)
            if cost is not None:
                return PlanEstimate(cost, present)
        best, used = self.base[queryid], frozenset[IndexDesign]()
        for d in present:
            cost = self.with_index.get((queryid, d))
            if cost is not None and cost < best:
                best, used = cost, frozenset({d})
        return PlanEstimate(best, used)

    def size_bytes(self, d: IndexDesign) -> int:
        return self.sizes[d]


def target(queryid: int, total_ms: float, *tables: TableName) -> Target:
    return Target(Statement(queryid, f"q{queryid}", 100, total_ms), frozenset(tables or (T,)))


SETTINGS = SelectionSettings(budget_bytes=10_000, min_cost_reduction=0.1, min_saved_ms_per_day=0)
DAY = 86_400.0


def test_one_wider_index_serving_two_statements_beats_two_narrow_ones() -> None:
    planner = CostTable(
        base={1: 100, 2: 100},
        with_index={(1, A): 10, (2, A): 50, (1, AB): 10, (2, AB): 5, (2, B): 20},
        sizes={A: 1000, AB: 1500, B: 1000},
    )
    chosen = select_indexes(
        [target(1, 1000), target(2, 1000)],
        {A: frozenset({1, 2}), AB: frozenset({1, 2}), B: frozenset({2})},
        planner,
        SETTINGS,
        DAY,
    )
    assert [r.design for r in chosen] == [AB]


def test_index_made_redundant_by_a_wider_chosen_one_is_dropped() -> None:
    planner = CostTable(
        base={1: 100, 2: 100},
        with_index={(1, A): 10, (1, AB): 11, (2, AB): 10},
        sizes={A: 1000, AB: 2000},
    )
    chosen = select_indexes(
        [target(1, 1000), target(2, 1000)],
        {A: frozenset({1}), AB: frozenset({1, 2})},
        planner,
        SETTINGS,
        DAY,
    )
    assert [r.design for r in chosen] == [AB]


def test_budget_is_respected_and_the_best_value_fits() -> None:
    planner = CostTable(
        base={1: 100, 2: 100},
        with_index={(1, A): 10, (2, C): 10},
        sizes={A: 6000, C: 6000},
    )
    chosen = select_indexes(
        [target(1, 5000), target(2, 1000)],
        {A: frozenset({1}), C: frozenset({2})},
        planner,
        SETTINGS,
        DAY,
    )
    assert [r.design for r in chosen] == [A]


def test_gain_alone_beats_gain_per_byte_when_one_big_index_is_worth_more() -> None:
    # Per byte, the small index looks best, but taking it leaves no room for the big one.
    planner = CostTable(
        base={1: 100, 2: 100},
        with_index={(1, A): 50, (2, C): 1},
        sizes={A: 100, C: 9_950},
    )
    chosen = select_indexes(
        [target(1, 10_000), target(2, 20_000)],
        {A: frozenset({1}), C: frozenset({2})},
        planner,
        SETTINGS,
        DAY,
    )
    assert [r.design for r in chosen] == [C]


def test_small_cost_drops_do_not_count_as_help() -> None:
    planner = CostTable(base={1: 100}, with_index={(1, A): 95}, sizes={A: 10})
    assert select_indexes([target(1, 10_000)], {A: frozenset({1})}, planner, SETTINGS, DAY) == ()


def test_index_below_the_minimum_saving_per_day_is_not_recommended() -> None:
    planner = CostTable(base={1: 100}, with_index={(1, A): 10}, sizes={A: 10})
    settings = SelectionSettings(budget_bytes=10_000, min_saved_ms_per_day=1_000)
    # 100 ms over a week saves about 13 ms a day.
    assert select_indexes([target(1, 100)], {A: frozenset({1})}, planner, settings, 7 * DAY) == ()


def test_saving_is_scaled_to_a_day_and_evidence_is_kept() -> None:
    planner = CostTable(base={1: 100}, with_index={(1, A): 25}, sizes={A: 10})
    (rec,) = select_indexes([target(1, 1000)], {A: frozenset({1})}, planner, SETTINGS, DAY / 2)
    assert rec.estimated_ms_saved_per_day == 1500.0
    (effect,) = rec.statements
    assert (effect.cost_before, effect.cost_after, effect.calls) == (100, 25, 100)


def test_join_statement_gets_indexes_on_both_tables_when_together_they_pay() -> None:
    def combined(queryid: int, present: frozenset[IndexDesign]) -> float | None:
        if queryid == 1 and {A, UX} <= present:
            return 5.0
        return None

    planner = CostTable(
        base={1: 100},
        with_index={(1, A): 60, (1, UX): 80},
        sizes={A: 10, UX: 10},
        combined=combined,
    )
    chosen = select_indexes(
        [target(1, 1000, T, U)], {A: frozenset({1}), UX: frozenset({1})}, planner, SETTINGS, DAY
    )
    assert {r.design for r in chosen} == {A, UX}


def test_no_candidates_no_recommendations() -> None:
    planner = CostTable(base={1: 100}, with_index={}, sizes={})
    assert select_indexes([target(1, 1000)], {}, planner, SETTINGS, DAY) == ()


def test_write_cost_is_netted_and_can_make_an_index_not_worth_it() -> None:
    planner = CostTable(base={1: 100}, with_index={(1, A): 10}, sizes={A: 10})
    saves_per_day = 1000 * 0.9  # over a one-day window

    (rec,) = select_indexes(
        [target(1, 1000)], {A: frozenset({1})}, planner, SETTINGS, DAY, lambda d: 300.0
    )
    assert rec.estimated_write_ms_per_day == 300.0
    assert rec.estimated_ms_saved_per_day == saves_per_day - 300.0
    assert (
        select_indexes(
            [target(1, 1000)], {A: frozenset({1})}, planner, SETTINGS, DAY, lambda d: 950.0
        )
        == ()
    )


def test_write_cost_of_a_wider_index_can_keep_the_narrow_one() -> None:
    planner = CostTable(base={1: 100}, with_index={(1, A): 20, (1, AB): 10}, sizes={A: 10, AB: 15})
    candidates = {A: frozenset({1}), AB: frozenset({1})}
    cheap_writes = select_indexes([target(1, 1000)], candidates, planner, SETTINGS, DAY)
    assert [r.design for r in cheap_writes] == [AB]
    costly = select_indexes(
        [target(1, 1000)], candidates, planner, SETTINGS, DAY, lambda d: 50.0 * len(d.keys) ** 2
    )
    assert [r.design for r in costly] == [A]
