"""Helpers that build real databases and drive real workloads for the tests."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from advisor.config import Settings, load_settings
from advisor.demo.sandbox import ThrowawayCluster

Params = Callable[[random.Random], Sequence[Any]]


def create_database(
    cluster: ThrowawayCluster,
    name: str,
    ddl: str,
    extensions: Sequence[str] = ("pg_stat_statements", "hypopg"),
) -> str:
    """A fresh database with the given schema and data, analyzed, its statistics left
    alone as a user leaves them; returns its DSN."""
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


def reset_statements(dsn: str, everything: bool = False) -> None:
    """Forget this database's statements (or, with `everything`, the whole server's: a
    full reset, which also moves pg_stat_statements_info.stats_reset)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        if everything:
            conn.execute("SELECT pg_stat_statements_reset()")
        else:
            conn.execute(
                "SELECT pg_stat_statements_reset(0, "
                "(SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
            )


def settings_for(dsn: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"dsn": dsn, "min_calls": 2, "min_saved_ms_per_day": 0.0}
    values.update(overrides)
    return load_settings(None, **values)


SAMPLE_TEMPLATE = "sample_template"


def create_sample_database(cluster: ThrowawayCluster, name: str, extra_ddl: str = "") -> str:
    """A database with the sample application's schema and data, copied from a template
    that is loaded once per cluster (loading the data is the slow part)."""
    from advisor.demo import sample

    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (SAMPLE_TEMPLATE,)
        ).fetchone()
    if not exists:
        create_database(cluster, SAMPLE_TEMPLATE, sample.SCHEMA_SQL + sample.data_sql())
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{SAMPLE_TEMPLATE}"')
    dsn = cluster.dsn(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        if extra_ddl:
            conn.execute(extra_ddl)
        conn.execute("ANALYZE")
    return dsn
