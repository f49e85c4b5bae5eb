"""The value model: scenarios, partial predicates and expression values from what
pg_qualstats, the server log and pg_stats know (pure, no database)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from advisor.analyze.candidates import (
    ValueCandidates,
    value_candidates,
)
from advisor.analyze.parse import parse_statement
from advisor.analyze.values import (
    ValueModel,
    ValueSettings,
    common_value_scenarios,
    json_key_columns,
    json_key_parameter,
    literal_text,
    partition_statistics_columns,
    representative_value,
    sql_literal,
    statistics_columns,
)
from advisor.analyze.writecost import BRIN_WRITE_SHARE, WriteCostModel
from advisor.config import (
    Settings,
    brin_settings,
    candidate_settings,
    parse_settings,
    value_settings,
    write_cost_settings,
)
from advisor.model import (
    Column,
    ColumnStatistics,
    IndexDesign,
    JsonKey,
    JsonKeys,
    KeyColumn,
    LoggedParameters,
    Operator,
    ParameterUse,
    ParsedStatement,
    QualConstant,
    Schema,
    Statement,
    Table,
    TableName,
    TableWriteRate,
    ValueKnowledge,
    ValueSource,
)

TASKS = TableName("public", "tasks")
EVENTS = TableName("public", "events")
MIB = 1024 * 1024

SCHEMA = Schema(
    {
        TASKS: Table(
            TASKS,
            (
                Column("id", "bigint", True),
                Column("tenant_id", "integer", True),
                Column("status", "task_status", True),
                Column("created_at", "timestamp with time zone", True),
                Column("title", "text"),
                Column("Email", "text"),
                Column("payload", "jsonb"),
            ),
            row_estimate=100_000,
            size_bytes=40 * MIB,
        ),
        EVENTS: Table(
            EVENTS,
            (
                Column("id", "bigint", True),
                Column("created_at", "timestamp with time zone", True),
                Column("amount", "numeric"),
            ),
            row_estimate=1_000_000,
            size_bytes=100 * MIB,
        ),
    }
)

PAGE = (
    'select "id", "title" from "tasks" where "tasks"."tenant_id" = $1 '
    'and "tasks"."status" = $2 order by "tasks"."created_at" desc limit $3'
)
BY_KEY = 'select "id" from "tasks" where "tasks"."payload"->>$1 = $2'
BY_EMAIL = 'select "id" from "tasks" where lower("tasks"."Email") = lower($1)'
RANGE = 'select sum("amount") from "events" where "created_at" >= $1 and "created_at" < $2'

STATUS_STATS = ColumnStatistics(
    TASKS,
    "status",
    "task_status",
    n_distinct=4,
    most_common=(("todo", 0.5), ("done", 0.3), ("doing", 0.195), ("blocked", 0.005)),
)
TENANT_STATS = ColumnStatistics(
    TASKS, "tenant_id", "integer", n_distinct=400, most_common=(("1", 0.33), ("2", 0.01))
)
CREATED_STATS = ColumnStatistics(
    EVENTS, "created_at", "timestamp with time zone", n_distinct=-1, correlation=0.999
)


def parsed(queryid: int, text: str) -> ParsedStatement:
    result = parse_statement(queryid, text, SCHEMA, parse_settings(Settings()))
    assert isinstance(result, ParsedStatement), result
    return result


def model(
    *texts: str,
    constants: tuple[QualConstant, ...] = (),
    logged: tuple[LoggedParameters, ...] = (),
    columns: tuple[ColumnStatistics, ...] = (STATUS_STATS, TENANT_STATS, CREATED_STATS),
    settings: ValueSettings | None = None,
    json_keys: tuple[JsonKeys, ...] = (),
) -> ValueModel:
    statements = [Statement(q, t, 100, 1000.0 * q) for q, t in enumerate(texts, start=1)]
    knowledge = ValueKnowledge(
        {(c.table, c.column): c for c in columns},
        constants,
        logged,
        notes=(),
        json_keys={(k.table, k.column): k for k in json_keys},
    )
    return ValueModel(
        knowledge,
        statements,
        [parsed(s.queryid, s.text) for s in statements],
        SCHEMA,
        settings or value_settings(Settings()),
    )


def qual(queryid: int, text: str, column: str, literal: str, count: int, **kw: int) -> QualConstant:
    position = text.index({"tenant_id": "$1", "status": "$2"}[column])
    return QualConstant(queryid, TASKS, column, "=", position, literal, count, **kw)


# ---------------------------------------------------------------------------- parsing


def test_parameters_are_tied_to_the_columns_and_operators_they_are_compared_with() -> None:
    statement = parsed(
        1,
        'select * from "tasks" where $1 < "created_at" and "status" = any($2) '
        'and "title" between $3 and $4 and "Email" like $5 and "tenant_id" = $6::int',
    )
    uses = {(u.number, u.column, u.operator, u.symbol) for u in statement.parameters}
    assert uses == {
        (1, "created_at", Operator.RANGE, ">"),  # commuted: the column on the left
        (2, "status", Operator.IN_LIST, "="),
        (3, "title", Operator.RANGE, ">="),
        (4, "title", Operator.RANGE, "<="),
        (5, "Email", Operator.LIKE_PREFIX, "~~"),
        (6, "tenant_id", Operator.EQUALITY, "="),
    }


def test_a_search_pattern_records_its_parameter_but_no_filter() -> None:
    statement = parsed(
        1,
        'select "id" from "tasks" where "tenant_id" = $1 and ("title" ilike $2 '
        'or "Email" ilike $3) order by "title" limit $4',
    )
    uses = {(u.number, u.column, u.operator, u.symbol) for u in statement.parameters}
    assert uses == {
        (1, "tenant_id", Operator.EQUALITY, "="),
        (2, "title", Operator.PATTERN, "~~*"),
        (3, "Email", Operator.PATTERN, "~~*"),
    }
    (access,) = statement.accesses
    assert {f.column for f in access.filters} == {"tenant_id"}


SEARCH = (
    'select "id" from "tasks" where "tasks"."tenant_id" = $1 and "tasks"."title" ilike $2 '
    'order by "tasks"."title" limit $3'
)


def test_a_search_pattern_no_source_showed_is_costed_as_a_word_of_a_typical_value() -> None:
    common = ColumnStatistics(TASKS, "title", "text", most_common=(("Fix the Okafor-Login", 0.01),))
    values = model(SEARCH, columns=(TENANT_STATS, common))
    scenarios = values.scenarios(1, {1: "integer", 2: "text", 3: "bigint"})
    assert {s.literals[2] for s in scenarios} == {"'%okafor%'::text"}  # every call
    # Nothing is assumed of it in what the advice says it depends on.
    assert all(a.target != '"title"' for a in values.assumptions(1))
    # Without common values, the middle of the histogram; with neither, nothing.
    middle = ColumnStatistics(TASKS, "title", "text", histogram=("a", "Zed Bo", "z z"))
    assert model(SEARCH, columns=(middle,)).distributions(1)[2].values == (("'%zed%'::text", 1.0),)
    assert 2 not in model(SEARCH, columns=()).distributions(1)


def test_a_parameter_under_a_function_is_not_a_column_value() -> None:
    statement = parsed(1, BY_EMAIL)
    assert statement.parameters == ()
    (access,) = statement.accesses
    (use,) = access.expressions
    assert (use.expression, use.role, use.operator) == (
        'lower("Email")',
        "filter",
        Operator.EQUALITY,
    )


def test_a_case_folded_column_is_planned_as_the_column_itself() -> None:
    (access,) = parsed(1, BY_EMAIL + ' order by "tasks"."created_at" desc limit $2').accesses
    (use,) = access.expressions
    assert use.proxy_column == "Email"
    assert use.proxy_text == (
        'select "id" from "tasks" where "tasks"."Email" = lower($1) '
        'order by "tasks"."created_at" desc limit coalesce(20, $2::bigint)'
    )
    (access,) = parsed(2, "select id from tasks where trim(both from title) = $1").accesses
    assert access.expressions[0].proxy_text is None  # not a plain call on a column
    (access,) = parsed(3, BY_KEY).accesses
    assert access.expressions[0].proxy_text is None


def test_expressions_in_where_order_by_and_group_by_lose_their_qualifiers() -> None:
    (access,) = parsed(1, BY_KEY).accesses
    assert [(e.expression, e.parameters) for e in access.expressions] == [("payload ->> $1", (1,))]
    (access,) = parsed(
        2, "select date_trunc($1, t.created_at), count(*) from tasks t group by 1 order by 1"
    ).accesses
    assert {(e.expression, e.role) for e in access.expressions} == {
        ("date_trunc($1, created_at)", "group"),
        ("date_trunc($1, created_at)", "order"),
    }
    (access,) = parsed(3, "select id from tasks order by lower(title) desc limit 5").accesses
    (use,) = access.expressions
    assert (use.role, use.descending) == ("order", True)


def test_an_expression_joined_to_another_table_is_a_join_expression() -> None:
    statement = parsed(
        1,
        "select e.id from events e join tasks t on lower(t.title) = e.id::text where e.amount > $1",
    )
    by_table = {a.table: a for a in statement.accesses}
    assert [(x.expression, x.role) for x in by_table[TASKS].expressions] == [
        ("lower(title)", "join")
    ]
    assert [(x.expression, x.role) for x in by_table[EVENTS].expressions] == [
        ("CAST(id AS text)", "join")
    ]


def test_aggregates_and_subqueries_are_not_index_expressions() -> None:
    (access,) = parsed(
        1, "select status from tasks group by status order by count(*) desc"
    ).accesses
    assert access.expressions == ()


def test_literals() -> None:
    assert sql_literal("it's", "text") == "'it''s'::text"
    assert sql_literal(None, None) == "NULL"
    assert literal_text("'blocked'::task_status") == "blocked"
    assert literal_text("160::integer") == "160"
    assert literal_text("'{a,b}'::text[]") == "{a,b}"
    assert literal_text("now()") is None


def test_statistics_columns_are_the_filtered_and_compared_columns() -> None:
    columns = statistics_columns([parsed(1, PAGE), parsed(2, RANGE)])
    assert columns == {
        (TASKS, "tenant_id"),
        (TASKS, "status"),
        (EVENTS, "created_at"),
    }


# -------------------------------------------------------------------------- scenarios


def test_observed_constants_become_scenarios_weighted_by_their_calls() -> None:
    values = model(
        PAGE,
        constants=(
            qual(1, PAGE, "status", "'blocked'::task_status", 90),
            qual(1, PAGE, "status", "'todo'::task_status", 10),
        ),
        columns=(STATUS_STATS,),
    )
    scenarios = values.scenarios(1, {1: "integer", 2: "task_status", 3: "bigint"})
    assert [(round(s.weight, 3), dict(s.literals)) for s in scenarios] == [
        (0.9, {2: "'blocked'::task_status"}),
        (0.1, {2: "'todo'::task_status"}),
    ]
    assert values.valued() == [1]


def test_unknown_values_keep_their_share_on_the_generic_plan() -> None:
    values = model(PAGE, columns=(TENANT_STATS,))
    scenarios = values.scenarios(1, {})
    weights = {tuple(sorted(s.literals.items())): s.weight for s in scenarios}
    assert weights[((1, "'1'::integer"),)] == pytest.approx(0.33)
    assert weights[((1, "'2'::integer"),)] == pytest.approx(0.01)
    assert weights[()] == pytest.approx(0.66)  # other tenants: the generic plan
    assert math.fsum(s.weight for s in scenarios) == pytest.approx(1.0)


def test_pg_stats_values_are_used_only_for_skewed_columns() -> None:
    uniform = ColumnStatistics(
        TASKS, "tenant_id", "integer", n_distinct=400, most_common=(("7", 0.003),)
    )
    values = model(PAGE, columns=(uniform,))
    assert values.scenarios(1, {}) == ()
    assert values.valued() == []


def test_a_tenant_below_a_tenth_of_the_rows_is_skewed_enough() -> None:
    # Zipf over 5,000 tenants: the largest holds 7%, 350 times an average tenant.
    zipf = ColumnStatistics(
        TASKS,
        "tenant_id",
        "integer",
        n_distinct=5000,
        most_common=tuple((str(k), 0.07 / k**0.9) for k in range(1, 101)),
    )
    values = model(PAGE, columns=(zipf,))
    assert values.valued() == [1]
    literals = [dict(s.literals).get(1) for s in values.scenarios(1, {})]
    assert "'1'::integer" in literals and "'2'::integer" in literals


def test_the_other_common_values_are_costed_on_a_typical_one() -> None:
    common = [("1", 0.2), ("2", 0.1), ("3", 0.05), ("4", 0.03), ("5", 0.01), ("6", 0.01)]
    chosen = common_value_scenarios(common, limit=4)
    assert chosen[:2] == [("1", 0.2), ("2", 0.1)]
    # The others hold 0.10 of the rows, and so of the calls; an average call among them
    # reads sum(f^2) / sum(f) = 0.0036 / 0.1 = 0.036 of the table: value 4 is nearest.
    assert chosen[2] == ("4", pytest.approx(0.10))
    assert common_value_scenarios(common, limit=2) == common[:2]
    assert common_value_scenarios(common[:2], limit=4) == common[:2]


def test_scenarios_from_pg_stats_weigh_the_typical_common_value() -> None:
    tenants = ColumnStatistics(
        TASKS,
        "tenant_id",
        "integer",
        n_distinct=400,
        most_common=(("1", 0.33), ("2", 0.01), ("3", 0.008), ("4", 0.002)),
    )
    scenarios = model(PAGE, columns=(tenants,)).scenarios(1, {})
    weights = {dict(s.literals).get(1): s.weight for s in scenarios}
    assert weights["'3'::integer"] == pytest.approx(0.01)  # for 3 and 4 together
    assert weights[None] == pytest.approx(0.65)  # the values pg_stats does not list
    assert math.fsum(weights.values()) == pytest.approx(1.0)


def test_scenarios_are_capped_and_renormalised() -> None:
    constants = tuple(qual(1, PAGE, "tenant_id", f"{n}::integer", 10 - n) for n in range(8))
    values = model(
        PAGE, constants=constants, settings=value_settings(Settings(max_value_scenarios=2))
    )
    scenarios = values.scenarios(1, {})
    assert len(scenarios) == 3  # two values, "the others", and nothing more
    assert math.fsum(s.weight for s in scenarios) == pytest.approx(1.0)
    assert [dict(s.literals) for s in scenarios] == [{}, {1: "0::integer"}, {1: "1::integer"}]
    assert scenarios[1].weight == pytest.approx(10 / 52)


def test_two_parameters_keep_the_heavy_values_of_both() -> None:
    """A skewed tenant and a sampled JSON key: every key with the largest tenant is
    costed, though the typical tenant's combinations weigh more."""
    text = 'select "id" from "tasks" where "tenant_id" = $1 and "payload"->>$2 = $3 limit $4'
    tenants = ColumnStatistics(
        TASKS,
        "tenant_id",
        "integer",
        n_distinct=400,
        most_common=(("1", 0.3), ("2", 0.05), *((str(n), 0.04) for n in range(3, 12))),
    )
    keys = JsonKeys(TASKS, "payload", 3_000, tuple(JsonKey(k, 1.0, 100) for k in ("a", "b", "c")))
    values = model(text, columns=(tenants,), json_keys=(keys,))
    scenarios = values.scenarios(1, {1: "integer", 2: "text", 3: "text", 4: "bigint"})
    heavy = {s.literals.get(2) for s in scenarios if s.literals.get(1) == "'1'::integer"}
    assert heavy == {"'a'::text", "'b'::text", "'c'::text"}
    assert len(scenarios) <= 2 * (value_settings(Settings()).max_value_scenarios + 1)


def test_a_constant_at_an_unknown_position_matches_by_column_and_operator() -> None:
    moved = QualConstant(1, TASKS, "status", "=", 9999, "'blocked'::task_status", 5)
    values = model(PAGE, constants=(moved,), columns=())
    assert set(values.distributions(1)) == {2}
    ambiguous = QualConstant(1, TASKS, "title", "=", 9999, "'x'::text", 5)
    assert model(PAGE, constants=(ambiguous,), columns=()).distributions(1) == {}


def test_logged_parameters_give_joint_scenarios_matched_by_fingerprint() -> None:
    logged = (
        LoggedParameters(PAGE.replace(" where ", "\n  WHERE "), ("1", "blocked", "20"), 3),
        LoggedParameters(PAGE, ("2", "blocked", "20"), 1),
        LoggedParameters("select 1 from tasks where id = $1", ("5",), 50),
    )
    values = model(PAGE, logged=logged, columns=())
    scenarios = values.scenarios(1, {1: "integer", 2: "task_status", 3: "bigint"})
    assert [(s.weight, dict(s.literals)) for s in scenarios] == [
        (0.75, {1: "'1'::integer", 2: "'blocked'::task_status", 3: "'20'::bigint"}),
        (0.25, {1: "'2'::integer", 2: "'blocked'::task_status", 3: "'20'::bigint"}),
    ]
    (distribution,) = [d for n, d in values.distributions(1).items() if n == 2]
    assert distribution.source is ValueSource.SERVER_LOG


# ------------------------------------------------------------------ partial predicates


def test_a_rare_value_most_calls_ask_for_gives_a_partial_predicate() -> None:
    values = model(
        PAGE,
        constants=(
            qual(1, PAGE, "status", "'blocked'::task_status", 95),
            qual(1, PAGE, "status", "'todo'::task_status", 5),
        ),
    )
    (predicate,) = values.partial_predicates(1)
    assert predicate.sql == "status = 'blocked'::task_status"
    assumption = predicate.assumption
    assert assumption.share_of_calls == pytest.approx(0.95)
    assert assumption.share_of_rows == pytest.approx(0.005)
    assert assumption.source is ValueSource.QUALSTATS
    assert "status = 'blocked'::task_status (95% of calls; 0.5% of rows" in assumption.describe()


def test_the_scalars_of_an_in_list_give_one_predicate_with_all_their_values() -> None:
    # `status in ($2, $3)`: each parameter is one scalar; the predicate names both values
    # (as one parameter, `= ANY ('blocked')` would not even be an array).
    listed = 'select "id" from "tasks" where "tenant_id" = $1 and "status" in ($2, $3)'
    logged = (LoggedParameters(listed, ("1", "blocked", "doing"), 20),)
    stats = replace(
        STATUS_STATS,
        most_common=(("todo", 0.5), ("done", 0.43), ("doing", 0.05), ("blocked", 0.02)),
    )
    values = model(listed, logged=logged, columns=(stats, TENANT_STATS))
    (predicate,) = values.partial_predicates(1)
    assert predicate.sql == "status IN ('blocked'::task_status, 'doing'::task_status)"
    assert predicate.assumption.share_of_rows == pytest.approx(0.07)
    assert predicate.assumption.share_of_calls == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("counts", "why"),
    [
        ({"todo": 95, "blocked": 5}, "the frequent value holds half the table"),
        ({"blocked": 50, "doing": 50}, "two values cover the calls but hold 20% of rows"),
        ({"blocked": 60, "doing": 0, "todo": 40}, "no small set covers the calls"),
    ],
)
def test_no_partial_predicate_when_values_are_common_or_spread(
    counts: dict[str, int], why: str
) -> None:
    constants = tuple(
        qual(1, PAGE, "status", f"'{v}'::task_status", n) for v, n in counts.items() if n
    )
    settings = value_settings(Settings(partial_max_values=1 if "spread" in why else 3))
    if "20%" in why:
        settings = value_settings(Settings(partial_max_share_of_rows=0.1))
    values = model(PAGE, constants=constants, settings=settings)
    assert values.partial_predicates(1) == [], why


def test_a_partial_predicate_names_a_status_never_a_list_of_tenants() -> None:
    # Most calls ask for tenant 7 (0.2% of the rows): a partial index on it would serve
    # one tenant until the traffic moves; 400 distinct tenants is no status.
    tenants = model(
        PAGE,
        constants=(
            qual(1, PAGE, "tenant_id", "7", 90),
            qual(1, PAGE, "tenant_id", "8", 10),
        ),
        columns=(
            STATUS_STATS,
            replace(TENANT_STATS, most_common=(("7", 0.001), ("8", 0.001))),
            CREATED_STATS,
        ),
    )
    assert [p.column for p in tenants.partial_predicates(1)] == []
    # The same calls on a status-like column (4 distinct values) do give one.
    statuses = model(PAGE, constants=(qual(1, PAGE, "status", "'blocked'::task_status", 90),))
    assert [p.column for p in statuses.partial_predicates(1)] == ["status"]
    # Where pg_stats cannot be read, the observed values alone decide: see
    # test_a_role_that_cannot_read_pg_stats_still_gets_advice.


def test_pg_stats_alone_never_makes_a_partial_predicate() -> None:
    assert model(PAGE).partial_predicates(1) == []


def test_expression_parameters_are_filled_from_the_log() -> None:
    logged = tuple(LoggedParameters(BY_KEY, ("ip", f"10.0.0.{n}")) for n in range(10))
    values = model(BY_KEY, logged=logged, columns=())
    values.scenarios(1, {1: "text", 2: "text"})
    ((literals, assumed),) = values.expression_bindings(1, (1,), "payload ->> $1")
    assert literals == {1: "'ip'::text"}
    assert assumed[0].share_of_calls == 1.0
    # Without a source for the key, there is no expression to index.
    assert model(BY_KEY, columns=()).expression_bindings(1, (1,)) == []


PAYLOAD_KEYS = JsonKeys(
    TASKS,
    "payload",
    3_000,
    (JsonKey("ip", 1.0, 2_400), JsonKey("agent", 1.0, 7), JsonKey("rare", 0.02, 60)),
)


def test_a_json_key_bound_as_a_parameter_is_found_in_its_expression() -> None:
    assert json_key_parameter('"payload" ->> $1') == ("payload", 1)
    assert json_key_parameter("payload -> $2::text") == ("payload", 2)
    for other in ("payload ->> 'ip'", "payload #>> $1", "lower($1)", "a.payload ->> $1"):
        assert json_key_parameter(other) is None, other
    assert json_key_columns([parsed(1, BY_KEY), parsed(2, PAGE)], SCHEMA) == {
        (TASKS, "payload", "jsonb")
    }


def test_sampled_json_keys_are_costed_as_often_as_the_rows_hold_them() -> None:
    values = model(BY_KEY, columns=(), json_keys=(PAYLOAD_KEYS,))
    scenarios = values.scenarios(1, {1: "text", 2: "text"})
    # 'rare' is held by too few rows to be a key the calls ask for.
    assert {tuple(s.literals.items()): s.weight for s in scenarios} == {
        ((1, "'ip'::text"),): 0.5,
        ((1, "'agent'::text"),): 0.5,
    }
    # An index is proposed only on the key whose values are varied enough, and what it
    # assumes says it is a guess, not an observation.
    ((literals, assumed),) = values.expression_bindings(1, (1,), "payload ->> $1")
    assert literals == {1: "'ip'::text"}
    assert assumed[0].source is ValueSource.SAMPLE and assumed[0].share_of_calls is None
    assert "a guess from a table sample of 3,000 rows" in assumed[0].describe()
    # pg_stats-style assumptions are not listed for a key (it is no column's value).
    assert values.assumptions(1) == ()


def test_logged_keys_take_precedence_over_the_sample() -> None:
    logged = tuple(LoggedParameters(BY_KEY, ("agent", f"a{n % 7}")) for n in range(10))
    values = model(BY_KEY, logged=logged, columns=(), json_keys=(PAYLOAD_KEYS,))
    values.scenarios(1, {1: "text", 2: "text"})
    ((literals, assumed),) = values.expression_bindings(1, (1,), "payload ->> $1")
    assert literals == {1: "'agent'::text"}
    assert assumed[0].source is ValueSource.SERVER_LOG


# -------------------------------------------------------------------------- candidates


def candidates(
    values: ValueModel, rates: dict[TableName, TableWriteRate] | None = None
) -> ValueCandidates:
    rates = rates or {}
    return value_candidates(
        values.statements,
        SCHEMA,
        candidate_settings(Settings()),
        values,
        lambda table: table not in rates,
        brin_settings(Settings()),
    )


def test_value_candidates_partial_expression_and_brin() -> None:
    logged = tuple(LoggedParameters(BY_KEY, ("ip", f"10.0.0.{n}")) for n in range(10))
    values = model(
        PAGE,
        BY_KEY,
        BY_EMAIL,
        RANGE,
        constants=(qual(1, PAGE, "status", "'blocked'::task_status", 100),),
        logged=logged,
    )
    for queryid in (1, 2):
        values.scenarios(queryid, {1: "text", 2: "text"})
    found = candidates(values)
    partial = IndexDesign(
        TASKS,
        (KeyColumn.of("tenant_id"), KeyColumn.of("created_at")),
        predicate="status = 'blocked'::task_status",
    )
    assert partial in found.helps
    assert found.assumptions[partial][0].values == ("'blocked'::task_status",)
    by_key = IndexDesign(TASKS, (KeyColumn("payload ->> ('ip'::text)", is_expression=True),))
    assert found.helps[by_key] == {2}
    assert by_key.name() == "tasks_payload_ip_idx"
    lower = IndexDesign(TASKS, (KeyColumn('lower("Email")', is_expression=True),))
    assert found.helps[lower] == {3}
    brin = IndexDesign(EVENTS, (KeyColumn.of("created_at"),), access_method="brin")
    assert found.helps[brin] == {4}
    assert "correlation 1.00" in found.notes[brin][0]
    assert brin.create_sql() == (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS events_created_at_brin "
        "ON public.events USING brin (created_at)"
    )


def test_no_brin_for_updated_tables_or_uncorrelated_columns() -> None:
    rates = {EVENTS: TableWriteRate(EVENTS, inserts_per_day=10, updates_per_day=100)}
    assert not [d for d in candidates(model(RANGE), rates).helps if d.access_method == "brin"]
    scattered = ColumnStatistics(EVENTS, "created_at", "timestamptz", correlation=0.3)
    found = candidates(model(RANGE, columns=(scattered,)))
    assert not [d for d in found.helps if d.access_method == "brin"]


def test_brin_and_partial_indexes_cost_the_writes_less() -> None:
    rates = {TASKS: TableWriteRate(TASKS, inserts_per_day=1_000_000)}
    writes = WriteCostModel(rates, {}, {}, write_cost_settings(Settings()))
    btree = IndexDesign(TASKS, (KeyColumn.of("created_at"),))
    brin = IndexDesign(TASKS, (KeyColumn.of("created_at"),), access_method="brin")
    partial = IndexDesign(TASKS, (KeyColumn.of("created_at"),), predicate="status = 'x'")
    writes.predicate_shares[partial] = 0.01
    assert writes.ms_per_day(btree) == pytest.approx(10_000)
    assert writes.ms_per_day(brin) == pytest.approx(10_000 * BRIN_WRITE_SHARE)
    assert writes.ms_per_day(partial) == pytest.approx(100)


def test_parameter_use_is_hashable_and_deduplicated() -> None:
    statement = parsed(1, 'select * from tasks where "status" = $1 and "status" = $1')
    assert statement.parameters == (ParameterUse(1, TASKS, "status", Operator.EQUALITY, "="),)


# ------------------------------------------------------------------ partition keys

MEASURES = TableName("public", "measures")
MEASURE_COLUMNS = (
    Column("id", "bigint", True),
    Column("sensor_id", "integer", True),
    Column("taken_at", "timestamp with time zone", True),
)
# measures is hashed by id into two partitions; its own statistics are missing, as
# autovacuum leaves a partitioned table, and its partitions' are there.
PARTITIONED = Schema(
    {
        MEASURES: Table(MEASURES, MEASURE_COLUMNS, partitioned=True, partition_key=("id",)),
        **{
            TableName("public", f"measures_{n}"): Table(
                TableName("public", f"measures_{n}"),
                MEASURE_COLUMNS,
                row_estimate=1000.0 * (n + 1),
                partition_of=MEASURES,
            )
            for n in range(2)
        },
    }
)
LEAF_ID_STATS = ColumnStatistics(
    TableName("public", "measures_1"),
    "id",
    "bigint",
    n_distinct=-1,
    histogram=tuple(str(n) for n in range(0, 2001, 100)),
)


def partitioned_model(text: str, columns: tuple[ColumnStatistics, ...]) -> ValueModel:
    statement = Statement(1, text, 100, 1000.0)
    knowledge = ValueKnowledge({(c.table, c.column): c for c in columns}, (), (), notes=())
    result = parse_statement(1, text, PARTITIONED, parse_settings(Settings()))
    assert isinstance(result, ParsedStatement), result
    return ValueModel(knowledge, [statement], [result], PARTITIONED, value_settings(Settings()))


def test_a_representative_value_is_the_common_value_or_a_histogram_point() -> None:
    stats = ColumnStatistics(
        MEASURES, "taken_at", "date", histogram=tuple(f"2026-01-{d:02d}" for d in range(1, 12))
    )
    assert representative_value(stats, "=") == "2026-01-06"  # the median
    assert representative_value(stats, ">=") == "2026-01-10"  # the newest tenth
    assert representative_value(stats, "<") == "2026-01-11"
    assert representative_value(stats, "~~") is None
    assert representative_value(replace(stats, most_common=(("a", 0.1), ("b", 0.3))), "=") == "b"
    assert representative_value(ColumnStatistics(MEASURES, "id", "bigint"), "=") is None


def test_a_partition_key_compared_with_a_parameter_is_costed_with_a_partitions_value() -> None:
    values = partitioned_model("select * from measures where id = $1", (LEAF_ID_STATS,))
    # Only the key's partitions' statistics are asked for.
    assert partition_statistics_columns(values.statements, PARTITIONED) == {
        (TableName("public", "measures_1"), "id"),
        (TableName("public", "measures_0"), "id"),
    }
    assert values.valued() == [1]
    assert [dict(s.literals) for s in values.scenarios(1, {})] == [{1: "'1000'::bigint"}]
    # A value that stands for any is not an assumption the advice rests on.
    assert values.assumptions(1) == ()
    assert values.partial_predicates(1) == []


def test_a_column_that_is_no_partition_key_keeps_its_generic_plan() -> None:
    sensor = replace(LEAF_ID_STATS, column="sensor_id")
    values = partitioned_model("select * from measures where sensor_id = $1", (sensor,))
    assert partition_statistics_columns(values.statements, PARTITIONED) == set()
    assert values.valued() == []
