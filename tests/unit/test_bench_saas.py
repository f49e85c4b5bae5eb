"""The saas quality workload (bench/saas.py): deterministic, statements PostgreSQL parses,
written the way Drizzle writes them, parameters that bind to one queryid per statement,
and tenants as skewed as the issue asks."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from pglast import parse_sql
from pglast.ast import ColumnRef, RangeVar, String
from pglast.visitors import Visitor

from bench import saas
from bench.quality import hand_design
from bench.qualityspec import HandIndex, QualityStatement, QualityWorkload
from tests.unit.test_bench_dba import schema_columns

SCALE = 0.01


@pytest.fixture(scope="module")
def workload() -> QualityWorkload:
    return saas.build(scale=SCALE)


def _numbered(sql: str) -> str:
    """The text as the server sees it: psycopg's `%s` become `$1`, `$2`, ..."""
    count = iter(range(1, sql.count("%s") + 1))
    return re.sub(r"%s", lambda _: f"${next(count)}", sql)


def _size_class(value: Any) -> str:
    """What psycopg sends a value as: ints by magnitude (int2, int4, int8)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        if -32_768 <= value <= 32_767:
            return "int2"
        if -(2**31) <= value < 2**31:
            return "int4"
        return "int8"
    return type(value).__name__


class References(Visitor):
    """The tables a statement reads or writes and the column references it makes."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: set[str] = set()
        self.columns: list[tuple[str, ...]] = []

    def visit_RangeVar(self, ancestors: object, node: RangeVar) -> None:
        self.tables.add(node.relname)

    def visit_ColumnRef(self, ancestors: object, node: ColumnRef) -> None:
        self.columns.append(tuple(f.sval for f in node.fields if isinstance(f, String)))


def references(sql: str) -> References:
    visitor = References()
    visitor(parse_sql(_numbered(sql)))
    return visitor


def test_build_is_deterministic(workload: QualityWorkload) -> None:
    assert saas.build(scale=SCALE) == workload
    assert workload.name == "saas"
    other_seed = saas.build(scale=SCALE, seed=7)
    assert other_seed.setup_sql == workload.setup_sql
    assert other_seed.statements != workload.statements


def test_names_unique_and_shapes_distinct(workload: QualityWorkload) -> None:
    names = [s.name for s in workload.statements]
    assert len(names) == len(set(names))
    assert len({s.sql for s in workload.statements}) == len(names)
    assert 20 <= len(names) <= 30


def test_every_statement_parses_with_as_many_parameters_as_values(
    workload: QualityWorkload,
) -> None:
    for statement in workload.statements:
        assert statement.weight > 0, statement.name
        assert len(statement.params) == saas.PARAM_SETS, statement.name
        (parsed,) = parse_sql(_numbered(statement.sql))
        assert parsed.stmt is not None
        for params in statement.params:
            assert len(params) == statement.sql.count("%s"), statement.name


@pytest.mark.parametrize("scale", [SCALE, 0.2, 1.0, 3.0])
def test_param_types_consistent_per_position(scale: float) -> None:
    """One type (and int size class) per position: else pg_stat_statements splits it."""
    for statement in saas.build(scale=scale).statements:
        for position in range(statement.sql.count("%s")):
            classes = {_size_class(params[position]) for params in statement.params}
            assert len(classes) == 1, (statement.name, position, classes)
            for params in statement.params:
                value = params[position]
                assert value is not None, statement.name
                if isinstance(value, datetime):
                    assert value.tzinfo is not None, statement.name


def test_every_column_is_qualified_and_exists_in_its_table(workload: QualityWorkload) -> None:
    schema = schema_columns(saas.DDL)
    for statement in workload.statements:
        found = references(statement.sql)
        assert found.tables and found.tables <= set(schema), statement.name
        for ref in found.columns:
            if statement.sql.startswith("insert"):
                continue  # Drizzle lists an insert's columns bare
            assert len(ref) == 2, (statement.name, ref)
            table, column = ref
            assert column in schema[table], (statement.name, ref)


def test_every_identifier_is_double_quoted(workload: QualityWorkload) -> None:
    names = set(saas.TABLES) | {c for cols in schema_columns(saas.DDL).values() for c in cols}
    for statement in workload.statements:
        bare = re.sub(r'"[^"]*"', " ", statement.sql)
        bare = re.sub(r"'[^']*'", " ", bare)
        words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", bare))
        assert not words & names, (statement.name, words & names)


def _one(workload: QualityWorkload, name: str) -> QualityStatement:
    (statement,) = [s for s in workload.statements if s.name == name]
    return statement


def test_the_issue_shapes_are_there(workload: QualityWorkload) -> None:
    sweep = _one(workload, "pending_sweep")
    assert (
        '("tickets"."status" = %s and "tickets"."createdAt" < %s) '
        'order by "tickets"."createdAt" asc limit %s'
    ) in sweep.sql
    assert {p[0] for p in sweep.params} == {"pending"}
    by_ip = _one(workload, "events_by_ip")
    assert '"events"."payload"->>%s = %s' in by_ip.sql
    assert {p[1] for p in by_ip.params} == {"ip"}
    assert '("tickets"."assigneeId" = %s or "tickets"."reporterId" = %s)' in (
        _one(workload, "my_tickets").sql
    )
    assert '"contacts"."name" ilike %s) order by "contacts"."name" asc limit %s' in (
        _one(workload, "contact_search").sql
    )
    leaderboard = _one(workload, "agent_leaderboard").sql
    assert 'inner join "users"' in leaderboard and 'group by "users"."id"' in leaderboard
    sqls = [s.sql for s in workload.statements]
    assert sum("date_trunc(%s, " in sql for sql in sqls) >= 2
    assert any("between %s and %s" in sql for sql in sqls)
    assert any(re.search(r"order by .* desc limit %s offset %s", sql) for sql in sqls)
    assert any('"id" < %s' in sql for sql in sqls)  # keyset


def test_writes_are_inserts_into_the_big_tables_and_updates_by_id(
    workload: QualityWorkload,
) -> None:
    inserts = [s for s in workload.statements if s.sql.startswith("insert")]
    assert {references(s.sql).tables.pop() for s in inserts} == {"tickets", "orders", "events"}
    assert all("values (default, " in s.sql and s.sql.endswith('returning "id"') for s in inserts)
    updates = [s for s in workload.statements if s.sql.startswith("update")]
    assert updates and all(re.search(r'where "\w+"\."id" = %s$', s.sql) for s in updates)


def test_setup_sql_has_keys_but_no_secondary_index(workload: QualityWorkload) -> None:
    setup = workload.setup_sql
    assert sum(sql.startswith("create table") for sql in setup) == len(saas.TABLES)
    assert setup[-1] == "analyze"
    assert not any("create index" in sql.lower() for sql in setup)
    assert sum("primary key" in sql for sql in setup) == len(saas.TABLES)
    assert sum("foreign key" in sql for sql in setup) == len(saas.FOREIGN_KEYS)
    assert any('unique ("email")' in sql for sql in setup)
    assert not any("random()" in sql or "setseed" in sql for sql in setup)
    for sql in setup:
        parse_sql(sql)


def test_at_scale_one_the_top_tenant_holds_a_quarter_of_every_big_table() -> None:
    shape = saas.make_shape(1.0)
    assert 1_000 <= shape.orgs <= 5_000
    assert max(shape.tickets, shape.orders, shape.events, shape.contacts) >= 1_000_000
    # Tickets, orders and events draw their org from these thresholds row by row.
    bounds = saas.thresholds(shape.org_shares)
    assert bounds[1] - bounds[0] == shape.org_shares[0] >= 0.25
    assert abs(sum(shape.org_shares) - 1.0) < 1e-9
    assert all(a >= b for a, b in zip(shape.org_shares[1:], shape.org_shares[2:], strict=False))
    thresholds_sql = "'{" + ",".join(repr(b) for b in bounds) + "}'::float8[]"
    assert all(thresholds_sql in sql for sql in saas.load_sql(shape)[1:])
    # Users and contacts are contiguous per org.
    for sizes, total in ((shape.user_sizes, shape.users), (shape.contact_sizes, shape.contacts)):
        assert sum(sizes) == total
        assert sizes[0] >= 0.25 * total
        assert min(sizes) >= 1
        assert sizes[-1] < 0.001 * total  # the long tail


def test_smaller_scales_keep_the_shape() -> None:
    small, full = saas.make_shape(SCALE), saas.make_shape(1.0)
    assert full.events == 100 * small.events
    assert small.org_shares[0] == full.org_shares[0]
    for shape in (small, full):
        assert shape.user_starts[0] == 1 and shape.contact_starts[0] == 1
        assert shape.user_starts[-1] + shape.user_sizes[-1] - 1 == shape.users
        assert shape.contact_starts[-1] + shape.contact_sizes[-1] - 1 == shape.contacts


def test_parameters_name_rows_of_the_tenant_they_are_drawn_for() -> None:
    shape = saas.make_shape(1.0)
    draw = saas.Draw(shape, saas.DEFAULT_SEED, "test")
    orgs = [draw.org() for _ in range(2_000)]
    assert 0.25 <= orgs.count(1) / len(orgs) <= 0.35
    for org in orgs[:200]:
        contact = draw.contact(org)
        start, size = shape.contact_starts[org - 1], shape.contact_sizes[org - 1]
        assert start <= contact < start + size
        assert contact > saas.INT2_MAX  # one size class: the table has more ids than int2
        user = draw.user(org)
        assert (
            shape.user_starts[org - 1]
            <= user
            < shape.user_starts[org - 1] + (shape.user_sizes[org - 1])
        )


def test_the_dba_set_has_no_duplicate_and_repeats_no_existing_index() -> None:
    designs = [hand_design(index) for index in saas.DBA_INDEXES]
    assert len(set(designs)) == len(designs)
    assert len({d.name() for d in designs}) == len(designs)
    existing = [hand_design(HandIndex(t, ("id",), "pk")) for t in saas.TABLES]
    existing.append(hand_design(HandIndex("users", ("email",), "unique")))
    for design in designs:
        assert not any(design.serves_prefix_of(e) for e in existing), design


def test_the_dbas_partial_indexes_name_rare_statuses_the_statements_bind(
    workload: QualityWorkload,
) -> None:
    partial = {i.where for i in saas.DBA_INDEXES if i.where is not None}
    assert partial == {"\"status\" = 'pending'", "\"status\" = 'refund_requested'"}
    bound = {v for s in workload.statements for p in s.params for v in p if isinstance(v, str)}
    assert {"pending", "refund_requested"} <= bound


def test_the_dbas_expression_index_is_the_bound_json_key() -> None:
    (index,) = [i for i in saas.DBA_INDEXES if any(c.startswith("(") for c in i.columns)]
    design = hand_design(index)
    assert design.keys[0].is_expression
    assert design.definition_sql() == "ON public.events USING btree ((\"payload\" ->> 'ip'))"
