"""Simulated drops judged from plan evidence (analyze/drops.py), without a database."""

from __future__ import annotations

from advisor.analyze.drops import DropEvidence, judge_drops
from advisor.model import Finding, FindingKind, PlanUse, TableName
from tests.unit.test_health import MB, key, make_index, problems, schema_of, usage_of

NARROW = make_index("orders_a", key("a"), size_bytes=8 * MB)
WIDE = make_index("orders_a_b", key("a"), key("b"), size_bytes=40 * MB)
SCHEMA = schema_of(NARROW, WIDE)
LIMIT = 0.25


def redundant() -> Finding:
    (finding,) = problems(NARROW, WIDE)
    assert (finding.kind, finding.index) == (FindingKind.REDUNDANT, "orders_a")
    return finding


def judged(finding: Finding, evidence: DropEvidence) -> Finding:
    (result,) = judge_drops((finding,), {(finding.table, finding.index): evidence}, SCHEMA, LIMIT)
    return result


def test_an_index_no_plan_uses_stays_proposed_and_says_how_many_plans_were_read() -> None:
    result = judged(redundant(), DropEvidence(planned=4, uses=(), hidden=False))
    assert result.kind is FindingKind.REDUNDANT
    assert result.fix_sql.startswith("DROP INDEX CONCURRENTLY")
    assert result.restore_sql is not None
    assert "no plan of the 4 workload statement(s) on its table uses it" in result.reason


def test_hidden_plans_much_costlier_keep_the_index_with_before_and_after() -> None:
    uses = (PlanUse(11, 500, cost=40.0, index_cost=38.0, cost_without=800.0),)
    result = judged(redundant(), DropEvidence(planned=2, uses=uses, hidden=True))
    assert result.kind is FindingKind.NEEDED
    assert (result.fix_sql, result.restore_sql) == ("", None)
    assert "cost 40.0 -> 800.0" in result.reason
    assert "20.0x costlier" in result.reason
    assert result.plan_uses == uses


def test_hidden_plans_a_little_costlier_leave_the_drop_proposed() -> None:
    uses = (
        PlanUse(11, 5, cost=1000.0, index_cost=10.0, cost_without=1100.0),
        PlanUse(12, 900, cost=500.0, index_cost=10.0, cost_without=510.0),
    )
    result = judged(redundant(), DropEvidence(planned=2, uses=uses, hidden=True))
    assert result.kind is FindingKind.REDUNDANT and result.fix_sql
    # The busiest statement first.
    assert [u.queryid for u in result.plan_uses] == [12, 11]
    assert "cost 500.0 -> 510.0" in result.reason


def test_without_hiding_the_size_ratio_bounds_the_scan_nodes_cost() -> None:
    # The wide index is 5x the narrow one. A plan that spends 2 of its 1,000 in the scan
    # costs at most 1,008 after the drop: proposed. One that is all scan may cost 5x.
    light = (PlanUse(21, 100, cost=1000.0, index_cost=2.0),)
    heavy = (PlanUse(22, 100, cost=40.0, index_cost=38.0),)
    proposed = judged(redundant(), DropEvidence(planned=1, uses=light, hidden=False))
    assert proposed.kind is FindingKind.REDUNDANT and proposed.fix_sql
    assert "5.00x its size" in proposed.reason and "(1.01x)" in proposed.reason
    kept = judged(redundant(), DropEvidence(planned=1, uses=heavy, hidden=False))
    assert kept.kind is FindingKind.NEEDED and not kept.fix_sql
    assert "hypopg_hide_index" in kept.reason and "drop_max_slowdown" in kept.reason


def test_a_duplicate_s_plans_move_to_its_twin_at_the_same_cost() -> None:
    twin = make_index("orders_a_copy", key("a"))
    first = make_index("orders_a", key("a"))
    (finding,) = problems(first, twin)
    assert finding.kind is FindingKind.DUPLICATE
    uses = (PlanUse(31, 10, cost=40.0, index_cost=38.0),)
    (result,) = judge_drops(
        (finding,),
        {(finding.table, finding.index): DropEvidence(1, uses, hidden=False)},
        schema_of(first, twin),
        LIMIT,
    )
    assert result.kind is FindingKind.DUPLICATE and result.fix_sql
    assert "identical" in result.reason


def test_an_unused_index_a_plan_names_is_kept_without_hiding() -> None:
    lone = make_index("orders_b", key("b"))
    (finding,) = problems(lone, usage=usage_of(lone))
    assert finding.kind is FindingKind.UNUSED
    uses = (PlanUse(41, 0, cost=10.0, index_cost=9.0),)
    (result,) = judge_drops(
        (finding,),
        {(finding.table, finding.index): DropEvidence(1, uses, hidden=False)},
        schema_of(lone),
        LIMIT,
    )
    assert result.kind is FindingKind.NEEDED
    assert "did not run while it was watched" in result.reason


def test_findings_without_evidence_or_a_drop_are_left_as_they_are() -> None:
    finding = redundant()
    other = TableName("public", "elsewhere")
    assert judge_drops((finding,), {}, SCHEMA, LIMIT) == (finding,)
    untouched = judge_drops(
        (finding,), {(other, finding.index): DropEvidence(1, (), False)}, SCHEMA, LIMIT
    )
    assert untouched == (finding,)
