"""Reading the schema of one database: user tables, columns and existing indexes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from advisor.model import Column, Index, KeyColumn, Schema, Table, TableName
from advisor.pg import MARKER, Connection

# Bits of pg_index.indoption (see src/include/catalog/pg_index.h).
_INDOPTION_DESC = 0x0001
_INDOPTION_NULLS_FIRST = 0x0002

_USER_RELATIONS = """
    c.relkind IN ('r', 'p', 'm')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
"""

TABLES_SQL = f"""{MARKER}
SELECT c.oid, n.nspname, c.relname, greatest(c.reltuples, 0)::float8, pg_table_size(c.oid),
       c.relkind = 'p',
       (SELECT h.inhparent FROM pg_inherits h WHERE h.inhrelid = c.oid AND c.relispartition),
       (SELECT string_to_array(pt.partattrs::text, ' ')::int[]
        FROM pg_partitioned_table pt WHERE pt.partrelid = c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_RELATIONS}
ORDER BY n.nspname, c.relname
"""

COLUMNS_SQL = f"""{MARKER}
SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       s.avg_width, s.n_distinct::float8
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stats s
       ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
      AND s.inherited = (c.relkind = 'p')
WHERE {_USER_RELATIONS} AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

INDEXES_SQL = f"""{MARKER}
SELECT i.indexrelid, i.indrelid, ic.relname, am.amname, i.indisunique, i.indisprimary,
       i.indisvalid AND i.indisready, i.indnkeyatts,
       string_to_array(i.indkey::text, ' ')::int[],
       string_to_array(i.indoption::text, ' ')::int[],
       pg_get_expr(i.indpred, i.indrelid, true),
       con.conname, pg_relation_size(i.indexrelid), pg_get_indexdef(i.indexrelid),
       ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
             FROM generate_series(1, i.indnatts) AS k ORDER BY k),
       (SELECT p.relname FROM pg_inherits h JOIN pg_class p ON p.oid = h.inhparent
        WHERE h.inhrelid = i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
WHERE {_USER_RELATIONS}
ORDER BY i.indrelid, ic.relname
"""

SEARCH_PATH_SQL = f"{MARKER} SELECT current_schemas(false)"


VIEWS_SQL = f"""{MARKER}
SELECT n.nspname, c.relname, pg_get_viewdef(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'v'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%'
ORDER BY n.nspname, c.relname
"""


def read_schema(conn: Connection) -> Schema:
    """Every user table of the connected database with its columns and indexes."""
    tables = conn.execute(TABLES_SQL).fetchall()
    columns_by_table: dict[int, list[tuple[int, Column]]] = defaultdict(list)
    for relid, attnum, name, type_name, not_null, width, n_distinct in conn.execute(
        COLUMNS_SQL
    ).fetchall():
        column = Column(name, type_name, bool(not_null), width, n_distinct)
        columns_by_table[relid].append((attnum, column))
    names = {row[0]: TableName(row[1], row[2]) for row in tables}
    indexes_by_table: dict[int, list[Index]] = defaultdict(list)
    for row in conn.execute(INDEXES_SQL).fetchall():
        relid = row[1]
        if relid in names:
            attnames = {num: col.name for num, col in columns_by_table[relid]}
            indexes_by_table[relid].append(_index_from_row(row, names[relid], attnames))
    result = {
        names[oid]: Table(
            name=names[oid],
            columns=tuple(col for _, col in columns_by_table[oid]),
            indexes=tuple(indexes_by_table[oid]),
            row_estimate=float(reltuples),
            size_bytes=int(size or 0),
            partitioned=bool(partitioned),
            partition_of=names.get(parent) if parent is not None else None,
            partition_key=_partition_key(key, columns_by_table[oid]),
        )
        for oid, _, _, reltuples, size, partitioned, parent, key in tables
    }
    result = _with_partition_totals(result)
    path_row = conn.execute(SEARCH_PATH_SQL).fetchone()
    search_path = tuple(path_row[0]) if path_row and path_row[0] else ("public",)
    views = {
        TableName(str(schema), str(name)): str(definition)
        for schema, name, definition in conn.execute(VIEWS_SQL).fetchall()
        if definition
    }
    return Schema(tables=result, search_path=search_path, views=views)


def _index_from_row(row: tuple[Any, ...], table: TableName, attnames: dict[int, str]) -> Index:
    (
        oid,
        _relid,
        name,
        method,
        unique,
        primary,
        valid,
        key_count,
        attnums,
        options,
        predicate,
        constraint,
        size,
        definition,
        column_defs,
        parent,
    ) = row
    keys = []
    for position in range(key_count):
        attnum = attnums[position]
        option = options[position] if position < len(options) else 0
        is_expression = attnum == 0
        text = column_defs[position] if is_expression else attnames.get(attnum, "?")
        keys.append(
            KeyColumn(
                column=text,
                descending=bool(option & _INDOPTION_DESC),
                nulls_first=bool(option & _INDOPTION_NULLS_FIRST),
                is_expression=is_expression,
            )
        )
    include = tuple(attnames.get(num, "?") for num in attnums[key_count:])
    return Index(
        name=name,
        table=table,
        keys=tuple(keys),
        include=include,
        predicate=predicate,
        unique=bool(unique),
        primary=bool(primary),
        valid=bool(valid),
        constraint=constraint,
        access_method=method,
        size_bytes=int(size or 0),
        definition=definition,
        oid=int(oid),
        parent=parent,
    )


def _partition_key(attnums: list[int] | None, columns: list[tuple[int, Column]]) -> tuple[str, ...]:
    """The columns a partitioned table is partitioned by (an expression in the key, attnum
    0, is left out)."""
    names = {num: column.name for num, column in columns}
    return tuple(names[n] for n in attnums or () if n in names)


def _with_partition_totals(tables: dict[TableName, Table]) -> dict[TableName, Table]:
    """A partitioned table's rows and bytes as the sum of its partitions': it holds none
    itself, and autovacuum never analyzes it (its reltuples stays unknown until someone
    does), so that an index on it is sized and costed for the rows it will index; its
    indexes' bytes as their partitions' indexes' (a partitioned index has no storage)."""
    totals: dict[TableName, tuple[float, int]] = {}

    def total(name: TableName) -> tuple[float, int]:
        if name not in totals:
            table = tables[name]
            rows, size = table.row_estimate, table.size_bytes
            if table.partitioned:
                parts = [total(t.name) for t in tables.values() if t.partition_of == name]
                rows = max(rows, sum(r for r, _ in parts))
                size = sum(s for _, s in parts)
            totals[name] = (rows, size)
        return totals[name]

    index_sizes: dict[tuple[TableName, str], int] = {}

    def index_size(table: Table, index: Index) -> int:
        key = (table.name, index.name)
        if key not in index_sizes:
            index_sizes[key] = index.size_bytes + sum(
                index_size(part, child)
                for part in tables.values()
                if part.partition_of == table.name
                for child in part.indexes
                if child.parent == index.name
            )
        return index_sizes[key]

    return {
        name: replace(
            table,
            row_estimate=total(name)[0],
            size_bytes=total(name)[1],
            indexes=tuple(replace(i, size_bytes=index_size(table, i)) for i in table.indexes),
        )
        if table.partitioned
        else table
        for name, table in tables.items()
    }
