"""`pg-advisor health` and the daemon's health findings: the index health of one database.

Without the daemon's state the only usage window is the statistics' own: the counters of
pg_stat_user_indexes since their last reset (or, when no reset is on record, since the
server started). With a state directory, each index's first observation by the daemon
bounds the window, so a new index is never called unused for scans it could not have had.

Index statistics are per server: the scans of every configured replica are added to the
primary's, and the window is the time all of them were counting (or watched). A replica
that cannot be read turns what would be unused into unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from advisor.analyze.drops import DROPPABLE, HIDE_MISSING, DropEvidence, judge_drops
from advisor.analyze.health import find_problems
from advisor.collect.deltas import with_replica_scans
from advisor.config import Settings, health_settings
from advisor.history import (
    Delta,
    ReplicaUsage,
)
from advisor.jobs.observe import IndexKey, Observation
from advisor.model import (
    Finding,
    HealthReport,
    PlanUse,
    ReplicaState,
    Schema,
    TableName,
)
from advisor.pg import Connection
from advisor.whatif import CurrentPlan, DropPlanner, PlanningError

SECONDS_PER_DAY = 86_400.0


def check_health(
    observation: Observation, settings: Settings, conn: Connection | None = None
) -> HealthReport:
    """Unused, duplicate, redundant and invalid indexes of the observed database, the
    index scans summed over the primary and its replicas. With `conn`, each drop is
    simulated first (see analyze/drops.py): what a workload statement's plan needs is not
    proposed."""
    # A replica down now still has the scans the daemon stored before: they count, but
    # whatever it served since is unknown.
    read = [r.usage for r in observation.replicas if r.usage is not None]
    unreachable = [
        _why_missing(r) for r in observation.replicas if r.usage is None or r.error is not None
    ]
    usage = observation.usage
    if usage is not None and observation.replicas:
        usage = with_replica_scans(usage, read)
    counting_since = _counting_since(usage, read)
    observed = _observed_since(usage, observation.first_seen, counting_since)
    now = usage.ended_at if usage is not None else observation.workload.collected_at
    findings = find_problems(
        observation.schema,
        usage,
        observed,
        now,
        health_settings(settings),
        foreign_keys=observation.foreign_keys,
        replicas=[r.replica for r in observation.replicas if r.usage is not None],
        unreachable=unreachable,
    )
    simulation = None
    if conn is not None:
        findings, simulation = simulate_drops(conn, observation, settings, findings)
    caveat = None
    if usage is not None and counting_since is not None and not observation.first_seen:
        caveat = _coverage(counting_since, now, bool(read), settings.unused_min_days)
    return HealthReport(
        database=observation.database,
        findings=findings,
        observed_seconds=(
            max((now - counting_since).total_seconds(), 0.0) if counting_since is not None else 0.0
        ),
        write_rates=tuple(sorted(observation.write_rates.values(), key=lambda r: r.table)),
        caveat=caveat,
        simulation=simulation,
        replicas=tuple(
            ReplicaState(r.replica, r.usage.started_at if r.usage else None, r.error)
            for r in observation.replicas
        ),
    )


def simulate_drops(
    conn: Connection, observation: Observation, settings: Settings, findings: tuple[Finding, ...]
) -> tuple[tuple[Finding, ...], str | None]:
    """The findings with the plans of the workload's statements on each dropped index's
    table: those that use it, and their cost without it where HypoPG can hide it; and how
    the drops were simulated (None when no finding drops anything)."""
    targets = [f for f in findings if f.kind in DROPPABLE and f.fix_sql]
    if not targets:
        return findings, None
    if not observation.caps.pg_stat_statements:
        return findings, (
            "not simulated: without pg_stat_statements there is no workload to plan, so no "
            "plan was checked for the indexes these drops remove"
        )
    schema = observation.schema
    statements = observation.parsed_statements()
    calls = {s.queryid: s.calls for s in observation.workload.statements}
    plans: dict[int, CurrentPlan | None] = {}
    evidence: dict[tuple[TableName, str], DropEvidence] = {}
    planner = DropPlanner(conn, observation.caps, settings.explain_timeout_ms)
    try:

        def current(queryid: int) -> CurrentPlan | None:
            if queryid not in plans:
                try:
                    plans[queryid] = planner.plan(statements[queryid])
                except PlanningError:
                    plans[queryid] = None
            return plans[queryid]

        for finding in targets:
            names, oids, tables = _index_family(schema, finding.table, finding.index)
            planned, uses = 0, []
            for queryid, statement in statements.items():
                if not statement.tables & tables or (plan := current(queryid)) is None:
                    continue
                planned += 1
                used = names & plan.indexes
                if not used:
                    continue
                without = None
                if planner.can_hide and oids:
                    try:
                        without = planner.plan(statement, oids).cost
                    except PlanningError:
                        without = None
                index_cost = sum(plan.index_costs[n] for n in used)
                uses.append(PlanUse(queryid, calls.get(queryid, 0), plan.cost, index_cost, without))
            measured = all(u.cost_without is not None for u in uses)
            hidden = bool(oids) and planner.can_hide and measured
            evidence[(finding.table, finding.index)] = DropEvidence(planned, tuple(uses), hidden)
    finally:
        planner.close()
    note = (
        "each drop was planned with the index hidden (HypoPG's hypopg_hide_index, this "
        "session only)"
        if planner.can_hide
        else HIDE_MISSING
    )
    return judge_drops(findings, evidence, schema, settings.drop_max_slowdown), note


def _index_family(
    schema: Schema, table: TableName, index: str
) -> tuple[frozenset[str], tuple[int, ...], frozenset[TableName]]:
    """An index as plans name it: its name and those of the partitions' indexes attached
    to it (at every level), their oids, and the tables they are on."""
    names, oids, tables = {index}, [], {table}
    found = schema.tables.get(table)
    own = next((i for i in found.indexes if i.name == index), None) if found else None
    if own is not None and own.oid:
        oids.append(own.oid)
    for part in schema.partitions(table):
        for child in schema.tables[part.table].indexes if part.table in schema.tables else ():
            if child.parent in names:
                names.add(child.name)
                tables.add(part.table)
                if child.oid:
                    oids.append(child.oid)
    return frozenset(names), tuple(oids), frozenset(tables)


def _why_missing(replica: ReplicaUsage) -> str:
    if replica.error is not None:
        return f"replica {replica.replica} unreachable ({replica.error})"
    return f"replica {replica.replica} not read yet"


def _counting_since(usage: Delta | None, replicas: Sequence[Delta]) -> datetime | None:
    """Since when every server's counters count: the latest start of their windows."""
    if usage is None:
        return None
    return max([usage.started_at, *(r.started_at for r in replicas)])


def _coverage(since: datetime, now: datetime, replicas: bool, min_days: float) -> str:
    """What a one-shot health check's counters cover, and what that means for unused."""
    days = max((now - since).total_seconds(), 0.0) / SECONDS_PER_DAY
    servers = " on the primary and every replica read" if replicas else ""
    verdict = (
        f"shorter than unused_min_days ({min_days:g}): no index is called unused"
        if days < min_days
        else f"at least unused_min_days ({min_days:g})"
    )
    return (
        f"usage counted since {since:%Y-%m-%d %H:%M} UTC{servers} (the last statistics "
        f"reset, or the server's start): {days:.1f} days, {verdict}; an index created after "
        "that may look unused only because it is new; `pg-advisor run` records when it "
        "first saw each index"
    )


def _observed_since(
    usage: Delta | None, first_seen: Mapping[IndexKey, datetime], counting_since: datetime | None
) -> dict[IndexKey, datetime]:
    """Since when each index has been watched: its first sighting by the daemon, never
    before every server's usage window starts."""
    if usage is None or counting_since is None:
        return dict(first_seen)
    return {
        (i.table, i.index): max(first_seen.get((i.table, i.index), counting_since), counting_since)
        for i in usage.indexes
    }
