"""The one port to the planner: hypothetical indexes (HypoPG) and generic-plan EXPLAIN.

A `WhatIf` owns one session. Hypothetical indexes live only in that backend, so a WhatIf is
never shared between threads. Costs are cached per statement and per set of hypothetical
indexes on the statement's own tables: a statement is planned again only when that set
changes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from advisor.model import IndexDesign, ParsedStatement, PlanEstimate, TableName
from advisor.pg import MARKER, Capabilities, Connection, first_line

# HypoPG hands out OIDs for hypothetical indexes; long runs can exhaust them
# (reported in Dexter's tracker), so the session is reset after this many creations.
HYPOPG_RESET_EVERY = 2_000
_PREPARED = "pg_advisor_whatif"


class PlanningError(Exception):
    """A statement the planner cannot plan (the message says why)."""


class WhatIf:
    """What the planner would do with a set of hypothetical indexes."""

    def __init__(self, conn: Connection, caps: Capabilities, explain_timeout_ms: int) -> None:
        self._conn = conn
        self._generic_plan_explain = caps.generic_plan_explain
        self._statements: dict[int, ParsedStatement] = {}
        self._present: dict[IndexDesign, int] = {}  # design -> hypothetical index oid
        self._by_oid: dict[int, IndexDesign] = {}
        self._cache: dict[tuple[int, frozenset[IndexDesign]], PlanEstimate] = {}
        self._sizes: dict[IndexDesign, int] = {}
        self._created_since_reset = 0
        self.explains = 0
        self.cache_hits = 0
        conn.execute(f"{MARKER} SET statement_timeout = {int(explain_timeout_ms)}")
        conn.execute(f"{MARKER} SET plan_cache_mode = force_generic_plan")
        self._stop_tracking_own_statements()
        conn.execute(f"{MARKER} SELECT hypopg_reset()")

    # ---------------------------------------------------------------- statements

    def register(self, statement: ParsedStatement) -> None:
        """Make a statement known; raises PlanningError if it cannot be planned at all."""
        self._statements[statement.queryid] = statement
        try:
            self.plan(statement.queryid, frozenset())
        except PlanningError:
            del self._statements[statement.queryid]
            raise

    def cost(self, queryid: int, designs: Iterable[IndexDesign]) -> float:
        """The planner's total cost of the statement with these hypothetical indexes."""
        return self.plan(queryid, designs).cost

    def plan(self, queryid: int, designs: Iterable[IndexDesign]) -> PlanEstimate:
        """Cost of the statement, and which of the given designs its plan uses."""
        statement = self._statements[queryid]
        relevant = frozenset(d for d in designs if d.table in statement.tables)
        key = (queryid, relevant)
        cached = self._cache.get(key)
        if cached is not None:
            self.cache_hits += 1
            return cached
        self._materialize(relevant, statement.tables)
        plan = self._explain(statement)
        self.explains += 1
        used_oids = set(_index_names(plan))
        used = frozenset(
            design for design, oid in self._present.items() if _hypo_name(oid) in used_oids
        )
        result = PlanEstimate(float(plan["Total Cost"]), used & relevant)
        self._cache[key] = result
        return result

    def size_bytes(self, design: IndexDesign) -> int:
        """HypoPG's estimate of the index's size on disk."""
        if design not in self._sizes:
            oid = self._create(design)
            row = self._conn.execute(f"{MARKER} SELECT hypopg_relation_size(%s)", (oid,)).fetchone()
            self._sizes[design] = int(row[0]) if row else 0
        return self._sizes[design]

    def close(self) -> None:
        # If the session is already gone, its hypothetical indexes went with it.
        with contextlib.suppress(psycopg.Error):
            self._conn.execute(f"{MARKER} SELECT hypopg_reset()")

    # ---------------------------------------------------------------- internals

    def _materialize(self, wanted: frozenset[IndexDesign], tables: frozenset[TableName]) -> None:
        """Make the hypothetical indexes on `tables` exactly `wanted`."""
        for design in [d for d in self._present if d.table in tables and d not in wanted]:
            oid = self._present.pop(design)
            self._by_oid.pop(oid, None)
            self._conn.execute(f"{MARKER} SELECT hypopg_drop_index(%s)", (oid,))
        if self._created_since_reset + len(wanted) > HYPOPG_RESET_EVERY:
            self._reset()
        for design in wanted:
            self._create(design)

    def _create(self, design: IndexDesign) -> int:
        oid = self._present.get(design)
        if oid is not None:
            return oid
        try:
            row = self._conn.execute(
                f"{MARKER} SELECT indexrelid FROM hypopg_create_index(%s)",
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
        return oid

    def _reset(self) -> None:
        self._conn.execute(f"{MARKER} SELECT hypopg_reset()")
        self._present.clear()
        self._by_oid.clear()
        self._created_since_reset = 0

    def _explain(self, statement: ParsedStatement) -> dict[str, Any]:
        return generic_plan(self._conn, statement, self._generic_plan_explain)

    def _stop_tracking_own_statements(self) -> None:
        # Superusers can keep the advisor's EXPLAINs out of pg_stat_statements altogether;
        # everyone else relies on the MARKER comment being filtered out.
        with contextlib.suppress(psycopg.Error):
            self._conn.execute(f"{MARKER} SET pg_stat_statements.track = 'none'")


def generic_plan(
    conn: Connection, statement: ParsedStatement, generic_plan_explain: bool
) -> dict[str, Any]:
    """The top plan node of the statement's generic plan (the plan for any parameter
    values). PostgreSQL 16+ plans `$n` directly with EXPLAIN (GENERIC_PLAN); older servers
    go through PREPARE with plan_cache_mode = force_generic_plan."""
    text = statement.plannable_text
    try:
        if generic_plan_explain:
            row = conn.execute(f"{MARKER} EXPLAIN (FORMAT JSON, GENERIC_PLAN) {text}").fetchone()
        else:
            row = _explain_prepared(conn, text, statement.parameter_count)
    except pg_errors.QueryCanceled:
        raise PlanningError("planning took longer than explain_timeout_ms") from None
    except pg_errors.InsufficientPrivilege as error:
        raise PlanningError(
            f"permission denied: {first_line(error)} (GRANT SELECT on the table)"
        ) from None
    except psycopg.OperationalError:
        raise  # the connection is gone: not a fault of this statement
    except psycopg.Error as error:
        raise PlanningError(f"cannot plan: {first_line(error)}") from None
    if row is None:
        raise PlanningError("EXPLAIN returned nothing")
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    plan: dict[str, Any] = document[0]["Plan"]
    return plan


def _explain_prepared(conn: Connection, text: str, parameter_count: int) -> Any:
    """PG 15 and older: prepared anew every time, so that the plan reflects the
    hypothetical indexes present now (a cached plan would not). The session must have
    plan_cache_mode = force_generic_plan (WhatIf sets it)."""
    conn.execute(f"{MARKER} PREPARE {_PREPARED} AS {text}")
    try:
        args = "(" + ", ".join(["NULL"] * parameter_count) + ")" if parameter_count else ""
        return conn.execute(f"{MARKER} EXPLAIN (FORMAT JSON) EXECUTE {_PREPARED}{args}").fetchone()
    finally:
        conn.execute(f"{MARKER} DEALLOCATE {_PREPARED}")


def _hypo_name(oid: int) -> str:
    return f"<{oid}>"


def _index_names(plan: dict[str, Any]) -> Iterator[str]:
    """The `<oid>` prefixes of every hypothetical index named anywhere in the plan."""
    name = plan.get("Index Name")
    if isinstance(name, str) and name.startswith("<"):
        yield name[: name.index(">") + 1]
    for child in plan.get("Plans", []):
        yield from _index_names(child)
