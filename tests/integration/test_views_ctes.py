"""A statement that reads a table through a view, a subquery or a CTE, with its filter on
their output: the index of the base table the plan reads is recommended (the planner
pushes the filter down; where it cannot, the what-if planning shows no gain)."""

from __future__ import annotations

import pytest

from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.pg import session
from tests.support import create_database, run_workload, settings_for

SETUP = """
CREATE TABLE tickets (
    id bigint PRIMARY KEY, org_id int NOT NULL, status text NOT NULL, body text NOT NULL);
INSERT INTO tickets
SELECT g, g % 3000, (ARRAY['open', 'closed'])[1 + g % 2], 'ticket ' || g
FROM generate_series(1, 300000) g;
CREATE VIEW open_tickets AS SELECT id, org_id AS org, body FROM tickets WHERE status = 'open';
CREATE VIEW recent_open AS SELECT * FROM open_tickets WHERE id > 1000;
ANALYZE tickets;
"""
STATEMENTS = {
    "view": "SELECT id, body FROM open_tickets WHERE org = %s",
    "view of a view": "SELECT id FROM recent_open WHERE org = %s",
    "subquery": "SELECT t.id FROM (SELECT id, org_id FROM tickets) t WHERE t.org_id = %s",
    "not materialized CTE": (
        "WITH t AS NOT MATERIALIZED (SELECT id, body, org_id FROM tickets) "
        "SELECT id FROM t WHERE org_id = %s"
    ),
    "CTE": "WITH t AS (SELECT * FROM tickets) SELECT id FROM t WHERE org_id = %s",
    "materialized CTE": (
        "WITH t AS MATERIALIZED (SELECT id, body FROM tickets WHERE org_id = %s) "
        "SELECT count(*) FROM t"
    ),
}


@pytest.mark.parametrize("shape", list(STATEMENTS))
def test_the_base_tables_index_is_recommended(cluster: ThrowawayCluster, shape: str) -> None:
    name = "through_" + "_".join(shape.split())
    dsn = create_database(cluster, name, SETUP)
    run_workload(dsn, [(STATEMENTS[shape], lambda r: (r.randint(0, 2999),), 20)])
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        analysis = recommend(conn, settings)
    assert [r.design.key_columns[:1] for r in analysis.recommendations] == [("org_id",)]


def test_a_filter_outside_a_materialized_cte_is_not_served_by_an_index(
    cluster: ThrowawayCluster,
) -> None:
    # The planner reads the whole CTE once and filters its rows: no index can help.
    dsn = create_database(cluster, "through_materialized_outside", SETUP)
    statement = (
        "WITH t AS MATERIALIZED (SELECT id, org_id FROM tickets) SELECT id FROM t WHERE org_id = %s"
    )
    run_workload(dsn, [(statement, lambda r: (r.randint(0, 2999),), 20)])
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        analysis = recommend(conn, settings)
    assert analysis.recommendations == ()
