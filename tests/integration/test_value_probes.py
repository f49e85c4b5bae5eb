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
    # The key is guessed from what the table holds: 'ip' is the only key whose values are
    # varied enough for an index, and the advice says the guess is one.
    (guessed,) = [r for r in analysis.recommendations if "payload" in r.create_sql]
    assert "payload ->> ('ip'::text)" in guessed.create_sql, guessed.create_sql
    assert "agent" not in guessed.create_sql
    (assumed,) = guessed.depends_on
    assert "a guess from a table sample" in assumed.describe(), assumed.describe()
    assert "held by 100% of the sampled rows" in assumed.describe()

    shown = run_cli("recommend", "--dsn", dsn, "--min-calls", "2", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    (document,) = json.loads(shown.stdout)["analyses"]
    assert any("payload" in p["unknown"] for p in document["value_probes"])
    assert any(
        assumed["source"] == "table sample" and "a guess" in assumed["description"]
        for r in document["recommendations"]
        for assumed in r["depends_on"]
    ), document["recommendations"]
    table = run_cli("recommend", "--dsn", dsn, "--min-calls", "2")
    assert "need a value no source showed" in table.stdout
    assert "ALTER SYSTEM SET log_min_duration_sample = 0;" in table.stdout


def test_no_index_on_a_sampled_key_without_sampling(cluster: ThrowawayCluster) -> None:
    """sample_expression_rows = 0 reads no rows: no key is guessed, the probe stands."""
    dsn = create_database(cluster, "probes_unsampled", EVENTS)
    run_workload(dsn, [(BY_KEY, lambda r: ("ip", f"10.0.{r.randint(0, 249)}.7"), 30)])
    settings = settings_for(dsn, sample_expression_rows=0)
    with session(dsn, settings) as conn:
        analysis = recommend(conn, settings)
    assert [p for p in analysis.value_probes if "payload" in p.unknown]
    assert not any("payload" in r.create_sql for r in analysis.recommendations)


FLAGS = """
CREATE TABLE jobs (id bigint PRIMARY KEY, payload jsonb NOT NULL);
INSERT INTO jobs SELECT g, jsonb_build_object('queue', 'q' || (g % 3), 'state', 's' || (g % 5))
    FROM generate_series(1, 100000) g;
"""


def test_no_index_on_a_key_whose_values_are_as_few_as_a_status(
    cluster: ThrowawayCluster,
) -> None:
    """Keys of a handful of values each: an equality lookup on one keeps a third of the
    rows at best, so no expression index is guessed for any of them."""
    dsn = create_database(cluster, "probes_flags", FLAGS)
    lookup = "SELECT id FROM jobs WHERE payload->>%s = %s"
    run_workload(dsn, [(lookup, lambda r: ("queue", f"q{r.randint(0, 2)}"), 30)])
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        analysis = recommend(conn, settings)
    assert not any("payload" in r.create_sql for r in analysis.recommendations)
