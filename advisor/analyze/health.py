"""Index health: the existing indexes that cost space and writes without serving reads.

Four findings, each with the statement that fixes it:

- INVALID: `pg_index.indisvalid` is false (a failed CREATE INDEX CONCURRENTLY, say). It is
  maintained on writes (once ready) and never read.
- DUPLICATE: another valid index on the table has the same definition apart from the name.
- REDUNDANT: a valid btree whose keys are a leading prefix of another valid btree's keys
  (or those keys read backwards), with the same predicate, operator classes and collations.
- UNUSED: no scans over a trusted window of observation (at least `unused_min_days`), on
  the primary and on every replica (statistics are per server), summed by the caller.
- UNKNOWN: what would be UNUSED, while a replica could not be read: no DROP.

An index gets at most one finding (so at most one DROP), and an index that one finding
names as the one to keep is never dropped by another. Unique, primary-key and
constraint-backing indexes enforce something: they are never the one to drop, except a
plain unique index that exactly duplicates another unique one. Nor is the last index that
starts with a foreign key's referencing columns: the key's checks (a delete or re-key of a
referenced row, ON DELETE actions) look the rows up by them.

The catalog row gives keys, directions, INCLUDE, predicate and access method, but not the
operator class or collation of each key; those are compared through the text of
`pg_get_indexdef` (`Index.definition`), which prints them whenever they are not the
column's defaults.

Partitions: a partition's index attached to a partitioned table's index cannot be dropped
alone, so it gets no finding of its own; the partitioned table's index is judged instead,
with its partitions' scans summed (it has no counters of its own), and dropped whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from advisor.history import (
    Delta,
    IndexCounters,
)
from advisor.model import (
    Finding,
    FindingKind,
    ForeignKey,
    Index,
    Schema,
    Table,
    TableName,
    quote_ident,
)

SECONDS_PER_DAY = 86_400.0
_KIND_ORDER = {kind: position for position, kind in enumerate(FindingKind)}
# Suffixes PostgreSQL gives the transient copies of a REINDEX CONCURRENTLY; a failed one
# leaves them behind, invalid.
_REINDEX_LEFTOVER_SUFFIXES = ("_ccnew", "_ccold")


@dataclass(frozen=True)
class HealthSettings:
    """Thresholds of the health checks (config.health_settings maps them from Settings,
    where each is documented with its default)."""

    unused_min_days: float
    unused_min_size_bytes: int


@dataclass(frozen=True)
class _Servers:
    """Where the scans of the usage window were counted: the replicas added to the
    primary's (host:port), and why each replica that could not be read was not."""

    replicas: tuple[str, ...]
    unreachable: tuple[str, ...]


def find_problems(
    schema: Schema,
    usage: Delta | None,
    observed_since: Mapping[tuple[TableName, str], datetime],
    now: datetime,
    settings: HealthSettings,
    *,
    foreign_keys: Sequence[ForeignKey] = (),
    replicas: Sequence[str] = (),
    unreachable: Sequence[str] = (),
) -> tuple[Finding, ...]:
    """Every invalid, duplicate, redundant and unused index of the schema, ordered by kind,
    then size (largest first), then name.

    `usage` is what happened over a window (index scans, table writes), the scans summed
    over the primary and the `replicas` read; without it, or when counters were reset
    inside it, nothing is reported unused. `observed_since` says since when each
    (table, index) has been watched on every server; an index missing from it is not
    reported unused either. `unreachable` says why replicas could not be read (say
    "replica db2:5432 unreachable (timeout)"): then what would be unused is UNKNOWN. The
    last index serving one of the `foreign_keys` is never unused.
    """
    findings: list[Finding] = []
    usage, observed_since = _with_partitioned_indexes(schema, usage, observed_since)
    servers = _Servers(tuple(replicas), tuple(unreachable))
    for table in schema.tables.values():
        keys = [k for k in foreign_keys if k.table == table.name]
        findings.extend(_table_problems(table, usage, observed_since, now, settings, keys, servers))
    return tuple(sorted(findings, key=_finding_order))


def _with_partitioned_indexes(
    schema: Schema,
    usage: Delta | None,
    observed_since: Mapping[tuple[TableName, str], datetime],
) -> tuple[Delta | None, Mapping[tuple[TableName, str], datetime]]:
    """The usage of each partitioned table's index: its attached partitions' indexes'
    scans summed, watched since the latest of them was first seen (never, if one was not)."""
    if usage is None:
        return usage, observed_since
    counters = {(c.table, c.index): c for c in usage.indexes}
    since = dict(observed_since)

    def total(table: Table, index: Index) -> tuple[IndexCounters | None, datetime | None]:
        key = (table.name, index.name)
        if not table.partitioned:
            return counters.get(key), since.get(key)
        parts = [
            total(part, child)
            for part in schema.tables.values()
            if part.partition_of == table.name
            for child in part.indexes
            if child.parent == index.name
        ]
        if not parts or any(c is None or s is None for c, s in parts):
            return None, None
        scans = sum(c.idx_scan for c, _ in parts if c is not None)
        size = sum(c.size_bytes for c, _ in parts if c is not None)
        latest = max(s for _, s in parts if s is not None)
        return IndexCounters(table.name, index.name, scans, size_bytes=size), latest

    added = []
    for table in schema.tables.values():
        if not table.partitioned:
            continue
        for index in table.indexes:
            found, first = total(table, index)
            if found is not None and first is not None:
                added.append(found)
                since[(table.name, index.name)] = first
    return replace(usage, indexes=(*usage.indexes, *added)), since


def safe_drops(
    schema: Schema, writes_per_day: Mapping[TableName, float] | None = None
) -> tuple[Finding, ...]:
    """The drops a plan carries without a usage window: exact duplicates, prefix-redundant
    btrees and non-unique btrees a unique index covers. Another index kept on the table
    serves every scan each of them does. Never a unique index, an index behind a
    constraint, a partial index (its predicate is a judgement of its own), or the index
    that makes another redundant. `writes_per_day` (index entries a day, per table) goes
    into the reasons."""
    rates = writes_per_day or {}
    findings: list[Finding] = []
    for table in schema.tables.values():
        facts = _Usage({}, {}, rates.get(table.name))
        valid = sorted(
            (i for i in table.indexes if i.valid and i.parent is None), key=lambda i: i.name
        )
        duplicates = _duplicate_findings(valid, facts)
        dropped = {f.index for f in duplicates}
        redundant = _redundant_findings([i for i in valid if i.name not in dropped], set(), facts)
        by_name = {i.name: i for i in valid}
        findings.extend(
            f for f in (*duplicates, *redundant) if _droppable_in_plan(by_name[f.index])
        )
    return tuple(sorted(findings, key=_finding_order))


def _droppable_in_plan(index: Index) -> bool:
    """An index that enforces nothing and has no predicate of its own."""
    return not (index.unique or index.primary or index.constraint or index.predicate)


def _finding_order(finding: Finding) -> tuple[int, int, str, TableName]:
    return (_KIND_ORDER[finding.kind], -finding.size_bytes, finding.index, finding.table)


# ------------------------------------------------------------------------ per table


@dataclass(frozen=True)
class _Usage:
    """What the usage window says about one table."""

    scans: Mapping[str, int]
    counters: Mapping[str, IndexCounters]
    writes_per_day: float | None


def _table_problems(
    table: Table,
    usage: Delta | None,
    observed_since: Mapping[tuple[TableName, str], datetime],
    now: datetime,
    settings: HealthSettings,
    foreign_keys: Sequence[ForeignKey],
    servers: _Servers,
) -> Iterator[Finding]:
    facts = _table_usage(table.name, usage)
    # An attached partition's index is dropped only with its partitioned table's.
    valid = sorted((i for i in table.indexes if i.valid and i.parent is None), key=lambda i: i.name)
    for index in sorted(table.indexes, key=lambda i: i.name):
        if not index.valid:
            yield _invalid_finding(index, facts)

    duplicates = _duplicate_findings(valid, facts)
    dropped = {f.index for f in duplicates}
    idle = {
        index.name: window
        for index in valid
        if index.name not in dropped
        and (window := _unused_window(index, usage, facts, observed_since, now, settings))
        is not None
    }
    # An index about to be dropped as unused cannot stand in for a redundant one; one whose
    # use is unknown is not about to be dropped.
    leaving = set() if servers.unreachable else set(idle)
    redundant = _redundant_findings([i for i in valid if i.name not in dropped], leaving, facts)
    dropped |= {f.index for f in redundant}
    for name in _foreign_key_keepers(valid, foreign_keys, dropped | set(idle)):
        idle.pop(name, None)
    yield from duplicates
    yield from redundant
    for index in valid:
        if index.name in idle and index.name not in dropped:
            yield _unused_finding(index, idle[index.name], facts, servers)


def _foreign_key_keepers(
    valid: Sequence[Index], foreign_keys: Sequence[ForeignKey], leaving: set[str]
) -> set[str]:
    """For each foreign key whose every serving index is `leaving`, the one to keep: the
    smallest (then by name). A key no index serves needs a new one, not this check."""
    keep = set()
    for key in foreign_keys:
        serving = [i for i in valid if i.leads_with(key.columns)]
        if serving and all(i.name in leaving for i in serving):
            keep.add(min(serving, key=lambda i: (i.size_bytes, i.name)).name)
    return keep


def _table_usage(table: TableName, usage: Delta | None) -> _Usage:
    if usage is None:
        return _Usage({}, {}, None)
    counters = {c.index: c for c in usage.indexes if c.table == table}
    writes_per_day = None
    table_counters = next((t for t in usage.tables if t.table == table), None)
    if table_counters is not None and usage.seconds > 0:
        # HOT updates write no index entries, so they do not count as index maintenance.
        updates = max(table_counters.n_tup_upd - table_counters.n_tup_hot_upd, 0)
        writes = table_counters.n_tup_ins + updates + table_counters.n_tup_del
        writes_per_day = writes * SECONDS_PER_DAY / usage.seconds
    return _Usage({name: c.idx_scan for name, c in counters.items()}, counters, writes_per_day)


# ------------------------------------------------------------------------- invalid


def _invalid_finding(index: Index, facts: _Usage) -> Finding:
    qualified = _qualified(index)
    definition = _parse_definition(index.definition)
    # A build that failed early is not even "ready" (not maintained); the collector's
    # `valid` folds indisready in, so the cost of writes is stated as a possibility.
    writes = "" if facts.writes_per_day is None else f" ({_count(facts.writes_per_day)}/day)"
    cost = (
        f"{_bytes(index.size_bytes)}; it serves no reads and may still be maintained on "
        f"every write{writes}"
    )
    if definition is not None and definition.partitioned:
        fix = _drop_sql(index, definition)
        reason = (
            "invalid partitioned index: it stays invalid until every partition has an index "
            f"attached to it (ALTER INDEX {qualified} ATTACH PARTITION ...), which is what to "
            f"do if it is still being built that way; REINDEX does not validate it; {cost}. "
            f"The fix drops it. {_partitioned_drop_note()}"
        )
    elif index.name.rstrip("0123456789").endswith(_REINDEX_LEFTOVER_SUFFIXES):
        fix = _drop_sql(index, definition)
        reason = (
            "invalid copy left behind by a failed REINDEX INDEX CONCURRENTLY (the original "
            f"index is still in place); {cost}. Drop it"
        )
    else:
        fix = f"REINDEX INDEX CONCURRENTLY {qualified};"
        reason = (
            f"invalid index (for example a failed CREATE INDEX CONCURRENTLY); {cost}. "
            "Make sure no CREATE INDEX CONCURRENTLY is still building it "
            "(pg_stat_progress_create_index) before rebuilding it. "
        )
        if index.unique:
            reason += (
                "A unique index fails to build again while the table holds duplicate keys: "
                "remove them first (a failed REINDEX leaves an invalid *_ccnew copy). "
            )
        reason += f"Alternative to the REINDEX: {_drop_sql(index, definition)}"
        recreate = _create_concurrently_sql(index.definition)
        if recreate:
            reason += f" {recreate};"
    return Finding(
        kind=FindingKind.INVALID,
        table=index.table,
        index=index.name,
        size_bytes=index.size_bytes,
        reason=reason,
        fix_sql=fix,
        writes_per_day=facts.writes_per_day,
    )


def _create_concurrently_sql(definition: str) -> str | None:
    """The index's CREATE INDEX statement with CONCURRENTLY, or None if it is not one."""
    for head in ("CREATE UNIQUE INDEX ", "CREATE INDEX "):
        if definition.startswith(head):
            return f"{head}CONCURRENTLY {definition[len(head) :]}"
    return None


# ----------------------------------------------------------------------- duplicates


def _duplicate_findings(valid: Sequence[Index], facts: _Usage) -> list[Finding]:
    groups: dict[tuple[object, ...], list[Index]] = {}
    for index in valid:
        groups.setdefault(_identity(index), []).append(index)
    findings = []
    for group in groups.values():
        if len(group) < 2:
            continue
        keeper = min(group, key=lambda i: _keep_rank(i, facts))
        for index in group:
            # A constraint-backing copy needs a human (which constraint goes?), and a
            # unique index is never dropped in favour of one that enforces nothing.
            if index is keeper or index.constraint is not None:
                continue
            if index.unique and not keeper.unique:
                continue
            findings.append(_duplicate_finding(index, keeper, facts))
    return findings


def _identity(index: Index) -> tuple[object, ...]:
    """What makes two indexes the same index: the definition after the name (keys,
    directions, operator classes, collations, INCLUDE, storage, predicate), or, without a
    readable definition, the catalog fields."""
    definition = _parse_definition(index.definition)
    if definition is not None:
        return ("definition", definition.after_name)
    return ("fields", index.access_method, index.keys, index.include, index.predicate)


def _keep_rank(index: Index, facts: _Usage) -> tuple[bool, bool, bool, int, str]:
    """Sorts the index to keep first: constraint-backing, primary, unique, most scans in
    the window, then the name (the catalog does not record which index is older)."""
    return (
        index.constraint is None,
        not index.primary,
        not index.unique,
        -facts.scans.get(index.name, 0),
        index.name,
    )


def _duplicate_finding(index: Index, keeper: Index, facts: _Usage) -> Finding:
    definition = _parse_definition(index.definition)
    reason = (
        f"exact duplicate of {quote_ident(keeper.name)} (same definition apart from the name); "
        f"keeping {quote_ident(keeper.name)} because {_why_kept(keeper, index, facts)}; "
        f"{_bytes(index.size_bytes)}; {_maintenance(facts.writes_per_day)}"
    )
    if index.unique:
        reason += (
            "; if a foreign key was created while only this index existed, it depends on it "
            "and the DROP fails: drop and re-add that foreign key first"
        )
    if definition is not None and definition.partitioned:
        reason += f"; {_partitioned_drop_note()}"
    return Finding(
        kind=FindingKind.DUPLICATE,
        table=index.table,
        index=index.name,
        size_bytes=index.size_bytes,
        reason=reason,
        fix_sql=_drop_sql(index, definition),
        restore_sql=_restore_sql(index),
        covered_by=keeper.name,
        writes_per_day=facts.writes_per_day,
    )


def _why_kept(keeper: Index, other: Index, facts: _Usage) -> str:
    if keeper.constraint is not None:
        return f"it backs constraint {quote_ident(keeper.constraint)}"
    if keeper.unique and not other.unique:
        return "it is unique"
    keeper_scans = facts.scans.get(keeper.name, 0)
    other_scans = facts.scans.get(other.name, 0)
    if keeper_scans != other_scans:
        return f"it had more scans in the window ({keeper_scans} against {other_scans})"
    return "its name sorts first (the catalog does not record which one is older)"


# ------------------------------------------------------------------------ redundant


def _redundant_findings(
    candidates: Sequence[Index], leaving: set[str], facts: _Usage
) -> list[Finding]:
    """Btrees that another kept btree serves completely. `leaving` names indexes that will
    be dropped anyway, which therefore cannot stand in for another."""
    btrees = [i for i in candidates if i.access_method == "btree"]
    # Whoever can stand in for an index sorts before it, so each index's stand-ins are
    # settled (kept or dropped) by the time it is looked at.
    btrees.sort(key=lambda i: (-len(i.keys), -len(_extra_include(i)), _keep_rank(i, facts)))
    findings: list[Finding] = []
    dropped: set[str] = set()
    for position, index in enumerate(btrees):
        if index.unique or index.primary or index.constraint is not None:
            continue
        stand_ins = [
            wider
            for wider in btrees[:position]
            if wider.name not in dropped
            and wider.name not in leaving
            and _serves(wider, index)
            and not (_serves(index, wider) and _keep_rank(index, facts) < _keep_rank(wider, facts))
        ]
        if stand_ins:
            wider = min(stand_ins, key=lambda i: (len(i.keys), len(i.include), i.name))
            findings.append(_redundant_finding(index, wider, facts))
            dropped.add(index.name)
    return findings


def _extra_include(index: Index) -> frozenset[str]:
    return frozenset(index.include) - _plain_key_columns(index)


def _plain_key_columns(index: Index) -> frozenset[str]:
    return frozenset(k.column for k in index.keys if not k.is_expression)


def _serves(wider: Index, narrow: Index) -> bool:
    """True when `wider` answers every scan `narrow` can: same table and predicate,
    `narrow`'s keys a leading prefix of `wider`'s (as they are or all read backwards) with
    the same operator classes and collations, and `narrow`'s INCLUDE columns among
    `wider`'s columns."""
    if wider is narrow or (wider.table, wider.predicate) != (narrow.table, narrow.predicate):
        return False
    if len(narrow.keys) > len(wider.keys):
        return False
    prefix = wider.keys[: len(narrow.keys)]
    forward = prefix == narrow.keys
    backward = tuple(k.flipped() for k in prefix) == narrow.keys
    if not (forward or backward):
        return False
    if not _same_key_classes(wider, narrow):
        return False
    return set(narrow.include) <= _plain_key_columns(wider) | set(wider.include)


def _same_key_classes(wider: Index, narrow: Index) -> bool:
    """Operator classes and collations of `narrow`'s keys match `wider`'s leading keys, as
    far as the definitions tell (they print only non-default ones); assumed equal when a
    definition cannot be read."""
    wide_definition = _parse_definition(wider.definition)
    narrow_definition = _parse_definition(narrow.definition)
    if wide_definition is None or narrow_definition is None:
        return True
    count = len(narrow_definition.key_texts)
    return wide_definition.key_texts[:count] == narrow_definition.key_texts


def _redundant_finding(index: Index, wider: Index, facts: _Usage) -> Finding:
    definition = _parse_definition(index.definition)
    backward = wider.keys[: len(index.keys)] != index.keys
    if len(index.keys) == len(wider.keys):
        relation = f"it has the same keys as {quote_ident(wider.name)}"
    else:
        relation = f"its keys are a leading prefix of {quote_ident(wider.name)}'s"
    if backward:
        relation += " read backwards (a backward scan serves the same order)"
    relation += ", with the same predicate"
    if index.include:
        relation += f", and its INCLUDE columns are among {quote_ident(wider.name)}'s columns"
    reason = (
        f"{relation}: {quote_ident(wider.name)} serves every scan this index does (a wider "
        f"index is a little slower to read); {_bytes(index.size_bytes)}; "
        f"{_maintenance(facts.writes_per_day)}"
    )
    scans = facts.scans.get(index.name)
    if scans:
        reason += f"; its {scans} scans in the window would move to {quote_ident(wider.name)}"
    if definition is not None and definition.partitioned:
        reason += f"; {_partitioned_drop_note()}"
    return Finding(
        kind=FindingKind.REDUNDANT,
        table=index.table,
        index=index.name,
        size_bytes=index.size_bytes,
        reason=reason,
        fix_sql=_drop_sql(index, definition),
        restore_sql=_restore_sql(index),
        covered_by=wider.name,
        writes_per_day=facts.writes_per_day,
    )


# --------------------------------------------------------------------------- unused


@dataclass(frozen=True)
class _IdleWindow:
    """Since when an index has been watched without a scan, and for how many days."""

    since: datetime
    days: float


def _unused_window(
    index: Index,
    usage: Delta | None,
    facts: _Usage,
    observed_since: Mapping[tuple[TableName, str], datetime],
    now: datetime,
    settings: HealthSettings,
) -> _IdleWindow | None:
    """The observation with zero scans when it makes the index unused, else None."""
    # Counters restarted inside a reset window: zero scans since then prove nothing.
    if usage is None or usage.reset:
        return None
    if index.unique or index.primary or index.constraint is not None or not index.valid:
        return None
    if index.size_bytes < settings.unused_min_size_bytes:
        return None
    counters = facts.counters.get(index.name)
    since = observed_since.get((index.table, index.name))
    if counters is None or since is None or counters.idx_scan != 0:
        return None
    window_start = max(usage.started_at, since)
    days = (usage.ended_at - window_start).total_seconds() / SECONDS_PER_DAY
    days_until_now = (now - window_start).total_seconds() / SECONDS_PER_DAY
    if min(days, days_until_now) < settings.unused_min_days:
        return None
    return _IdleWindow(window_start, days)


def _unused_finding(index: Index, window: _IdleWindow, facts: _Usage, servers: _Servers) -> Finding:
    definition = _parse_definition(index.definition)
    where = (
        f" on the primary and replica(s) {', '.join(servers.replicas)}" if servers.replicas else ""
    )
    observed = (
        f"no scans in {window.days:.1f} days of observation (since "
        f"{window.since:%Y-%m-%d %H:%M} UTC){where}; {_bytes(index.size_bytes)}; "
        f"{_maintenance(facts.writes_per_day)}"
    )
    if servers.unreachable:
        return Finding(
            kind=FindingKind.UNKNOWN,
            table=index.table,
            index=index.name,
            size_bytes=index.size_bytes,
            reason=(
                f"unknown: {'; '.join(servers.unreachable)}; {observed}; it may serve reads "
                "there: no DROP until every replica can be read"
            ),
            fix_sql="",
            writes_per_day=facts.writes_per_day,
        )
    reason = (
        observed
        if servers.replicas
        else f"{observed}; statistics are per server: check that no replica reads it before "
        "dropping it (or list the replicas in `replicas`)"
    )
    if definition is not None and definition.partitioned:
        reason += f"; {_partitioned_drop_note()}"
    return Finding(
        kind=FindingKind.UNUSED,
        table=index.table,
        index=index.name,
        size_bytes=index.size_bytes,
        reason=reason,
        fix_sql=_drop_sql(index, definition),
        restore_sql=_restore_sql(index),
        writes_per_day=facts.writes_per_day,
    )


# --------------------------------------------------------------------- fix and words


def _qualified(index: Index) -> str:
    return f"{quote_ident(index.table.schema)}.{quote_ident(index.name)}"


def _restore_sql(index: Index) -> str | None:
    """The statement that builds the index again as it was, or None where the catalog
    gave no definition."""
    if not index.definition:
        return None
    definition = index.definition.rstrip(";")
    parsed = _parse_definition(definition)
    if parsed is not None and parsed.partitioned:
        # pg_get_indexdef prints ON ONLY, which would build an empty, invalid index; without
        # it the index is built on every partition again.
        definition = definition.replace(" ON ONLY ", " ON ", 1)
    return definition + ";"


def _drop_sql(index: Index, definition: _Definition | None) -> str:
    # PostgreSQL cannot drop a partitioned index concurrently.
    if definition is not None and definition.partitioned:
        return f"DROP INDEX IF EXISTS {_qualified(index)};"
    return f"DROP INDEX CONCURRENTLY IF EXISTS {_qualified(index)};"


def _partitioned_drop_note() -> str:
    return (
        "a partitioned index cannot be dropped CONCURRENTLY: the DROP locks the table and "
        "every partition"
    )


def _maintenance(writes_per_day: float | None) -> str:
    if writes_per_day is None:
        return "maintained on every write to the table"
    return f"maintained on every write: {_count(writes_per_day)} writes/day"


def _bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} bytes" if unit == "bytes" else f"{_figure(value)} {unit}"
        value /= 1024
    return f"{_figure(value)} TB"


def _count(value: float) -> str:
    for threshold, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= threshold:
            return f"{_figure(value / threshold)}{suffix}"
    return _figure(value)


def _figure(value: float) -> str:
    """Two significant digits below ten ("1.2"), whole numbers above ("34")."""
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


# --------------------------------------------------------------- reading definitions


@dataclass(frozen=True)
class _Definition:
    """What `pg_get_indexdef` text says beyond the catalog fields the collector reads."""

    # "ON [ONLY] schema.table USING method (keys) [INCLUDE (...)] [...] [WHERE ...]".
    after_name: str
    # Each key as printed, with its direction words removed: the column or expression, then
    # COLLATE and operator class where they are not the defaults.
    key_texts: tuple[str, ...]
    # `ON ONLY`: pg_get_indexdef prints ONLY for the index of a partitioned table.
    partitioned: bool


def _parse_definition(definition: str) -> _Definition | None:
    """The parts of a `CREATE [UNIQUE] INDEX name ON ...` text, or None if it is not one."""
    for head in ("CREATE UNIQUE INDEX ", "CREATE INDEX "):
        if definition.startswith(head):
            rest = definition[len(head) :]
            break
    else:
        return None
    name_end = next((at for at, _ in _outside_quotes(rest) if rest[at] == " "), None)
    if name_end is None or not rest.startswith(" ON ", name_end):
        return None
    after_name = rest[name_end + 1 :]
    keys = _first_parenthesised(after_name)
    if keys is None:
        return None
    return _Definition(
        after_name=after_name,
        key_texts=tuple(_without_direction(k) for k in _split_top_level(keys)),
        partitioned=after_name.startswith("ON ONLY "),
    )


def _outside_quotes(text: str) -> Iterator[tuple[int, int]]:
    """(position, parenthesis depth) of each character outside quoted identifiers and
    string literals; a parenthesis has the depth of what surrounds it."""
    depth = 0
    quote: str | None = None
    position = 0
    while position < len(text):
        char = text[position]
        if quote is not None:
            if char == quote and text.startswith(quote, position + 1):
                position += 2  # a doubled quote stands for itself
                continue
            if char == quote:
                quote = None
            position += 1
            continue
        if char in "'\"":
            quote = char
            position += 1
            continue
        if char == ")":
            depth -= 1
        yield position, depth
        if char == "(":
            depth += 1
        position += 1


def _first_parenthesised(text: str) -> str | None:
    """The text inside the first top-level parentheses (the key list of a definition)."""
    start: int | None = None
    for position, depth in _outside_quotes(text):
        if depth != 0:
            continue
        if text[position] == "(" and start is None:
            start = position + 1
        elif text[position] == ")" and start is not None:
            return text[start:position]
    return None


def _split_top_level(text: str) -> list[str]:
    items = []
    start = 0
    for position, depth in _outside_quotes(text):
        if depth == 0 and text[position] == ",":
            items.append(text[start:position].strip())
            start = position + 1
    items.append(text[start:].strip())
    return items


def _without_direction(key: str) -> str:
    """A printed key without ASC/DESC and NULLS FIRST/LAST, which the catalog fields carry."""
    for suffix in (" NULLS FIRST", " NULLS LAST"):
        key = key.removesuffix(suffix)
    for suffix in (" DESC", " ASC"):
        key = key.removesuffix(suffix)
    return key
