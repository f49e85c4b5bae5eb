"""`pg-advisor report` and the daemon's report job: gather what one database's dated report
and handoff say (from a session, the state store and the latest analysis) and write them.

The two entry points differ only in where the workload comes from: the command analyzes
what the statistics hold now; the daemon reports on the window its last analysis used.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from advisor.analyze.antipatterns import WorkloadFacts, find_antipatterns
from advisor.analyze.pools import PoolAnalysis, judge_pools
from advisor.collect.connections import sample_activity
from advisor.collect.workload import workload_from_delta
from advisor.config import Settings, antipattern_settings, pool_settings
from advisor.errors import UsageError
from advisor.export.console import human_ms
from advisor.export.drizzle import DrizzleSchema, load_drizzle_schema
from advisor.export.report import (
    CreatedIndex,
    ReportInputs,
    ReportPaths,
    StatementTrend,
    comparable,
    report_paths,
    write_report,
)
from advisor.jobs.health import check_health
from advisor.jobs.observe import Observation, observe, observe_stored
from advisor.jobs.recommend import recommend
from advisor.model import (
    Analysis,
    Finding,
    Workload,
)
from advisor.pg import Connection, pg_stat_statements_missing
from advisor.store import Store

MIB = 1024 * 1024
TREND_WINDOW = timedelta(days=1)


def report_now(
    conn: Connection, settings: Settings, store: Store, day: date, per_database: bool
) -> ReportPaths:
    """`pg-advisor report`: analyze the connected database's workload as the statistics
    hold it now, check index health, and write the report and the handoff. The store
    keeps the report's history; where the daemon has collected into it, the report also
    shows trends and what created indexes did."""
    drizzle = _drizzle(settings)  # a wrong path fails before any work
    observation = observe(conn, settings, store, transactions_log=True)
    if not observation.caps.pg_stat_statements:
        raise pg_stat_statements_missing(observation.caps)
    analysis = recommend(conn, settings, observation)
    findings = check_health(observation, settings, conn).findings
    # One sample of the connections now: without the daemon, there are no peaks to judge.
    activity = sample_activity(conn, observation.database, settings.application_name)
    pools = judge_pools(activity, (), pool_settings(settings), 0.0)
    return _write(
        settings, drizzle, analysis, findings, observation, store, day, per_database, pools=pools
    )


def report_from_state(
    conn: Connection,
    settings: Settings,
    store: Store,
    database: str,
    analysis: Analysis | None,
    findings: Sequence[Finding],
    now: datetime,
    per_database: bool,
    pools: PoolAnalysis | None = None,
) -> ReportPaths:
    """The daemon's report job: the latest analysis, findings and pool judgement, and the
    workload of the window they were made for, from the state store."""
    drizzle = _drizzle(settings)
    observation = observe_stored(conn, settings, store, database, now, transactions_log=True)
    day = now.date()
    return _write(
        settings, drizzle, analysis, findings, observation, store, day, per_database, now, pools
    )


def _write(
    settings: Settings,
    drizzle: DrizzleSchema | None,
    analysis: Analysis | None,
    findings: Sequence[Finding],
    observation: Observation,
    store: Store,
    day: date,
    per_database: bool,
    now: datetime | None = None,
    pools: PoolAnalysis | None = None,
) -> ReportPaths:
    database = observation.database
    workload = observation.workload
    facts = WorkloadFacts(
        statements=workload.statements,
        parsed=observation.parsed_statements(),
        schema=observation.schema,
        foreign_keys=observation.foreign_keys,
        tables=observation.tables,
        window_seconds=workload.window_seconds,
        tables_window_seconds=observation.tables_window_seconds,
        recommendations=analysis.recommendations if analysis is not None else (),
        transactions=observation.transactions,
        logged=observation.logged_transactions,
    )
    top, label, trend = _top_statements(settings, workload, store, now)
    known = store.last_snapshot(database) is not None
    regressions = tuple(store.regressions(database)) if known else None
    texts = {s.queryid: s.text for s in workload.statements}
    if regressions:
        texts = store.texts(database, [r.queryid for r in regressions]) | texts
    inputs = ReportInputs(
        database=database,
        day=day,
        analysis=analysis,
        findings=tuple(findings),
        top_statements=top,
        window_label=label,
        trend=trend,
        antipatterns=find_antipatterns(facts, antipattern_settings(settings)),
        texts=texts,
        created=_created(store, database) if known else None,
        schema=observation.schema,
        drizzle=drizzle,
        regression_ratio=settings.report_regression_ratio,
        regressions=regressions,
        pools=pools,
    )
    paths = report_paths(settings.out, settings.handoff_path, database, day, per_database)
    previous = store.previous_report(database, day, comparable)
    try:
        entry = write_report(inputs, paths, previous)
    except OSError as error:
        raise UsageError(
            f"cannot write the report to {paths.report.parent}: {error.strerror or error} "
            "(choose a writable --out; nothing was recorded)"
        ) from None
    store.save_report(database, day, entry)
    return paths


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
        rows.append(CreatedIndex(rec, measure))
    return tuple(sorted(rows, key=lambda r: r.name))
