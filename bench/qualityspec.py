"""What a quality-benchmark workload is: a schema with its data, and the statements an
application runs against it, each with its parameter values and how often it runs.

The quality benchmark (bench/quality.py) loads `setup_sql` once into a template database,
runs every statement `weight` times (cycling through `params`, bound server-side so that
pg_stat_statements sees `$1`), asks the advisor and the baselines for indexes, then builds
each chosen set for real on a fresh copy of the template and times the statements again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QualityStatement:
    """One statement shape: psycopg `%s` placeholders, bound server-side like an ORM does."""

    name: str
    sql: str
    # The values of distinct calls; at least one. The harness cycles through them.
    params: tuple[tuple[Any, ...], ...]
    # Calls per workload round: how often the application runs it relative to the others.
    weight: int


@dataclass(frozen=True)
class HandIndex:
    """One index of the DBA baseline: what an experienced DBA writes by hand from the schema
    and the statements, before seeing any advisor's output, with why."""

    table: str
    # Key columns in order, ascending (a backward scan gives DESC); an expression key in
    # parentheses, as CREATE INDEX takes it: `("payload" ->> 'ip')`.
    columns: tuple[str, ...]
    reason: str
    where: str | None = None  # a partial index's predicate, SQL as CREATE INDEX takes it


@dataclass(frozen=True)
class QualityWorkload:
    """A deterministic workload: the same arguments give the same data and statements."""

    name: str
    description: str
    # Executed in order in autocommit mode on an empty database: tables with their primary
    # keys (and foreign keys), the data, then ANALYZE.
    setup_sql: tuple[str, ...]
    statements: tuple[QualityStatement, ...]
    # The DBA baseline (bench/quality.py's `dba` set); empty for a workload without one.
    dba_indexes: tuple[HandIndex, ...] = ()
