"""`python -m bench.parse_bounds`: where pglast crashes, and what parsing large texts costs.

It finds, for each construct that nests (`$1+$1+...`, UNIONs, nested
subqueries ...), the smallest number of levels at which `pglast.parse_sql` kills the
process (SIGSEGV; each try in a child process), on the main thread's stack and on a 2 MB
thread stack, next to the most levels advisor.analyze.bounds lets through: the margin
behind MAX_NESTING. Nothing here needs a database.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence

from pglast.parser import scan

from advisor.analyze.bounds import MAX_NESTING, nesting
from bench.common import say, table

# Each builds a statement nested `n` levels deep in one way.
CONSTRUCTS: dict[str, Callable[[int], str]] = {
    "plus": lambda n: "SELECT " + "+".join(["$1"] * n),
    "concat": lambda n: "SELECT " + "||".join(["$1"] * n),
    "not": lambda n: "SELECT " + "NOT " * n + "true",
    "cast": lambda n: "SELECT 1" + "::int" * n,
    "collate": lambda n: "SELECT x" + ' COLLATE "C"' * n,
    "union": lambda n: " UNION ".join(["SELECT 1"] * n),
    "join": lambda n: "SELECT 1 FROM t" + " JOIN t ON true" * n,
    "paren_join": lambda n: "SELECT 1 FROM " + "(" * n + "t" + " JOIN t ON true)" * n,
    "subquery": lambda n: "SELECT " + "(SELECT " * n + "1" + ")" * n,
    "paren_plus": lambda n: "SELECT " + "(1+" * n + "1" + ")" * n,
    "func": lambda n: "SELECT " + "f(" * n + "1" + ")" * n,
    "case": lambda n: "SELECT " + "CASE WHEN true THEN " * n + "1" + " END" * n,
    "array": lambda n: "SELECT " + "ARRAY[" * n + "1" + "]" * n,
    "or_and": lambda n: "SELECT 1 WHERE " + "(a OR (b AND " * n + "c" + "))" * n,
    "cte": lambda n: "WITH a AS (" * n + "SELECT 1" + ") SELECT 1" * n,
}

_CHILD = """
import sys, threading
from pglast import parse_sql
from bench.parse_bounds import CONSTRUCTS
text = CONSTRUCTS[sys.argv[1]](int(sys.argv[2]))
def parse():
    try:
        parse_sql(text)
    except Exception:
        pass  # a syntax error ("memory exhausted" past bison's stack) is no crash
if sys.argv[3] == "thread":
    threading.stack_size(2 * 1024 * 1024)
    worker = threading.Thread(target=parse)
    worker.start()
    worker.join()
else:
    parse()
"""


def crashes(construct: str, levels: int, stack: str) -> bool:
    """Whether parsing `construct` nested `levels` deep kills a child process."""
    child = [sys.executable, "-c", _CHILD, construct, str(levels), stack]
    return subprocess.run(child, capture_output=True, timeout=300).returncode < 0


def crash_levels(construct: str, stack: str, top: int = 256_000) -> int | None:
    """About the smallest number of levels (within 5%) that crashes; None up to `top`."""
    safe, levels = 0, 100
    while not crashes(construct, levels, stack):
        safe, levels = levels, levels * 2
        if levels > top:
            return None
    while levels - safe > max(safe // 20, 1):
        middle = (safe + levels) // 2
        safe, levels = (safe, middle) if crashes(construct, middle, stack) else (middle, levels)
    return levels


def admitted_levels(construct: str) -> int:
    """The most levels of `construct` whose estimate is within MAX_NESTING."""
    low, high = 1, MAX_NESTING + 1  # every construct costs at least one level a level
    while low < high:
        middle = (low + high + 1) // 2
        if nesting(scan(CONSTRUCTS[construct](middle))) <= MAX_NESTING:
            low = middle
        else:
            high = middle - 1
    return low


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--constructs", nargs="*", default=list(CONSTRUCTS))
    args = parser.parse_args(argv)
    rows = []
    for construct in args.constructs:
        admitted = admitted_levels(construct)
        main_stack, thread = crash_levels(construct, "main"), crash_levels(construct, "thread")
        margin = min((c for c in (main_stack, thread) if c is not None), default=None)
        ratio = f"{margin / admitted:.1f}x" if margin else "-"
        rows.append([construct, admitted, main_stack, thread, ratio])
        say(f"{construct}: admitted {admitted}, crashes at {main_stack} / {thread}")
    say(table(["construct", "admitted", "crash (main)", "crash (2 MB thread)", "margin"], rows))


if __name__ == "__main__":
    main()
