"""Reading the workload and the schema from a real server."""

from __future__ import annotations

import psycopg
import pytest

from advisor.collect.schema import read_schema
from advisor.collect.workload import read_workload
from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.model import KeyColumn, TableName
from advisor.pg import MARKER, session
from tests.support import create_database, reset_statements, settings_for

SCHEMA = """
CREATE SCHEMA "Billing";
CREATE TABLE "Billing"."Invoices" (
    "id" int PRIMARY KEY, "customerId" int NOT NULL, "issuedAt" timestamptz, "note" text
);
CREATE UNIQUE INDEX "invoices_customer_issued" ON "Billing"."Invoices"
    ("customerId", "issuedAt" DESC NULLS LAST) INCLUDE ("note");
CREATE INDEX "invoices_open" ON "Billing"."Invoices" ("issuedAt") WHERE "note" IS NULL;
CREATE INDEX "invoices_lower_note" ON "Billing"."Invoices" (lower("note"));
INSERT INTO "Billing"."Invoices"
    SELECT g, g % 100, now() - g * interval '1 hour', NULL FROM generate_series(1, 1000) g;
GRANT USAGE ON SCHEMA "Billing" TO PUBLIC;
GRANT SELECT ON ALL TABLES IN SCHEMA "Billing" TO PUBLIC;
"""


@pytest.fixture(scope="module")
def dsn(cluster: ThrowawayCluster) -> str:
    return create_database(cluster, "collect", SCHEMA)


def test_schema_reads_keys_directions_include_predicates_and_expressions(dsn: str) -> None:
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        schema = read_schema(conn)
    table = schema.tables[TableName("Billing", "Invoices")]
    assert [c.name for c in table.columns] == ["id", "customerId", "issuedAt", "note"]
    assert table.row_estimate == 1000
    indexes = {i.name: i for i in table.indexes}
    unique = indexes["invoices_customer_issued"]
    assert unique.unique and not unique.primary and unique.valid
    assert unique.keys == (KeyColumn("customerId"), KeyColumn("issuedAt", True, False))
    assert unique.include == ("note",)
    assert (
        indexes["Invoices_pkey"].primary and indexes["Invoices_pkey"].constraint == "Invoices_pkey"
    )
    assert indexes["invoices_open"].predicate == "note IS NULL"
    (expression,) = indexes["invoices_lower_note"].keys
    assert expression.is_expression and expression.column == "lower(note)"


def test_workload_sums_over_users_and_excludes_the_advisors_own(
    cluster: ThrowawayCluster, dsn: str
) -> None:
    reset_statements(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS app_reader")
        conn.execute("CREATE ROLE app_reader LOGIN")
    query = 'SELECT "note" FROM "Billing"."Invoices" WHERE "id" = %s'
    for user, times in (("postgres", 3), ("app_reader", 4)):
        with psycopg.connect(cluster.dsn("collect", user=user), autocommit=True) as conn:
            for value in range(times):
                conn.execute(query, (value,), prepare=False).fetchall()
    # A role that cannot switch tracking off: the advisor's statements carry its marker.
    reader_dsn = cluster.dsn("collect", user="app_reader")
    reader_settings = settings_for(reader_dsn, min_calls=1)
    with session(reader_dsn, reader_settings) as conn:
        analysis = recommend(conn, reader_settings)
        recommend(conn, reader_settings)
    assert analysis.whatif_explains > 0
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        workload = read_workload(conn, "collect", min_calls=1, limit=100)
    texts = {s.text: s for s in workload.statements}
    mine = texts['SELECT "note" FROM "Billing"."Invoices" WHERE "id" = $1']
    assert mine.calls == 7
    assert not [t for t in texts if MARKER in t or "hypopg" in t or "pg_stat_statements.track" in t]
    assert workload.window_seconds > 0


def test_min_calls_and_limit_are_applied(dsn: str) -> None:
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        few = read_workload(conn, "collect", min_calls=1_000_000, limit=100)
        assert few.statements == ()
        assert few.excluded.get("fewer calls than min_calls", 0) > 0
