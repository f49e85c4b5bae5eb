"""Which logged statements ran in one transaction: the server log, where `log_line_prefix`
prints the virtual transaction id (`%v`) or the transaction id (`%x`) of every line.

Statements are logged when log_statement or log_min_duration_statement (or their sampling
settings) say so: `statement: ...` for the simple protocol, `execute <name>: ...` for the
extended one that Drizzle's drivers use. Each is known by its pglast fingerprint, which a
text with literals and its pg_stat_statements normalization share. Read-only: the log
files are read as `parameter_log_dir` names them, newest first, at most `max_bytes`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import psycopg

from advisor.analyze.syntax import bounded_fingerprint
from advisor.analyze.transactions import LoggedTransactions
from advisor.collect.values import MAX_LOG_BYTES, log_files, log_lines
from advisor.pg import MARKER, Connection

_SEVERITY = r"(?P<severity>LOG|DETAIL|HINT|CONTEXT|STATEMENT|ERROR|WARNING|NOTICE|FATAL):  "
_STATEMENT = re.compile(r"(?:duration: \S+ ms  )?(?:statement|execute \S+?): (.*)", re.DOTALL)
# What each escape of log_line_prefix prints, as a pattern (unknown ones: anything).
_ESCAPES = {
    "v": r"(?P<vxid>\d+/\d+)?",
    "x": r"(?P<xid>\d+)?",
    "%": "%",
}
_MAX_TRANSACTIONS = 200_000  # distinct transactions remembered while reading


def log_line_prefix(conn: Connection) -> str:
    try:
        row = conn.execute(f"{MARKER} SELECT current_setting('log_line_prefix')").fetchone()
    except psycopg.Error:
        return ""
    return str(row[0]) if row else ""


def prefix_pattern(prefix: str) -> re.Pattern[str] | None:
    """A pattern of a log line's start for this log_line_prefix, with the transaction id
    as group `vxid` (%v) or `xid` (%x); None when the prefix prints neither."""
    if "%v" not in prefix and "%x" not in prefix:
        return None
    parts: list[str] = []
    optional = 0
    position = 0
    while position < len(prefix):
        char = prefix[position]
        if char == "%" and position + 1 < len(prefix):
            escape = prefix[position + 1]
            position += 2
            if escape == "q":  # the rest is printed for session processes only
                parts.append("(?:")
                optional += 1
            else:
                parts.append(_ESCAPES.get(escape, r".*?"))
            continue
        parts.append(re.escape(char))
        position += 1
    parts.append(")?" * optional)
    return re.compile("^" + "".join(parts) + _SEVERITY)


def read_logged_transactions(
    directory: Path, prefix: str, max_bytes: int = MAX_LOG_BYTES
) -> LoggedTransactions | None:
    """The logged statements grouped by the transaction they ran in, or None when the
    prefix prints no transaction id or no log can be read."""
    pattern = prefix_pattern(prefix)
    if pattern is None:
        return None
    try:
        files = log_files(directory)
    except OSError:
        return None
    by_transaction: dict[str, set[str]] = {}
    calls: Counter[str] = Counter()
    budget = max_bytes
    for path, size in files:
        if budget <= 0:
            break
        start = max(0, size - budget)
        budget -= size - start
        try:
            _read(log_lines(path, start, size), pattern, by_transaction, calls)
        except OSError:
            continue
    if not calls:
        return None
    combinations = Counter(frozenset(found) for found in by_transaction.values())
    marker = "%v" if "%v" in prefix else "%x"
    return LoggedTransactions(tuple(combinations.items()), dict(calls), marker)


def _read(
    lines: Iterable[str],
    pattern: re.Pattern[str],
    by_transaction: dict[str, set[str]],
    calls: Counter[str],
) -> None:
    entry: tuple[str, list[str]] | None = None  # transaction id, message lines

    def close() -> None:
        if entry is None:
            return
        transaction, parts = entry
        match = _STATEMENT.match("\n".join(parts))
        if match is None or not match.group(1).strip():
            return
        fingerprint = bounded_fingerprint(match.group(1))
        if not fingerprint:
            return
        calls[fingerprint] += 1
        if transaction in by_transaction or len(by_transaction) < _MAX_TRANSACTIONS:
            by_transaction.setdefault(transaction, set()).add(fingerprint)

    for line in lines:
        if line.startswith("\t"):
            if entry is not None:
                entry[1].append(line[1:])
            continue
        close()
        entry = None
        match = pattern.match(line)
        if match is None or match.group("severity") != "LOG":
            continue
        transaction = match.groupdict().get("vxid") or match.groupdict().get("xid")
        if transaction and transaction not in ("0", "0/0"):
            entry = (transaction, [line[match.end() :]])
    close()
