"""The saas quality workload loaded for real at a small scale: the tenants are as skewed as
the issue asks, every statement runs with every parameter set, the DBA's indexes build."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from advisor.demo.sandbox import ThrowawayCluster
from bench import saas
from bench.quality import hand_design
from bench.qualityspec import QualityWorkload
from tests.support import create_database

SCALE = 0.02
BIG_TABLES = ("contacts", "tickets", "orders", "events")


@pytest.fixture(scope="module")
def loaded(cluster: ThrowawayCluster) -> tuple[QualityWorkload, str]:
    workload = saas.build(scale=SCALE)
    dsn = create_database(cluster, "bench_saas", ";\n".join(workload.setup_sql))
    return workload, dsn


def _one(conn: psycopg.Connection[Any], sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def test_the_top_tenant_holds_a_quarter_of_every_big_table(
    loaded: tuple[QualityWorkload, str],
) -> None:
    _, dsn = loaded
    shape = saas.make_shape(SCALE)
    with psycopg.connect(dsn) as conn:
        for table in BIG_TABLES:
            share = _one(conn, f'select avg(("orgId" = 1)::int) from "{table}"')
            assert share >= 0.25, table
        assert _one(conn, 'select count(*) from "events"') == shape.events
        assert _one(conn, 'select count(distinct "orgId") from "tickets"') > shape.orgs / 4
        # Users and contacts lie in their org's range, which the parameters draw from.
        for table, starts in (("users", shape.user_starts), ("contacts", shape.contact_starts)):
            misplaced = _one(
                conn,
                f'select count(*) from "{table}" '
                f'where "orgId" <> width_bucket("id", \'{{{",".join(map(str, starts))}}}\'::int[])',
            )
            assert misplaced == 0, table
        # An event about a ticket belongs to the ticket's org.
        assert (
            _one(
                conn,
                'select count(*) from "events" e join "tickets" t on t."id" = e."ticketId" '
                'where e."orgId" <> t."orgId"',
            )
            == 0
        )


def test_every_statement_runs_with_every_parameter_set_and_the_dba_set_builds(
    loaded: tuple[QualityWorkload, str],
) -> None:
    workload, dsn = loaded
    with psycopg.connect(dsn, autocommit=True) as conn:
        for design in map(hand_design, workload.dba_indexes):
            conn.execute(design.create_sql(concurrently=False))
        found = 0
        for statement in workload.statements:
            for params in statement.params:
                cursor = conn.execute(statement.sql, params, prepare=False)
                if cursor.description is not None:
                    found += len(cursor.fetchall()) > 0
        assert found > len(workload.statements) * saas.PARAM_SETS / 2
        (ip,) = [s for s in workload.statements if s.name == "events_by_ip"]
        hits = [conn.execute(ip.sql, p, prepare=False).fetchall() for p in ip.params]
        assert all(hits), "an address drawn for a tenant is one its members log in from"
