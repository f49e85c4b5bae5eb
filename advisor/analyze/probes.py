"""Value probes: the statements whose best index depends on a value that no source showed.

A normalized statement binds every value as `$n`. Where the index a statement needs is
written with the value itself, nothing can be recommended until the value is known: an
expression index on `payload ->> 'ip'` needs the key, a partial index `WHERE status =
'pending'` the status, an index on `date_trunc('day', created_at)` the unit. For each such
statement this says what is unknown, the time at stake, and the cheapest way to learn it;
the advice uses the values as soon as a source has them.

Pure: no database access.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from advisor.model import (
    Operator,
    ParsedStatement,
    Schema,
    Statement,
    ValueProbe,
)

SECONDS_PER_DAY = 86_400.0
# A column with at most this many distinct values (pg_stats) is status-like: a partial
# index on one of its values is what a DBA writes for a statement that asks for a rare one.
STATUS_MAX_DISTINCT = 20
MAX_PROBES = 10

# How to sample parameters in the server log (PostgreSQL 13+): a small share of the
# statements, each with its parameters in a DETAIL line the advisor reads from the log
# directory; no restart needed.
LOG_SAMPLE = (
    "sample the parameters in the server log: ALTER SYSTEM SET log_min_duration_sample = 0; "
    "ALTER SYSTEM SET log_statement_sample_rate = 0.01; ALTER SYSTEM SET "
    "log_parameter_max_length = 1024; SELECT pg_reload_conf(); then set parameter_log_dir to "
    "the server's log directory (stderr logs)"
)
QUALSTATS = (
    "or install pg_qualstats with pg_qualstats.track_constants = on and "
    "pg_qualstats.sample_rate = 0.01 (it records the constants of column quals, not of "
    "expressions)"
)

# (queryid, parameter number) -> whether a source showed the values it takes.
Known = Callable[[int, int], bool]


def value_probes(
    parsed: Iterable[ParsedStatement],
    statements: Mapping[int, Statement],
    schema: Schema,
    known: Known,
    window_seconds: float,
) -> tuple[ValueProbe, ...]:
    """The statements that need a value to be served, busiest first (at most MAX_PROBES)."""
    per_day = SECONDS_PER_DAY / max(window_seconds, 1.0)
    probes = []
    for statement in parsed:
        counters = statements.get(statement.queryid)
        if counters is None:
            continue
        found = _unknown(statement, schema, known)
        if found is None:
            continue
        unknown, needs, how = found
        probes.append(
            ValueProbe(
                queryid=statement.queryid,
                query=counters.text,
                ms_per_day=counters.total_ms * per_day,
                unknown=unknown,
                index_needs=needs,
                how_to_learn=how,
            )
        )
    probes.sort(key=lambda p: (-p.ms_per_day, p.queryid))
    return tuple(probes[:MAX_PROBES])


def _unknown(
    statement: ParsedStatement, schema: Schema, known: Known
) -> tuple[str, str, str] | None:
    """(what is unknown, what the index needs, how to learn it) for the statement's first
    value that decides its index and that no source showed, or None."""
    for access in statement.accesses:
        for use in access.expressions:
            hidden = [n for n in use.parameters if not known(statement.queryid, n)]
            if hidden and use.role in ("filter", "group", "order"):
                numbers = ", ".join(f"${n}" for n in hidden)
                return (
                    f"{numbers} in {use.expression} on {access.table}",
                    f"an index on the expression written with the value of {numbers}",
                    LOG_SAMPLE,
                )
    for param in statement.parameters:
        if param.operator is not Operator.EQUALITY or known(statement.queryid, param.number):
            continue
        table = schema.tables.get(param.table)
        column = table.column(param.column) if table is not None else None
        distinct = column.n_distinct if column is not None else None
        if distinct is not None and 0 < distinct <= STATUS_MAX_DISTINCT:
            return (
                f"${param.number} compared with {param.column} of {param.table} "
                f"({distinct:,.0f} distinct values)",
                f"a partial index WHERE {param.column} = <the value most calls ask for>",
                f"{LOG_SAMPLE}; {QUALSTATS}",
            )
    return None
