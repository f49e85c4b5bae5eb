"""Transactions as pg_stat_statements and pg_stat_database count them.

pg_stat_statements tracks utility statements by default (`pg_stat_statements.track_utility`):
every `BEGIN` (or `START TRANSACTION`), `COMMIT` and `ROLLBACK` an application sends is a
statement with its calls, as Drizzle's `db.transaction()` sends them. Those calls over a
window say how many explicit transactions the application opened; a write statement that
ran more often than that ran, at least that many times over, as a transaction of its own.
pg_stat_database's `xact_commit` and `xact_rollback` count every transaction, implicit ones
included, which tells whether each statement was one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pglast import ast
from pglast.enums import TransactionStmtKind

from advisor.analyze.syntax import parsed
from advisor.model import Statement

_BEGINS = (TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START)
_COMMITS = (TransactionStmtKind.TRANS_STMT_COMMIT,)
_ROLLBACKS = (TransactionStmtKind.TRANS_STMT_ROLLBACK,)
# Only texts that may be transaction control are parsed.
_CONTROL = re.compile(r"^\s*(begin|start|commit|end|rollback|abort)\b", re.IGNORECASE)


@dataclass(frozen=True)
class LoggedTransactions:
    """Statements the server log shows in one transaction (by `marker`, `%v` or `%x` of
    log_line_prefix): each combination of statement fingerprints logged in one
    transaction, with how many transactions it was; and each fingerprint's logged calls."""

    combinations: tuple[tuple[frozenset[str], int], ...]
    calls: Mapping[str, int]
    marker: str

    def logged(self, fingerprints: Iterable[str]) -> int:
        return sum(self.calls.get(f, 0) for f in set(fingerprints))

    def together(self, first: Iterable[str], second: Iterable[str]) -> int:
        """The logged transactions that ran one of `first` and one of `second`."""
        one, other = set(first), set(second)
        return sum(n for found, n in self.combinations if found & one and found & other)


@dataclass(frozen=True)
class TransactionCounts:
    """The explicit transactions the window saw: the calls of BEGIN/START TRANSACTION,
    COMMIT/END and ROLLBACK/ABORT in pg_stat_statements, where it tracks them (`tracked`:
    track_utility is on). `transactions` is what pg_stat_database counted (commits and
    rollbacks, implicit ones included) over the same window, when its counters cover it,
    and `calls` the calls of every other statement then."""

    tracked: bool
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0
    transactions: int | None = None
    calls: int = 0


def transaction_counts(
    statements: Iterable[Statement], tracked: bool, transactions: int | None = None
) -> TransactionCounts:
    """Count the window's transaction-control statements (`statements` must be every
    statement of the window, not the busiest few: BEGIN is cheap)."""
    totals = {"begin": 0, "commit": 0, "rollback": 0, "other": 0, None: 0}
    for statement in statements:
        totals[_control_kind(statement.text)] += statement.calls
    begins, commits, rollbacks, calls = (
        totals["begin"],
        totals["commit"],
        totals["rollback"],
        totals[None],
    )
    return TransactionCounts(tracked, begins, commits, rollbacks, transactions, calls)


def _control_kind(text: str) -> str | None:
    """The kind, "begin", "commit" or "rollback", of those statements; "other" for other
    transaction control (SAVEPOINT, ROLLBACK TO, PREPARE TRANSACTION ...); None else."""
    if not _CONTROL.match(text):
        return None
    statements = parsed(text)
    if not statements or len(statements) != 1:
        return None
    node = statements[0].stmt
    if not isinstance(node, ast.TransactionStmt):
        return None
    kind = node.kind
    if kind in _BEGINS:
        return "begin"
    if kind in _COMMITS:
        return "commit"
    return "rollback" if kind in _ROLLBACKS else "other"
