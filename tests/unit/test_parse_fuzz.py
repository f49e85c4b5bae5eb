"""Hostile variants of real statements: whatever is done to the text of a statement the
benchmarks send (tokens duplicated, deleted, inserted; deep nesting; long chains), the
parse entry point answers within its time budget and no exception escapes it."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pglast import ast
from pglast.parser import scan

from advisor.analyze.parse import parse_statement
from advisor.analyze.syntax import nodes, parsed
from advisor.config import Settings, parse_settings
from advisor.model import Column, ParsedStatement, Schema, Skipped, Table, TableName
from bench import oltp, saas

LIMITS = parse_settings(Settings())


def _dollars(sql: str) -> str:
    """psycopg's `%s` placeholders as the `$n` pg_stat_statements shows."""
    pieces = sql.split("%s")
    return pieces[0] + "".join(f"${n}{piece}" for n, piece in enumerate(pieces[1:], start=1))


SEEDS = tuple(_dollars(sql) for _, _, sql, _ in (*oltp.STATEMENTS, *saas.STATEMENTS))


def _schema(texts: tuple[str, ...]) -> Schema:
    """Every table the seeds name, with every column name they use: the walk resolves."""
    tables: set[str] = set()
    columns: set[str] = set()
    for text in texts:
        for node in nodes(parsed(text) or ()):
            if isinstance(node, ast.RangeVar) and node.relname:
                tables.add(str(node.relname))
            elif isinstance(node, ast.ColumnRef) and isinstance(node.fields[-1], ast.String):
                columns.add(str(node.fields[-1].sval))
    cols = tuple(Column(c, "text") for c in sorted(columns))
    return Schema({TableName("public", t): Table(TableName("public", t), cols) for t in tables})


SCHEMA = _schema(SEEDS)


def _tokens(text: str) -> list[str]:
    return [text[t.start : t.end + 1] for t in scan(text)]


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    pieces = _tokens(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(pieces)))
        span = draw(st.integers(1, 8))
        kind = draw(st.sampled_from(["delete", "duplicate", "insert", "nest", "chain"]))
        if kind == "delete":
            del pieces[at : at + span]
        elif kind == "duplicate":
            pieces[at:at] = pieces[at : at + span] * draw(st.integers(1, 200))
        elif kind == "insert":
            pieces[at:at] = draw(st.lists(st.sampled_from(_POOL), min_size=1, max_size=span))
        elif kind == "nest":
            depth = draw(st.sampled_from([10, 300, 2_000, 12_000]))
            pieces[at : at + span] = ["(" * depth, *pieces[at : at + span], ")" * depth]
        else:  # a chain, of the lengths that crash the parser and those that do not
            operator = draw(st.sampled_from(["+", "||", " AND ", " OR ", ", ", " UNION SELECT "]))
            terms = draw(st.sampled_from([50, 900, 6_000, 30_000]))
            pieces.insert(at, operator.join([draw(st.sampled_from(_POOL))] * terms))
    return " ".join(pieces)


_POOL = ("$1", '"id"', "1", "(", ")", ",", "select", "where", "and", "=", "::int", "not", "null")


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(_mutated())
def test_a_mutated_real_statement_is_answered_within_the_budget(text: str) -> None:
    start = time.monotonic()
    result = parse_statement(9, text, SCHEMA, LIMITS)
    elapsed_ms = (time.monotonic() - start) * 1000
    assert isinstance(result, ParsedStatement | Skipped)
    assert elapsed_ms <= LIMITS.parse_timeout_ms, (elapsed_ms, text[:200])
    if isinstance(result, Skipped):
        assert not result.reason.startswith("analyzer error"), (result.reason, text[:300])


def test_the_seeds_are_real_statements_the_analyzer_reads() -> None:
    answers = [parse_statement(1, text, SCHEMA, LIMITS) for text in SEEDS]
    reasons = {a.reason for a in answers if isinstance(a, Skipped)}
    assert reasons <= {"insert without a query: nothing to index"}
    assert sum(isinstance(a, ParsedStatement) for a in answers) > 40
