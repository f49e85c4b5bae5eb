"""The values benchmark: value-aware advice against generic-only advice on the skewed
ORM-style workload (bench/skewed.py), compared by real execution time in the same run.

1. Load the workload's data into a template database, on a throwaway cluster that
   preloads pg_qualstats (where installed) sampling every statement with its constants.
2. On a copy: warm up, then run one round of the workload (no statistics reset, as on a
   user's server) as node-postgres sends it (unnamed statements, every value an untyped bind
   parameter: the server plans each call with its values).
3. Analyze that database twice with `advisor.jobs.recommend.recommend` and the same storage budget:
   value-aware (`Settings.value_aware = true`) and generic-only (false).
4. Build each distinct set for real on a fresh copy, and the empty set on one more
   (bench/quality.py's Databases); ANALYZE them all (an expression index has no statistics
   until then), warm up, then time `repeats` rounds interleaved across the copies; per
   statement the median counts (bench/quality.py's median_round). Then read what the
   planner did with the new indexes: their idx_scan over the rounds, and per statement
   which of them its plans use for its parameter sets.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from advisor.config import load_settings
from advisor.demo.sandbox import ThrowawayCluster
from advisor.jobs.recommend import recommend
from advisor.model import Analysis, IndexDesign, Recommendation
from advisor.pg import session
from bench.common import say, table
from bench.quality import (
    CALL_TIMEOUT_MS,
    SERVER_SETTINGS,
    Databases,
    Round,
    median_round,
    run_round,
    warm_up,
)
from bench.qualityspec import QualityStatement, QualityWorkload
from bench.skewed import DEFAULT_SEED, build

DEFAULT_SCALE = 1.0
# Timed rounds per set: a round takes seconds without indexes at scale 1.0, and single
# statements' times on this shared machine vary by tens of percent between rounds.
DEFAULT_REPEATS = 5
# The storage budget of both analyses, as a fraction of the data size (the quality
# benchmark's real runs use the same).
DEFAULT_BUDGET = 0.5
# pg_qualstats samples every statement and keeps the constants: the workload round is
# short, and the value-aware analysis needs the values it ran with.
QUALSTATS_SETTINGS = {
    "pg_qualstats.sample_rate": "1",
    "pg_qualstats.track_constants": "on",
}
# Timed rounds run without pg_qualstats' instrumentation.
QUALSTATS_OFF = "-c pg_qualstats.enabled=off"
# The two analyses: label and Settings.value_aware.
SETTINGS = (("generic-only", False), ("value-aware", True))
GENERIC, VALUE_AWARE = (label for label, _ in SETTINGS)
NONE = "none"
MIB = 2**20

NEW_INDEXES_SQL = """
select s.indexrelname, s.idx_scan, pg_relation_size(s.indexrelid)
from pg_stat_user_indexes s where s.indexrelname = any($1)
"""


# ------------------------------------------------------------------------- the results


@dataclass
class AdvisedIndex:
    """One recommendation of one analysis, as the advisor stated it."""

    create_sql: str
    definition: str  # IndexDesign.definition_sql(): what tells two designs apart
    estimated_size_bytes: int
    estimated_ms_saved_per_day: float
    statements: list[str]  # the workload's statements it was estimated to help
    depends_on: list[str]
    notes: list[str]
    warnings: list[str]


@dataclass
class Advice:
    """One analysis of the workload: its settings, what it recommended and claimed."""

    setting: str
    value_aware: bool
    seconds: float
    statements_total: int
    statements_analyzed: int
    skipped: dict[str, list[str]]  # reason -> the statements skipped for it
    budget_bytes: int
    workload_ms_per_day: float
    estimated_ms_saved_per_day: float  # the sum over its recommendations
    indexes: list[AdvisedIndex]
    explains: int


@dataclass
class BuiltIndex:
    """A new index built for real: its size and how the planner used it in the rounds."""

    name: str
    definition: str
    size_bytes: int
    idx_scan: int
    used_by: list[str]  # statements whose plans use it for some of their parameter sets


@dataclass
class SetRun:
    """One distinct index set built on its own copy and timed; `none` has no new index."""

    label: str
    settings: list[str]  # the analyses that recommended this set ([] for none)
    build_seconds: float
    total_ms: float
    per_statement_ms: dict[str, float]
    timeouts: int
    indexes: list[BuiltIndex] = field(default_factory=list)


@dataclass
class StatementInfo:
    name: str
    calls: int
    sql: str
    parameter_sets: int


@dataclass
class ValuesResult:
    """Everything the values benchmark measured; field names are the JSON keys."""

    scale: float
    seed: int
    description: str
    data_bytes: int
    load_seconds: float
    budget_fraction: float
    budget_bytes: int
    qualstats: bool  # pg_qualstats was preloaded and sampled the workload round
    statements: list[StatementInfo]
    workload_round_ms: float  # the round the advisor saw, timed by the client
    advice: list[Advice] = field(default_factory=list)
    runs: list[SetRun] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["target"] = target_line(self)
        return payload

    def run_for(self, setting: str) -> SetRun | None:
        """The run of the set `setting` recommended (`none`: the run without new indexes)."""
        for run in self.runs:
            if (setting == NONE and run.label == NONE) or setting in run.settings:
                return run
        return None


# ---------------------------------------------------------------------------- the bench


def run_values(
    scale: float = DEFAULT_SCALE,
    repeats: int = DEFAULT_REPEATS,
    budget_fraction: float = DEFAULT_BUDGET,
    seed: int = DEFAULT_SEED,
) -> ValuesResult:
    """The benchmark on a throwaway cluster of its own."""
    workload = build(scale, seed)
    cluster = ThrowawayCluster(settings=dict(SERVER_SETTINGS))
    qualstats = cluster.has_library("pg_qualstats") and cluster.has_extension("pg_qualstats")
    if qualstats:
        cluster.extra_settings.update(QUALSTATS_SETTINGS)
    else:
        say("values: pg_qualstats is not installed; the value-aware analysis has pg_stats only")
    with cluster:
        databases = Databases(cluster, workload)
        load_seconds = databases.load()
        if qualstats:
            with psycopg.connect(cluster.dsn(databases.template), autocommit=True) as conn:
                conn.execute("create extension pg_qualstats")
        data_bytes = databases.data_bytes()
        say(f"values: loaded {data_bytes / 2**20:,.0f} MB in {load_seconds:.1f} s")
        result = ValuesResult(
            scale=scale,
            seed=seed,
            description=workload.description,
            data_bytes=data_bytes,
            load_seconds=round(load_seconds, 2),
            budget_fraction=budget_fraction,
            budget_bytes=int(budget_fraction * data_bytes),
            qualstats=qualstats,
            statements=[
                StatementInfo(s.name, s.weight, s.sql, len(s.params)) for s in workload.statements
            ],
            workload_round_ms=0.0,
        )
        chosen: dict[str, list[IndexDesign]] = {}
        with databases.copy("stats") as dsn:
            seen = drive(dsn, workload, log=True)
            result.workload_round_ms = round(seen.total_ms, 1)
            say(f"values: the round the advisor sees took {seen.total_ms / 1000:.1f} s")
            for label, value_aware in SETTINGS:
                log_dir = cluster.base if value_aware else None
                analysis = advise(dsn, value_aware, result.budget_bytes, log_dir)
                advice = describe(label, value_aware, analysis, workload.statements)
                result.advice.append(advice)
                chosen[label] = [r.design for r in analysis.recommendations]
                say(
                    f"values: {label}: {len(advice.indexes)} indexes in {advice.seconds:.1f} s "
                    f"({advice.statements_analyzed} of {advice.statements_total} statements)"
                )
        options = QUALSTATS_OFF if qualstats else ""
        result.runs = real_runs(databases, workload, chosen, repeats, options)
        for run in result.runs:
            say(f"values: real {run.label}: {run.total_ms / 1000:.2f} s")
    return result


def connect(dsn: str, options: str = "") -> psycopg.Connection[Any]:
    """The application's session as node-postgres has it: `$n` placeholders (a raw cursor),
    untyped string values, unnamed statements (bench/quality.py's rounds execute with
    prepare=False); autocommit and a time limit per call, set at connection."""
    return psycopg.connect(
        dsn,
        autocommit=True,
        cursor_factory=psycopg.RawCursor,
        options=f"-c statement_timeout={CALL_TIMEOUT_MS} {options}".strip(),
    )


def drive(dsn: str, workload: QualityWorkload, log: bool = False) -> Round:
    """One warm-up call per statement, then one round of the workload, no statistics
    reset (as on a user's server): what pg_stat_statements and pg_qualstats then hold,
    the warm-up included, is what the advisor sees. With
    `log`, the round's calls and their parameters go to the server log too (as with
    log_min_duration_statement = 0 on a server the DBA lets the advisor read)."""
    with connect(dsn, "-c log_min_duration_statement=0" if log else "") as conn:
        warm_up(conn, workload.statements)
        return run_round(conn, workload.statements)


def advise(dsn: str, value_aware: bool, budget_bytes: int, log_dir: Path | None = None) -> Analysis:
    """`pg-advisor recommend` on the database: every statement counts (min_calls 1); the
    value-aware run also reads the server log's parameters (`log_dir`)."""
    settings = load_settings(
        None,
        dsn=dsn,
        min_calls=1,
        budget_mb=budget_bytes / MIB,
        value_aware=value_aware,
        parameter_log_dir=log_dir,
    )
    with session(dsn, settings) as conn:
        return recommend(conn, settings)


def statement_names(statements: Iterable[QualityStatement]) -> dict[str, str]:
    """Statement name by its text with whitespace collapsed: pg_stat_statements keeps a
    text with only `$n` parameters as it was sent."""
    return {_collapsed(s.sql): s.name for s in statements}


def _collapsed(text: str) -> str:
    return " ".join(text.split())


def name_of(text: str, names: Mapping[str, str]) -> str:
    """The workload's name for a statement text, or the text's start."""
    return names.get(_collapsed(text), _collapsed(text)[:60])


def describe(
    label: str, value_aware: bool, analysis: Analysis, statements: Sequence[QualityStatement]
) -> Advice:
    """What one analysis recommended and claimed, with the workload's statement names."""
    names = statement_names(statements)
    skipped: dict[str, list[str]] = {}
    for skip in analysis.skipped:
        skipped.setdefault(skip.reason, []).append(name_of(skip.text, names))
    return Advice(
        setting=label,
        value_aware=value_aware,
        seconds=round(analysis.elapsed_seconds, 2),
        statements_total=analysis.statements_total,
        statements_analyzed=analysis.statements_analyzed,
        skipped=skipped,
        budget_bytes=analysis.budget_bytes,
        workload_ms_per_day=round(analysis.workload_ms_per_day, 1),
        estimated_ms_saved_per_day=round(
            sum(r.estimated_ms_saved_per_day for r in analysis.recommendations), 1
        ),
        indexes=[advised(r, names) for r in analysis.recommendations],
        explains=analysis.whatif_explains,
    )


def advised(recommendation: Recommendation, names: Mapping[str, str]) -> AdvisedIndex:
    helped = [e for e in recommendation.statements if e.estimated_ms_saved_per_day > 0]
    return AdvisedIndex(
        create_sql=recommendation.design.create_sql(concurrently=False, if_not_exists=False),
        definition=recommendation.design.definition_sql(),
        estimated_size_bytes=recommendation.estimated_size_bytes,
        estimated_ms_saved_per_day=round(recommendation.estimated_ms_saved_per_day, 1),
        statements=[name_of(e.query, names) for e in helped or recommendation.statements],
        depends_on=[a.describe() for a in recommendation.depends_on],
        notes=list(recommendation.notes),
        warnings=list(recommendation.warnings),
    )


# ---------------------------------------------------------------------------- real runs


def distinct_sets(chosen: Mapping[str, Sequence[IndexDesign]]) -> dict[str, list[str]]:
    """Run label -> the settings whose set it is: each distinct set once, `none` first
    (with the settings that recommended nothing)."""
    groups: dict[frozenset[IndexDesign], list[str]] = {frozenset(): []}
    for setting, designs in chosen.items():
        groups.setdefault(frozenset(designs), []).append(setting)
    return {(" = ".join(settings) if key else NONE): settings for key, settings in groups.items()}


def real_runs(
    databases: Databases,
    workload: QualityWorkload,
    chosen: Mapping[str, Sequence[IndexDesign]],
    repeats: int,
    options: str = "",
) -> list[SetRun]:
    """Every distinct set built on its own copy, then timed in interleaved rounds (round 1
    of every set, then round 2 ...), so that a disturbance of this shared machine hits one
    round of each alike and the per-statement median discards it."""
    labels = distinct_sets(chosen)
    designs_of = {
        label: list(chosen[settings[0]]) if settings and label != NONE else []
        for label, settings in labels.items()
    }
    runs: list[SetRun] = []
    with ExitStack() as stack:
        connections: dict[str, psycopg.Connection[Any]] = {}
        builds: dict[str, float] = {}
        for number, label in enumerate(labels):
            dsn = stack.enter_context(databases.copy(f"values{number}"))
            conn = stack.enter_context(connect(dsn, options))
            started = time.perf_counter()
            for design in designs_of[label]:
                conn.execute(design.create_sql(concurrently=False, if_not_exists=False))
            builds[label] = time.perf_counter() - started
            # Every copy alike: expression indexes get their statistics only from ANALYZE.
            conn.execute("analyze")
            connections[label] = conn
        for conn in connections.values():
            warm_up(conn, workload.statements)
        rounds: dict[str, list[Round]] = {label: [] for label in labels}
        for _ in range(repeats):
            for label, conn in connections.items():
                rounds[label].append(run_round(conn, workload.statements))
        for label, settings in labels.items():
            timed = median_round(rounds[label])
            runs.append(
                SetRun(
                    label=label,
                    settings=settings,
                    build_seconds=round(builds[label], 2),
                    total_ms=round(timed.total_ms, 1),
                    per_statement_ms={n: round(ms, 2) for n, ms in timed.per_statement_ms.items()},
                    timeouts=timed.timeouts,
                    indexes=built_indexes(connections[label], designs_of[label], workload),
                )
            )
    return runs


def built_indexes(
    conn: psycopg.Connection[Any], designs: Sequence[IndexDesign], workload: QualityWorkload
) -> list[BuiltIndex]:
    """The new indexes of one copy after its rounds: real size, scans, and the statements
    whose plans (one per distinct parameter set) use each."""
    if not designs:
        return []
    names = [d.name() for d in designs]
    used_by: dict[str, list[str]] = {name: [] for name in names}
    for statement in workload.statements:
        used: set[str] = set()
        for params in dict.fromkeys(statement.params):
            plan = conn.execute(f"explain (format json) {statement.sql}", params).fetchone()
            if plan is not None:
                used |= plan_index_names(plan[0])
        for name in sorted(used & set(names)):
            used_by[name].append(statement.name)
    if conn.info.server_version >= 150_000:
        conn.execute("select pg_stat_force_next_flush()")
    counters = {
        str(name): (int(scans), int(size))
        for name, scans, size in conn.execute(NEW_INDEXES_SQL, (names,)).fetchall()
    }
    return [
        BuiltIndex(
            name=name,
            definition=design.definition_sql(),
            size_bytes=counters.get(name, (0, 0))[1],
            idx_scan=counters.get(name, (0, 0))[0],
            used_by=used_by[name],
        )
        for name, design in zip(names, designs, strict=True)
    ]


def plan_index_names(plan: Any) -> set[str]:
    """Every index an EXPLAIN (FORMAT JSON) plan scans."""
    found: set[str] = set()
    if isinstance(plan, dict):
        name = plan.get("Index Name")
        if isinstance(name, str):
            found.add(name)
        for value in plan.values():
            found |= plan_index_names(value)
    elif isinstance(plan, list):
        for item in plan:
            found |= plan_index_names(item)
    return found


# ---------------------------------------------------------------------------- reporting


def ratio(part: float | None, whole: float | None) -> float | None:
    """part / whole, or None when either is missing or the whole is not positive."""
    if part is None or whole is None or whole <= 0:
        return None
    return part / whole


def _ratio_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_statements(result: ValuesResult) -> str:
    """Per statement: real ms of its calls in a round with no new index, with the
    generic-only advice and with the value-aware advice, and value-aware / generic-only."""
    runs = [result.run_for(NONE), result.run_for(GENERIC), result.run_for(VALUE_AWARE)]
    rows: list[list[object]] = []
    for info in result.statements:
        times = [None if r is None else r.per_statement_ms.get(info.name) for r in runs]
        rows.append([info.name, info.calls, *times, _ratio_text(ratio(times[2], times[1]))])
    totals = [None if r is None else r.total_ms for r in runs]
    calls = sum(info.calls for info in result.statements)
    rows.append(["total", calls, *totals, _ratio_text(ratio(totals[2], totals[1]))])
    headers = ["statement", "calls", "none ms", f"{GENERIC} ms", f"{VALUE_AWARE} ms"]
    headers.append("aware / generic")
    return table(headers, rows)


def format_advice(result: ValuesResult) -> str:
    """Each analysis: what it claimed, each index with its estimate and its real life."""
    lines: list[str] = []
    for advice in result.advice:
        run = result.run_for(advice.setting)
        built = {b.definition: b for b in run.indexes} if run else {}
        lines.append(
            f"{advice.setting}: {len(advice.indexes)} indexes, estimated "
            f"{size_text(sum(i.estimated_size_bytes for i in advice.indexes))} of the "
            f"{size_text(advice.budget_bytes)} budget; {advice.statements_analyzed} of "
            f"{advice.statements_total} statements analyzed in {advice.seconds:.1f} s "
            f"({advice.explains:,} what-if EXPLAINs)"
        )
        for reason, names in advice.skipped.items():
            lines.append(f"  skipped {len(names)}: {reason}: {', '.join(names)}")
        for index in advice.indexes:
            real = built.get(index.definition)
            lines.append(f"  {index.create_sql}")
            facts = [
                f"est. {size_text(index.estimated_size_bytes)}",
                f"est. saves {index.estimated_ms_saved_per_day:,.0f} ms/day",
                f"for {', '.join(index.statements) or '-'}",
            ]
            if real is not None:
                facts.append(f"real {size_text(real.size_bytes)}, {real.idx_scan:,} scans")
                facts.append(
                    f"plans use it: {', '.join(real.used_by)}" if real.used_by else "UNUSED"
                )
            lines.append("      " + "; ".join(facts))
            lines.extend(f"      depends on: {d}" for d in index.depends_on)
            lines.extend(f"      note: {n}" for n in index.notes)
            lines.extend(f"      warning: {w}" for w in index.warnings)
    return "\n".join(lines)


def claimed_lines(result: ValuesResult) -> list[str]:
    """Per analysis: the share of the workload's time it claimed to save, and the share
    of the round's real time its set saved."""
    none = result.run_for(NONE)
    lines = []
    for advice in result.advice:
        claimed = ratio(advice.estimated_ms_saved_per_day, advice.workload_ms_per_day)
        run = result.run_for(advice.setting)
        saved = None
        if none is not None and run is not None:
            saved = ratio(none.total_ms - run.total_ms, none.total_ms)
        lines.append(
            f"{advice.setting}: claimed {advice.estimated_ms_saved_per_day:,.0f} ms/day saved "
            f"of {advice.workload_ms_per_day:,.0f} ({_share(claimed)}); real round saved "
            f"{_share(saved)}"
        )
    return lines


def size_text(size_bytes: float) -> str:
    """A size in kB below one MB, else in MB."""
    if size_bytes < MIB:
        return f"{size_bytes / 1024:,.0f} kB"
    return f"{size_bytes / MIB:,.1f} MB"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def unused_indexes(result: ValuesResult) -> list[str]:
    """The recommended indexes that no plan used once built."""
    return [
        f"{run.label}: {index.definition}"
        for run in result.runs
        for index in run.indexes
        if index.idx_scan == 0 and not index.used_by
    ]


def target_line(result: ValuesResult) -> str:
    """The issue's target: value-aware advice runs the workload faster than generic-only."""
    aware, generic = result.run_for(VALUE_AWARE), result.run_for(GENERIC)
    if aware is None or generic is None:
        return f"{VALUE_AWARE} vs {GENERIC}: not measured"
    value = ratio(aware.total_ms, generic.total_ms)
    same = "; both advised the same set" if aware is generic else ""
    verdict = "-" if value is None else ("met" if value < 1 else "MISSED")
    return (
        f"{VALUE_AWARE} total real time {aware.total_ms:,.1f} ms vs {GENERIC} "
        f"{generic.total_ms:,.1f} ms (ratio {_ratio_text(value)}; target < 1: {verdict}{same})"
    )


def report(result: ValuesResult) -> str:
    """Everything the section prints."""
    parts = [
        f"--- skewed: {result.description}",
        f"data {result.data_bytes / MIB:,.0f} MB (scale {result.scale:g}), budget "
        f"{result.budget_fraction:g}x = {result.budget_bytes / MIB:,.1f} MB; pg_qualstats "
        f"{'sampled every statement' if result.qualstats else 'not installed'}; the round "
        f"the advisor saw took {result.workload_round_ms / 1000:.1f} s",
        "",
        format_statements(result),
        "",
        format_advice(result),
        "",
        *claimed_lines(result),
    ]
    unused = unused_indexes(result)
    if unused:
        parts.append("built but used by no plan: " + "; ".join(unused))
    parts.extend(["", target_line(result)])
    return "\n".join(parts)
