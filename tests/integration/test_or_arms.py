"""A filter that ORs two columns (`assignee_id = $1 OR reporter_id = $2`): a BitmapOr
serves it only with an index on every arm, so either index alone changes nothing in the
plan; the advice must be both, costed together."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.model import Analysis
from advisor.pg import session
from tests.support import create_database, run_workload, settings_for

TASKS = """
CREATE TABLE tasks (
    id bigint PRIMARY KEY, tenant_id int NOT NULL, assignee_id int NOT NULL,
    reporter_id int NOT NULL, due_date date NOT NULL, title text NOT NULL)
    WITH (autovacuum_enabled = off);
INSERT INTO tasks SELECT g, g % 50, (g::bigint * 7919) % 20000, (g::bigint * 104729) % 20000,
    date '2026-01-01' + (g % 365), 'task ' || g
FROM generate_series(1, 200000) g;
ANALYZE tasks;
"""

MINE = (
    "SELECT id, title, due_date FROM tasks "
    "WHERE (assignee_id = %s OR reporter_id = %s) AND due_date < %s"
)
STATEMENTS = [
    (MINE, lambda r: (r.randint(0, 19999), r.randint(0, 19999), "2026-12-01"), 30),
]


@pytest.fixture(scope="module")
def tasks(cluster: ThrowawayCluster) -> str:
    dsn = create_database(cluster, "tasks_or", TASKS)
    run_workload(dsn, STATEMENTS)
    return dsn


def _analyze(dsn: str) -> Analysis:
    with session(dsn, settings_for(dsn)) as conn:
        return recommend(conn, settings_for(dsn))


def _plan(conn: psycopg.Connection[Any]) -> str:
    rows = conn.execute(
        "EXPLAIN SELECT id, title, due_date FROM tasks "
        "WHERE (assignee_id = 17 OR reporter_id = 4242) AND due_date < '2026-12-01'"
    ).fetchall()
    return "\n".join(str(row[0]) for row in rows)


def test_an_or_of_two_columns_gets_an_index_on_each_arm(tasks: str) -> None:
    analysis = _analyze(tasks)
    leads = {
        r.design.key_columns[0] for r in analysis.recommendations if r.design.table.name == "tasks"
    }
    assert {"assignee_id", "reporter_id"} <= leads
    # Built for real, the two serve the statement together: a BitmapOr of both.
    with psycopg.connect(tasks, autocommit=True) as conn:
        assert "BitmapOr" not in _plan(conn)
        for r in analysis.recommendations:
            conn.execute(r.create_sql)
        plan = _plan(conn)
    assert "BitmapOr" in plan
    assert "assignee_id = 17" in plan and "reporter_id = 4242" in plan
