"""Telling the planner an expression's measured selectivity (a hypothetical index on an
expression has no statistics): which filters qualify, how the text is rewritten."""

from __future__ import annotations

import pglast
import pytest

from advisor.analyze.selectivity import (
    DEFAULT_EQUALITY_SELECTIVITY,
    ExpressionFilter,
    distinct_estimate,
    expression_filters,
    repeats,
    sharpened,
)

BY_IP = (
    'select "events"."id" from "events" where ("events"."orgId" = $1::integer '
    "and \"events\".\"payload\"->>('ip'::text) = ('10.5'::text)) "
    'order by "events"."createdAt" desc limit coalesce(20, $2::bigint)'
)
IP = ExpressionFilter(None, "events", "payload ->> CAST('ip' AS text)")


def test_an_expression_compared_with_a_value_on_one_table_qualifies() -> None:
    assert expression_filters(BY_IP) == [IP]
    assert expression_filters("select 1 from s.t where lower(email) = $1") == [
        ExpressionFilter("s", "t", "lower(email)")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "select 1 from t where email = $1",  # a column: pg_stats knows it
        "select 1 from t where payload ->> $1 = $2",  # the key unknown
        "select 1 from t where drop_everything(x) = 1",  # a function with who knows what
        "select 1 from t where public.lower(x) = 'a'",  # not the catalog's
        "select 1 from t join u on u.id = t.u where lower(t.x) = 'a'",  # two tables
        "select 1 from t where lower(x) = 'a' or y = 1",  # not a conjunct
        "update t set y = 1 where lower(x) = 'a'",
    ],
)
def test_what_is_not_sampled(text: str) -> None:
    assert expression_filters(text) == []


def test_the_comparison_is_repeated_on_a_form_no_index_matches() -> None:
    text = sharpened(BY_IP, lambda found: 2e-5 if found == IP else None)
    assert text.count("COALESCE(events.payload ->> CAST('ip' AS text), events.payload") == 1
    # The same statement otherwise: it still parses, with its parameters and its LIMIT.
    assert pglast.parse_sql(text)
    assert "$1" in text and "COALESCE(20, CAST($2 AS bigint))" in text
    assert sharpened(BY_IP, lambda found: None) == BY_IP
    assert sharpened(BY_IP, lambda found: 0.01) == BY_IP  # no less selective than assumed


def test_repeats_bring_the_default_nearest_the_measure() -> None:
    assert repeats(None) == 0
    assert repeats(DEFAULT_EQUALITY_SELECTIVITY) == 0
    assert repeats(2e-5) == 1  # 0.005^2 = 2.5e-5
    assert repeats(1e-7) == 2  # 0.005^3 = 1.25e-7
    assert repeats(1e-30) == 3  # capped


def test_distinct_values_from_a_sample() -> None:
    # Every sampled value once: as many values as rows.
    assert distinct_estimate(1000, 1000, 1000, 1e6) == 1e6
    # Ten values, each seen often: ten.
    assert distinct_estimate(1000, 10, 0, 1e6) == pytest.approx(10)
    # Most seen once: far more than the sample shows, at most the rows.
    many = distinct_estimate(30_000, 25_000, 21_000, 1.2e6)
    assert 25_000 < many <= 1.2e6
    assert distinct_estimate(0, 0, 0, 1e6) == 0.0
