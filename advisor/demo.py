"""`make demo`: the advisor on a throwaway PostgreSQL with the sample application.

Starts a private cluster (pg_stat_statements preloaded, HypoPG installed), loads the sample
schema and data, runs the application's statements, then shows what `pg-advisor recommend`
finds, and proves the advice by building the indexes and timing the workload again.
"""

from __future__ import annotations

import random
import time

import psycopg
from rich.console import Console

from advisor import logs, sample
from advisor.advise import analyse
from advisor.config import load_settings
from advisor.export.console import print_table, to_sql
from advisor.pg import session
from advisor.sandbox import ThrowawayCluster


def _run_workload(dsn: str) -> float:
    """Run the sample statements; returns the milliseconds they took."""
    rng = random.Random(7)
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in sample.STATEMENTS:
            for _ in range(statement.calls):
                conn.execute(statement.sql, statement.params(rng), prepare=False).fetchall()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    console = Console()
    logs.configure("warning")
    with ThrowawayCluster() as cluster:
        console.rule("[bold]pg-advisor demo")
        console.print(
            f"Started a throwaway PostgreSQL {cluster.major} on 127.0.0.1:{cluster.port} "
            f"(data in {cluster.datadir})"
        )
        admin_dsn = cluster.dsn()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE demo")
        dsn = cluster.dsn("demo")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
            conn.execute("CREATE EXTENSION hypopg")
            console.print(
                "Loading the sample blog (organizations, users, posts, comments, orders)…"
            )
            conn.execute(sample.SCHEMA_SQL + sample.data_sql())
            conn.execute("ANALYZE")
            conn.execute("SELECT pg_stat_statements_reset()")
        console.print(f"Running the application's {len(sample.STATEMENTS)} statements…")
        before_ms = _run_workload(dsn)
        console.print(f"Workload took {before_ms:.0f} ms.\n")

        settings = load_settings(None, dsn=dsn, min_calls=2)
        with session(dsn, settings) as conn:
            analysis = analyse(conn, settings)
        console.rule("[bold]pg-advisor recommend --dsn … --format table")
        print_table([analysis], console)
        script = to_sql([analysis])
        console.rule("[bold]pg-advisor recommend --dsn … --format sql")
        console.print(script, highlight=False, markup=False, soft_wrap=True)

        console.rule("[bold]Closing the loop: build the indexes, run the workload again")
        with psycopg.connect(dsn, autocommit=True) as conn:
            for recommendation in analysis.recommendations:
                conn.execute(recommendation.create_sql)
            conn.execute("ANALYZE")
        after_ms = _run_workload(dsn)
        console.print(
            f"Workload took {before_ms:.0f} ms before and {after_ms:.0f} ms after "
            f"the {len(analysis.recommendations)} recommended indexes "
            f"({before_ms / max(after_ms, 0.001):.1f}x faster)."
        )
    console.print("The throwaway cluster is gone. Point the advisor at your own database with:")
    console.print("  .venv/bin/pg-advisor recommend --dsn postgresql://user@host/db")


if __name__ == "__main__":
    main()
