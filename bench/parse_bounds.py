"""`python -m bench.parse_bounds`: where pglast crashes, and what parsing large texts costs.

Two tables. The first finds, for each construct that nests (`$1+$1+...`, UNIONs, nested
subqueries ...), the smallest number of levels at which `pglast.parse_sql` kills the
process (SIGSEGV; each try in a child process), on the main thread's stack and on a 2 MB
thread stack, next to the most levels advisor.analyze.bounds lets through: the margin
behind MAX_NESTING. The second times `parse_statement` with the default settings on the
texts of issue 19 (IN lists of 1,000 to 16,000 parameters, an AND chain, the 25,000-term
chain). Nothing here needs a database.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from pglast.parser import scan

from advisor.analyze.bounds import MAX_NESTING, nesting
from advisor.analyze.parse import parse_statement
from advisor.config import Settings, parse_settings
from advisor.model import Column, Schema, Skipped, Table, TableName
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


POSTS = Table(TableName("public", "posts"), (Column("id", "int"), Column("author_id", "int")))
SCHEMA = Schema({POSTS.name: POSTS})


def in_list(n: int) -> str:
    return f"SELECT id FROM posts WHERE id IN ({', '.join(f'${i}' for i in range(1, n + 1))})"


def and_chain(size_bytes: int) -> str:
    pieces = ["SELECT id FROM posts WHERE author_id = $1"]
    length = len(pieces[0])
    while length < size_bytes:
        pieces.append(f" AND author_id = ${len(pieces) + 1}")
        length += len(pieces[-1])
    return "".join(pieces)


def parse_times(settings: Settings) -> list[list[object]]:
    texts = [(f"IN ({n:,} parameters)", in_list(n)) for n in (1_000, 4_000, 16_000)]
    texts += [(f"AND chain ({size:,} bytes)", and_chain(size)) for size in (90_000, 1_000_000)]
    chain = "SELECT id FROM posts WHERE id = " + "+".join(["$1"] * 25_000)
    texts.append(("$1+$1+... (25,000 terms)", chain))
    rows: list[list[object]] = []
    for label, text in texts:
        start = time.perf_counter()
        result = parse_statement(1, text, SCHEMA, parse_settings(settings))
        seconds = time.perf_counter() - start
        outcome = result.reason if isinstance(result, Skipped) else "parsed"
        rows.append([label, f"{len(text):,}", f"{seconds:.3f}", outcome])
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--constructs", nargs="*", default=list(CONSTRUCTS))
    parser.add_argument("--no-crashes", action="store_true", help="only the parse times")
    args = parser.parse_args(argv)
    say(table(["text", "bytes", "seconds", "outcome"], parse_times(Settings())))
    if args.no_crashes:
        return
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
