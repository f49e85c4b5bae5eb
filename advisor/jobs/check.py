"""`pg-advisor check`: advice on statements before they ship.

A CI job has a database with the migrations applied and, usually, empty tables, and a file
of the statements the application will send. Each statement is planned as it stands, then
with hypothetical indexes; the new indexes are chosen together, as `recommend` chooses
them, each statement counting once. On empty tables the planner's default size
assumptions decide (as for supabase's index_advisor). Nothing is written to the database,
and pg_stat_statements is not needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg
from pglast import ast

from advisor.analyze.parse import parse_statement
from advisor.analyze.syntax import nodes, parsed
from advisor.collect.schema import read_schema
from advisor.config import Settings, parse_settings
from advisor.jobs.observe import Observation
from advisor.jobs.recommend import budget_bytes, choose_indexes, planning
from advisor.model import CheckedStatement, CheckResult, Schema, Statement, Verdict, Workload
from advisor.pg import Connection, capabilities, translate

SECONDS_PER_DAY = 86_400.0


def check(conn: Connection, settings: Settings, texts: Sequence[str]) -> CheckResult:
    """Check `texts` (one statement each, `$n` placeholders allowed) on the connected
    database."""
    caps = capabilities(conn)
    try:
        schema = read_schema(conn)
    except psycopg.Error as error:
        raise translate(error, "reading the schema") from None
    now = datetime.now(UTC)
    # Every statement counts once a day: only plan costs decide, not how often it runs.
    statements = tuple(Statement(n, text, 1, 1.0) for n, text in enumerate(texts, start=1))
    workload = Workload(caps.database, statements, SECONDS_PER_DAY, now)
    observation = Observation(
        caps=caps,
        schema=schema,
        foreign_keys=(),
        workload=workload,
        parsed={
            s.queryid: parse_statement(s.queryid, s.text, schema, parse_settings(settings))
            for s in statements
        },
        write_rates={},
        writes=None,
        usage=None,
        tables=(),
        tables_window_seconds=1.0,
        first_seen={},
    )
    # Any cost drop of at least min_cost_reduction counts: a statement runs once here.
    settings = settings.model_copy(update={"min_saved_ms_per_day": 0.0, "min_calls": 1})
    with planning(conn, settings, observation) as planned:
        budget = budget_bytes(settings, planned.schema, planned.prepared.parsed)
        recommendations = choose_indexes(planned, settings, budget)
        served = {
            t.statement.queryid: planned.whatif.existing_indexes(t.statement.queryid)
            for t in planned.prepared.targets
        }
        skipped = {s.queryid: s.reason for s in planned.prepared.skipped}
    effects = {
        e.queryid: (rec.name, e.cost_before, e.cost_after)
        for rec in recommendations
        for e in rec.statements
    }
    checked = []
    for statement in statements:
        number = statement.queryid
        if number in skipped:
            unknown = _unknown_relations(statement.text, schema, settings.parse_max_bytes)
            reason = unknown or skipped[number]
            checked.append(CheckedStatement(number, statement.text, Verdict.NOT_PLANNED, reason))
            continue
        needs = tuple(
            sorted(
                rec.name for rec in recommendations for e in rec.statements if e.queryid == number
            )
        )
        effect = effects.get(number)
        checked.append(
            CheckedStatement(
                number,
                statement.text,
                Verdict.NEEDS_INDEX if needs else Verdict.SERVED,
                served_by=tuple(sorted(served.get(number, ()))),
                needs=needs,
                cost_before=effect[1] if effect else None,
                cost_after=effect[2] if effect else None,
            )
        )
    return CheckResult(caps.database, tuple(checked), recommendations)


def _unknown_relations(text: str, schema: Schema, max_bytes: int) -> str | None:
    """`unknown relation ...` when the statement names tables the schema does not hold
    (a migration not applied, a typo), else None (and for a text over `max_bytes`, which
    is not read again)."""
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        return None
    statements = parsed(text)
    if statements is None:
        return None
    unknown = sorted(
        {
            f"{node.schemaname}.{node.relname}" if node.schemaname else str(node.relname)
            for raw in statements
            for node in nodes(raw.stmt)
            if isinstance(node, ast.RangeVar)
            and node.relname
            and node.schemaname not in ("pg_catalog", "information_schema")
            and schema.resolve(str(node.relname), node.schemaname) is None
        }
    )
    if not unknown:
        return None
    return f"unknown relation {', '.join(unknown)} (not in this database's schema)"
