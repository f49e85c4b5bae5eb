"""Write rates from pg_stat_statements' rows, over the reads' window."""

from __future__ import annotations

import pytest

from advisor.analyze.writerates import write_rates, write_target
from advisor.model import Column, Index, KeyColumn, Schema, Statement, Table, TableName

ORDERS = TableName("public", "orders")
SCHEMA = Schema(
    {
        ORDERS: Table(
            ORDERS,
            (Column("id", "bigint"), Column("status", "text"), Column("note", "text")),
            (Index("orders_status", ORDERS, (KeyColumn.of("status"),)),),
        )
    }
)
DAY = 86_400.0


def _statement(text: str, calls: int, rows: int) -> Statement:
    return Statement(1, text, calls, 1.0, 0.0, rows)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("INSERT INTO orders (id) VALUES ($1)", "insert"),
        ('UPDATE "public"."orders" SET note = $1 WHERE id = $2', "update"),
        ("DELETE FROM orders WHERE id = $1", "delete"),
        ("MERGE INTO orders o USING orders s ON o.id = s.id WHEN MATCHED THEN DELETE", "merge"),
        ("COPY orders FROM STDIN", "copy"),
    ],
)
def test_every_kind_of_write_is_attributed_to_its_table(text: str, kind: str) -> None:
    target = write_target(text, SCHEMA)
    assert target is not None and (target.table, target.kind) == (ORDERS, kind)


def test_reads_copy_out_and_unknown_tables_are_not_writes() -> None:
    assert write_target("SELECT * FROM orders WHERE id = $1", SCHEMA) is None
    assert write_target("COPY orders TO STDOUT", SCHEMA) is None
    assert write_target("INSERT INTO elsewhere (id) VALUES ($1)", SCHEMA) is None


def test_rates_are_rows_per_day_over_the_window() -> None:
    rates = write_rates(
        [_statement("INSERT INTO orders (id) VALUES ($1)", 500, 500)], SCHEMA, DAY / 2, {}, 1000
    )
    assert rates.rates[ORDERS].inserts_per_day == 1000
    assert rates.statements == {ORDERS: 1}


def test_a_bulk_load_is_listed_and_not_counted_as_a_rate() -> None:
    load = _statement("INSERT INTO orders SELECT g FROM generate_series(1, $1) g", 1, 600_000)
    rates = write_rates([load], SCHEMA, 60.0, {}, 1000)
    assert rates.rates == {}
    assert rates.bulk == {ORDERS: 600_000}


def test_an_update_of_an_indexed_column_is_never_hot() -> None:
    statements = [
        _statement("UPDATE orders SET status = $1 WHERE id = $2", 100, 100),
        _statement("UPDATE orders SET note = $1 WHERE id = $2", 100, 100),
    ]
    rate = write_rates(statements, SCHEMA, DAY, {ORDERS: 0.5}, 1000).rates[ORDERS]
    assert rate.updates_per_day == 200
    # Only the note updates can stay HOT, and the counters say half of them do.
    assert rate.hot_updates_per_day == 50


def test_unattributed_writes_are_counted_not_invented() -> None:
    rates = write_rates(
        [_statement("INSERT INTO elsewhere (id) VALUES ($1)", 10, 10)], SCHEMA, DAY, {}, 1000
    )
    assert rates.rates == {} and rates.unattributed == 1
    assert "1 write statement(s)" in rates.notes[0] and "none is invented" in rates.notes[0]
    assert write_rates([], SCHEMA, DAY, {}, 1000).notes == ()


def test_the_basis_names_the_window_in_a_readable_unit() -> None:
    statements = [_statement("INSERT INTO orders (id) VALUES ($1)", 10, 10)]
    assert write_rates(statements, SCHEMA, 45, {}, 1000).basis(ORDERS).endswith("last 45 s")
    assert write_rates(statements, SCHEMA, 1800, {}, 1000).basis(ORDERS).endswith("last 30 min")
    assert write_rates(statements, SCHEMA, DAY, {}, 1000).basis(ORDERS).endswith("last 24.0 h")
