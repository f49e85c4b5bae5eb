"""The daemon's overhead on the database: pgbench TPS without and with it collecting.

A throwaway cluster gets `pgbench -i -s 10`; then pgbench runs alternately without and
with the daemon, which runs as a child process of its own (`python -m advisor.cli run`)
collecting every second, so that its CPU time is its own and can be read from /proc.
Before a measured run with the daemon, its first collections and its first analysis (due
3 s after it starts) are let finish, so that the run sees steady-state collections only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from advisor.demo.sandbox import ThrowawayCluster, free_port
from bench.common import cpu_seconds, environment, median, say, status_kib, table, verdict

DATABASE = "pgbench"
SCALE = 10
CLIENTS = 2
TARGET_LOSS_PERCENT = 1.0
WARMUP_SECONDS = 5
DAEMON_START_TIMEOUT = 60.0
DAEMON_STOP_TIMEOUT = 20.0
SERVER_SETTINGS = {"shared_buffers": "'512MB'", "max_wal_size": "'4GB'"}
MARKER_LIKE = "/* pg-advisor */%"
TPS_LINE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
XACTS_LINE = re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE)


@dataclass(frozen=True)
class Mode:
    """A pgbench workload: its name and extra flags."""

    name: str
    flags: tuple[str, ...]
    repeats: int


@dataclass
class PgbenchRun:
    """One measured pgbench run."""

    mode: str
    daemon: bool
    tps: float
    transactions: int
    seconds: int
    collections: int | None = None
    daemon_cpu_seconds: float | None = None


@dataclass
class ModeSummary:
    """Median TPS each way for one workload, and the loss."""

    mode: str
    repeats: int
    tps_without: float
    tps_with: float
    loss_percent: float
    # Median of the per-pair losses (each run with the daemon against the run before it).
    paired_loss_percent: float
    # (max - min) / median of the runs without the daemon: the noise floor; None of one run.
    spread_percent: float | None
    collections_per_run: float | None
    # Of one CPU: the daemon process's user + system time per second of the run.
    daemon_cpu_percent: float | None
    # Of all CPUs: the daemon's CPU time plus the server's time on its statements, per
    # second of the run. On a CPU-bound machine the TPS loss cannot be much lower than this.
    cpu_estimate_percent: float | None


@dataclass
class OverheadResult:
    """The figures of the section; field names are the JSON keys."""

    scale: int
    clients: int
    seconds: int
    init_seconds: float
    runs: list[PgbenchRun]
    summaries: list[ModeSummary]
    daemon_rss_kib: int | None
    advisor_queries_ms_per_collection: float | None
    advisor_collections_total: int
    environment: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The figures as a JSON-ready dict."""
        return asdict(self)


# ------------------------------------------------------------------------------- pgbench


def pgbench(cluster: ThrowawayCluster, *args: str, timeout: float) -> str:
    """Run pgbench against the benchmark database; its stdout (raises on failure)."""
    command = [
        str(cluster.bindir / "pgbench"),
        "-h",
        "127.0.0.1",
        "-p",
        str(cluster.port),
        "-U",
        "postgres",
        *args,
        DATABASE,
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def run_pgbench(cluster: ThrowawayCluster, mode: Mode, seconds: int) -> tuple[float, int]:
    """One timed pgbench run: TPS (without connection time) and transactions."""
    jobs = ("-c", str(CLIENTS), "-j", str(CLIENTS), "-T", str(seconds))
    output = pgbench(cluster, *jobs, *mode.flags, timeout=seconds + 120)
    tps = TPS_LINE.search(output)
    xacts = XACTS_LINE.search(output)
    if tps is None or xacts is None:
        raise RuntimeError(f"cannot read pgbench's output:\n{output}")
    return float(tps.group(1)), int(xacts.group(1))


# ---------------------------------------------------------------------------- the daemon


class DaemonProcess:
    """`python -m advisor.cli run` as a child process, logging JSON lines to a file."""

    def __init__(self, dsn: str, state_dir: Path, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        command = [
            sys.executable,
            "-m",
            "advisor.cli",
            "run",
            "--dsn",
            dsn,
            "--collect-interval",
            "1",
            "--analyze-interval",
            "3600",
            "--listen",
            f"127.0.0.1:{self.port}",
            "--state-dir",
            str(state_dir),
            "--out",
            str(state_dir / "reports"),
        ]
        self._log = log_path.open("a")
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
        )

    def events(self) -> list[dict[str, Any]]:
        """The log so far (of this and earlier daemons), as parsed JSON lines."""
        return log_events(self.log_path)

    def collections(self) -> int:
        """Successful collections logged so far (this and earlier daemons of the log)."""
        return logged_collections(self.log_path)

    def wait_steady(self, timeout: float = DAEMON_START_TIMEOUT) -> None:
        """Wait until /ready says yes and the first analysis has finished (either way)."""
        deadline = time.monotonic() + timeout
        analyzed = False
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the daemon exited ({self.process.returncode}):\n{self.tail()}")
            analyzed = analyzed or any(
                e.get("job") == "analyze" and e.get("event") in ("job.done", "job.failed")
                for e in self.events()
            )
            if analyzed and self._ready():
                return
            time.sleep(0.25)
        raise RuntimeError(f"the daemon was not steady after {timeout:.0f} s:\n{self.tail()}")

    def _ready(self) -> bool:
        """GET /ready answers 200."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=2) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def tail(self, lines: int = 20) -> str:
        """The end of the daemon's log."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time; close the log."""
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(DAEMON_STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(DAEMON_STOP_TIMEOUT)
        finally:
            self._log.close()


def log_events(log_path: Path) -> list[dict[str, Any]]:
    """A daemon's log, as parsed JSON lines (other lines skipped)."""
    events = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return events


def logged_collections(log_path: Path) -> int:
    """Successful collections in a daemon's log."""
    return sum(
        1
        for e in log_events(log_path)
        if e.get("event") == "job.done" and e.get("job") == "collect"
    )


@contextmanager
def running_daemon(dsn: str, state_dir: Path, log_path: Path) -> Iterator[DaemonProcess]:
    """A daemon child process, steady, stopped again at the end of the block."""
    daemon = DaemonProcess(dsn, state_dir, log_path)
    try:
        daemon.wait_steady()
        yield daemon
    finally:
        daemon.stop()


# ---------------------------------------------------------------------------- the section


def default_modes(repeats: int, tpcb_repeats: int) -> list[Mode]:
    """Select-only (the most sensitive to overhead) and, if wanted, TPC-B-like."""
    modes = [Mode("select-only (-S)", ("-S",), repeats)]
    if tpcb_repeats > 0:
        modes.append(Mode("TPC-B-like (default)", (), tpcb_repeats))
    return modes


def run_overhead(modes: Sequence[Mode], seconds: int = 20) -> OverheadResult:
    """The whole section on a throwaway cluster."""
    with (
        ThrowawayCluster(settings=SERVER_SETTINGS) as cluster,
        tempfile.TemporaryDirectory(prefix="pg-advisor-bench-overhead-") as work,
    ):
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        dsn = cluster.dsn(DATABASE)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        started = time.perf_counter()
        pgbench(cluster, "-i", "-s", str(SCALE), "-q", timeout=600)
        init_seconds = time.perf_counter() - started
        say(f"overhead: pgbench -i -s {SCALE} in {init_seconds:.1f} s")
        pgbench(cluster, "-S", "-c", str(CLIENTS), "-T", str(WARMUP_SECONDS), timeout=120)
        runs, rss = _alternate(cluster, dsn, Path(work), modes, seconds)
        server_ms = _advisor_server_ms(dsn)
        total = logged_collections(Path(work) / "daemon.log")
        per_collection = server_ms / total if server_ms is not None and total else None
        result = OverheadResult(
            scale=SCALE,
            clients=CLIENTS,
            seconds=seconds,
            init_seconds=round(init_seconds, 1),
            runs=runs,
            summaries=[_summary(mode, runs, per_collection) for mode in modes],
            daemon_rss_kib=rss,
            advisor_queries_ms_per_collection=(
                round(per_collection, 3) if per_collection is not None else None
            ),
            advisor_collections_total=total,
            environment=environment(cluster.major),
        )
    return result


def _alternate(
    cluster: ThrowawayCluster, dsn: str, work: Path, modes: Sequence[Mode], seconds: int
) -> tuple[list[PgbenchRun], int | None]:
    """Each mode's runs, without and with the daemon in turn; the daemon's last RSS."""
    runs: list[PgbenchRun] = []
    rss: int | None = None
    state_dir = work / "state"
    log_path = work / "daemon.log"
    for mode in modes:
        for repeat in range(mode.repeats):
            say(f"overhead: {mode.name} {repeat + 1}/{mode.repeats} without the daemon")
            tps, xacts = run_pgbench(cluster, mode, seconds)
            runs.append(PgbenchRun(mode.name, False, tps, xacts, seconds))
            say(f"overhead: {mode.name} {repeat + 1}/{mode.repeats} with the daemon")
            with running_daemon(dsn, state_dir, log_path) as daemon:
                run, rss = _with_daemon(cluster, daemon, mode, seconds)
            runs.append(run)
    return runs, rss


def _with_daemon(
    cluster: ThrowawayCluster, daemon: DaemonProcess, mode: Mode, seconds: int
) -> tuple[PgbenchRun, int | None]:
    """One run while the daemon collects; its collections and CPU time during the run."""
    pid = daemon.process.pid
    collections, cpu = daemon.collections(), cpu_seconds(pid)
    tps, xacts = run_pgbench(cluster, mode, seconds)
    collections_after, cpu_after = daemon.collections(), cpu_seconds(pid)
    used = None if cpu is None or cpu_after is None else round(cpu_after - cpu, 3)
    run = PgbenchRun(mode.name, True, tps, xacts, seconds, collections_after - collections, used)
    return run, status_kib("VmRSS", pid)


def _summary(
    mode: Mode, runs: Sequence[PgbenchRun], server_ms_per_collection: float | None
) -> ModeSummary:
    """Median TPS without and with, the loss (of the medians and paired), the noise, and
    what CPU accounting says the daemon costs."""
    mine = [r for r in runs if r.mode == mode.name]
    without = [r.tps for r in mine if not r.daemon]
    with_daemon = [r for r in mine if r.daemon]
    base, loaded = median(without), median([r.tps for r in with_daemon])
    pairs = [
        (before.tps - after.tps) / before.tps * 100
        for before, after in zip(mine[::2], mine[1::2], strict=False)
        if not before.daemon and after.daemon and before.tps
    ]
    cpu = [r.daemon_cpu_seconds / r.seconds for r in with_daemon if r.daemon_cpu_seconds]
    collections = [float(r.collections) for r in with_daemon if r.collections is not None]
    return ModeSummary(
        mode=mode.name,
        repeats=mode.repeats,
        tps_without=round(base, 1),
        tps_with=round(loaded, 1),
        loss_percent=round((base - loaded) / base * 100, 2) if base else 0.0,
        paired_loss_percent=round(median(pairs), 2),
        spread_percent=(
            round((max(without) - min(without)) / base * 100, 1)
            if len(without) > 1 and base
            else None
        ),
        collections_per_run=median(collections) if collections else None,
        daemon_cpu_percent=round(median(cpu) * 100, 2) if cpu else None,
        cpu_estimate_percent=_cpu_estimate(with_daemon, server_ms_per_collection),
    )


def _cpu_estimate(
    with_daemon: Sequence[PgbenchRun], server_ms_per_collection: float | None
) -> float | None:
    """Median over the runs of (daemon CPU s + server s on the advisor's statements) per
    second of the run, as a share of all CPUs."""
    cpus = os.cpu_count() or 1
    shares = [
        (r.daemon_cpu_seconds + r.collections * (server_ms_per_collection or 0.0) / 1000)
        / (r.seconds * cpus)
        * 100
        for r in with_daemon
        if r.daemon_cpu_seconds is not None and r.collections is not None
    ]
    return round(median(shares), 3) if shares else None


def _advisor_server_ms(dsn: str) -> float | None:
    """Server execution time of every statement the advisor sent (they carry its marker)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sum(total_exec_time + total_plan_time) FROM pg_stat_statements "
            "WHERE query LIKE %s",
            (MARKER_LIKE,),
        ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


def report_overhead(result: OverheadResult) -> str:
    """The section's tables, notes and target line."""
    runs = table(
        ["workload", "daemon", "TPS", "transactions", "collections", "daemon CPU s"],
        [
            (
                r.mode,
                "with" if r.daemon else "without",
                r.tps,
                r.transactions,
                r.collections,
                r.daemon_cpu_seconds,
            )
            for r in result.runs
        ],
    )
    summary = table(
        [
            "workload",
            "runs each",
            "median TPS without",
            "median TPS with",
            "loss %",
            "paired loss %",
            "noise %",
            "collections/run",
            "daemon CPU %",
            "CPU estimate %",
        ],
        [
            (
                s.mode,
                s.repeats,
                s.tps_without,
                s.tps_with,
                s.loss_percent,
                s.paired_loss_percent,
                s.spread_percent,
                s.collections_per_run,
                s.daemon_cpu_percent,
                s.cpu_estimate_percent,
            )
            for s in result.summaries
        ],
    )
    lines = [runs, "", summary, "", *_notes(result), _target(result.summaries[0])]
    return "\n".join(lines)


def _notes(result: OverheadResult) -> list[str]:
    """How to read the summary."""
    cpus = result.environment.get("cpu_count")
    lines = [
        "loss % = (median without - median with) / median without; paired = median of each "
        "with-run against the without-run just before it; noise % = (max - min) / median "
        "of the runs without the daemon",
        "daemon CPU % = the daemon process's CPU time per second of the run, of one CPU; "
        f"CPU estimate % = daemon CPU + the server's time on the advisor's statements, of all "
        f"{cpus} CPUs (excludes the server's cost of a new session per collection)",
    ]
    rss = f"{result.daemon_rss_kib / 1024:.1f} MiB" if result.daemon_rss_kib else "-"
    lines.append(f"daemon RSS at the end of its last run: {rss}")
    if result.advisor_queries_ms_per_collection is not None:
        lines.append(
            "server time of the advisor's own statements: "
            f"{result.advisor_queries_ms_per_collection:.2f} ms per collection "
            f"({result.advisor_collections_total} collections, from pg_stat_statements)"
        )
    lines.append(
        f"note: {cpus} CPUs shared by pgbench ({CLIENTS} clients, {CLIENTS} threads), its "
        f"{CLIENTS} backends and the daemon, on a shared host: run-to-run noise is far larger "
        "than a 1% effect, so the TPS figures cannot confirm or refute the target; the CPU "
        "estimate is the steadier figure"
    )
    return lines


def _target(select: ModeSummary) -> str:
    """The target line: the measured loss, whether the noise allows a verdict, and the CPU
    estimate's verdict."""
    measured = f"{select.mode}: {select.loss_percent:+.2f}% of the medians"
    noisy = select.spread_percent is None or select.spread_percent > TARGET_LOSS_PERCENT
    if noisy:
        noise = "unknown" if select.spread_percent is None else f"{select.spread_percent:.1f}%"
        outcome = f"INCONCLUSIVE by TPS ({measured}; noise {noise})"
    else:
        outcome = f"{verdict(select.loss_percent < TARGET_LOSS_PERCENT)} ({measured})"
    if select.cpu_estimate_percent is not None:
        met = select.cpu_estimate_percent < TARGET_LOSS_PERCENT
        outcome += f"; by CPU accounting {verdict(met)} ({select.cpu_estimate_percent:.2f}%)"
    return (
        f"target: TPS loss under {TARGET_LOSS_PERCENT:.0f}% with collections every 1 s -- "
        + outcome
    )
