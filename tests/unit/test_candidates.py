"""Candidate designs derived from how statements read tables."""

from __future__ import annotations

from advisor.analyze.candidates import (
    Extensions,
    PageOrders,
    candidate_groups,
    generate_candidates,
)
from advisor.analyze.sqltext import as_written
from advisor.config import Settings, candidate_settings
from advisor.model import (
    Column,
    Disjunction,
    Filter,
    Index,
    IndexDesign,
    KeyColumn,
    Operator,
    OrderKey,
    ParsedStatement,
    Schema,
    StatementKind,
    Table,
    TableAccess,
    TableName,
)

POSTS = TableName("public", "posts")
COLUMNS = ("id", "author_id", "status", "created_at", "title", "body", "score")


def schema(*indexes: Index) -> Schema:
    columns = tuple(
        Column(c, "text" if c == "body" else "integer", n_distinct=-0.5 if c == "author_id" else 5)
        for c in COLUMNS
    )
    table = Table(POSTS, columns, indexes=indexes, row_estimate=100_000)
    return Schema({POSTS: table})


def statement(
    queryid: int, access: TableAccess, kind: StatementKind = StatementKind.SELECT
) -> ParsedStatement:
    return ParsedStatement(queryid, kind, as_written("select 1"), (access,))


def keys(*columns: str) -> tuple[KeyColumn, ...]:
    return tuple(KeyColumn.of(c) for c in columns)


def designs(*statements: ParsedStatement, existing: tuple[Index, ...] = ()) -> set[IndexDesign]:
    return set(generate_candidates(statements, schema(*existing), candidate_settings(Settings())))


PAGINATION = TableAccess(
    POSTS,
    filters=(Filter("author_id", Operator.EQUALITY),),
    order_by=(OrderKey.of("created_at", descending=True),),
    used_columns=frozenset({"id", "title", "author_id", "created_at"}),
    limited=True,
)


def test_equality_then_order_by_with_backward_scan_direction() -> None:
    found = designs(statement(1, PAGINATION))
    assert IndexDesign(POSTS, keys("author_id", "created_at")) in found
    assert IndexDesign(POSTS, keys("author_id")) in found


def test_mixed_order_directions_are_kept_relative_to_each_other() -> None:
    access = TableAccess(
        POSTS,
        filters=(Filter("author_id", Operator.EQUALITY),),
        order_by=(OrderKey.of("score", descending=True), OrderKey.of("created_at")),
    )
    found = designs(statement(1, access))
    expected = (KeyColumn.of("author_id"), KeyColumn.of("score"), KeyColumn.of("created_at", True))
    assert IndexDesign(POSTS, expected) in found


def test_covering_variant_includes_the_other_selected_columns() -> None:
    found = designs(statement(1, PAGINATION))
    assert IndexDesign(POSTS, keys("author_id", "created_at"), include=("id", "title")) in found


def test_no_covering_variant_for_select_star_or_wide_columns() -> None:
    star = TableAccess(POSTS, filters=(Filter("author_id", Operator.EQUALITY),), used_columns=None)
    wide = TableAccess(
        POSTS, filters=(Filter("author_id", Operator.EQUALITY),), used_columns=frozenset({"body"})
    )
    assert all(not d.include for d in designs(statement(1, star), statement(2, wide)))


def test_no_covering_variant_for_writes() -> None:
    update = TableAccess(
        POSTS, filters=(Filter("author_id", Operator.EQUALITY),), used_columns=frozenset({"score"})
    )
    assert all(not d.include for d in designs(statement(1, update, StatementKind.UPDATE)))


def test_equality_columns_come_before_the_range_column() -> None:
    access = TableAccess(
        POSTS,
        filters=(Filter("created_at", Operator.RANGE), Filter("status", Operator.EQUALITY)),
    )
    found = designs(statement(1, access))
    assert IndexDesign(POSTS, keys("status", "created_at")) in found
    assert IndexDesign(POSTS, keys("created_at", "status")) not in found


def test_equality_column_used_by_more_statements_leads() -> None:
    both = TableAccess(
        POSTS,
        filters=(Filter("status", Operator.EQUALITY), Filter("author_id", Operator.EQUALITY)),
    )
    status_only = TableAccess(POSTS, filters=(Filter("status", Operator.EQUALITY),))
    found = designs(statement(1, both), statement(2, status_only))
    assert IndexDesign(POSTS, keys("status", "author_id")) in found
    assert IndexDesign(POSTS, keys("author_id", "status")) not in found


def test_order_by_fixed_by_equality_is_not_needed_in_the_index() -> None:
    access = TableAccess(
        POSTS,
        filters=(Filter("author_id", Operator.EQUALITY),),
        order_by=(OrderKey.of("author_id"), OrderKey.of("created_at")),
    )
    assert IndexDesign(POSTS, keys("author_id", "created_at")) in designs(statement(1, access))


def test_candidates_served_by_an_existing_index_are_dropped() -> None:
    existing = Index("posts_author_created", POSTS, keys("author_id", "created_at"))
    found = designs(statement(1, PAGINATION), existing=(existing,))
    assert IndexDesign(POSTS, keys("author_id")) not in found
    assert IndexDesign(POSTS, keys("author_id", "created_at")) not in found
    # Nor a covering copy of its keys: a second index on the same leading column.
    assert not any(d.key_columns in (("author_id",), ("author_id", "created_at")) for d in found)
    assert any(d.include for d in designs(statement(1, PAGINATION)))


def test_an_invalid_existing_index_serves_nothing() -> None:
    broken = Index("posts_author", POSTS, keys("author_id"), valid=False)
    assert IndexDesign(POSTS, keys("author_id")) in designs(
        statement(1, PAGINATION), existing=(broken,)
    )


def test_candidates_map_to_every_statement_they_may_help() -> None:
    other = TableAccess(POSTS, filters=(Filter("author_id", Operator.IN_LIST),))
    found = generate_candidates(
        [statement(1, PAGINATION), statement(2, other)], schema(), candidate_settings(Settings())
    )
    assert found[IndexDesign(POSTS, keys("author_id"))] == {1, 2}


def test_key_count_is_capped() -> None:
    access = TableAccess(
        POSTS,
        filters=tuple(Filter(c, Operator.EQUALITY) for c in ("id", "author_id", "status", "score")),
        order_by=(OrderKey.of("created_at"),),
    )
    found = generate_candidates(
        [statement(1, access)], schema(), candidate_settings(Settings(max_key_columns=3))
    )
    assert max(len(d.keys) for d in found) == 3


def test_join_column_gets_a_candidate() -> None:
    access = TableAccess(POSTS, join_columns=("author_id",))
    assert IndexDesign(POSTS, keys("author_id")) in designs(statement(1, access))


def test_order_alone_is_a_candidate_only_when_a_limit_stops_the_scan() -> None:
    assert IndexDesign(POSTS, keys("created_at")) in designs(statement(1, PAGINATION))
    unlimited = TableAccess(
        POSTS,
        filters=PAGINATION.filters,
        order_by=PAGINATION.order_by,
        used_columns=PAGINATION.used_columns,
    )
    assert IndexDesign(POSTS, keys("created_at")) not in designs(statement(1, unlimited))


def test_extensions_append_a_column_used_together_with_all_the_keys() -> None:
    by_status = TableAccess(
        POSTS,
        filters=(
            Filter("author_id", Operator.EQUALITY),
            Filter("status", Operator.EQUALITY),
        ),
    )
    extensions = Extensions(
        [statement(1, PAGINATION), statement(2, by_status)],
        schema(),
        candidate_settings(Settings()),
    )
    wider = extensions(IndexDesign(POSTS, keys("author_id")))
    assert wider == {
        IndexDesign(POSTS, keys("author_id", "created_at")): frozenset({1}),
        IndexDesign(POSTS, keys("author_id", "status")): frozenset({2}),
    }
    # Nothing uses created_at together with status.
    assert extensions(IndexDesign(POSTS, keys("status"))) == {
        IndexDesign(POSTS, keys("status", "author_id")): frozenset({2})
    }
    # An existing index that already serves the extension leaves nothing to add.
    existing = Index("posts_a_s", POSTS, keys("author_id", "status", "created_at"))
    served = Extensions([statement(2, by_status)], schema(existing), candidate_settings(Settings()))
    assert served(IndexDesign(POSTS, keys("author_id"))) == {}
    # Covering designs are not extended.
    covering = IndexDesign(POSTS, keys("author_id"), include=("title",))
    assert extensions(covering) == {}


# ------------------------------------------------------------------- page orders


def _page(*, limited: bool = True, order: tuple[OrderKey, ...] = ()) -> ParsedStatement:
    access = TableAccess(
        POSTS,
        filters=(Filter("author_id", Operator.EQUALITY),),
        order_by=order or (OrderKey.of("created_at", descending=True),),
        limited=limited,
    )
    return statement(1, access)


def test_a_page_read_through_equality_columns_names_the_ordered_design() -> None:
    orders = PageOrders([_page()], schema(), candidate_settings(Settings()))
    by_author = IndexDesign(POSTS, (KeyColumn.of("author_id"),))
    assert orders(by_author) == IndexDesign(
        POSTS, (KeyColumn.of("author_id"), KeyColumn.of("created_at"))
    )
    # Already ordered, another column set, or no LIMIT: nothing to add.
    assert orders(orders(by_author) or by_author) is None
    assert orders(IndexDesign(POSTS, (KeyColumn.of("status"),))) is None
    unlimited = PageOrders([_page(limited=False)], schema(), candidate_settings(Settings()))
    assert unlimited(by_author) is None


def test_a_page_order_keeps_its_directions_and_drops_covered_include_columns() -> None:
    mixed = (OrderKey.of("score", descending=True), OrderKey.of("id"))
    orders = PageOrders([_page(order=mixed)], schema(), candidate_settings(Settings()))
    covering = IndexDesign(POSTS, (KeyColumn.of("author_id"),), include=("score", "title"))
    assert orders(covering) == IndexDesign(
        POSTS,
        (KeyColumn.of("author_id"), KeyColumn.of("score"), KeyColumn.of("id", descending=True)),
        include=("title",),
    )


def _eq(column: str) -> Filter:
    return Filter(column, Operator.EQUALITY)


MINE = TableAccess(
    POSTS,
    filters=(Filter("created_at", Operator.RANGE),),
    disjunctions=(Disjunction(((_eq("author_id"),), (_eq("status"), _eq("score")))),),
)


def _groups(*existing: Index) -> dict[tuple[IndexDesign, ...], frozenset[int]]:
    return candidate_groups([statement(1, MINE)], schema(*existing), candidate_settings(Settings()))


def test_an_or_of_columns_gives_one_design_per_arm_as_one_group() -> None:
    arms = tuple(
        sorted([IndexDesign(POSTS, keys("author_id")), IndexDesign(POSTS, keys("score", "status"))])
    )
    assert _groups() == {arms: frozenset({1})}
    # Each arm's design is also a candidate of its own.
    assert set(arms) <= designs(statement(1, MINE))


def test_the_arms_are_led_by_the_statements_and_ed_equality_columns_too() -> None:
    access = TableAccess(
        POSTS,
        filters=(_eq("title"),),
        disjunctions=(Disjunction(((_eq("author_id"),), (_eq("status"),))),),
    )
    found = candidate_groups([statement(1, access)], schema(), candidate_settings(Settings()))
    assert set(found) == {
        (IndexDesign(POSTS, keys("author_id")), IndexDesign(POSTS, keys("status"))),
        (
            IndexDesign(POSTS, keys("title", "author_id")),
            IndexDesign(POSTS, keys("title", "status")),
        ),
    }


def test_an_arm_an_existing_index_serves_leaves_no_group_only_the_other_design() -> None:
    existing = Index("posts_author", POSTS, keys("author_id", "created_at"))
    assert _groups(existing) == {}
    assert IndexDesign(POSTS, keys("score", "status")) in designs(statement(1, MINE))
