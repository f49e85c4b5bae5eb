"""How much one statement text may ask of the parser: the limits that keep a hostile or
generated text from crashing or stalling an analysis.

pglast turns PostgreSQL's parse tree into Python objects recursively, in C: a tree deep
enough (`$1+$1+...` 25,000 terms) overflows the thread's stack and the process dies with
SIGSEGV, which no `except` can catch. So a text is measured from its tokens first (the
scanner is iterative and linear) and one whose tree could be that deep is never handed to
the parser. Its size is bounded by a setting (parse_max_bytes), which also bounds the time
the parser's C code takes, since that code cannot be interrupted; the Python walk of the
tree after it checks a `Deadline` (parse_timeout_ms).

The module is pure: no database access, only the tokens and the clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# A text whose nesting estimate (see nesting()) is above this is not parsed. Measured with
# pglast 8.8 (`python -m bench.parse_bounds`): only left-deep chains crash it (`$1+$1+...`,
# `||`, `::`, COLLATE, UNION, JOIN); on an 8 MB stack at 23,000 `+` terms or 15,000 UNIONs,
# on a 2 MB thread stack (glibc's default when `ulimit -s` is unlimited) at 5,800 terms,
# 3,800 UNIONs or 1,650 nested subqueries. This limit lets through at most 1,000 terms, 500
# UNIONs or 250 subqueries: 5.8 times below the smallest of those (tests/unit/test_bounds.py
# checks it). Nesting deeper than bison's own stack (10,000) is a syntax error, not a
# crash; real statements are estimated below 100. Not a setting: raising it trades a
# skipped statement for a dead daemon.
MAX_NESTING = 1_000

_OPENING = frozenset({"ASCII_40", "ASCII_91", "CASE"})  # ( [ CASE
_CLOSING = frozenset({"ASCII_41", "ASCII_93", "END_P"})  # ) ] END
# Tokens between which an expression starts afresh: list items, the arms of a CASE, the
# terms of AND and OR (the parser flattens `a AND b AND c` into one node).
_SEPARATORS = frozenset({"ASCII_44", "ASCII_59", "AND", "OR", "WHEN", "THEN", "ELSE"})
# Tokens that are leaves of the tree; every other token may add a level (an operator, a
# cast, NOT, JOIN, UNION ...), which overestimates, never underestimates.
_LEAVES = frozenset(
    {
        "IDENT",
        "UIDENT",
        "ICONST",
        "FCONST",
        "SCONST",
        "USCONST",
        "BCONST",
        "XCONST",
        "PARAM",
        "ASCII_46",  # the dot of a qualified name
    }
)
# AND-ed terms under an OR (or the reverse) add this many levels within one parenthesis.
_BOOLEAN_LEVELS = 2


class LimitExceeded(Exception):
    """A statement text over one of the parse limits; `reason` says which (and its setting)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParseSettings:
    """The limits on one statement text (from Settings, where each is documented)."""

    parse_max_bytes: int
    parse_timeout_ms: int


@dataclass
class _Group:
    """One open parenthesis, bracket or CASE while the tokens are read."""

    deepest: int = 0  # the deepest segment closed so far
    operators: int = 0  # non-leaf tokens of the current segment
    inner: int = 0  # the deepest group nested in the current segment

    def segment(self) -> int:
        return self.operators + self.inner


def nesting(found: Iterable[Any]) -> int:
    """An upper estimate of how deep the parse tree of the tokens `found` (from
    pglast.parser.scan) can be, in one pass: within a group, a path down the tree passes
    at most every operator of one segment between separators and one nested group of it.
    Unbalanced closings (`END` of a transaction) are ignored."""
    groups = [_Group()]
    for token in found:
        name = token.name
        group = groups[-1]
        if name in _OPENING:
            group.operators += name == "CASE"
            groups.append(_Group())
        elif name in _CLOSING and len(groups) > 1:
            closed = groups.pop()
            depth = max(closed.deepest, closed.segment()) + _BOOLEAN_LEVELS + 1
            groups[-1].inner = max(groups[-1].inner, depth)
        elif name in _SEPARATORS:
            group.deepest = max(group.deepest, group.segment())
            group.operators = group.inner = 0
        elif name not in _LEAVES:
            group.operators += 1
    while len(groups) > 1:  # an unclosed group (a syntax error) still counts
        closed = groups.pop()
        depth = max(closed.deepest, closed.segment()) + _BOOLEAN_LEVELS + 1
        groups[-1].inner = max(groups[-1].inner, depth)
    root = groups[0]
    return max(root.deepest, root.segment()) + _BOOLEAN_LEVELS


@dataclass
class Deadline:
    """The end of one statement's time budget, on the monotonic clock."""

    budget_ms: int
    started: float = field(default_factory=time.monotonic)

    def expired(self) -> bool:
        return (time.monotonic() - self.started) * 1000.0 > self.budget_ms

    def check(self) -> None:
        """Raise LimitExceeded when the budget is spent."""
        if self.expired():
            raise LimitExceeded(timeout_reason(self.budget_ms))


def timeout_reason(budget_ms: int) -> str:
    return f"parse time limit: over {budget_ms} ms (parse_timeout_ms)"


def size_reason(size_bytes: int, limit_bytes: int) -> str:
    return f"parse size limit: {size_bytes:,} bytes of text, over {limit_bytes:,} (parse_max_bytes)"


def nesting_reason(estimate: int) -> str:
    return (
        f"parse nesting limit: expressions about {estimate:,} levels deep, over {MAX_NESTING:,} "
        "(the parser would overflow its stack)"
    )
