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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

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


@dataclass(frozen=True)
class Target:
    """A statement of the workload with the tables its plan reads."""

    statement: Statement
    tables: frozenset[TableName]


@dataclass(frozen=True)
class SelectionSettings:
    budget_bytes: int
    min_cost_reduction: float = 0.10
    min_saved_ms_per_day: float = 1_000.0
    max_indexes: int = 20


MaintenanceCost = Callable[[IndexDesign], float]


def _no_maintenance(design: IndexDesign) -> float:
    return 0.0


@dataclass(frozen=True)
class _Step:
    design: IndexDesign
    replaces: IndexDesign | None
    gain_ms: float
    extra_bytes: int


class _Search:
    """One greedy run: the chosen set and every statement's current (derived) cost."""

    def __init__(
        self,
        targets: Mapping[int, Target],
        candidates: Mapping[IndexDesign, frozenset[int]],
        planner: Planner,
        settings: SelectionSettings,
        base_cost: Mapping[int, float],
        maintenance_ms: MaintenanceCost,
    ) -> None:
        self.targets = targets
        self.candidates = candidates
        self.planner = planner
        self.settings = settings
        self.base_cost = base_cost
        # What maintaining a design costs over the observed window, in the unit of gains.
        self.maintenance_ms = maintenance_ms
        self.current = dict(base_cost)
        self.chosen: list[IndexDesign] = []
        self.used_bytes = 0

    def run(self, per_byte: bool) -> None:
        while len(self.chosen) < self.settings.max_indexes:
            steps = [s for s in map(self._step, self.candidates) if s is not None]
            if not steps:
                return
            if per_byte:
                best = max(steps, key=lambda s: (s.gain_ms / max(s.extra_bytes, 1), s.design))
            else:
                best = max(steps, key=lambda s: (s.gain_ms, s.design))
            self._apply(best)

    def _step(self, design: IndexDesign) -> _Step | None:
        if design in self.chosen:
            return None
        replaces = next((c for c in self.chosen if c.serves_prefix_of(design)), None)
        size = self.planner.size_bytes(design)
        extra = size - (self.planner.size_bytes(replaces) if replaces else 0)
        if self.used_bytes + extra > self.settings.budget_bytes:
            return None
        gain = sum(self._gain(queryid, design) for queryid in self.candidates[design])
        if gain <= 0:
            return None
        gain -= self.maintenance_ms(design)
        if replaces is not None:
            gain += self.maintenance_ms(replaces)
        if gain <= 0:
            return None
        return _Step(design, replaces, gain, extra)

    def _cost_with(self, queryid: int, design: IndexDesign) -> float:
        """The statement's cost with `design` and everything chosen on its other tables."""
        target = self.targets[queryid]
        others = [c for c in self.chosen if c.table != design.table and c.table in target.tables]
        return self.planner.plan(queryid, [design, *others]).cost

    def _gain(self, queryid: int, design: IndexDesign) -> float:
        if queryid not in self.targets:
            return 0.0
        base, current = self.base_cost[queryid], self.current[queryid]
        new_cost = min(current, self._cost_with(queryid, design))
        # Noise is judged against the statement's cost now: a second, wider index that
        # cuts an already cheap plan by 90% (no sort for ORDER BY ... LIMIT) counts.
        if (
            base <= 0
            or current <= 0
            or (current - new_cost) / current < self.settings.min_cost_reduction
        ):
            return 0.0
        return self.targets[queryid].statement.total_ms * (current - new_cost) / base

    def _apply(self, step: _Step) -> None:
        if step.replaces is not None:
            self.chosen.remove(step.replaces)
        self.chosen.append(step.design)
        self.used_bytes += step.extra_bytes
        for queryid in self.candidates[step.design]:
            if queryid in self.targets:
                self.current[queryid] = min(
                    self.current[queryid], self._cost_with(queryid, step.design)
                )

    @property
    def saved_ms(self) -> float:
        read = sum(
            t.statement.total_ms * (1 - self.current[q] / self.base_cost[q])
            for q, t in self.targets.items()
            if self.base_cost[q] > 0
        )
        return read - sum(self.maintenance_ms(d) for d in self.chosen)


def select_indexes(
    targets: Sequence[Target],
    candidates: Mapping[IndexDesign, frozenset[int]],
    planner: Planner,
    settings: SelectionSettings,
    window_seconds: float,
    maintenance_ms_per_day: MaintenanceCost = _no_maintenance,
) -> tuple[Recommendation, ...]:
    """The recommended indexes, best first, each verified by planning the final set.
    `maintenance_ms_per_day` is what each design costs the writes: gains are net of it."""
    by_id = {t.statement.queryid: t for t in targets}
    base_cost = {q: planner.plan(q, ()).cost for q in by_id}
    window_days = max(window_seconds, 1.0) / SECONDS_PER_DAY

    def over_window(design: IndexDesign) -> float:
        return maintenance_ms_per_day(design) * window_days

    searches = []
    for per_byte in (True, False):
        search = _Search(by_id, candidates, planner, settings, base_cost, over_window)
        search.run(per_byte)
        searches.append(search)
    best = max(searches, key=lambda s: (s.saved_ms, -s.used_bytes))
    chosen = _drop_prefixes(best.chosen)
    return _verify(
        by_id, chosen, planner, settings, base_cost, window_seconds, maintenance_ms_per_day
    )


def _drop_prefixes(chosen: Sequence[IndexDesign]) -> list[IndexDesign]:
    """Remove every design that a wider chosen design makes redundant."""
    return [
        design
        for design in chosen
        if not any(design != other and design.serves_prefix_of(other) for other in chosen)
    ]


def _verify(
    targets: Mapping[int, Target],
    chosen: list[IndexDesign],
    planner: Planner,
    settings: SelectionSettings,
    base_cost: Mapping[int, float],
    window_seconds: float,
    maintenance_ms_per_day: MaintenanceCost,
) -> tuple[Recommendation, ...]:
    """Plan every statement with the whole chosen set; keep the designs that earn their
    place net of their write cost, and attribute each statement's saving to the designs
    its plan uses."""
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
        keep = [
            d
            for d in chosen
            if effects[d]
            and (net := _net(effects[d], maintenance_ms_per_day(d))) > 0
            and net >= settings.min_saved_ms_per_day
        ]
        if keep == chosen:
            break
        chosen = keep
    recommendations = [
        Recommendation(
            design=design,
            estimated_size_bytes=planner.size_bytes(design),
            estimated_ms_saved_per_day=_net(effects[design], maintenance_ms_per_day(design)),
            estimated_write_ms_per_day=maintenance_ms_per_day(design),
            statements=tuple(
                sorted(effects[design], key=lambda e: (-e.estimated_ms_saved_per_day, e.queryid))
            ),
        )
        for design in chosen
    ]
    recommendations.sort(key=lambda r: (-r.estimated_ms_saved_per_day, r.design))
    return tuple(recommendations)


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
