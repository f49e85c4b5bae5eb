"""The scale benchmark: how long one analysis of N distinct statements takes.

It starts a throwaway PostgreSQL (pg_stat_statements preloaded, HypoPG installed), loads
the benchmark schema once into a template database, and for every N clones it, runs N
distinct statements two or three times each, and times `recommend()` on that workload.
"""

from __future__ import annotations

import cProfile
import io
import math
import os
import pstats
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from structlog.testing import capture_logs

from advisor.config import Settings, load_settings
from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.model import Analysis
from advisor.pg import session
from bench.workload import (
    DEFAULT_SEED,
    BenchSchema,
    build_schema,
    constraints_sql,
    create_sql,
    generate_statements,
    load_sql,
    run_statements,
)

TEMPLATE_DATABASE = "bench_template"
TARGET_STATEMENTS = 5_000
TARGET_SECONDS = 30.0
# What-if EXPLAINs must grow at most linearly with the statements: a log-log slope above
# this between the smallest and the largest N misses the target.
MAX_EXPLAIN_GROWTH = 1.1
PROFILE_ENTRIES = 25

# Server settings for a faster load; everything else is the ThrowawayCluster's.
SERVER_SETTINGS = {
    "shared_buffers": "'512MB'",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'30min'",
    "maintenance_work_mem": "'256MB'",
}


@dataclass
class ScaleResult:
    """The figures of one benchmark run (one N); field names are the JSON keys."""

    statements_requested: int
    statements_seen: int
    statements_read: int
    analyzed: int
    skipped: int
    candidates: int | None
    recommendations: int
    analysis_seconds: float
    analysis_cpu_seconds: float
    whatif_explains: int
    cache_hits: int
    explains_per_statement: float
    workload_calls: int
    workload_seconds: float
    load_seconds: float
    postgres_major: int
    cpu_count: int | None
    tables: int
    timestamp: str
    skip_reasons: dict[str, int] = field(default_factory=dict)
    families: dict[str, int] = field(default_factory=dict)
    recommended_sql: list[str] = field(default_factory=list)
    profile_top: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The figures as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class _Timed:
    """An analysis with its wall and process (Python side) time and the candidate count
    the advisor logged."""

    analysis: Analysis
    wall_seconds: float
    cpu_seconds: float
    candidates: int | None


def run_scale(
    statement_counts: Sequence[int],
    tables: int,
    *,
    seed: int = DEFAULT_SEED,
    profile: bool = False,
    progress: bool = True,
) -> list[ScaleResult]:
    """Run the benchmark for each N on one throwaway cluster."""
    schema = build_schema(tables, seed)
    results = []
    with ThrowawayCluster(settings=SERVER_SETTINGS) as cluster:
        started = time.perf_counter()
        _create_template(cluster, schema, seed)
        load_seconds = time.perf_counter() - started
        _say(progress, f"loaded {tables} tables in {load_seconds:.1f} s")
        for count in statement_counts:
            result = _run_one(cluster, schema, count, seed, profile, progress)
            result.load_seconds = round(load_seconds, 3)
            results.append(result)
    return results


def _say(progress: bool, message: str) -> None:
    """Print a progress line (when `progress`)."""
    if progress:
        print(f"bench: {message}", flush=True)


def _create_template(cluster: ThrowawayCluster, schema: BenchSchema, seed: int) -> None:
    """The template database: extensions, tables, data, constraints, statistics."""
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{TEMPLATE_DATABASE}"')
    with psycopg.connect(cluster.dsn(TEMPLATE_DATABASE), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
        conn.execute("CREATE EXTENSION hypopg")
        conn.execute(create_sql(schema))
        conn.execute(load_sql(schema, seed))
        conn.execute(constraints_sql(schema))
        conn.execute("VACUUM ANALYZE")


def _clone(cluster: ThrowawayCluster, name: str) -> str:
    """A copy of the template database (a file copy: much faster than loading again)."""
    strategy = " STRATEGY = FILE_COPY" if cluster.major >= 15 else ""
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DATABASE}"{strategy}')
    return cluster.dsn(name)


def _run_one(
    cluster: ThrowawayCluster,
    schema: BenchSchema,
    count: int,
    seed: int,
    profile: bool,
    progress: bool,
) -> ScaleResult:
    """Clone, reset pg_stat_statements, run N statements, then time the analysis."""
    dsn = _clone(cluster, f"bench_{count}")
    statements = generate_statements(schema, count, seed)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
        started = time.perf_counter()
        calls = run_statements(conn, statements)
        workload_seconds = time.perf_counter() - started
        seen = _statements_seen(conn)
        major = int(conn.info.server_version // 10_000)
    _say(progress, f"N={count}: ran {calls} calls in {workload_seconds:.1f} s, analyzing")
    settings = load_settings(None, dsn=dsn, min_calls=2, min_saved_ms_per_day=0.0)
    timed = _timed_analysis(dsn, settings)
    analysis = timed.analysis
    profile_top = _profiled_analysis(dsn, settings) if profile else []
    return ScaleResult(
        statements_requested=count,
        statements_seen=seen,
        statements_read=analysis.statements_total,
        analyzed=analysis.statements_analyzed,
        skipped=len(analysis.skipped),
        candidates=timed.candidates,
        recommendations=len(analysis.recommendations),
        analysis_seconds=round(timed.wall_seconds, 3),
        analysis_cpu_seconds=round(timed.cpu_seconds, 3),
        whatif_explains=analysis.whatif_explains,
        cache_hits=analysis.whatif_cache_hits,
        explains_per_statement=round(
            analysis.whatif_explains / max(analysis.statements_analyzed, 1), 2
        ),
        workload_calls=calls,
        workload_seconds=round(workload_seconds, 3),
        load_seconds=0.0,
        postgres_major=major,
        cpu_count=os.cpu_count(),
        tables=len(schema.tables),
        timestamp=datetime.now(UTC).isoformat(timespec="seconds"),
        skip_reasons=dict(Counter(s.reason for s in analysis.skipped).most_common()),
        families=dict(Counter(s.family for s in statements).most_common()),
        recommended_sql=[r.create_sql for r in analysis.recommendations],
        profile_top=profile_top,
    )


def _statements_seen(conn: psycopg.Connection[Any]) -> int:
    """Distinct queryids of this database in pg_stat_statements with at least two calls."""
    row = conn.execute(
        "SELECT count(DISTINCT queryid) FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND calls >= 2"
    ).fetchone()
    return int(row[0]) if row else 0


def _timed_analysis(dsn: str, settings: Settings) -> _Timed:
    """recommend() with its wall and process time; the advisor's log lines are captured
    (not printed) and the candidate count is taken from its `analyze.done` event."""
    with session(dsn, settings) as conn, capture_logs() as events:
        wall, cpu = time.perf_counter(), time.process_time()
        analysis = recommend(conn, settings)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = [e for e in events if e.get("event") == "analyze.done"]
    candidates = done[-1].get("candidates") if done else None
    return _Timed(analysis, wall, cpu, candidates if isinstance(candidates, int) else None)


def _profiled_analysis(dsn: str, settings: Settings) -> list[str]:
    """A second analysis under cProfile; the top functions by cumulative and own time."""
    profiler = cProfile.Profile()
    with session(dsn, settings) as conn, capture_logs(), _enabled(profiler):
        recommend(conn, settings)
    lines = []
    for order in ("cumulative", "tottime"):
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer).strip_dirs().sort_stats(order)
        stats.print_stats(PROFILE_ENTRIES)
        lines.append(f"--- sorted by {order}")
        lines.extend(line for line in buffer.getvalue().splitlines() if line.strip())
    return lines


@contextmanager
def _enabled(profiler: cProfile.Profile) -> Iterator[None]:
    """Profile the body of the with-statement."""
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()


# ------------------------------------------------------------------------- report

_COLUMNS = (
    ("statements", "statements_requested"),
    ("analyzed", "analyzed"),
    ("skipped", "skipped"),
    ("explains", "whatif_explains"),
    ("cache hits", "cache_hits"),
    ("explains/stmt", "explains_per_statement"),
    ("seconds", "analysis_seconds"),
    ("recommendations", "recommendations"),
)

_DETAILS = (
    ("statements", "statements_requested"),
    ("seen in pgss", "statements_seen"),
    ("read", "statements_read"),
    ("candidates", "candidates"),
    ("python cpu s", "analysis_cpu_seconds"),
    ("workload calls", "workload_calls"),
    ("workload s", "workload_seconds"),
    ("load s", "load_seconds"),
)


def format_table(results: Sequence[ScaleResult], details: bool = False) -> str:
    """The results as a plain, left-aligned text table."""
    columns = _DETAILS if details else _COLUMNS
    rows = [[title for title, _ in columns]]
    for result in results:
        values = result.to_json()
        rows.append([_cell(values[key]) for _, key in columns])
    widths = [max(len(row[i]) for row in rows) + 2 for i in range(len(columns))]
    return "\n".join(
        "".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _cell(value: object) -> str:
    """One value as table text: '-' for None, floats rounded."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if value >= 10 or value == int(value) else f"{value:.2f}"
    return str(value)


def target_line(results: Sequence[ScaleResult]) -> str:
    """The targets: the time at N = TARGET_STATEMENTS, and how EXPLAINs and time grow
    between the smallest and the largest N (the slope on a log-log scale: 1 is linear)."""
    line = f"target: {TARGET_STATEMENTS} statements analyzed in under {TARGET_SECONDS:.0f} s"
    for result in results:
        if result.statements_requested == TARGET_STATEMENTS:
            met = result.analysis_seconds < TARGET_SECONDS
            verdict = "met" if met else "MISSED"
            line += f" -- {verdict} ({result.analysis_seconds:.1f} s)"
    growth = growth_slopes(results)
    if growth is not None:
        explains, seconds = growth
        verdict = "met" if explains <= MAX_EXPLAIN_GROWTH else "MISSED"
        line += (
            f"\ntarget: what-if EXPLAINs grow at most linearly -- {verdict} (slope "
            f"{explains:.2f}; analysis time slope {seconds:.2f})"
        )
    return line


def growth_slopes(results: Sequence[ScaleResult]) -> tuple[float, float] | None:
    """Log-log slopes of EXPLAINs and of analysis time from the smallest to the largest N."""
    ordered = sorted(results, key=lambda r: r.analyzed)
    if len(ordered) < 2 or ordered[0].analyzed < 1 or ordered[-1].analyzed <= ordered[0].analyzed:
        return None
    small, large = ordered[0], ordered[-1]
    span = math.log(large.analyzed / small.analyzed)
    explains = math.log(max(large.whatif_explains, 1) / max(small.whatif_explains, 1)) / span
    seconds = math.log(max(large.analysis_seconds, 1e-3) / max(small.analysis_seconds, 1e-3)) / span
    return explains, seconds
