"""Write rates of the tables over the reads' own window, from pg_stat_statements' rows.

The cumulative table counters (`pg_stat_user_tables.n_tup_*`) run since the last
statistics reset or the server's start and include every bulk load; divided by that
window, a load minutes ago reads as billions of rows a day. The rows that
pg_stat_statements records for INSERT, UPDATE, DELETE, MERGE and COPY statements are
counted over the same window as the reads, so writes and reads are weighed alike.

A statement that writes at least `bulk_rows_per_call` rows a call is a bulk load (COPY,
INSERT ... SELECT, a backfill): a one-off, not a rate the workload keeps up. It is left out
of the rate and listed, so the output says what the write cost rests on.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pglast import ast

from advisor.analyze.syntax import parsed
from advisor.model import Schema, Statement, TableName, TableWriteRate

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class WriteTarget:
    """The table a write statement changes, how, and the columns an UPDATE sets."""

    table: TableName
    kind: str  # insert, update, delete, merge or copy
    set_columns: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WriteRates:
    """Rows written per day per table in the reads' window, and what they rest on."""

    rates: Mapping[TableName, TableWriteRate]
    window_seconds: float
    statements: Mapping[TableName, int]
    bulk: Mapping[TableName, int]  # rows of bulk loads left out of the rate
    unattributed: int  # write statements whose table is unknown

    def basis(self, table: TableName) -> str:
        """What the write cost of an index on `table` rests on, in words."""
        window = duration(self.window_seconds)
        rate = self.rates.get(table)
        if rate is None:
            text = f"write cost: no writes to {table} in pg_stat_statements' last {window}"
        else:
            text = (
                f"write cost: {self.statements.get(table, 0)} write statements on {table}, "
                f"{rate.index_rows_per_day:,.0f} index entries a day over pg_stat_statements' "
                f"last {window}"
            )
        if table in self.bulk:
            text += f"; bulk loads of {self.bulk[table]:,} rows left out (a one-off, not a rate)"
        return text

    @property
    def notes(self) -> tuple[str, ...]:
        """What the rates leave out that a reader should know of."""
        if not self.unattributed:
            return ()
        return (
            f"{self.unattributed} write statement(s) in pg_stat_statements write to no table "
            "of the schema read (a temporary table, a view, or a text that does not parse): "
            "they add no write cost to any index, none is invented",
        )


def duration(seconds: float) -> str:
    """A window's length in words: `45 s`, `12 min`, `3.5 h`."""
    if seconds < 120:
        return f"{seconds:,.0f} s"
    if seconds < 7_200:
        return f"{seconds / 60:,.0f} min"
    return f"{seconds / 3600:,.1f} h"


def write_target(text: str, schema: Schema) -> WriteTarget | None:
    """The user table a statement writes, or None for a read, a statement that does not
    parse, or a table outside the schema."""
    written = _written_relation(text)
    if written is None:
        return None
    kind, relation, set_columns = written
    table = schema.resolve(str(relation.relname), relation.schemaname)
    return WriteTarget(table.name, kind, set_columns) if table is not None else None


# A text without any of these words writes nothing, and is not parsed to find out: a
# parse is the costliest step of reading a statement, and most statements are reads.
_WRITE_WORD = re.compile(r"\b(insert|update|delete|merge|copy)\b", re.IGNORECASE)


def _written_relation(text: str) -> tuple[str, ast.RangeVar, frozenset[str]] | None:
    """(kind, target relation, columns an UPDATE sets) of a single write statement."""
    if not _WRITE_WORD.search(text):
        return None
    statements = parsed(text)
    if statements is None or len(statements) != 1:
        return None
    node = statements[0].stmt
    set_columns: frozenset[str] = frozenset()
    if isinstance(node, ast.InsertStmt):
        kind = "insert"
    elif isinstance(node, ast.UpdateStmt):
        kind = "update"
        set_columns = frozenset(t.name for t in node.targetList or () if t.name)
    elif isinstance(node, ast.DeleteStmt):
        kind = "delete"
    elif isinstance(node, ast.MergeStmt):
        kind = "merge"
    elif isinstance(node, ast.CopyStmt) and node.is_from:
        kind = "copy"
    else:
        return None
    relation = node.relation
    if relation is None or not relation.relname:
        return None
    return kind, relation, set_columns


def write_rates(
    statements: Iterable[Statement],
    schema: Schema,
    window_seconds: float,
    hot_shares: Mapping[TableName, float],
    bulk_rows_per_call: float,
) -> WriteRates:
    """Rows written per day to each table by the window's write statements.

    An UPDATE stays HOT only while it sets no indexed column; of those that could, the
    share the table's counters saw stay HOT (`hot_shares`, 1.0 when unknown) is taken."""
    per_day = SECONDS_PER_DAY / max(window_seconds, 1.0)
    rows: dict[TableName, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counted: dict[TableName, int] = defaultdict(int)
    bulk: dict[TableName, int] = defaultdict(int)
    unattributed = 0
    for statement in statements:
        if statement.rows <= 0:
            continue
        found = _written_relation(statement.text)
        if found is None:
            continue
        kind, relation, set_columns = found
        table = schema.resolve(str(relation.relname), relation.schemaname)
        if table is None:
            unattributed += 1
            continue
        target = WriteTarget(table.name, kind, set_columns)
        if statement.rows / max(statement.calls, 1) >= bulk_rows_per_call:
            bulk[target.table] += statement.rows
            continue
        counted[target.table] += 1
        written = rows[target.table]
        if target.kind in ("insert", "copy"):
            written["ins"] += statement.rows
        elif target.kind == "delete":
            written["del"] += statement.rows
        else:  # update, merge: the rows changed
            written["upd"] += statement.rows
            if target.kind == "update" and not (target.set_columns & _indexed(schema, target)):
                written["hot"] += statement.rows * hot_shares.get(target.table, 1.0)
    rates = {
        table: TableWriteRate(
            table,
            w["ins"] * per_day,
            w["upd"] * per_day,
            w["hot"] * per_day,
            w["del"] * per_day,
        )
        for table, w in rows.items()
    }
    return WriteRates(rates, window_seconds, dict(counted), dict(bulk), unattributed)


def _indexed(schema: Schema, target: WriteTarget) -> frozenset[str]:
    table = schema.tables[target.table]
    return frozenset(k.column for index in table.indexes for k in index.keys)
