"""Helpers that build real databases and drive real workloads for the tests."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from advisor.config import Settings, load_settings
from advisor.sandbox import ThrowawayCluster

Params = Callable[[random.Random], Sequence[Any]]


def create_database(
    cluster: ThrowawayCluster,
    name: str,
    ddl: str,
    extensions: Sequence[str] = ("pg_stat_statements", "hypopg"),
) -> str:
    """A fresh database with the given schema and data, analysed; returns its DSN."""
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = cluster.dsn(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for extension in extensions:
            conn.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        if ddl:
            conn.execute(ddl)
        conn.execute("ANALYZE")
    return dsn


def run_workload(dsn: str, statements: Sequence[tuple[str, Params, int]], seed: int = 7) -> None:
    """Execute each (sql, parameter maker, times) the given number of times, with bound
    parameters as an application driver sends them."""
    rng = random.Random(seed)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for text, params, times in statements:
            for _ in range(times):
                cursor = conn.execute(text, params(rng), prepare=False)
                if cursor.description is not None:
                    cursor.fetchall()


def reset_statements(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")


def settings_for(dsn: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"dsn": dsn, "min_calls": 2, "min_saved_ms_per_day": 0.0}
    values.update(overrides)
    return load_settings(None, **values)
