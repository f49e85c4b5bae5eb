"""`pg-advisor report` and the daemon's report job: gather what one database's dated report
and handoff say (from a session, the state store and the latest analysis) and write them.

The two entry points differ only in where the workload comes from: the command analyses
what the statistics hold now; the daemon reports on the window its last analysis used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg

from advisor.advise import analyse
from advisor.analyze.antipatterns import AntipatternSettings, WorkloadFacts, find_antipatterns
from advisor.analyze.parse import parse_statement
from advisor.collect.constraints import read_foreign_keys
from advisor.collect.schema import read_schema
from advisor.collect.snapshot import read_usage
from advisor.collect.workload import read_workload, workload_from_delta
from advisor.config import Settings
from advisor.export.console import human_ms
from advisor.export.drizzle import DrizzleSchema, load_drizzle_schema
from advisor.export.report import (
    CreatedIndex,
    ReportInputs,
    ReportPaths,
    StatementTrend,
    report_paths,
    write_report,
)
from advisor.health import check_health
from advisor.model import (
    Analysis,
    Finding,
    ParsedStatement,
    Schema,
    TableCounters,
    Workload,
)
from advisor.pg import Connection, capabilities, require_pg_stat_statements, translate
from advisor.store import Store

MIB = 1024 * 1024
TREND_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Observed:
    """The workload and the tables' counters a report describes, with their windows."""

    workload: Workload
    tables: tuple[TableCounters, ...]
    tables_window_seconds: float


def antipattern_settings(settings: Settings) -> AntipatternSettings:
    return AntipatternSettings(
        n_plus_one_min_ratio=settings.n_plus_one_min_ratio,
        n_plus_one_min_calls=settings.n_plus_one_min_calls,
        frequent_min_calls_per_day=settings.frequent_min_calls_per_day,
        wide_table_min_columns=settings.wide_table_min_columns,
        large_column_min_bytes=settings.large_column_min_bytes,
        seq_scan_min_table_bytes=int(settings.seq_scan_min_table_mb * MIB),
        seq_scan_min_per_day=settings.seq_scan_min_per_day,
    )


def report_now(
    conn: Connection, settings: Settings, store: Store | None, day: date, per_database: bool
) -> ReportPaths:
    """`pg-advisor report`: analyse the connected database's workload as the statistics
    hold it now, check index health, and write the report and the handoff."""
    drizzle = _drizzle(settings)  # a wrong path fails before any work
    caps = capabilities(conn)
    require_pg_stat_statements(conn, caps)
    try:
        workload = read_workload(conn, caps.database, settings.min_calls, settings.max_statements)
        usage = read_usage(conn, caps.database)
    except psycopg.Error as error:
        raise translate(error, "reading the workload for the report") from None
    analysis = analyse(conn, settings, workload)
    findings = check_health(conn, settings, store).findings
    observed = Observed(workload, usage.tables, usage.seconds)
    return _write(conn, settings, drizzle, analysis, findings, observed, store, day, per_database)


def report_from_state(
    conn: Connection,
    settings: Settings,
    store: Store,
    database: str,
    analysis: Analysis | None,
    findings: Sequence[Finding],
    now: datetime,
    per_database: bool,
) -> ReportPaths:
    """The daemon's report job: the latest analysis and findings, and the workload of the
    window they were made for, from the state store."""
    drizzle = _drizzle(settings)
    since = now - timedelta(hours=settings.analysis_window_hours)
    window = store.window(database, since)
    if window is None:
        workload = Workload(database, (), 1.0, now)
        observed = Observed(workload, (), 1.0)
    else:
        texts = store.texts(database, [s.queryid for s in window.statements])
        workload = workload_from_delta(window, texts, settings.min_calls, settings.max_statements)
        observed = Observed(workload, window.tables, window.seconds)
    day = now.date()
    return _write(
        conn, settings, drizzle, analysis, findings, observed, store, day, per_database, now
    )


def _write(
    conn: Connection,
    settings: Settings,
    drizzle: DrizzleSchema | None,
    analysis: Analysis | None,
    findings: Sequence[Finding],
    observed: Observed,
    store: Store | None,
    day: date,
    per_database: bool,
    now: datetime | None = None,
) -> ReportPaths:
    database = observed.workload.database
    try:
        schema = read_schema(conn)
        foreign_keys = read_foreign_keys(conn)
    except psycopg.Error as error:
        raise translate(error, "reading the schema for the report") from None
    parsed = _parsed(observed.workload, schema)
    facts = WorkloadFacts(
        statements=observed.workload.statements,
        parsed=parsed,
        schema=schema,
        foreign_keys=foreign_keys,
        tables=observed.tables,
        window_seconds=observed.workload.window_seconds,
        tables_window_seconds=observed.tables_window_seconds,
        recommendations=analysis.recommendations if analysis is not None else (),
    )
    top, label, trend = _top_statements(settings, observed.workload, store, now)
    inputs = ReportInputs(
        database=database,
        day=day,
        analysis=analysis,
        findings=tuple(findings),
        top_statements=top,
        window_label=label,
        trend=trend,
        antipatterns=find_antipatterns(facts, antipattern_settings(settings)),
        texts={s.queryid: s.text for s in observed.workload.statements},
        created=_created(store, database) if store is not None else None,
        schema=schema,
        drizzle=drizzle,
        regression_ratio=settings.report_regression_ratio,
    )
    paths = report_paths(settings.out, settings.handoff_path, database, day, per_database)
    return write_report(inputs, paths)


def _parsed(workload: Workload, schema: Schema) -> dict[int, ParsedStatement]:
    parsed = {}
    for statement in workload.statements:
        result = parse_statement(statement.queryid, statement.text, schema)
        if isinstance(result, ParsedStatement):
            parsed[statement.queryid] = result
    return parsed


def _drizzle(settings: Settings) -> DrizzleSchema | None:
    if settings.drizzle_schema is None:
        return None
    return load_drizzle_schema(settings.drizzle_schema, settings.drizzle_casing)


def _top_statements(
    settings: Settings, workload: Workload, store: Store | None, now: datetime | None
) -> tuple[tuple[StatementTrend, ...], str, bool]:
    """The busiest statements with their trend (last day against the day before) when
    the store has the last day, else the workload's own figures without a trend."""
    limit = settings.report_top_statements
    if store is not None:
        end = now or workload.collected_at
        last = store.window(workload.database, end - TREND_WINDOW, end)
        if last is not None and last.statements:
            previous = store.window(workload.database, end - 2 * TREND_WINDOW, end - TREND_WINDOW)
            texts = store.texts(workload.database, [s.queryid for s in last.statements])
            recent = workload_from_delta(last, texts, 1, limit)
            before = {s.queryid: s.total_ms for s in previous.statements} if previous else {}
            top = tuple(
                StatementTrend(s.queryid, s.text, s.calls, s.total_ms, before.get(s.queryid))
                for s in recent.statements
            )
            return top, "Over the last 24 hours; the trend compares with the 24 hours before.", True
    top = tuple(
        StatementTrend(s.queryid, s.text, s.calls, s.total_ms)
        for s in sorted(workload.statements, key=lambda s: (-s.total_ms, s.queryid))[:limit]
    )
    label = f"Over the observed window ({human_ms(workload.window_seconds * 1000)})."
    return top, label, False


def _created(store: Store, database: str) -> tuple[CreatedIndex, ...]:
    """Created recommendations with a measure of what they did, by name."""
    created = {r.name: r for r in store.recommendations(database, "created")}
    rows = []
    for measure in store.realized(database):
        rec = created.get(measure.name)
        if rec is None:
            continue
        rows.append(
            CreatedIndex(
                name=measure.name,
                table=rec.table,
                created_on=rec.created_at.date() if rec.created_at else None,
                before_mean_ms=measure.before_mean_ms,
                after_mean_ms=measure.after_mean_ms,
                statements=measure.statements,
            )
        )
    return tuple(sorted(rows, key=lambda r: r.name))
