"""`python -m bench`: the analysis scale benchmark and the daemon benchmarks.

Sections (all by default, or those named with `--only`):

- scale: one analysis of N distinct statements (`--statements`, default 50,500,5000); writes
  `<out>/analysis-<N>.json` per N and `<out>/scale.json`.
- overhead: pgbench TPS without and with the daemon collecting every second.
- qualstats: pgbench TPS by pg_qualstats' sample rate (0, 0.01, 1), interleaved.
- collect: one collection with 5,000 entries in pg_stat_statements.
- memory: the daemon's RSS after an hour of simulated 1 s collections.
- quality: the advisor's indexes against the baselines and the ILP optimum on a TPC-H-like
  and an ORM-style OLTP workload, by estimate at several budgets, then built for real and
  timed, with a DBA's hand-written set in the same rounds, and the advisor as shipped
  (`shipped`: `recommend` with the product's defaults, pg_stat_statements only; `values`:
  the same with the round's parameters from the server log), each also at the DBA set's
  bytes; writes `<out>/quality-<workload>.json` and `<out>/quality.json`.
- values: value-aware against generic-only advice on a skewed ORM-style workload, both
  sets built for real and timed with the statements' own parameter values; writes
  `<out>/values.json`.

Each section prints a table with its target line and writes `<out>/<section>.json`.
`--statements` without `--only` runs the scale benchmark alone, as it always did.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

from advisor.errors import AdvisorError
from bench.collection import report_collect, run_collect
from bench.common import environment, say, write_json
from bench.memory import FULL_SIZE, SimConfig, memory_payload, report_memory, run_memory
from bench.overhead import default_modes, report_overhead, run_overhead
from bench.quality import (
    DEFAULT_BUDGETS,
    DEFAULT_REAL_BUDGETS,
    DEFAULT_REPEATS,
    STRATEGIES,
    WORKLOADS,
    dba_lines,
    format_dba,
    format_real,
    format_sets,
    format_statements,
    run_quality,
    target_lines,
)
from bench.qualstats import report_qualstats, run_qualstats
from bench.scale import ScaleResult, format_table, run_scale, target_line
from bench.values import DEFAULT_BUDGET as VALUES_BUDGET
from bench.values import DEFAULT_REPEATS as VALUES_REPEATS
from bench.values import DEFAULT_SCALE as VALUES_SCALE
from bench.values import report as report_values
from bench.values import run_values
from bench.workload import DEFAULT_SEED

DEFAULT_STATEMENTS = (50, 500, 5_000)
SECTIONS = ("quality", "values", "scale", "overhead", "qualstats", "collect", "memory")
# The failures a section may meet in its environment; anything else is a bug and stops.
SECTION_ERRORS = (
    AdvisorError,
    psycopg.Error,
    OSError,
    RuntimeError,
    ValueError,
    subprocess.SubprocessError,
)


def _counts(text: str) -> list[int]:
    """`200` or `200,500`: positive statement counts."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"statement counts must be positive: {text!r}")
    return counts


def _names(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """A comma list of names among `choices`."""

    def parse(text: str) -> list[str]:
        names = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [name for name in names if name not in choices]
        if not names or unknown:
            raise argparse.ArgumentTypeError(
                f"choose among {', '.join(choices)}; not {', '.join(unknown) or repr(text)}"
            )
        return list(dict.fromkeys(names))

    return parse


def _fractions(text: str) -> list[float]:
    """`0.25,0.5,1`: positive fractions of the data size."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from None
    if not values or any(value <= 0 for value in values):
        raise argparse.ArgumentTypeError(f"budgets must be positive: {text!r}")
    return values


def _fraction(text: str) -> float:
    """One positive fraction of the data size."""
    values = _fractions(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"one number, not a list: {text!r}")
    return values[0]


def _size(text: str) -> tuple[int, int, int]:
    """`STATEMENTS,TABLES,INDEXES` of the simulated database, or `full`."""
    if text == "full":
        return FULL_SIZE
    try:
        statements, tables, indexes = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not STATEMENTS,TABLES,INDEXES: {text!r}") from None
    if min(statements, tables, indexes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive: {text!r}")
    return statements, tables, indexes


def _positive(text: str) -> int:
    """A positive integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _not_negative(text: str) -> int:
    """An integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    """The command line's options, by section."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="pg-advisor benchmarks on throwaway PostgreSQL clusters: the analysis "
        "scale benchmark and the daemon's overhead, collection time and memory.",
    )
    parser.add_argument(
        "--only",
        type=_names(SECTIONS),
        metavar="SECTION[,SECTION...]",
        help=f"sections to run: {', '.join(SECTIONS)} (default: all; with --statements "
        "alone: scale)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("bench/results"), help="folder for the JSON results"
    )
    quality = parser.add_argument_group("quality")
    quality.add_argument(
        "--quality-workloads",
        type=_names(list(WORKLOADS)),
        default=list(WORKLOADS),
        metavar="NAME[,NAME...]",
        help=f"workloads: {', '.join(WORKLOADS)} (default: all)",
    )
    quality.add_argument(
        "--quality-strategies",
        type=_names(STRATEGIES),
        default=list(STRATEGIES),
        metavar="NAME[,NAME...]",
        help=f"strategies: {', '.join(STRATEGIES)} (default: all; shipped and values are "
        "`recommend` as shipped, asked at the real budgets and, with dba, at the DBA set's "
        "bytes)",
    )
    quality.add_argument(
        "--quality-budgets",
        type=_fractions,
        default=list(DEFAULT_BUDGETS),
        metavar="F[,F...]",
        help="storage budgets as fractions of the data size (default: 0.25,0.5,1)",
    )
    quality.add_argument(
        "--quality-real-budgets",
        type=_fractions,
        default=list(DEFAULT_REAL_BUDGETS),
        metavar="F[,F...]",
        help="budgets whose sets are built for real and timed (default: 0.5)",
    )
    quality.add_argument(
        "--quality-scale", type=float, default=1.0, help="data size factor of the workloads"
    )
    quality.add_argument(
        "--quality-repeats",
        type=_positive,
        default=DEFAULT_REPEATS,
        help="timed rounds per real run; per statement the median counts",
    )
    values = parser.add_argument_group("values")
    values.add_argument(
        "--values-scale",
        type=float,
        default=VALUES_SCALE,
        help="data size factor of the skewed workload (1.0: about 90 MB)",
    )
    values.add_argument(
        "--values-repeats",
        type=_positive,
        default=VALUES_REPEATS,
        help="timed rounds per index set; per statement the median counts",
    )
    values.add_argument(
        "--values-budget",
        type=_fraction,
        default=VALUES_BUDGET,
        metavar="F",
        help="storage budget of both analyses as a fraction of the data size "
        f"(default: {VALUES_BUDGET:g})",
    )
    scale = parser.add_argument_group("scale")
    scale.add_argument(
        "--statements",
        type=_counts,
        action="append",
        metavar="N[,N...]",
        help="distinct statements in the workload; repeatable or a comma list "
        f"(default: {DEFAULT_STATEMENTS[0]})",
    )
    scale.add_argument("--tables", type=int, default=10, help="tables in the schema")
    scale.add_argument("--seed", type=int, default=DEFAULT_SEED, help="workload seed")
    scale.add_argument(
        "--profile",
        action="store_true",
        help="also run each analysis once more under cProfile and print the top functions",
    )
    overhead = parser.add_argument_group("overhead")
    overhead.add_argument(
        "--overhead-seconds", type=_positive, default=20, help="seconds per pgbench run"
    )
    overhead.add_argument(
        "--overhead-repeats",
        type=_positive,
        default=3,
        help="select-only runs without and with the daemon, each",
    )
    overhead.add_argument(
        "--overhead-tpcb-repeats",
        type=_not_negative,
        default=1,
        help="TPC-B-like runs without and with the daemon, each (0: none)",
    )
    qualstats = parser.add_argument_group("qualstats")
    qualstats.add_argument(
        "--qualstats-seconds", type=_positive, default=10, help="seconds per pgbench run"
    )
    qualstats.add_argument(
        "--qualstats-repeats", type=_positive, default=3, help="runs per sample rate"
    )
    collect = parser.add_argument_group("collect")
    collect.add_argument(
        "--collect-statements",
        type=_positive,
        default=5_000,
        help="distinct statements in pg_stat_statements",
    )
    collect.add_argument(
        "--collect-runs", type=_positive, default=20, help="timed take() runs (median)"
    )
    memory = parser.add_argument_group("memory")
    memory.add_argument(
        "--memory-size",
        type=_size,
        default=SimConfig().size,
        metavar="STATEMENTS,TABLES,INDEXES",
        help="the simulated database, or `full` for "
        f"{','.join(str(n) for n in FULL_SIZE)} (default: %(default)s, to fit ~2 minutes)",
    )
    memory.add_argument(
        "--memory-iterations",
        type=_positive,
        default=3_600,
        help="simulated collections, 1 s apart",
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: sections and each section's options."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.tables < 2:
        parser.error("--tables must be at least 2 (joins need a parent and a child)")
    if args.only is None:
        args.only = ["scale"] if args.statements else list(SECTIONS)
    counts = [count for group in args.statements or [list(DEFAULT_STATEMENTS)] for count in group]
    args.statements = list(dict.fromkeys(counts))
    return args


def write_results(results: Sequence[ScaleResult], out: Path) -> list[Path]:
    """One JSON document per statement count."""
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for result in results:
        path = out / f"analysis-{result.statements_requested}.json"
        path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
        paths.append(path)
    return paths


def report(results: Sequence[ScaleResult], paths: Sequence[Path]) -> None:
    """Print the tables, skip reasons, profiles and the target line."""
    print()
    print(format_table(results))
    print()
    print(format_table(results, details=True))
    for result in results:
        if result.skip_reasons:
            print(f"\nskipped at N={result.statements_requested}:")
            for reason, count in result.skip_reasons.items():
                print(f"  {count:4d}  {reason}")
        if result.profile_top:
            print(f"\nprofile at N={result.statements_requested}:")
            print("\n".join(result.profile_top))
    print()
    for path in paths:
        print(f"wrote {path}")
    print(target_line(results))


def section_scale(args: argparse.Namespace) -> list[Path]:
    """The analysis scale benchmark: one JSON per N, and all of them in scale.json."""
    results = run_scale(args.statements, args.tables, seed=args.seed, profile=args.profile)
    paths = write_results(results, args.out)
    major = results[0].postgres_major if results else None
    payload = {"results": [r.to_json() for r in results], "environment": environment(major)}
    paths.append(write_json(args.out, "scale", payload))
    report(results, paths[:-1])
    return paths[-1:]


def section_quality(args: argparse.Namespace) -> list[Path]:
    """The advisor against the baselines and the optimum, by estimate and for real."""
    results = run_quality(
        args.quality_workloads,
        budgets=args.quality_budgets,
        real_budgets=args.quality_real_budgets,
        scale=args.quality_scale,
        seed=args.seed,
        strategies=args.quality_strategies,
        repeats=args.quality_repeats,
    )
    paths = []
    for result in results:
        paths.append(write_json(args.out, f"quality-{result.workload}", result.to_json()))
        print(f"\n--- {result.workload}: {result.description}")
        print(
            f"data {result.data_bytes / 2**20:,.0f} MB, {result.analyzed} of "
            f"{result.statements} statements analyzed, {result.candidates} candidates; "
            f"round without new indexes {result.round_ms / 1000:.1f} s "
            f"(pg_stat_statements: {result.pgss_ms / 1000:.1f} s)"
        )
        for reason, count in result.skipped.items():
            print(f"  skipped {count}: {reason}")
        print()
        print(format_sets(result))
        print()
        print(format_real(result))
        print()
        print(format_statements(result))
        if result.dba is not None:
            print()
            print(format_dba(result))
    payload = {
        "results": [r.to_json() for r in results],
        "targets": target_lines(results),
        "dba": dba_lines(results),
        "environment": environment(),
    }
    paths.append(write_json(args.out, "quality", payload))
    print()
    print("\n".join([*target_lines(results), *dba_lines(results)]))
    return paths


def section_values(args: argparse.Namespace) -> list[Path]:
    """Value-aware against generic-only advice, built for real and timed."""
    result = run_values(
        scale=args.values_scale,
        repeats=args.values_repeats,
        budget_fraction=args.values_budget,
        seed=args.seed,
    )
    payload = {**result.to_json(), "environment": environment()}
    path = write_json(args.out, "values", payload)
    print()
    print(report_values(result))
    return [path]


def section_overhead(args: argparse.Namespace) -> list[Path]:
    """pgbench TPS without and with the daemon."""
    modes = default_modes(args.overhead_repeats, args.overhead_tpcb_repeats)
    result = run_overhead(modes, args.overhead_seconds)
    path = write_json(args.out, "overhead", result.to_json())
    print()
    print(report_overhead(result))
    return [path]


def section_qualstats(args: argparse.Namespace) -> list[Path]:
    """pgbench TPS by pg_qualstats' sample rate."""
    result = run_qualstats(seconds=args.qualstats_seconds, repeats=args.qualstats_repeats)
    path = write_json(args.out, "qualstats", result.to_json())
    print()
    print(report_qualstats(result))
    return [path]


def section_collect(args: argparse.Namespace) -> list[Path]:
    """One collection with many entries in pg_stat_statements."""
    result = run_collect(args.collect_statements, args.collect_runs)
    path = write_json(args.out, "collect", result.to_json())
    print()
    print(report_collect(result))
    return [path]


def section_memory(args: argparse.Namespace) -> list[Path]:
    """The daemon's memory after an hour of simulated collections."""
    statements, tables, indexes = args.memory_size
    config = SimConfig(
        statements=statements, tables=tables, indexes=indexes, iterations=args.memory_iterations
    )
    result = run_memory(config)
    path = write_json(args.out, "memory", memory_payload(result, environment()))
    print()
    print(report_memory(result))
    return [path]


SECTION_RUNNERS: dict[str, Callable[[argparse.Namespace], list[Path]]] = {
    "quality": section_quality,
    "values": section_values,
    "scale": section_scale,
    "overhead": section_overhead,
    "qualstats": section_qualstats,
    "collect": section_collect,
    "memory": section_memory,
}

TITLES = {
    "quality": "quality of advice: the advisor against the baselines and the optimum",
    "values": "value-aware against generic-only advice, timed with real parameter values",
    "scale": "analysis scale: one analysis of N distinct statements",
    "overhead": "overhead on the database: pgbench TPS without and with the daemon",
    "qualstats": "what pg_qualstats costs the database, by its sample rate",
    "collect": "one collection with many entries in pg_stat_statements",
    "memory": "daemon memory after an hour of simulated 1 s collections",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen sections in turn; a section that fails is reported and skipped."""
    args = parse_args(argv)
    started = time.perf_counter()
    durations: dict[str, float] = {}
    failed: list[str] = []
    for name in args.only:
        print(f"\n=== {name}: {TITLES[name]} ===", flush=True)
        section_started = time.perf_counter()
        try:
            for path in SECTION_RUNNERS[name](args):
                print(f"wrote {path}")
        except SECTION_ERRORS as error:
            failed.append(name)
            print(f"section {name} FAILED: {type(error).__name__}: {error}", flush=True)
        durations[name] = time.perf_counter() - section_started
    print("\n=== run time ===")
    for name, seconds in durations.items():
        print(f"{name:10s} {seconds:6.1f} s")
    print(f"{'total':10s} {time.perf_counter() - started:6.1f} s")
    if failed:
        say(f"failed sections: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
