"""Name resolution: the FROM items one query block sees, and what a name points to.

A column reference is resolved the way PostgreSQL resolves it, innermost block first,
through aliases, joins, subqueries, CTEs and LATERAL, to one table occurrence (which
accumulates what the statement does with that table) or to a FROM item that is not a
schema table. Pure: only the parse tree and the schema's tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast

from advisor.model import (
    Disjunction,
    ExpressionUse,
    Filter,
    Operator,
    OrderKey,
    ParameterUse,
    Table,
    TableAccess,
)


@dataclass(eq=False)
class Occurrence:
    """One occurrence of a schema table in one query block, and what the statement does
    with it. Compared by identity: a self-join has two distinct occurrences."""

    table: Table
    filters: list[Filter] = field(default_factory=list)
    join_columns: list[str] = field(default_factory=list)
    order_by: tuple[OrderKey, ...] = ()
    group_by: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    all_columns: bool = False
    limited: bool = False
    written: list[str] = field(default_factory=list)
    expressions: list[ExpressionUse] = field(default_factory=list)
    # A dict as an ordered set: an IN list of 16,000 parameters must not cost 16,000^2.
    parameters: dict[ParameterUse, None] = field(default_factory=dict)
    disjunctions: list[Disjunction] = field(default_factory=list)

    def known_columns(self) -> frozenset[str] | None:
        return self.table.column_names

    def add_expression(self, use: ExpressionUse) -> None:
        if use not in self.expressions:
            self.expressions.append(use)

    def use(self, column: str) -> bool:
        """Record a read of `column`; False when the table has no such column."""
        if column not in self.table.column_names:
            return False
        self.used.add(column)
        return True

    def add_filter(self, column: str, operator: Operator) -> None:
        restriction = Filter(column, operator)
        if self.use(column) and restriction not in self.filters:
            self.filters.append(restriction)

    def add_parameter(self, use: ParameterUse) -> None:
        self.parameters.setdefault(use)

    def add_disjunction(self, disjunction: Disjunction) -> None:
        if disjunction not in self.disjunctions:
            self.disjunctions.append(disjunction)

    def add_join_column(self, column: str) -> None:
        if self.use(column) and column not in self.join_columns:
            self.join_columns.append(column)

    def add_group_column(self, column: str) -> None:
        if self.use(column) and column not in self.group_by:
            self.group_by.append(column)

    def access(self) -> TableAccess:
        return TableAccess(
            table=self.table.name,
            filters=tuple(self.filters),
            join_columns=tuple(self.join_columns),
            order_by=self.order_by,
            group_by=tuple(self.group_by),
            used_columns=None if self.all_columns else frozenset(self.used),
            limited=self.limited,
            written_columns=tuple(self.written),
            expressions=tuple(self.expressions),
            disjunctions=tuple(self.disjunctions),
        )


@dataclass(eq=False)
class Derived:
    """A FROM item that is not a schema table: subquery, CTE, function, unknown table.

    `columns` is None when its column names are unknown (then an unqualified name in its
    block cannot be resolved with certainty). `sources` maps each output column that is a
    table's column passed through (a view's, a subquery's or a CTE's `SELECT org_id ...`)
    to that column: a filter on it is a filter the planner can push down to the table
    (whether it does, a materialized CTE say, the what-if planning decides)."""

    columns: frozenset[str] | None
    sources: dict[str, tuple[Occurrence, str]] = field(default_factory=dict)

    def known_columns(self) -> frozenset[str] | None:
        return self.columns


Relation = Occurrence | Derived


@dataclass(eq=False)
class Entry:
    """A FROM item as a query block sees it: the name it is referred by, and what it is."""

    refname: str | None
    # Set for an unaliased table, so `schema.table.column` references resolve too.
    schema: str | None
    relation: Relation


@dataclass(eq=False)
class Scope:
    """The names one query block sees: its own FROM items, then its parents' (outer
    references of correlated and LATERAL subqueries), and the CTEs defined around it."""

    parent: Scope | None
    entries: list[Entry] = field(default_factory=list)
    ctes: dict[str, Derived] = field(default_factory=dict)

    def chain(self) -> Iterator[Scope]:
        scope: Scope | None = self
        while scope is not None:
            yield scope
            scope = scope.parent

    def cte(self, name: str) -> Derived | None:
        for scope in self.chain():
            if name in scope.ctes:
                return scope.ctes[name]
        return None

    def occurrences(self) -> list[Occurrence]:
        return [e.relation for e in self.entries if isinstance(e.relation, Occurrence)]


@dataclass(frozen=True, eq=False)
class Resolved:
    """Where a column reference points: the scope (query block) it resolves in, the entry
    (None when ambiguous there) and the column (None for a whole-row reference)."""

    scope: Scope
    entry: Entry | None
    column: str | None


def field_names(ref: ast.ColumnRef) -> list[str]:
    return ["*" if isinstance(f, ast.A_Star) else str(f.sval) for f in ref.fields or ()]


def resolve(ref: ast.ColumnRef, scope: Scope) -> Resolved | None:
    """Resolve a column reference the way PostgreSQL does, innermost block first."""
    return resolve_names(field_names(ref), scope)


def resolve_names(names: list[str], scope: Scope) -> Resolved | None:
    if not names:
        return None
    *qualifier, column = names
    if not qualifier:
        return _resolve_unqualified(column, scope)
    table = qualifier[-1]
    schema = qualifier[-2] if len(qualifier) > 1 else None
    for level in scope.chain():
        for entry in level.entries:
            if entry.refname == table and (schema is None or entry.schema == schema):
                return Resolved(level, entry, None if column == "*" else column)
    return None


def _resolve_unqualified(column: str, scope: Scope) -> Resolved | None:
    for level in scope.chain():
        known = [e for e in level.entries if column in (e.relation.known_columns() or ())]
        unknown = any(e.relation.known_columns() is None for e in level.entries)
        if len(known) == 1 and not unknown:
            return Resolved(level, known[0], column)
        if known or unknown:
            # Ambiguous, or possibly a column of an item whose columns are unknown: the
            # name belongs to this block, but to no table we can name for sure.
            return Resolved(level, None, column)
    # No column of that name anywhere: PostgreSQL then reads it as a whole-row reference.
    for level in scope.chain():
        for entry in level.entries:
            if entry.refname == column:
                return Resolved(level, entry, None)
    return None


def alias_name(alias: ast.Alias | None) -> str | None:
    return alias.aliasname if alias is not None else None


def alias_columns(nodes: tuple[Any, ...] | None) -> frozenset[str] | None:
    """The names of a column alias list (`AS t(a, b)`), None when there is none."""
    if not nodes:
        return None
    return frozenset(str(n.sval) for n in nodes if isinstance(n, ast.String))


def target_name(target: ast.ResTarget) -> str | None:
    """The name of a select-list item: its alias, else what PostgreSQL derives from a
    column or a function call; None for a star or an unnamed expression."""
    if target.name:
        return target.name
    value = target.val
    if isinstance(value, ast.ColumnRef):
        last = field_names(value)[-1]
        return None if last == "*" else last
    if isinstance(value, ast.FuncCall) and value.funcname:
        return str(value.funcname[-1].sval)
    return None


def output_columns(targets: tuple[Any, ...], scope: Scope) -> frozenset[str] | None:
    """The names a subquery's result can be referenced by; None when unknown."""
    names: set[str] = set()
    for target in targets:
        if not isinstance(target, ast.ResTarget):
            continue
        name = target_name(target)
        if name is not None:
            names.add(name)
        elif isinstance(target.val, ast.ColumnRef):  # a star: `*` or `alias.*`
            expanded = _star_columns(field_names(target.val)[:-1], scope)
            if expanded is None:
                return None
            names |= expanded
    return frozenset(names)


def _star_columns(qualifier: list[str], scope: Scope) -> frozenset[str] | None:
    if qualifier:
        resolved = resolve_names([*qualifier, "*"], scope)
        entries = [resolved.entry] if resolved and resolved.entry else []
        if not entries:
            return None
    else:
        entries = scope.entries
    columns: set[str] = set()
    for entry in entries:
        known = entry.relation.known_columns()
        if known is None:
            return None
        columns |= known
    return frozenset(columns)


def output_sources(targets: tuple[Any, ...], scope: Scope) -> dict[str, tuple[Occurrence, str]]:
    """The output columns of a block's target list that pass a table's column through,
    by output name (see Derived.sources): `col`, `alias.col`, `col AS name`, `*`, `t.*`,
    through nested subqueries and views."""
    result: dict[str, tuple[Occurrence, str]] = {}
    for target in targets:
        if not isinstance(target, ast.ResTarget) or not isinstance(target.val, ast.ColumnRef):
            continue
        names = field_names(target.val)
        if names[-1] == "*":
            resolved = resolve_names(names, scope) if len(names) > 1 else None
            if len(names) > 1 and (resolved is None or resolved.entry is None):
                continue
            entries = [resolved.entry] if resolved and resolved.entry else scope.entries
            for entry in entries:
                result.update(_passed_through(entry))
            continue
        found = resolve(target.val, scope)
        name = target_name(target)
        if found is None or found.scope is not scope or found.entry is None or not name:
            continue
        if found.column is None:
            continue
        source = _source(found.entry.relation, found.column)
        if source is not None:
            result[name] = source
    return result


def _source(relation: Relation, column: str) -> tuple[Occurrence, str] | None:
    if isinstance(relation, Occurrence):
        return (relation, column) if column in relation.table.column_names else None
    return relation.sources.get(column)


def _passed_through(entry: Entry) -> dict[str, tuple[Occurrence, str]]:
    relation = entry.relation
    if isinstance(relation, Occurrence):
        return {c.name: (relation, c.name) for c in relation.table.columns}
    return dict(relation.sources)
