"""Advice under skew with nothing but pg_stat_statements: a multi-tenant table whose
largest tenant holds over a quarter of the rows, every value bound as `$n`."""

from __future__ import annotations

import random

from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.pg import session
from tests.support import create_database, run_workload, settings_for

# 300,000 tasks over 2,000 organizations, Zipf-like: organization 1 holds about 27%.
TASKS = """
CREATE TABLE tasks (
    id bigint PRIMARY KEY, org_id int NOT NULL, status text NOT NULL,
    title text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO tasks
SELECT g, least(2000, floor(1 / power(random() * 0.9999 + 0.0001, 2.2)))::int,
       (ARRAY['todo', 'doing', 'done', 'done'])[1 + g % 4], 'task ' || g,
       timestamptz '2026-01-01' + g * interval '1 minute'
FROM generate_series(1, 300000) g;
"""
PAGE = "SELECT id, title FROM tasks WHERE org_id = %s ORDER BY created_at DESC LIMIT 20"


def _org(rng: random.Random) -> tuple[int]:
    """An organization as calls pick them: in proportion to their rows."""
    return (min(2000, int(1 / (rng.random() * 0.9999 + 0.0001) ** 2.2)),)


def test_a_zipf_tenant_page_gets_the_tenant_and_its_order(cluster: ThrowawayCluster) -> None:
    dsn = create_database(cluster, "zipf_tasks", "SELECT setseed(0.27);" + TASKS)
    ids = iter(range(300_001, 10**9))
    insert = (
        "INSERT INTO tasks VALUES (%s, %s, 'todo', 'new', now())",
        lambda r: (next(ids), _org(r)[0]),
        400,
    )
    # The application writes too: every new task maintains every index on the table.
    run_workload(dsn, [(PAGE, _org, 40), insert])
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        top = conn.execute(
            "SELECT max(n)::float8 / sum(n) FROM (SELECT count(*) n FROM tasks GROUP BY org_id) c"
        ).fetchone()
        analysis = recommend(conn, settings)
    assert top is not None and top[0] > 0.25  # the skew the test is about
    (page,) = [r for r in analysis.recommendations if r.design.table.name == "tasks"]
    # (org_id) alone looks as good for an average tenant; for the largest it sorts a
    # quarter of the table at every call.
    assert page.design.key_columns[:2] == ("org_id", "created_at")
