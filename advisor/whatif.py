"""The one port to the planner: hypothetical indexes (HypoPG) and generic-plan EXPLAIN.

A `WhatIf` owns one session. Hypothetical indexes live only in that backend, so a WhatIf is
never shared between threads. Costs are cached per statement and per set of hypothetical
indexes on the statement's own tables: a statement is planned again only when that set
changes.

Round trips are kept few: an EXPLAIN on PostgreSQL 15 and older (PREPARE, EXPLAIN
EXECUTE, DEALLOCATE) is one simple query, unwanted hypothetical indexes are dropped
together, and `prefetch` plans every statement with one design alone in a single round
trip per design (the first step of the index search asks for exactly those costs).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql

from advisor.model import IndexDesign, ParsedStatement, PlanEstimate, TableName
from advisor.pg import MARKER, Capabilities, Connection, first_line

# HypoPG hands out OIDs for hypothetical indexes; long runs can exhaust them
# (reported in Dexter's tracker), so the session is reset after this many creations.
HYPOPG_RESET_EVERY = 2_000
# How a statement the role may not plan is reported (Skipped.reason starts with it).
PERMISSION_DENIED = "permission denied"
_PREPARED = "pg_advisor_whatif"


class PlanningError(Exception):
    """A statement the planner cannot plan (the message says why)."""


@dataclass(frozen=True)
class Variant:
    """One text a statement is planned as, and the share of its calls it stands for: the
    normalized text (generic plan), or the text with some parameters replaced by values
    (the plan those values get)."""

    weight: float
    text: str
    parameter_count: int


class WhatIf:
    """What the planner would do with a set of hypothetical indexes.

    Built whole: the size model and the real indexes to plan without are given to the
    constructor. Then statements are registered and told how to be planned (register,
    set_variants, set_proxy); the first plan with a hypothetical index ends that stage, and
    configuring after it raises, since the costs already handed out would no longer hold."""

    def __init__(
        self,
        conn: Connection,
        caps: Capabilities,
        explain_timeout_ms: int,
        size_model: Callable[[IndexDesign, int], int] | None = None,
        hidden: Sequence[int] = (),
    ) -> None:
        self._conn = conn
        self._generic_plan_explain = caps.generic_plan_explain
        self._major = caps.major
        self._statements: dict[int, ParsedStatement] = {}
        self._variants: dict[int, tuple[Variant, ...]] = {}
        # Statements planned with a column in place of an expression (set_proxy): the
        # table and column, the texts; and the designs planned in place of expression ones.
        self._proxies: dict[int, tuple[TableName, str, tuple[Variant, ...]]] = {}
        self._translations: dict[IndexDesign, IndexDesign] = {}
        self._tables: dict[int, frozenset[TableName]] = {}
        self._present: dict[IndexDesign, int] = {}  # design -> hypothetical index oid
        self._by_oid: dict[int, IndexDesign] = {}
        self._cache: dict[tuple[int, frozenset[IndexDesign]], PlanEstimate] = {}
        self._sizes: dict[IndexDesign, int] = {}
        self._created_since_reset = 0
        self._hidden: tuple[int, ...] = ()  # real indexes the planner is to ignore
        # HypoPG's size estimate -> the size to budget with (btree deduplication,
        # analyze/sizes.py).
        self._size_model = size_model
        self._searching = False  # a plan with a hypothetical index was handed out
        self.explains = 0
        self.cache_hits = 0
        conn.execute(f"{MARKER} SET statement_timeout = {int(explain_timeout_ms)}")
        conn.execute(f"{MARKER} SET plan_cache_mode = force_generic_plan")
        self._stop_tracking_own_statements()
        conn.execute(f"{MARKER} SELECT hypopg_reset()")
        # Whether the planner plans without the `hidden` indexes: HypoPG 1.4's
        # hypopg_hide_index, for this session only (nothing is written); False where
        # HypoPG lacks it (1.3.1 on Debian 12), and the planner still sees them.
        self.hidden = self._hide(hidden)

    # ---------------------------------------------------------------- statements

    def register(self, statement: ParsedStatement) -> None:
        """Make a statement known; raises PlanningError if it cannot be planned at all."""
        self._configuring()
        self._statements[statement.queryid] = statement
        self._tables[statement.queryid] = statement.tables
        self._variants[statement.queryid] = (
            Variant(1.0, statement.plannable_text, statement.parameter_count),
        )
        try:
            self.plan(statement.queryid, frozenset())
        except PlanningError:
            del self._statements[statement.queryid]
            del self._variants[statement.queryid]
            del self._tables[statement.queryid]
            raise

    def parameter_types(self, queryid: int) -> dict[int, str]:
        """The types the server infers for the statement's parameters (`$n` -> type)."""
        statement = self._registered(queryid)
        if not statement.parameter_count:
            return {}
        text = statement.plannable_text + "\n"
        query = (
            f"{MARKER} PREPARE {_PREPARED} AS {text};\n"
            f"{MARKER} SELECT parameter_types::text[] FROM pg_prepared_statements "
            f"WHERE name = '{_PREPARED}';\n"
            f"{MARKER} DEALLOCATE {_PREPARED};\n"
        )
        try:
            results = _results(self._conn, query)
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            _deallocate(self._conn)
            return {}
        types = results[1][0][0] if results[1] else None
        return {n: str(t) for n, t in enumerate(types or (), start=1)}

    def set_variants(self, queryid: int, variants: Sequence[Variant]) -> int:
        """Plan the statement as these variants from now on, its cost their weighted sum.
        A variant the server cannot plan is dropped and the others' weights scaled up;
        with none left, the statement keeps its generic plan. Returns how many are kept."""
        self._configuring(queryid)
        kept = self._plannable(variants)
        if not kept:
            return 0
        self._variants[queryid] = kept
        self._forget(queryid)
        return len(kept)

    def set_proxy(
        self,
        queryid: int,
        column: tuple[TableName, str],
        variants: Sequence[Variant],
        translations: Mapping[IndexDesign, IndexDesign],
    ) -> None:
        """Plan the statement on texts that read `column` where it reads an expression of
        it (`lower(email)`), and each expression design in `translations` as the column's
        design. HypoPG has no statistics for an expression, so the planner would guess
        its selectivity (0.5% for equality) with or without the index; the column's
        statistics are close to what the real index gets once analyzed. Other designs on
        the column are left out of these plans: they cannot serve the expression."""
        self._configuring(queryid)
        kept = self._plannable(variants)
        if not kept:
            return
        self._proxies[queryid] = (column[0], column[1], kept)
        for design, plain in translations.items():
            self._translations[design] = plain
            # HypoPG knows no width for an expression and assumes a wide one (lower(email)
            # came out at 7x its real size): measured as the column's index instead.
            self._sizes[design] = self.size_bytes(plain)
        self._forget(queryid)

    def _registered(self, queryid: int) -> ParsedStatement:
        statement = self._statements.get(queryid)
        if statement is None:
            raise ValueError(f"statement {queryid} is not registered")
        return statement

    def _configuring(self, queryid: int | None = None) -> None:
        """Raise unless statements may still be registered and configured (no plan with a
        hypothetical index handed out yet), and, with a queryid, it is registered."""
        if self._searching:
            raise RuntimeError("statements are configured before any what-if plan")
        if queryid is not None:
            self._registered(queryid)

    def _forget(self, queryid: int) -> None:
        """Drop the statement's cached costs (its texts changed)."""
        for key in [k for k in self._cache if k[0] == queryid]:
            del self._cache[key]

    def _plannable(self, variants: Sequence[Variant]) -> tuple[Variant, ...]:
        """The variants the server can plan, their weights scaled to sum to 1 (empty when
        none can): all planned in one round trip, or, when that fails, one by one to find
        the culprits."""
        kept = self._planned(variants)
        total = sum(v.weight for v in kept)
        if total <= 0:
            return ()
        return tuple(Variant(v.weight / total, v.text, v.parameter_count) for v in kept)

    def _planned(self, variants: Sequence[Variant]) -> list[Variant]:
        commands = []
        for variant in variants:
            explain, _ = _explain_commands(variant, self._generic_plan_explain)
            commands.extend(explain)
        try:
            _results(self._conn, "".join(f"{MARKER} {c};\n" for c in commands))
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            _deallocate(self._conn)
        else:
            self.explains += len(variants)
            return list(variants)
        kept = []
        for variant in variants:
            try:
                _top_plan_of(self._conn, variant, self._generic_plan_explain)
            except PlanningError:
                continue
            self.explains += 1
            kept.append(variant)
        return kept

    def cost(self, queryid: int, designs: Iterable[IndexDesign]) -> float:
        """The planner's total cost of the statement with these hypothetical indexes."""
        return self.plan(queryid, designs).cost

    def plan(self, queryid: int, designs: Iterable[IndexDesign]) -> PlanEstimate:
        """Cost of the statement, and which of the given designs its plan uses."""
        tables = self._tables[queryid]
        relevant = frozenset(d for d in designs if d.table in tables)
        self._searching = self._searching or bool(relevant)
        key = (queryid, relevant)
        cached = self._cache.get(key)
        if cached is not None:
            self.cache_hits += 1
            return cached
        planned, variants, back = relevant, self._variants[queryid], {}
        proxy = self._proxies.get(queryid)
        if proxy is not None:
            table, column, variants = proxy
            back = {
                self._translations[d]: d
                for d in relevant
                if d in self._translations and self._translations[d].table == table
            }
            planned = frozenset(back) | frozenset(
                d
                for d in relevant
                if d not in self._translations
                and not (d.table == table and column in (*d.key_columns, *d.include))
            )
        self._materialize(planned, tables)
        cost = 0.0
        used_oids: set[str] = set()
        for variant in variants:
            plan = _top_plan_of(self._conn, variant, self._generic_plan_explain)
            self.explains += 1
            cost += variant.weight * float(plan["Total Cost"])
            used_oids.update(_index_names(plan))
        used = {
            back.get(design, design)
            for design, oid in self._present.items()
            if _hypo_name(oid) in used_oids and design in planned
        }
        result = PlanEstimate(cost, frozenset(used) & relevant)
        self._cache[key] = result
        return result

    def existing_indexes(self, queryid: int) -> frozenset[str]:
        """The real indexes the statement's plan uses as the schema stands (no
        hypothetical index present), by name."""
        self._materialize(frozenset(), self._tables[queryid])
        names: set[str] = set()
        for variant in self._variants[queryid]:
            plan = _top_plan_of(self._conn, variant, self._generic_plan_explain)
            self.explains += 1
            names.update(_real_index_names(plan))
        return frozenset(names)

    def prefetch(self, pairs: Mapping[IndexDesign, Iterable[int]]) -> None:
        """Plan each statement with each design alone, as `plan(queryid, [design])` would,
        in one round trip per design: HypoPG's reset, the design's creation and size, and
        every EXPLAIN go as one simple query. A batch that fails is left to `plan()`, which
        plans its statements one at a time and reports what fails."""
        self._searching = True
        for design, queryids in pairs.items():
            alone = frozenset({design})
            todo = [
                q
                for q in dict.fromkeys(queryids)
                if q in self._statements
                and design.table in self._tables[q]
                and (q, alone) not in self._cache
                and q not in self._proxies  # planned on its column's texts by plan()
            ]
            if not todo:
                continue
            literal = sql.Literal(design.hypothetical_sql()).as_string(self._conn)
            commands = [
                "SELECT hypopg_reset()",
                "SELECT indexrelid, hypopg_relation_size(indexrelid) "
                f"FROM hypopg_create_index({literal})",
            ]
            if self._hidden:  # the reset must not bring back an index `hide` removed
                hidden = ",".join(str(int(oid)) for oid in self._hidden)
                commands.append(
                    f"SELECT hypopg_hide_index(i) FROM unnest('{{{hidden}}}'::oid[]) AS i"
                )
            slots: list[list[int]] = []
            for queryid in todo:
                slots.append([])
                for variant in self._variants[queryid]:
                    explain, at = _explain_commands(variant, self._generic_plan_explain)
                    slots[-1].append(len(commands) + at)
                    commands.extend(explain)
            # The batch begins with a reset: whatever succeeds or fails, no index is
            # left that this object does not know of (after a failure, _reset() below).
            self._present.clear()
            self._by_oid.clear()
            self._created_since_reset = 0
            try:
                results = _results(self._conn, "".join(f"{MARKER} {c};\n" for c in commands))
            except psycopg.OperationalError:
                raise
            except psycopg.Error:
                _deallocate(self._conn)
                self._reset()
                continue
            oid, size = int(results[1][0][0]), int(results[1][0][1])
            self._present[design] = oid
            self._by_oid[oid] = design
            self._created_since_reset = 1
            if design not in self._sizes:
                model = self._size_model
                self._sizes[design] = model(design, size) if model is not None else size
            name = _hypo_name(oid)
            for queryid, places in zip(todo, slots, strict=True):
                cost, uses = 0.0, False
                for variant, slot in zip(self._variants[queryid], places, strict=True):
                    plan = _top_plan(results[slot][0])
                    cost += variant.weight * float(plan["Total Cost"])
                    uses = uses or name in set(_index_names(plan))
                    self.explains += 1
                self._cache[(queryid, alone)] = PlanEstimate(cost, alone if uses else frozenset())

    def accepts(self, design: IndexDesign) -> bool:
        """Whether HypoPG (and so PostgreSQL) accepts the design: an expression must be
        immutable, a predicate valid. Measures its size on the way."""
        try:
            self.size_bytes(design)
        except PlanningError:
            return False
        return True

    def size_bytes(self, design: IndexDesign) -> int:
        """HypoPG's estimate of the index's size on disk."""
        size = self._sizes.get(design)
        if size is None:
            oid = self._present.get(design)
            if oid is None:
                # Created and measured in one round trip.
                oid, size = self._create(design, measure=True)
            else:
                row = self._conn.execute(
                    f"{MARKER} SELECT hypopg_relation_size(%s)", (oid,)
                ).fetchone()
                size = int(row[0]) if row else 0
            if self._size_model is not None:
                size = self._size_model(design, size)
            self._sizes[design] = size
        return size

    def _hide(self, oids: Sequence[int]) -> bool:
        """Plan as if these real indexes were dropped, where HypoPG can."""
        if not oids:
            return True
        row = self._conn.execute(
            f"{MARKER} SELECT to_regprocedure('hypopg_hide_index(oid)') IS NOT NULL"
        ).fetchone()
        if not row or not row[0]:
            return False
        self._hidden = tuple(oids)
        self._hide_again()
        return True

    def close(self) -> None:
        # If the session is already gone, its hypothetical indexes went with it.
        with contextlib.suppress(psycopg.Error):
            self._conn.execute(f"{MARKER} SELECT hypopg_reset()")
            if self._hidden:
                self._conn.execute(f"{MARKER} SELECT hypopg_unhide_all_indexes()")

    # ---------------------------------------------------------------- internals

    def _materialize(self, wanted: frozenset[IndexDesign], tables: frozenset[TableName]) -> None:
        """Make the hypothetical indexes on `tables` exactly `wanted` (the unwanted ones
        are dropped in one round trip)."""
        unwanted = [d for d in self._present if d.table in tables and d not in wanted]
        if unwanted:
            oids = [self._present.pop(design) for design in unwanted]
            for oid in oids:
                self._by_oid.pop(oid, None)
            self._conn.execute(
                f"{MARKER} SELECT hypopg_drop_index(oid) FROM unnest(%s::oid[]) AS oid", (oids,)
            )
        if self._created_since_reset + len(wanted) > HYPOPG_RESET_EVERY:
            self._reset()
        for design in wanted:
            if design not in self._present:
                self._create(design)

    def _create(self, design: IndexDesign, measure: bool = False) -> tuple[int, int]:
        """Create the hypothetical index: its oid, and its size when `measure` (else 0)."""
        size_sql = "hypopg_relation_size(indexrelid)" if measure else "0"
        try:
            row = self._conn.execute(
                f"{MARKER} SELECT indexrelid, {size_sql} FROM hypopg_create_index(%s)",
                (design.hypothetical_sql(),),
            ).fetchone()
        except psycopg.Error as error:
            raise PlanningError(f"HypoPG rejected {design}: {first_line(error)}") from None
        if row is None:
            raise PlanningError(f"HypoPG created no index for {design}")
        oid = int(row[0])
        self._present[design] = oid
        self._by_oid[oid] = design
        self._created_since_reset += 1
        return oid, int(row[1])

    def _reset(self) -> None:
        self._conn.execute(f"{MARKER} SELECT hypopg_reset()")
        self._present.clear()
        self._by_oid.clear()
        self._created_since_reset = 0
        self._hide_again()

    def _hide_again(self) -> None:
        """Hide the indexes `hide` named (again: hiding twice is harmless, and the hidden
        list must not depend on whether a reset of HypoPG clears it)."""
        if self._hidden:
            self._conn.execute(
                f"{MARKER} SELECT hypopg_hide_index(i) FROM unnest(%s::oid[]) AS i",
                (list(self._hidden),),
            )

    def _stop_tracking_own_statements(self) -> None:
        _stop_tracking_own_statements(self._conn, self._major)


def _stop_tracking_own_statements(conn: Connection, major: int) -> None:
    """A role that may set pg_stat_statements.track (a superuser, or one granted SET on
    it, PostgreSQL 15+) keeps the advisor's EXPLAINs out of pg_stat_statements; everyone
    else relies on the MARKER comment being filtered out. Asked first: a SET refused would
    log an error in the DBA's server log on every connection."""
    may_set = (
        "SELECT rolsuper OR has_parameter_privilege('pg_stat_statements.track', 'SET') "
        if major >= 15
        else "SELECT rolsuper "
    )
    with contextlib.suppress(psycopg.Error):
        mine = "FROM pg_roles WHERE rolname = current_user"
        row = conn.execute(f"{MARKER} {may_set}{mine}").fetchone()
        if row and row[0]:
            conn.execute(f"{MARKER} SET pg_stat_statements.track = 'none'")


@dataclass(frozen=True)
class CurrentPlan:
    """A statement's generic plan: its total cost, and the real indexes it names with the
    cost of the plan nodes that scan each (times the loops a nested loop runs them)."""

    cost: float
    index_costs: Mapping[str, float]

    @property
    def indexes(self) -> frozenset[str]:
        return frozenset(self.index_costs)


class DropPlanner:
    """The plans a drop would change, without HypoPG's hypothetical indexes: each
    statement's generic plan as the schema stands, and, where HypoPG has
    hypopg_hide_index (1.4.0 and later), its plan with real indexes hidden from this
    session's planner (nothing is written; the index is shown again at once).

    Sets the session's plan_cache_mode and statement_timeout while open (the planning
    timeout per EXPLAIN) and resets them at close."""

    def __init__(self, conn: Connection, caps: Capabilities, explain_timeout_ms: int) -> None:
        self._conn = conn
        self._generic_plan_explain = caps.generic_plan_explain
        self.explains = 0
        conn.execute(f"{MARKER} SET statement_timeout = {int(explain_timeout_ms)}")
        conn.execute(f"{MARKER} SET plan_cache_mode = force_generic_plan")
        _stop_tracking_own_statements(conn, caps.major)
        row = conn.execute(
            f"{MARKER} SELECT to_regprocedure('hypopg_hide_index(oid)') IS NOT NULL"
        ).fetchone()
        self.can_hide = bool(row and row[0])

    def plan(self, statement: ParsedStatement, hidden: Sequence[int] = ()) -> CurrentPlan:
        """The statement's generic plan, with the `hidden` real indexes (oids) out of the
        planner's sight (only where `can_hide`). Raises PlanningError."""
        if hidden and not self.can_hide:
            raise PlanningError("this HypoPG cannot hide an index (hypopg_hide_index)")
        if hidden:
            self._conn.execute(
                f"{MARKER} SELECT hypopg_hide_index(i) FROM unnest(%s::oid[]) AS i",
                (list(hidden),),
            )
        try:
            plan = generic_plan(self._conn, statement, self._generic_plan_explain)
        finally:
            if hidden:
                self._conn.execute(
                    f"{MARKER} SELECT hypopg_unhide_index(i) FROM unnest(%s::oid[]) AS i",
                    (list(hidden),),
                )
        self.explains += 1
        costs: dict[str, float] = {}
        for name, cost in _real_index_scans(plan, 1.0):
            costs[name] = costs.get(name, 0.0) + cost
        return CurrentPlan(float(plan["Total Cost"]), costs)

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._conn.execute(f"{MARKER} RESET plan_cache_mode")
            self._conn.execute(f"{MARKER} RESET statement_timeout")


def generic_plan(
    conn: Connection, statement: ParsedStatement, generic_plan_explain: bool
) -> dict[str, Any]:
    """The top plan node of the statement's generic plan (the plan for any parameter
    values). PostgreSQL 16+ plans `$n` directly with EXPLAIN (GENERIC_PLAN); older servers
    go through PREPARE with plan_cache_mode = force_generic_plan."""
    variant = Variant(1.0, statement.plannable_text, statement.parameter_count)
    return _top_plan_of(conn, variant, generic_plan_explain)


def _top_plan_of(conn: Connection, variant: Variant, generic_plan_explain: bool) -> dict[str, Any]:
    """The top plan node of a variant's plan: generic for the parameters it still has."""
    try:
        if generic_plan_explain:
            row = conn.execute(
                f"{MARKER} EXPLAIN (FORMAT JSON, GENERIC_PLAN) {variant.text}\n"
            ).fetchone()
        else:
            row = _explain_prepared(conn, variant)
    except pg_errors.QueryCanceled:
        raise PlanningError("planning took longer than explain_timeout_ms") from None
    except pg_errors.InsufficientPrivilege as error:
        raise PlanningError(
            f"{PERMISSION_DENIED}: {first_line(error)} (GRANT SELECT on the table)"
        ) from None
    except psycopg.OperationalError:
        raise  # the connection is gone: not a fault of this statement
    except psycopg.Error as error:
        raise PlanningError(f"cannot plan: {first_line(error)}") from None
    if row is None:
        raise PlanningError("EXPLAIN returned nothing")
    return _top_plan(row)


def _top_plan(row: Any) -> dict[str, Any]:
    """The top plan node of an EXPLAIN (FORMAT JSON) row."""
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    plan: dict[str, Any] = document[0]["Plan"]
    return plan


def _explain_commands(variant: Variant, generic_plan_explain: bool) -> tuple[list[str], int]:
    """The commands that EXPLAIN the variant's generic plan, and which one is the
    EXPLAIN: PREPARE, EXPLAIN EXECUTE and DEALLOCATE before PostgreSQL 16. The statement's
    text ends with a newline, which ends a trailing `--` comment."""
    text = variant.text + "\n"
    if generic_plan_explain:
        return [f"EXPLAIN (FORMAT JSON, GENERIC_PLAN) {text}"], 0
    count = variant.parameter_count
    args = "(" + ", ".join(["NULL"] * count) + ")" if count else ""
    return [
        f"PREPARE {_PREPARED} AS {text}",
        f"EXPLAIN (FORMAT JSON) EXECUTE {_PREPARED}{args}",
        f"DEALLOCATE {_PREPARED}",
    ], 1


def _results(conn: Connection, query: str) -> list[list[Any]]:
    """The rows of every statement of a simple query (none for a command)."""
    cursor = conn.execute(query)
    results = []
    while True:
        results.append(cursor.fetchall() if cursor.description is not None else [])
        if not cursor.nextset():
            return results


def _deallocate(conn: Connection) -> None:
    """After a failed EXPLAIN: a prepared statement outlives the error. If PREPARE failed
    too, there is nothing to deallocate and the DEALLOCATE fails harmlessly."""
    with contextlib.suppress(pg_errors.InvalidSqlStatementName):
        conn.execute(f"{MARKER} DEALLOCATE {_PREPARED}")


def _explain_prepared(conn: Connection, statement: Variant) -> Any:
    """PG 15 and older: prepared anew every time, so that the plan reflects the
    hypothetical indexes present now (a cached plan would not). The session must have
    plan_cache_mode = force_generic_plan (WhatIf sets it).

    PREPARE, EXPLAIN EXECUTE and DEALLOCATE go in one round trip: without parameters the
    three are sent as one simple query. The text is one statement (parse.py refuses texts
    with several)."""
    commands, at = _explain_commands(statement, generic_plan_explain=False)
    try:
        results = _results(conn, "".join(f"{MARKER} {c};\n" for c in commands))
    except psycopg.OperationalError:
        raise
    except psycopg.Error:
        _deallocate(conn)
        raise
    return results[at][0] if results[at] else None


def _hypo_name(oid: int) -> str:
    return f"<{oid}>"


def _real_index_names(plan: dict[str, Any]) -> Iterator[str]:
    """The names of the real (not hypothetical) indexes named anywhere in the plan."""
    name = plan.get("Index Name")
    if isinstance(name, str) and not name.startswith("<"):
        yield name
    for child in plan.get("Plans", []):
        yield from _real_index_names(child)


def _real_index_scans(plan: dict[str, Any], loops: float) -> Iterator[tuple[str, float]]:
    """Each node that scans a real index: its name and the node's cost over all the times
    it runs (the inner side of a nested loop runs once per outer row)."""
    name = plan.get("Index Name")
    if isinstance(name, str) and not name.startswith("<"):
        yield name, float(plan.get("Total Cost", 0.0)) * loops
    children = plan.get("Plans", [])
    for position, child in enumerate(children):
        inner = plan.get("Node Type") == "Nested Loop" and position == 1
        rows = float(children[0].get("Plan Rows", 1.0)) if inner else 1.0
        yield from _real_index_scans(child, loops * max(rows, 1.0))


def _index_names(plan: dict[str, Any]) -> Iterator[str]:
    """The `<oid>` prefixes of every hypothetical index named anywhere in the plan."""
    name = plan.get("Index Name")
    if isinstance(name, str) and name.startswith("<"):
        yield name[: name.index(">") + 1]
    for child in plan.get("Plans", []):
        yield from _index_names(child)
