"""The index selections the advisor is measured against, on the same planner and costs.

Every strategy gets the same `Problem`: the statements (with the time each took over the
window), how the parser saw them, the advisor's candidates, a what-if planner (HypoPG in the
benchmark, a fake in unit tests), the statements' costs without new indexes and the write
cost of each design. Each returns a set of designs that fits a storage budget; `Problem.
workload_ms` then scores every set the same way, by planning each statement with the whole
set:

    estimated time = sum over statements of  time * cost(with set) / cost(without)
                     + what maintaining the set costs the writes over the same window

The strategies:

- `per_column`: one single-column index per filtered or joined column, the most useful
  first while they fit (what most peers do).
- `dexter`: per statement, hypothetical indexes on every single column and every ordered
  pair of its filtered, joined and sorted columns; the ones the cheaper plan uses are kept
  when they halve the statement's cost (Dexter's rule), ranked by the time they save.
- `extend`: Schlosser et al.'s Extend (2019): start from nothing; at each step either add a
  single-column index or append one attribute to a chosen index, whichever saves the most
  estimated time per extra byte, until nothing fits or helps. Plain: no candidate generator,
  ascending keys, whole-workload costing at every step.
- `ilp`: the optimum over the advisor's own candidates, as an integer program (HiGHS). A
  statement may use one "atomic configuration": no index, one candidate, or for joins two
  candidates on different tables (the best few per table). Exact within that model; a plan
  that needs three new indexes at once is outside it.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from advisor.analyze.candidates import index_attributes
from advisor.analyze.select import Planner, Target
from advisor.model import IndexDesign, KeyColumn, ParsedStatement, TableAccess, TableName

MaintenanceMs = Callable[[IndexDesign], float]
# Dexter keeps an index when it cuts the statement's cost at least this much.
DEXTER_MIN_SAVINGS = 0.5


@dataclass
class Problem:
    """One workload's index selection problem; see the module docstring."""

    targets: Mapping[int, Target]
    parsed: Mapping[int, ParsedStatement]
    candidates: Mapping[IndexDesign, frozenset[int]]
    planner: Planner
    base_cost: Mapping[int, float]
    maintenance_ms: MaintenanceMs
    existing: Mapping[TableName, Sequence[IndexDesign]] = field(default_factory=dict)

    @property
    def total_ms(self) -> float:
        return sum(t.statement.total_ms for t in self.targets.values())

    def statement_ms(self, queryid: int, designs: Iterable[IndexDesign]) -> float:
        """The statement's estimated time with `designs` (those on its tables)."""
        target = self.targets[queryid]
        base = self.base_cost[queryid]
        relevant = [d for d in designs if d.table in target.tables]
        if base <= 0 or not relevant:
            return target.statement.total_ms
        return target.statement.total_ms * self.planner.plan(queryid, relevant).cost / base

    def workload_ms(self, designs: Sequence[IndexDesign]) -> float:
        """Estimated time of the whole workload with `designs`, writes included."""
        reads = sum(self.statement_ms(q, designs) for q in self.targets)
        return reads + sum(self.maintenance_ms(d) for d in designs)

    def size(self, designs: Iterable[IndexDesign]) -> int:
        return sum(self.planner.size_bytes(d) for d in designs)

    def served(self, design: IndexDesign) -> bool:
        """An existing index already does what `design` would."""
        return any(design.serves_prefix_of(e) for e in self.existing.get(design.table, ()))


def _btree(table: TableName, columns: Sequence[str]) -> IndexDesign:
    return IndexDesign(table, tuple(KeyColumn.of(c) for c in columns))


def _filtered(access: TableAccess) -> list[str]:
    return list(dict.fromkeys([*(f.column for f in access.filters), *access.join_columns]))


def _fill(problem: Problem, ranked: Iterable[IndexDesign], budget: int) -> list[IndexDesign]:
    """The designs in order, skipping each one that no longer fits the budget."""
    chosen: list[IndexDesign] = []
    used = 0
    for design in ranked:
        size = problem.planner.size_bytes(design)
        if design not in chosen and used + size <= budget:
            chosen.append(design)
            used += size
    return chosen


def per_column(problem: Problem, budget: int) -> list[IndexDesign]:
    """One index per filtered column, ranked by the time each saves on its own."""
    designs = {
        _btree(access.table, [column])
        for parsed in problem.parsed.values()
        for access in parsed.accesses
        for column in _filtered(access)
    }
    designs = {d for d in designs if not problem.served(d)}
    none = problem.workload_ms([])
    savings = {d: none - problem.workload_ms([d]) for d in designs}
    ranked = sorted((d for d in designs if savings[d] > 0), key=lambda d: (-savings[d], d))
    return _fill(problem, ranked, budget)


def dexter(problem: Problem, budget: int) -> list[IndexDesign]:
    """Per statement, the indexes its cheapest plan uses among all single-column and
    two-column hypothetical indexes, kept when they at least halve its cost."""
    saved: dict[IndexDesign, float] = defaultdict(float)
    for queryid, parsed in problem.parsed.items():
        base = problem.base_cost[queryid]
        if base <= 0:
            continue
        singles: set[IndexDesign] = set()
        pairs: set[IndexDesign] = set()
        for access in parsed.accesses:
            columns = index_attributes(access)
            singles.update(_btree(access.table, [c]) for c in columns)
            pairs.update(
                _btree(access.table, list(pair)) for pair in itertools.permutations(columns, 2)
            )
        singles = {d for d in singles if not problem.served(d)}
        pairs = {d for d in pairs if not problem.served(d)}
        if not singles and not pairs:
            continue
        plans = [problem.planner.plan(queryid, singles)]
        if pairs:
            plans.append(problem.planner.plan(queryid, singles | pairs))
        best = min(plans, key=lambda p: p.cost)
        if not best.used or best.cost > base * (1 - DEXTER_MIN_SAVINGS):
            continue
        ms = problem.targets[queryid].statement.total_ms * (1 - best.cost / base)
        for design in best.used:
            saved[design] += ms / len(best.used)
    ranked = sorted(saved, key=lambda d: (-saved[d], d))
    return _fill(problem, ranked, budget)


def extend(problem: Problem, budget: int) -> list[IndexDesign]:
    """Schlosser et al.'s Extend over the workload's indexable attributes."""
    # Attribute sets that occur together in one access: an index is only extended by an
    # attribute some statement uses together with all of the index's attributes.
    together: dict[TableName, list[frozenset[str]]] = defaultdict(list)
    for parsed in problem.parsed.values():
        for access in parsed.accesses:
            columns = index_attributes(access)
            if columns:
                together[access.table].append(frozenset(columns))
    on_table: dict[TableName, list[int]] = defaultdict(list)
    for queryid, target in problem.targets.items():
        for table in target.tables:
            on_table[table].append(queryid)

    chosen: list[IndexDesign] = []
    used = 0
    current = {q: problem.statement_ms(q, []) for q in problem.targets}
    while True:
        best: tuple[float, IndexDesign, IndexDesign | None, dict[int, float]] | None = None
        for design, replaces in _extend_moves(chosen, together):
            if design in chosen or problem.served(design):
                continue
            extra = problem.planner.size_bytes(design) - (
                problem.planner.size_bytes(replaces) if replaces else 0
            )
            if used + extra > budget:
                continue
            trial = [d for d in chosen if d != replaces] + [design]
            costs = {q: problem.statement_ms(q, trial) for q in on_table[design.table]}
            benefit = sum(current[q] - costs[q] for q in costs)
            benefit -= problem.maintenance_ms(design)
            if replaces is not None:
                benefit += problem.maintenance_ms(replaces)
            if benefit <= 0:
                continue
            ratio = benefit / max(extra, 1)
            if best is None or (ratio, design) > (best[0], best[1]):
                best = (ratio, design, replaces, costs)
        if best is None:
            return chosen
        _, design, replaces, costs = best
        if replaces is not None:
            chosen.remove(replaces)
            used -= problem.planner.size_bytes(replaces)
        chosen.append(design)
        used += problem.planner.size_bytes(design)
        current.update(costs)


def _extend_moves(
    chosen: Sequence[IndexDesign], together: Mapping[TableName, Sequence[frozenset[str]]]
) -> Iterable[tuple[IndexDesign, IndexDesign | None]]:
    """Every single-attribute index, and every chosen index with one attribute appended."""
    for table, groups in together.items():
        for column in sorted(set().union(*groups)):
            yield _btree(table, [column]), None
    for index in chosen:
        keys = set(index.key_columns)
        extra: set[str] = set()
        for group in together.get(index.table, ()):
            if keys <= group:
                extra |= group - keys
        for column in sorted(extra):
            yield _btree(index.table, [*index.key_columns, column]), index


@dataclass(frozen=True)
class IlpResult:
    """The integer program's answer and what it took."""

    designs: list[IndexDesign]
    objective_ms: float
    status: str
    configurations: int
    seconds: float


def ilp(problem: Problem, budget: int, per_table: int = 3, time_limit: float = 60.0) -> IlpResult:
    """The optimum over the advisor's candidates within the atomic-configuration model."""
    import highspy  # a benchmark-only dependency, imported where it is needed

    started = time.monotonic()
    relevant: dict[int, list[IndexDesign]] = defaultdict(list)
    for design, queryids in problem.candidates.items():
        for queryid in queryids:
            if queryid in problem.targets and not problem.served(design):
                relevant[queryid].append(design)
    designs = sorted({d for ds in relevant.values() for d in ds})
    column = {d: i for i, d in enumerate(designs)}

    # highspy's Highs.__init__ has no annotations (its stubs cover the methods only).
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 1e-6)
    inf = highspy.kHighsInf
    for _ in designs:
        h.addVar(0.0, 1.0)
    for design, i in column.items():
        h.changeColCost(i, problem.maintenance_ms(design))
        h.changeColIntegrality(i, highspy.HighsVarType.kInteger)
    sizes = [float(problem.planner.size_bytes(d)) for d in designs]
    h.addRow(-inf, float(budget), len(designs), list(range(len(designs))), sizes)

    constant = 0.0
    configurations = 0
    for queryid, target in problem.targets.items():
        base = problem.base_cost[queryid]
        weight = target.statement.total_ms / base if base > 0 else 0.0
        options = _configurations(problem, queryid, relevant.get(queryid, []), per_table)
        if weight <= 0 or not options:
            constant += target.statement.total_ms
            continue
        # One variable per configuration; exactly one configuration per statement.
        first = h.getNumCol()
        h.addVar(0.0, 1.0)
        h.changeColCost(first, target.statement.total_ms)  # the empty configuration
        for offset, (config, cost) in enumerate(options, start=1):
            h.addVar(0.0, 1.0)
            h.changeColCost(first + offset, weight * cost)
            for design in config:  # y <= x for every index of the configuration
                h.addRow(-inf, 0.0, 2, [first + offset, column[design]], [1.0, -1.0])
        count = len(options) + 1
        h.addRow(1.0, 1.0, count, list(range(first, first + count)), [1.0] * count)
        configurations += count
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    values = h.getSolution().col_value
    chosen = [d for d, i in column.items() if values[i] > 0.5]
    objective = h.getInfo().objective_function_value + constant
    return IlpResult(chosen, objective, status, configurations, time.monotonic() - started)


def _configurations(
    problem: Problem, queryid: int, designs: Sequence[IndexDesign], per_table: int
) -> list[tuple[tuple[IndexDesign, ...], float]]:
    """The statement's atomic configurations that beat no index, with their costs."""
    base = problem.base_cost[queryid]
    Configuration = tuple[tuple[IndexDesign, ...], float]
    singles: list[Configuration] = []
    for design in designs:
        cost = problem.planner.plan(queryid, [design]).cost
        if cost < base:
            singles.append(((design,), cost))
    best_per_table: dict[TableName, list[tuple[IndexDesign, float]]] = defaultdict(list)
    for config, cost in sorted(singles, key=lambda s: (s[1], s[0])):
        design = config[0]
        if len(best_per_table[design.table]) < per_table:
            best_per_table[design.table].append((design, cost))
    pairs: list[Configuration] = []
    for (t1, first), (t2, second) in itertools.combinations(sorted(best_per_table.items()), 2):
        del t1, t2
        for (a, _), (b, _) in itertools.product(first, second):
            cost = problem.planner.plan(queryid, [a, b]).cost
            if cost < base:
                pairs.append(((a, b), cost))
    return singles + pairs
