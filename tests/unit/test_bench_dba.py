"""The DBA baseline of the quality bench: a hand-written set that names the workload's own
tables and columns, says why for every index, and is compared with the advisor's set by
real time."""

from __future__ import annotations

import re

import pytest
from pglast import parse_sql
from pglast.ast import ColumnDef, ColumnRef, CreateStmt, String
from pglast.visitors import Visitor

from advisor.model import IndexDesign, KeyColumn, TableName
from bench import oltp, saas, tpch
from bench.quality import (
    DBA,
    DBA_BUDGET,
    STRATEGIES,
    DbaResult,
    QualityResult,
    RealRun,
    dba_comparisons,
    dba_lines,
    hand_design,
    with_set,
)
from bench.qualityspec import HandIndex

T = TableName("public", "t")
A = IndexDesign(T, (KeyColumn.of("a"),))
B = IndexDesign(T, (KeyColumn.of("b"),))
MB = 2**20


def schema_columns(ddl: tuple[str, ...]) -> dict[str, set[str]]:
    """Table -> its columns, as PostgreSQL's parser reads the CREATE TABLE statements."""
    columns: dict[str, set[str]] = {}
    for raw in (s for sql in ddl for s in parse_sql(sql)):
        statement = raw.stmt
        if isinstance(statement, CreateStmt):
            columns[statement.relation.relname] = {
                e.colname for e in statement.tableElts or () if isinstance(e, ColumnDef)
            }
    return columns


class ColumnNames(Visitor):
    """Every column a predicate refers to."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_ColumnRef(self, ancestors: object, node: ColumnRef) -> None:
        self.names.update(f.sval for f in node.fields if isinstance(f, String))


def predicate_columns(predicate: str) -> set[str]:
    visitor = ColumnNames()
    visitor(parse_sql(f"select 1 where {predicate}"))
    return visitor.names


@pytest.mark.parametrize(
    ("ddl", "hand"),
    [
        (oltp.DDL, oltp.DBA_INDEXES),
        (tpch.CREATE_TABLES, tpch.DBA_INDEXES),
        (saas.DDL, saas.DBA_INDEXES),
    ],
    ids=["oltp", "tpch", "saas"],
)
def test_the_dba_set_names_only_tables_and_columns_of_its_schema(
    ddl: tuple[str, ...], hand: tuple[HandIndex, ...]
) -> None:
    schema = schema_columns(ddl)
    assert hand
    for index in hand:
        assert index.table in schema, index
        plain = {c for c in index.columns if not c.startswith("(")}
        assert plain <= schema[index.table], index
        for expression in set(index.columns) - plain:
            assert predicate_columns(f"{expression} is not null") <= schema[index.table], index
        if index.where is not None:
            assert predicate_columns(index.where) <= schema[index.table], index


def test_every_dba_index_says_why_naming_a_statement_it_serves() -> None:
    for workload in (oltp.build(scale=0.01), tpch.build(scale=0.01), saas.build(scale=0.01)):
        names = {statement.name for statement in workload.statements}
        assert workload.dba_indexes
        for index in workload.dba_indexes:
            assert index.reason.strip(), index
            mentioned = set(re.findall(r"\w+", index.reason)) & names
            assert mentioned, index


def test_the_dba_set_has_no_duplicate_and_repeats_no_existing_index() -> None:
    designs = [hand_design(index) for index in oltp.DBA_INDEXES]
    assert len(set(designs)) == len(designs)
    existing = [hand_design(HandIndex(t, ("id",), "pk")) for t in oltp.SERIAL_TABLES]
    existing.append(hand_design(HandIndex("issue_labels", ("issueId", "labelId"), "pk")))
    existing.append(hand_design(HandIndex("users", ("email",), "unique")))
    for design in designs:
        assert not any(design.serves_prefix_of(e) for e in existing), design


def test_the_workloads_carry_their_dba_sets() -> None:
    assert oltp.build(scale=0.01).dba_indexes == oltp.DBA_INDEXES
    assert tpch.build(scale=0.01).dba_indexes == tpch.DBA_INDEXES
    assert saas.build(scale=0.01).dba_indexes == saas.DBA_INDEXES


def test_a_partial_dba_index_is_built_with_its_predicate() -> None:
    (unread,) = [i for i in oltp.DBA_INDEXES if i.table == "notifications"]
    assert hand_design(unread).create_sql(concurrently=False) == (
        'CREATE INDEX IF NOT EXISTS "notifications_userId_createdAt_part_idx" ON '
        'public.notifications USING btree ("userId", "createdAt") WHERE "readAt" IS NULL'
    )


def test_the_dba_set_is_built_once_with_an_equal_chosen_set() -> None:
    sets = {"none": [], "advisor@0.5x": [A, B], "extend@0.5x": [A]}
    assert with_set(sets, DBA, [B, A]) == {
        "none": [],
        "advisor@0.5x, dba": [A, B],
        "extend@0.5x": [A],
    }
    assert list(with_set(sets, DBA, [B])) == ["none", "advisor@0.5x", "extend@0.5x", "dba"]


def run(label: str, total_ms: float, index_bytes: int) -> RealRun:
    return RealRun(label, [], 0.0, total_ms, {}, 0, index_bytes)


def with_dba(real: list[RealRun], strategies: tuple[str, ...] = ("advisor",)) -> QualityResult:
    result = QualityResult("oltp", "", 1.0, 100, 0.0, 2, 2, 2, {}, 100.0, 100.0, [], real)
    comparisons = dba_comparisons(real, ["0.5x", "1x"], strategies)
    result.dba = DbaResult([], {}, 0, 0.0, 0.0, comparisons)
    return result


def test_the_ratio_is_the_advisors_real_round_over_the_dbas() -> None:
    real = [
        run("none", 30_000.0, 0),
        run("advisor@0.5x, ilp@0.5x", 1_500.0, 40 * MB),
        run("dba", 2_000.0, 90 * MB),
        run("advisor@1x", 1_000.0, 60 * MB),
    ]
    lines = dba_lines([with_dba(real)])
    generic = "advisor: generic plans only, as the baselines"
    assert lines == [
        f"oltp 0.5x: advisor residual real time / DBA's: 0.75 (40 MB, DBA 90 MB; {generic})",
        f"oltp 1x: advisor residual real time / DBA's: 0.50 (60 MB, DBA 90 MB; {generic})",
    ]


def test_every_advisor_strategy_is_compared_with_the_dba_at_every_budget_its_own_line() -> None:
    real = [
        run("none", 30_000.0, 0),
        run("advisor@0.5x", 1_500.0, 40 * MB),
        run("shipped@0.5x, values@0.5x", 1_200.0, 45 * MB),
        run("advisor@dba, shipped@dba", 1_000.0, 80 * MB),
        run("dba", 2_000.0, 90 * MB),
        run("values@dba", 900.0, 85 * MB),
    ]
    comparisons = dba_comparisons(real, ["0.5x", DBA_BUDGET], STRATEGIES)
    assert [(c.strategy, c.budget, c.ratio) for c in comparisons] == [
        ("advisor", "0.5x", 0.75),
        ("advisor", "dba", 0.5),
        ("shipped", "0.5x", 0.6),
        ("shipped", "dba", 0.5),
        ("values", "0.5x", 0.6),
        ("values", "dba", 0.45),
    ]
    result = with_dba(real)
    assert result.dba is not None
    result.dba.comparisons = comparisons
    lines = dba_lines([result])
    assert lines[3] == (
        "oltp at the DBA's bytes: shipped residual real time / DBA's: 0.50 (80 MB, DBA 90 MB; "
        "shipped: the product as shipped, pg_stat_statements only)"
    )
    assert lines[5].startswith("oltp at the DBA's bytes: values residual real time / DBA's: 0.45")
    assert lines[5].endswith(
        "values: the product as shipped, with the workload's values from the server log)"
    )


def test_a_strategy_that_did_not_run_is_not_compared() -> None:
    real = [run("none", 3_000.0, 0), run("dba", 1_000.0, 5 * MB)]
    comparisons = dba_comparisons(real, ["0.5x"], ("advisor", "dba"))
    assert [c.strategy for c in comparisons] == ["advisor"]


def test_an_advisor_that_chose_nothing_is_compared_by_the_round_without_new_indexes() -> None:
    real = [run("none", 3_000.0, 0), run("advisor@1x, dba", 1_000.0, 5 * MB)]
    dba = with_dba(real).dba
    assert dba is not None
    (half, whole) = dba.comparisons
    assert (half.ms, half.ratio, half.index_bytes) == (3_000.0, 3.0, 0)
    assert (whole.ratio, whole.index_bytes, whole.dba_bytes) == (1.0, 5 * MB, 5 * MB)


def test_no_dba_run_no_comparison() -> None:
    real = [run("none", 1.0, 0), run("advisor@0.5x", 1.0, 1)]
    assert dba_comparisons(real, ["0.5x"], STRATEGIES) == []
