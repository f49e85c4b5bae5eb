"""Reading SQL with pglast, safely on any text: its parse tree, its tokens, a tree's nodes.

The helpers the rewriting (sqltext.py) and the analysis (parse.py) share; none of them
raises on a text pglast cannot read, they return None instead. Every parse goes through
parse_tree(), which first refuses a text nested deep enough to crash the parser (bounds.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import pglast
from pglast import ast
from pglast.parser import ParseError as PglastParseError
from pglast.parser import fingerprint, scan

from advisor.analyze.bounds import MAX_NESTING, LimitExceeded, nesting, nesting_reason

_COMMENT_TOKENS = frozenset({"SQL_COMMENT", "C_COMMENT"})


def parsed(text: str) -> tuple[Any, ...] | None:
    """The raw statements of `text`, or None when it does not parse (or is too deep to)."""
    try:
        return parse_tree(text)
    except (PglastParseError, ValueError, LimitExceeded):  # ValueError: not UTF-8
        return None


def expression(text: str) -> Any | None:
    """The one expression `text` is (`payload ->> $1`, `'a'::t`), as `SELECT <text>`'s
    target; None when it is not one expression."""
    statements = parsed(f"SELECT {text}")
    if not statements or len(statements) != 1:
        return None
    statement = statements[0].stmt
    if not isinstance(statement, ast.SelectStmt) or not statement.targetList:
        return None
    targets = statement.targetList
    return targets[0].val if len(targets) == 1 else None


def parse_tree(text: str) -> tuple[Any, ...]:
    """The raw statements of `text`. Raises pglast's ParseError on a syntax error,
    ValueError on a text not encodable as UTF-8, and LimitExceeded, without parsing, on a
    text whose tree could be deep enough to overflow the parser's stack (a crash of the
    whole process, see bounds.MAX_NESTING)."""
    found = tokens(text)
    # A text that does not scan fails in the parser's own scanner before any tree is built.
    if found is not None and (estimate := nesting(found)) > MAX_NESTING:
        raise LimitExceeded(nesting_reason(estimate))
    return tuple(pglast.parse_sql(text))


def tokens(text: str) -> list[Any] | None:
    """The tokens of `text` without its comments (each with `start`, inclusive `end` and
    `name`: "PARAM", "FROM", "ASCII_40" for `(` ...), or None when it does not scan."""
    try:
        return [t for t in scan(text) if t.name not in _COMMENT_TOKENS]
    except (PglastParseError, ValueError):
        return None


def nodes(root: object) -> Iterator[ast.Node]:
    """Every node of a tree, iteratively (deep expressions must not exhaust the stack)."""
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield item
            stack.extend(getattr(item, name) for name in item)
        elif isinstance(item, (tuple, list)):
            stack.extend(item)


def split_statements(text: str) -> list[str]:
    """The statements of a script, split at its top-level semicolons (not those in strings
    or comments), each from its first token (comments before it are left out); pieces
    holding only comments are left out. A text that
    does not scan (an unterminated string) comes back whole, to fail where it is parsed."""
    try:
        found = scan(text)
    except (PglastParseError, ValueError):
        return [text.strip()] if text.strip() else []
    pieces: list[str] = []
    start: int | None = None  # where the current statement's first token begins
    for token in found:
        if token.name == "ASCII_59":
            if start is not None:
                pieces.append(text[start : token.start].strip())
            start = None
        elif token.name not in _COMMENT_TOKENS and start is None:
            start = token.start
    if start is not None:
        pieces.append(text[start:].strip())
    return pieces


def fingerprint_of(text: str) -> str:
    """pg_query's fingerprint of the statement: the same for any values and layout (what
    pg_stat_statements' normalization also ignores); the text itself where it does not
    parse."""
    try:
        return str(fingerprint(text))
    except (PglastParseError, ValueError):
        return text.strip()


def bounded_fingerprint(text: str, max_bytes: int = 100_000) -> str | None:
    """pg_query's fingerprint of a statement read from outside (a server log), or None
    for a text too long, too deeply nested to parse safely (see bounds.py), or not SQL."""
    if len(text) > max_bytes:
        return None
    found = tokens(text)
    if found is None or nesting(found) > MAX_NESTING:
        return None
    try:
        return str(fingerprint(text))
    except (PglastParseError, ValueError):
        return None


@lru_cache(maxsize=4096)
def short_fingerprint(text: str) -> str:
    """16 hex digits naming the statement whatever its values and layout (pg_query's
    fingerprint); for a text that does not parse, a hash of it: never the text itself."""
    try:
        return str(fingerprint(text))
    except (PglastParseError, ValueError):
        return hashlib.sha256(" ".join(text.split()).encode("utf-8", "replace")).hexdigest()[:16]
