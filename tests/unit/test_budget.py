"""The default storage budget: half the size of the tables the workload reads, never less
than min_budget_mb; a configured budget wins."""

from __future__ import annotations

from advisor.config import Settings
from advisor.jobs.recommend import budget_bytes
from advisor.model import (
    Column,
    ParsedStatement,
    Schema,
    StatementKind,
    Table,
    TableAccess,
    TableName,
)

MIB = 1024 * 1024
READ, UNREAD = TableName("public", "orders"), TableName("public", "archive")
SCHEMA = Schema(
    {
        READ: Table(READ, (Column("id", "bigint"),), size_bytes=2_000 * MIB),
        UNREAD: Table(UNREAD, (Column("id", "bigint"),), size_bytes=9_000 * MIB),
    }
)
READS_ORDERS = (ParsedStatement(1, StatementKind.SELECT, "SELECT 1", (TableAccess(READ),)),)


def test_the_default_is_half_the_tables_the_workload_reads() -> None:
    assert budget_bytes(Settings(), SCHEMA, READS_ORDERS) == 1_000 * MIB


def test_the_default_is_never_below_min_budget_mb() -> None:
    assert budget_bytes(Settings(), SCHEMA, ()) == 256 * MIB
    assert budget_bytes(Settings(min_budget_mb=1_500), SCHEMA, READS_ORDERS) == 1_500 * MIB


def test_a_configured_budget_wins() -> None:
    assert budget_bytes(Settings(budget_mb=10), SCHEMA, READS_ORDERS) == 10 * MIB
