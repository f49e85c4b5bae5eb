"""The quality benchmark: the advisor's indexes against the baselines and the optimum, first
by the planner's estimate, then built for real and timed.

For each workload (bench/tpch.py, bench/oltp.py) on one throwaway cluster:

1. Load the schema and data into a template database; `data size` is the tables' size
   without indexes, and the storage budgets are fractions of it.
2. On a copy: run every statement once (warm-up), then one round of the workload (each
   statement `weight` times). No statistics are reset, as on a user's server: what
   pg_stat_statements holds then, the warm-up included, is the workload the advisors see.
3. Analyze the workload with `pg-advisor recommend`'s own planning (`planning` in
   advisor/jobs/recommend.py), then for every budget ask the advisor (`choose_indexes`,
   what `recommend` runs with that budget) and each baseline (bench/baselines.py) for a
   set, and score every set with the same estimate: every statement planned with the whole
   set (HypoPG), on the planner the advisor planned with.
4. For the budgets chosen for real runs, build each distinct set on a fresh copy (plain
   CREATE INDEX), and the empty set on one more; warm them all up, then time `repeats`
   rounds interleaved across the copies; per statement the median counts (this 2-core
   machine is shared: one slow moment must not decide a comparison).
5. The DBA baseline (strategy `dba`): the index set the workload module commits as an
   experienced DBA writes it by hand (`QualityWorkload.dba_indexes`, each with its
   reason). It is not chosen within a budget: it is what it is, estimated and built like
   the others and timed in the same interleaved rounds; the advisor's residual real time
   at each real budget is reported as a ratio of the DBA set's, and the advisor is also
   asked at exactly the DBA set's estimated size (budget `dba`: at no more bytes).
6. The advisor as shipped (strategies `shipped` and `values`): `pg-advisor recommend`
   itself with the product's default settings, value-aware costing on, at each real
   budget. `shipped` has what a server with pg_stat_statements alone gives (pg_stats'
   most common values among them); `values` also reads the server log, which holds the
   parameters of every call of the workload round (log_min_duration_statement = 0 on the
   copy the advisors see, and only while that round runs). Their sets are chosen with
   custom plans; the estimate table scores them on generic plans like every other set.
"""

from __future__ import annotations

import importlib
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from advisor.analyze.candidates import existing_designs
from advisor.config import Settings, load_settings
from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import Planning, choose_indexes, planning, recommend
from advisor.model import IndexDesign, KeyColumn, TableName
from advisor.pg import session
from bench import baselines
from bench.baselines import Problem
from bench.common import say, table
from bench.qualityspec import HandIndex, QualityStatement, QualityWorkload

# Each workload is a module of this package with `build(scale, seed) -> QualityWorkload`.
WORKLOADS = ("tpch", "oltp", "saas")
# The hand-written set; every other strategy chooses within each budget.
DBA = "dba"
# `pg-advisor recommend` with the product's defaults, without and with the server log's
# values; they choose at the real budgets only (a whole analysis each).
SHIPPED = "shipped"
VALUES = "values"
AS_SHIPPED = (SHIPPED, VALUES)
STRATEGIES = ("advisor", SHIPPED, VALUES, "extend", "dexter", "per-column", "ilp", DBA)
# The strategies compared with the DBA's set by real time, and what each of them is.
AGAINST_DBA = {
    "advisor": "generic plans only, as the baselines",
    SHIPPED: "the product as shipped, pg_stat_statements only",
    VALUES: "the product as shipped, with the workload's values from the server log",
}
# The real budget of exactly the DBA set's estimated size ("at no more bytes").
DBA_BUDGET = "dba"
MIB = 2**20
DEFAULT_BUDGETS = (0.25, 0.5, 1.0)
DEFAULT_REAL_BUDGETS = (0.5,)
DEFAULT_SEED = 20_240_101
# Estimates closer than this are a tie: equivalent designs such as (a) INCLUDE (b) and
# (a, b) differ by a rounding of the planner's costs.
TIE = 1e-4
# Timed rounds per real run; each statement's median counts.
DEFAULT_REPEATS = 3
CALL_TIMEOUT_MS = 60_000
SERVER_SETTINGS = {
    "shared_buffers": "'512MB'",
    "max_wal_size": "'4GB'",
    "checkpoint_timeout": "'30min'",
    "maintenance_work_mem": "'256MB'",
    "work_mem": "'16MB'",
}
# The workload round on the copy the advisors see logs every call with its parameters,
# as log_min_duration_statement = 0 does on a server whose log the advisor may read; set on
# that database alone (no timed copy logs) and reset before the analyses (their own
# EXPLAINs stay out of the log). The cluster's locale is C, hence lc_messages.
LOG_CALLS_SQL = (
    "ALTER DATABASE {} SET log_min_duration_statement = 0",
    "ALTER DATABASE {} SET log_parameter_max_length = -1",
)
STOP_LOGGING_CALLS_SQL = (
    "ALTER DATABASE {} RESET log_min_duration_statement",
    "ALTER DATABASE {} RESET log_parameter_max_length",
)
# What the indexes a real run created take on disk.
INDEX_BYTES_SQL = (
    "SELECT coalesce(sum(pg_relation_size(c.oid)), 0) FROM pg_class c "
    "WHERE c.relkind = 'i' AND c.relname = ANY(%s)"
)


@dataclass
class SetResult:
    """One strategy's set at one budget, scored by the estimate."""

    strategy: str
    budget: float
    indexes: list[str]
    size_bytes: int
    estimated_ms: float
    estimated_ratio: float  # of the workload's time without new indexes
    select_seconds: float
    explains: int
    note: str = ""
    # The budget's name when it is not a fraction of the data (`dba`: the DBA set's bytes).
    at: str = ""

    @property
    def label(self) -> str:
        """`advisor@0.5x`, `shipped@dba`: the strategy at its budget."""
        return f"{self.strategy}@{self.at or budget_label(self.budget)}"


@dataclass
class RealRun:
    """One distinct set built for real and timed (the empty set is `none`)."""

    label: str  # e.g. "advisor@0.5x, ilp@0.5x"
    indexes: list[str]
    build_seconds: float
    total_ms: float
    per_statement_ms: dict[str, float]
    timeouts: int
    index_bytes: int = 0  # the built indexes on disk


@dataclass
class DbaComparison:
    """One advisor strategy's set against the DBA's at one real budget, by real time."""

    strategy: str  # advisor, shipped or values (AGAINST_DBA)
    budget: str  # `0.5x`, or `dba`: the DBA set's estimated bytes
    ms: float  # the round with the strategy's set (without new indexes if it chose none)
    dba_ms: float
    ratio: float  # ms / dba_ms: below 1 the strategy's set runs faster
    index_bytes: int  # built, on disk
    dba_bytes: int


@dataclass
class DbaResult:
    """The DBA baseline of one workload: its indexes with their reasons, and how it did."""

    indexes: list[str]
    reasons: dict[str, str]  # index definition -> why the DBA wrote it
    size_bytes: int  # HypoPG's estimate, as the sets' sizes
    estimated_ms: float
    estimated_ratio: float
    comparisons: list[DbaComparison] = field(default_factory=list)


@dataclass
class QualityResult:
    """Everything one workload's benchmark measured; field names are the JSON keys."""

    workload: str
    description: str
    scale: float
    data_bytes: int
    load_seconds: float
    statements: int
    analyzed: int
    candidates: int
    skipped: dict[str, int]  # why the statements not analyzed were skipped
    round_ms: float  # the real round without new indexes, as timed by the client
    pgss_ms: float  # the same round as pg_stat_statements saw it (what the advisors see)
    sets: list[SetResult] = field(default_factory=list)
    real: list[RealRun] = field(default_factory=list)
    ranking: dict[str, Any] = field(default_factory=dict)
    dba: DbaResult | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def build_workload(name: str, scale: float, seed: int) -> QualityWorkload:
    """The named workload (bench/<name>.py)."""
    module = importlib.import_module(f"bench.{name}")
    workload: QualityWorkload = module.build(scale, seed)
    return workload


def budget_label(fraction: float) -> str:
    """A budget as a fraction of the data: `0.5x`."""
    return f"{fraction:g}x"


def hand_design(index: HandIndex) -> IndexDesign:
    """The DBA's index as a design (ascending b-tree keys, an expression in parentheses,
    its predicate if partial)."""
    keys = tuple(
        KeyColumn(column[1:-1], is_expression=True)
        if column.startswith("(") and column.endswith(")")
        else KeyColumn.of(column)
        for column in index.columns
    )
    return IndexDesign(TableName("public", index.table), keys, predicate=index.where)


# ------------------------------------------------------------------------ running rounds


@dataclass
class Round:
    """A timed round: per statement name, the milliseconds of its calls."""

    per_statement_ms: dict[str, float]
    timeouts: int

    @property
    def total_ms(self) -> float:
        return sum(self.per_statement_ms.values())


def median_round(rounds: Sequence[Round]) -> Round:
    """Per statement, the median of several rounds: one slow call on this shared machine
    (a checkpoint, autovacuum) must not decide a comparison."""
    names = list(rounds[0].per_statement_ms)
    return Round(
        {name: statistics.median(r.per_statement_ms[name] for r in rounds) for name in names},
        max(r.timeouts for r in rounds),
    )


def _execute(conn: psycopg.Connection[Any], statement: QualityStatement, params: Any) -> bool:
    """One call; False when it hit the statement timeout."""
    try:
        cursor = conn.execute(statement.sql, params, prepare=False)
        if cursor.description is not None:
            cursor.fetchall()
    except pg_errors.QueryCanceled:
        return False
    return True


def warm_up(conn: psycopg.Connection[Any], statements: Sequence[QualityStatement]) -> None:
    """Every statement once: pages in shared buffers, catalog caches filled."""
    for statement in statements:
        _execute(conn, statement, statement.params[0])


def connect(dsn: str) -> psycopg.Connection[Any]:
    """The application's session: autocommit, a time limit per call set at connection (a
    SET would show up in pg_stat_statements as a statement of the workload)."""
    return psycopg.connect(dsn, autocommit=True, options=f"-c statement_timeout={CALL_TIMEOUT_MS}")


def run_round(conn: psycopg.Connection[Any], statements: Sequence[QualityStatement]) -> Round:
    """Each statement `weight` times, cycling through its parameters, timed per statement."""
    per_statement: dict[str, float] = {}
    timeouts = 0
    for statement in statements:
        started = time.perf_counter()
        for call in range(statement.weight):
            params = statement.params[call % len(statement.params)]
            if not _execute(conn, statement, params):
                timeouts += 1
        per_statement[statement.name] = (time.perf_counter() - started) * 1000.0
    return Round(per_statement, timeouts)


# ---------------------------------------------------------------------------- databases


class Databases:
    """The template database of one workload and its copies."""

    def __init__(self, cluster: ThrowawayCluster, workload: QualityWorkload) -> None:
        self.cluster = cluster
        self.workload = workload
        self.template = f"quality_{workload.name}"

    def name(self, copy: str) -> str:
        """The database name of the copy `copy`."""
        return f"{self.template}_{copy}"

    def alter(self, copy: str, statements: Sequence[str]) -> None:
        """ALTER DATABASE statements (`{}` for the name) on the copy `copy`; new sessions
        see them."""
        with psycopg.connect(self.cluster.dsn(), autocommit=True) as conn:
            for statement in statements:
                conn.execute(sql.SQL(statement).format(sql.Identifier(self.name(copy))))

    def load(self) -> float:
        """Create and fill the template; returns the seconds it took."""
        started = time.perf_counter()
        with psycopg.connect(self.cluster.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}"')
            conn.execute(f'CREATE DATABASE "{self.template}"')
        with psycopg.connect(self.cluster.dsn(self.template), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
            conn.execute("CREATE EXTENSION hypopg")
            for sql in self.workload.setup_sql:
                conn.execute(sql)
            conn.execute("VACUUM ANALYZE")
        return time.perf_counter() - started

    def data_bytes(self) -> int:
        """The tables' size without their indexes (TOAST included)."""
        with psycopg.connect(self.cluster.dsn(self.template), autocommit=True) as conn:
            row = conn.execute(
                "SELECT coalesce(sum(pg_table_size(relid)), 0) FROM pg_stat_user_tables"
            ).fetchone()
        return int(row[0]) if row else 0

    @contextmanager
    def copy(self, name: str) -> Iterator[str]:
        """A fresh copy of the template (a file copy), dropped afterwards."""
        database = self.name(name)
        with psycopg.connect(self.cluster.dsn(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}"')
            conn.execute(
                f'CREATE DATABASE "{database}" TEMPLATE "{self.template}" STRATEGY = FILE_COPY'
            )
        try:
            yield self.cluster.dsn(database)
        finally:
            with psycopg.connect(self.cluster.dsn(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# ----------------------------------------------------------------------------- analysis


@dataclass
class Analysis:
    """The advisor's planning of one workload, and the same problem as the baselines see it."""

    problem: Problem
    settings: Settings
    planned: Planning
    analyzed: int
    candidates: int
    skipped: dict[str, int]


def advisor_problem(planned: Planning) -> Problem:
    """The advisor's statements, candidates, planner and write costs as one Problem."""
    workload, schema = planned.observation.workload, planned.schema
    writes, whatif = planned.space.writes, planned.whatif
    window_days = max(workload.window_seconds, 1.0) / 86_400.0
    targets = {t.statement.queryid: t for t in planned.prepared.targets}
    return Problem(
        targets=targets,
        parsed={p.queryid: p for p in planned.prepared.parsed},
        candidates=planned.space.candidates,
        planner=whatif,
        base_cost={q: whatif.plan(q, ()).cost for q in targets},
        maintenance_ms=lambda d: writes.ms_per_day(d) * window_days,
        existing={name: existing_designs(t) for name, t in schema.tables.items()},
    )


def bench_settings(dsn: str, budget_mb: float | None = None) -> Settings:
    """The advisor's settings in this section: the defaults, except that every statement
    counts (min_calls 1: a TPC-H query runs once or twice in a round) and statements are
    costed with generic plans only (value_aware off). The baselines are generic-plan
    strategies and every set is scored on the advisor's planner, which value-aware costing
    would change for all of them; value-aware advice has its own section (bench/values.py).
    The bench passes each budget to the selection itself; `budget_mb` is for running
    `recommend` the same way."""
    return load_settings(None, dsn=dsn, min_calls=1, value_aware=False, budget_mb=budget_mb)


@contextmanager
def analysis(dsn: str) -> Iterator[Analysis]:
    """What `pg-advisor recommend` sees and plans with, kept open for every strategy."""
    settings = bench_settings(dsn)
    # No drops: the baselines only add indexes, and every set is scored on the schema as it
    # is; a plan that also dropped indexes would be planned against another one.
    with session(dsn, settings) as conn, planning(conn, settings, drops=False) as planned:
        problem = advisor_problem(planned)
        yield Analysis(
            problem,
            settings,
            planned,
            len(problem.targets),
            len(problem.candidates),
            dict(Counter(s.reason for s in planned.prepared.skipped).most_common()),
        )


def choose(strategy: str, run: Analysis, budget: int) -> tuple[list[IndexDesign], str]:
    """One strategy's set within `budget` bytes, and a note on how it was found."""
    problem = run.problem
    if strategy == "advisor":
        return [r.design for r in choose_indexes(run.planned, run.settings, budget)], ""
    if strategy == "extend":
        return baselines.extend(problem, budget), ""
    if strategy == "dexter":
        return baselines.dexter(problem, budget), ""
    if strategy == "per-column":
        return baselines.per_column(problem, budget), ""
    if strategy == "ilp":
        result = baselines.ilp(problem, budget)
        note = (
            f"{result.status}, {result.configurations} configurations, "
            f"model objective {result.objective_ms:,.0f} ms, {result.seconds:.1f} s"
        )
        return result.designs, note
    raise ValueError(f"unknown strategy {strategy}")


def shipped_settings(dsn: str, budget_bytes: int, log_dir: Path | None = None) -> Settings:
    """`pg-advisor recommend`'s settings as the product ships them (value-aware costing
    on), except that every statement counts (min_calls 1, as for every strategy here),
    with this budget; with `log_dir`, the server log's parameters too."""
    return load_settings(
        None, dsn=dsn, min_calls=1, budget_mb=budget_bytes / MIB, parameter_log_dir=log_dir
    )


def recommend_as_shipped(
    dsn: str, budget_bytes: int, log_dir: Path | None = None
) -> tuple[list[IndexDesign], str]:
    """What `pg-advisor recommend` recommends with the shipped settings (no drops, its
    default), and a note on what it was costed with."""
    settings = shipped_settings(dsn, budget_bytes, log_dir)
    with session(dsn, settings) as conn:
        advice = recommend(conn, settings)
    note = f"{advice.statements_with_values} statements costed with values"
    if advice.value_notes:
        note += "; " + "; ".join(advice.value_notes)
    return [r.design for r in advice.recommendations], note


# ---------------------------------------------------------------------------- the bench


def run_quality(
    names: Sequence[str],
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    real_budgets: Sequence[float] = DEFAULT_REAL_BUDGETS,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    strategies: Sequence[str] = STRATEGIES,
    repeats: int = DEFAULT_REPEATS,
) -> list[QualityResult]:
    """The benchmark for each named workload, on one throwaway cluster."""
    results = []
    with ThrowawayCluster(settings=SERVER_SETTINGS) as cluster:
        for name in names:
            workload = build_workload(name, scale, seed)
            results.append(
                _run_workload(cluster, workload, budgets, real_budgets, scale, strategies, repeats)
            )
    return results


def _run_workload(
    cluster: ThrowawayCluster,
    workload: QualityWorkload,
    budgets: Sequence[float],
    real_budgets: Sequence[float],
    scale: float,
    strategies: Sequence[str],
    repeats: int,
) -> QualityResult:
    hand = workload.dba_indexes if DBA in strategies else ()
    dba_designs = [hand_design(index) for index in hand]
    chosen_by_budget = [s for s in strategies if s != DBA and s not in AS_SHIPPED]
    databases = Databases(cluster, workload)
    load_seconds = databases.load()
    data_bytes = databases.data_bytes()
    say(f"{workload.name}: loaded {data_bytes / 2**20:,.0f} MB in {load_seconds:.1f} s")
    with databases.copy("stats") as dsn:
        first = _workload_round(databases, logged=VALUES in strategies)
        say(f"{workload.name}: round without new indexes {first.total_ms / 1000:.1f} s")
        with analysis(dsn) as run:
            result = QualityResult(
                workload=workload.name,
                description=workload.description,
                scale=scale,
                data_bytes=data_bytes,
                load_seconds=round(load_seconds, 2),
                statements=len(workload.statements),
                analyzed=run.analyzed,
                candidates=run.candidates,
                skipped=run.skipped,
                round_ms=0.0,
                pgss_ms=round(run.problem.total_ms, 1),
            )
            chosen: dict[tuple[str, str], list[IndexDesign]] = {}
            for fraction in budgets:
                for strategy in chosen_by_budget:
                    budget = int(fraction * data_bytes)
                    designs, entry = _chosen_set(
                        run, strategy, fraction, partial(choose, strategy, run, budget)
                    )
                    chosen[(strategy, budget_label(fraction))] = designs
                    result.sets.append(entry)
                    say(f"{workload.name} {entry.label}: {len(designs)} indexes, {_said(entry)}")
            # The real budgets by label: their fraction of the data, and their bytes.
            real_bytes = {budget_label(f): (f, int(f * data_bytes)) for f in real_budgets}
            if dba_designs:
                result.dba = _estimate_dba(run, hand, dba_designs)
                dba_bytes = result.dba.size_bytes
                real_bytes[DBA_BUDGET] = (dba_bytes / data_bytes, dba_bytes)
                say(
                    f"{workload.name} dba: {len(dba_designs)} indexes, "
                    f"{result.dba.size_bytes / 2**20:,.1f} MB, "
                    f"estimate {result.dba.estimated_ratio:.3f} of now"
                )
                if "advisor" in strategies:
                    designs, entry = _chosen_set(
                        run,
                        "advisor",
                        dba_bytes / data_bytes,
                        partial(choose, "advisor", run, dba_bytes),
                        DBA_BUDGET,
                    )
                    chosen[("advisor", DBA_BUDGET)] = designs
                    result.sets.append(entry)
                    say(f"{workload.name} {entry.label}: {len(designs)} indexes, {_said(entry)}")
            for strategy in (s for s in AS_SHIPPED if s in strategies):
                log_dir = cluster.base if strategy == VALUES else None
                for label, (fraction, budget) in real_bytes.items():
                    designs, entry = _chosen_set(
                        run,
                        strategy,
                        fraction,
                        partial(recommend_as_shipped, dsn, budget, log_dir),
                        label if label == DBA_BUDGET else "",
                    )
                    chosen[(strategy, label)] = designs
                    result.sets.append(entry)
                    say(f"{workload.name} {entry.label}: {len(designs)} indexes, {_said(entry)}")
    real_labels = list(real_bytes)
    sets = {"none": [], **_distinct_sets(chosen, real_labels)}
    if dba_designs:
        sets = with_set(sets, DBA, dba_designs)
    result.real = real_runs(databases, workload, sets, repeats)
    result.round_ms = result.real[0].total_ms
    for run_ in result.real:
        say(f"{workload.name} real {run_.label}: {run_.total_ms / 1000:.1f} s")
    result.ranking = ranking(result, real_budgets)
    if result.dba is not None:
        result.dba.comparisons = dba_comparisons(result.real, real_labels, strategies)
    return result


def _workload_round(databases: Databases, logged: bool) -> Round:
    """On the `stats` copy: every statement once, then one round, no statistics reset;
    `logged`: every call of both goes to the server log with its parameters."""
    if logged:
        databases.alter("stats", LOG_CALLS_SQL)
    try:
        with connect(databases.cluster.dsn(databases.name("stats"))) as conn:
            warm_up(conn, databases.workload.statements)
            return run_round(conn, databases.workload.statements)
    finally:
        if logged:
            databases.alter("stats", STOP_LOGGING_CALLS_SQL)


def _chosen_set(
    run: Analysis,
    strategy: str,
    fraction: float,
    chooser: Callable[[], tuple[list[IndexDesign], str]],
    at: str = "",
) -> tuple[list[IndexDesign], SetResult]:
    """A strategy's set, timed and scored by the common estimate (generic plans on the
    advisor's planner, for the sets chosen with custom plans too)."""
    explains = _explains(run)
    started = time.perf_counter()
    designs, note = chooser()
    seconds = time.perf_counter() - started
    estimated = run.problem.workload_ms(designs)
    entry = SetResult(
        strategy=strategy,
        budget=round(fraction, 4),
        indexes=sorted(d.definition_sql() for d in designs),
        size_bytes=run.problem.size(designs),
        estimated_ms=round(estimated, 1),
        estimated_ratio=round(estimated / max(run.problem.total_ms, 1e-9), 4),
        select_seconds=round(seconds, 2),
        explains=_explains(run) - explains,
        note=note,
        at=at,
    )
    return designs, entry


def _said(entry: SetResult) -> str:
    return f"estimate {entry.estimated_ratio:.3f} of now ({entry.select_seconds:.1f} s)"


def _estimate_dba(
    run: Analysis, hand: Sequence[HandIndex], designs: Sequence[IndexDesign]
) -> DbaResult:
    """The DBA's set scored by the same estimate as every chosen set."""
    estimated = run.problem.workload_ms(designs)
    return DbaResult(
        indexes=[d.definition_sql() for d in designs],
        reasons={d.definition_sql(): index.reason for d, index in zip(designs, hand, strict=True)},
        size_bytes=run.problem.size(designs),
        estimated_ms=round(estimated, 1),
        estimated_ratio=round(estimated / max(run.problem.total_ms, 1e-9), 4),
    )


def _explains(run: Analysis) -> int:
    return int(getattr(run.problem.planner, "explains", 0))


def _rounded(timed: Round) -> dict[str, float]:
    return {name: round(ms, 2) for name, ms in timed.per_statement_ms.items()}


def _distinct_sets(
    chosen: Mapping[tuple[str, str], list[IndexDesign]], real_budgets: Sequence[str]
) -> dict[str, list[IndexDesign]]:
    """Each distinct set of the real budgets (by label: `0.5x`, `dba`) once, labelled with
    everyone who chose it."""
    labels: dict[frozenset[IndexDesign], list[str]] = {}
    sets: dict[frozenset[IndexDesign], list[IndexDesign]] = {}
    for (strategy, budget), designs in chosen.items():
        if budget not in real_budgets or not designs:
            continue
        key = frozenset(designs)
        labels.setdefault(key, []).append(f"{strategy}@{budget}")
        sets.setdefault(key, designs)
    return {", ".join(labels[key]): sets[key] for key in sets}


def with_set(
    sets: Mapping[str, list[IndexDesign]], label: str, designs: list[IndexDesign]
) -> dict[str, list[IndexDesign]]:
    """`sets` and one more, labelled `label`; a set already there is not built twice but
    gets the label too."""
    key = frozenset(designs)
    merged: dict[str, list[IndexDesign]] = {}
    added = False
    for name, existing in sets.items():
        if not added and existing and frozenset(existing) == key:
            merged[f"{name}, {label}"] = existing
            added = True
        else:
            merged[name] = existing
    if not added:
        merged[label] = designs
    return merged


def real_runs(
    databases: Databases,
    workload: QualityWorkload,
    sets: Mapping[str, list[IndexDesign]],
    repeats: int,
) -> list[RealRun]:
    """Every set built on its own copy, then timed in interleaved rounds (round 1 of every
    set, then round 2 ...), so that a disturbance of this shared machine hits one round of
    each set alike and the per-statement median discards it."""
    with ExitStack() as stack:
        connections: dict[str, psycopg.Connection[Any]] = {}
        builds: dict[str, float] = {}
        sizes: dict[str, int] = {}
        for number, (label, designs) in enumerate(sets.items()):
            dsn = stack.enter_context(databases.copy(f"real{number}"))
            conn = stack.enter_context(connect(dsn))
            started = time.perf_counter()
            for design in designs:
                conn.execute(design.create_sql(concurrently=False, if_not_exists=True))
            _analyze_expressions(conn, designs)
            builds[label] = time.perf_counter() - started
            row = conn.execute(INDEX_BYTES_SQL, ([d.name() for d in designs],)).fetchone()
            sizes[label] = int(row[0]) if row else 0
            connections[label] = conn
        for conn in connections.values():
            warm_up(conn, workload.statements)
        rounds: dict[str, list[Round]] = {label: [] for label in sets}
        for _ in range(repeats):
            for label, conn in connections.items():
                rounds[label].append(run_round(conn, workload.statements))
    runs = []
    for label, designs in sets.items():
        timed = median_round(rounds[label])
        runs.append(
            RealRun(
                label,
                sorted(d.definition_sql() for d in designs),
                round(builds[label], 2),
                round(timed.total_ms, 1),
                _rounded(timed),
                timed.timeouts,
                sizes[label],
            )
        )
    return runs


def _analyze_expressions(conn: psycopg.Connection[Any], designs: Sequence[IndexDesign]) -> None:
    """ANALYZE the tables that got an index on an expression: only ANALYZE gathers an
    expression's statistics (autovacuum does it soon on a table that is written; the
    round's writes are too few), and without them the planner guesses its selectivity."""
    tables = sorted({d.table for d in designs if any(k.is_expression for k in d.keys)}, key=str)
    for table_name in tables:
        conn.execute(
            sql.SQL("ANALYZE {}.{}").format(
                sql.Identifier(table_name.schema), sql.Identifier(table_name.name)
            )
        )


def dba_comparisons(
    real: Sequence[RealRun], real_budgets: Sequence[str], strategies: Sequence[str]
) -> list[DbaComparison]:
    """Per advisor strategy that ran (AGAINST_DBA) and real budget (by label), the round
    with its set against the round with the DBA's; a strategy that chose nothing runs
    without new indexes (the `none` run)."""
    by_label = {label: run for run in real for label in run.label.split(", ")}
    dba = by_label.get(DBA)
    if dba is None:
        return []
    comparisons = []
    for strategy in (s for s in AGAINST_DBA if s in strategies):
        for budget in real_budgets:
            chosen = by_label.get(f"{strategy}@{budget}", by_label.get("none"))
            if chosen is None:
                continue
            comparisons.append(
                DbaComparison(
                    strategy=strategy,
                    budget=budget,
                    ms=chosen.total_ms,
                    dba_ms=dba.total_ms,
                    ratio=round(chosen.total_ms / max(dba.total_ms, 1e-9), 4),
                    index_bytes=chosen.index_bytes,
                    dba_bytes=dba.index_bytes,
                )
            )
    return comparisons


def ranking(result: QualityResult, real_budgets: Sequence[float]) -> dict[str, Any]:
    """Does the estimate order the strategies' sets the way real time does? Among the sets
    chosen on generic plans at the fractional real budgets: the estimate is not what
    chose the shipped advisor's sets."""
    real_by_strategy: dict[str, float] = {}
    for run in result.real:
        for label in run.label.split(", "):
            real_by_strategy[label] = run.total_ms
    entries = []
    for entry in result.sets:
        if entry.budget in real_budgets and not entry.at and entry.strategy not in AS_SHIPPED:
            real = real_by_strategy.get(entry.label, result.round_ms)
            entries.append((entry.label, entry.estimated_ms, real))
    concordant = discordant = 0
    disagreements = []
    for i, (a, est_a, real_a) in enumerate(entries):
        for b, est_b, real_b in entries[i + 1 :]:
            product = (est_a - est_b) * (real_a - real_b)
            if product > 0:
                concordant += 1
            elif product < 0:
                discordant += 1
                disagreements.append(f"{a} vs {b}")
    pairs = concordant + discordant
    tau = (concordant - discordant) / pairs if pairs else 1.0
    return {
        "kendall_tau": round(tau, 3),
        "concordant": concordant,
        "discordant": discordant,
        "disagreements": disagreements,
        "by_estimate": [label for label, _, _ in sorted(entries, key=lambda e: e[1])],
        "by_real_time": [label for label, _, _ in sorted(entries, key=lambda e: e[2])],
    }


# ---------------------------------------------------------------------------- reporting


def format_sets(result: QualityResult) -> str:
    """The estimate table: every strategy at every budget (the shipped advisor's sets,
    chosen with custom plans, scored on generic plans like the rest: marked *)."""
    optimum = {s.budget: s.estimated_ms for s in result.sets if s.strategy == "ilp"}
    rows = []
    for s in result.sets:
        best = None if s.at else optimum.get(s.budget)
        rows.append(
            [
                s.at or budget_label(s.budget),
                f"{s.strategy}*" if s.strategy in AS_SHIPPED else s.strategy,
                len(s.indexes),
                round(s.size_bytes / 2**20, 1),
                round(s.estimated_ratio, 3),
                f"{s.estimated_ms / best - 1:+.1%}" if best else "-",
                s.select_seconds,
                s.explains,
            ]
        )
    headers = ["budget", "strategy", "indexes", "MB", "est. time / now", "vs ilp", "s", "explains"]
    footnote = ""
    if any(s.strategy in AS_SHIPPED for s in result.sets):
        footnote = (
            "\n* chosen by `recommend` with custom plans (value-aware); estimated here on "
            "generic plans, as every set (what-if EXPLAINs in its own session, not counted)"
        )
    return table(headers, rows) + footnote


def format_real(result: QualityResult) -> str:
    """The real runs: total time of the round with each distinct set."""
    none = result.round_ms
    rows = [
        [
            r.label,
            len(r.indexes),
            r.build_seconds,
            round(r.total_ms / 1000, 2),
            f"{r.total_ms / none:.3f}" if none else "-",
            r.timeouts,
        ]
        for r in sorted(result.real, key=lambda r: r.total_ms)
    ]
    return table(["set", "indexes", "build s", "round s", "real / none", "timeouts"], rows)


def format_statements(result: QualityResult) -> str:
    """Per statement: real ms of its calls in the round, without and with each set."""
    runs = sorted(result.real, key=lambda r: r.total_ms)
    heads = [r.label.split(", ")[0] if r.label != "none" else "none" for r in runs]
    names = list(runs[0].per_statement_ms) if runs else []
    rows = [[name, *(r.per_statement_ms.get(name, 0.0) for r in runs)] for name in names]
    return table(["statement ms", *heads], rows)


def target_lines(results: Sequence[QualityResult]) -> list[str]:
    """The issue's targets, met or missed, per workload and budget."""
    lines = []
    for result in results:
        by = {(s.strategy, s.budget): s for s in result.sets if not s.at}
        for budget in sorted({s.budget for s in result.sets if not s.at}):
            advisor = by.get(("advisor", budget))
            if advisor is None:
                continue
            ilp = by.get(("ilp", budget))
            extend = by.get(("extend", budget))
            parts = [f"{result.workload} {budget:g}x:"]
            if ilp is not None and ilp.estimated_ms > 0:
                gap = advisor.estimated_ms / ilp.estimated_ms - 1
                parts.append(f"vs optimum {gap:+.2%} ({'met' if gap <= 0.01 else 'MISSED'})")
            if extend is not None:
                ok = advisor.estimated_ms <= extend.estimated_ms * (1 + TIE)
                parts.append(
                    f"vs extend {advisor.estimated_ms / max(extend.estimated_ms, 1e-9) - 1:+.2%} "
                    f"({'met' if ok else 'MISSED'})"
                )
            lines.append(" ".join(parts))
        tau = result.ranking.get("kendall_tau")
        if tau is not None:
            lines.append(
                f"{result.workload}: estimated vs real ranking, Kendall tau {tau:+.2f}"
                + (
                    f"; disagree: {', '.join(result.ranking['disagreements'])}"
                    if result.ranking.get("disagreements")
                    else ""
                )
            )
    return lines


def dba_lines(results: Sequence[QualityResult]) -> list[str]:
    """Each advisor strategy's residual real time as a ratio of the DBA set's, per
    workload and real budget, saying which strategy is the product as shipped."""
    lines = []
    for result in results:
        if result.dba is None:
            continue
        for c in result.dba.comparisons:
            at = "at the DBA's bytes" if c.budget == DBA_BUDGET else c.budget
            lines.append(
                f"{result.workload} {at}: {c.strategy} residual real time / DBA's: "
                f"{c.ratio:.2f} ({c.index_bytes / MIB:,.0f} MB, DBA {c.dba_bytes / MIB:,.0f} MB;"
                f" {c.strategy}: {AGAINST_DBA[c.strategy]})"
            )
    return lines


def format_dba(result: QualityResult) -> str:
    """The DBA's set: its size, and each index with why the DBA wrote it."""
    if result.dba is None:
        return f"{result.workload}: no DBA set"
    dba = result.dba
    built = next((r.index_bytes for r in result.real if DBA in r.label.split(", ")), 0)
    head = (
        f"DBA set: {len(dba.indexes)} indexes, {built / 2**20:,.1f} MB built "
        f"(HypoPG {dba.size_bytes / 2**20:,.1f} MB), estimate {dba.estimated_ratio:.3f} of now"
    )
    rows = [[index, dba.reasons[index]] for index in dba.indexes]
    return head + "\n" + table(["index", "why"], rows)
