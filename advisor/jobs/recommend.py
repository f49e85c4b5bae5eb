"""`pg-advisor recommend` and the daemon's analyze job: one observation of one database ->
statements -> candidates -> the chosen indexes, and the safe drops.

This module wires the stages together; each stage lives in its own module and the
algorithm in `analyze/` never sees a connection.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import psycopg
import structlog

from advisor import config
from advisor.analyze.candidates import (
    Extensions,
    PageOrders,
    candidate_groups,
    generate_candidates,
    value_candidates,
)
from advisor.analyze.expressions import expression_sql
from advisor.analyze.health import safe_drops
from advisor.analyze.probes import Known, value_probes
from advisor.analyze.select import Target, select_indexes
from advisor.analyze.selectivity import ExpressionFilter, safe_to_sample, sharpened
from advisor.analyze.sizes import ExpressionStats, deduplicated_size
from advisor.analyze.sqltext import bind_parameters
from advisor.analyze.syntax import expression as parsed_expression
from advisor.analyze.values import (
    Scenario,
    ValueModel,
    json_key_columns,
    partition_statistics_columns,
    statistics_columns,
)
from advisor.analyze.writecost import WriteCostModel, written_columns
from advisor.analyze.writerates import WriteRates
from advisor.collect.samples import ExpressionSample, json_keys, sample_expression
from advisor.collect.values import read_value_knowledge
from advisor.config import Settings
from advisor.errors import PermissionDenied
from advisor.jobs.health import simulate_drops
from advisor.jobs.observe import Observation, observe
from advisor.model import (
    Analysis,
    Finding,
    FindingKind,
    IndexDesign,
    JsonKeys,
    ParsedStatement,
    PlannableText,
    Recommendation,
    Schema,
    Skipped,
    StatementKind,
    Table,
    TableName,
    TableWriteRate,
    ValueAssumption,
    ValueSource,
    Workload,
    quote_ident,
)
from advisor.pg import (
    Capabilities,
    Connection,
    pg_stat_statements_missing,
    require_hypopg,
    translate,
)
from advisor.whatif import PERMISSION_DENIED, PlanningError, Variant, WhatIf

log = structlog.get_logger(__name__)
MIB = 1024 * 1024


@dataclass(frozen=True)
class Prepared:
    """The statements that can be planned, and those skipped with their reasons."""

    targets: tuple[Target, ...]
    parsed: tuple[ParsedStatement, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class Planning:
    """One database's workload made ready for the selection: the statements planned once,
    the search space, the planner (open while `planning` is) and the drops planned."""

    observation: Observation
    schema: Schema  # as it will be after the drops
    whatif: WhatIf
    prepared: Prepared
    space: SearchSpace
    values: ValueModel | None
    valued: Mapping[int, Costing]
    drops: tuple[Finding, ...]
    drops_note: str | None


@contextmanager
def planning(
    conn: Connection,
    settings: Settings,
    observation: Observation | None = None,
    drops: bool = False,
) -> Iterator[Planning]:
    """The analysis up to the choice: observe (unless given), plan the safe drops (with
    `drops`), plan every statement once, learn its values (`value_aware`), build the search
    space. The planner stays open in the context and is closed at its end; database errors
    come out translated. `recommend` chooses once, within the configured budget; the
    quality bench chooses within several budgets in one context (`choose_indexes`)."""
    if observation is None:
        observation = observe(conn, settings)
        if not observation.caps.pg_stat_statements:
            raise pg_stat_statements_missing(observation.caps)
    caps = observation.caps
    require_hypopg(conn, caps)
    workload, write_rates = observation.workload, observation.write_rates
    _require_visible_statements(workload, caps.role)
    schema = observation.schema
    planned_drops: tuple[Finding, ...] = ()
    kept = 0
    if drops:
        planned_drops = safe_drops(
            schema, {table: rate.index_rows_per_day for table, rate in write_rates.items()}
        )
        if planned_drops:
            try:
                judged, _ = simulate_drops(conn, observation, settings, planned_drops)
            except psycopg.Error as error:
                raise translate(error, "planning the drops") from None
            planned_drops = tuple(f for f in judged if f.kind is not FindingKind.NEEDED)
            kept = len(judged) - len(planned_drops)
    oids = _oids(schema, planned_drops)
    schema = schema.without((f.table, f.index) for f in planned_drops)
    samples = ExpressionSamples(conn, settings.sample_expression_rows)
    whatif = what_if(conn, caps, settings, schema, oids, samples)
    values: ValueModel | None = None
    valued: dict[int, Costing] = {}
    try:
        drops_note = _drops_note(planned_drops, whatif.hidden, kept)
        prepared = prepare(workload, observation.parsed, whatif)
        require_plannable(prepared, caps.role)
        if settings.value_aware:
            values = learn_values(conn, caps, settings, schema, prepared)
            sharpen = _sharpener(samples, schema)
            valued = cost_with_values(values, prepared, whatif, sharpen)
        space = search_space(settings, schema, prepared, write_rates, values)
        space = accepted(space, whatif)
        plan_as_columns(space, prepared, valued, whatif)
        yield Planning(
            observation, schema, whatif, prepared, space, values, valued, planned_drops, drops_note
        )
    except psycopg.Error as error:
        raise translate(error, "planning with hypothetical indexes") from None
    finally:
        whatif.close()


def choose_indexes(
    planned: Planning, settings: Settings, budget: int
) -> tuple[Recommendation, ...]:
    """The indexes to recommend within `budget` bytes, with their warnings, the values they
    depend on and the basis of their write cost."""
    space, observation = planned.space, planned.observation
    window_seconds = observation.workload.window_seconds
    recommendations = select_indexes(
        planned.prepared.targets,
        space.candidates,
        planned.whatif,
        config.selection_settings(settings, budget),
        window_seconds,
        space.writes.ms_per_day,
        space.extensions,
        space.page_orders,
        space.groups,
        mixed=_mixed(planned.valued),
    )
    return tuple(
        replace(
            _with_write_basis(
                _with_values(
                    _with_warnings(r, space.writes, observation.write_rates),
                    space,
                    planned.values,
                    planned.whatif,
                ),
                observation.writes,
                window_seconds,
            ),
            partitions=observation.schema.partitions(r.design.table),
        )
        for r in recommendations
    )


def _mixed(valued: Mapping[int, Costing]) -> frozenset[int]:
    """The statements whose scenarios vary two parameters or more (a tenant and a JSON
    key): one scenario's plan may want one index of a table and another's another, so
    the selection weighs a design beside those chosen on its own table. Every other
    statement is weighed with one design per table, which plans far fewer combinations."""
    return frozenset(
        queryid
        for queryid, costing in valued.items()
        if len({n for s in costing.scenarios for n in s.literals}) > 1
    )


def recommend(
    conn: Connection,
    settings: Settings,
    observation: Observation | None = None,
    drops: bool = False,
) -> Analysis:
    """Recommend indexes for the connected database: for the observation's workload and
    write rates (the daemon's window), or for what the statistics hold now. With `drops`,
    the plan also drops the safe ones among the existing indexes (see safe_drops), and the
    selection plans the workload as it will be after them."""
    started = time.monotonic()
    if observation is None:
        observation = observe(conn, settings)
    if not observation.caps.pg_stat_statements:
        raise pg_stat_statements_missing(observation.caps)
    with planning(conn, settings, observation, drops) as planned:
        budget = budget_bytes(settings, planned.schema, planned.prepared.parsed)
        recommendations = choose_indexes(planned, settings, budget)
    caps, workload = planned.observation.caps, planned.observation.workload
    prepared, whatif, observed = planned.prepared, planned.whatif, planned.observation.writes
    values = planned.values
    probes = value_probes(
        prepared.parsed,
        {t.statement.queryid: t.statement for t in prepared.targets},
        planned.schema,
        _known_values(values),
        workload.window_seconds,
    )
    elapsed = time.monotonic() - started
    log.info(
        "analyze.done",
        database=caps.database,
        statements=len(workload.statements),
        planned=len(prepared.targets),
        skipped=len(prepared.skipped),
        candidates=len(planned.space.candidates),
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
        statements_analyzed=len(prepared.targets),
        window_seconds=workload.window_seconds,
        budget_bytes=budget,
        whatif_explains=whatif.explains,
        whatif_cache_hits=whatif.cache_hits,
        elapsed_seconds=elapsed,
        workload_ms_per_day=_per_day(workload),
        statements_with_values=len(planned.valued),
        value_notes=values.knowledge.notes if values is not None else (),
        drops=planned.drops,
        drops_note=planned.drops_note,
        write_notes=observed.notes if observed is not None else (),
        value_probes=probes,
    )


# What the table holds tells nothing of what the calls ask for.
_NOT_OBSERVED = (ValueSource.STATISTICS, ValueSource.SAMPLE)


def _known_values(values: ValueModel | None) -> Known:
    """Whether a source showed the values a statement's parameter takes: the server log
    or pg_qualstats (pg_stats tells what the table holds, not what the calls ask for)."""
    if values is None:
        return lambda queryid, number: False
    model = values

    def known(queryid: int, number: int) -> bool:
        distribution = model.distributions(queryid).get(number)
        return distribution is not None and distribution.source not in _NOT_OBSERVED

    return known


def _oids(schema: Schema, drops: Sequence[Finding]) -> list[int]:
    names = {(f.table, f.index) for f in drops}
    return [
        index.oid
        for table in schema.tables.values()
        for index in table.indexes
        if (index.table, index.name) in names and index.oid
    ]


def _drops_note(drops: Sequence[Finding], hidden: bool, kept: int = 0) -> str | None:
    """How the selection planned the workload without the indexes the plan drops, and how
    many safe drops a workload statement's plan kept."""
    held = (
        f"{kept} index(es) another one serves are kept: a workload statement's plan needs "
        "them (`pg-advisor health` says which)"
        if kept
        else None
    )
    if not drops:
        return held
    if hidden:
        note = (
            "the workload was planned with the dropped indexes hidden from the planner "
            "(HypoPG's hypopg_hide_index, this session only)"
        )
    else:
        note = (
            "candidates and write costs count the dropped indexes as gone; the planner still "
            "saw them (this HypoPG has no hypopg_hide_index; 1.4.0 and later do), which "
            "changes little: an index kept on the same table serves every scan each of them "
            "does, and no statement's plan gets markedly costlier by the size bound"
        )
    return f"{note}; {held}" if held else note


def what_if(
    conn: Connection,
    caps: Capabilities,
    settings: Settings,
    schema: Schema,
    hidden: Sequence[int] = (),
    samples: ExpressionSamples | None = None,
) -> WhatIf:
    """The planner port for this database, with sizes corrected for btree deduplication
    and, for expression keys, by `samples` (PostgreSQL 13+; HypoPG does not model it),
    planning without the `hidden` indexes where HypoPG can."""
    tables = schema.tables
    samples = samples or ExpressionSamples(conn, settings.sample_expression_rows)

    def expression_stats(table: Table, expression: str) -> ExpressionStats | None:
        sample = samples.of(table, expression)
        return sample.stats() if sample is not None else None

    def size_model(design: IndexDesign, size: int) -> int:
        table = tables.get(design.table)
        return deduplicated_size(
            design, size, table, (lambda e: expression_stats(table, e)) if table else None
        )

    return WhatIf(
        conn,
        caps,
        settings.explain_timeout_ms,
        size_model=size_model if caps.major >= 13 else None,
        hidden=hidden,
    )


def prepare(
    workload: Workload, parsed_statements: Mapping[int, ParsedStatement | Skipped], whatif: WhatIf
) -> Prepared:
    """Plan every parsed statement once; what fails to parse or plan is skipped with its
    reason."""
    targets: list[Target] = []
    parsed_ok: list[ParsedStatement] = []
    skipped: list[Skipped] = []
    for statement in workload.statements:
        parsed = parsed_statements[statement.queryid]
        if isinstance(parsed, Skipped):
            skipped.append(parsed)
            continue
        try:
            whatif.register(parsed)
        except PlanningError as error:
            reason = _denied_write(parsed, str(error)) or str(error)
            skipped.append(Skipped(statement.queryid, reason, statement.text))
            continue
        targets.append(Target(statement, parsed.tables))
        parsed_ok.append(parsed)
    for reason in {s.reason for s in skipped}:
        log.debug("analyze.skipped", reason=reason, count=sum(s.reason == reason for s in skipped))
    return Prepared(tuple(targets), tuple(parsed_ok), tuple(skipped))


def learn_values(
    conn: Connection,
    caps: Capabilities,
    settings: Settings,
    schema: Schema,
    prepared: Prepared,
) -> ValueModel:
    """What is known about the values the statements run with (read-only; any source may
    be missing, which the knowledge's notes say)."""
    knowledge = read_value_knowledge(
        conn,
        caps,
        statistics_columns(prepared.parsed) | partition_statistics_columns(prepared.parsed, schema),
        [t.statement.queryid for t in prepared.targets],
        settings.parameter_log_dir,
    )
    for note in knowledge.notes:
        log.info("analyze.values", note=note)
    knowledge = replace(
        knowledge,
        json_keys=_sampled_json_keys(conn, schema, prepared, settings.sample_expression_rows),
    )
    statements = [t.statement for t in prepared.targets]
    return ValueModel(
        knowledge, statements, prepared.parsed, schema, config.value_settings(settings)
    )


def _sampled_json_keys(
    conn: Connection, schema: Schema, prepared: Prepared, sample_rows: int
) -> dict[tuple[TableName, str], JsonKeys]:
    """The keys of each JSON column a statement filters on by a key bound as a parameter,
    on a sample of its rows (none when sample_rows is 0)."""
    found = {}
    for name, column, type_name in sorted(json_key_columns(prepared.parsed, schema)):
        table = schema.tables.get(name)
        keys = json_keys(conn, table, column, type_name, sample_rows) if table else None
        if keys is not None:
            found[(name, column)] = keys
    return found


class ExpressionSamples:
    """The expressions of one analysis measured on a sample of their tables, each once:
    the sharpener asks for an expression filter's selectivity, the size model for an index
    key's width and distinct values, of the same expression written two ways."""

    def __init__(self, conn: Connection, sample_rows: int) -> None:
        self._conn, self.sample_rows = conn, sample_rows
        self._found: dict[tuple[TableName, str], ExpressionSample | None] = {}

    def of(self, table: Table, expression: str) -> ExpressionSample | None:
        node = parsed_expression(expression)
        key = (table.name, expression_sql(node) if node is not None else expression)
        if key not in self._found:
            self._found[key] = (
                sample_expression(self._conn, table, expression, self.sample_rows)
                if safe_to_sample(expression)
                else None
            )
        return self._found[key]


def _sharpener(samples: ExpressionSamples, schema: Schema) -> Callable[[str], str]:
    """A text with the measured selectivity of its expression filters written in (see
    advisor/analyze/selectivity.py)."""

    def selectivity(found: ExpressionFilter) -> float | None:
        table = schema.resolve(found.table, found.schema)
        sample = samples.of(table, found.expression) if table is not None else None
        return sample.selectivity if sample is not None else None

    return lambda text: sharpened(text, selectivity) if samples.sample_rows > 0 else text


@dataclass(frozen=True)
class Costing:
    """How a statement is costed with values: its scenarios and its parameters' types."""

    scenarios: tuple[Scenario, ...]
    types: Mapping[int, str]


def cost_with_values(
    values: ValueModel,
    prepared: Prepared,
    whatif: WhatIf,
    sharpen: Callable[[str], str] = lambda text: text,
) -> dict[int, Costing]:
    """Plan each statement with known values as the weighted mix of its scenarios (a
    custom plan per set of values, the generic plan for the calls whose values are not
    known), each text `sharpen`ed (an expression's measured selectivity written in).
    Returns the statements costed that way."""
    by_id = {p.queryid: p for p in prepared.parsed}
    valued = {}
    for queryid in values.valued():
        types = whatif.parameter_types(queryid)
        scenarios = values.scenarios(queryid, types)
        if not any(s.literals for s in scenarios):
            continue
        variants = [
            replace(v, text=sharpen(v.text))
            for v in _variants(by_id[queryid].plannable, scenarios, types)
        ]
        if whatif.set_variants(queryid, variants):
            valued[queryid] = Costing(scenarios, types)
    return valued


def _variants(
    text: PlannableText, scenarios: Sequence[Scenario], types: Mapping[int, str]
) -> list[Variant]:
    variants = []
    for scenario in scenarios:
        bound, count = bind_parameters(text, scenario.literals, types)
        variants.append(Variant(scenario.weight, bound, count))
    return variants


def plan_as_columns(
    space: SearchSpace, prepared: Prepared, valued: Mapping[int, Costing], whatif: WhatIf
) -> None:
    """Statements that filter on `lower(email)` and its like are planned on texts that
    read the column, and indexes on the expression as the column's (HypoPG has no
    statistics for an expression; see WhatIf.set_proxy)."""
    translations: dict[tuple[TableName, str], dict[IndexDesign, IndexDesign]] = {}
    for design, (plain, name) in space.proxies.items():
        if design in space.candidates:
            translations.setdefault((design.table, name), {})[design] = plain
    for statement in prepared.parsed:
        for access in statement.accesses:
            use = next((e for e in access.expressions if e.proxy_text and e.proxy_column), None)
            if use is None or use.proxy is None or use.proxy_column is None:
                continue
            costing = valued.get(statement.queryid)
            if costing is None:
                variants = [Variant(1.0, use.proxy.text, statement.parameter_count)]
            else:
                variants = _variants(use.proxy, costing.scenarios, costing.types)
            column = (access.table, use.proxy_column)
            whatif.set_proxy(statement.queryid, column, variants, translations.get(column, {}))
            break


@dataclass(frozen=True)
class SearchSpace:
    """What the selection searches: the candidates (each with the statements it may help),
    the designs grown from chosen ones, and what every design costs the writes; for the
    designs only values reveal, what they assume and why they qualify."""

    candidates: dict[IndexDesign, frozenset[int]]
    extensions: Extensions
    writes: WriteCostModel
    assumptions: Mapping[IndexDesign, tuple[ValueAssumption, ...]] = field(default_factory=dict)
    notes: Mapping[IndexDesign, tuple[str, ...]] = field(default_factory=dict)
    proxies: Mapping[IndexDesign, tuple[IndexDesign, str]] = field(default_factory=dict)
    page_orders: PageOrders | None = None
    # Designs that pay only together: one per arm of an OR (see candidate_groups).
    groups: Mapping[tuple[IndexDesign, ...], frozenset[int]] = field(default_factory=dict)


def search_space(
    settings: Settings,
    schema: Schema,
    prepared: Prepared,
    rates: Mapping[TableName, TableWriteRate],
    values: ValueModel | None = None,
) -> SearchSpace:
    candidate_settings = config.candidate_settings(settings)
    candidates = generate_candidates(prepared.parsed, schema, candidate_settings)
    assumptions: dict[IndexDesign, tuple[ValueAssumption, ...]] = {}
    notes: dict[IndexDesign, tuple[str, ...]] = {}
    proxies: dict[IndexDesign, tuple[IndexDesign, str]] = {}
    if values is not None:
        extra = value_candidates(
            prepared.parsed,
            schema,
            candidate_settings,
            values,
            lambda table: _append_only(rates.get(table)),
            config.brin_settings(settings),
        )
        for design, queryids in extra.helps.items():
            candidates[design] = candidates.get(design, frozenset()) | queryids
        assumptions.update(extra.assumptions)
        notes.update(extra.notes)
        proxies.update(extra.proxies)
    writes = write_cost_model(settings, schema, prepared.parsed, rates)
    for design, assumed in assumptions.items():
        shares = [a.share_of_rows for a in assumed if a.share_of_rows is not None]
        if design.predicate and shares:
            writes.predicate_shares[design] = min(shares)
    return SearchSpace(
        candidates,
        Extensions(prepared.parsed, schema, candidate_settings),
        writes,
        assumptions,
        notes,
        proxies,
        PageOrders(prepared.parsed, schema, candidate_settings),
        candidate_groups(prepared.parsed, schema, candidate_settings),
    )


def accepted(space: SearchSpace, whatif: WhatIf) -> SearchSpace:
    """The search space without the value-derived designs PostgreSQL would refuse (an
    expression that is not immutable, such as `created_at::date` on a timestamptz)."""
    refused = [
        design for design in space.candidates if _derived(design) and not whatif.accepts(design)
    ]
    for design in refused:
        log.info("analyze.refused_candidate", design=str(design))
    if not refused:
        return space
    candidates = {d: q for d, q in space.candidates.items() if d not in refused}
    return replace(space, candidates=candidates)


def _derived(design: IndexDesign) -> bool:
    """A design only values reveal: partial, on an expression, or not a btree."""
    return (
        bool(design.predicate)
        or design.access_method != "btree"
        or any(k.is_expression for k in design.keys)
    )


def _append_only(rate: TableWriteRate | None) -> bool:
    """Written by inserts, (almost) never by updates or deletes; unknown counts as yes
    (BRIN also needs the correlation, which updates would have broken)."""
    if rate is None:
        return True
    return rate.updates_per_day + rate.deletes_per_day <= 0.05 * max(rate.inserts_per_day, 1.0)


def _with_values(
    rec: Recommendation, space: SearchSpace, values: ValueModel | None, whatif: WhatIf
) -> Recommendation:
    """The values the recommendation depends on, the drift it must watch for, and for a
    BRIN index how it compares with a btree on the same column."""
    if values is None:
        return rec
    design = rec.design
    depends = list(space.assumptions.get(design, ()))
    # The values its statements were costed with, for the columns the index is on.
    columns = {quote_ident(c) for c in design.key_columns}
    seen = {(a.target, a.values) for a in depends}
    for effect in rec.statements:
        for assumption in values.assumptions(effect.queryid):
            key = (assumption.target, assumption.values)
            if (
                assumption.table == design.table
                and assumption.target in columns
                and key not in seen
            ):
                seen.add(key)
                depends.append(assumption)
    warnings = list(rec.warnings)
    if design.predicate:
        warnings.append(
            f"partial index: it serves only calls with {design.predicate}; if other values "
            "become frequent for these statements, it stops serving them (the report flags "
            "that drift)"
        )
    notes = [*rec.notes, *space.notes.get(design, ())]
    brin = IndexDesign(design.table, design.keys[:1], access_method="brin")
    if design.access_method == "brin":
        notes.append(_brin_trade(rec, rec.design, whatif))
    elif len(design.keys) == 1 and not design.predicate and brin in space.notes:
        notes.append(_brin_trade(rec, brin, whatif))
    return replace(rec, depends_on=tuple(depends[:6]), warnings=tuple(warnings), notes=tuple(notes))


def _brin_trade(rec: Recommendation, brin: IndexDesign, whatif: WhatIf) -> str:
    """How a BRIN index and a btree on the same column compare, for the statements the
    recommendation helps: size against plan cost."""
    btree = IndexDesign(brin.table, brin.keys)
    btree_size, size = whatif.size_bytes(btree), whatif.size_bytes(brin)
    with_brin = sum(whatif.cost(e.queryid, [brin]) for e in rec.statements)
    with_btree = sum(whatif.cost(e.queryid, [btree]) for e in rec.statements)
    ratio = btree_size / max(size, 1)
    if with_btree < with_brin * 0.8:
        verdict = (
            f"the btree plans these statements at a cost of {with_btree:,.0f} against "
            f"{with_brin:,.0f} with BRIN, for {ratio:,.0f}x the size: the btree is the better "
            "trade for speed, BRIN where storage and write cost matter more"
        )
    else:
        verdict = (
            f"the btree would be {ratio:,.0f}x the size for about the same plan cost "
            f"({with_btree:,.0f} against {with_brin:,.0f} with BRIN): BRIN is the better trade"
        )
    return (
        f"BRIN on {', '.join(brin.key_columns)}: {_kb(size)} against {_kb(btree_size)} for a "
        f"btree; {verdict}"
    )


def _kb(size: int) -> str:
    return f"{size / MIB:,.1f} MB" if size >= MIB else f"{size / 1024:,.0f} kB"


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
        config.write_cost_settings(settings),
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


def _with_write_basis(
    rec: Recommendation, observed: WriteRates | None, window_seconds: float
) -> Recommendation:
    if observed is not None:
        basis = observed.basis(rec.design.table)
    else:
        basis = (
            f"write cost: stored snapshots of pg_stat_user_tables over the analysis window "
            f"({window_seconds / 3600.0:,.1f} h)"
        )
    return replace(rec, notes=(*rec.notes, basis))


def _denied_write(parsed: ParsedStatement, reason: str) -> str | None:
    """For a write statement the role may not plan: what EXPLAIN needs and what is left
    out without it (EXPLAIN checks the write privilege, though it runs nothing)."""
    if not reason.startswith(PERMISSION_DENIED) or parsed.kind is StatementKind.SELECT:
        return None
    verb = parsed.kind.name
    tables = ", ".join(str(t) for t in sorted(parsed.tables, key=str))
    return (
        f"{PERMISSION_DENIED}: EXPLAIN of an {verb} needs the {verb} privilege on {tables} "
        "(the advisor never runs it; a read-only role leaves the statement's own reads out "
        "of the advice, its write cost still counts)"
    )


def require_plannable(prepared: Prepared, role: str) -> None:
    """PermissionDenied when no statement could be planned and some failed for want of a
    privilege: advice on none of them is no advice, not a well-indexed workload."""
    denied = [s for s in prepared.skipped if s.reason.startswith(PERMISSION_DENIED)]
    if prepared.targets or not denied:
        return
    reads = [s for s in denied if "EXPLAIN of an" not in s.reason] or denied
    cause = (
        reads[0]
        .reason.removeprefix(f"{PERMISSION_DENIED}: ")
        .removesuffix(" (GRANT SELECT on the table)")
    )
    raise PermissionDenied(
        f"role {role} may plan none of the {len(denied)} statements ({cause}): EXPLAIN "
        "needs SELECT on the tables a statement reads, though it reads no row: "
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}; (for each schema in use)"
    )


def _require_visible_statements(workload: Workload, role: str) -> None:
    hidden = sum(n for reason, n in workload.excluded.items() if "insufficient privilege" in reason)
    if hidden and not workload.statements:
        raise PermissionDenied(
            f"role {role} sees none of the {hidden} statements' texts in pg_stat_statements: "
            f"GRANT pg_read_all_stats TO {role};"
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
