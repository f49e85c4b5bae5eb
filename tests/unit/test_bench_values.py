"""The values bench: its skewed workload (bench/skewed.py) is deterministic, written the way
Drizzle sends SQL and skewed where the advice depends on it; its bookkeeping and report
(bench/values.py) compare the two analyses' real times the right way round."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

import pytest

from advisor.model import IndexDesign, KeyColumn, TableName
from bench import skewed
from bench.qualityspec import QualityWorkload
from bench.values import (
    GENERIC,
    NONE,
    VALUE_AWARE,
    Advice,
    AdvisedIndex,
    BuiltIndex,
    SetRun,
    StatementInfo,
    ValuesResult,
    claimed_lines,
    distinct_sets,
    format_statements,
    name_of,
    plan_index_names,
    ratio,
    size_text,
    statement_names,
    target_line,
    unused_indexes,
)

SCALE = 0.05


@pytest.fixture(scope="module")
def workload() -> QualityWorkload:
    return skewed.build(scale=SCALE)


def by_name(workload: QualityWorkload, name: str) -> skewed.QualityStatement:
    return next(s for s in workload.statements if s.name == name)


# ------------------------------------------------------------------------ the workload


def test_build_is_deterministic_and_the_seed_moves_only_the_parameters(
    workload: QualityWorkload,
) -> None:
    assert skewed.build(scale=SCALE) == workload
    other = skewed.build(scale=SCALE, seed=7)
    assert other.setup_sql == workload.setup_sql
    assert other.statements != workload.statements


def test_between_six_and_ten_distinct_named_shapes(workload: QualityWorkload) -> None:
    names = [s.name for s in workload.statements]
    assert len(names) == len(set(names))
    assert len({s.sql for s in workload.statements}) == len(names)
    assert 6 <= len(names) <= 10


def test_every_parameter_set_binds_each_placeholder_once(workload: QualityWorkload) -> None:
    for statement in workload.statements:
        numbers = [int(n) for n in re.findall(r"\$(\d+)", statement.sql)]
        assert numbers == list(range(1, len(numbers) + 1)), statement.name
        assert "%s" not in statement.sql, statement.name
        assert statement.weight > 0, statement.name
        assert len(statement.params) == skewed.PARAM_SETS, statement.name
        for params in statement.params:
            assert len(params) == len(numbers), statement.name


def test_every_value_is_a_string_as_node_postgres_sends_it(workload: QualityWorkload) -> None:
    """Untyped text parameters: the server infers one type per position, so one shape is
    one pg_stat_statements entry whatever its values."""
    for statement in workload.statements:
        for params in statement.params:
            assert all(isinstance(value, str) for value in params), statement.name


def test_identifiers_are_quoted_and_qualified_like_drizzle(workload: QualityWorkload) -> None:
    for statement in workload.statements:
        bare = re.sub(r'"[^"]*"', " ", statement.sql)
        assert not re.search(r"[a-z][A-Z]", bare), statement.name  # no unquoted camelCase
        if not statement.sql.startswith("insert"):
            assert re.search(r'"(tasks|events)"\."\w+"', statement.sql), statement.name


def test_the_rare_status_is_what_the_tenant_statement_asks_for_most(
    workload: QualityWorkload,
) -> None:
    statement = by_name(workload, "blocked_tasks_by_tenant")
    statuses = Counter(params[1] for params in statement.params)
    assert statuses["blocked"] / skewed.PARAM_SETS >= 0.8
    assert set(statuses) <= set(skewed.STATUSES)
    tenants = Counter(params[0] for params in statement.params)
    assert tenants.most_common(1)[0][0] == "1"


def test_the_jsonb_key_is_a_parameter_and_always_ip(workload: QualityWorkload) -> None:
    statement = by_name(workload, "tasks_by_ip")
    assert '"payload"->>$1 = $2' in statement.sql
    assert {params[0] for params in statement.params} == {"ip"}
    assert all(re.fullmatch(r"10(\.\d{1,3}){3}", params[1]) for params in statement.params)


def test_emails_are_mixed_case_and_asked_for_in_either_case(workload: QualityWorkload) -> None:
    statement = by_name(workload, "tasks_by_assignee_email")
    assert 'lower("tasks"."assigneeEmail") = lower($1)' in statement.sql
    emails = [params[0] for params in statement.params]
    assert any(e != e.lower() for e in emails) and any(e == e.lower() for e in emails)
    shape = skewed.make_shape(SCALE)
    stored = {skewed.assignee_email(n).lower() for n in range(shape.assignees)}
    assert {e.lower() for e in emails} <= stored


def test_event_counts_span_weeks_in_the_data(workload: QualityWorkload) -> None:
    for start, end in by_name(workload, "events_count_between").params:
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
        assert first.tzinfo is not None
        assert skewed.START <= first < last <= skewed.END
        assert 14 <= (last - first).days <= 56


def test_inserts_keep_the_log_in_created_at_order(workload: QualityWorkload) -> None:
    times = [datetime.fromisoformat(p[3]) for p in by_name(workload, "insert_event").params]
    assert times == sorted(times) and times[0] > skewed.END


def test_the_big_tenant_holds_its_share_and_the_rest_shrink_like_zipf() -> None:
    shares = skewed.tenant_shares(500)
    assert len(shares) == 500
    assert sum(shares) == pytest.approx(1.0)
    assert shares[0] == skewed.BIG_TENANT_SHARE
    assert shares[1] / shares[3] == pytest.approx(2.0)
    bounds = skewed.thresholds(shares)
    assert bounds[0] == 0.0 and bounds == sorted(bounds) and len(bounds) == 500


def test_the_data_is_about_a_million_rows_at_scale_one() -> None:
    shape = skewed.make_shape(1.0)
    assert 1_000_000 <= shape.tasks + shape.events <= 2_000_000
    assert shape.tenants == skewed.TENANTS
    small = skewed.make_shape(0.3)
    assert small.events == 300_000 and small.tasks == 36_000


# ------------------------------------------------------------------- the bookkeeping

T = TableName("public", "tasks")
A = IndexDesign(T, (KeyColumn.of("tenantId"),))
B = IndexDesign(T, (KeyColumn.of("status"),))


def test_each_distinct_set_runs_once_and_none_takes_the_analyses_that_chose_nothing() -> None:
    assert distinct_sets({GENERIC: [A], VALUE_AWARE: [A, B]}) == {
        NONE: [],
        GENERIC: [GENERIC],
        VALUE_AWARE: [VALUE_AWARE],
    }
    assert distinct_sets({GENERIC: [A, B], VALUE_AWARE: [B, A]}) == {
        NONE: [],
        f"{GENERIC} = {VALUE_AWARE}": [GENERIC, VALUE_AWARE],
    }
    assert distinct_sets({GENERIC: [], VALUE_AWARE: [B]}) == {
        NONE: [GENERIC],
        VALUE_AWARE: [VALUE_AWARE],
    }


def test_plans_name_every_index_they_scan_at_any_depth() -> None:
    plan = [
        {
            "Plan": {
                "Node Type": "Limit",
                "Plans": [
                    {"Node Type": "Index Scan", "Index Name": "tasks_pkey"},
                    {
                        "Node Type": "Bitmap Heap Scan",
                        "Plans": [{"Node Type": "Bitmap Index Scan", "Index Name": "a_idx"}],
                    },
                ],
            }
        }
    ]
    assert plan_index_names(plan) == {"tasks_pkey", "a_idx"}
    assert plan_index_names([{"Plan": {"Node Type": "Seq Scan"}}]) == set()


def test_statements_are_named_by_their_text_whatever_the_whitespace(
    workload: QualityWorkload,
) -> None:
    names = statement_names(workload.statements)
    statement = by_name(workload, "tasks_by_ip")
    assert name_of(statement.sql.replace(" ", "\n  ", 3), names) == "tasks_by_ip"
    assert name_of("select pg_stat_statements_reset()", names).startswith("select")


# ------------------------------------------------------------------------- the report


def run(label: str, settings: list[str], per_statement: dict[str, float]) -> SetRun:
    return SetRun(label, settings, 0.0, sum(per_statement.values()), per_statement, 0)


def advice(setting: str, saved: float, workload_ms: float) -> Advice:
    return Advice(setting, setting == VALUE_AWARE, 0.1, 2, 2, {}, 100, workload_ms, saved, [], 0)


def result(runs: list[SetRun], advices: list[Advice] | None = None) -> ValuesResult:
    statements = [StatementInfo("q", 10, "select $1", 16), StatementInfo("r", 5, "select 1", 16)]
    return ValuesResult(1.0, 1, "", 100, 0.0, 0.5, 50, True, statements, 0.0, advices or [], runs)


def test_ratio_is_none_without_a_positive_whole() -> None:
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(1.0, 0.0) is None
    assert ratio(None, 4.0) is None and ratio(1.0, None) is None


def test_the_target_is_met_when_value_aware_advice_runs_faster() -> None:
    runs = [
        run(NONE, [], {"q": 100.0, "r": 50.0}),
        run(GENERIC, [GENERIC], {"q": 40.0, "r": 10.0}),
        run(VALUE_AWARE, [VALUE_AWARE], {"q": 10.0, "r": 15.0}),
    ]
    line = target_line(result(runs))
    assert "value-aware total real time 25.0 ms vs generic-only 50.0 ms" in line
    assert "ratio 0.500; target < 1: met" in line


def test_the_target_is_missed_when_value_aware_advice_is_slower_or_the_same_set() -> None:
    slower = [run(GENERIC, [GENERIC], {"q": 10.0}), run(VALUE_AWARE, [VALUE_AWARE], {"q": 30.0})]
    assert "ratio 3.000; target < 1: MISSED" in target_line(result(slower))
    same = [run(f"{GENERIC} = {VALUE_AWARE}", [GENERIC, VALUE_AWARE], {"q": 10.0})]
    line = target_line(result(same))
    assert "ratio 1.000; target < 1: MISSED; both advised the same set)" in line
    assert "not measured" in target_line(result([run(NONE, [], {"q": 1.0})]))


def test_the_statement_table_puts_each_setting_in_its_column_with_the_ratio() -> None:
    runs = [
        run(NONE, [GENERIC], {"q": 100.0, "r": 50.0}),
        run(VALUE_AWARE, [VALUE_AWARE], {"q": 20.0, "r": 50.0}),
    ]
    lines = format_statements(result(runs)).splitlines()
    headers = "statement calls none ms generic-only ms value-aware ms aware / generic"
    assert lines[0].split() == headers.split()
    # generic-only recommended nothing: its times are those of the round without indexes.
    assert lines[1].split() == ["q", "10", "100", "100", "20.0", "0.200"]
    assert lines[3].split() == ["total", "15", "150", "150", "70.0", "0.467"]


def test_claims_are_set_against_the_real_share_saved() -> None:
    runs = [
        run(NONE, [], {"q": 100.0}),
        run(GENERIC, [GENERIC], {"q": 75.0}),
        run(VALUE_AWARE, [VALUE_AWARE], {"q": 10.0}),
    ]
    advices = [advice(GENERIC, 500.0, 1_000.0), advice(VALUE_AWARE, 950.0, 1_000.0)]
    assert claimed_lines(result(runs, advices)) == [
        "generic-only: claimed 500 ms/day saved of 1,000 (50.0%); real round saved 25.0%",
        "value-aware: claimed 950 ms/day saved of 1,000 (95.0%); real round saved 90.0%",
    ]


def test_an_index_no_plan_used_is_reported() -> None:
    used = BuiltIndex("a_idx", "ON tasks (a)", 8192, 12, ["q"])
    unused = BuiltIndex("b_idx", "ON tasks (b)", 8192, 0, [])
    aware = run(VALUE_AWARE, [VALUE_AWARE], {"q": 1.0})
    aware.indexes = [used, unused]
    assert unused_indexes(result([aware])) == ["value-aware: ON tasks (b)"]


def test_sizes_below_a_megabyte_are_shown_in_kilobytes() -> None:
    assert size_text(24 * 1024) == "24 kB"
    assert size_text(3.6 * 2**20) == "3.6 MB"


def test_an_advised_index_keeps_what_the_advisor_said() -> None:
    index = AdvisedIndex("CREATE INDEX x ON t (a)", "ON t (a)", 1, 2.0, ["q"], ["a = 1"], [], [])
    assert index.definition == "ON t (a)" and index.depends_on == ["a = 1"]
