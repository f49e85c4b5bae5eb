"""Choosing the index set for the whole workload, within a storage budget.

The objective is the workload time saved: for each statement, its total time over the
window times the relative drop of its planner cost, 1 - cost_with / cost_without. The
search is a greedy in the spirit of Extend (Schlosser et al. 2019): at each step it adds
the candidate with the best gain per byte, where a candidate that extends an index already
chosen replaces it (only the extra bytes count). It runs twice, once ranking by gain per
byte and once by gain alone, and keeps the better set: the per-byte greedy alone can miss
one large index that beats several small ones (the classic knapsack counter-example).

Costs during the search are derived, not all asked for: a statement's cost with a set of
indexes is taken as the best of its costs with one candidate on a table plus everything
chosen on its other tables. That is exact when a plan uses at most one index per table,
and it keeps the number of planner calls roughly linear in the number of statements.
The final set is then planned for real, statement by statement, and every index the
planner does not use, or that saves too little, is dropped.

Designs that pay only together, one per arm of an OR (a BitmapOr needs an index on every
arm, so each alone changes nothing in the plan), are weighed as a group: one step whose
gain is the statements' cost drop with all of them present and whose size is their sum,
taken whole or not at all, and judged together in the final planning.

The search is incremental, and exact. A candidate's gain is a sum of one term per
statement it may help, and a term depends only on that statement's current cost and on
the designs chosen on the statement's other tables. Terms are kept between steps; a step
recomputes only the terms of the statements whose cost it lowered and, for candidates on
other tables, of the statements that read the table it chose on. Every step thus sees the
very gains a full re-evaluation of every candidate would (the same floats, summed in the
same order) and makes the same choice. The two runs share the candidates' sizes and write
costs and the terms of the empty set they both start from; a planner that can
(`Prefetching`) is first asked in bulk for every statement's cost with one candidate
alone, which is what the first step needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from advisor.model import (
    IndexDesign,
    PlanEstimate,
    Recommendation,
    Statement,
    StatementEffect,
    TableName,
)

SECONDS_PER_DAY = 86_400.0


class Planner(Protocol):
    """The what-if port: the planner's cost of a statement with hypothetical indexes."""

    def plan(self, queryid: int, designs: Iterable[IndexDesign]) -> PlanEstimate: ...

    def size_bytes(self, design: IndexDesign) -> int: ...


@runtime_checkable
class Prefetching(Protocol):
    """A planner that can plan many statements with one design alone in bulk (cheaper
    than one `plan` call each); the search asks for exactly those costs first."""

    def prefetch(self, pairs: Mapping[IndexDesign, Iterable[int]]) -> None: ...


@dataclass(frozen=True)
class Target:
    """A statement of the workload with the tables its plan reads."""

    statement: Statement
    tables: frozenset[TableName]


@dataclass(frozen=True)
class SelectionSettings:
    """The selection's thresholds (config.selection_settings maps them from Settings, where
    each is documented with its default)."""

    budget_bytes: int
    min_cost_reduction: float
    min_saved_ms_per_day: float
    max_recommendations: int


MaintenanceCost = Callable[[IndexDesign], float]
# Designs that pay only together (one per arm of an OR, see candidates.candidate_groups),
# with the statements they may help.
Groups = Mapping[tuple[IndexDesign, ...], frozenset[int]]
# Wider designs grown from a chosen one, with the statements each may help.
Extensions = Callable[[IndexDesign], Mapping[IndexDesign, frozenset[int]]]
# A chosen design followed by the ORDER BY of the pages read through it, if any.
PageOrders = Callable[[IndexDesign], IndexDesign | None]
# Drop-and-refill passes after the greedy (each pass tries every chosen design), for
# workloads of at most this many statements: each trial re-derives every statement's
# cost, which on thousands of statements costs more than the search itself.
IMPROVEMENT_PASSES = 1
IMPROVEMENT_MAX_STATEMENTS = 1_000
# Insert-and-refill trials: the designs left out with the best gains alone.
INSERT_TRIALS = 50
# The repair stops once it has derived this many times as many costs as the greedy runs
# did (on join-heavy workloads each trial plans new combinations of indexes).
REPAIR_WORK_FACTOR = 3


def _no_maintenance(design: IndexDesign) -> float:
    return 0.0


class _Problem:
    """What both greedy runs share: the candidates by number, who helps whom, their sizes
    and write costs (asked for once, when first needed), and the gain terms computed with
    nothing chosen yet, the state both runs start from."""

    def __init__(
        self,
        targets: Mapping[int, Target],
        candidates: Mapping[IndexDesign, frozenset[int]],
        planner: Planner,
        settings: SelectionSettings,
        base_cost: Mapping[int, float],
        maintenance_ms: MaintenanceCost,
        extensions: Extensions | None = None,
        groups: Groups | None = None,
        mixed: Collection[int] = (),
    ) -> None:
        self.targets = targets
        self.planner = planner
        # Statements costed as a mix of value scenarios: one scenario's plan may use one
        # index of a table and another's another (the big tenant's walk, a JSON key's
        # lookup), so a design's gain counts the chosen designs of its own table too.
        self.mixed = frozenset(mixed)
        self._extensions = extensions
        self._extended: set[int] = set()
        self.settings = settings
        self.base_cost = base_cost
        # What maintaining a design costs over the observed window, in the unit of gains.
        self._maintenance_ms = maintenance_ms
        self.designs: list[IndexDesign] = []
        self.number: dict[IndexDesign, int] = {}
        self.tables: list[TableName] = []
        # Each candidate's statements, in the order of its frozenset (gains are summed in
        # that order, so that they are the same floats whatever was cached).
        self.statements: list[tuple[int, ...]] = []
        self.helpers: dict[int, list[int]] = defaultdict(list)
        self.readers: dict[TableName, list[int]] = defaultdict(list)
        for queryid, target in targets.items():
            for table in target.tables:
                self.readers[table].append(queryid)
        self.on_table: dict[TableName, list[int]] = defaultdict(list)
        self.first_terms: dict[tuple[int, int], float] = {}
        # Costs derived so far (planner calls, cached or not): the measure of work.
        self.derived = 0
        self._sizes: list[int | None] = []
        self._maintenance: list[float | None] = []
        for design, queryids in candidates.items():
            self.add(design, queryids)
        # The groups by number: their designs' numbers, their statements, and the groups
        # each design belongs to.
        self.groups: list[tuple[int, ...]] = []
        self.group_statements: list[tuple[int, ...]] = []
        self.groups_of: dict[int, list[int]] = defaultdict(list)
        for members, queryids in (groups or {}).items():
            numbers = tuple(dict.fromkeys(self.add(design, ()) for design in members))
            if len(numbers) < 2 or len({self.tables[n] for n in numbers}) > 1:
                continue
            for number in numbers:
                self.groups_of[number].append(len(self.groups))
            self.groups.append(numbers)
            self.group_statements.append(tuple(q for q in queryids if q in targets))

    def add(self, design: IndexDesign, queryids: Iterable[int]) -> int:
        """Number a candidate (a design already known keeps its number and statements)."""
        known = self.number.get(design)
        if known is not None:
            return known
        index = len(self.designs)
        self.designs.append(design)
        self.number[design] = index
        self.tables.append(design.table)
        self.statements.append(tuple(queryids))
        for queryid in self.statements[index]:
            if queryid in self.targets:
                self.helpers[queryid].append(index)
        self.on_table[design.table].append(index)
        self._sizes.append(None)
        self._maintenance.append(None)
        return index

    def extend(self, index: int) -> None:
        """Add the designs grown from a chosen one (once per design)."""
        if self._extensions is None or index in self._extended:
            return
        self._extended.add(index)
        new = {
            design: [q for q in queryids if q in self.targets]
            for design, queryids in self._extensions(self.designs[index]).items()
            if design not in self.number
        }
        if isinstance(self.planner, Prefetching):
            # What their first evaluation needs, in bulk (one round trip per design).
            self.planner.prefetch(new)
        for design, queryids in new.items():
            self.add(design, queryids)

    def size(self, index: int) -> int:
        size = self._sizes[index]
        if size is None:
            size = self._sizes[index] = self.planner.size_bytes(self.designs[index])
        return size

    def maintenance(self, index: int) -> float:
        cost = self._maintenance[index]
        if cost is None:
            cost = self._maintenance[index] = self._maintenance_ms(self.designs[index])
        return cost


@dataclass(frozen=True)
class _Step:
    design: int
    replaces: int | None
    gain_ms: float
    extra_bytes: int
    # For a group: the designs it adds (`design` is the first of them).
    group: tuple[int, ...] = ()


class _Search:
    """One greedy run: the chosen set and every statement's current (derived) cost.

    A candidate's gain is the sum of one term per statement it may help, and a term only
    changes when that statement's current cost changes or when the chosen set changes on
    one of the statement's other tables. Terms are kept, and after each step only the
    terms it touched are computed again: every step sees the same gains as a plain
    evaluation of every candidate would, for a fraction of the work."""

    def __init__(self, problem: _Problem, banned: frozenset[int] = frozenset()) -> None:
        self.problem = problem
        self.current = dict(problem.base_cost)
        self.chosen: list[int] = []
        self.used_bytes = 0
        # Designs this run may not choose (the one a drop-and-refill pass just removed).
        self.banned = banned
        self._terms: dict[tuple[int, int], float] = {}
        self._gains: dict[int, float] = {}
        # The chosen design each candidate would replace (None: none), until the chosen
        # set on its table changes.
        self._replaces: dict[int, int | None] = {}

    @property
    def chosen_designs(self) -> list[IndexDesign]:
        return [self.problem.designs[index] for index in self.chosen]

    @classmethod
    def starting_from(
        cls, problem: _Problem, chosen: Iterable[int], banned: frozenset[int]
    ) -> _Search:
        """A run whose chosen set is `chosen` (applied in that order)."""
        search = cls(problem, banned)
        for index in chosen:
            search._apply(_Step(index, None, 0.0, problem.size(index)))
        return search

    def run(self, per_byte: bool) -> None:
        designs = self.problem.designs
        while len(self.chosen) < self.problem.settings.max_recommendations:
            # Choosing a design may have added candidates (its extensions).
            candidates = range(len(designs))
            steps = [s for s in map(self._step, candidates) if s is not None]
            groups = map(self._group_step, range(len(self.problem.groups)))
            steps += [s for s in groups if s is not None]
            if not steps:
                return
            if per_byte:
                best = max(
                    steps, key=lambda s: (s.gain_ms / max(s.extra_bytes, 1), designs[s.design])
                )
            else:
                best = max(steps, key=lambda s: (s.gain_ms, designs[s.design]))
            self._apply(best)

    def _step(self, index: int) -> _Step | None:
        if index in self.chosen or index in self.banned:
            return None
        problem = self.problem
        replaces = self._replaced_by(index)
        extra = problem.size(index) - (problem.size(replaces) if replaces is not None else 0)
        if self.used_bytes + extra > problem.settings.budget_bytes:
            return None
        gain = self._gains.get(index)
        if gain is None:
            gain = self._gains[index] = sum(
                self._term(index, queryid) for queryid in problem.statements[index]
            )
        if gain <= 0:
            return None
        gain -= problem.maintenance(index)
        if replaces is not None:
            gain += problem.maintenance(replaces)
        if gain <= 0:
            return None
        return _Step(index, replaces, gain, extra)

    def _group_step(self, group: int) -> _Step | None:
        """The step adding the group's designs not chosen yet, all at once: its gain is
        the cost drop with every design of the group present, its size their sum. Its
        gains are derived afresh at every step (groups are few)."""
        problem = self.problem
        missing = tuple(m for m in problem.groups[group] if m not in self.chosen)
        if not missing or any(m in self.banned for m in missing):
            return None
        if len(self.chosen) + len(missing) > problem.settings.max_recommendations:
            return None
        extra = sum(problem.size(m) for m in missing)
        if self.used_bytes + extra > problem.settings.budget_bytes:
            return None
        gain = sum(
            self._saving(queryid, self._group_cost(queryid, group))
            for queryid in problem.group_statements[group]
        )
        if gain <= 0:
            return None
        gain -= sum(problem.maintenance(m) for m in missing)
        if gain <= 0:
            return None
        return _Step(missing[0], None, gain, extra, missing)

    def _group_cost(self, queryid: int, group: int) -> float:
        """The statement's cost with every design of the group and everything chosen on
        its other tables."""
        problem = self.problem
        members = [problem.designs[m] for m in problem.groups[group]]
        problem.derived += 1
        others = self._others(queryid, members[0].table)
        return problem.planner.plan(queryid, [*members, *others]).cost

    def _replaced_by(self, index: int) -> int | None:
        """The first chosen design (in the order chosen) that `index` extends."""
        if index not in self._replaces:
            design = self.problem.designs[index]
            self._replaces[index] = next(
                (c for c in self.chosen if self.problem.designs[c].serves_prefix_of(design)),
                None,
            )
        return self._replaces[index]

    def _others(self, queryid: int, table: TableName) -> list[IndexDesign]:
        """The chosen designs on the statement's tables other than `table`."""
        tables = self.problem.targets[queryid].tables
        designs = self.problem.designs
        return [
            designs[c]
            for c in self.chosen
            if (t := self.problem.tables[c]) != table and t in tables
        ]

    def _cost_with(self, queryid: int, index: int) -> float:
        """The statement's cost with the design and everything chosen on its other tables
        (and on its own, for a statement costed as a mix of scenarios)."""
        design = self.problem.designs[index]
        self.problem.derived += 1
        context = self._others(queryid, design.table)
        if queryid in self.problem.mixed:
            context += self._beside(index)
        return self.problem.planner.plan(queryid, [design, *context]).cost

    def _beside(self, index: int) -> list[IndexDesign]:
        """The chosen designs on the design's own table, but for it and the one it replaces."""
        problem, replaced = self.problem, self._replaced_by(index)
        return [
            problem.designs[c]
            for c in self.chosen
            if c not in (index, replaced) and problem.tables[c] == problem.tables[index]
        ]

    def _term(self, index: int, queryid: int) -> float:
        """The design's gain on one statement, from the cache when nothing it depends on
        has changed since."""
        key = (index, queryid)
        term = self._terms.get(key)
        if term is None:
            problem = self.problem
            if queryid not in problem.targets:
                term = 0.0
            elif (
                self.current[queryid] == problem.base_cost[queryid]
                and not self._others(queryid, problem.tables[index])
                and not (queryid in problem.mixed and self._beside(index))
            ):
                # The state every run starts from: the term is shared between runs.
                term = problem.first_terms.get(key)
                if term is None:
                    term = problem.first_terms[key] = self._gain(queryid, index)
            else:
                term = self._gain(queryid, index)
            self._terms[key] = term
        return term

    def _gain(self, queryid: int, index: int) -> float:
        return self._saving(queryid, self._cost_with(queryid, index))

    def _saving(self, queryid: int, cost: float) -> float:
        """What lowering the statement's cost from the current one to `cost` saves."""
        problem = self.problem
        base, current = problem.base_cost[queryid], self.current[queryid]
        new_cost = min(current, cost)
        # Noise is judged against the statement's cost now: a second, wider index that
        # cuts an already cheap plan by 90% (no sort for ORDER BY ... LIMIT) counts.
        if (
            base <= 0
            or current <= 0
            or (current - new_cost) / current < problem.settings.min_cost_reduction
        ):
            return 0.0
        return problem.targets[queryid].statement.total_ms * (current - new_cost) / base

    def _apply(self, step: _Step) -> None:
        problem = self.problem
        if step.group:
            for member in step.group:
                self._apply(_Step(member, None, 0.0, problem.size(member)))
            return
        if step.replaces is not None:
            self.chosen.remove(step.replaces)
        self.chosen.append(step.design)
        self.used_bytes += step.extra_bytes
        problem.extend(step.design)
        table = problem.tables[step.design]
        for index in problem.on_table[table]:
            self._replaces.pop(index, None)
        changed = []
        for queryid in problem.statements[step.design]:
            if queryid in problem.targets:
                cost = min(self.current[queryid], self._cost_with(queryid, step.design))
                if cost != self.current[queryid]:
                    self.current[queryid] = cost
                    changed.append(queryid)
        # A group complete now lowers its statements' costs together.
        for group in problem.groups_of.get(step.design, ()):
            if all(m in self.chosen for m in problem.groups[group]):
                for queryid in problem.group_statements[group]:
                    cost = min(self.current[queryid], self._group_cost(queryid, group))
                    if cost != self.current[queryid]:
                        self.current[queryid] = cost
                        changed.append(queryid)
        # Terms that depend on what changed: the statements whose cost dropped, and, for
        # designs on other tables, every statement that reads this table.
        for queryid in changed:
            for index in problem.helpers[queryid]:
                self._forget(index, queryid)
        for queryid in problem.readers[table]:
            for index in problem.helpers[queryid]:
                if problem.tables[index] != table or queryid in problem.mixed:
                    self._forget(index, queryid)

    def _forget(self, index: int, queryid: int) -> None:
        if self._terms.pop((index, queryid), None) is not None:
            self._gains.pop(index, None)

    @property
    def saved_ms(self) -> float:
        problem = self.problem
        read = sum(
            t.statement.total_ms * (1 - self.current[q] / problem.base_cost[q])
            for q, t in problem.targets.items()
            if problem.base_cost[q] > 0
        )
        return read - sum(problem.maintenance(c) for c in self.chosen)


def select_indexes(
    targets: Sequence[Target],
    candidates: Mapping[IndexDesign, frozenset[int]],
    planner: Planner,
    settings: SelectionSettings,
    window_seconds: float,
    maintenance_ms_per_day: MaintenanceCost = _no_maintenance,
    extensions: Extensions | None = None,
    page_orders: PageOrders | None = None,
    groups: Groups | None = None,
    mixed: Collection[int] = (),
) -> tuple[Recommendation, ...]:
    """The recommended indexes, best first, each verified by planning the final set.
    `maintenance_ms_per_day` is what each design costs the writes: gains are net of it.
    `extensions`, when given, grows candidates from each chosen design (Extend's move).
    `page_orders`, when given, names for a chosen design the wider one that also returns
    a page's ORDER BY; it replaces the chosen one where it costs no statement more, saves
    about as much net of its writes, and fits the budget (see _insure_orders). `groups`,
    when given, are designs that pay only together (one per arm of an OR): the search
    weighs each group as one step, with all its designs present and their sizes summed,
    next to the single designs, and chooses it whole or not at all. For the `mixed`
    statements (costed as a mix of value scenarios) a design is weighed beside the designs
    chosen on its own table too."""
    by_id = {t.statement.queryid: t for t in targets}
    base_cost = {q: planner.plan(q, ()).cost for q in by_id}
    window_days = max(window_seconds, 1.0) / SECONDS_PER_DAY

    def over_window(design: IndexDesign) -> float:
        return maintenance_ms_per_day(design) * window_days

    if isinstance(planner, Prefetching):
        planner.prefetch({d: [q for q in qs if q in by_id] for d, qs in candidates.items()})
    problem = _Problem(
        by_id, candidates, planner, settings, base_cost, over_window, extensions, groups, mixed
    )
    searches = []
    for per_byte in (True, False):
        search = _Search(problem)
        search.run(per_byte)
        searches.append((search, per_byte))
    best, per_byte = max(searches, key=lambda s: (s[0].saved_ms, -s[0].used_bytes))
    if len(by_id) <= IMPROVEMENT_MAX_STATEMENTS:
        best = _improve(problem, best, per_byte)
    chosen = _drop_prefixes(best.chosen_designs)
    insured: dict[IndexDesign, IndexDesign] = {}
    if page_orders is not None:
        chosen, insured = _insure_orders(problem, chosen, page_orders)
    recommendations = _verify(
        by_id,
        chosen,
        planner,
        settings,
        base_cost,
        window_seconds,
        maintenance_ms_per_day,
        tuple(groups or ()),
    )
    return tuple(_with_order_note(r, insured.get(r.design), planner) for r in recommendations)


# A design that also returns a page's order replaces the chosen one when no statement's
# plan costs more than this much more with it, and its net saving is at least this share
# of the chosen one's.
ORDER_COST_TOLERANCE = 0.02
ORDER_MIN_NET_SHARE = 0.95


def _insure_orders(
    problem: _Problem, chosen: list[IndexDesign], page_orders: PageOrders
) -> tuple[list[IndexDesign], dict[IndexDesign, IndexDesign]]:
    """Widen each chosen design by the ORDER BY keys of the pages read through it
    (`page_orders`), where the planner says that costs nothing: a generic plan sees the
    average value, for which a sort of few rows is as cheap as the ordered index; the
    values with many rows are where the order pays, and nothing observed them. Returns
    the designs and, for each widened one, the design it replaced."""
    planner = problem.planner
    result = list(chosen)
    insured: dict[IndexDesign, IndexDesign] = {}
    for position, design in enumerate(chosen):
        wider = page_orders(design)
        if wider is None or wider in result:
            continue
        others = [d for d in result if d != design]
        used = sum(planner.size_bytes(d) for d in others)
        if used + planner.size_bytes(wider) > problem.settings.budget_bytes:
            continue
        served = _served(problem, design, wider)
        narrow_net, narrow_costs = _net_with(problem, others, design, served)
        wide_net, wide_costs = _net_with(problem, others, wider, served)
        if wide_net < ORDER_MIN_NET_SHARE * narrow_net or any(
            wide_costs[q] > narrow_costs[q] * (1 + ORDER_COST_TOLERANCE) for q in narrow_costs
        ):
            continue
        result[position] = wider
        insured[wider] = design
    return result, insured


def _net_with(
    problem: _Problem, others: Sequence[IndexDesign], design: IndexDesign, served: list[int]
) -> tuple[float, dict[int, float]]:
    """The time `design` saves over the window on the `served` statements beside
    `others`, net of its writes, and the cost of each of them with it."""
    saved = 0.0
    costs: dict[int, float] = {}
    for queryid in served:
        target = problem.targets[queryid]
        base = problem.base_cost[queryid]
        relevant = [d for d in (*others, design) if d.table in target.tables]
        with_others = [d for d in others if d.table in target.tables]
        cost = problem.planner.plan(queryid, relevant).cost
        before = problem.planner.plan(queryid, with_others).cost if with_others else base
        costs[queryid] = cost
        if base > 0:
            saved += target.statement.total_ms * max(before - cost, 0.0) / base
    number = problem.add(design, ())
    return saved - problem.maintenance(number), costs


def _served(problem: _Problem, design: IndexDesign, wider: IndexDesign) -> list[int]:
    """The statements on the design's table that it or its wider form is a candidate
    for: the ones the selection credits, and the ones whose plan can get dearer when one
    replaces the other. Planning every reader of the table instead took a third of the
    5,000-statement scale bench's analysis."""
    queryids: set[int] = set()
    for number in (problem.number.get(design), problem.number.get(wider)):
        if number is not None:
            queryids.update(problem.statements[number])
    return [q for q in problem.readers.get(design.table, ()) if q in queryids]


def _with_order_note(
    rec: Recommendation, replaced: IndexDesign | None, planner: Planner
) -> Recommendation:
    if replaced is None:
        return rec
    added = ", ".join(k.sql() for k in rec.design.keys[len(replaced.keys) :])
    extra = planner.size_bytes(rec.design) - planner.size_bytes(replaced)
    note = (
        f"{added} added to ({', '.join(k.sql() for k in replaced.keys)}): the planner costs "
        "both alike for the average value, and this one returns each page of the ORDER BY "
        "... LIMIT already in order, however many rows a value has (no sort of them all), "
        f"for {max(extra, 0) / 1024:,.0f} kB more"
    )
    return replace(rec, notes=(*rec.notes, note))


def _improve(problem: _Problem, search: _Search, per_byte: bool) -> _Search:
    """Repair the greedy's early choices, which can block a better use of the budget.

    Drop and refill: take each chosen design out in turn and let the greedy fill the room
    it leaves without it. Insert and refill: start from one of the best designs left out
    (by its gain alone), keep the chosen designs in the order chosen while they fit beside
    it, and let the greedy fill the rest. The first set that saves more is kept. The work
    is bounded: REPAIR_WORK_FACTOR times what the greedy runs derived."""
    best = search
    allowed = problem.derived * (1 + REPAIR_WORK_FACTOR)
    for _ in range(IMPROVEMENT_PASSES):
        for trial in _trials(problem, best):
            if problem.derived > allowed:
                return best
            trial.run(per_byte)
            if trial.saved_ms > best.saved_ms * (1 + 1e-9) + 1e-9:
                best = trial
                break
        else:
            return best
    return best


def _trials(problem: _Problem, best: _Search) -> Iterator[_Search]:
    """The starting points of the repair, each a search to run."""
    for dropped in list(best.chosen):
        kept = [index for index in best.chosen if index != dropped]
        yield _Search.starting_from(problem, kept, frozenset({dropped}))
    budget = problem.settings.budget_bytes
    alone = _Search(problem)
    left_out = [
        step
        for index in range(len(problem.designs))
        if index not in best.chosen and (step := alone._step(index)) is not None
    ]
    left_out.sort(key=lambda s: (-s.gain_ms, problem.designs[s.design]))
    for step in left_out[:INSERT_TRIALS]:
        beside: list[int] = []
        used = problem.size(step.design)
        for index in best.chosen:
            if used + problem.size(index) <= budget:
                beside.append(index)
                used += problem.size(index)
        yield _Search.starting_from(problem, [step.design, *beside], frozenset())


def _drop_prefixes(chosen: Sequence[IndexDesign]) -> list[IndexDesign]:
    """Remove every design that a wider chosen design makes redundant, and a BRIN index
    on the leading column of a chosen btree (the btree serves its ranges too)."""
    return [
        design
        for design in chosen
        if not any(design != other and design.serves_prefix_of(other) for other in chosen)
        and not (design.access_method == "brin" and any(_leads_btree(design, o) for o in chosen))
    ]


def _leads_btree(brin: IndexDesign, other: IndexDesign) -> bool:
    return (
        other.access_method == "btree"
        and other.table == brin.table
        and not other.predicate
        and other.keys[:1] == brin.keys[:1]
    )


def _verify(
    targets: Mapping[int, Target],
    chosen: list[IndexDesign],
    planner: Planner,
    settings: SelectionSettings,
    base_cost: Mapping[int, float],
    window_seconds: float,
    maintenance_ms_per_day: MaintenanceCost,
    groups: Sequence[tuple[IndexDesign, ...]] = (),
) -> tuple[Recommendation, ...]:
    """Plan every statement with the whole chosen set; keep the designs that earn their
    place net of their write cost, and attribute each statement's saving to the designs
    its plan uses (all the arms of a BitmapOr share it). A group's designs are judged
    together: kept all when their plans use each and they earn their place together."""
    per_day = SECONDS_PER_DAY / max(window_seconds, 1.0)
    while True:
        effects: dict[IndexDesign, list[StatementEffect]] = defaultdict(list)
        for queryid, target in targets.items():
            relevant = [d for d in chosen if d.table in target.tables]
            if not relevant:
                continue
            estimate = planner.plan(queryid, relevant)
            base = base_cost[queryid]
            drop = (base - estimate.cost) / base if base > 0 else 0.0
            if not estimate.used or drop < settings.min_cost_reduction:
                continue
            share = target.statement.total_ms * drop * per_day / len(estimate.used)
            for design in estimate.used:
                effects[design].append(_effect(target.statement, base, estimate.cost, share))
        kept = {
            d
            for d in chosen
            if effects[d]
            and (net := _net(effects[d], maintenance_ms_per_day(d))) > 0
            and net >= settings.min_saved_ms_per_day
        }
        together = _together(groups, chosen, effects, maintenance_ms_per_day, settings)
        keep = [d for d in chosen if d in kept or d in together]
        if keep == chosen:
            break
        chosen = keep
    partners = _partners(groups, chosen)
    recommendations = [
        Recommendation(
            design=design,
            estimated_size_bytes=planner.size_bytes(design),
            estimated_ms_saved_per_day=_net(effects[design], maintenance_ms_per_day(design)),
            estimated_write_ms_per_day=maintenance_ms_per_day(design),
            statements=tuple(
                sorted(effects[design], key=lambda e: (-e.estimated_ms_saved_per_day, e.queryid))
            ),
            notes=_partner_notes(partners.get(design, ())),
        )
        for design in chosen
    ]
    recommendations.sort(key=lambda r: (-r.estimated_ms_saved_per_day, r.design))
    return tuple(recommendations)


def _together(
    groups: Sequence[tuple[IndexDesign, ...]],
    chosen: Sequence[IndexDesign],
    effects: Mapping[IndexDesign, Sequence[StatementEffect]],
    maintenance_ms_per_day: MaintenanceCost,
    settings: SelectionSettings,
) -> set[IndexDesign]:
    """The designs of the groups chosen whole whose plans use every design and that earn
    their place together (one arm's share alone may fall short)."""
    result: set[IndexDesign] = set()
    for group in groups:
        if not all(d in chosen and effects.get(d) for d in group):
            continue
        net = sum(_net(effects[d], maintenance_ms_per_day(d)) for d in group)
        if net > 0 and net >= settings.min_saved_ms_per_day:
            result.update(group)
    return result


def _partners(
    groups: Sequence[tuple[IndexDesign, ...]], chosen: Sequence[IndexDesign]
) -> dict[IndexDesign, tuple[IndexDesign, ...]]:
    """For each design of a group recommended whole, the group's other designs."""
    result: dict[IndexDesign, tuple[IndexDesign, ...]] = {}
    for group in groups:
        if all(d in chosen for d in group):
            for design in group:
                others = (*result.get(design, ()), *(d for d in group if d != design))
                result[design] = tuple(dict.fromkeys(others))
    return result


def _partner_notes(partners: Sequence[IndexDesign]) -> tuple[str, ...]:
    if not partners:
        return ()
    names = "; ".join(f"({', '.join(k.sql() for k in d.keys)})" for d in partners)
    return (
        f"pays together with {names}: an OR of these columns is read by a BitmapOr, "
        "which needs an index on every arm (either alone changes nothing in the plan)",
    )


def _net(effects: Sequence[StatementEffect], maintenance_ms_per_day: float) -> float:
    return sum(e.estimated_ms_saved_per_day for e in effects) - maintenance_ms_per_day


def _effect(statement: Statement, before: float, after: float, saved: float) -> StatementEffect:
    return StatementEffect(
        queryid=statement.queryid,
        query=statement.text,
        calls=statement.calls,
        mean_ms=statement.mean_ms,
        cost_before=before,
        cost_after=after,
        estimated_ms_saved_per_day=saved,
    )
