"""Value probes: a statement whose index needs a value no source showed says so, with the
time at stake and the settings that would show the value."""

from __future__ import annotations

from advisor.analyze.parse import parse_statement
from advisor.analyze.probes import value_probes
from advisor.config import Settings, parse_settings
from advisor.model import Column, ParsedStatement, Schema, Statement, Table, TableName

TASKS = TableName("public", "tasks")
COLUMNS = (
    Column("id", "bigint", True),
    Column("tenant_id", "integer", True, n_distinct=400),
    Column("status", "text", True, n_distinct=4),
    Column("created_at", "timestamp with time zone", True),
    Column("payload", "jsonb"),
)
SCHEMA = Schema({TASKS: Table(TASKS, COLUMNS, row_estimate=100_000)})
DAY = 86_400.0

BY_KEY = 'select "id" from "tasks" where "tasks"."payload"->>$1 = $2'
BY_STATUS = 'select count(*) from "tasks" where "status" = $1'
BY_TENANT = 'select "id" from "tasks" where "tenant_id" = $1'
BY_UNIT = 'select date_trunc($1, "created_at"), count(*) from "tasks" group by 1'


def _parsed(queryid: int, text: str) -> ParsedStatement:
    parsed = parse_statement(queryid, text, SCHEMA, parse_settings(Settings()))
    assert isinstance(parsed, ParsedStatement)
    return parsed


def _probes(texts: dict[int, str], known: bool = False) -> dict[int, str]:
    parsed = [_parsed(q, t) for q, t in texts.items()]
    statements = {q: Statement(q, t, 100, 1_000.0 * q) for q, t in texts.items()}
    found = value_probes(parsed, statements, SCHEMA, lambda q, n: known, DAY)
    return {p.queryid: p.how_to_learn for p in found}


def test_a_bound_json_key_with_no_source_gets_a_probe_naming_the_settings() -> None:
    parsed = [_parsed(1, BY_KEY)]
    (probe,) = value_probes(parsed, {1: Statement(1, BY_KEY, 100, 2_000.0)}, SCHEMA, _none, DAY)
    assert "$1" in probe.unknown and "payload" in probe.unknown
    assert probe.ms_per_day == 2_000.0
    assert "log_min_duration_sample" in probe.how_to_learn
    assert "log_statement_sample_rate" in probe.how_to_learn
    assert "parameter_log_dir" in probe.how_to_learn


def test_a_status_compared_with_a_parameter_gets_a_partial_index_probe() -> None:
    probes = _probes({2: BY_STATUS})
    assert "pg_qualstats" in probes[2]
    (probe,) = value_probes(
        [_parsed(2, BY_STATUS)], {2: Statement(2, BY_STATUS, 1, 1.0)}, SCHEMA, _none, DAY
    )
    assert "partial index" in probe.index_needs and "status" in probe.unknown


def test_a_date_trunc_unit_bound_as_a_parameter_gets_a_probe() -> None:
    assert 4 in _probes({4: BY_UNIT})


def test_no_probe_where_a_source_showed_the_values_or_none_is_needed() -> None:
    assert _probes({1: BY_KEY, 2: BY_STATUS, 4: BY_UNIT}, known=True) == {}
    assert _probes({3: BY_TENANT}) == {}  # 400 tenants: no value decides the index


def test_probes_are_the_busiest_first() -> None:
    found = value_probes(
        [_parsed(1, BY_KEY), _parsed(2, BY_STATUS)],
        {1: Statement(1, BY_KEY, 1, 10.0), 2: Statement(2, BY_STATUS, 1, 99.0)},
        SCHEMA,
        _none,
        DAY,
    )
    assert [p.queryid for p in found] == [2, 1]


def test_a_statement_without_counters_is_left_out() -> None:
    assert value_probes([_parsed(1, BY_KEY)], {}, SCHEMA, _none, DAY) == ()


def _none(queryid: int, number: int) -> bool:
    return False
