"""`make demo`: the advisor on a throwaway PostgreSQL with the sample application.

Starts a private cluster (pg_stat_statements preloaded, HypoPG installed), loads the sample
schema and data, runs the application's statements, then shows what `pg-advisor recommend`
finds, and proves the advice by building the indexes and timing the workload again.
"""

from __future__ import annotations

import os
import random
import time
import urllib.request
from pathlib import Path

import psycopg
from rich.console import Console

from advisor import logs
from advisor.config import load_settings
from advisor.demo import sample
from advisor.demo.sandbox import ThrowawayCluster, free_port
from advisor.export.console import print_table, to_sql
from advisor.jobs.recommend import recommend
from advisor.pg import session


def _run_workload(dsn: str, sample_values: bool = False) -> float:
    """Run the sample statements; returns the milliseconds they took. With
    `sample_values`, pg_qualstats samples every statement of this session (it samples 1%
    by default: a real server's workload is long enough for that, this demo's is not)."""
    rng = random.Random(7)
    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        if sample_values:
            conn.execute("SET pg_qualstats.sample_rate = 1")
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
            qualstats = cluster.has_library("pg_qualstats") and cluster.has_extension(
                "pg_qualstats"
            )
            if qualstats:  # the values statements run with (README "Values")
                conn.execute("CREATE EXTENSION pg_qualstats")
            console.print(
                "Loading the sample blog (organizations, users, posts, comments, orders)…"
            )
            conn.execute(sample.SCHEMA_SQL + sample.data_sql())
            conn.execute("ANALYZE")
            # The statistics are left alone, as on any freshly loaded server: the load's
            # rows are bulk writes, which the write rate leaves out (README "Write cost").
        console.print(f"Running the application's {len(sample.STATEMENTS)} statements…")
        before_ms = _run_workload(dsn, sample_values=qualstats)
        console.print(f"Workload took {before_ms:.0f} ms.\n")

        settings = load_settings(None, dsn=dsn, min_calls=2)
        with session(dsn, settings) as conn:
            analysis = recommend(conn, settings, drops=True)
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
        _run_daemon(console, dsn)
    console.print("The throwaway cluster is gone. Point the advisor at your own database with:")
    console.print("  .venv/bin/pg-advisor recommend --dsn postgresql://user@host/db")


def _run_daemon(console: Console, dsn: str) -> None:
    """Start `pg-advisor run` in this process, let it collect and analyze, show its
    metrics; with DEMO_KEEP=1 keep it running until Ctrl-C."""
    from advisor.daemon import Daemon

    console.rule("[bold]pg-advisor run: the daemon")
    state = Path("demo-out")
    settings = load_settings(
        None,
        dsn=dsn,
        listen=f"127.0.0.1:{os.environ.get('DEMO_PORT') or free_port()}",
        state_dir=state / "state",
        out=state / "reports",
        collect_interval=1,
        analyze_interval=3,
        min_calls=2,
    )
    daemon = Daemon(settings)
    daemon.start()
    host, port = daemon.listen_address
    url = f"http://{host}:{port}"
    console.print(f"Metrics at {url}/metrics, liveness {url}/health, readiness {url}/ready")
    try:
        time.sleep(1.5)
        _run_workload(dsn)
        time.sleep(5)
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
            lines = response.read().decode().splitlines()
        wanted = ("pg_advisor_up", "pg_advisor_recommendations{", "pg_advisor_job_duration")
        for line in lines:
            if line.startswith(wanted):
                console.print("  " + line, highlight=False, markup=False)
        if os.environ.get("DEMO_KEEP"):
            console.print("DEMO_KEEP is set: the daemon keeps running; Ctrl-C stops it.")
            daemon.stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        daemon.stop()
    console.print(f"The daemon's state and reports are in {state}/.")


if __name__ == "__main__":
    main()
