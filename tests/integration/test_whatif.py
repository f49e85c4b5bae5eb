"""The planner port against a real server with HypoPG."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from advisor.analyze.sqltext import as_written, prepare_text
from advisor.config import Settings
from advisor.demo.sandbox import ThrowawayCluster
from advisor.model import (
    IndexDesign,
    KeyColumn,
    ParsedStatement,
    StatementKind,
    TableAccess,
    TableName,
)
from advisor.pg import Connection, capabilities, session
from advisor.whatif import PlanningError, Variant, WhatIf
from tests.support import create_database, settings_for

EVENTS = TableName("public", "Events")
BY_ACCOUNT = IndexDesign(EVENTS, (KeyColumn.of("accountId"),))
BY_ACCOUNT_TIME = IndexDesign(EVENTS, (KeyColumn.of("accountId"), KeyColumn.of("at")))


def _statement(queryid: int, text: str, parameters: int) -> ParsedStatement:
    return ParsedStatement(
        queryid, StatementKind.SELECT, as_written(text), (TableAccess(EVENTS),), parameters
    )


@pytest.fixture(scope="module")
def events_dsn(cluster: ThrowawayCluster) -> str:
    return create_database(
        cluster,
        "whatif",
        """
        CREATE TABLE "Events" (
            "id" bigint PRIMARY KEY, "accountId" int NOT NULL, "at" timestamptz NOT NULL
        );
        INSERT INTO "Events" SELECT g, g % 5000, now() - g * interval '1 second'
        FROM generate_series(1, 300000) g;
        """,
    )


@pytest.fixture()
def conn(events_dsn: str) -> Iterator[Connection]:
    settings: Settings = settings_for(events_dsn)
    with session(events_dsn, settings) as connection:
        yield connection


@pytest.fixture()
def whatif(conn: Connection) -> Iterator[WhatIf]:
    port = WhatIf(conn, capabilities(conn), explain_timeout_ms=2000)
    yield port
    port.close()


PAGINATION = 'SELECT "id" FROM "Events" WHERE "accountId" = $1 ORDER BY "at" DESC LIMIT $2'


def test_hypothetical_index_lowers_the_cost_and_is_reported_used(whatif: WhatIf) -> None:
    whatif.register(_statement(1, PAGINATION, 2))
    before = whatif.plan(1, ())
    after = whatif.plan(1, [BY_ACCOUNT_TIME])
    assert after.cost < before.cost / 10
    assert after.used == {BY_ACCOUNT_TIME}
    assert before.used == frozenset()


def test_plan_changes_back_when_the_hypothetical_index_goes_away(whatif: WhatIf) -> None:
    # A cached generic plan would keep using a dropped index: each plan must be fresh.
    whatif.register(_statement(1, PAGINATION, 2))
    with_index = whatif.plan(1, [BY_ACCOUNT_TIME])
    other = whatif.plan(1, [BY_ACCOUNT])
    assert other.used == {BY_ACCOUNT}
    assert other.cost > with_index.cost


def test_costs_are_cached_per_statement_and_index_set(whatif: WhatIf) -> None:
    whatif.register(_statement(1, PAGINATION, 2))
    whatif.plan(1, [BY_ACCOUNT])
    explains = whatif.explains
    whatif.plan(1, [BY_ACCOUNT])
    # An index on another table does not change this statement's plan: still cached.
    whatif.plan(1, [BY_ACCOUNT, IndexDesign(TableName("public", "other"), (KeyColumn.of("x"),))])
    assert whatif.explains == explains
    assert whatif.cache_hits >= 2


def test_size_estimate_grows_with_the_keys(whatif: WhatIf) -> None:
    assert whatif.size_bytes(BY_ACCOUNT_TIME) > whatif.size_bytes(BY_ACCOUNT) > 1_000_000


def test_a_statement_that_cannot_be_planned_is_refused_with_the_reason(whatif: WhatIf) -> None:
    with pytest.raises(PlanningError, match="does not exist"):
        whatif.register(_statement(2, 'SELECT "nope" FROM "Events" WHERE "id" = $1', 1))


def test_typed_parameters_plan_on_the_generic_path(whatif: WhatIf) -> None:
    whatif.register(_statement(3, 'SELECT count(*) FROM "Events" WHERE "at" > $1::timestamptz', 1))
    assert whatif.plan(3, ()).cost > 0


def test_advisor_session_is_read_only(conn: Connection) -> None:
    row = conn.execute("SHOW transaction_read_only").fetchone()
    assert row == ("on",)
    app = conn.execute("SHOW application_name").fetchone()
    assert app == ("pg-advisor",)
    assert conn.execute("SHOW lock_timeout").fetchone() == ("1s",)


@pytest.mark.pg16
def test_generic_plan_explain_on_16_and_newer(conn: Connection, whatif: WhatIf) -> None:
    if not capabilities(conn).generic_plan_explain:
        pytest.skip("EXPLAIN (GENERIC_PLAN) needs PostgreSQL 16+; this server plans via PREPARE")
    whatif.register(_statement(1, PAGINATION, 2))
    assert whatif.plan(1, [BY_ACCOUNT_TIME]).used == {BY_ACCOUNT_TIME}


@pytest.mark.parametrize(
    "normalized",
    [
        # extract(year from ...) loses its field to pg_stat_statements: not even valid SQL.
        'SELECT extract($1 from "at") AS y, count(*) FROM "Events" GROUP BY 1',
        # 0.06 - 0.01 and sum(case ... then 1 else 0 end): parameters of unknown type.
        'SELECT count(*) FROM "Events" WHERE "accountId" BETWEEN $1 - $2 AND $3 + $4',
        'SELECT sum(CASE WHEN "accountId" = $1 THEN $2 ELSE $3 END) FROM "Events"',
    ],
)
def test_normalized_constants_that_lost_their_type_still_plan(
    whatif: WhatIf, normalized: str
) -> None:
    with pytest.raises(PlanningError):
        whatif.register(_statement(10, normalized, normalized.count("$")))
    prepared = prepare_text(normalized)
    whatif.register(_statement(11, prepared, normalized.count("$")))
    assert whatif.plan(11, ()).cost > 0


def test_a_bound_limit_is_planned_as_a_small_page(whatif: WhatIf) -> None:
    """A generic plan takes LIMIT $1 as 10% of the rows: 30,000 of the newest events, for
    which the index on "at" hardly beats a sort. As a page of ASSUMED_LIMIT rows it is
    planned for what the application really asks."""
    text = 'SELECT "id" FROM "Events" ORDER BY "at" DESC LIMIT $1'
    by_time = IndexDesign(EVENTS, (KeyColumn.of("at"),))
    whatif.register(_statement(12, text, 1))
    whatif.register(_statement(13, prepare_text(text), 1))
    generic = whatif.plan(12, [by_time]).cost
    paged = whatif.plan(13, [by_time])
    assert paged.used == {by_time}
    assert paged.cost < generic / 100


def test_hide_plans_as_if_a_real_index_were_dropped_where_hypopg_can(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(
        cluster,
        "whatif_hide",
        """
        CREATE TABLE "Events" ("id" bigint PRIMARY KEY, "accountId" int NOT NULL, "at" int);
        INSERT INTO "Events" SELECT g, g % 5000, g FROM generate_series(1, 200000) g;
        CREATE INDEX events_account ON "Events" ("accountId");
        """,
    )
    with session(dsn, settings_for(dsn)) as conn:
        (oid,) = conn.execute("SELECT 'events_account'::regclass::oid").fetchone() or (0,)
        (hidable,) = conn.execute(
            "SELECT to_regprocedure('hypopg_hide_index(oid)') IS NOT NULL"
        ).fetchone() or (False,)
        statement = _statement(1, 'SELECT "at" FROM "Events" WHERE "accountId" = $1', 1)
        seeing = WhatIf(conn, capabilities(conn), explain_timeout_ms=2000)
        seeing.register(statement)
        served = seeing.cost(1, [])
        seeing.close()
        port = WhatIf(conn, capabilities(conn), explain_timeout_ms=2000, hidden=[int(oid)])
        assert port.hidden is bool(hidable)
        port.register(statement)
        if hidable:
            # Planned without its index, the table is scanned.
            assert port.cost(1, []) > 10 * served
            assert port.cost(1, [BY_ACCOUNT]) < 2 * served  # a hypothetical index still helps
        else:
            assert port.cost(1, []) == served
        port.close()
        if hidable:  # closing gives the session its index back
            assert conn.execute("SELECT count(*) FROM hypopg_hidden_indexes()").fetchone() == (0,)


def test_statements_are_configured_before_the_first_what_if_plan(whatif: WhatIf) -> None:
    with pytest.raises(ValueError, match="not registered"):
        whatif.set_variants(7, [Variant(1.0, PAGINATION, 2)])
    with pytest.raises(ValueError, match="not registered"):
        whatif.parameter_types(7)
    whatif.register(_statement(1, PAGINATION, 2))
    assert whatif.set_variants(1, [Variant(1.0, PAGINATION, 2)]) == 1  # still configuring
    whatif.plan(1, [BY_ACCOUNT_TIME])
    # Costs were handed out for these texts: changing them now would make them wrong.
    with pytest.raises(RuntimeError, match="before any what-if plan"):
        whatif.set_variants(1, [Variant(1.0, PAGINATION, 2)])
    with pytest.raises(RuntimeError):
        whatif.register(_statement(2, PAGINATION, 2))


def test_the_size_model_is_part_of_the_port(conn: Connection) -> None:
    halved = WhatIf(
        conn, capabilities(conn), explain_timeout_ms=2000, size_model=lambda d, size: size // 2
    )
    raw = halved.size_bytes(BY_ACCOUNT) * 2
    halved.close()
    plain = WhatIf(conn, capabilities(conn), explain_timeout_ms=2000)
    assert abs(plain.size_bytes(BY_ACCOUNT) - raw) <= 1
    plain.close()
