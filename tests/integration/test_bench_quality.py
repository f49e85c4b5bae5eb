"""The quality bench's "advisor" column is what `pg-advisor recommend` chooses."""

from __future__ import annotations

import pytest

from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.model import IndexDesign
from advisor.pg import session
from bench.quality import (
    DBA,
    DBA_BUDGET,
    SHIPPED,
    VALUES,
    analysis,
    bench_settings,
    choose,
    run_quality,
)
from tests.support import create_database, run_workload

MIB = 1024 * 1024
SCHEMA = """
CREATE TABLE account (id bigint PRIMARY KEY, region int NOT NULL, email text NOT NULL);
CREATE TABLE invoice (
    id bigint PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES account (id),
    status text NOT NULL,
    issued_at timestamptz NOT NULL,
    total numeric NOT NULL
);
INSERT INTO account SELECT i, i % 50, 'user' || i || '@example.com'
    FROM generate_series(1, 20000) i;
INSERT INTO invoice SELECT i, 1 + i % 20000, (ARRAY['open', 'paid', 'void'])[1 + i % 3],
    now() - i * interval '1 minute', i % 1000
    FROM generate_series(1, 60000) i;
"""
WORKLOAD = [
    (
        "SELECT * FROM invoice WHERE account_id = %s ORDER BY issued_at DESC LIMIT 10",
        lambda r: [r.randint(1, 20000)],
        40,
    ),
    (
        "SELECT id, total FROM invoice WHERE status = %s ORDER BY issued_at DESC LIMIT 20",
        lambda r: [r.choice(["open", "paid"])],
        40,
    ),
    ("SELECT id FROM account WHERE email = %s", lambda r: [f"user{r.randint(1, 20000)}@x"], 40),
    ("SELECT count(*) FROM account WHERE region = %s", lambda r: [r.randint(0, 49)], 40),
]


@pytest.fixture(scope="module")
def invoices_dsn(cluster: ThrowawayCluster) -> str:
    dsn = create_database(cluster, "bench_quality", SCHEMA)
    run_workload(dsn, WORKLOAD)
    return dsn


def recommended(dsn: str, budget_mb: float) -> tuple[int, set[IndexDesign]]:
    """`pg-advisor recommend` with the bench's settings and this budget."""
    settings = bench_settings(dsn, budget_mb=budget_mb)
    with session(dsn, settings) as conn:
        result = recommend(conn, settings)
    return result.budget_bytes, {r.design for r in result.recommendations}


def test_the_advisor_strategy_chooses_what_recommend_recommends_at_each_budget(
    invoices_dsn: str,
) -> None:
    # A budget that binds (not every useful index fits) and one that does not.
    expected = [recommended(invoices_dsn, budget_mb) for budget_mb in (1.5, 64.0)]
    with analysis(invoices_dsn) as run:
        chosen = [set(choose("advisor", run, budget)[0]) for budget, _ in expected]
    assert chosen == [designs for _, designs in expected]
    tight, roomy = chosen
    assert tight and len(roomy) > len(tight)


def test_the_shipped_advisor_is_timed_at_each_real_budget_and_at_the_dbas_bytes() -> None:
    (result,) = run_quality(
        ["oltp"],
        budgets=[0.5],
        real_budgets=[0.5],
        scale=0.02,
        strategies=("advisor", SHIPPED, VALUES, DBA),
        repeats=1,
    )
    assert result.dba is not None
    compared = [(c.strategy, c.budget) for c in result.dba.comparisons]
    assert compared == [
        (strategy, budget)
        for strategy in ("advisor", SHIPPED, VALUES)
        for budget in ("0.5x", DBA_BUDGET)
    ]
    by_label = {s.label: s for s in result.sets}
    # The values run read the workload round's parameters from the server log.
    assert "server log" not in by_label["values@0.5x"].note
    assert "server log" not in by_label["shipped@0.5x"].note
    costed = [int(by_label[f"{s}@0.5x"].note.split()[0]) for s in (SHIPPED, VALUES)]
    assert costed[1] > 0 and costed[1] >= costed[0]
    at_dba = by_label["shipped@dba"]
    assert at_dba.size_bytes <= result.dba.size_bytes * 1.05
