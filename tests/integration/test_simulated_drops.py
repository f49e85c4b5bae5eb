"""Simulated drops: an index a workload statement's plan needs is not proposed for
dropping, one no plan uses is, with the statement that restores it (issue 18)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest

from advisor.demo.sandbox import ThrowawayCluster
from tests.integration.test_cli import run_cli
from tests.integration.test_report import plain_report, section
from tests.support import create_database, run_workload

# (sensor) is a prefix of (sensor, label), so it is redundant by its keys; but label holds
# 192 characters, so (sensor, label) is dozens of times larger and the count below reads
# many times the pages from it. (site) is as redundant and no statement reads by site.
SCHEMA = """
CREATE TABLE readings (
    id bigint PRIMARY KEY, sensor int NOT NULL, label text NOT NULL, site int NOT NULL,
    note text NOT NULL
);
INSERT INTO readings
SELECT g, g / 400, repeat(md5(g::text), 12), g % 300, md5(g::text)
FROM generate_series(1, 200000) g;
CREATE INDEX readings_sensor ON readings (sensor);
CREATE INDEX readings_sensor_label ON readings (sensor, label);
CREATE INDEX readings_site ON readings (site);
CREATE INDEX readings_site_note ON readings (site, note);
"""
COUNT = "SELECT count(*) FROM readings WHERE sensor = %s"
BY_ID = "SELECT note FROM readings WHERE id = %s"


def _database(cluster: ThrowawayCluster, name: str) -> str:
    dsn = create_database(cluster, name, SCHEMA)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE readings")  # what autovacuum does after a load
    run_workload(
        dsn,
        [
            (COUNT, lambda r: (r.randrange(500),), 60),
            (BY_ID, lambda r: (r.randrange(1, 200_000),), 60),
        ],
    )
    return dsn


def _findings(dsn: str) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    result = run_cli("health", "--dsn", dsn, "--format", "json")
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)["databases"]
    return {f["index"]: f for f in report["findings"]}, report


def _can_hide(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT to_regprocedure('hypopg_hide_index(oid)') IS NOT NULL"
        ).fetchone()
    return bool(row and row[0])


def test_a_redundant_index_a_statement_needs_is_not_proposed(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = _database(cluster, "drops_needed")
    findings, report = _findings(dsn)

    needed = findings["readings_sensor"]
    assert needed["kind"] == "needed", needed["reason"]
    assert needed["fix_sql"] == "" and needed["covered_by"] == "readings_sensor_label"
    (use,) = needed["plan_uses"]
    assert use["calls"] == 60 and use["index_cost"] > 0
    assert "not proposed for dropping" in needed["reason"]
    assert "queryid" in needed["reason"]

    free = findings["readings_site"]
    assert free["kind"] == "redundant" and free["plan_uses"] == []
    assert "no plan of the" in free["reason"]
    assert (
        free["restore_sql"] == "CREATE INDEX readings_site ON public.readings USING btree (site);"
    )
    assert report["simulation"]

    # The printed SQL runs; it drops what no plan uses and keeps what a plan needs.
    script = tmp_path / "fix.sql"
    script.write_text(run_cli("health", "--dsn", dsn, "--format", "sql").stdout)
    assert "DROP INDEX CONCURRENTLY" in script.read_text()
    subprocess.run(
        [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), dsn],
        check=True,
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        names = {
            r[0]
            for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'readings'")
        }
        # The rollback statement builds the dropped index again as it was.
        conn.execute(free["restore_sql"])
        restored = conn.execute("SELECT to_regclass('readings_site') IS NOT NULL").fetchone()
    assert "readings_site" not in names
    assert {"readings_sensor", "readings_sensor_label", "readings_site_note"} <= names
    assert restored == (True,)

    # The plan's safe drops leave it too.
    result = run_cli("recommend", "--dsn", dsn, "--format", "json")
    assert result.returncode == 0, result.stderr
    (analysis,) = json.loads(result.stdout)["analyses"]
    assert {d["index"] for d in analysis["drops"]} == {"readings_site"}
    assert "1 index(es) another one serves are kept" in analysis["drops_note"]


def _fenced(markdown: str) -> list[str]:
    return re.findall(r"^```sql\n(.*?)\n```$", markdown, flags=re.MULTILINE | re.DOTALL)


def test_the_handoff_drops_what_no_plan_needs_and_its_rollback_runs(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = _database(cluster, "drops_handoff")
    report, handoff = plain_report(dsn, tmp_path)
    drops = section(handoff, "### Indexes to drop") + section(handoff, "### Dropping indexes")
    assert "`readings_site`" in drops and "`readings_sensor`" not in drops
    assert 'DROP INDEX IF EXISTS "<name>";' in drops  # the drizzle-kit migration's edit
    script, rollback = _fenced(drops)
    assert script == "DROP INDEX CONCURRENTLY IF EXISTS public.readings_site;"
    assert rollback == "CREATE INDEX readings_site ON public.readings USING btree (site);"
    # The report's health table has the rollback beside the DROP, and keeps the needed one.
    health = section(report, "## Index health")
    assert "to roll back: `CREATE INDEX readings_site" in health
    assert "| needed | `readings_sensor` |" in health and "keep it" in health

    psql = [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", dsn]
    for sql, exists in ((script, False), (rollback, True)):
        subprocess.run([*psql, "-c", sql], check=True)
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT to_regclass('readings_site') IS NOT NULL").fetchone()
        assert row == (exists,)


def test_the_hidden_index_plans_show_their_cost_before_and_after(
    cluster: ThrowawayCluster,
) -> None:
    dsn = _database(cluster, "drops_hidden")
    if not _can_hide(dsn):
        pytest.skip(
            "this server's HypoPG has no hypopg_hide_index (it arrived in 1.4.0; Debian 12 "
            "ships 1.3.1): the drop is judged by the plans that name the index instead"
        )
    findings, report = _findings(dsn)
    needed = findings["readings_sensor"]
    assert needed["kind"] == "needed"
    (use,) = needed["plan_uses"]
    assert use["cost_without"] > 1.25 * use["cost"]
    assert "hypopg_hide_index" in report["simulation"]
    assert "->" in needed["reason"]
    with psycopg.connect(dsn) as conn:  # nothing stays hidden, in another session either
        hidden = conn.execute("SELECT count(*) FROM hypopg_hidden_indexes()").fetchone()
    assert hidden == (0,)


# The same pair on a partitioned table: plans name the partitions' indexes, never the
# partitioned table's own, so the simulation must look for those.
PARTITIONED = """
CREATE TABLE samples (
    id bigint NOT NULL, sensor int NOT NULL, label text NOT NULL
) PARTITION BY HASH (id);
CREATE TABLE samples_0 PARTITION OF samples FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE samples_1 PARTITION OF samples FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO samples SELECT g, g / 400, repeat(md5(g::text), 12) FROM generate_series(1, 200000) g;
CREATE INDEX samples_sensor ON samples (sensor);
CREATE INDEX samples_sensor_label ON samples (sensor, label);
"""


def test_a_partitioned_index_its_partitions_plans_need_is_not_proposed(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(cluster, "drops_partitioned", PARTITIONED)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE samples_0, samples_1")
        conn.execute("ANALYZE samples")
    run_workload(
        dsn, [("SELECT count(*) FROM samples WHERE sensor = %s", lambda r: (r.randrange(500),), 60)]
    )
    findings, _ = _findings(dsn)
    needed = findings["samples_sensor"]
    assert needed["kind"] == "needed", needed["reason"]
    (use,) = needed["plan_uses"]
    assert use["calls"] == 60 and use["index_cost"] > 0
