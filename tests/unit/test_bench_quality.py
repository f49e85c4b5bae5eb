"""The quality bench's bookkeeping: which sets are built for real, medians, rankings, targets."""

from __future__ import annotations

from advisor.model import IndexDesign, KeyColumn, TableName
from bench.quality import (
    QualityResult,
    RealRun,
    Round,
    SetResult,
    _distinct_sets,
    format_sets,
    median_round,
    ranking,
    target_lines,
)

T = TableName("public", "t")
A = IndexDesign(T, (KeyColumn.of("a"),))
B = IndexDesign(T, (KeyColumn.of("b"),))


def result(sets: list[SetResult], real: list[RealRun]) -> QualityResult:
    return QualityResult("w", "", 1.0, 100, 0.0, 2, 2, 2, {}, 100.0, 100.0, sets, real)


def entry(strategy: str, budget: float, estimated: float) -> SetResult:
    return SetResult(strategy, budget, [], 0, estimated, estimated / 100, 0.0, 0)


def test_each_distinct_set_of_the_real_budgets_is_built_once_with_everyone_who_chose_it() -> None:
    chosen = {
        ("advisor", "0.5x"): [A, B],
        ("ilp", "0.5x"): [B, A],
        ("extend", "0.5x"): [A],
        ("advisor", "1x"): [A, B],
        ("dexter", "0.5x"): [],
    }
    assert _distinct_sets(chosen, ["0.5x"]) == {
        "advisor@0.5x, ilp@0.5x": [A, B],
        "extend@0.5x": [A],
    }


def test_the_shipped_advisors_and_the_dba_budget_are_built_like_any_chosen_set() -> None:
    chosen = {
        ("advisor", "0.5x"): [A],
        ("shipped", "0.5x"): [A, B],
        ("values", "0.5x"): [B],
        ("advisor", "dba"): [A, B],
        ("shipped", "dba"): [A, B],
        ("values", "dba"): [B],
    }
    assert _distinct_sets(chosen, ["0.5x", "dba"]) == {
        "advisor@0.5x": [A],
        "shipped@0.5x, advisor@dba, shipped@dba": [A, B],
        "values@0.5x, values@dba": [B],
    }


def test_the_ranking_leaves_out_sets_the_estimate_did_not_choose() -> None:
    shipped = entry("shipped", 0.5, 5.0)
    at_dba = entry("advisor", 0.5, 1.0)
    at_dba.at = "dba"
    sets = [entry("advisor", 0.5, 10.0), entry("extend", 0.5, 20.0), shipped, at_dba]
    real = [
        RealRun("none", [], 0.0, 100.0, {}, 0),
        RealRun("advisor@0.5x", [], 0.0, 40.0, {}, 0),
        RealRun("extend@0.5x", [], 0.0, 50.0, {}, 0),
        RealRun("shipped@0.5x, advisor@dba", [], 0.0, 90.0, {}, 0),
    ]
    ranked = ranking(result(sets, real), [0.5])
    assert ranked["by_estimate"] == ["advisor@0.5x", "extend@0.5x"]
    assert (ranked["concordant"], ranked["discordant"]) == (1, 0)


def test_the_dba_budget_is_not_a_target_row_and_shipped_sets_are_marked_as_custom_plans() -> None:
    at_dba = entry("advisor", 0.37, 50.0)
    at_dba.at = "dba"
    sets = [entry("advisor", 0.5, 100.0), entry("ilp", 0.5, 100.0), at_dba]
    sets.append(entry("shipped", 0.5, 90.0))
    assert target_lines([result(sets, [])]) == ["w 0.5x: vs optimum +0.00% (met)"]
    printed = format_sets(result(sets, []))
    assert "shipped*" in printed and "custom plans" in printed
    assert any(line.split()[:2] == ["dba", "advisor"] for line in printed.splitlines())


def test_the_median_round_discards_one_disturbed_round_per_statement() -> None:
    rounds = [Round({"q": 10.0, "r": 5.0}, 0), Round({"q": 90.0, "r": 6.0}, 1)]
    rounds.append(Round({"q": 12.0, "r": 50.0}, 0))
    median = median_round(rounds)
    assert median.per_statement_ms == {"q": 12.0, "r": 6.0}
    assert median.total_ms == 18.0 and median.timeouts == 1


def test_ranking_counts_the_pairs_the_estimate_orders_as_real_time_does() -> None:
    sets = [entry("advisor", 0.5, 10.0), entry("extend", 0.5, 20.0), entry("ilp", 0.5, 30.0)]
    real = [
        RealRun("none", [], 0.0, 100.0, {}, 0),
        RealRun("advisor@0.5x", [], 0.0, 40.0, {}, 0),
        RealRun("extend@0.5x, ilp@0.5x", [], 0.0, 30.0, {}, 0),
    ]
    ranked = ranking(result(sets, real), [0.5])
    # advisor is estimated best but runs slowest: two discordant pairs, one tie in real time.
    assert (ranked["concordant"], ranked["discordant"]) == (0, 2)
    assert ranked["kendall_tau"] == -1.0
    assert ranked["by_estimate"][0] == "advisor@0.5x"


def test_targets_count_a_tie_with_extend_as_met_and_a_gap_to_the_optimum_as_missed() -> None:
    sets = [entry("advisor", 0.5, 100.009), entry("extend", 0.5, 100.0), entry("ilp", 0.5, 98.0)]
    (line,) = target_lines([result(sets, [])])
    assert "vs optimum +2.05% (MISSED)" in line
    assert "vs extend +0.01% (met)" in line


def test_worse_than_extend_beyond_a_tie_is_missed() -> None:
    sets = [entry("advisor", 1.0, 100.5), entry("extend", 1.0, 100.0)]
    (line,) = target_lines([result(sets, [])])
    assert line == "w 1x: vs extend +0.50% (MISSED)"
