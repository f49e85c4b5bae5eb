"""`pg-advisor health` as a user runs it, on indexes built for real."""

from __future__ import annotations

import contextlib
import json
import subprocess

import psycopg

from advisor.demo.sandbox import ThrowawayCluster
from tests.integration.test_cli import run_cli
from tests.support import create_database

SCHEMA = """
CREATE TABLE "Orders" (id bigint PRIMARY KEY, "customerId" int NOT NULL, status text NOT NULL, code int);
INSERT INTO "Orders" SELECT g, g % 1000, 'new', g % 50000 FROM generate_series(1, 100000) g;
CREATE INDEX "orders by customer" ON "Orders" ("customerId");
CREATE INDEX "orders_customer_copy" ON "Orders" ("customerId");
CREATE INDEX "orders_customer_status" ON "Orders" ("customerId", status);
CREATE UNIQUE INDEX "orders_id_unique" ON "Orders" (id);
"""


def test_health_finds_duplicate_redundant_and_invalid_and_its_sql_fixes_them(
    cluster: ThrowawayCluster, tmp_path
) -> None:
    dsn = create_database(cluster, "health_cli", SCHEMA)
    with psycopg.connect(dsn, autocommit=True) as conn:
        # A failed concurrent build leaves an INVALID index behind, as in production.
        with contextlib.suppress(psycopg.errors.UniqueViolation):
            conn.execute('CREATE UNIQUE INDEX CONCURRENTLY "orders_code_key" ON "Orders" (code)')
        conn.execute('DELETE FROM "Orders" WHERE id > 50000')  # now code is unique

    result = run_cli("health", "--dsn", dsn, "--format", "json")
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)["databases"]
    kinds = {(f["kind"], f["index"]) for f in report["findings"]}
    assert ("invalid", "orders_code_key") in kinds
    assert any(
        kind in {"duplicate", "redundant"}
        and name in {"orders by customer", "orders_customer_copy"}
        for kind, name in kinds
    )
    # The primary key is never the one to drop; a plain unique copy of it is a duplicate.
    assert not any(name == "Orders_pkey" for _, name in kinds)
    (copy,) = [f for f in report["findings"] if f["index"] == "orders_id_unique"]
    assert (copy["kind"], copy["covered_by"]) == ("duplicate", "Orders_pkey")

    table = run_cli("health", "--dsn", dsn, env={"COLUMNS": "200"})
    assert table.returncode == 0 and "orders_code_key" in table.stdout

    script = tmp_path / "fix.sql"
    fixes = run_cli("health", "--dsn", dsn, "--format", "sql")
    script.write_text(fixes.stdout)
    subprocess.run(
        [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), dsn],
        check=True,
    )
    after = json.loads(run_cli("health", "--dsn", dsn, "--format", "json").stdout)
    assert [f for f in after["databases"][0]["findings"] if f["kind"] != "unused"] == []
    with psycopg.connect(dsn) as conn:
        names = {
            r[0]
            for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'Orders'")
        }
        valid = conn.execute(
            "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = '\"Orders\"'::regclass"
        ).fetchone()
    assert "orders_customer_status" in names and "Orders_pkey" in names
    assert "orders_id_unique" not in names
    assert valid == (True,)


def test_health_needs_no_extension_and_reports_no_unused_without_a_window(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(cluster, "health_plain", SCHEMA, extensions=())
    result = run_cli("health", "--dsn", dsn, "--format", "json")
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)["databases"]
    assert not [f for f in report["findings"] if f["kind"] == "unused"]
    assert "statistics reset" in report["caveat"]
    # The duplicate and redundant drops stand, and say that no plan could be checked.
    assert any(f["fix_sql"] for f in report["findings"])
    assert report["simulation"].startswith("not simulated: without pg_stat_statements")


INJECTION = """
CREATE TABLE canary (id int);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL);
INSERT INTO orders SELECT g, g % 500 FROM generate_series(1, 20000) g;
CREATE INDEX "evil
DROP TABLE canary; --" ON orders (customer_id);
CREATE INDEX "a_first_copy" ON orders (customer_id);
"""


def test_an_index_name_cannot_run_as_sql_in_health_s_script(
    cluster: ThrowawayCluster, tmp_path
) -> None:
    """Any role that owns a table names its indexes: a name with a line break and a
    statement in it, beside a duplicate that sorts first, once ended a `--` comment of the
    script and ran. The script runs as printed with psql and the canary table survives."""
    dsn = create_database(cluster, "health_injection", INJECTION)
    fixes = run_cli("health", "--dsn", dsn, "--format", "sql")
    assert fixes.returncode == 0, fixes.stderr
    assert "DROP INDEX" in fixes.stdout
    script = tmp_path / "fix.sql"
    script.write_text(fixes.stdout)
    subprocess.run(
        [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), dsn],
        check=True,
        capture_output=True,
    )
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('public.canary') IS NOT NULL").fetchone() == (True,)
        left = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'orders' AND indexname <> 'orders_pkey'"
        ).fetchone()
    assert left == (1,)  # one of the two copies dropped, as printed
