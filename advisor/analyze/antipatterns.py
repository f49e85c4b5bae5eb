"""Application habits the workload shows, each with the evidence that gives it away.

- N+1: a statement that looks a table up by a foreign key with equality runs many times
  per call of a statement that reads the referenced table and returns many rows: the
  application loads the children of each parent row one query at a time.
- Reading every column: a frequent SELECT returns every column of a wide table (at least
  `wide_table_min_columns` columns) or of one with large columns (`pg_stats.avg_width` of
  at least `large_column_min_bytes`): by `*`, `table.*`, or by listing them all, which is
  what `db.select().from(table)` and relational queries without `columns` send.
- Foreign keys without an index: no valid, non-partial index starts with the key's
  columns, so deleting a referenced row, or joining from it, reads the whole table.
- Sequential scans: a large table is read from end to end many times a day
  (pg_stat_user_tables over the window).
- Related rows written outside a transaction: both tables of a foreign key take many
  INSERTs in the window, and pg_stat_statements, which counts BEGIN and COMMIT where it
  tracks utility statements, counted too few BEGINs for them to have run in one: each ran
  as its own transaction, so when the second fails, the first stays. No finding where
  BEGIN is not counted (track_utility off) or where the BEGINs could have wrapped them.

Pure: plain data in, findings out; the statements' texts are read with pglast.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from pglast import ast

from advisor.analyze import syntax
from advisor.analyze.sqltext import prepare_text
from advisor.analyze.syntax import bounded_fingerprint
from advisor.analyze.transactions import LoggedTransactions, TransactionCounts
from advisor.analyze.writerates import duration, write_target
from advisor.history import (
    TableCounters,
)
from advisor.model import (
    Antipattern,
    AntipatternKind,
    Column,
    ForeignKey,
    IndexDesign,
    KeyColumn,
    Operator,
    ParsedStatement,
    Recommendation,
    Schema,
    Statement,
    StatementKind,
    Table,
    TableName,
)

SECONDS_PER_DAY = 86_400.0
MIB = 1024 * 1024
_KIND_ORDER = {kind: position for position, kind in enumerate(AntipatternKind)}


@dataclass(frozen=True)
class AntipatternSettings:
    """Thresholds of the checks (config.antipattern_settings maps them from Settings, where
    each is documented with its default)."""

    n_plus_one_min_ratio: float
    n_plus_one_min_calls: int
    frequent_min_calls_per_day: float
    wide_table_min_columns: int
    large_column_min_bytes: int
    seq_scan_min_table_bytes: int
    seq_scan_min_per_day: float
    unwrapped_writes_min_calls: int


@dataclass(frozen=True)
class WorkloadFacts:
    """What the checks read. `statements` and `tables` are counters over windows of
    `window_seconds` and `tables_window_seconds`; `parsed` is by queryid."""

    statements: tuple[Statement, ...]
    parsed: Mapping[int, ParsedStatement]
    schema: Schema
    foreign_keys: tuple[ForeignKey, ...]
    tables: tuple[TableCounters, ...]
    window_seconds: float
    tables_window_seconds: float
    recommendations: tuple[Recommendation, ...] = ()
    # The window's explicit transactions (analyze/transactions.py), when counted, and the
    # statements the server log shows in one transaction, when it does.
    transactions: TransactionCounts | None = None
    logged: LoggedTransactions | None = None


def find_antipatterns(
    facts: WorkloadFacts, settings: AntipatternSettings
) -> tuple[Antipattern, ...]:
    """Every anti-pattern found, ordered by kind, then table, then identity."""
    found = [
        *_n_plus_one(facts, settings),
        *_every_column(facts, settings),
        *_unindexed_foreign_keys(facts),
        *_sequential_scans(facts, settings),
        *_writes_outside_transactions(facts, settings),
    ]
    return tuple(sorted(found, key=lambda a: (_KIND_ORDER[a.kind], a.table, a.key())))


def _selects(facts: WorkloadFacts) -> Iterator[tuple[Statement, ParsedStatement]]:
    for statement in facts.statements:
        parsed = facts.parsed.get(statement.queryid)
        if parsed is not None and parsed.kind is StatementKind.SELECT:
            yield statement, parsed


# ---------------------------------------------------------------------------- N+1


def _n_plus_one(facts: WorkloadFacts, settings: AntipatternSettings) -> list[Antipattern]:
    """Lookups by a foreign key repeated per row of a parent statement, one finding per
    (foreign key, parent table) with every repeated statement."""
    selects = list(_selects(facts))
    groups: dict[ForeignKey, list[tuple[Statement, Statement]]] = defaultdict(list)
    for child, parsed in selects:
        if child.calls < settings.n_plus_one_min_calls:
            continue
        for key in _looked_up_keys(parsed, facts.foreign_keys):
            parent = _parent(child, key.referenced_table, selects, settings)
            if parent is not None:
                groups[key].append((child, parent))
    return [_n_plus_one_finding(key, pairs) for key, pairs in groups.items()]


def _looked_up_keys(parsed: ParsedStatement, keys: Sequence[ForeignKey]) -> Iterator[ForeignKey]:
    """Foreign keys whose every column the statement restricts by equality, when the
    statement does not read the referenced table itself (then it is a join, not a loop)."""
    for access in parsed.accesses:
        equal = {f.column for f in access.filters if f.operator is Operator.EQUALITY}
        for key in keys:
            looked_up = key.table == access.table and set(key.columns) <= equal
            if looked_up and key.referenced_table not in parsed.tables:
                yield key


def _parent(
    child: Statement,
    parent_table: TableName,
    selects: Sequence[tuple[Statement, ParsedStatement]],
    settings: AntipatternSettings,
) -> Statement | None:
    """The statement reading `parent_table` that `child` most plausibly runs once per row
    of: enough rows per call and a calls ratio over the threshold; the busiest wins."""
    ratio = settings.n_plus_one_min_ratio
    candidates = [
        statement
        for statement, parsed in selects
        if statement.queryid != child.queryid
        and parent_table in parsed.tables
        and statement.calls > 0
        and child.calls >= ratio * statement.calls
        and statement.rows >= ratio * statement.calls
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda s: (-s.calls, -s.total_ms, s.queryid))


def _n_plus_one_finding(key: ForeignKey, pairs: list[tuple[Statement, Statement]]) -> Antipattern:
    children = sorted({child for child, _ in pairs}, key=lambda s: (-s.calls, s.queryid))
    parent = min((p for _, p in pairs), key=lambda s: (-s.calls, -s.total_ms, s.queryid))
    child = children[0]
    evidence = (
        f"a lookup of {key.table} by {', '.join(key.columns)} ran {child.calls:,} times, "
        f"{child.calls / parent.calls:,.0f} times per call of a statement reading "
        f"{key.referenced_table} ({parent.calls:,} calls, {parent.rows / parent.calls:,.0f} "
        "rows each): one query per parent row"
    )
    return Antipattern(
        kind=AntipatternKind.N_PLUS_ONE,
        table=key.table,
        evidence=evidence,
        queryids=tuple(s.queryid for s in children),
        columns=key.columns,
        parent_table=key.referenced_table,
        parent_queryid=parent.queryid,
    )


# ------------------------------------------------------------------ every column


def _every_column(facts: WorkloadFacts, settings: AntipatternSettings) -> list[Antipattern]:
    """Frequent SELECTs that return every column of a wide table or one with large
    columns."""
    found = []
    per_day = SECONDS_PER_DAY / max(facts.window_seconds, 1.0)
    for statement, _ in _selects(facts):
        calls_per_day = statement.calls * per_day
        if calls_per_day < settings.frequent_min_calls_per_day:
            continue
        for table in returned_whole(statement.text, facts.schema):
            large = tuple(c.name for c in table.columns if _is_large(c, settings))
            wide = len(table.columns) >= settings.wide_table_min_columns
            if wide or large:
                found.append(_every_column_finding(statement, table, large, calls_per_day))
    return found


def _is_large(column: Column, settings: AntipatternSettings) -> bool:
    width = column.avg_width_bytes
    return width is not None and width >= settings.large_column_min_bytes


def _every_column_finding(
    statement: Statement, table: Table, large: tuple[str, ...], calls_per_day: float
) -> Antipattern:
    what = f"all {len(table.columns)} columns of {table.name}"
    if large:
        what += " including " + ", ".join(large) + " (large)"
    evidence = f"a statement run about {calls_per_day:,.0f} times a day returns {what}"
    return Antipattern(
        kind=AntipatternKind.READS_EVERY_COLUMN,
        table=table.name,
        evidence=evidence,
        queryids=(statement.queryid,),
        columns=large,
    )


def returned_whole(text: str, schema: Schema) -> list[Table]:
    """The tables every column of which the statement's outermost SELECT returns (`*`,
    `t.*` or every column listed); none for anything that does not parse as one SELECT."""
    statements = syntax.parsed(prepare_text(text)) or ()
    if len(statements) != 1 or not isinstance(statements[0].stmt, ast.SelectStmt):
        return []
    select = statements[0].stmt
    if not select.targetList:
        return []  # a UNION and friends: their branches are other blocks
    entries = dict(_from_entries(select.fromClause or (), schema))
    whole: dict[TableName, Table] = {}
    listed: dict[TableName, set[str]] = defaultdict(set)
    for target in select.targetList:
        if isinstance(target, ast.ResTarget) and isinstance(target.val, ast.ColumnRef):
            _note_target(target.val, entries, whole, listed)
    for name, columns in listed.items():
        table = next(t for t in entries.values() if t.name == name)
        if table.column_names <= columns:
            whole[name] = table
    return [whole[name] for name in sorted(whole)]


def _note_target(
    ref: ast.ColumnRef,
    entries: Mapping[str, Table],
    whole: dict[TableName, Table],
    listed: dict[TableName, set[str]],
) -> None:
    fields = ref.fields or ()
    if not fields:
        return
    qualifier: str | None = None
    if len(fields) > 1 and isinstance(fields[-2], ast.String):
        qualifier = str(fields[-2].sval)
    if isinstance(fields[-1], ast.A_Star):
        if qualifier is None:
            whole.update((t.name, t) for t in entries.values())
        elif qualifier in entries:
            whole[entries[qualifier].name] = entries[qualifier]
        return
    column = str(fields[-1].sval)
    if qualifier is not None:
        owners = [entries[qualifier]] if qualifier in entries else []
    else:
        owners = [t for t in entries.values() if column in t.column_names]
    if len(owners) == 1:
        listed[owners[0].name].add(column)


def _from_entries(items: Sequence[object], schema: Schema) -> Iterator[tuple[str, Table]]:
    """(name it is referred by, table) of each schema table in a FROM list, joins included."""
    for item in items:
        if isinstance(item, ast.JoinExpr):
            yield from _from_entries((item.larg, item.rarg), schema)
        elif isinstance(item, ast.RangeVar) and item.relname:
            table = schema.resolve(item.relname, item.schemaname)
            if table is not None:
                alias = item.alias.aliasname if item.alias is not None else None
                yield alias or item.relname, table


# ---------------------------------------------------------------- foreign keys


def _unindexed_foreign_keys(facts: WorkloadFacts) -> list[Antipattern]:
    """Foreign keys that no valid, non-partial index starts with."""
    found = []
    for key in facts.foreign_keys:
        table = facts.schema.tables.get(key.table)
        if table is None or any(index.leads_with(key.columns) for index in table.indexes):
            continue
        design = IndexDesign(key.table, tuple(KeyColumn.of(c) for c in key.columns))
        recommended = next(
            (r.name for r in facts.recommendations if _leads_with(r.design, key)), None
        )
        evidence = (
            f"{key.table} ({table.row_estimate:,.0f} rows) references {key.referenced_table} "
            f"by {', '.join(key.columns)} without an index: deleting or re-keying a "
            f"{key.referenced_table} row, and joining from it, read the whole table"
        )
        found.append(
            Antipattern(
                kind=AntipatternKind.UNINDEXED_FOREIGN_KEY,
                table=key.table,
                evidence=evidence,
                columns=key.columns,
                parent_table=key.referenced_table,
                fix_index=design,
                recommendation=recommended,
            )
        )
    return found


def _leads_with(design: IndexDesign, key: ForeignKey) -> bool:
    leading = design.key_columns[: len(key.columns)]
    return (
        design.table == key.table and design.predicate is None and set(leading) == set(key.columns)
    )


# ------------------------------------------------------------- sequential scans


def _sequential_scans(facts: WorkloadFacts, settings: AntipatternSettings) -> list[Antipattern]:
    """Large tables read from end to end often, with the statements that read them and
    the recommended index that helps them, if one does."""
    found = []
    per_day = SECONDS_PER_DAY / max(facts.tables_window_seconds, 1.0)
    for counters in facts.tables:
        scans_per_day = counters.seq_scan * per_day
        if counters.size_bytes < settings.seq_scan_min_table_bytes:
            continue
        if scans_per_day < settings.seq_scan_min_per_day:
            continue
        readers = sorted(
            (s for s, p in _selects(facts) if counters.table in p.tables),
            key=lambda s: (-s.total_ms, s.queryid),
        )
        helping = [r for r in facts.recommendations if r.design.table == counters.table]
        best = max(helping, key=lambda r: (r.estimated_ms_saved_per_day, r.name), default=None)
        rows = counters.seq_tup_read / max(counters.seq_scan, 1)
        evidence = (
            f"about {scans_per_day:,.0f} sequential scans a day of {counters.table} "
            f"({counters.size_bytes / MIB:,.1f} MiB), {rows:,.0f} rows read by each"
        )
        found.append(
            Antipattern(
                kind=AntipatternKind.SEQUENTIAL_SCANS,
                table=counters.table,
                evidence=evidence,
                queryids=tuple(s.queryid for s in readers[:3]),
                recommendation=best.name if best is not None else None,
            )
        )
    return found


# ------------------------------------------------------- writes outside a transaction


def _writes_outside_transactions(
    facts: WorkloadFacts, settings: AntipatternSettings
) -> list[Antipattern]:
    """Rows of two tables a foreign key relates, inserted often, with too few explicit
    transactions in the window to have wrapped them: one finding per foreign key."""
    counts = facts.transactions
    counted = counts is not None and counts.tracked
    if not counted and facts.logged is None:
        return []  # no evidence: BEGIN and COMMIT are not counted, no log shows them
    inserts: dict[TableName, list[Statement]] = defaultdict(list)
    for statement in facts.statements:
        target = write_target(statement.text, facts.schema)
        if target is not None and target.kind == "insert":
            inserts[target.table].append(statement)
    found = []
    for key in facts.foreign_keys:
        children, parents = inserts.get(key.table), inserts.get(key.referenced_table)
        if not children or not parents or key.table == key.referenced_table:
            continue
        child_calls = sum(s.calls for s in children)
        parent_calls = sum(s.calls for s in parents)
        pairs = min(child_calls, parent_calls)
        if pairs < settings.unwrapped_writes_min_calls:
            continue
        logged = _logged_pairs(facts.logged, parents, children)
        if logged is not None:
            if logged[2] * 2 > min(logged[0], logged[1]):
                continue  # the log shows them in one transaction
        elif counts is None or not counts.tracked or counts.begins * 2 > pairs:
            continue
        evidence = _unwrapped_evidence(key, child_calls, parent_calls, counts, facts, logged)
        found.append(
            Antipattern(
                kind=AntipatternKind.WRITES_OUTSIDE_TRANSACTION,
                table=key.table,
                evidence=evidence,
                queryids=tuple(s.queryid for s in (*parents, *children)),
                columns=key.columns,
                parent_table=key.referenced_table,
                parent_columns=key.referenced_columns,
            )
        )
    return found


def _logged_pairs(
    log: LoggedTransactions | None, parents: Sequence[Statement], children: Sequence[Statement]
) -> tuple[int, int, int] | None:
    """The parents' and the children's logged calls and the transactions that ran both,
    when the log holds calls of both."""
    if log is None:
        return None
    first = {f for s in parents if (f := bounded_fingerprint(s.text))}
    second = {f for s in children if (f := bounded_fingerprint(s.text))}
    logged_parents, logged_children = log.logged(first), log.logged(second)
    if not logged_parents or not logged_children:
        return None
    return logged_parents, logged_children, log.together(first, second)


def _unwrapped_evidence(
    key: ForeignKey,
    child_calls: int,
    parent_calls: int,
    counts: TransactionCounts | None,
    facts: WorkloadFacts,
    logged: tuple[int, int, int] | None,
) -> str:
    ran = (
        f"INSERT INTO {key.referenced_table} and INSERT INTO {key.table} ran "
        + (
            f"{parent_calls:,} times each"
            if parent_calls == child_calls
            else f"{parent_calls:,} and {child_calls:,} times"
        )
        + f" in pg_stat_statements' last {duration(facts.window_seconds)} ({key.table} references "
        f"{key.referenced_table} by {', '.join(key.columns)})"
    )
    pairs = min(child_calls, parent_calls)
    if logged is not None and facts.logged is not None:
        parents, children, together = logged
        verdict = (
            f"the server log (log_line_prefix {facts.logged.marker}) holds {parents:,} and "
            f"{children:,} of their calls, {together:,} in one transaction: the others ran as "
            "transactions of their own, and when the second fails, the first stays"
        )
    elif counts is None:  # a finding rests on the log or on the counts
        raise ValueError("no evidence for a finding")
    elif counts.begins == 0:
        verdict = (
            "it counted no BEGIN in this database (it tracks BEGIN and COMMIT: "
            "track_utility is on), so no transaction wrapped them: each ran as its own "
            "transaction, and when the second fails, the first stays"
        )
    else:
        verdict = (
            f"it counted {counts.begins:,} BEGIN in this database against {pairs:,} of "
            f"them: at least {pairs - counts.begins:,} ran outside a transaction, unless one "
            "transaction wrapped several; to make it certain, set log_line_prefix with %v "
            "(or %x) and parameter_log_dir: the log then shows which statements ran in one "
            "transaction"
        )
    if counts is not None and counts.transactions is not None:
        verdict += (
            f"; pg_stat_database counted {counts.transactions:,} transactions over the same "
            f"window against {counts.calls:,} statement calls"
        )
    return f"{ran}; {verdict}"
