"""Advice on a freshly loaded database with its statistics left alone, as every restored
staging server, CI database and post-import production server looks: the load is not the
workload, and the advice equals the advice after a statistics reset."""

from __future__ import annotations

import time

import psycopg
import pytest

from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.observe import observe
from advisor.jobs.recommend import recommend
from advisor.model import Analysis, Recommendation
from advisor.pg import session
from tests.support import create_database, run_workload, settings_for

# Since PostgreSQL 13 inserts alone wake autovacuum, which sets the visibility map a minute
# or so after a load; whether it has run yet changes what an index-only scan costs. The
# tables hold autovacuum off so that every run sees the same moment, the one before it;
# test_once_vacuumed_... plans the one after.
SHOP = """
CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL)
    WITH (autovacuum_enabled = off);
CREATE TABLE products (id bigint PRIMARY KEY, name text NOT NULL, price numeric NOT NULL)
    WITH (autovacuum_enabled = off);
CREATE TABLE orders (
    id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customers,
    status text NOT NULL, total numeric NOT NULL, created_at timestamptz NOT NULL)
    WITH (autovacuum_enabled = off);
CREATE TABLE order_items (
    id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders,
    product_id bigint NOT NULL REFERENCES products, quantity int NOT NULL)
    WITH (autovacuum_enabled = off);
INSERT INTO customers SELECT g, 'user' || g || '@example.com', 'User ' || g
FROM generate_series(1, 50000) g;
INSERT INTO products SELECT g, 'Product ' || g, (g % 100) + 0.99 FROM generate_series(1, 5000) g;
INSERT INTO orders SELECT g, 1 + (g * 7919) % 50000,
    CASE WHEN g % 50 = 0 THEN 'pending' ELSE 'shipped' END, g % 300,
    timestamptz '2026-01-01' + g * interval '1 minute'
FROM generate_series(1, 200000) g;
INSERT INTO order_items SELECT g, 1 + g % 200000, 1 + (g * 31) % 5000, 1 + g % 3
FROM generate_series(1, 600000) g;
"""

# The five shapes an ORM sends, every value bound.
STATEMENTS = [
    (
        "SELECT id, status, total, created_at FROM orders WHERE customer_id = %s "
        "ORDER BY created_at DESC LIMIT 20",
        lambda r: (r.randint(1, 50000),),
        25,
    ),
    (
        "SELECT id, name FROM customers WHERE email = %s",
        lambda r: (f"user{r.randint(1, 50000)}@example.com",),
        25,
    ),
    (
        "SELECT oi.quantity, p.name, p.price FROM order_items oi "
        "JOIN products p ON p.id = oi.product_id WHERE oi.order_id = %s",
        lambda r: (r.randint(1, 200000),),
        25,
    ),
    ("SELECT count(*) FROM orders WHERE status = %s", lambda r: ("pending",), 25),
    (
        'SELECT "customers"."id", "customers"."email", "orders"."data" FROM "customers" '
        'LEFT JOIN LATERAL (SELECT coalesce(json_agg(json_build_array("o"."id", "o"."total")), '
        '\'[]\'::json) AS "data" FROM (SELECT * FROM "orders" "o" '
        'WHERE "o"."customer_id" = "customers"."id" ORDER BY "o"."created_at" DESC LIMIT %s) "o") '
        '"orders" ON true WHERE "customers"."id" = %s',
        lambda r: (10, r.randint(1, 50000)),
        25,
    ),
]


def _leads(analysis: Analysis) -> set[tuple[str, str]]:
    """(table, leading key column) of every recommended index."""
    return {(r.design.table.name, r.design.key_columns[0]) for r in analysis.recommendations}


def _analyze(dsn: str) -> Analysis:
    with session(dsn, settings_for(dsn)) as conn:
        return recommend(conn, settings_for(dsn))


@pytest.fixture(scope="module")
def shop(cluster: ThrowawayCluster) -> str:
    dsn = create_database(cluster, "shop_fresh", SHOP)
    run_workload(dsn, STATEMENTS)
    return dsn


def _on_customer(analysis: Analysis) -> Recommendation:
    """The one recommended index on orders led by customer_id."""
    (orders,) = [
        r
        for r in analysis.recommendations
        if r.design.table.name == "orders" and r.design.key_columns[0] == "customer_id"
    ]
    return orders


def test_freshly_loaded_shop_gets_the_indexes_a_dba_adds(shop: str) -> None:
    analysis = _analyze(shop)
    leads = _leads(analysis)
    assert ("customers", "email") in leads
    assert ("order_items", "order_id") in leads
    # Four orders a customer on average, where a sort costs as little as the order: the
    # index returns the newest orders of a customer with thousands of them in order too.
    orders = _on_customer(analysis)
    assert orders.design.key_columns[:2] == ("customer_id", "created_at")
    assert any("already in order" in note for note in orders.notes)


def test_the_load_is_listed_as_bulk_writes_not_counted_as_a_rate(shop: str) -> None:
    settings = settings_for(shop)
    with session(shop, settings) as conn:
        writes = observe(conn, settings).writes
    assert writes is not None
    assert writes.rates == {}
    assert {t.name: rows for t, rows in writes.bulk.items()} == {
        "customers": 50000,
        "products": 5000,
        "orders": 200000,
        "order_items": 600000,
    }


def test_advice_on_the_fresh_load_equals_the_advice_after_a_reset(shop: str) -> None:
    fresh = {r.design for r in _analyze(shop).recommendations}
    with psycopg.connect(shop, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_reset()")
    assert {r.design for r in _analyze(shop).recommendations} == fresh


def test_analytical_statements_run_once_on_fresh_data_get_their_indexes(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(cluster, "shop_once", SHOP)
    run_workload(dsn, [(text, params, 1) for text, params, _ in STATEMENTS[:3]])
    with session(dsn, settings_for(dsn, min_calls=1)) as conn:
        analysis = recommend(conn, settings_for(dsn, min_calls=1))
    assert ("customers", "email") in _leads(analysis)
    assert ("order_items", "order_id") in _leads(analysis)


def test_each_recommendation_says_what_its_write_cost_rests_on(shop: str) -> None:
    orders = _on_customer(_analyze(shop))
    (basis,) = [n for n in orders.notes if n.startswith("write cost:")]
    assert "no writes to public.orders" in basis
    assert "bulk loads of 200,000 rows left out" in basis


def test_once_vacuumed_the_pending_count_gets_an_index_only_scan(
    cluster: ThrowawayCluster,
) -> None:
    dsn = create_database(cluster, "shop_vacuumed", SHOP)
    visible = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Right after a load VACUUM may find the rows not yet visible to every snapshot
        # the server holds; a few seconds later it sets the whole heap all-visible.
        for _ in range(60):
            conn.execute("VACUUM orders")
            (visible,) = conn.execute(
                "SELECT relallvisible FROM pg_class WHERE oid = 'orders'::regclass"
            ).fetchone() or (0,)
            if visible > 0:
                break
            time.sleep(0.5)
    assert visible > 0, "VACUUM set no page all-visible in 30 s"
    run_workload(dsn, STATEMENTS)
    leads = _leads(_analyze(dsn))
    # count(*) of the 2% pending orders: cheap from (status) alone once the heap is visible.
    assert ("orders", "status") in leads
    assert ("orders", "customer_id") in leads
