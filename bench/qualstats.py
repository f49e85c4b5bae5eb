"""What pg_qualstats costs the database, by its sample rate.

The value-aware advice reads pg_qualstats' constants when the server has it; the README
tells operators what it costs. A throwaway cluster with pg_qualstats preloaded gets
`pgbench -i -s 10`; then select-only pgbench runs (the cheapest statements, where a
per-statement cost shows most) alternate between sample rates set per session with
PGOPTIONS, in a rotating order, so that every rate sees the same machine state. Median
TPS per rate, and the cost per statement it implies.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg

from advisor.demo.sandbox import ThrowawayCluster
from bench.common import environment, median, say, table
from bench.overhead import CLIENTS, DATABASE, SCALE, SERVER_SETTINGS, TPS_LINE

DEFAULT_RATES = (0.0, 0.01, 1.0)
DEFAULT_SECONDS = 10
DEFAULT_REPEATS = 3


@dataclass
class RateResult:
    rate: float
    tps: list[float]

    @property
    def median_tps(self) -> float:
        return median(self.tps)


@dataclass
class QualstatsResult:
    """The figures of the section; field names are the JSON keys."""

    scale: int
    clients: int
    seconds: int
    rates: list[RateResult]
    environment: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        for entry, rate in zip(document["rates"], self.rates, strict=True):
            entry["median_tps"] = round(rate.median_tps, 1)
        return document


def run_qualstats(
    rates: tuple[float, ...] = DEFAULT_RATES,
    seconds: int = DEFAULT_SECONDS,
    repeats: int = DEFAULT_REPEATS,
) -> QualstatsResult:
    cluster = ThrowawayCluster(settings=SERVER_SETTINGS)
    if not cluster.has_library("pg_qualstats"):
        raise RuntimeError("pg_qualstats is not installed (postgresql-<major>-pg-qualstats)")
    with cluster:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        with psycopg.connect(cluster.dsn(DATABASE), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_qualstats")
        started = time.perf_counter()
        _pgbench(cluster, "", "-i", "-s", str(SCALE), "-q")
        say(f"qualstats: pgbench -i -s {SCALE} in {time.perf_counter() - started:.1f} s")
        _pgbench(cluster, "", "-S", "-c", str(CLIENTS), "-T", "5")
        results = [RateResult(rate, []) for rate in rates]
        for repeat in range(repeats):
            # The order rotates, so that no rate always runs first (or last).
            shift = repeat % len(results)
            for result in results[shift:] + results[:shift]:
                say(f"qualstats: sample_rate {result.rate:g}, run {repeat + 1}/{repeats}")
                options = f"-c pg_qualstats.sample_rate={result.rate:g}"
                output = _pgbench(
                    cluster, options, "-S", "-c", str(CLIENTS), "-j", str(CLIENTS),
                    "-T", str(seconds),
                )  # fmt: skip
                found = TPS_LINE.search(output)
                if found is None:
                    raise RuntimeError(f"cannot read pgbench's output:\n{output}")
                result.tps.append(float(found.group(1)))
        return QualstatsResult(SCALE, CLIENTS, seconds, results, environment(cluster.major))


def _pgbench(cluster: ThrowawayCluster, options: str, *args: str) -> str:
    command = [
        str(cluster.bindir / "pgbench"),
        "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
        *args, DATABASE,
    ]  # fmt: skip
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PGOPTIONS": options},
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stdout}{completed.stderr}")
    return completed.stdout


def micros_per_statement(base_tps: float, tps: float, clients: int) -> float:
    """What each statement costs more at `tps` than at `base_tps`, in microseconds of a
    client's time (pgbench -S runs one statement per transaction)."""
    if base_tps <= 0 or tps <= 0:
        return 0.0
    return (clients / tps - clients / base_tps) * 1e6


def report_qualstats(result: QualstatsResult) -> str:
    base = result.rates[0].median_tps if result.rates else 0.0
    rows = []
    for rate in result.rates:
        loss = (1 - rate.median_tps / base) * 100 if base else 0.0
        extra = micros_per_statement(base, rate.median_tps, result.clients)
        rows.append(
            [
                f"{rate.rate:g}",
                ", ".join(f"{t:,.0f}" for t in rate.tps),
                f"{rate.median_tps:,.0f}",
                f"{loss:+.1f}%" if rate.rate else "",
                f"{extra:.1f}" if rate.rate else "",
            ]
        )
    spread = max((max(r.tps) - min(r.tps)) / r.median_tps for r in result.rates if r.tps)
    lines = [
        f"pgbench -S, scale {result.scale}, {result.clients} clients, "
        f"{result.seconds} s per run, rates interleaved; runs of one rate spread by "
        f"{spread:.0%} of their median, so smaller differences are noise",
        table(
            ["sample_rate", "tps per run", "median tps", "tps lost", "µs more per statement"],
            rows,
        ),
    ]
    return "\n".join(lines)
