"""What happened between two snapshots of cumulative counters: never negative, never doubled.

PostgreSQL's counters only grow until something restarts them: a statistics reset, a crash,
the eviction of one pg_stat_statements entry. A restart cannot always be seen, so every rule
here errs towards counting less: when a counter may have restarted, the delta is the count
since the restart (a lower bound), never a count that could include work done before the
older snapshot. The database's transaction count is the exception: it is compared with the
statements' calls, which a lower bound would mislead, so where it may have restarted it is
unknown (None).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import fields, replace
from typing import TypeVar

from advisor.history import (
    Delta,
    IndexCounters,
    Snapshot,
    StatementCounters,
    TableCounters,
)

Row = TypeVar("Row", StatementCounters, TableCounters, IndexCounters)

# Fields that name a row, and fields that are gauges (a delta carries the newer value).
# Every other field is a cumulative counter, so a counter added to the model later is
# subtracted without anyone having to remember this module.
_KEY_FIELDS = frozenset({"queryid", "table", "index"})
_GAUGE_FIELDS = frozenset({"n_live_tup", "size_bytes"})
# Counters the collector derives from other columns (a sum of squares from a mean and a
# stddev): recomputed at each snapshot, they can come out a rounding error lower although
# no counter restarted, so they never decide a restart, and their difference is at least 0.
_DERIVED_FIELDS = frozenset({"exec_ms_sum_of_squares"})


def _counter_fields(cls: type[Row]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls) if f.name not in _KEY_FIELDS | _GAUGE_FIELDS)


STATEMENT_COUNTERS = _counter_fields(StatementCounters)
TABLE_COUNTERS = _counter_fields(TableCounters)
INDEX_COUNTERS = _counter_fields(IndexCounters)


def _statement_key(row: StatementCounters) -> Hashable:
    return row.queryid


def _table_key(row: TableCounters) -> Hashable:
    return row.table


def _index_key(row: IndexCounters) -> Hashable:
    return (row.table, row.index)


# ------------------------------------------------------------------------------ delta


def delta(older: Snapshot, newer: Snapshot) -> Delta:
    """What happened in the database between two snapshots of it.

    Per row, newer minus older; where a row's counters restarted in between (a reset, a
    crash, an evicted and re-added statement), the newer value, which counts only work done
    since the restart. Statements present only in `newer` count whole; those only in `older`
    (evicted) are dropped; statements with no new calls are left out. Tables and indexes
    are all kept, with the newer gauges. `reset` is set when counters restarted. The
    database's transactions are newer minus older, or None where they may have restarted.
    """
    _check_pair(older, newer)
    statements_reset = _statements_reset(older, newer)
    statements, _ = _rows_delta(
        older.statements,
        newer.statements,
        _statement_key,
        STATEMENT_COUNTERS,
        statements_reset,
        drop_unchanged=True,
    )
    tables, tables_reset = _rows_delta(
        older.tables, newer.tables, _table_key, TABLE_COUNTERS, restarted=False
    )
    indexes, indexes_reset = _rows_delta(
        older.indexes, newer.indexes, _index_key, INDEX_COUNTERS, restarted=False
    )
    return Delta(
        database=newer.database,
        started_at=older.taken_at,
        ended_at=newer.taken_at,
        statements=tuple(s for s in statements if s.calls > 0),
        tables=tuple(tables),
        indexes=tuple(indexes),
        reset=(
            _server_restarted(older, newer) or statements_reset or tables_reset or indexes_reset
        ),
        statements_evicted=_evicted(older, newer, statements_reset),
        transactions=_transactions(older, newer),
    )


def _check_pair(older: Snapshot, newer: Snapshot) -> None:
    if older.database != newer.database:
        raise ValueError(
            f"snapshots of different databases: {older.database!r}, {newer.database!r}"
        )
    if newer.taken_at < older.taken_at:
        raise ValueError(f"snapshots out of order: {older.taken_at} is after {newer.taken_at}")


def _server_restarted(older: Snapshot, newer: Snapshot) -> bool:
    return older.server_started_at != newer.server_started_at


def _statements_reset(older: Snapshot, newer: Snapshot) -> bool:
    """True when pg_stat_statements says all of its counters restarted in between.

    Only a newer `stats_reset` proves it. A server restart alone does not: with
    pg_stat_statements.save on (the default) a clean shutdown saves the counters and the
    restart reloads them, so taking the newer values would count the old work twice. A crash
    (or save off) does lose them, but then `stats_reset` becomes the start-up time, which
    this catches; without pg_stat_statements_info (PG 13) the per-row rule catches the drop.
    """
    if older.statements_reset_at is None or newer.statements_reset_at is None:
        return False
    return newer.statements_reset_at > older.statements_reset_at


def _transactions(older: Snapshot, newer: Snapshot) -> int | None:
    """pg_stat_database's transactions in between; None when either snapshot lacks them
    or the count may have restarted: the server restarted (a crash loses it), the
    database's statistics were reset, or it went down."""
    before, after = older.transactions, newer.transactions
    if before is None or after is None or after < before:
        return None
    reset = older.transactions_reset_at != newer.transactions_reset_at
    return None if reset or _server_restarted(older, newer) else after - before


def _rows_delta(
    older: Iterable[Row],
    newer: Iterable[Row],
    key: Callable[[Row], Hashable],
    counters: tuple[str, ...],
    restarted: bool,
    drop_unchanged: bool = False,
) -> tuple[list[Row], bool]:
    """Per row of `newer`, its change since `older`; and whether any row's counters went
    down (restarted) although the row was in both. With `drop_unchanged`, rows equal in
    both are left out (most statements of a busy server did not run in a short interval)."""
    before = {key(row): row for row in older}
    rows: list[Row] = []
    any_went_down = False
    for row in newer:
        old = before.get(key(row))
        if drop_unchanged and not restarted and old == row:
            continue
        if old is None or restarted:
            rows.append(row)
        elif _went_down(old, row, counters):
            any_went_down = True
            rows.append(row)
        else:
            rows.append(_minus(row, old, counters))
    return rows, any_went_down


def _went_down(older: Row, newer: Row, counters: tuple[str, ...]) -> bool:
    # Any counter, not only calls: an entry evicted and re-added can match the old call
    # count while its times are smaller, and a difference must never be negative.
    return any(
        getattr(newer, name) < getattr(older, name)
        for name in counters
        if name not in _DERIVED_FIELDS
    )


def _minus(newer: Row, older: Row, counters: tuple[str, ...]) -> Row:
    changes = {name: getattr(newer, name) - getattr(older, name) for name in counters}
    for name in _DERIVED_FIELDS & changes.keys():
        changes[name] = max(changes[name], 0.0)
    return replace(newer, **changes)


def _evicted(older: Snapshot, newer: Snapshot, statements_reset: bool) -> int:
    """Entries pg_stat_statements evicted in between; 0 when unknown."""
    if newer.statements_evicted is None:
        return 0
    # A full reset zeroes `dealloc` together with `stats_reset`, so every eviction it now
    # counts happened inside the interval.
    if statements_reset:
        return newer.statements_evicted
    if older.statements_evicted is None or newer.statements_evicted < older.statements_evicted:
        return 0
    return newer.statements_evicted - older.statements_evicted


# ------------------------------------------------------------------------- running totals


def running_totals(
    totals: Mapping[int, StatementCounters], change: Delta | None, snapshot: Snapshot
) -> dict[int, StatementCounters]:
    """Per statement of `snapshot`, counters that never fall (what Prometheus expects of a
    counter): a statement's counters as first seen, then plus each delta. A reset or an
    eviction lowers pg_stat_statements' own counters but not these (the delta after it
    counts only work done since). Without earlier totals or a delta: the snapshot's own.
    Statements gone from the snapshot are forgotten, so the totals stay as few as its rows."""
    if not totals or change is None:
        return {s.queryid: s for s in snapshot.statements}
    increments = {s.queryid: s for s in change.statements}
    result: dict[int, StatementCounters] = {}
    for row in snapshot.statements:
        before = totals.get(row.queryid)
        increment = increments.get(row.queryid)
        if before is None:
            result[row.queryid] = row
        elif increment is None:
            result[row.queryid] = before
        else:
            result[row.queryid] = _plus(before, increment, STATEMENT_COUNTERS)
    return result


# ------------------------------------------------------------------------------ merge


def with_replica_scans(primary: Delta, replicas: Sequence[Delta]) -> Delta:
    """The primary's delta with each index's counters summed over the replicas' (index
    statistics are per server). An index some replica has no counters for was not watched
    everywhere and is left out; `reset` if any server's counters restarted. The window,
    tables and statements stay the primary's."""
    indexes = []
    others = [{_index_key(row): row for row in replica.indexes} for replica in replicas]
    for row in primary.indexes:
        found = [other.get(_index_key(row)) for other in others]
        if any(counters is None for counters in found):
            continue
        for counters in found:
            assert counters is not None
            row = _plus(row, replace(counters, size_bytes=row.size_bytes), INDEX_COUNTERS)
        indexes.append(row)
    return replace(
        primary,
        indexes=tuple(indexes),
        reset=primary.reset or any(replica.reset for replica in replicas),
    )


def merge(deltas: Sequence[Delta]) -> Delta:
    """One delta covering consecutive deltas of one database: counters summed per row,
    gauges from the latest delta that has the row, the earliest start, the latest end,
    `reset` if any was reset, the transactions summed when every delta knows them (else
    None). Raises ValueError when empty or mixing databases."""
    if not deltas:
        raise ValueError("nothing to merge")
    databases = {d.database for d in deltas}
    if len(databases) > 1:
        raise ValueError(f"cannot merge deltas of different databases: {sorted(databases)}")
    ordered = sorted(deltas, key=lambda d: (d.ended_at, d.started_at))
    return Delta(
        database=ordered[0].database,
        started_at=min(d.started_at for d in ordered),
        ended_at=max(d.ended_at for d in ordered),
        statements=_sum_rows((d.statements for d in ordered), _statement_key, STATEMENT_COUNTERS),
        tables=_sum_rows((d.tables for d in ordered), _table_key, TABLE_COUNTERS),
        indexes=_sum_rows((d.indexes for d in ordered), _index_key, INDEX_COUNTERS),
        reset=any(d.reset for d in ordered),
        statements_evicted=sum(d.statements_evicted for d in ordered),
        transactions=_sum_known(d.transactions for d in ordered),
    )


def _sum_known(counts: Iterable[int | None]) -> int | None:
    """The sum, or None when any is unknown: a part of the window would be missing."""
    total = 0
    for count in counts:
        if count is None:
            return None
        total += count
    return total


def _sum_rows(
    groups: Iterable[Iterable[Row]], key: Callable[[Row], Hashable], counters: tuple[str, ...]
) -> tuple[Row, ...]:
    """Rows summed per key, oldest group first: the later row supplies the gauges."""
    total: dict[Hashable, Row] = {}
    for rows in groups:
        for row in rows:
            earlier = total.get(key(row))
            total[key(row)] = row if earlier is None else _plus(earlier, row, counters)
    return tuple(total.values())


def _plus(earlier: Row, later: Row, counters: tuple[str, ...]) -> Row:
    changes = {name: getattr(earlier, name) + getattr(later, name) for name in counters}
    return replace(later, **changes)
