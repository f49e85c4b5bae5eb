"""Reading a small sample of a table to learn an expression's selectivity (see
advisor/analyze/selectivity.py: a hypothetical index on an expression has no statistics),
and the keys of a JSON column whose key the statements bind as a parameter.

The one place the advisor reads table rows: `TABLESAMPLE SYSTEM` over about
`sample_expression_rows` rows (a few hundred pages), in the read-only session with its
statement_timeout, and only for expressions of the operators and functions in
selectivity.SAFE_OPERATORS / SAFE_FUNCTIONS. A role without SELECT on the table, a timeout
or any other error gives no measurement and one note; the planner's default stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import structlog

from advisor.analyze.selectivity import distinct_estimate
from advisor.analyze.sizes import ExpressionStats
from advisor.model import JsonKey, JsonKeys, Table, quote_ident
from advisor.pg import MARKER, Connection, first_line

log = structlog.get_logger(__name__)

# The sample's seed: the same table gives the same sample, analysis after analysis.
SEED = 20_261_203


@dataclass(frozen=True)
class ExpressionSample:
    """An expression over a sample of its table's rows: the rows sampled, those where it
    is not null, its distinct values and those seen once, its values' mean width
    (pg_column_size) and its type; `distinct` estimates the whole table's."""

    rows: int
    non_null: int
    sampled_distinct: int
    singletons: int
    width: float
    type_name: str
    distinct: float

    @property
    def selectivity(self) -> float | None:
        """The share of the table's rows an `expression = value` holds for a value the
        table has (not a common one): null share over distinct values, as the planner
        reckons a column's."""
        if self.rows <= 0 or self.non_null <= 0 or self.distinct <= 0:
            return None
        return (self.non_null / self.rows) / self.distinct

    def stats(self) -> ExpressionStats:
        """What the size model needs of it."""
        return ExpressionStats.of_type(self.width, self.distinct, self.type_name)


def sample_expression(
    conn: Connection, table: Table, expression: str, sample_rows: int
) -> ExpressionSample | None:
    """The expression measured on a sample of about `sample_rows` rows; None when it could
    not be (no rows to sample, no SELECT on the table, a timeout, nothing not null)."""
    rows_read = _read_sample(
        conn,
        table,
        f"({expression})",
        sample_rows,
        "c AS (SELECT count(*) AS n, avg(pg_column_size(v)) AS w FROM s "
        "WHERE v IS NOT NULL GROUP BY v) "
        "SELECT (SELECT count(*) FROM s), coalesce(sum(n), 0), count(*), "
        "count(*) FILTER (WHERE n = 1), coalesce(sum(n * w) / nullif(sum(n), 0), 0), "
        "(SELECT pg_typeof(v)::text FROM s LIMIT 1) FROM c",
        expression=expression,
    )
    if not rows_read:
        return None
    row = rows_read[0]
    rows, non_null, distinct, singletons = (int(v or 0) for v in row[:4])
    if rows <= 0 or non_null <= 0:
        return None
    estimate = distinct_estimate(non_null, distinct, singletons, table.row_estimate)
    return ExpressionSample(
        rows, non_null, distinct, singletons, float(row[4] or 0), str(row[5] or ""), estimate
    )


def _read_sample(
    conn: Connection, table: Table, value: str, sample_rows: int, rest: str, **what: str
) -> list[tuple[Any, ...]] | None:
    """The rows of `WITH s AS (SELECT <value> AS v FROM <table> TABLESAMPLE ...), <rest>`,
    over about `sample_rows` rows of the table (the same ones, analysis after analysis);
    None when there is nothing to sample or the server refused (logged with `what`)."""
    if sample_rows <= 0 or table.row_estimate <= 0:
        return None
    percent = min(100.0, 100.0 * sample_rows / table.row_estimate)
    query = (
        f"{MARKER} WITH s AS (SELECT {value} AS v FROM {table.name} "
        f"TABLESAMPLE SYSTEM ({percent:.6f}) REPEATABLE ({SEED})), {rest}"
    )
    try:
        return conn.execute(query).fetchall()
    except psycopg.Error as error:
        log.info("analyze.sample_refused", table=str(table.name), reason=first_line(error), **what)
        return None


def expression_selectivity(
    conn: Connection, table: Table, expression: str, sample_rows: int
) -> float | None:
    """The share of the table's rows an `expression = value` holds for a value the table
    has (not a common one). None when it could not be measured."""
    sample = sample_expression(conn, table, expression, sample_rows)
    return sample.selectivity if sample is not None else None


# The keys of a JSON column kept from a sample, the most held first.
MAX_JSON_KEYS = 20


def json_keys(
    conn: Connection, table: Table, column: str, type_name: str, sample_rows: int
) -> JsonKeys | None:
    """The top-level keys of a json or jsonb column's objects on a sample of about
    `sample_rows` rows (`TABLESAMPLE SYSTEM ... REPEATABLE`, as for an expression's
    selectivity): how many sampled rows hold each key and its distinct values there. None
    when it could not be read (no SELECT on the table, a timeout) or nothing was sampled."""
    if type_name not in ("json", "jsonb"):
        return None
    rows = _read_sample(
        conn,
        table,
        quote_ident(column),
        sample_rows,
        f"k AS (SELECT e.key, e.value FROM s, LATERAL {type_name}_each_text("
        f"CASE WHEN {type_name}_typeof(s.v) = 'object' THEN s.v END) e) "
        "SELECT (SELECT count(*) FROM s), key, count(*), count(DISTINCT value) FROM k "
        f"GROUP BY key ORDER BY count(*) DESC, key LIMIT {MAX_JSON_KEYS}",
        column=column,
    )
    if not rows or not rows[0][0]:
        return None
    sampled = int(rows[0][0])
    keys = tuple(
        JsonKey(str(key), int(held) / sampled, int(distinct)) for _, key, held, distinct in rows
    )
    return JsonKeys(table.name, column, sampled, keys)
