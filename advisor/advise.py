"""One analysis of one database: workload -> statements -> candidates -> chosen indexes.

This module wires the stages together; each stage lives in its own module and the
algorithm in `analyze/` never sees a connection.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import psycopg
import structlog

from advisor.analyze.candidates import CandidateSettings, Extensions, generate_candidates
from advisor.analyze.health import HealthSettings
from advisor.analyze.parse import parse_statement
from advisor.analyze.select import SelectionSettings, Target, select_indexes
from advisor.analyze.writecost import WriteCostModel, WriteCostSettings, written_columns
from advisor.collect.activity import read_write_rates
from advisor.collect.schema import read_schema
from advisor.collect.workload import read_workload
from advisor.config import Settings
from advisor.errors import PermissionDenied
from advisor.model import (
    Analysis,
    IndexDesign,
    ParsedStatement,
    Recommendation,
    Schema,
    Skipped,
    TableName,
    TableWriteRate,
    Workload,
)
from advisor.pg import (
    Connection,
    capabilities,
    require_hypopg,
    require_pg_stat_statements,
    translate,
)
from advisor.whatif import PlanningError, WhatIf

log = structlog.get_logger(__name__)
MIB = 1024 * 1024


@dataclass(frozen=True)
class Prepared:
    """The statements that can be planned, and those skipped with their reasons."""

    targets: tuple[Target, ...]
    parsed: tuple[ParsedStatement, ...]
    skipped: tuple[Skipped, ...]


def analyse(
    conn: Connection,
    settings: Settings,
    workload: Workload | None = None,
    write_rates: Mapping[TableName, TableWriteRate] | None = None,
) -> Analysis:
    """Recommend indexes for the connected database: for the given workload and write
    rates (the daemon's window), or for what the statistics hold now."""
    started = time.monotonic()
    caps = capabilities(conn)
    require_pg_stat_statements(conn, caps)
    require_hypopg(conn, caps)
    try:
        if workload is None:
            workload = read_workload(
                conn, caps.database, settings.min_calls, settings.max_statements
            )
        _require_visible_statements(workload, caps.role)
        schema = read_schema(conn)
        if write_rates is None:
            write_rates = read_write_rates(conn)
    except psycopg.Error as error:
        raise translate(error, "reading the workload and schema") from None
    whatif = WhatIf(conn, caps, settings.explain_timeout_ms)
    try:
        prepared = prepare(workload, schema, whatif)
        space = search_space(settings, schema, prepared, write_rates)
        candidates = space.candidates
        budget = budget_bytes(settings, schema, prepared.parsed)
        recommendations = select_indexes(
            prepared.targets,
            candidates,
            whatif,
            selection_settings(settings, budget),
            workload.window_seconds,
            space.writes.ms_per_day,
            space.extensions,
        )
        recommendations = tuple(
            _with_warnings(r, space.writes, write_rates) for r in recommendations
        )
    except psycopg.Error as error:
        raise translate(error, "planning with hypothetical indexes") from None
    finally:
        whatif.close()
    elapsed = time.monotonic() - started
    log.info(
        "analyse.done",
        database=caps.database,
        statements=len(workload.statements),
        planned=len(prepared.targets),
        skipped=len(prepared.skipped),
        candidates=len(candidates),
        recommendations=len(recommendations),
        explains=whatif.explains,
        cache_hits=whatif.cache_hits,
        seconds=round(elapsed, 3),
    )
    return Analysis(
        database=caps.database,
        recommendations=recommendations,
        skipped=prepared.skipped,
        statements_total=len(workload.statements),
        statements_analysed=len(prepared.targets),
        window_seconds=workload.window_seconds,
        budget_bytes=budget,
        whatif_explains=whatif.explains,
        whatif_cache_hits=whatif.cache_hits,
        elapsed_seconds=elapsed,
        workload_ms_per_day=_per_day(workload),
    )


def prepare(workload: Workload, schema: Schema, whatif: WhatIf) -> Prepared:
    """Parse every statement and plan it once; what fails is skipped with its reason."""
    targets: list[Target] = []
    parsed_ok: list[ParsedStatement] = []
    skipped: list[Skipped] = []
    for statement in workload.statements:
        parsed = parse_statement(statement.queryid, statement.text, schema)
        if isinstance(parsed, Skipped):
            skipped.append(parsed)
            continue
        try:
            whatif.register(parsed)
        except PlanningError as error:
            skipped.append(Skipped(statement.queryid, str(error), statement.text))
            continue
        targets.append(Target(statement, parsed.tables))
        parsed_ok.append(parsed)
    for reason in {s.reason for s in skipped}:
        log.debug("analyse.skipped", reason=reason, count=sum(s.reason == reason for s in skipped))
    return Prepared(tuple(targets), tuple(parsed_ok), tuple(skipped))


@dataclass(frozen=True)
class SearchSpace:
    """What the selection searches: the candidates (each with the statements it may help),
    the designs grown from chosen ones, and what every design costs the writes."""

    candidates: dict[IndexDesign, frozenset[int]]
    extensions: Extensions
    writes: WriteCostModel


def search_space(
    settings: Settings,
    schema: Schema,
    prepared: Prepared,
    rates: Mapping[TableName, TableWriteRate],
) -> SearchSpace:
    candidate_settings = CandidateSettings(settings.max_key_columns, settings.max_include_columns)
    return SearchSpace(
        generate_candidates(prepared.parsed, schema, candidate_settings),
        Extensions(prepared.parsed, schema, candidate_settings),
        write_cost_model(settings, schema, prepared.parsed, rates),
    )


def selection_settings(settings: Settings, budget: int) -> SelectionSettings:
    return SelectionSettings(
        budget_bytes=budget,
        min_cost_reduction=settings.min_cost_reduction,
        min_saved_ms_per_day=settings.min_saved_ms_per_day,
        max_indexes=settings.max_recommendations,
    )


def write_cost_model(
    settings: Settings,
    schema: Schema,
    parsed: tuple[ParsedStatement, ...],
    rates: Mapping[TableName, TableWriteRate],
) -> WriteCostModel:
    """What new indexes cost the writes, from the tables' rates and the workload's UPDATEs."""
    index_counts = {name: len(table.indexes) for name, table in schema.tables.items()}
    return WriteCostModel(
        rates,
        index_counts,
        written_columns(parsed),
        WriteCostSettings(settings.index_write_ms_per_row, settings.index_width_factor),
    )


def _with_warnings(
    rec: Recommendation, writes: WriteCostModel, rates: Mapping[TableName, TableWriteRate]
) -> Recommendation:
    cost = writes.cost(rec.design)
    rate = rates.get(rec.design.table)
    if not cost.ends_hot_updates or rate is None or rate.hot_updates_per_day <= 0:
        return rec
    columns = ", ".join(cost.ends_hot_updates)
    warning = (
        f"ends HOT updates on {rec.design.table}: UPDATE statements set {columns}, and about "
        f"{rate.hot_updates_per_day:,.0f} HOT updates a day would then maintain every index "
        "(counted in the write cost)"
    )
    return replace(rec, warnings=(*rec.warnings, warning))


def _require_visible_statements(workload: Workload, role: str) -> None:
    hidden = sum(n for reason, n in workload.excluded.items() if "insufficient privilege" in reason)
    if hidden and not workload.statements:
        raise PermissionDenied(
            f"role {role} sees none of the {hidden} statements' texts in pg_stat_statements: "
            f"GRANT pg_read_all_stats TO {role};"
        )


def health_settings(settings: Settings) -> HealthSettings:
    return HealthSettings(
        unused_min_observed_days=settings.unused_min_observed_days,
        unused_min_size_bytes=int(settings.unused_min_size_mb * MIB),
    )


def budget_bytes(settings: Settings, schema: Schema, parsed: tuple[ParsedStatement, ...]) -> int:
    """The configured budget, or half the size of the tables the workload reads (at least
    min_budget_mb): new indexes should not outgrow the data they index."""
    if settings.budget_bytes_override is not None:
        return settings.budget_bytes_override
    tables = {name for statement in parsed for name in statement.tables}
    data = sum(schema.tables[name].size_bytes for name in tables if name in schema.tables)
    return max(int(settings.min_budget_mb * MIB), data // 2)


def _per_day(workload: Workload) -> float:
    total = sum(s.total_ms for s in workload.statements)
    return total * 86_400.0 / max(workload.window_seconds, 1.0)
