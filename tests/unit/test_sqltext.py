"""How a normalized statement text is made plannable, and how values are bound into it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.analyze.sqltext import (
    ASSUMED_LIMIT,
    as_written,
    bind_parameters,
    parameter_positions,
    plannable,
    prepare_text,
    unwrapped_call,
)
from advisor.model import PlannableText, TextEditKind

# ------------------------------------------------------------------ text preparation


@pytest.mark.parametrize(
    ("text", "prepared"),
    [
        (
            "select id from posts where created_at > timestamptz $1 limit $2",
            "select id from posts where created_at > $1::timestamptz "
            "limit coalesce(20, $2::bigint)",
        ),
        ("select date $1, interval $2", "select $1::date, $2::interval"),
        ("select int4 $1 + numeric $2", "select $1::int4 + $2::numeric"),
        ('select text $1, "char" $2', 'select $1::text, $2::"char"'),
        (
            "select timestamp with time zone $1",
            "select $1::timestamp with time zone",
        ),
        ("select varchar(10) $1", "select $1::varchar(10)"),
    ],
)
def test_typed_literal_parameters_become_casts(text: str, prepared: str) -> None:
    assert prepare_text(text) == prepared


def test_casts_and_parameters_after_keywords_are_left_alone() -> None:
    text = "select $1, cast($2 as int), $3::date from posts where id = $4 and author_id in ($5, $6)"
    assert prepare_text(text) == text
    assert (
        prepare_text("select id from posts limit $1::int") == "select id from posts limit $1::int"
    )


def test_bound_limit_and_offset_are_planned_as_a_small_first_page() -> None:
    """A generic plan would take LIMIT $n as 10% of the rows; the rewrite keeps the
    parameter but lets the planner fold it to ASSUMED_LIMIT (and OFFSET to 0)."""
    text = 'select "id" from "posts" where "a" = $1 order by "b" desc limit $2 offset $3'
    assert prepare_text(text) == (
        'select "id" from "posts" where "a" = $1 order by "b" desc '
        f"limit coalesce({ASSUMED_LIMIT}, $2::bigint) offset coalesce(0, $3::bigint)"
    )
    nested = "select * from t, lateral (select * from u where u.t = t.id limit $1) s limit 5"
    assert "limit coalesce(20, $1::bigint)) s limit 5" in prepare_text(nested)


def test_typed_literal_inside_a_string_constant_is_left_alone() -> None:
    assert prepare_text("select 'date $1' from posts") == "select 'date $1' from posts"


def test_trailing_semicolons_and_whitespace_are_stripped() -> None:
    assert prepare_text("  select 1 ;; \n") == "select 1"
    assert prepare_text("select ';' ; -- done") == "select ';'"


def test_prepare_text_returns_unparseable_text_with_only_semicolons_stripped() -> None:
    assert prepare_text("not sql at all;") == "not sql at all"


@pytest.mark.parametrize(
    ("normalized", "plannable"),
    [
        (
            "select extract($1 from d), count(*) from t group by 1",
            "select date_part($1::text, d), count(*) from t group by 1",
        ),
        (
            "select * from t where x between $1 - $2 and $3 + $4",
            "select * from t where x between $1::numeric - $2::numeric "
            "and $3::numeric + $4::numeric",
        ),
        (
            "select sum(case when a = $1 then $2 else $3 end) from t",
            "select sum(case when a = $1 then $2::numeric else $3::numeric end) from t",
        ),
        # One typed side is enough for the server: left alone.
        ("select * from t where x > y - $1", "select * from t where x > y - $1"),
        ("select max(case when a then $1 else $2 end) from t", None),
    ],
)
def test_constants_that_lost_their_type_get_one_back(
    normalized: str, plannable: str | None
) -> None:
    assert prepare_text(normalized) == (plannable or normalized)


def test_a_subquery_the_tree_holds_twice_is_rewritten_once() -> None:
    # `SET (a, b) = (SELECT ...)` puts the subquery under both columns' targets.
    assert prepare_text("update t set (a, b) = (select $1 - $2, 1) where id = int4 $3") == (
        "update t set (a, b) = (select $1::numeric - $2::numeric, 1) where id = $3::int4"
    )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_raises(text: str) -> None:
    assert isinstance(prepare_text(text), str)


# ------------------------------------------------------------- the record of the edits


def _applied(text: PlannableText) -> str:
    pieces, position = [], 0
    for edit in text.edits:
        pieces += [text.original[position : edit.start], edit.replacement]
        position = edit.end
    return "".join(pieces) + text.original[position:]


def test_the_rewrite_records_each_edit_by_its_place_in_the_original() -> None:
    original = "  select extract($1 from d), int4 $2 from t order by d limit $3 offset $4 ;"
    text = plannable(original)
    assert text.original == original
    assert text.text == (
        "select date_part($1::text, d), $2::int4 from t order by d "
        "limit coalesce(20, $3::bigint) offset coalesce(0, $4::bigint)"
    )
    assert [(original[e.start : e.end], e.kind) for e in text.edits] == [
        ("  ", TextEditKind.TRIMMED),
        ("extract($1 from", TextEditKind.DATE_PART),
        ("int4 $2", TextEditKind.TYPED_PARAMETER),
        ("$3", TextEditKind.ASSUMED_LIMIT),
        ("$4", TextEditKind.ASSUMED_OFFSET),
        (" ;", TextEditKind.TRIMMED),
    ]
    assert _applied(text) == text.text
    assert [(s.number, text.text[s.start : s.end]) for s in text.parameters] == [
        (1, "$1"),
        (2, "$2"),
        (3, "$3"),
        (4, "$4"),
    ]
    pages = [text.text[s.page[0] : s.page[1]] for s in text.parameters if s.page]
    assert pages == ["coalesce(20, $3::bigint)", "coalesce(0, $4::bigint)"]


def test_a_text_that_does_not_parse_records_only_the_stripping() -> None:
    text = plannable("select timestamptz $1 frm t;")
    assert text.text == "select timestamptz $1 frm t"
    assert [e.kind for e in text.edits] == [TextEditKind.TRIMMED]
    assert [s.number for s in text.parameters] == [1]


_SQL_PIECES = st.sampled_from(
    [
        "select", "from", "where", "and", "limit", "offset", "order by", "extract(", "from",
        "(", ")", ",", "*", "=", "-", "+", "t", "x", "$1", "$2", "$10", "timestamptz",
        "int4", "'$1'", ";", "::", "case when", "then", "else", "end", "sum(", "lower(",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_SQL_PIECES, max_size=30).map(" ".join))
def test_the_edits_applied_to_the_original_give_the_text(original: str) -> None:
    text = plannable(original)
    assert _applied(text) == text.text
    for slot in text.parameters:
        assert text.text[slot.start : slot.end] == f"${slot.number}"
        if slot.page is not None:
            assert slot.page[0] <= slot.start < slot.end <= slot.page[1]


# ---------------------------------------------------------------------------- binding


def test_bind_parameters_replaces_some_and_renumbers_the_rest() -> None:
    statement = plannable("select * from t where a = $1 and b = $2 and c > $3 limit $4")
    assert statement.text == (
        "select * from t where a = $1 and b = $2 and c > $3 limit coalesce(20, $4::bigint)"
    )
    text, count = bind_parameters(
        statement,
        {2: "'x'::st", 4: "50"},
        {1: "integer", 3: "timestamp with time zone"},
    )
    assert count == 2
    assert text == (
        "select * from t where a = ($1::integer) and b = ('x'::st) "
        "and c > ($2::timestamp with time zone) limit (50)::bigint"  # the real page size
    )
    unbound, _ = bind_parameters(plannable("select * from t limit $1"), {}, {})
    assert unbound == "select * from t limit coalesce(20, $1::bigint)"
    assert parameter_positions("select $1, $12") == {7: 1, 11: 12}


def test_a_limit_the_rewrite_assumed_is_bound_with_the_real_value() -> None:
    text = plannable("select * from t where a = $1 order by b limit $2 offset $3")
    assert bind_parameters(text, {2: "50"}) == (
        "select * from t where a = $1 order by b limit (50)::bigint offset coalesce(0, $2::bigint)",
        2,
    )
    assert bind_parameters(text, {3: "100"}) == (
        "select * from t where a = $1 order by b "
        f"limit coalesce({ASSUMED_LIMIT}, $2::bigint) offset (100)::bigint",
        2,
    )


def test_a_parameter_inside_a_cast_the_rewrite_added_is_bound_in_place() -> None:
    text = plannable("select * from t where at > timestamptz $1 and x between $2 - $3 and $4")
    bound, count = bind_parameters(text, {1: "'2026-01-01'", 3: "0.5"}, {2: "numeric"})
    assert bound == (
        "select * from t where at > ('2026-01-01')::timestamptz "
        "and x between ($1::numeric)::numeric - (0.5)::numeric and $2"
    )
    assert count == 2


def test_parameters_ten_and_one_are_told_apart() -> None:
    text = plannable("select * from t where a = $1 and b = $10 and c = $1")
    assert bind_parameters(text, {1: "'x'"}) == (
        "select * from t where a = ('x') and b = $1 and c = ('x')",
        1,
    )
    assert bind_parameters(text, {10: "7"}) == (
        "select * from t where a = $1 and b = (7) and c = $1",
        1,
    )


def test_dollar_signs_in_strings_and_comments_are_left_alone() -> None:
    text = plannable("select '$1', $$ $2 $$, x /* $1 */ from t where a = $1 -- $1")
    assert bind_parameters(text, {1: "5"}) == (
        "select '$1', $$ $2 $$, x /* $1 */ from t where a = (5) -- $1",
        0,
    )
    assert parameter_positions("select '$1', $1") == {13: 1}


def test_a_coalesce_the_statement_wrote_itself_is_not_taken_for_a_page() -> None:
    text = plannable("select * from t where a > coalesce(0, $1::bigint) limit $2")
    assert bind_parameters(text, {1: "5", 2: "10"}) == (
        "select * from t where a > coalesce(0, (5)::bigint) limit (10)::bigint",
        0,
    )


def test_an_expression_the_advisor_wrote_is_bound_as_written() -> None:
    assert bind_parameters(as_written("date_trunc($1, created_at)"), {1: "'day'::text"}) == (
        "date_trunc(('day'::text), created_at)",
        0,
    )


# ---------------------------------------------------------------------- proxy columns


def test_a_call_on_a_column_is_unwrapped_and_its_page_still_binds() -> None:
    original = '  select * from "users" u where lower(u."Email") = $1 limit $2;'
    text = plannable(original)
    proxy = unwrapped_call(text, text.text.index("lower"))
    assert proxy is not None
    assert (
        proxy.text == 'select * from "users" u where u."Email" = $1 limit coalesce(20, $2::bigint)'
    )
    assert proxy.original == original
    (edit,) = (e for e in proxy.edits if e.kind is TextEditKind.PROXY_COLUMN)
    assert original[edit.start : edit.end] == 'lower(u."Email")'
    assert _applied(proxy) == proxy.text
    assert bind_parameters(proxy, {1: "'a@b.c'", 2: "25"}) == (
        'select * from "users" u where u."Email" = (\'a@b.c\') limit (25)::bigint',
        0,
    )


def test_a_call_on_more_than_a_column_is_not_unwrapped() -> None:
    text = plannable("select * from t where lower(a || b) = $1 and trim(both ' ' from c) = $2")
    assert unwrapped_call(text, text.text.index("lower")) is None
    assert unwrapped_call(text, text.text.index("trim")) is None
