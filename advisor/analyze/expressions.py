"""What an expression of the parse tree is, as the analysis asks it.

The AND-ed terms of a condition, the arms of an OR, whether a value is a constant, an
operator's name, whether a LIKE pattern is a prefix,
whether a call aggregates, which parameters a column is compared with directly, an ORDER
BY key, and an expression written as SQL over bare column names (as an index key is).
Pure: only the parse tree.
"""

from __future__ import annotations

import copy

from pglast import ast, enums
from pglast.stream import RawStream

from advisor.analyze.syntax import nodes
from advisor.model import OrderKey


def conjuncts(node: ast.Node | None) -> list[ast.Node]:
    """The top-level AND-ed terms of a condition (nested ANDs flattened)."""
    terms: list[ast.Node] = []
    stack: list[ast.Node | None] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.BoolExpr) and item.boolop == enums.BoolExprType.AND_EXPR:
            stack.extend(reversed(item.args or ()))
        elif item is not None:
            terms.append(item)
    return terms


def disjuncts(node: ast.BoolExpr) -> list[ast.Node]:
    """The OR-ed arms of an OR (nested ORs flattened)."""
    arms: list[ast.Node] = []
    stack: list[ast.Node] = list(reversed(node.args or ()))
    while stack:
        item = stack.pop()
        if isinstance(item, ast.BoolExpr) and item.boolop == enums.BoolExprType.OR_EXPR:
            stack.extend(reversed(item.args or ()))
        else:
            arms.append(item)
    return arms


def is_constant(node: object) -> bool:
    """True for a parameter, a constant or an expression of them alone (no column, no
    subquery): a value an index scan can compare with."""
    return not any(isinstance(n, (ast.ColumnRef, ast.SubLink, ast.SelectStmt)) for n in nodes(node))


def operator_name(expr: ast.A_Expr) -> str | None:
    name = expr.name or ()
    last = name[-1] if name else None
    return last.sval if isinstance(last, ast.String) else None


def is_prefix_pattern(node: object) -> bool:
    """True for a LIKE pattern a btree can serve: a parameter or a constant that does not
    start with a wildcard (`'abc%'`, `$1`, `$1 || '%'`)."""
    # Follow the leftmost operand of casts and concatenations (iteratively: `||` chains
    # nest to the left and can be long).
    while True:
        if isinstance(node, ast.TypeCast):
            node = node.arg
        elif isinstance(node, ast.A_Expr) and operator_name(node) == "||":
            node = node.lexpr
        else:
            break
    if isinstance(node, ast.ParamRef):
        return True
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return not str(node.val.sval).startswith(("%", "_"))
    return False


_AGGREGATES = frozenset(
    {
        "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "json_agg",
        "jsonb_agg", "json_object_agg", "jsonb_object_agg", "bool_and", "bool_or", "every",
        "stddev", "variance", "percentile_cont", "percentile_disc", "mode",
    }
)  # fmt: skip


def is_aggregate(call: ast.FuncCall) -> bool:
    if call.agg_star or call.agg_distinct or call.over or call.agg_order or call.agg_filter:
        return True
    name = call.funcname[-1].sval if call.funcname else ""
    return str(name).lower() in _AGGREGATES


def bare_parameters(value: object) -> list[int]:
    """The parameters a column is compared with directly: `$1`, `$1::int`, `($1, $2)`,
    `ANY($1)`; not those under a function (`lower($1)`)."""
    if isinstance(value, ast.ParamRef):
        return [value.number or 0]
    if isinstance(value, ast.TypeCast):
        return bare_parameters(value.arg)
    if isinstance(value, (list, tuple)):
        return [n for item in value for n in bare_parameters(item)]
    return []


def expression_sql(node: ast.Node) -> str:
    """An expression as SQL over bare column names (an index's key is written that way):
    `lower(u.email)` becomes `lower(email)`."""
    stripped = copy.deepcopy(node)
    for item in nodes(stripped):
        if isinstance(item, ast.ColumnRef) and item.fields:
            item.fields = item.fields[-1:]
    return str(RawStream()(stripped))


def order_key(column: str, item: ast.SortBy) -> OrderKey:
    descending = item.sortby_dir == enums.SortByDir.SORTBY_DESC
    nulls: bool | None = None
    if item.sortby_nulls == enums.SortByNulls.SORTBY_NULLS_FIRST:
        nulls = True
    elif item.sortby_nulls == enums.SortByNulls.SORTBY_NULLS_LAST:
        nulls = False
    return OrderKey.of(column, descending, nulls)
