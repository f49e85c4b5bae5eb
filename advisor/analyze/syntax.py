"""Reading SQL with pglast: every node of a parse tree.

The walk the analysis (parse.py) and its expression helpers share.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast


def nodes(root: object) -> Iterator[ast.Node]:
    """Every node of a tree, iteratively (deep expressions must not exhaust the stack)."""
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield item
            stack.extend(getattr(item, name) for name in item)
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
