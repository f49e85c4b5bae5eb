"""A deterministic benchmark workload: a schema, its data and N distinct statement shapes.

Everything is drawn from seeded `random.Random` instances, so the same arguments always
give the same tables, rows (the server's `random()` is seeded with `setseed`) and
statements. The statements are written the way an ORM such as Drizzle writes them (quoted
identifiers, qualified columns, bound parameters) and differ in their column sets, select
lists, operators and ORDER BY/LIMIT, so that each has a queryid of its own.

Integer parameters are kept below 32768 on purpose: psycopg sends a Python int as int2,
int4 or int8 depending on its value, and a parameter's type is part of the queryid, so
one statement called with 5 and with 40000 would count as two statements with fewer
calls each.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

# A maker draws the values of one group of `%s` placeholders.
Maker = Callable[[random.Random], tuple[Any, ...]]

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
TENANTS = 500
ROW_COUNTS = (20_000, 30_000, 50_000, 75_000, 100_000)
# Every table has at least ROW_COUNTS[0] rows: ids and foreign keys drawn up to this hit.
ID_PARAM_MAX = ROW_COUNTS[0]
LIMITS = (5, 10, 20, 25, 50)
DEFAULT_SEED = 20_240_101


# ------------------------------------------------------------------------ the schema


@dataclass(frozen=True)
class ColumnSpec:
    """A column: its SQL type, the SQL expression generating its data from the row number
    `g`, what statements may do with it, and how to draw a parameter for it."""

    name: str
    sql_type: str
    data: str
    roles: frozenset[str] = frozenset()
    value: Callable[[random.Random], Any] | None = None
    span: Callable[[random.Random], tuple[Any, Any]] | None = None

    @property
    def ident(self) -> str:
        """The quoted name."""
        return quote(self.name)


@dataclass(frozen=True)
class TableSpec:
    """A table of the benchmark schema; `parent` is the table its foreign key refers to."""

    name: str
    rows: int
    columns: tuple[ColumnSpec, ...]
    parent: str | None = None
    indexes: tuple[tuple[str, ...], ...] = ()

    @property
    def ident(self) -> str:
        """The quoted name."""
        return quote(self.name)

    @property
    def fk_column(self) -> str | None:
        """The foreign key column, named after the parent table."""
        return f"{self.parent}Id" if self.parent else None

    def with_role(self, role: str) -> list[ColumnSpec]:
        """The columns statements may use in this role."""
        return [c for c in self.columns if role in c.roles]

    def column(self, name: str) -> ColumnSpec:
        """The column of this name."""
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class BenchSchema:
    """The tables of the benchmark, in creation order (parents before children)."""

    tables: tuple[TableSpec, ...]

    def table(self, name: str) -> TableSpec:
        """The table of this name."""
        return next(t for t in self.tables if t.name == name)

    def children(self) -> list[TableSpec]:
        """The tables with a foreign key."""
        return [t for t in self.tables if t.parent is not None]


def quote(name: str) -> str:
    """A double-quoted SQL identifier, as Drizzle writes every name."""
    return '"' + name.replace('"', '""') + '"'


def _time_span(rng: random.Random) -> tuple[datetime, datetime]:
    """A window of 1 to 48 hours within the data's year."""
    start = EPOCH + timedelta(days=rng.randint(0, 360), hours=rng.randint(0, 23))
    return start, start + timedelta(hours=rng.randint(1, 48))


def _int_span(top: int, width: tuple[int, int]) -> Callable[[random.Random], tuple[int, int]]:
    """A maker of (low, high) integer ranges below `top`, `width` apart."""

    def span(rng: random.Random) -> tuple[int, int]:
        """Draw a range."""
        low = rng.randint(0, top - width[1])
        return low, low + rng.randint(*width)

    return span


def _id_value(rng: random.Random) -> int:
    """An id or foreign key value that every table has."""
    return rng.randint(1, ID_PARAM_MAX)


_ID = ColumnSpec("id", "bigint NOT NULL", "g", frozenset({"order", "id"}), _id_value)
_TENANT = ColumnSpec(
    "tenantId",
    "integer NOT NULL",
    f"1 + floor({TENANTS} * power(random(), 3))::int",
    frozenset({"selective", "eq", "in", "group"}),
    lambda rng: rng.randint(1, TENANTS),
)
_CREATED = ColumnSpec(
    "createdAt",
    "timestamptz NOT NULL",
    "timestamptz '2024-01-01' + random() * interval '365 days'",
    frozenset({"range", "order"}),
    span=_time_span,
)
_STATUS = ColumnSpec(
    "status",
    "text NOT NULL",
    "(ARRAY['active','active','active','active','pending','archived','deleted'])"
    "[1 + floor(random() * 7)::int]",
    frozenset({"eq", "in", "group"}),
    lambda rng: rng.choice(("pending", "archived", "deleted")),
)
BASE_COLUMNS = (_ID, _TENANT, _CREATED, _STATUS)

OPTIONAL_COLUMNS = (
    ColumnSpec(
        "isActive",
        "boolean NOT NULL",
        "random() < 0.9",
        frozenset({"bool", "group", "set"}),
        lambda rng: rng.random() < 0.3,
    ),
    ColumnSpec(
        "score",
        "integer NOT NULL",
        "floor(random() * 1000)::int",
        frozenset({"range", "order", "set"}),
        lambda rng: rng.randint(0, 999),
        _int_span(999, (5, 20)),
    ),
    ColumnSpec(
        "priority",
        "integer NOT NULL",
        "1 + floor(power(random(), 2) * 10)::int",
        frozenset({"eq", "group", "order", "set"}),
        lambda rng: rng.randint(1, 10),
    ),
    ColumnSpec(
        "kind",
        "text NOT NULL",
        "'k' || floor(power(random(), 2) * 50)::int",
        frozenset({"eq", "in", "group"}),
        lambda rng: f"k{rng.randint(0, 49)}",
    ),
    ColumnSpec(
        "updatedAt",
        "timestamptz",
        "timestamptz '2024-01-01' + random() * interval '400 days'",
        frozenset({"range", "order"}),
        span=_time_span,
    ),
    ColumnSpec(
        "amountCents",
        "integer NOT NULL",
        "floor(random() * 30000)::int",
        frozenset({"range", "order", "set"}),
        lambda rng: rng.randint(0, 29_999),
        _int_span(29_999, (50, 300)),
    ),
    ColumnSpec(
        "email",
        "text NOT NULL",
        "'user' || g || '@example.com'",
        frozenset({"selective", "eq"}),
        lambda rng: f"user{_id_value(rng)}@example.com",
    ),
    ColumnSpec(
        "externalRef",
        "text",
        "'ref-' || lpad(g::text, 6, '0')",
        frozenset({"selective", "eq", "in"}),
        lambda rng: f"ref-{_id_value(rng):06d}",
    ),
    ColumnSpec(
        "region",
        "text NOT NULL",
        "(ARRAY['eu','us','ap','sa'])[1 + floor(power(random(), 2) * 4)::int]",
        frozenset({"eq", "group"}),
        lambda rng: rng.choice(("ap", "sa")),
    ),
    ColumnSpec(
        "ownerId",
        "integer NOT NULL",
        "1 + floor(random() * 5000)::int",
        frozenset({"selective", "eq", "in", "group"}),
        lambda rng: rng.randint(1, 5000),
    ),
    ColumnSpec(
        "category_id",
        "integer",
        "1 + floor(power(random(), 2) * 200)::int",
        frozenset({"selective", "eq", "in", "group"}),
        lambda rng: rng.randint(1, 200),
    ),
    ColumnSpec(
        "deleted_at",
        "timestamptz",
        "CASE WHEN random() < 0.05 THEN timestamptz '2024-12-01' + random() * interval "
        "'30 days' END",
        frozenset({"nullable"}),
    ),
)


def build_schema(tables: int, seed: int = DEFAULT_SEED) -> BenchSchema:
    """`tables` tables t00, t01, ... with a random mix of optional columns, foreign keys to
    earlier tables and a few secondary indexes."""
    rng = random.Random(seed)
    specs: list[TableSpec] = []
    for number in range(tables):
        name = f"t{number:02d}"
        columns = list(BASE_COLUMNS)
        optional = rng.sample(OPTIONAL_COLUMNS, rng.randint(3, 6))
        columns.extend(c for c in OPTIONAL_COLUMNS if c in optional)
        parent = None
        if specs and rng.random() < 0.7:
            parent_spec = rng.choice(specs)
            parent = parent_spec.name
            columns.append(_fk_column(parent, parent_spec.rows))
        draft = TableSpec(name, rng.choice(ROW_COUNTS), tuple(columns), parent)
        specs.append(_with_indexes(draft, rng))
    return BenchSchema(tuple(specs))


def _fk_column(parent: str, parent_rows: int) -> ColumnSpec:
    """The `"<parent>Id"` column, skewed towards the parent's first rows."""
    return ColumnSpec(
        f"{parent}Id",
        "bigint NOT NULL",
        f"1 + floor(power(random(), 1.5) * {parent_rows})::bigint",
        frozenset({"selective", "eq", "fk"}),
        _id_value,
    )


def _with_indexes(table: TableSpec, rng: random.Random) -> TableSpec:
    """The table with some of the secondary indexes an application would already have."""
    indexes: list[tuple[str, ...]] = []
    if rng.random() < 0.4:
        indexes.append(("tenantId",))
    if rng.random() < 0.3:
        indexes.append(("createdAt",))
    if table.fk_column and rng.random() < 0.3:
        indexes.append((table.fk_column,))
    if any(c.name == "email" for c in table.columns):
        indexes.append(("email",))
    return TableSpec(table.name, table.rows, table.columns, table.parent, tuple(indexes))


# ------------------------------------------------------------------------- the DDL


def create_sql(schema: BenchSchema) -> str:
    """CREATE TABLE for every table, without constraints (added after the load)."""
    statements = []
    for table in schema.tables:
        columns = ",\n    ".join(f"{c.ident} {c.sql_type}" for c in table.columns)
        statements.append(f"CREATE TABLE {table.ident} (\n    {columns}\n);")
    return "\n".join(statements)


def load_sql(schema: BenchSchema, seed: int = DEFAULT_SEED) -> str:
    """INSERT ... SELECT FROM generate_series for every table, with a seeded random()."""
    statements = [f"SELECT setseed({(seed % 1000) / 1000});"]
    for table in schema.tables:
        names = ", ".join(c.ident for c in table.columns)
        values = ",\n       ".join(c.data for c in table.columns)
        statements.append(
            f"INSERT INTO {table.ident} ({names})\n"
            f"SELECT {values}\nFROM generate_series(1, {table.rows}) AS g;"
        )
    return "\n".join(statements)


def constraints_sql(schema: BenchSchema) -> str:
    """Primary keys, foreign keys and the existing secondary indexes."""
    statements = []
    for table in schema.tables:
        statements.append(f'ALTER TABLE {table.ident} ADD PRIMARY KEY ("id");')
        if table.parent and table.fk_column:
            statements.append(
                f"ALTER TABLE {table.ident} ADD FOREIGN KEY ({quote(table.fk_column)}) "
                f'REFERENCES {quote(table.parent)} ("id");'
            )
        for keys in table.indexes:
            unique = "UNIQUE " if keys == ("email",) else ""
            columns = ", ".join(quote(k) for k in keys)
            statements.append(f"CREATE {unique}INDEX ON {table.ident} ({columns});")
    return "\n".join(statements)


# ---------------------------------------------------------------------- statements


@dataclass(frozen=True)
class WorkloadStatement:
    """One statement shape (psycopg `%s` placeholders) and the parameters of each call."""

    family: str
    sql: str
    calls: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class _Shape:
    """A statement text being built, with the makers of its placeholders, in order.

    `selective` marks a condition (or a text containing one) that keeps few rows: a
    statement without one gets a LIMIT, so that the workload stays fast."""

    sql: str
    makers: tuple[Maker, ...] = ()
    selective: bool = False

    def __add__(self, other: _Shape) -> _Shape:
        """The two pieces one after the other."""
        return _Shape(
            self.sql + other.sql, self.makers + other.makers, self.selective or other.selective
        )

    def draw(self, rng: random.Random) -> tuple[Any, ...]:
        """The values of every placeholder, for one call."""
        return tuple(value for maker in self.makers for value in maker(rng))


def _text(sql: str) -> _Shape:
    """A piece of SQL without placeholders."""
    return _Shape(sql)


def _join_and(parts: Sequence[_Shape]) -> _Shape:
    """The shapes joined with AND."""
    result = _Shape("")
    for position, part in enumerate(parts):
        result = result + (_text(" and ") if position else _Shape("")) + part
    return result


def _one(column: ColumnSpec) -> Maker:
    """A maker of one value of the column."""
    value = column.value
    assert value is not None, column.name
    return lambda rng: (value(rng),)


def _many(column: ColumnSpec, count: int) -> Maker:
    """A maker of `count` values of the column (an IN list)."""
    value = column.value
    assert value is not None, column.name
    return lambda rng: tuple(value(rng) for _ in range(count))


def _array(column: ColumnSpec, count: int) -> Maker:
    """A maker of one list of `count` values (for `= any(%s)`)."""
    value = column.value
    assert value is not None, column.name
    return lambda rng: ([value(rng) for _ in range(count)],)


def _pair(column: ColumnSpec) -> Maker:
    """A maker of the two bounds of a range of the column."""
    span = column.span
    assert span is not None, column.name
    return lambda rng: span(rng)


def _limit_value(rng: random.Random) -> tuple[int]:
    """A page size."""
    return (rng.choice(LIMITS),)


def _small_limit(rng: random.Random) -> tuple[int]:
    """A small LIMIT for nested relations and outer rows."""
    return (rng.choice((3, 5, 10)),)


def _qualified(table: TableSpec, column: ColumnSpec) -> str:
    """`"table"."column"`."""
    return f"{table.ident}.{column.ident}"


def _equality(table: TableSpec, column: ColumnSpec) -> _Shape:
    """`col = %s`, selective when the column is."""
    return _Shape(f"{_qualified(table, column)} = %s", (_one(column),), "selective" in column.roles)


def _in_list(rng: random.Random, table: TableSpec, column: ColumnSpec) -> _Shape:
    """`col in (%s, ...)` as Drizzle's inArray writes it, or `col = any(%s)`."""
    count = rng.randint(2, 5)
    selective = "selective" in column.roles
    if rng.random() < 0.25:
        return _Shape(f"{_qualified(table, column)} = any(%s)", (_array(column, count),), selective)
    marks = ", ".join(["%s"] * count)
    return _Shape(f"{_qualified(table, column)} in ({marks})", (_many(column, count),), selective)


def _range(rng: random.Random, table: TableSpec, column: ColumnSpec) -> _Shape:
    """A bounded range in one of the spellings applications use."""
    name = _qualified(table, column)
    form = rng.randrange(3)
    if form == 0:
        return _Shape(f"{name} >= %s and {name} < %s", (_pair(column),), True)
    if form == 1:
        return _Shape(f"{name} between %s and %s", (_pair(column),), True)
    return _Shape(f"{name} > %s", (lambda r: (_pair(column)(r)[0],),))


def _condition(
    rng: random.Random, table: TableSpec, role: str, exclude: Collection[str] = ()
) -> _Shape | None:
    """One restriction of a random column with the given role (not one of `exclude`)."""
    columns = [c for c in table.with_role(role) if c.name not in exclude]
    if not columns:
        return None
    column = rng.choice(columns)
    if role == "range":
        return _range(rng, table, column)
    if role == "in":
        return _in_list(rng, table, column)
    if role == "bool":
        return _Shape(f"{_qualified(table, column)} = %s", (_one(column),))
    return _equality(table, column)


def _equalities(rng: random.Random, table: TableSpec, count: int) -> list[_Shape]:
    """Equalities on up to `count` distinct columns."""
    columns = rng.sample(table.with_role("eq"), min(count, len(table.with_role("eq"))))
    return [_equality(table, c) for c in columns]


def _select_list(rng: random.Random, table: TableSpec, qualify: bool) -> str:
    """`*` now and then, else a subset of the columns in table order."""
    if rng.random() < 0.08:
        return f"{table.ident}.*" if qualify else "*"
    picked = set(rng.sample(table.columns, rng.randint(1, min(4, len(table.columns)))))
    chosen = [c for c in table.columns if c in picked]
    return ", ".join(_qualified(table, c) if qualify else c.ident for c in chosen)


def _order_by(rng: random.Random, table: TableSpec, exclude: set[str]) -> str:
    """` order by` one or two orderable columns, each ascending or descending."""
    columns = [c for c in table.with_role("order") if c.name not in exclude]
    if not columns:
        return ""
    keys = rng.sample(columns, min(len(columns), rng.choice((1, 1, 2))))
    parts = [_qualified(table, c) + rng.choice(("", " desc")) for c in keys]
    return " order by " + ", ".join(parts)


def _where(parts: Sequence[_Shape]) -> _Shape:
    """The WHERE clause; two or more equalities together count as selective."""
    if not parts:
        return _Shape("")
    clause = _text(" where ") + _join_and(parts)
    if sum(" = " in p.sql for p in parts) >= 2:
        return _Shape(clause.sql, clause.makers, True)
    return clause


def _tail(rng: random.Random, table: TableSpec, exclude: set[str], limit: bool) -> _Shape:
    """An optional ORDER BY and an optional LIMIT (required when `limit`: pass it for a
    statement whose conditions are not selective)."""
    order = _order_by(rng, table, exclude) if rng.random() < 0.5 else ""
    if limit or rng.random() < 0.5:
        return _Shape(order + " limit %s", (_limit_value,))
    return _text(order)


def _names(parts: Sequence[_Shape], table: TableSpec) -> set[str]:
    """The columns of `table` the conditions name."""
    return {c.name for c in table.columns if any(_qualified(table, c) in p.sql for p in parts)}


# ------------------------------------------------------------ statement families


def _eq_single(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """A single-column equality (or boolean) filter."""
    table = rng.choice(schema.tables)
    condition = _condition(rng, table, rng.choice(("eq", "eq", "eq", "bool")))
    if condition is None:
        return None
    head = _text(f"select {_select_list(rng, table, False)} from {table.ident}")
    where = _where([condition])
    return head + where + _tail(rng, table, _names([condition], table), not where.selective)


def _eq_multi(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """Two or three equality filters, sometimes with a soft-delete test."""
    table = rng.choice(schema.tables)
    parts = _equalities(rng, table, rng.randint(2, 3))
    if len(parts) < 2:
        return None
    if table.with_role("nullable") and rng.random() < 0.3:
        parts.append(_text(f'{table.ident}."deleted_at" is {rng.choice(("", "not "))}null'))
    head = _text(f"select {_select_list(rng, table, False)} from {table.ident}")
    where = _where(parts)
    return head + where + _tail(rng, table, _names(parts, table), not where.selective)


def _in_filter(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """An IN list or `= any(%s)`, sometimes with one more filter."""
    table = rng.choice(schema.tables)
    condition = _condition(rng, table, "in")
    if condition is None:
        return None
    parts = [condition]
    if rng.random() < 0.4:
        extra = _condition(rng, table, rng.choice(("eq", "range", "bool")), _names(parts, table))
        parts.extend([extra] if extra is not None else [])
    head = _text(f"select {_select_list(rng, table, False)} from {table.ident}")
    where = _where(parts)
    return head + where + _tail(rng, table, _names(parts, table), not where.selective)


def _range_filter(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """A range filter, sometimes after an equality."""
    table = rng.choice(schema.tables)
    condition = _condition(rng, table, "range")
    if condition is None:
        return None
    parts = [condition]
    if rng.random() < 0.5:
        parts.insert(0, _equality(table, rng.choice(table.with_role("eq"))))
    head = _text(f"select {_select_list(rng, table, False)} from {table.ident}")
    where = _where(parts)
    return head + where + _tail(rng, table, set(), not where.selective or rng.random() < 0.3)


def _order_limit(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """Pagination: equality prefix, ORDER BY, LIMIT, sometimes a keyset condition."""
    table = rng.choice(schema.tables)
    parts = _equalities(rng, table, rng.randint(1, 2))
    order_columns = [c for c in table.with_role("order") if c.name != "id"]
    column = rng.choice(order_columns)
    descending = rng.random() < 0.6
    direction = " desc" if descending else ""
    order = f" order by {_qualified(table, column)}{direction}"
    if rng.random() < 0.25 and column.span is not None:
        operator = "<" if descending else ">"
        keyset = f'({_qualified(table, column)}, {table.ident}."id") {operator} (%s, %s)'
        parts.append(_Shape(keyset, (lambda r: (_pair(column)(r)[0], _id_value(r)),)))
        order += f', {table.ident}."id"{direction}'
    elif rng.random() < 0.3:
        order += f', {table.ident}."id"{direction}'
    head = _text(f"select {_select_list(rng, table, False)} from {table.ident}")
    return head + _where(parts) + _Shape(order + " limit %s", (_limit_value,))


def _join(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """A child joined to its parent on the foreign key, filtered on either side."""
    children = schema.children()
    if not children:
        return None
    child = rng.choice(children)
    parent = schema.table(child.parent or "")
    kind = rng.choice(("inner", "inner", "left"))
    columns = f"{_select_list(rng, child, True)}, {_select_list(rng, parent, True)}"
    head = _text(
        f"select {columns} from {child.ident} {kind} join {parent.ident} "
        f'on {child.ident}.{quote(child.fk_column or "")} = {parent.ident}."id"'
    )
    first, second = (parent, child) if rng.random() < 0.6 else (child, parent)
    parts = [c for c in (_condition(rng, first, rng.choice(("eq", "in"))),) if c is not None]
    if rng.random() < 0.5:
        extra = _condition(rng, second, rng.choice(("eq", "range")))
        parts.extend([extra] if extra is not None else [])
    if not parts:
        return None
    order = _order_by(rng, child, set()) if rng.random() < 0.5 else ""
    return head + _where(parts) + _Shape(order + " limit %s", (_limit_value,))


def _group_by(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """An aggregate per group of one table, or per parent over a join."""
    if schema.children() and rng.random() < 0.3:
        return _group_by_join(rng, schema)
    table = rng.choice(schema.tables)
    group = rng.choice(table.with_role("group"))
    aggregates = ["count(*)"]
    for column in table.with_role("range"):
        if rng.random() < 0.3:
            aggregates.append(f"{rng.choice(('max', 'min'))}({_qualified(table, column)})")
    condition = _condition(rng, table, rng.choice(("eq", "range", "in")))
    if condition is None or group.ident in condition.sql:
        return None
    head = _text(f"select {_qualified(table, group)}, {', '.join(aggregates)} from {table.ident}")
    tail = f" group by {_qualified(table, group)}"
    if rng.random() < 0.4:
        return (
            head + _where([condition]) + _Shape(tail + " order by 2 desc limit %s", (_limit_value,))
        )
    return head + _where([condition]) + _text(tail)


def _group_by_join(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """An aggregate of the children per parent."""
    child = rng.choice(schema.children())
    parent = schema.table(child.parent or "")
    condition = _condition(rng, parent, rng.choice(("eq", "in")))
    if condition is None:
        return None
    aggregate = rng.choice(("count", "max"))
    head = _text(
        f'select {parent.ident}."id", {aggregate}({child.ident}."id") from {parent.ident} '
        f"inner join {child.ident} on {child.ident}.{quote(child.fk_column or '')} = "
        f'{parent.ident}."id"'
    )
    return head + _where([condition]) + _text(f' group by {parent.ident}."id"')


def _update(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """UPDATE ... SET of one or two columns WHERE selective equalities."""
    table = rng.choice(schema.tables)
    settable = table.with_role("set")
    if not settable:
        return None
    column = rng.choice(settable)
    assignments = _Shape(f"{column.ident} = %s", (_one(column),))
    if any(c.name == "updatedAt" for c in table.columns) and rng.random() < 0.5:
        assignments = assignments + _text(', "updatedAt" = now()')
    form = rng.randrange(3)
    selective = table.with_role("selective")
    if form == 0 or not selective:
        parts = [_Shape(f'{table.ident}."id" = any(%s)', (_array(_ID, 3),))]
    else:
        first = rng.choice(selective)
        parts = [_equality(table, first)]
        others = [c for c in table.with_role("eq") if c is not first]
        if form == 2 and others:
            parts.append(_equality(table, rng.choice(others)))
    returning = ' returning "id"' if rng.random() < 0.3 else ""
    return _text(f"update {table.ident} set ") + assignments + _where(parts) + _text(returning)


def _relational(rng: random.Random, schema: BenchSchema) -> _Shape | None:
    """A Drizzle relational query: parents with their latest children as a lateral
    json_agg."""
    children = schema.children()
    if not children:
        return None
    child = rng.choice(children)
    parent = schema.table(child.parent or "")
    alias = quote(f"{parent.name}_{child.name}")
    picked = rng.sample(child.columns, rng.randint(1, 3))
    fields = ", ".join(f"{alias}.{c.ident}" for c in child.columns if c in picked)
    order_column = rng.choice(child.with_role("order"))
    direction = rng.choice(("", " desc"))
    inner_order = f"{alias}.{order_column.ident}{direction}"
    inner = (
        f"select * from {child.ident} {alias} where {alias}.{quote(child.fk_column or '')} = "
        f'{parent.ident}."id" order by {inner_order}'
    )
    inner_shape = _Shape(inner + " limit %s", (_small_limit,)) if rng.random() < 0.7 else None
    parent_columns = _select_list(rng, parent, True)
    head = _text(
        f'select {parent_columns}, {alias}."data" as {quote(child.name)} from '
        f"{parent.ident} {parent.ident} left join lateral (select coalesce(json_agg("
        f"json_build_array({fields}) order by {inner_order}), '[]'::json) as \"data\" from ("
    )
    body = inner_shape if inner_shape is not None else _text(inner)
    if rng.random() < 0.5:
        where = _Shape(f'{parent.ident}."id" = %s', (_one(_ID),))
        outer = _text(f") {alias}) {alias} on true where ") + where + _text(" limit 1")
    else:
        condition = _equality(parent, rng.choice(parent.with_role("eq")))
        outer = (
            _text(f") {alias}) {alias} on true where ")
            + condition
            + _Shape(f' order by {parent.ident}."id" limit %s', (_small_limit,))
        )
    return head + body + outer


Family = Callable[[random.Random, BenchSchema], _Shape | None]

FAMILIES: tuple[tuple[str, Family, int], ...] = (
    ("equality", _eq_single, 14),
    ("multi-column equality", _eq_multi, 14),
    ("in list", _in_filter, 10),
    ("range", _range_filter, 12),
    ("order by limit", _order_limit, 14),
    ("join", _join, 12),
    ("group by", _group_by, 10),
    ("update", _update, 8),
    ("relational (lateral json_agg)", _relational, 6),
)


def generate_statements(
    schema: BenchSchema, count: int, seed: int = DEFAULT_SEED
) -> list[WorkloadStatement]:
    """`count` statements with distinct texts, each with the parameters of 2 or 3 calls."""
    rng = random.Random(seed)
    weights = [weight for _, _, weight in FAMILIES]
    seen: set[str] = set()
    statements: list[WorkloadStatement] = []
    for _ in range(count * 200):
        if len(statements) == count:
            return statements
        name, family, _ = rng.choices(FAMILIES, weights)[0]
        shape = family(rng, schema)
        if shape is None or shape.sql in seen:
            continue
        seen.add(shape.sql)
        calls = tuple(shape.draw(rng) for _ in range(rng.randint(2, 3)))
        statements.append(WorkloadStatement(name, shape.sql, calls))
    raise ValueError(f"could only generate {len(statements)} distinct statements of {count}")


def run_statements(conn: psycopg.Connection[Any], statements: Sequence[WorkloadStatement]) -> int:
    """Execute every call of every statement with bound parameters; returns the calls."""
    executed = 0
    for statement in statements:
        for params in statement.calls:
            cursor = conn.execute(statement.sql, params, prepare=False)
            if cursor.description is not None:
                cursor.fetchall()
            executed += 1
    return executed
