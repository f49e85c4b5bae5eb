"""`python -m bench`: the scale benchmark, for one or more statement counts.

Prints a table of the figures and writes one JSON file per statement count,
`<out>/analysis-<N>.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.scale import ScaleResult, format_table, run_scale, target_line
from bench.workload import DEFAULT_SEED

DEFAULT_STATEMENTS = (200,)


def _counts(text: str) -> list[int]:
    """`200` or `200,500`: positive statement counts."""
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not counts or any(count < 1 for count in counts):
        raise argparse.ArgumentTypeError(f"statement counts must be positive: {text!r}")
    return counts


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line: statement counts (flattened, deduplicated), tables, out."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time one pg-advisor analysis of N distinct statements on a throwaway "
        "PostgreSQL with pg_stat_statements and HypoPG.",
    )
    parser.add_argument(
        "--statements",
        type=_counts,
        action="append",
        metavar="N[,N...]",
        help="distinct statements in the workload; repeatable or a comma list "
        f"(default: {DEFAULT_STATEMENTS[0]})",
    )
    parser.add_argument("--tables", type=int, default=10, help="tables in the schema")
    parser.add_argument(
        "--out", type=Path, default=Path("bench/results"), help="folder for the JSON results"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="workload seed")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also run each analysis once more under cProfile and print the top functions",
    )
    args = parser.parse_args(argv)
    if args.tables < 2:
        parser.error("--tables must be at least 2 (joins need a parent and a child)")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the JSON files and print the report."""
    args = parse_args(argv)
    results = run_scale(args.statements, args.tables, seed=args.seed, profile=args.profile)
    paths = write_results(results, args.out)
    report(results, paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
