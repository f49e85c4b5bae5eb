"""The JSON handoff from the real `pg-advisor report` on a real database with an index to
create, one to drop and a statement whose index needs a value no source showed: it
validates against the committed schema and holds every item the markdown has (issue 20)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg

from advisor.demo.sandbox import ThrowawayCluster
from tests.handoff_items import fenced, json_sql, missing_from_json, statements, validate
from tests.integration.test_report import plain_report, section
from tests.integration.test_simulated_drops import BY_ID, COUNT
from tests.integration.test_simulated_drops import SCHEMA as READINGS
from tests.integration.test_value_probes import BY_KEY, EVENTS
from tests.support import create_database, run_workload

BY_NOTE = "SELECT id FROM readings WHERE note = %s"


def test_the_json_handoff_validates_and_holds_every_item_of_the_markdown(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = create_database(cluster, "handoff_json", READINGS + EVENTS)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE readings")
    run_workload(
        dsn,
        [
            (COUNT, lambda r: (r.randrange(500),), 60),
            (BY_ID, lambda r: (r.randrange(1, 200_000),), 60),
            (BY_NOTE, lambda r: (f"{r.randrange(200_000):x}",), 40),
            (BY_KEY, lambda r: ("ip", f"10.0.{r.randint(0, 249)}.7"), 30),
        ],
    )
    _, markdown = plain_report(dsn, tmp_path)
    text = (tmp_path / "reports" / "role-comm-database.json").read_text()
    document = json.loads(text)
    validate(document)
    assert missing_from_json(markdown, document) == []

    # An index to create, one to drop, a value probe: each in both, the same.
    created = document["schema_changes"]["create_indexes"]
    assert [i["name"] for i in created] == document["pending"]["indexes_to_create"] != []
    for index in created:
        assert f"`{index['name']}`" in section(markdown, "## Schema changes")
        assert index["create_concurrently_sql"] in markdown and index["migration_sql"] in markdown
    (drop,) = document["schema_changes"]["drop_indexes"]
    assert drop["name"] == "readings_site" and drop["evidence"] in markdown
    assert drop["rollback_sql"] == (
        "CREATE INDEX readings_site ON public.readings USING btree (site);"
    )
    (probe,) = [p for p in document["pending"]["value_probes"] if "payload" in p["unknown"]]
    assert "->>" in probe["statement"] and probe["how_to_learn"] in markdown
    assert f"`{' '.join(probe['statement'].split())}`" in section(markdown, "### Pending")

    # Every SQL statement the markdown fences is one the JSON gives to run, and the scripts
    # run as the JSON holds them: the drop, then its rollback.
    fenced_sql = {s for block in fenced(markdown, "sql") for s in statements(block)}
    assert fenced_sql and fenced_sql <= json_sql(document)
    migration = document["migration"]

    def psql(script: str) -> None:
        path = tmp_path / "script.sql"  # a file: psql runs each statement on its own
        path.write_text(script + "\n")
        psql = [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        subprocess.run([*psql, "-f", str(path), dsn], check=True)

    for script, exists in ((migration["drop_script"], False), (migration["rollback_script"], True)):
        psql(script)
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT to_regclass('readings_site') IS NOT NULL").fetchone()
        assert row == (exists,)
    psql(migration["concurrent_script"])
    with psycopg.connect(dsn) as conn:
        assert conn.execute(migration["invalid_check_sql"]).fetchall() == []
