"""Reading the foreign keys of one database."""

from __future__ import annotations

from advisor.model import ForeignKey, TableName
from advisor.pg import MARKER, Connection

# Column names in constraint order; a constraint a partition inherits from its partitioned
# table (conparentid) is reported once, on the partitioned table.
FOREIGN_KEYS_SQL = f"""{MARKER}
SELECT con.conname, n.nspname, c.relname, rn.nspname, rc.relname,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.position),
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.position)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class rc ON rc.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY n.nspname, c.relname, con.conname
"""


def read_foreign_keys(conn: Connection) -> tuple[ForeignKey, ...]:
    """Every foreign key of the connected database's user tables, by table and name."""
    return tuple(
        ForeignKey(
            name=str(name),
            table=TableName(str(schema), str(table)),
            columns=tuple(str(c) for c in columns),
            referenced_table=TableName(str(ref_schema), str(ref_table)),
            referenced_columns=tuple(str(c) for c in ref_columns),
        )
        for name, schema, table, ref_schema, ref_table, columns, ref_columns in conn.execute(
            FOREIGN_KEYS_SQL
        ).fetchall()
    )
