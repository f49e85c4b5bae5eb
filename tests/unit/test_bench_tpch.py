"""The TPC-H-like quality workload: deterministic, complete and consistent (no database)."""

from __future__ import annotations

import re

import pytest

from bench.qualityspec import QualityWorkload
from bench.tpch import build

TABLES = ("region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem")


@pytest.fixture(scope="module")
def workload() -> QualityWorkload:
    return build(scale=0.01)


def test_build_is_deterministic(workload: QualityWorkload) -> None:
    assert build(scale=0.01) == workload
    assert build(scale=0.01, seed=7) == build(scale=0.01, seed=7)


def test_seed_changes_data_and_parameters(workload: QualityWorkload) -> None:
    other = build(scale=0.01, seed=7)
    assert other.setup_sql != workload.setup_sql
    assert [s.params for s in other.statements] != [s.params for s in workload.statements]


def test_scale_changes_row_counts_only(workload: QualityWorkload) -> None:
    bigger = build(scale=1.0)
    assert bigger.setup_sql != workload.setup_sql
    assert "generate_series(1, 120000)" in "\n".join(bigger.setup_sql)
    assert [s.sql for s in bigger.statements] == [s.sql for s in workload.statements]


def test_name_and_statement_names(workload: QualityWorkload) -> None:
    assert workload.name == "tpch"
    names = [s.name for s in workload.statements]
    assert names == [f"Q{i}" for i in range(1, 23)]
    assert len(set(names)) == len(names)
    assert len({s.sql for s in workload.statements}) == 22


def test_placeholders_match_every_parameter_set(workload: QualityWorkload) -> None:
    for statement in workload.statements:
        # No literal percent sign: every `%` starts a `%s` placeholder.
        assert "%" not in statement.sql.replace("%s", ""), statement.name
        count = statement.sql.count("%s")
        assert count >= 1, statement.name
        assert len(statement.params) == 3, statement.name
        assert len(set(statement.params)) == 3, statement.name
        for values in statement.params:
            assert len(values) == count, statement.name


def test_statements_are_single_and_weighted(workload: QualityWorkload) -> None:
    for statement in workload.statements:
        assert ";" not in statement.sql, statement.name
        assert statement.weight in (1, 2), statement.name


def test_integer_parameters_stay_int2(workload: QualityWorkload) -> None:
    for statement in workload.statements:
        for values in statement.params:
            for value in values:
                if isinstance(value, int):
                    assert -32768 <= value <= 32767, statement.name


def test_limits_kept() -> None:
    statements = {s.name: s.sql for s in build(scale=0.01).statements}
    for name, limit in (("Q2", 100), ("Q3", 10), ("Q10", 20), ("Q18", 100), ("Q21", 100)):
        assert statements[name].rstrip().endswith(f"limit {limit}"), name


def test_setup_creates_tables_keys_and_statistics(workload: QualityWorkload) -> None:
    setup = workload.setup_sql
    created = [m.group(1) for s in setup if (m := re.match(r"CREATE TABLE (\w+)", s))]
    assert sorted(created) == sorted(TABLES)
    for table in TABLES:
        assert any(s.startswith(f"INSERT INTO {table}") for s in setup), table
        assert f"ALTER TABLE {table} ADD PRIMARY KEY" in "\n".join(setup), table
    joined = "\n".join(setup)
    assert "PRIMARY KEY (l_orderkey, l_linenumber)" in joined
    assert "PRIMARY KEY (ps_partkey, ps_suppkey)" in joined
    assert "FOREIGN KEY (l_partkey, l_suppkey) REFERENCES partsupp" in joined
    # Secondary indexes are what the advisors must find: none in the setup.
    assert "CREATE INDEX" not in joined.upper()
    # Deterministic data: no unseeded randomness.
    assert "random()" not in joined
    assert setup[-1] == "ANALYZE"
    assert all(";" not in s for s in setup)


def test_rejects_non_positive_scale() -> None:
    with pytest.raises(ValueError):
        build(scale=0)
