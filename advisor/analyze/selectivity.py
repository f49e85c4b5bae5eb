"""What the planner cannot know about an expression, and how it is told.

An index on an expression (`payload ->> 'ip'`) gets statistics only once it is built and
ANALYZEd; a hypothetical one has none, so the planner prices `expr = value` at its default
selectivity, half a percent of the rows. For an IP address on a few dozen of a million
rows that is 200 times too many: a plan that walks an ordered index and filters on the
expression looks cheap (a match every 200 rows, so a page of 20 soon), the index on the
expression dear, and the what-if chooses the walk, which reads the whole tenant in real
life. The advisor measures the expression's distinct values on a small sample of the
table (advisor/collect/samples.py) and tells the planner by repeating the comparison:
each repetition, on a form no index matches (`COALESCE(expr, expr) = value`, whose
selectivity is the same default), multiplies the estimate by that default again, so the
statement is planned at about the measured selectivity, for every index set alike.

Pure: statement texts in, texts out.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

from pglast import ast, enums
from pglast.stream import RawStream

from advisor.analyze.expressions import conjuncts, expression_sql, is_constant, operator_name
from advisor.analyze.syntax import expression as parsed_expression
from advisor.analyze.syntax import nodes, parsed

# The planner's selectivity of `expr = value` without statistics (DEFAULT_EQ_SEL).
DEFAULT_EQUALITY_SELECTIVITY = 0.005
# A measured selectivity counts when it is at most this share of the default.
MIN_CORRECTION = 0.5
MAX_REPEATS = 3
# What an expression may be made of to be evaluated on a sample: the operators and
# functions of the expressions indexes are built on, none with side effects.
SAFE_OPERATORS = frozenset({"->>", "->", "#>>", "#>", "||"})
SAFE_FUNCTIONS = frozenset({"lower", "upper", "btrim", "ltrim", "rtrim", "md5"})


@dataclass(frozen=True)
class ExpressionFilter:
    """`expression = value` on the only table a statement reads (named as written)."""

    schema: str | None
    table: str
    expression: str  # SQL over the table's bare columns, as an index key is written


def expression_filters(text: str) -> list[ExpressionFilter]:
    """The top-level `expression = constant` conditions of a single-table SELECT whose
    expression is safe to evaluate on a sample (see SAFE_OPERATORS)."""
    found = _comparisons(text)
    return [f for f, _, _ in found[1]] if found is not None else []


def sharpened(text: str, selectivity: Callable[[ExpressionFilter], float | None]) -> str:
    """`text` with each expression filter of known selectivity repeated as often as it
    takes the planner's default to reach it (at most MAX_REPEATS times); `text` itself when
    nothing needs it or it cannot be rewritten."""
    found = _comparisons(text)
    if found is None:
        return text
    statement, comparisons = found
    extra: list[ast.Node] = []
    for expression_filter, left, right in comparisons:
        measured = selectivity(expression_filter)
        for count in range(repeats(measured)):
            copies = tuple(_copy(left) for _ in range(count + 2))
            coalesced = ast.CoalesceExpr(args=copies)
            extra.append(
                ast.A_Expr(
                    kind=enums.A_Expr_Kind.AEXPR_OP,
                    name=(ast.String(sval="="),),
                    lexpr=coalesced,
                    rexpr=_copy(right),
                )
            )
    if not extra:
        return text
    statement.whereClause = ast.BoolExpr(
        boolop=enums.BoolExprType.AND_EXPR, args=(statement.whereClause, *extra)
    )
    try:
        return str(RawStream()(statement))
    except Exception:
        return text


def repeats(measured: float | None) -> int:
    """How many more times the comparison is written so that the planner's estimate,
    DEFAULT_EQUALITY_SELECTIVITY to the power of the times written, is nearest `measured`."""
    if measured is None or measured <= 0:
        return 0
    if measured > DEFAULT_EQUALITY_SELECTIVITY * MIN_CORRECTION:
        return 0
    times = round(math.log(measured) / math.log(DEFAULT_EQUALITY_SELECTIVITY))
    return max(0, min(MAX_REPEATS, times - 1))


def distinct_estimate(sampled: int, distinct: int, singletons: int, rows: float) -> float:
    """The distinct values of a table of `rows` rows from a sample of `sampled` non-null
    values holding `distinct` values, `singletons` of them once (Haas and Stokes' Duj1,
    as ANALYZE estimates n_distinct)."""
    if sampled <= 0 or distinct <= 0:
        return 0.0
    rows = max(rows, float(sampled))
    if singletons >= sampled:
        return rows  # every sampled value unique: as many values as rows
    estimate = sampled * distinct / (sampled - singletons + singletons * sampled / rows)
    return min(max(estimate, float(distinct)), rows)


def _comparisons(
    text: str,
) -> tuple[ast.SelectStmt, list[tuple[ExpressionFilter, ast.Node, ast.Node]]] | None:
    statements = parsed(text)
    if not statements or len(statements) != 1:
        return None
    statement = statements[0].stmt
    if not isinstance(statement, ast.SelectStmt) or statement.whereClause is None:
        return None
    sources = statement.fromClause or ()
    if len(sources) != 1 or not isinstance(sources[0], ast.RangeVar):
        return None
    relation: ast.RangeVar = sources[0]
    result = []
    for term in conjuncts(statement.whereClause):
        if not (
            isinstance(term, ast.A_Expr)
            and term.kind == enums.A_Expr_Kind.AEXPR_OP
            and operator_name(term) == "="
        ):
            continue
        for left, right in ((term.lexpr, term.rexpr), (term.rexpr, term.lexpr)):
            if (
                isinstance(left, ast.Node)
                and isinstance(right, ast.Node)
                and _safe_expression(left)
                and is_constant(right)
            ):
                expression = ExpressionFilter(
                    relation.schemaname, str(relation.relname), expression_sql(left)
                )
                result.append((expression, left, right))
                break
    return statement, result


def safe_to_sample(expression: str) -> bool:
    """Whether an index key's expression (SQL over bare columns) may be evaluated on a
    sample of its table: made only of SAFE_OPERATORS, SAFE_FUNCTIONS, constants, casts."""
    return _safe_expression(parsed_expression(expression))


def _safe_expression(node: object) -> bool:
    """An expression over columns (not a bare column), with no parameter left, made only
    of what SAFE_OPERATORS and SAFE_FUNCTIONS allow, constants and casts."""
    if isinstance(node, ast.ColumnRef) or not isinstance(
        node, (ast.A_Expr, ast.FuncCall, ast.TypeCast)
    ):
        return False
    columns = False
    for item in nodes(node):
        if isinstance(item, ast.ColumnRef):
            columns = True
        elif isinstance(item, ast.A_Expr):
            if item.kind != enums.A_Expr_Kind.AEXPR_OP or operator_name(item) not in SAFE_OPERATORS:
                return False
        elif isinstance(item, ast.FuncCall):
            qualified = [str(part.sval) for part in item.funcname or ()]
            name = qualified[-1].lower() if qualified else ""
            if len(qualified) > 1 and qualified[0] != "pg_catalog":
                return False
            if name not in SAFE_FUNCTIONS or item.agg_star or item.over:
                return False
        elif isinstance(item, (ast.ParamRef, ast.SubLink, ast.SelectStmt)):
            return False
    return columns


def _copy(node: ast.Node) -> ast.Node:
    return copy.deepcopy(node)
