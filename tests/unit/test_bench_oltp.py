"""The OLTP quality workload (bench/oltp.py): deterministic, well-formed statements written
the way Drizzle writes them, parameters that bind to one queryid per statement."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from bench import oltp
from bench.qualityspec import QualityStatement, QualityWorkload

SCALE = 0.01
# A bare word outside quotes, parameters and string literals that is a column or table
# name would be unquoted: Drizzle quotes every identifier.
KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "order",
    "by",
    "desc",
    "asc",
    "limit",
    "offset",
    "left",
    "inner",
    "join",
    "lateral",
    "on",
    "true",
    "as",
    "is",
    "null",
    "not",
    "in",
    "count",
    "coalesce",
    "json_agg",
    "json_build_array",
    "json",
    "group",
    "ilike",
    "insert",
    "into",
    "values",
    "default",
    "returning",
    "update",
    "set",
    "delete",
}


@pytest.fixture(scope="module")
def workload() -> QualityWorkload:
    return oltp.build(scale=SCALE)


def _placeholders(sql: str) -> int:
    return sql.count("%s")


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


def test_build_is_deterministic(workload: QualityWorkload) -> None:
    again = oltp.build(scale=SCALE)
    assert again == workload
    assert workload.name == "oltp"
    assert oltp.build(scale=SCALE, seed=7).setup_sql == workload.setup_sql
    assert oltp.build(scale=SCALE, seed=7).statements != workload.statements


def test_names_unique_and_shapes_distinct(workload: QualityWorkload) -> None:
    names = [s.name for s in workload.statements]
    assert len(names) == len(set(names))
    assert len({s.sql for s in workload.statements}) == len(names)
    assert 25 <= len(names) <= 35


def test_placeholders_match_params(workload: QualityWorkload) -> None:
    for statement in workload.statements:
        assert statement.weight > 0, statement.name
        assert 5 <= len(statement.params) <= 10, statement.name
        for params in statement.params:
            assert len(params) == _placeholders(statement.sql), statement.name


@pytest.mark.parametrize("scale", [SCALE, 1.0, 3.0])
def test_param_types_consistent_per_position(scale: float) -> None:
    """One type (and int size class) per position: else pg_stat_statements splits it."""
    for statement in oltp.build(scale=scale).statements:
        for position in range(_placeholders(statement.sql)):
            classes = {_size_class(params[position]) for params in statement.params}
            assert len(classes) == 1, (statement.name, position, classes)
            for params in statement.params:
                value = params[position]
                assert value is not None, statement.name
                if isinstance(value, datetime):
                    assert value.tzinfo is not None, statement.name


def _unquoted_words(sql: str) -> list[str]:
    """The bare words of `sql` after removing quoted identifiers, string literals,
    placeholders, casts and numbers."""
    text = re.sub(r'"[^"]*"', " ", sql)
    text = re.sub(r"'[^']*'", " ", text)
    text = text.replace("%s", " ").replace("::json", " ")
    return [w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)]


def test_every_identifier_quoted(workload: QualityWorkload) -> None:
    for statement in workload.statements:
        assert '"' in statement.sql, statement.name
        unknown = set(_unquoted_words(statement.sql)) - KEYWORDS
        assert not unknown, (statement.name, unknown)
        # Columns are qualified by their table: "table"."column" (inserts list bare names).
        if not statement.sql.startswith("insert"):
            assert re.search(r'"\w+"\."\w+"', statement.sql), statement.name


def _by_kind(statements: tuple[QualityStatement, ...], verb: str) -> list[QualityStatement]:
    return [s for s in statements if s.sql.lower().startswith(verb)]


def test_workload_has_writes(workload: QualityWorkload) -> None:
    inserts = _by_kind(workload.statements, "insert")
    assert inserts
    assert all("values (default, " in s.sql for s in inserts)
    assert _by_kind(workload.statements, "update")
    assert _by_kind(workload.statements, "delete")


def test_workload_has_orm_query_shapes(workload: QualityWorkload) -> None:
    sqls = [s.sql for s in workload.statements]
    assert any("left join lateral" in sql and "json_agg" in sql for sql in sqls)
    assert any(re.search(r"order by .* limit %s", sql) for sql in sqls)
    assert any("offset %s" in sql for sql in sqls)
    assert any('"readAt" is null' in sql for sql in sqls)
    assert any('"deletedAt" is null' in sql for sql in sqls)
    assert any('"email" = %s' in sql for sql in sqls)
    assert any(sql.startswith("select count(*)") for sql in sqls)


def test_setup_sql_shape(workload: QualityWorkload) -> None:
    setup = workload.setup_sql
    creates = [sql for sql in setup if sql.startswith("create table")]
    assert 8 <= len(creates) <= 10
    assert setup[-1].lower() == "analyze"
    assert not any("create index" in sql.lower() for sql in setup)
    assert any('unique ("email")' in sql for sql in setup)
    assert sum("foreign key" in sql for sql in setup) >= 10
    # Pseudo-randomness from hashes, not from the session's random().
    assert not any("random()" in sql or "setseed" in sql for sql in setup)


def test_shape_scales_and_tenants_are_skewed() -> None:
    small = oltp.make_shape(SCALE)
    full = oltp.make_shape(1.0)
    assert full.issues == 100 * small.issues
    for shape in (small, full):
        assert sum(shape.user_sizes) == shape.users
        assert sum(shape.project_sizes) == shape.projects
        assert min(shape.user_sizes) >= 1
        assert min(shape.project_sizes) >= 1
        assert shape.user_sizes[0] == max(shape.user_sizes)
        assert shape.org_of_user(1) == 1
        assert shape.org_of_user(shape.users) == shape.orgs
    assert full.user_sizes[0] > 0.2 * full.users
    assert full.user_sizes[-1] < 0.001 * full.users
