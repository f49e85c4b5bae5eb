"""The benchmark's baselines and the ILP optimum, on a planner made of a selectivity model."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from advisor.analyze.select import Target, select_indexes
from advisor.analyze.sqltext import as_written
from advisor.config import Settings, selection_settings
from advisor.model import (
    Filter,
    IndexDesign,
    KeyColumn,
    Operator,
    OrderKey,
    ParsedStatement,
    PlanEstimate,
    Statement,
    StatementKind,
    TableAccess,
    TableName,
)
from bench import baselines
from bench.baselines import Problem

T = TableName("public", "t")
U = TableName("public", "u")


def design(table: TableName, *columns: str) -> IndexDesign:
    return IndexDesign(table, tuple(KeyColumn.of(c) for c in columns))


class Selectivity:
    """Cost of a statement = base * (fraction of rows its best index leaves to read) plus a
    sort penalty unless an index delivers its order. One index per table is used."""

    def __init__(
        self,
        accesses: dict[int, list[TableAccess]],
        selectivity: dict[tuple[TableName, str], float],
        row_bytes: int = 100,
    ) -> None:
        self.accesses = accesses
        self.selectivity = selectivity
        self.row_bytes = row_bytes
        self.calls = 0

    def _cost(self, access: TableAccess, index: IndexDesign | None) -> float:
        equality = {f.column for f in access.filters}
        fraction, ordered = 1.0, not access.order_by
        if index is not None and index.table == access.table:
            keys = list(index.key_columns)
            while keys and keys[0] in equality:
                fraction *= self.selectivity[(access.table, keys.pop(0))]
            order = [k.column for k in access.order_by]
            ordered = ordered or (bool(order) and keys[: len(order)] == order)
            if fraction == 1.0 and not (ordered and access.order_by):
                return 1000.0 + (0 if not access.order_by else 500.0)
            fraction = fraction + 0.001
        return 1000.0 * fraction + (0.0 if ordered else 500.0)

    def plan(self, queryid: int, designs: Iterable[IndexDesign]) -> PlanEstimate:
        self.calls += 1
        present = list(designs)
        total, used = 0.0, set()
        for access in self.accesses[queryid]:
            options = [(self._cost(access, None), None)]
            options += [(self._cost(access, d), d) for d in present if d.table == access.table]
            cost, best = min(options, key=lambda o: (o[0], o[1] is not None, str(o[1])))
            total += cost
            if best is not None:
                used.add(best)
        return PlanEstimate(total, frozenset(used))

    def size_bytes(self, design: IndexDesign) -> int:
        return self.row_bytes * len(design.keys)


def eq(*columns: str) -> tuple[Filter, ...]:
    return tuple(Filter(c, Operator.EQUALITY) for c in columns)


def problem(
    accesses: dict[int, list[TableAccess]],
    total_ms: dict[int, float],
    selectivity: dict[tuple[TableName, str], float],
    candidates: dict[IndexDesign, frozenset[int]] | None = None,
    maintenance: float = 0.0,
) -> Problem:
    planner = Selectivity(accesses, selectivity)
    targets = {
        q: Target(Statement(q, f"q{q}", 10, total_ms[q]), frozenset(a.table for a in acc))
        for q, acc in accesses.items()
    }
    parsed = {
        q: ParsedStatement(q, StatementKind.SELECT, as_written(f"q{q}"), tuple(acc))
        for q, acc in accesses.items()
    }
    return Problem(
        targets=targets,
        parsed=parsed,
        candidates=candidates or {},
        planner=planner,
        base_cost={q: planner.plan(q, ()).cost for q in accesses},
        maintenance_ms=lambda d: maintenance,
    )


def test_workload_estimate_scales_each_statement_by_its_cost_drop_and_adds_writes() -> None:
    p = problem(
        {1: [TableAccess(T, filters=eq("a"))], 2: [TableAccess(T, filters=eq("b"))]},
        {1: 100.0, 2: 50.0},
        {(T, "a"): 0.01, (T, "b"): 0.5},
        maintenance=7.0,
    )
    assert p.workload_ms([]) == pytest.approx(150.0)
    # q1 drops to (0.01 + 0.001) of its cost, q2 is untouched; one index costs 7 ms.
    assert p.workload_ms([design(T, "a")]) == pytest.approx(100 * 0.011 + 50 + 7)


def test_per_column_indexes_single_columns_only_and_respects_the_budget() -> None:
    p = problem(
        {1: [TableAccess(T, filters=eq("a", "b"))], 2: [TableAccess(T, filters=eq("c"))]},
        {1: 100.0, 2: 10.0},
        {(T, "a"): 0.1, (T, "b"): 0.1, (T, "c"): 0.01},
    )
    chosen = baselines.per_column(p, budget=200)
    assert all(len(d.keys) == 1 for d in chosen)
    # Two fit; `c` saves least (a statement of 10 ms), `a` and `b` save as much each.
    assert set(chosen) == {design(T, "a"), design(T, "b")}
    assert baselines.per_column(p, budget=99) == []


def test_dexter_takes_the_best_pair_and_ignores_statements_it_cannot_halve() -> None:
    p = problem(
        {
            1: [TableAccess(T, filters=eq("a", "b"))],
            2: [TableAccess(U, filters=eq("x"))],
        },
        {1: 100.0, 2: 100.0},
        {(T, "a"): 0.1, (T, "b"): 0.1, (U, "x"): 0.8},
    )
    chosen = baselines.dexter(p, budget=10_000)
    assert len(chosen) == 1
    assert set(chosen[0].key_columns) == {"a", "b"}


def test_extend_grows_an_index_by_an_attribute_used_together_with_it() -> None:
    p = problem(
        {1: [TableAccess(T, filters=eq("a"), order_by=(OrderKey.of("c"),), limited=True)]},
        {1: 100.0},
        {(T, "a"): 0.3, (T, "c"): 1.0},
    )
    chosen = baselines.extend(p, budget=10_000)
    assert chosen == [design(T, "a", "c")]
    # Without room for the second attribute it stops at one.
    assert baselines.extend(p, budget=150) == [design(T, "a")]


def test_ilp_finds_the_one_large_index_that_beats_several_small_ones() -> None:
    """The knapsack case: by gain per byte the small index comes first and then the large
    one no longer fits; the optimum takes the large one alone."""
    big, small = design(T, "a", "b", "c"), design(U, "x")
    p = problem(
        {
            1: [TableAccess(T, filters=eq("a", "b", "c"))],
            2: [TableAccess(U, filters=eq("x"))],
        },
        {1: 1000.0, 2: 60.0},
        {(T, "a"): 0.9, (T, "b"): 0.9, (T, "c"): 0.01, (U, "x"): 0.01},
        candidates={big: frozenset({1}), small: frozenset({2})},
    )
    result = baselines.ilp(p, budget=300)
    assert result.status == "Optimal"
    assert result.designs == [big]
    assert result.objective_ms == pytest.approx(p.workload_ms([big]))
    # With room for both it takes both.
    assert set(baselines.ilp(p, budget=400).designs) == {big, small}
    # The advisor's own search gets there too (its second run ranks by gain alone).
    advised = select_indexes(
        list(p.targets.values()),
        p.candidates,
        p.planner,
        selection_settings(Settings(min_cost_reduction=0.1, min_saved_ms_per_day=0), 300),
        86_400.0,
    )
    assert [r.design for r in advised] == [big]


def test_ilp_pairs_indexes_on_two_tables_of_a_join() -> None:
    tx, uy = design(T, "a"), design(U, "y")
    p = problem(
        {1: [TableAccess(T, filters=eq("a")), TableAccess(U, filters=eq("y"))]},
        {1: 100.0},
        {(T, "a"): 0.01, (U, "y"): 0.01},
        candidates={tx: frozenset({1}), uy: frozenset({1})},
    )
    result = baselines.ilp(p, budget=200)
    assert set(result.designs) == {tx, uy}
    assert result.objective_ms == pytest.approx(p.workload_ms([tx, uy]))
