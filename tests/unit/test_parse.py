"""How a normalized statement text becomes a description of the table accesses it makes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.analyze import parse as parse_module
from advisor.analyze.bounds import ParseSettings
from advisor.analyze.parse import parse_statement
from advisor.config import Settings, parse_settings
from advisor.model import (
    Column,
    Disjunction,
    Filter,
    Operator,
    OrderKey,
    ParsedStatement,
    Schema,
    Skipped,
    StatementKind,
    Table,
    TableAccess,
    TableName,
)

# ---------------------------------------------------------------------------- fixtures


def table(name: str, *columns: str, schema: str = "public") -> Table:
    return Table(TableName(schema, name), tuple(Column(c, "text") for c in columns))


def make_schema(*tables: Table, search_path: tuple[str, ...] = ("public",)) -> Schema:
    return Schema({t.name: t for t in tables}, search_path)


LIMITS = parse_settings(Settings())
USERS = TableName("public", "users")
POSTS = TableName("public", "posts")
COMMENTS = TableName("public", "comments")
ORDERS = TableName("public", "order")
USER = TableName("public", "user")
ACCOUNTS = TableName("public", "UserAccounts")
EVENTS = TableName("analytics", "events")

SCHEMA = make_schema(
    table("users", "id", "tenant_id", "email", "name", "created_at", "active", "deleted_at"),
    table("posts", "id", "author_id", "tenant_id", "title", "body", "status", "created_at"),
    table("comments", "id", "post_id", "author_id", "body", "created_at"),
    table("order", "id", "user_id", "total", "status", "created_at"),
    table("user", "id", "name"),
    table("UserAccounts", "id", "orgId", "displayName", "createdAt"),
    table("events", "id", "kind", "occurred_at", schema="analytics"),
)


def parse(text: str, schema: Schema = SCHEMA) -> ParsedStatement:
    result = parse_statement(42, text, schema, LIMITS)
    assert isinstance(result, ParsedStatement), result
    return result


def skipped(text: str, schema: Schema = SCHEMA) -> Skipped:
    result = parse_statement(42, text, schema, LIMITS)
    assert isinstance(result, Skipped), result
    return result


def only(text: str, schema: Schema = SCHEMA) -> TableAccess:
    """The single table access of a statement."""
    accesses = parse(text, schema).accesses
    assert len(accesses) == 1, accesses
    return accesses[0]


def access(parsed: ParsedStatement, name: TableName, nth: int = 0) -> TableAccess:
    """The nth access (in order of appearance) of one table."""
    return [a for a in parsed.accesses if a.table == name][nth]


def eq(column: str) -> Filter:
    return Filter(column, Operator.EQUALITY)


def rng(column: str) -> Filter:
    return Filter(column, Operator.RANGE)


def in_list(column: str) -> Filter:
    return Filter(column, Operator.IN_LIST)


# ------------------------------------------------------------------- single-table filters


def test_orm_pagination_gives_equality_range_descending_order_and_limit() -> None:
    found = only(
        'SELECT "posts"."id", "posts"."title" FROM "posts" WHERE "tenant_id" = $1 '
        'AND "created_at" < $2 ORDER BY "created_at" DESC LIMIT $3'
    )
    assert found == TableAccess(
        POSTS,
        filters=(eq("tenant_id"), rng("created_at")),
        order_by=(OrderKey.of("created_at", descending=True),),
        used_columns=frozenset({"id", "title", "tenant_id", "created_at"}),
        limited=True,
    )


def test_multi_column_equality_lists_every_column_in_order_of_appearance() -> None:
    found = only("select id from posts where author_id = $1 and status = $2 and tenant_id = $3")
    assert found.filters == (eq("author_id"), eq("status"), eq("tenant_id"))


def test_in_list_of_parameters_is_an_in_list_filter() -> None:
    found = only("select id from posts where status in ($1, $2, $3)")
    assert found.filters == (in_list("status"),)


def test_a_generated_in_list_of_16000_parameters_keeps_every_parameter_once() -> None:
    # Each parameter used to be looked up in a list before being added: 64 s at 16,000.
    numbers = range(1, 16_001)
    text = f"select id from posts where id in ({', '.join(f'${n}' for n in numbers)})"
    # A budget far above the linear time (0.6 s), far below the quadratic (64 s).
    found = parse_statement(42, text, SCHEMA, ParseSettings(200_000, 20_000))
    assert isinstance(found, ParsedStatement), found
    assert [a.filters for a in found.accesses] == [(in_list("id"),)]
    assert [use.number for use in found.parameters] == list(numbers)


def test_pg18_squashed_in_list_is_an_in_list_filter() -> None:
    found = only("select id from posts where status in ($1 /*, ... */) and author_id = $2")
    assert found.filters == (in_list("status"), eq("author_id"))


def test_equality_to_any_of_an_array_parameter_is_an_in_list_filter() -> None:
    assert only('select * from "users" where "id" = ANY($1)').filters == (in_list("id"),)


def test_not_in_and_not_equal_are_not_filters() -> None:
    found = only("select id from posts where status not in ($1, $2) and author_id <> $3")
    assert found.filters == ()
    assert found.used_columns == frozenset({"id", "status", "author_id"})


def test_is_null_is_a_filter_but_is_not_null_is_not() -> None:
    found = only("select id from users where deleted_at is null and email is not null")
    assert found.filters == (Filter("deleted_at", Operator.IS_NULL),)
    assert found.used_columns == frozenset({"id", "deleted_at", "email"})


def test_range_operators_and_between_are_range_filters() -> None:
    found = only(
        "select id from posts where created_at >= $1 and id <= $2 and author_id between $3 and $4"
    )
    assert found.filters == (rng("created_at"), rng("id"), rng("author_id"))


def test_repeated_range_on_one_column_is_reported_once() -> None:
    found = only("select id from posts where created_at >= $1 and created_at < $2")
    assert found.filters == (rng("created_at"),)


def test_parameter_on_the_left_side_still_filters_the_column() -> None:
    found = only("select id from posts where $1 = author_id and $2 < created_at")
    assert found.filters == (eq("author_id"), rng("created_at"))


def test_like_with_a_parameter_or_a_prefix_constant_is_a_prefix_filter() -> None:
    found = only("select id from users where email like $1 and name like 'abc%'")
    assert found.filters == (
        Filter("email", Operator.LIKE_PREFIX),
        Filter("name", Operator.LIKE_PREFIX),
    )


def test_like_with_a_leading_wildcard_or_ilike_is_not_a_filter() -> None:
    found = only("select id from users where name like '%abc' and email ilike $1")
    assert found.filters == ()
    assert found.used_columns == frozenset({"id", "name", "email"})


def test_conditions_under_or_and_not_are_not_filters_but_their_columns_are_used() -> None:
    found = only(
        "select id from posts where tenant_id = $1 and (status = $2 or author_id = $3) "
        "and not (title = $4)"
    )
    assert found.filters == (eq("tenant_id"),)
    assert found.used_columns == frozenset({"id", "tenant_id", "status", "author_id", "title"})


def test_an_or_of_one_tables_columns_is_recorded_as_a_disjunction_of_its_arms() -> None:
    found = only(
        "select id from posts where (author_id = $1 or (tenant_id = $2 and status = $3) "
        "or id in ($4, $5)) and created_at < $6"
    )
    assert found.filters == (rng("created_at"),)
    assert found.disjunctions == (
        Disjunction(
            (
                (eq("author_id"),),
                (eq("tenant_id"), eq("status")),
                (Filter("id", Operator.IN_LIST),),
            )
        ),
    )


def test_an_or_with_an_arm_no_index_serves_or_across_tables_is_no_disjunction() -> None:
    assert only("select id from users where email = $1 or lower(name) = $2").disjunctions == ()
    parsed = parse(
        "select p.id from posts p join users u on u.id = p.author_id "
        "where p.status = $1 or u.email = $2"
    )
    assert all(a.disjunctions == () for a in parsed.accesses)
    subquery = (
        "select id from posts where author_id = $1 or status = (select max(body) from comments)"
    )
    assert access(parse(subquery), POSTS).disjunctions == ()


def test_nested_and_groups_are_flattened_into_top_level_filters() -> None:
    found = only("select id from posts where (tenant_id = $1 and (status = $2 and id > $3))")
    assert found.filters == (eq("tenant_id"), eq("status"), rng("id"))


def test_column_under_a_function_or_cast_is_used_but_not_a_plain_filter() -> None:
    found = only("select id from users where lower(email) = $1 and created_at::date = $2")
    assert found.filters == ()
    assert found.used_columns == frozenset({"id", "email", "created_at"})


def test_comparison_with_an_expression_of_parameters_is_a_filter() -> None:
    found = only("select id from posts where created_at > now() - $1::interval")
    assert found.filters == (rng("created_at"),)


def test_comparison_between_two_columns_of_the_same_table_is_not_a_filter() -> None:
    found = only("select id from posts where created_at > id")
    assert found.filters == ()
    assert found.join_columns == ()


def test_bare_boolean_column_is_an_equality_filter() -> None:
    assert only("select id from users where active and tenant_id = $1").filters == (
        eq("active"),
        eq("tenant_id"),
    )


def test_keyset_row_comparison_ranges_on_the_leading_column() -> None:
    found = only(
        "select id from posts where (created_at, id) < ($1, $2) order by created_at desc, id desc "
        "limit $3"
    )
    assert found.filters == (rng("created_at"),)
    assert found.order_by == (
        OrderKey.of("created_at", descending=True),
        OrderKey.of("id", descending=True),
    )


def test_row_equality_is_one_equality_per_column() -> None:
    found = only("select id from posts where (author_id, status) = ($1, $2)")
    assert found.filters == (eq("author_id"), eq("status"))


def test_row_in_list_of_composite_keys_is_an_in_list_on_each_column() -> None:
    found = only("select id from posts where (author_id, status) in (($1, $2), ($3, $4))")
    assert found.filters == (in_list("author_id"), in_list("status"))


# -------------------------------------------------------------------- names and resolution


def test_mixed_case_quoted_table_and_column_names_keep_their_catalog_spelling() -> None:
    found = only(
        'select "UserAccounts"."id", "UserAccounts"."displayName" from "UserAccounts" '
        'where "UserAccounts"."orgId" = $1 order by "UserAccounts"."createdAt" desc limit $2'
    )
    assert found.table == ACCOUNTS
    assert found.filters == (eq("orgId"),)
    assert found.order_by == (OrderKey.of("createdAt", descending=True),)
    assert found.used_columns == frozenset({"id", "displayName", "orgId", "createdAt"})


def test_unquoted_mixed_case_names_fold_to_lower_case_and_miss_a_mixed_case_table() -> None:
    assert skipped("select id from UserAccounts where orgId = $1").reason == "no user tables"


def test_tables_named_by_reserved_words_resolve_when_quoted() -> None:
    parsed = parse(
        'select "order"."total", "user"."name" from "order" join "user" '
        'on "user"."id" = "order"."user_id" where "order"."status" = $1'
    )
    assert access(parsed, ORDERS).filters == (eq("status"),)
    assert access(parsed, ORDERS).join_columns == ("user_id",)
    assert access(parsed, USER).join_columns == ("id",)


def test_schema_qualified_table_and_three_part_column_names_resolve() -> None:
    found = only(
        'select "public"."users"."email" from "public"."users" where "public"."users"."id" = $1'
    )
    assert found == TableAccess(USERS, filters=(eq("id"),), used_columns=frozenset({"email", "id"}))


def test_table_outside_the_search_path_resolves_only_when_qualified() -> None:
    assert only("select id from analytics.events where kind = $1").table == EVENTS
    assert skipped("select id from events where kind = $1").reason == "no user tables"


def test_search_path_decides_which_schema_a_bare_name_means() -> None:
    schema = make_schema(
        table("events", "id", "kind", schema="analytics"), search_path=("analytics", "public")
    )
    assert only("select id from events where kind = $1", schema).table == EVENTS


def test_unqualified_column_resolves_to_the_only_table_that_has_it() -> None:
    parsed = parse(
        "select title, email from posts p join users u on u.id = p.author_id where status = $1"
    )
    assert access(parsed, POSTS).filters == (eq("status"),)
    assert access(parsed, POSTS).used_columns == frozenset({"title", "status", "author_id"})
    assert access(parsed, USERS).used_columns == frozenset({"email", "id"})


def test_ambiguous_unqualified_column_is_ignored() -> None:
    parsed = parse(
        "select p.id from posts p join users u on u.id = p.author_id where created_at > $1"
    )
    assert access(parsed, POSTS).filters == ()
    assert access(parsed, USERS).filters == ()
    assert "created_at" not in (access(parsed, USERS).used_columns or ())


def test_unknown_tables_are_ignored_next_to_user_tables() -> None:
    parsed = parse(
        "select u.id, c.relname from users u join pg_catalog.pg_class c on c.relname = u.name "
        "where u.id = $1"
    )
    assert parsed.tables == frozenset({USERS})
    assert access(parsed, USERS).filters == (eq("id"),)


def test_statement_on_catalog_tables_only_is_skipped_as_no_user_tables() -> None:
    result = skipped("select relname from pg_catalog.pg_class where relkind = $1")
    assert result == Skipped(
        42, "no user tables", "select relname from pg_catalog.pg_class where relkind = $1"
    )


def test_statement_without_tables_is_skipped() -> None:
    assert skipped("select pg_sleep($1)").reason == "no user tables"


# ------------------------------------------------------------------- used columns


def test_select_star_reads_every_column() -> None:
    assert only("select * from users where id = $1").used_columns is None


def test_alias_star_reads_every_column_of_that_occurrence_only() -> None:
    parsed = parse("select p.*, u.name from posts p join users u on u.id = p.author_id")
    assert access(parsed, POSTS).used_columns is None
    assert access(parsed, USERS).used_columns == frozenset({"name", "id"})


def test_whole_row_reference_reads_every_column() -> None:
    parsed = parse("select row_to_json(u) from users u where u.id = $1")
    assert access(parsed, USERS).used_columns is None


def test_count_star_reads_no_column() -> None:
    assert only("select count(*) from posts where author_id = $1").used_columns == frozenset(
        {"author_id"}
    )


def test_unknown_column_names_are_not_reported() -> None:
    assert only("select p.nope from posts p where p.id = $1").used_columns == frozenset({"id"})


# ------------------------------------------------------------------------- joins


def test_join_on_equality_gives_each_side_its_join_column() -> None:
    parsed = parse(
        'select "p"."title", "u"."name" from "posts" "p" inner join "users" "u" '
        'on "u"."id" = "p"."author_id" where "u"."tenant_id" = $1'
    )
    assert access(parsed, POSTS) == TableAccess(
        POSTS, join_columns=("author_id",), used_columns=frozenset({"title", "author_id"})
    )
    assert access(parsed, USERS) == TableAccess(
        USERS,
        filters=(eq("tenant_id"),),
        join_columns=("id",),
        used_columns=frozenset({"name", "id", "tenant_id"}),
    )


def test_comma_join_with_where_equality_is_a_join() -> None:
    parsed = parse(
        "select c.body from comments c, posts p where c.post_id = p.id and p.author_id = $1"
    )
    assert access(parsed, COMMENTS).join_columns == ("post_id",)
    assert access(parsed, POSTS).join_columns == ("id",)
    assert access(parsed, POSTS).filters == (eq("author_id"),)


def test_join_using_marks_the_column_on_both_sides() -> None:
    schema = make_schema(table("a", "id", "x"), table("b", "id", "y"))
    parsed = parse("select a.x, b.y from a join b using (id) where b.y = $1", schema)
    assert [a.join_columns for a in parsed.accesses] == [("id",), ("id",)]


def test_left_join_on_filters_only_the_nullable_side() -> None:
    parsed = parse(
        "select u.id from users u left join posts p on p.author_id = u.id "
        "and p.status = $1 and u.active"
    )
    assert access(parsed, POSTS).filters == (eq("status"),)
    assert access(parsed, USERS).filters == ()
    assert access(parsed, USERS).used_columns == frozenset({"id", "active"})


def test_self_join_gives_two_accesses_of_the_same_table() -> None:
    parsed = parse(
        "select c1.id from comments c1 join comments c2 on c2.post_id = c1.post_id "
        "where c1.author_id = $1 and c2.author_id = $2 and c2.created_at > c1.created_at"
    )
    first, second = access(parsed, COMMENTS, 0), access(parsed, COMMENTS, 1)
    assert first.filters == (eq("author_id"),)
    assert second.filters == (eq("author_id"),)
    assert first.join_columns == second.join_columns == ("post_id",)
    assert first.used_columns == frozenset({"id", "post_id", "author_id", "created_at"})
    assert second.used_columns == frozenset({"post_id", "author_id", "created_at"})


def test_join_to_an_unnested_parameter_array_gives_the_table_a_join_column() -> None:
    found = only("select u.name from users u join unnest($1::int[]) as ids(id) on ids.id = u.id")
    assert found.join_columns == ("id",)


# ----------------------------------------------------------------- subqueries and CTEs

DRIZZLE = (
    'select "users"."id", "users"."name", "users_posts"."data" as "posts" from "users" "users" '
    'left join lateral (select coalesce(json_agg(json_build_array("users_posts"."id", '
    '"users_posts"."title", "users_posts"."created_at") order by "users_posts"."created_at" '
    'desc), \'[]\'::json) as "data" from (select * from "posts" "users_posts" where '
    '"users_posts"."author_id" = "users"."id" order by "users_posts"."created_at" desc '
    'limit $1) "users_posts") "users_posts" on true where "users"."id" = $2 limit $3'
)


def test_drizzle_relational_query_resolves_columns_inside_json_agg_lateral() -> None:
    parsed = parse(DRIZZLE)
    assert parsed.kind is StatementKind.SELECT
    assert parsed.parameter_count == 3
    assert [a.table for a in parsed.accesses] == [USERS, POSTS]
    assert access(parsed, USERS) == TableAccess(
        USERS, filters=(eq("id"),), used_columns=frozenset({"id", "name"}), limited=True
    )
    posts = access(parsed, POSTS)
    # The outer reference "users"."id" is a value, like a parameter: a filter, not a join.
    assert posts.filters == (eq("author_id"),)
    assert posts.join_columns == ()
    assert posts.order_by == (OrderKey.of("created_at", descending=True),)
    assert posts.limited
    assert posts.used_columns is None  # `select *` in the innermost block


def test_subquery_in_from_is_its_own_block() -> None:
    parsed = parse(
        "select x.id from (select id, author_id from posts where tenant_id = $1 "
        "order by created_at limit $2) x join users u on u.id = x.author_id"
    )
    posts = access(parsed, POSTS)
    assert posts.filters == (eq("tenant_id"),)
    assert posts.order_by == (OrderKey.of("created_at"),)
    assert posts.limited
    assert posts.join_columns == ()
    assert access(parsed, USERS).join_columns == ("id",)
    assert not access(parsed, USERS).limited


def test_cte_body_is_analyzed_and_a_cte_reference_is_not_a_table() -> None:
    parsed = parse(
        "with recent as (select * from posts where created_at > $1) "
        "select r.id, u.name from recent r join users u on u.id = r.author_id"
    )
    assert parsed.kind is StatementKind.SELECT
    assert [a.table for a in parsed.accesses] == [POSTS, USERS]
    assert access(parsed, POSTS).filters == (rng("created_at"),)
    assert access(parsed, USERS).join_columns == ("id",)


def test_cte_name_shadows_a_table_of_the_same_name() -> None:
    parsed = parse(
        "with users as (select id from users where tenant_id = $1) "
        "select p.id from posts p join users on users.id = p.author_id"
    )
    assert [a.table for a in parsed.accesses] == [USERS, POSTS]
    assert access(parsed, USERS).filters == (eq("tenant_id"),)
    assert access(parsed, USERS).join_columns == ()
    assert access(parsed, POSTS).join_columns == ("author_id",)


def test_recursive_cte_reads_the_table_in_both_branches() -> None:
    parsed = parse(
        "with recursive thread as (select id, post_id from comments where id = $1 "
        "union all select c.id, c.post_id from comments c join thread t on c.post_id = t.id) "
        "select * from thread"
    )
    first, second = access(parsed, COMMENTS, 0), access(parsed, COMMENTS, 1)
    assert first.filters == (eq("id"),)
    assert second.join_columns == ("post_id",)


def test_union_branches_are_separate_blocks_and_the_union_order_is_not_attributed() -> None:
    parsed = parse(
        "select id, created_at from posts where author_id = $1 union all "
        "select id, created_at from comments where author_id = $2 order by created_at limit $3"
    )
    assert access(parsed, POSTS).filters == (eq("author_id"),)
    assert access(parsed, COMMENTS).filters == (eq("author_id"),)
    assert all(a.order_by == () and not a.limited for a in parsed.accesses)


def test_correlated_exists_subquery_filters_the_inner_table_by_the_outer_column() -> None:
    parsed = parse(
        'select "u"."id" from "users" "u" where "u"."tenant_id" = $1 and exists '
        '(select 1 from "posts" "p" where "p"."author_id" = "u"."id" and "p"."status" = $2)'
    )
    assert access(parsed, POSTS).filters == (eq("author_id"), eq("status"))
    assert access(parsed, POSTS).join_columns == ()
    assert access(parsed, USERS).filters == (eq("tenant_id"),)
    assert access(parsed, USERS).used_columns == frozenset({"id", "tenant_id"})


def test_unqualified_outer_reference_in_a_subquery_resolves_to_the_enclosing_block() -> None:
    parsed = parse(
        "select id from users where exists (select 1 from comments where post_id = $1 "
        "and author_id = users.id and email is not null)"
    )
    assert access(parsed, COMMENTS).filters == (eq("post_id"), eq("author_id"))
    assert access(parsed, USERS).used_columns == frozenset({"id", "email"})


def test_in_subquery_is_a_semi_join_on_the_outer_column() -> None:
    parsed = parse(
        "select id, title from posts where author_id in "
        "(select id from users where tenant_id = $1) limit $2"
    )
    posts = access(parsed, POSTS)
    assert posts.join_columns == ("author_id",)
    assert posts.filters == ()
    assert posts.limited
    assert access(parsed, USERS).filters == (eq("tenant_id"),)
    assert not access(parsed, USERS).limited


def test_correlated_scalar_subquery_in_select_list_filters_the_inner_table() -> None:
    parsed = parse(
        "select p.id, (select count(*) from comments c where c.post_id = p.id) as n "
        "from posts p where p.author_id = $1"
    )
    assert access(parsed, COMMENTS).filters == (eq("post_id"),)
    assert access(parsed, POSTS).filters == (eq("author_id"),)


def test_uncorrelated_scalar_subquery_is_a_filter_value() -> None:
    parsed = parse(
        "select id from posts where created_at > (select max(created_at) from comments "
        "where author_id = $1)"
    )
    assert access(parsed, POSTS).filters == (rng("created_at"),)
    assert access(parsed, COMMENTS).filters == (eq("author_id"),)


def test_comparison_with_a_subquery_correlated_to_the_same_block_is_not_a_filter() -> None:
    parsed = parse(
        "select id from posts p where p.created_at = (select max(c.created_at) from comments c "
        "where c.post_id = p.id)"
    )
    assert access(parsed, POSTS).filters == ()


# ----------------------------------------------------------------- ORDER BY and GROUP BY


def test_order_by_with_explicit_nulls_and_mixed_directions() -> None:
    found = only(
        "select id from posts order by author_id asc nulls first, created_at desc nulls last"
    )
    assert found.order_by == (
        OrderKey("author_id", descending=False, nulls_first=True),
        OrderKey("created_at", descending=True, nulls_first=False),
    )


def test_order_by_over_two_tables_is_attributed_to_neither() -> None:
    parsed = parse(
        "select p.id from posts p join users u on u.id = p.author_id order by u.name, p.created_at"
    )
    assert all(a.order_by == () for a in parsed.accesses)


def test_order_by_an_expression_is_not_attributed() -> None:
    found = only("select id from posts order by created_at desc, lower(title)")
    assert found.order_by == ()
    assert found.used_columns == frozenset({"id", "created_at", "title"})


def test_order_by_output_alias_and_position_resolve_to_the_column() -> None:
    found = only("select id, created_at as c from posts where author_id = $1 order by c desc, 1")
    assert found.order_by == (OrderKey.of("created_at", descending=True), OrderKey.of("id"))


def test_order_by_an_implicit_output_name_resolves_an_otherwise_ambiguous_name() -> None:
    parsed = parse(
        "select p.created_at from posts p join users u on u.id = p.author_id order by created_at"
    )
    assert access(parsed, POSTS).order_by == (OrderKey.of("created_at"),)


def test_order_by_an_aggregate_alias_is_not_attributed() -> None:
    found = only("select author_id, count(*) as n from posts group by author_id order by n desc")
    assert found.order_by == ()
    assert found.group_by == ("author_id",)


def test_ordered_aggregate_is_not_the_block_order() -> None:
    found = only("select json_agg(title order by created_at) from posts where author_id = $1")
    assert found.order_by == ()
    assert found.used_columns == frozenset({"title", "created_at", "author_id"})


def test_group_by_lists_each_tables_own_plain_columns_in_order() -> None:
    parsed = parse(
        "select p.status, u.tenant_id, p.author_id, count(*) from posts p "
        "join users u on u.id = p.author_id group by p.status, u.tenant_id, p.author_id, "
        "date_trunc('day', p.created_at)"
    )
    assert access(parsed, POSTS).group_by == ("status", "author_id")
    assert access(parsed, USERS).group_by == ("tenant_id",)


def test_group_by_position_resolves_to_the_select_list_column() -> None:
    assert only("select status, count(*) from posts group by 1").group_by == ("status",)


# ------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("tail", "limited"),
    [
        ("limit $1", True),
        ("fetch first $1 rows only", True),
        ("order by id fetch first 5 rows with ties", True),
        ("offset $1", False),
        ("limit all", False),
        ("", False),
    ],
)
def test_limited_means_the_block_has_a_limit(tail: str, limited: bool) -> None:
    assert only(f"select id from posts {tail}").limited is limited


# ----------------------------------------------------------------------- DML


def test_update_where_gives_filters_and_set_columns_are_used() -> None:
    parsed = parse(
        'UPDATE "users" SET "name" = $1, "active" = $2 WHERE "id" = $3 RETURNING "email"'
    )
    assert parsed.kind is StatementKind.UPDATE
    assert parsed.accesses == (
        TableAccess(
            USERS,
            filters=(eq("id"),),
            used_columns=frozenset({"name", "active", "id", "email"}),
            written_columns=("name", "active"),
        ),
    )


def test_update_from_joins_the_target_with_the_other_table() -> None:
    parsed = parse(
        "update posts p set status = $1 from users u where u.id = p.author_id and u.tenant_id = $2"
    )
    assert access(parsed, POSTS).join_columns == ("author_id",)
    assert access(parsed, USERS).filters == (eq("tenant_id"),)
    assert access(parsed, USERS).join_columns == ("id",)


def test_update_with_multi_column_subquery_counts_its_table_once() -> None:
    parsed = parse(
        "update posts set (title, body) = (select name, email from users where id = $1) "
        "where id = $2"
    )
    assert [a.table for a in parsed.accesses] == [POSTS, USERS]


def test_delete_where_and_using_give_filters_and_joins() -> None:
    parsed = parse(
        "delete from comments c using posts p where c.post_id = p.id and p.author_id = $1 "
        "and c.created_at < $2"
    )
    assert parsed.kind is StatementKind.DELETE
    assert access(parsed, COMMENTS).filters == (rng("created_at"),)
    assert access(parsed, COMMENTS).join_columns == ("post_id",)
    assert access(parsed, POSTS).filters == (eq("author_id"),)


def test_delete_returning_star_reads_every_column() -> None:
    found = only('delete from "order" where "user_id" = $1 returning *')
    assert found.filters == (eq("user_id"),)
    assert found.used_columns is None


def test_insert_values_is_skipped_as_nothing_to_index() -> None:
    result = skipped('INSERT INTO "users" ("id", "name") VALUES ($1, $2) RETURNING "id"')
    assert result.reason == "insert without a query: nothing to index"


def test_insert_select_analyses_the_select_and_ignores_on_conflict() -> None:
    parsed = parse(
        "insert into comments (post_id, body) select id, title from posts where author_id = $1 "
        "on conflict (id) do update set body = excluded.body"
    )
    assert parsed.kind is StatementKind.INSERT
    assert parsed.accesses == (
        TableAccess(
            POSTS, filters=(eq("author_id"),), used_columns=frozenset({"id", "title", "author_id"})
        ),
    )


def test_data_modifying_cte_is_analyzed_and_the_kind_is_the_top_statement() -> None:
    parsed = parse(
        "with moved as (delete from comments where created_at < $1 returning *) "
        "select count(*) from moved"
    )
    assert parsed.kind is StatementKind.SELECT
    assert access(parsed, COMMENTS).filters == (rng("created_at"),)


# --------------------------------------------------------------------- statement level


def test_parameter_count_is_the_highest_parameter_number() -> None:
    assert parse("select id from posts where id = $3 and author_id = $1").parameter_count == 3


def test_output_is_deterministic() -> None:
    assert parse(DRIZZLE) == parse(DRIZZLE)


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("SET statement_timeout = $1", "VariableSetStmt"),
        ("SHOW search_path", "VariableShowStmt"),
        ("BEGIN", "TransactionStmt"),
        ("COMMIT", "TransactionStmt"),
        ('CREATE INDEX ON "users" ("email")', "IndexStmt"),
        ("EXPLAIN select * from users", "ExplainStmt"),
        ("PREPARE q AS select * from users where id = $1", "PrepareStmt"),
        ("COPY users TO STDOUT", "CopyStmt"),
        ("VACUUM ANALYZE users", "VacuumStmt"),
    ],
)
def test_utility_statements_are_skipped_with_their_node_name(text: str, node: str) -> None:
    assert skipped(text).reason == f"utility statement ({node})"


def test_merge_is_skipped_as_unsupported() -> None:
    text = (
        "merge into users u using posts p on p.author_id = u.id "
        "when matched then update set name = p.title"
    )
    assert skipped(text).reason == "unsupported statement (MergeStmt)"


@pytest.mark.parametrize(
    "text", ["selec * from users", "select * from users where", "select 'unterminated"]
)
def test_garbage_text_is_skipped_as_a_syntax_error(text: str) -> None:
    result = skipped(text)
    assert result.reason.startswith("syntax error: ")
    assert result.text == text


def test_several_statements_in_one_text_are_skipped() -> None:
    assert skipped("select * from users; select * from posts").reason.startswith(
        "multiple statements"
    )


def test_empty_text_is_skipped() -> None:
    assert skipped("  -- nothing here\n").reason == "empty statement"


def test_an_analyzer_bug_becomes_a_skip_instead_of_an_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(parse_module._Analyzer, "query", broken)
    assert skipped("select * from users").reason == "analyzer error: RuntimeError: boom"


# ------------------------------------------------------------------ text preparation


def test_plannable_text_of_a_parsed_statement_is_the_prepared_text() -> None:
    parsed = parse("select id from posts where created_at >= timestamptz $1 and id = int8 $2;")
    assert (
        parsed.plannable_text
        == "select id from posts where created_at >= $1::timestamptz and id = $2::int8"
    )
    assert parsed.accesses[0].filters == (rng("created_at"), eq("id"))


# -------------------------------------------------------------------------- properties

_SQL_PIECES = st.sampled_from(
    [
        "select",
        "from",
        "where",
        "and",
        "or",
        "not",
        "join",
        "on",
        "using",
        "lateral",
        "with",
        "as",
        "union",
        "order by",
        "group by",
        "limit",
        "(",
        ")",
        ",",
        "*",
        "=",
        "<",
        "in",
        "exists",
        "users",
        "posts",
        '"users"',
        "u",
        "u.id",
        "id",
        "$1",
        "$2",
        "timestamptz",
        "'x'",
        ";",
        "::",
        "null",
        "is",
        "like",
        "any",
        "update",
        "set",
        "delete",
        "insert into",
        "values",
        "returning",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_raises(text: str) -> None:
    assert isinstance(parse_statement(7, text, SCHEMA, LIMITS), ParsedStatement | Skipped)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SQL_PIECES, max_size=30).map(" ".join))
def test_sql_shaped_garbage_never_raises(text: str) -> None:
    result = parse_statement(7, text, SCHEMA, LIMITS)
    assert isinstance(result, ParsedStatement | Skipped)
    if isinstance(result, Skipped):
        assert not result.reason.startswith("analyzer error"), result


def test_update_records_the_columns_its_set_clause_writes() -> None:
    schema = _schema_for_written_columns()
    parsed = parse_statement(
        1, 'UPDATE "tasks" SET "status" = $1, "updated_at" = now() WHERE "id" = $2', schema, LIMITS
    )
    assert isinstance(parsed, ParsedStatement)
    (access,) = parsed.accesses
    assert access.written_columns == ("status", "updated_at")
    assert [f.column for f in access.filters] == ["id"]


def _schema_for_written_columns() -> Schema:
    name = TableName("public", "tasks")
    columns = tuple(Column(c, "text") for c in ("id", "status", "updated_at"))
    return Schema({name: Table(name, columns)})


def test_a_script_splits_at_top_level_semicolons_only() -> None:
    from advisor.analyze.syntax import split_statements

    script = (
        "-- the page\nselect 'a;b' from t where x = $1;\n/* c; d */ select 2 ;\n"
        "-- only a comment;\n; select 'é' ;"
    )
    assert split_statements(script) == [
        "select 'a;b' from t where x = $1",
        "select 2",
        "select 'é'",
    ]
    assert split_statements("select 'unterminated") == ["select 'unterminated"]
    assert split_statements("  -- nothing\n") == []


def test_a_statement_reading_a_view_reads_the_views_tables() -> None:
    from dataclasses import replace as _replace

    from advisor.model import TableName as _TableName

    base = parse_statement(1, 'select "id" from "users" where "email" = $1', SCHEMA, LIMITS)
    assert isinstance(base, ParsedStatement)
    (table,) = base.tables
    with_view = _replace(
        SCHEMA, views={_TableName("public", "people"): f"SELECT id, email FROM {table.name}"}
    )
    through = parse_statement(2, "select id from people where email = $1", with_view, LIMITS)
    assert isinstance(through, ParsedStatement)
    # The view's tables are read; a filter on its output is not yet pushed down to them.
    assert through.tables == base.tables
