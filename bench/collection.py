"""One collection with 5,000 entries in pg_stat_statements and 200 connections.

It fills pg_stat_statements of a throwaway cluster with N statements of distinct queryids
(distinct select lists and filter columns over a few wide tables: constants and aliases
do not change a queryid, column references do), opens 200 client connections (idle pools,
sessions idle in a transaction, active ones running a long query), then times
`SnapshotReader.take()` (the counters only), the texts of all N, the pg_stat_activity
sample alone, the daemon's first `collect()` (which fetches and stores every text) and its
steady-state `collect()` (texts known; a delta written; the connections sampled).
"""

from __future__ import annotations

import cProfile
import itertools
import pstats
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import pq
from psycopg.conninfo import make_conninfo
from psycopg.pq.abc import PGconn
from structlog.testing import capture_logs

from advisor.collect.connections import sample_activity
from advisor.collect.snapshot import SnapshotReader
from advisor.config import load_settings
from advisor.daemon import Daemon
from advisor.demo.sandbox import ThrowawayCluster
from advisor.pg import session
from bench.common import environment, median, say, table, verdict

DATABASE = "bench_collect"
TARGET_MS = 100.0
WIDE_TABLES = 4
WIDE_COLUMNS = 24
WIDE_ROWS = 1_000
INDEXES_PER_TABLE = 5
# The steady state: this many of the statements are called between two collections.
CALLED_BETWEEN = 500
# Client connections open during the timings, by (application_name, what each does).
CONNECTIONS = (
    *((f"api-{k}", "idle") for k in range(4) for _ in range(30)),
    *(("worker", "idle in transaction") for _ in range(50)),
    *(("reports", "active") for _ in range(30)),
)

# Functions whose cumulative time the profiled steady-state collection reports.
PROFILED_STEPS = (
    ("daemon.py", "collect", "Daemon.collect (whole, under cProfile)"),
    ("pg.py", "connect", "connect (a new session per collection)"),
    ("snapshot.py", "take", "SnapshotReader.take"),
    ("connections.py", "sample_activity", "sample_activity (pg_stat_activity)"),
    ("store.py", "known_queryids", "Store.known_queryids"),
    ("store.py", "last_snapshot", "Store.last_snapshot (decode)"),
    ("deltas.py", "delta", "delta()"),
    ("store.py", "save_poll", "Store.save_poll (encode + write)"),
    ("store.py", "_encode_counters", "  of which _encode_counters"),
    ("store.py", "observe_indexes", "Store.observe_indexes"),
    ("store.py", "texts", "Store.texts (top statements)"),
)


@dataclass
class CollectResult:
    """The figures of the section; field names are the JSON keys."""

    statements_generated: int
    distinct_queryids_generated: int
    pgss_entries_in_database: int
    snapshot_statements: int
    snapshot_tables: int
    snapshot_indexes: int
    take_runs: int
    take_ms_median: float
    take_ms_min: float
    take_ms_max: float
    texts_ms_median: float
    texts_fetched: int
    connections_open: int
    connections_sampled: int
    activity_ms_median: float
    first_collect_ms: float
    steady_runs: int
    steady_collect_ms_median: float
    steady_collect_ms_min: float
    steady_collect_ms_max: float
    steady_delta_statements: int
    sqlite_bytes: int
    profile_ms: dict[str, float] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The figures as a JSON-ready dict."""
        return asdict(self)


# ------------------------------------------------------------------------ the workload


def column(k: int) -> str:
    """The quoted name of column k of a wide table."""
    return f'"c{k:02d}"'


def statement_texts(count: int) -> list[str]:
    """`count` statements of distinct queryids: a pair of selected columns and one filter
    column per statement, round-robin over the wide tables."""
    shapes = list(
        itertools.product(itertools.combinations(range(WIDE_COLUMNS), 2), range(WIDE_COLUMNS))
    )
    if count > len(shapes) * WIDE_TABLES:
        raise ValueError(f"at most {len(shapes) * WIDE_TABLES} distinct statements, not {count}")
    texts = []
    for i in range(count):
        (first, second), where = shapes[i // WIDE_TABLES]
        texts.append(
            f"SELECT {column(first)}, {column(second)} FROM wide_{i % WIDE_TABLES} "
            f"WHERE {column(where)} = %s"
        )
    return texts


def create_schema(conn: psycopg.Connection[Any]) -> None:
    """The wide tables, a few rows each, and a few indexes, analyzed."""
    columns = ", ".join(f"{column(k)} int" for k in range(WIDE_COLUMNS))
    values = ", ".join(f"(g * {k + 1}) % 97" for k in range(WIDE_COLUMNS))
    for t in range(WIDE_TABLES):
        conn.execute(f"CREATE TABLE wide_{t} ({columns})")
        conn.execute(
            f"INSERT INTO wide_{t} SELECT {values} FROM generate_series(1, {WIDE_ROWS}) AS g"
        )
        for k in range(INDEXES_PER_TABLE):
            conn.execute(f"CREATE INDEX ON wide_{t} ({column(k)})")
    conn.execute("VACUUM ANALYZE")


def run_texts(conn: psycopg.Connection[Any], texts: Sequence[str], seed: int = 7) -> None:
    """Call every statement once, in a pipeline (fewer round trips)."""
    rng = random.Random(seed)
    with conn.pipeline():
        for text in texts:
            conn.execute(text, (rng.randint(0, 96),), prepare=False)


def _distinct_in_pgss(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """Distinct queryids of the generated statements, and all entries of this database."""
    row = conn.execute(
        "SELECT count(DISTINCT queryid) FILTER (WHERE query LIKE 'SELECT % FROM wide_%'), "
        "count(*) FROM pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


# ------------------------------------------------------------------------- the timings


def _timed_ms(call: Callable[[], object]) -> float:
    """Wall time of one call, in milliseconds."""
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def run_collect(
    statements: int = 5_000, take_runs: int = 20, steady_runs: int = 10
) -> CollectResult:
    """The whole section on a throwaway cluster."""
    with ThrowawayCluster(settings={"max_connections": str(len(CONNECTIONS) + 50)}) as cluster:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        dsn = cluster.dsn(DATABASE)
        texts = statement_texts(statements)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
            create_schema(conn)
            conn.execute("SELECT pg_stat_statements_reset()")
            started = time.perf_counter()
            run_texts(conn, texts)
            say(f"collect: ran {len(texts):,} statements in {time.perf_counter() - started:.1f} s")
            distinct, entries = _distinct_in_pgss(conn)
        say(f"collect: {distinct:,} distinct queryids, {entries:,} entries in the database")
        with open_connections(dsn, CONNECTIONS):
            say(f"collect: {len(CONNECTIONS)} client connections open")
            result = _measure(dsn, texts, take_runs, steady_runs)
        result.distinct_queryids_generated = distinct
        result.pgss_entries_in_database = entries
        result.environment = environment(cluster.major)
    return result


def _measure(dsn: str, texts: Sequence[str], take_runs: int, steady_runs: int) -> CollectResult:
    """take() and texts() on one session, then the daemon's collections."""
    with tempfile.TemporaryDirectory(prefix="pg-advisor-bench-collect-") as state_dir:
        settings = load_settings(None, dsn=dsn, state_dir=Path(state_dir), listen="127.0.0.1:1")
        with session(dsn, settings) as conn:
            reader = SnapshotReader(conn, DATABASE)
            snapshot = reader.take(conn)
            takes = [_timed_ms(lambda: reader.take(conn)) for _ in range(take_runs)]
            ids = [s.queryid for s in snapshot.statements]
            texts_ms = [_timed_ms(lambda: reader.texts(conn, ids)) for _ in range(3)]
            fetched = len(reader.texts(conn, ids))
            own = settings.application_name
            activity = sample_activity(conn, DATABASE, own)
            activity_ms = [
                _timed_ms(lambda: sample_activity(conn, DATABASE, own)) for _ in range(take_runs)
            ]
        daemon = Daemon(settings)
        try:
            with capture_logs():
                first = _timed_ms(lambda: daemon.collect(DATABASE))
                steady, in_delta = _steady(daemon, dsn, texts, steady_runs)
                profile = _profiled(daemon, dsn, texts)
        finally:
            daemon.store.close()
        sqlite_bytes = daemon.store.path.stat().st_size
    return CollectResult(
        statements_generated=len(texts),
        distinct_queryids_generated=0,
        pgss_entries_in_database=0,
        snapshot_statements=len(snapshot.statements),
        snapshot_tables=len(snapshot.tables),
        snapshot_indexes=len(snapshot.indexes),
        take_runs=take_runs,
        take_ms_median=round(median(takes), 2),
        take_ms_min=round(min(takes), 2),
        take_ms_max=round(max(takes), 2),
        texts_ms_median=round(median(texts_ms), 2),
        texts_fetched=fetched,
        connections_open=len(CONNECTIONS),
        connections_sampled=sum(g.connections for g in activity.groups),
        activity_ms_median=round(median(activity_ms), 2),
        first_collect_ms=round(first, 2),
        steady_runs=steady_runs,
        steady_collect_ms_median=round(median(steady), 2),
        steady_collect_ms_min=round(min(steady), 2),
        steady_collect_ms_max=round(max(steady), 2),
        steady_delta_statements=in_delta,
        sqlite_bytes=sqlite_bytes,
        profile_ms=profile,
    )


@contextmanager
def open_connections(dsn: str, kinds: Sequence[tuple[str, str]]) -> Iterator[None]:
    """Hold client connections open: idle, idle in a transaction (BEGIN and a SELECT), or
    active (a long pg_sleep sent on a bare libpq connection, not waited for), each with
    its application_name."""
    active: list[PGconn] = []
    with ExitStack() as stack:
        for application, kind in kinds:
            if kind == "active":
                conninfo = make_conninfo(dsn, application_name=application)
                pgconn = pq.PGconn.connect(conninfo.encode())
                if pgconn.status != pq.ConnStatus.OK:
                    raise RuntimeError(f"cannot connect: {pgconn.get_error_message()}")
                active.append(pgconn)
                pgconn.send_query(b"SELECT pg_sleep(3600)")
                continue
            conn = stack.enter_context(
                psycopg.connect(dsn, autocommit=kind == "idle", application_name=application)
            )
            if kind == "idle in transaction":
                conn.execute("SELECT 1")
        try:
            yield
        finally:
            for pgconn in active:
                cancel = pgconn.get_cancel()
                cancel.cancel()
                pgconn.finish()


def _call_some(dsn: str, texts: Sequence[str], seed: int) -> None:
    """Call CALLED_BETWEEN random statements (activity between two collections)."""
    rng = random.Random(seed)
    with psycopg.connect(dsn, autocommit=True) as conn:
        run_texts(conn, rng.sample(list(texts), min(CALLED_BETWEEN, len(texts))), seed)


def _steady(daemon: Daemon, dsn: str, texts: Sequence[str], runs: int) -> tuple[list[float], int]:
    """Steady-state collections, each after some activity; and the last delta's size."""
    timings = []
    for run in range(runs):
        _call_some(dsn, texts, seed=run)
        timings.append(_timed_ms(lambda: daemon.collect(DATABASE)))
    return timings, _last_delta_statements(daemon)


def _last_delta_statements(daemon: Daemon) -> int:
    """Statements in the delta the last collection stored."""
    latest = daemon.store.last_snapshot(DATABASE)
    if latest is None:
        return 0
    last = daemon.store.window(DATABASE, latest.taken_at - timedelta(microseconds=1))
    return len(last.statements) if last is not None else 0


def _profiled(daemon: Daemon, dsn: str, texts: Sequence[str]) -> dict[str, float]:
    """One more steady-state collection under cProfile: cumulative ms of its steps."""
    _call_some(dsn, texts, seed=1_000)
    profiler = cProfile.Profile()
    with _enabled(profiler):
        daemon.collect(DATABASE)
    # typeshed does not declare pstats.Stats.stats, the raw table print_stats reads.
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        for suffix, function, label in PROFILED_STEPS:
            ours = filename.endswith((f"advisor/{suffix}", f"collect/{suffix}"))
            if ours and name == function:
                found[label] = found.get(label, 0.0) + round(cumulative * 1000, 2)
    return {label: found[label] for _, _, label in PROFILED_STEPS if label in found}


@contextmanager
def _enabled(profiler: cProfile.Profile) -> Iterator[None]:
    """Profile the body of the with-statement."""
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()


def report_collect(result: CollectResult) -> str:
    """The section's tables, notes and target line."""
    rows = [
        ("statements generated", result.statements_generated),
        ("their distinct queryids in pg_stat_statements", result.distinct_queryids_generated),
        ("pg_stat_statements entries of the database", result.pgss_entries_in_database),
        (
            "snapshot: statements / tables / indexes",
            f"{result.snapshot_statements:,} / {result.snapshot_tables} / "
            f"{result.snapshot_indexes}",
        ),
        (f"take(), counters only: median of {result.take_runs} (ms)", result.take_ms_median),
        ("take(): min / max (ms)", f"{result.take_ms_min:.1f} / {result.take_ms_max:.1f}"),
        (f"texts() of all {result.texts_fetched:,}: median of 3 (ms)", result.texts_ms_median),
        (
            "client connections open / counted by the sample",
            f"{result.connections_open} / {result.connections_sampled}",
        ),
        (
            f"sample_activity() alone: median of {result.take_runs} (ms)",
            result.activity_ms_median,
        ),
        ("first Daemon.collect(), fetches and stores every text (ms)", result.first_collect_ms),
        (
            f"steady Daemon.collect(): median of {result.steady_runs} (ms)",
            result.steady_collect_ms_median,
        ),
        (
            "steady Daemon.collect(): min / max (ms)",
            f"{result.steady_collect_ms_min:.1f} / {result.steady_collect_ms_max:.1f}",
        ),
        ("statements in each steady-state delta", result.steady_delta_statements),
        ("state file after the collections (KiB)", result.sqlite_bytes / 1024),
    ]
    lines = [table(["figure", "value"], rows), ""]
    if result.profile_ms:
        lines.append("one steady-state Daemon.collect() under cProfile (cumulative ms, inflated):")
        lines.append(table(["step", "ms"], list(result.profile_ms.items())))
        lines.append("")
    lines.append(
        f"note: steady state = {CALLED_BETWEEN} of the statements called between two "
        "collections; Daemon.collect() opens a session, reads the counters, stores the delta "
        "and the snapshot in SQLite (synchronous = FULL) and reads the top statements' texts"
    )
    met = result.steady_collect_ms_median < TARGET_MS
    lines.append(
        f"target: one collection with {result.statements_generated:,} statements and "
        f"{result.connections_open} connections in under "
        f"{TARGET_MS:.0f} ms -- {verdict(met)} (steady Daemon.collect() "
        f"{result.steady_collect_ms_median:.1f} ms; take() alone {result.take_ms_median:.1f} ms; "
        f"sample_activity() alone {result.activity_ms_median:.1f} ms)"
    )
    return "\n".join(lines)
