"""Simulated drops: what the workload's plans say about an index before it is dropped.

Usage counters say an index had no scans; a plan says whether a statement would use it.
Before an unused, duplicate or redundant index is proposed for dropping, every workload
statement on its table is planned (its generic plan), and the statements whose plan names
the index are listed on the finding. Where HypoPG can hide a real index from the planner
(hypopg_hide_index, 1.4.0 and later), those statements are planned again without it, and
the finding shows each plan's cost before and after; an index whose hiding makes a
statement's plan costlier by more than `max_slowdown` is not proposed (NEEDED).

Where nothing can hide it, what the plans allow is judged instead:
- a duplicate's plans move to the identical index it duplicates, at the same cost;
- a redundant index's scans move to the wider index that serves it: the same rows, read
  from an index that many times larger, read up to that many times the index pages; the
  heap and the rest of the plan cost the same. So the plan's cost in the nodes scanning
  the index, times the size ratio, bounds the cost after the drop; a statement whose
  bound exceeds its cost by more than `max_slowdown` makes the index NEEDED;
- an unused index that a plan names serves a statement that did not run while it was
  watched (a month-end report, say): NEEDED.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from advisor.model import Finding, FindingKind, PlanUse, Schema, TableName, quote_ident

# The findings whose fix is a DROP, which a plan may contradict.
DROPPABLE = frozenset({FindingKind.UNUSED, FindingKind.DUPLICATE, FindingKind.REDUNDANT})
_SHOWN = 5  # statements named in a finding's reason (the JSON output has them all)

HIDE_MISSING = (
    "this HypoPG has no hypopg_hide_index (1.4.0 and later have it): the drop could not be "
    "planned; the plans that name each index are listed instead"
)


@dataclass(frozen=True)
class DropEvidence:
    """What planning said about one index: how many workload statements on its table were
    planned, and those whose plan uses it (with their cost without it when `hidden`)."""

    planned: int
    uses: tuple[PlanUse, ...]
    hidden: bool


def judge_drops(
    findings: tuple[Finding, ...],
    evidence: Mapping[tuple[TableName, str], DropEvidence],
    schema: Schema,
    max_slowdown: float,
) -> tuple[Finding, ...]:
    """The findings with their plan evidence: each proposed drop says which plans use the
    index, and what the plans need is kept (NEEDED, no DROP)."""
    return tuple(
        _judged(f, evidence[(f.table, f.index)], schema, max_slowdown)
        if f.kind in DROPPABLE and f.fix_sql and (f.table, f.index) in evidence
        else f
        for f in findings
    )


def _judged(finding: Finding, evidence: DropEvidence, schema: Schema, limit: float) -> Finding:
    uses = tuple(sorted(evidence.uses, key=lambda u: (-u.calls, u.queryid)))
    finding = replace(finding, plan_uses=uses)
    if not uses:
        planned = evidence.planned
        if not planned:
            return _noted(finding, "no workload statement reads its table")
        return _noted(
            finding,
            f"no plan of the {planned} workload statement(s) on its table uses it (generic plans)",
        )
    named = _named(uses)
    if evidence.hidden:
        worst = max(uses, key=_ratio)
        changes = "; ".join(
            f"queryid {u.queryid} ({u.calls:,} calls): cost {_cost(u.cost)} -> "
            f"{_cost(u.cost_without or 0.0)}"
            for u in uses[:_SHOWN]
        )
        more = f" and {len(uses) - _SHOWN} more" if len(uses) > _SHOWN else ""
        simulated = (
            f"planned without it (hypopg_hide_index), {len(uses)} statement(s) whose plan "
            f"uses it change: {changes}{more}"
        )
        if _ratio(worst) > 1.0 + limit:
            return _needed(
                finding,
                f"{simulated}; queryid {worst.queryid}'s plan gets {_ratio(worst):.1f}x "
                f"costlier, more than drop_max_slowdown ({limit:.0%})",
            )
        return _noted(finding, simulated)
    if finding.kind is FindingKind.DUPLICATE:
        keeper = quote_ident(finding.covered_by or "")
        return _noted(
            finding, f"the plans of {named} use it; the identical {keeper} serves them alike"
        )
    if finding.kind is FindingKind.REDUNDANT and finding.covered_by is not None:
        size = _size_ratio(schema, finding.table, finding.covered_by, finding.size_bytes)
        wider = quote_ident(finding.covered_by)
        if size is None:
            return _needed(
                finding,
                f"the plans of {named} use it, and the size of {wider} is unknown; {_hide_would()}",
            )
        worst = max(uses, key=lambda u: _bound(u, size))
        bound = _bound(worst, size)
        moved = (
            f"the plans of {named} use it; {wider} is {size:.2f}x its size, so a scan moved "
            f"there reads at most that many times the index pages: queryid {worst.queryid}'s "
            f"cost {_cost(worst.cost)} becomes at most {_cost(worst.cost * bound)} "
            f"({bound:.2f}x)"
        )
        if bound > 1.0 + limit:
            return _needed(
                finding,
                f"{moved}, more than drop_max_slowdown ({limit:.0%}) allows; {_hide_would()}",
            )
        return _noted(finding, f"{moved}; {_hide_would()}")
    return _needed(
        finding,
        f"the plans of {named} use it: they did not run while it was watched, but may run "
        f"(a monthly job, say); {_hide_would()}",
    )


def _needed(finding: Finding, why: str) -> Finding:
    return replace(
        finding,
        kind=FindingKind.NEEDED,
        reason=f"{finding.reason}; not proposed for dropping: {why}",
        fix_sql="",
        restore_sql=None,
    )


def _noted(finding: Finding, note: str) -> Finding:
    return replace(finding, reason=f"{finding.reason}; {note}")


def _named(uses: tuple[PlanUse, ...]) -> str:
    listed = ", ".join(f"queryid {u.queryid}: {u.calls:,} calls" for u in uses[:_SHOWN])
    more = f" and {len(uses) - _SHOWN} more" if len(uses) > _SHOWN else ""
    return f"{len(uses)} workload statement(s) ({listed}{more})"


def _hide_would() -> str:
    return "HypoPG 1.4.0+ (hypopg_hide_index) would plan them without it and measure"


def _ratio(use: PlanUse) -> float:
    if use.cost_without is None:
        return 1.0
    if use.cost <= 0:
        return 1.0 if use.cost_without <= 0 else float("inf")
    return use.cost_without / use.cost


def _bound(use: PlanUse, size_ratio: float) -> float:
    """How many times costlier the statement's plan gets at most when the nodes that scan
    the index read one `size_ratio` times larger."""
    if use.cost <= 0:
        return 1.0
    return (use.cost + use.index_cost * max(size_ratio - 1.0, 0.0)) / use.cost


def _size_ratio(schema: Schema, table: TableName, wider: str, size: int) -> float | None:
    found = schema.tables.get(table)
    other = next((i for i in found.indexes if i.name == wider), None) if found else None
    if other is None or size <= 0 or other.size_bytes <= 0:
        return None
    return other.size_bytes / size


def _cost(value: float) -> str:
    return f"{value:,.1f}" if value < 1_000 else f"{value:,.0f}"
