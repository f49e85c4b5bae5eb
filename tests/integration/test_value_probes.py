"""A statement whose index needs a value no source showed, on a real server with
pg_stat_statements only: the advice says so, with the settings that would show it."""

from __future__ import annotations

import json

from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.pg import session
from tests.integration.test_cli import run_cli
from tests.support import create_database, run_workload, settings_for

EVENTS = """
CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb NOT NULL);
INSERT INTO events SELECT g, jsonb_build_object('ip', '10.0.' || (g % 250) || '.' || (g % 200),
    'agent', 'a' || (g % 7)) FROM generate_series(1, 100000) g;
"""
BY_KEY = "SELECT id FROM events WHERE payload->>%s = %s"


def test_a_bound_json_key_with_no_value_source_gets_a_probe(cluster: ThrowawayCluster) -> None:
    dsn = create_database(cluster, "probes", EVENTS)
    run_workload(dsn, [(BY_KEY, lambda r: ("ip", f"10.0.{r.randint(0, 249)}.7"), 30)])
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        analysis = recommend(conn, settings)
    (probe,) = [p for p in analysis.value_probes if "payload" in p.unknown]
    assert "->>" in probe.query and probe.ms_per_day > 0
    assert "log_min_duration_sample" in probe.how_to_learn
    # No index on the key could be recommended without it.
    assert not any("payload" in r.create_sql for r in analysis.recommendations)

    shown = run_cli("recommend", "--dsn", dsn, "--min-calls", "2", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    (document,) = json.loads(shown.stdout)["analyses"]
    assert any("payload" in p["unknown"] for p in document["value_probes"])
    table = run_cli("recommend", "--dsn", dsn, "--min-calls", "2")
    assert "need a value no source showed" in table.stdout
    assert "ALTER SYSTEM SET log_min_duration_sample = 0;" in table.stdout
