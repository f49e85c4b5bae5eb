"""Candidate indexes: from how statements read tables to btree designs worth costing.

For each table a statement reads, the designs an experienced DBA would try: every filtered
or joined column alone; the equality columns together; the equality columns followed by one
range column, by the ORDER BY columns in their directions, or by the GROUP BY columns; the
ORDER BY columns alone when a LIMIT stops the scan early; covering variants (INCLUDE)
where an index-only scan would follow; and for an OR of one table's columns, one design
per arm, grouped (candidate_groups): a BitmapOr needs them all. Designs that an existing
index already serves (the same keys or a leading prefix of its keys, whatever INCLUDE
columns they add) are dropped: the planner can use that index today.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from advisor.analyze.sqltext import as_written, bind_parameters
from advisor.analyze.values import ValueModel
from advisor.model import (
    ExpressionUse,
    IndexDesign,
    KeyColumn,
    Operator,
    OrderKey,
    ParsedStatement,
    Schema,
    StatementKind,
    Table,
    TableAccess,
    TableName,
    ValueAssumption,
)


@dataclass(frozen=True)
class CandidateSettings:
    """How wide candidates grow (config.candidate_settings maps them from Settings)."""

    max_key_columns: int
    max_include_columns: int


# Types whose values are too wide to be worth copying into an index as INCLUDE columns.
_WIDE_TYPES = ("text", "json", "jsonb", "bytea", "xml", "tsvector")


def generate_candidates(
    statements: Sequence[ParsedStatement], schema: Schema, settings: CandidateSettings
) -> dict[IndexDesign, frozenset[int]]:
    """Every candidate design, mapped to the queryids of the statements it may help."""
    ranking = _EqualityRanking(statements, schema)
    helps: dict[IndexDesign, set[int]] = defaultdict(set)
    for statement in statements:
        for access in statement.accesses:
            table = schema.tables.get(access.table)
            if table is None:
                continue
            covering = statement.kind is StatementKind.SELECT
            for design in _designs_for(access, table, ranking, settings, covering):
                helps[design].add(statement.queryid)
            # Each arm's design alone, too: where another arm is served already, or
            # for the other statements it helps.
            for group in _arm_groups(access, table, ranking, settings):
                for design in group:
                    helps[design].add(statement.queryid)
    existing = {name: existing_designs(table) for name, table in schema.tables.items()}
    return {
        design: frozenset(queryids)
        for design, queryids in sorted(helps.items(), key=lambda item: item[0].sort_key())
        if not _already_served(design, existing.get(design.table, ()))
    }


def candidate_groups(
    statements: Sequence[ParsedStatement], schema: Schema, settings: CandidateSettings
) -> dict[tuple[IndexDesign, ...], frozenset[int]]:
    """The designs that pay only together, mapped to the queryids they may help: for an OR
    of one table's columns (see Disjunction), one design per arm that no existing index
    serves yet, when two or more arms need one (a BitmapOr needs an index on every arm,
    so each alone changes nothing in the plan). Each group's designs are sorted."""
    ranking = _EqualityRanking(statements, schema)
    existing = {name: existing_designs(table) for name, table in schema.tables.items()}
    helps: dict[tuple[IndexDesign, ...], set[int]] = defaultdict(set)
    for statement in statements:
        for access in statement.accesses:
            table = schema.tables.get(access.table)
            if table is None:
                continue
            served = existing.get(access.table, ())
            for group in _arm_groups(access, table, ranking, settings):
                needed = tuple(sorted({d for d in group if not _already_served(d, served)}))
                if len(needed) > 1:
                    helps[needed].add(statement.queryid)
    return {group: frozenset(queryids) for group, queryids in sorted(helps.items())}


def _arm_groups(
    access: TableAccess, table: Table, ranking: _EqualityRanking, settings: CandidateSettings
) -> list[tuple[IndexDesign, ...]]:
    """For each OR of the access, one design per arm: the arm's equality columns, then its
    first range column; and the same led by the access's AND-ed equality columns, which
    every arm's index scan can use as well."""
    known = table.column_names
    outer = [c for c in ranking.order(table, _equality_columns(access)) if c in known]
    groups: list[tuple[IndexDesign, ...]] = []
    for disjunction in access.disjunctions:
        for prefix in ([], outer) if outer else ([],):
            group: list[IndexDesign] = []
            for arm in disjunction.arms:
                equality = ranking.order(
                    table, _unique(f.column for f in arm if f.operator.is_equality)
                )
                ranges = [f.column for f in arm if not f.operator.is_equality]
                columns = _unique([*prefix, *equality, *ranges[:1]])
                keys = tuple(KeyColumn.of(c) for c in columns if c in known)
                if keys:
                    group.append(IndexDesign(table.name, keys[: settings.max_key_columns]))
            groups.append(tuple(dict.fromkeys(group)))
    return groups


def _already_served(design: IndexDesign, existing: Iterable[IndexDesign]) -> bool:
    """An existing index serves the design's keys (the same keys or a leading prefix of
    its keys): a second index on them, even one covering more columns, duplicates it."""
    keys = replace(design, include=())
    return any(keys.serves_prefix_of(other) for other in existing)


def existing_designs(table: Table) -> list[IndexDesign]:
    """The valid indexes of the table, as designs (what a candidate is compared with)."""
    return [
        IndexDesign(
            table=table.name,
            keys=index.keys,
            include=index.include,
            predicate=index.predicate,
            access_method=index.access_method,
        )
        for index in table.indexes
        if index.valid
    ]


class _EqualityRanking:
    """Orders equality columns: the ones more statements filter on first (so that one index
    serves more statements), then the more selective ones."""

    def __init__(self, statements: Iterable[ParsedStatement], schema: Schema) -> None:
        self._uses: Counter[tuple[TableName, str]] = Counter()
        for statement in statements:
            for access in statement.accesses:
                for column in _equality_columns(access):
                    self._uses[(access.table, column)] += 1
        self._schema = schema

    def order(self, table: Table, columns: Iterable[str]) -> list[str]:
        return sorted(
            columns,
            key=lambda c: (-self._uses[(table.name, c)], -_distinct_values(table, c), c),
        )


def _distinct_values(table: Table, column_name: str) -> float:
    column = table.column(column_name)
    if column is None or column.n_distinct is None:
        return 0.0
    if column.n_distinct >= 0:
        return column.n_distinct
    return -column.n_distinct * max(table.row_estimate, 0.0)


def _unique(columns: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(columns))


def _equality_columns(access: TableAccess) -> list[str]:
    return _unique(f.column for f in access.filters if f.operator.is_equality)


def _designs_for(
    access: TableAccess,
    table: Table,
    ranking: _EqualityRanking,
    settings: CandidateSettings,
    covering: bool,
) -> list[IndexDesign]:
    known = table.column_names
    equality = [c for c in ranking.order(table, _equality_columns(access)) if c in known]
    ranges = _unique(
        f.column for f in access.filters if not f.operator.is_equality and f.column in known
    )
    joins = [c for c in _unique(access.join_columns) if c in known and c not in equality]
    order = [k for k in access.order_by if k.column in known and k.column not in equality]
    groups = [c for c in access.group_by if c in known and c not in equality]

    key_sets: list[list[KeyColumn]] = []
    for column in _unique([*equality, *ranges, *joins]):
        key_sets.append([KeyColumn.of(column)])
    prefix = [KeyColumn.of(c) for c in equality]
    if len(prefix) > 1:
        key_sets.append(prefix)
    for column in [*ranges, *joins]:
        key_sets.append([*prefix, KeyColumn.of(column)])
    if order and len(order) == len(access.order_by) - _constant_order_keys(access, equality):
        key_sets.append([*prefix, *_order_keys(order)])
        if prefix and access.limited:
            # The order alone: read in order and stop at the LIMIT, filtering on the way.
            # Cheaper than the prefixed index when the filter keeps many rows, and one such
            # index serves every statement paging through the table in that order.
            key_sets.append(_order_keys(order))
    if groups:
        key_sets.append([*prefix, *(KeyColumn.of(c) for c in _unique(groups))])

    designs: list[IndexDesign] = []
    for keys in key_sets:
        keys = _dedupe_keys(keys)[: settings.max_key_columns]
        if not keys:
            continue
        design = IndexDesign(table=table.name, keys=tuple(keys))
        designs.append(design)
        if covering:
            wider = _covering(design, access, table, settings)
            if wider is not None:
                designs.append(wider)
    return designs


def _constant_order_keys(access: TableAccess, equality: list[str]) -> int:
    """ORDER BY keys fixed by an equality filter, which an index need not deliver."""
    return sum(1 for k in access.order_by if k.column in equality)


def _order_keys(order: Sequence[OrderKey]) -> list[KeyColumn]:
    """Index keys delivering this order; the first key ascending, since a backward scan
    delivers the fully reversed order just as well."""
    keys = [KeyColumn.of(k.column, k.descending, k.nulls_first) for k in order]
    if keys and keys[0].descending:
        keys = [k.flipped() for k in keys]
    return keys


def _dedupe_keys(keys: list[KeyColumn]) -> list[KeyColumn]:
    seen: set[str] = set()
    result = []
    for key in keys:
        if key.column not in seen:
            seen.add(key.column)
            result.append(key)
    return result


def _covering(
    design: IndexDesign, access: TableAccess, table: Table, settings: CandidateSettings
) -> IndexDesign | None:
    """The design with INCLUDE columns for an index-only scan, when that is cheap enough."""
    if access.used_columns is None or settings.max_include_columns == 0:
        return None
    extra = sorted(access.used_columns - set(design.key_columns))
    if not extra or len(extra) > settings.max_include_columns:
        return None
    for name in extra:
        column = table.column(name)
        if column is None or column.type_name.startswith(_WIDE_TYPES):
            return None
    return IndexDesign(table=design.table, keys=design.keys, include=tuple(extra))


class PageOrders:
    """The index that returns a page already in order. A statement that filters on
    equality columns (or on an outer row's value, as a LATERAL join does) and reads
    ORDER BY ... LIMIT is served by an index on those columns; followed by the order's
    keys, it returns each page in order and stops at the LIMIT, for any value however
    many rows that value has. A generic plan costs the average value, for which sorting
    a few rows is as cheap, so the planner rarely tells the two apart: a DBA adds the
    order's keys anyway, as insurance against the values with many rows."""

    def __init__(
        self, statements: Sequence[ParsedStatement], schema: Schema, settings: CandidateSettings
    ) -> None:
        self._max_keys = settings.max_key_columns
        self._orders: dict[tuple[TableName, frozenset[str]], tuple[KeyColumn, ...]] = {}
        for statement in statements:
            for access in statement.accesses:
                table = schema.tables.get(access.table)
                if table is None or not access.limited or not access.order_by:
                    continue
                known = table.column_names
                equality = [
                    c
                    for c in _unique([*_equality_columns(access), *access.join_columns])
                    if c in known
                ]
                order = [
                    k for k in access.order_by if k.column in known and k.column not in equality
                ]
                complete = len(order) == len(access.order_by) - _constant_order_keys(
                    access, equality
                )
                if equality and order and complete:
                    key = (access.table, frozenset(equality))
                    self._orders.setdefault(key, tuple(_order_keys(order)))

    def __call__(self, design: IndexDesign) -> IndexDesign | None:
        """`design` followed by the order of a page that statements read through it, or
        None when no such page is read or the keys are already there."""
        if (
            design.access_method != "btree"
            or design.predicate
            or any(k.is_expression for k in design.keys)
        ):
            return None
        order = self._orders.get((design.table, frozenset(design.key_columns)))
        if order is None:
            return None
        keys = _dedupe_keys([*design.keys, *order])[: self._max_keys]
        if len(keys) == len(design.keys):
            return None
        columns = {k.column for k in keys}
        include = tuple(c for c in design.include if c not in columns)
        return IndexDesign(design.table, tuple(keys), include)


def statements_by_table(
    candidates: Mapping[IndexDesign, frozenset[int]],
) -> dict[TableName, set[int]]:
    """Which statements each table's candidates may help."""
    result: dict[TableName, set[int]] = defaultdict(set)
    for design, queryids in candidates.items():
        result[design.table].update(queryids)
    return result


class Extensions:
    """Wider designs grown from a chosen one, as Extend does (Schlosser et al. 2019): the
    chosen keys followed by one more column that some statement filters, joins, sorts or
    groups on together with all of them. The selection asks for these when it chooses a
    design, so multi-column indexes that serve several statements at once are found even
    when no single statement's shape suggests them."""

    def __init__(
        self, statements: Sequence[ParsedStatement], schema: Schema, settings: CandidateSettings
    ) -> None:
        self._settings = settings
        self._accesses: dict[TableName, list[tuple[frozenset[str], int]]] = defaultdict(list)
        for statement in statements:
            for access in statement.accesses:
                table = schema.tables.get(access.table)
                if table is None:
                    continue
                columns = frozenset(index_attributes(access)) & frozenset(table.column_names)
                if columns:
                    self._accesses[access.table].append((columns, statement.queryid))
        self._existing = {name: existing_designs(table) for name, table in schema.tables.items()}

    def __call__(self, design: IndexDesign) -> dict[IndexDesign, frozenset[int]]:
        """Each one-column extension of `design` and the statements it may help."""
        if (
            design.access_method != "btree"
            or design.include
            or design.predicate
            or any(k.is_expression for k in design.keys)
            or len(design.keys) >= self._settings.max_key_columns
        ):
            return {}
        keys = frozenset(design.key_columns)
        helps: dict[str, set[int]] = defaultdict(set)
        for columns, queryid in self._accesses.get(design.table, ()):
            if keys <= columns:
                for column in columns - keys:
                    helps[column].add(queryid)
        wider = {
            IndexDesign(design.table, (*design.keys, KeyColumn.of(column))): frozenset(queryids)
            for column, queryids in sorted(helps.items())
        }
        existing = self._existing.get(design.table, ())
        return {
            d: queryids
            for d, queryids in wider.items()
            if not any(d.serves_prefix_of(other) for other in existing)
        }


def index_attributes(access: TableAccess) -> list[str]:
    """The columns of an access an index key could serve: filters, joins, order, grouping."""
    return _unique(
        [
            *(f.column for f in access.filters),
            *access.join_columns,
            *(k.column for k in access.order_by),
            *access.group_by,
        ]
    )


# ------------------------------------------------------------------- value-aware designs


@dataclass(frozen=True)
class ValueCandidates:
    """Designs that only values reveal: partial indexes (for the values most calls ask for),
    expression indexes (their parameters filled in with the values used), BRIN indexes (on
    a column whose values follow the table's physical order); with the values each depends
    on and, for BRIN, why it qualifies."""

    helps: dict[IndexDesign, frozenset[int]]
    assumptions: dict[IndexDesign, tuple[ValueAssumption, ...]]
    notes: dict[IndexDesign, tuple[str, ...]]
    # Expression designs to plan as the plain column (see ExpressionUse.proxy_text): the
    # plain design, and the column.
    proxies: dict[IndexDesign, tuple[IndexDesign, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class BrinSettings:
    """Where BRIN candidates are tried (config.brin_settings maps them from Settings)."""

    brin_min_table_bytes: int
    brin_min_correlation: float


def value_candidates(
    statements: Sequence[ParsedStatement],
    schema: Schema,
    settings: CandidateSettings,
    values: ValueModel,
    append_only: Callable[[TableName], bool],
    brin: BrinSettings,
) -> ValueCandidates:
    ranking = _EqualityRanking(statements, schema)
    helps: dict[IndexDesign, set[int]] = defaultdict(set)
    assumptions: dict[IndexDesign, tuple[ValueAssumption, ...]] = {}
    notes: dict[IndexDesign, tuple[str, ...]] = {}
    proxies: dict[IndexDesign, tuple[IndexDesign, str]] = {}
    for statement in statements:
        predicates = values.partial_predicates(statement.queryid)
        for access in statement.accesses:
            table = schema.tables.get(access.table)
            if table is None:
                continue
            for predicate in predicates:
                if predicate.table != access.table:
                    continue
                for design in _partial_designs(access, table, ranking, settings, predicate.column):
                    design = replace(design, predicate=predicate.sql)
                    helps[design].add(statement.queryid)
                    assumptions[design] = (predicate.assumption,)
            for use in access.expressions:
                bindings = values.expression_bindings(
                    statement.queryid, use.parameters, use.expression
                )
                for literals, assumed in bindings:
                    for design in _expression_designs(access, table, ranking, use, literals):
                        helps[design].add(statement.queryid)
                        if assumed:
                            assumptions[design] = assumed
                        if use.proxy_column and use.proxy_text:
                            plain = _plain(design, use.proxy_column)
                            proxies[design] = (plain, use.proxy_column)
            for design, note in _brin_designs(access, table, values, append_only, brin):
                helps[design].add(statement.queryid)
                notes[design] = (note,)
    existing = {name: existing_designs(table) for name, table in schema.tables.items()}
    kept = {
        design: frozenset(queryids)
        for design, queryids in sorted(helps.items(), key=lambda item: item[0].sort_key())
        if not _already_served(design, existing.get(design.table, ()))
    }
    return ValueCandidates(
        kept,
        {d: a for d, a in assumptions.items() if d in kept},
        {d: n for d, n in notes.items() if d in kept},
        {d: p for d, p in proxies.items() if d in kept},
    )


def _plain(design: IndexDesign, column: str) -> IndexDesign:
    """The design with its expression key replaced by the plain column."""
    keys = tuple(
        KeyColumn(column, k.descending, k.nulls_first) if k.is_expression else k
        for k in design.keys
    )
    return replace(design, keys=keys)


def _partial_designs(
    access: TableAccess,
    table: Table,
    ranking: _EqualityRanking,
    settings: CandidateSettings,
    column: str,
) -> list[IndexDesign]:
    """The designs for the statement without its filter on `column` (the predicate does
    that filtering): the rest of the key after it. At least the column itself."""
    rest = replace(access, filters=tuple(f for f in access.filters if f.column != column))
    designs = [d for d in _designs_for(rest, table, ranking, settings, covering=False) if d.keys]
    if not designs:
        designs = [IndexDesign(table.name, (KeyColumn.of(column),))]
    return designs


def _expression_designs(
    access: TableAccess,
    table: Table,
    ranking: _EqualityRanking,
    use: ExpressionUse,
    literals: Mapping[int, str],
) -> list[IndexDesign]:
    expression = use.expression
    if use.parameters:
        expression, remaining = bind_parameters(as_written(expression), literals)
        if remaining:
            return []
    key = KeyColumn(expression, use.descending, use.descending, is_expression=True)
    if key.descending:
        key = key.flipped()
    prefix = [
        KeyColumn.of(c)
        for c in ranking.order(table, _equality_columns(access))
        if c in table.column_names
    ]
    key_sets = [[key]] if use.role != "order" else []
    if prefix:
        key_sets.append([*prefix, key])
    elif use.role == "order":
        key_sets.append([key])
    return [IndexDesign(table.name, tuple(keys)) for keys in key_sets]


def _brin_designs(
    access: TableAccess,
    table: Table,
    values: ValueModel,
    append_only: Callable[[TableName], bool],
    brin: BrinSettings,
) -> list[tuple[IndexDesign, str]]:
    """BRIN on a range-filtered column of a large, append-only table whose values follow
    the physical order of its rows (pg_stats' correlation)."""
    if table.size_bytes < brin.brin_min_table_bytes or not append_only(table.name):
        return []
    result = []
    for column in _unique(f.column for f in access.filters if f.operator is Operator.RANGE):
        stats = values.statistics(table.name, column)
        if stats is None or stats.correlation is None:
            continue
        if abs(stats.correlation) < brin.brin_min_correlation:
            continue
        design = IndexDesign(table.name, (KeyColumn.of(column),), access_method="brin")
        note = (
            f"BRIN: {column} follows the physical order of the rows (correlation "
            f"{stats.correlation:.2f}) and {table.name} is written by inserts only"
        )
        result.append((design, note))
    return result
