"""Make a normalized pg_stat_statements text plannable, with the positions of its edits.

pg_stat_statements replaces a statement's constants by `$1`, `$2` ... and some of the texts
it leaves the server cannot plan as they stand (`timestamptz $1`, `extract($1 from d)`),
while a LIMIT that became a parameter plans as a tenth of the table. `plannable()` rewrites
them from the parse tree and records each edit by position (model.PlannableText), together
with where every `$n` of the result stands; `bind_parameters()` puts values in at those
recorded places, so nothing ever reads the rewritten text back.

The module is pure: no database access, only the text and the parser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pglast import ast, enums

from advisor.analyze.syntax import expression, nodes, parsed, tokens
from advisor.model import ParameterSlot, PlannableText, TextEdit, TextEditKind

# ORMs bind LIMIT and OFFSET as parameters, and a generic plan cannot see their values: the
# planner then assumes the statement reads 10% of its rows, which hides exactly the indexes
# that serve ORDER BY ... LIMIT. Pages are small, so without better knowledge a bare
# `LIMIT $n` is planned as this many rows, and `OFFSET $n` as the first page. The
# `coalesce(constant, $n::bigint)` form keeps the parameter (PREPARE must still infer its
# type) while the planner folds it to the constant.
ASSUMED_LIMIT = 20

_PAGES = frozenset({TextEditKind.ASSUMED_LIMIT, TextEditKind.ASSUMED_OFFSET})
_SEMICOLON_TOKEN = "ASCII_59"

# ------------------------------------------------------------------------ public API


def plannable(text: str) -> PlannableText:
    """`text` in a form the PostgreSQL server can parse and plan (EXPLAIN), with the
    edits that made it so.

    Surrounding whitespace and trailing semicolons are stripped, and the typed-literal
    forms pg_stat_statements leaves behind when it replaces a constant (`timestamptz $1`,
    `timestamp with time zone $2`, `"char" $3`, `interval $4`) become casts
    (`$1::timestamptz`). A bare `LIMIT $n` becomes `LIMIT coalesce(ASSUMED_LIMIT,
    $n::bigint)` and `OFFSET $n` `OFFSET coalesce(0, $n::bigint)` (see ASSUMED_LIMIT).
    Never raises: a text that does not parse comes back with only the stripping done.
    """
    return prepared(text)[0]


def prepare_text(text: str) -> str:
    """The text of plannable(`text`)."""
    return plannable(text).text


def prepared(text: str) -> tuple[PlannableText, tuple[Any, ...] | None]:
    """plannable(), with the parse of the text it returns (None if it does not parse),
    so that a statement is not parsed again to be analyzed."""
    start, stop = _statement_span(text)
    trims = [
        TextEdit(a, b, "", TextEditKind.TRIMMED)
        for a, b in ((0, start), (stop, len(text)))
        if a < b
    ]
    stripped = text[start:stop]
    statements = parsed(stripped)
    if statements is None:
        return _built(text, trims), None
    # libpg_query accepts `<type> $n` (it patches its grammar for normalized texts) but
    # the server does not, so the rewrite works from the parse tree, not from a failure.
    rewrites = [
        TextEdit(e.start + start, e.end + start, e.replacement, e.kind)
        for e in _edits(stripped, statements)
    ]
    if rewrites:
        rewritten = _built(text, [*trims, *rewrites])
        reparsed = parsed(rewritten.text)
        if reparsed is not None:
            return rewritten, reparsed
    return _built(text, trims), statements


def as_written(text: str) -> PlannableText:
    """`text` unchanged (the advisor wrote it itself: an index expression), with the
    positions of its parameters."""
    return _built(text, ())


def unwrapped_call(text: PlannableText, call_start: int) -> PlannableText | None:
    """`text` with the function call whose name starts at `call_start` (in `text.text`)
    replaced by its argument, when that is a plain column: `lower(u.email)` becomes
    `u.email` (see ExpressionUse.proxy). None when it is not, or the tokens do not say."""
    span = _call_span(text.text, call_start)
    if span is None:
        return None
    start, opening, end = span
    inner = text.text[opening + 1 : end - 1].strip()
    if not _is_column_text(inner):  # `trim(both ' ' from x)` and the like
        return None
    return _with_edit(text, start, end, inner, TextEditKind.PROXY_COLUMN)


def bind_parameters(
    text: PlannableText, literals: Mapping[int, str], types: Mapping[int, str] | None = None
) -> tuple[str, int]:
    """The plannable text with each `$n` in `literals` replaced by its SQL literal, and
    the others renumbered `$1`, `$2` ... in order of their numbers (cast to their type
    from `types`, when known, since the server can no longer infer it from a neighbour).
    A bound LIMIT or OFFSET gets its value instead of the assumed page (see
    ASSUMED_LIMIT). Returns the text and how many parameters it still has. Never raises:
    it works from the positions recorded when the text was made plannable."""
    remaining = sorted({slot.number for slot in text.parameters} - set(literals))
    renumbered = {number: i for i, number in enumerate(remaining, start=1)}
    spans: list[tuple[int, int, str]] = []
    for slot in text.parameters:
        if slot.number in literals and slot.page is not None:
            # A LIMIT or OFFSET whose value is known is planned with it, not the assumed page.
            spans.append((*slot.page, f"({literals[slot.number]})::bigint"))
        elif slot.number in literals:
            spans.append((slot.start, slot.end, f"({literals[slot.number]})"))
        else:
            replacement = f"${renumbered[slot.number]}"
            if types and slot.number in types:
                replacement = f"({replacement}::{types[slot.number]})"
            spans.append((slot.start, slot.end, replacement))
    return _spliced(text.text, spans), len(remaining)


def parameter_positions(text: str) -> dict[int, int]:
    """Where each `$n` token starts in `text` -> n (pg_qualstats reports a constant by
    its position in the statement's text). Empty if the text does not scan."""
    found = tokens(text)
    if found is None:
        return {}
    return {t.start: int(text[t.start + 1 : t.end + 1]) for t in found if t.name == "PARAM"}


# ---------------------------------------------------------- the record of the edits


def _built(original: str, edits: Iterable[TextEdit]) -> PlannableText:
    """`original` with `edits` applied, the edits as applied and the parameters' places."""
    applied = _apart(edits)
    pieces: list[str] = []
    pages: list[tuple[int, int]] = []
    position = length = 0
    for edit in applied:
        pieces.append(original[position : edit.start])
        length += edit.start - position
        if edit.kind in _PAGES:
            pages.append((length, length + len(edit.replacement)))
        pieces.append(edit.replacement)
        length += len(edit.replacement)
        position = edit.end
    pieces.append(original[position:])
    text = "".join(pieces)
    return PlannableText(original, text, applied, _slots(text, pages))


def _apart(edits: Iterable[TextEdit]) -> tuple[TextEdit, ...]:
    """The edits in text order, each once; an edit overlapping an earlier one is dropped
    (a tree can hold one node twice: `SET (a, b) = (SELECT ...)`)."""
    kept: list[TextEdit] = []
    for edit in sorted(set(edits), key=lambda e: (e.start, e.end, e.replacement)):
        if not kept or kept[-1].end <= edit.start:
            kept.append(edit)
    return tuple(kept)


def _slots(text: str, pages: Sequence[tuple[int, int]]) -> tuple[ParameterSlot, ...]:
    found = tokens(text)
    slots = []
    for token in found or ():
        if token.name != "PARAM":
            continue
        start, end = token.start, token.end + 1
        page = next((p for p in pages if p[0] <= start and end <= p[1]), None)
        slots.append(ParameterSlot(int(text[start + 1 : end]), start, end, page))
    return tuple(slots)


def _with_edit(
    text: PlannableText, start: int, end: int, replacement: str, kind: TextEditKind
) -> PlannableText | None:
    """`text` with `text.text[start:end]` replaced as well (the positions are in the
    plannable text); None when the span overlaps one of its edits."""
    first = _original_position(text, start, at_start=True)
    last = _original_position(text, end, at_start=False)
    if first is None or last is None or any(e.start < last and first < e.end for e in text.edits):
        return None
    return _built(text.original, (*text.edits, TextEdit(first, last, replacement, kind)))


def _original_position(text: PlannableText, position: int, at_start: bool) -> int | None:
    """Where `position` of the plannable text is in the original; None inside an edit's
    replacement. An edit that removed text at `position` (a trim) counts as before a
    start and after an end."""
    shift = 0  # plannable position - original position, past the edits seen
    for edit in text.edits:
        output_start = edit.start + shift
        output_end = output_start + len(edit.replacement)
        if output_start < position < output_end:
            return None
        if output_end > position or (output_end == position == output_start and not at_start):
            break
        shift += len(edit.replacement) - (edit.end - edit.start)
    return position - shift


def _spliced(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """`text` with each (start, end) replaced; the spans do not overlap."""
    pieces: list[str] = []
    position = 0
    for start, end, replacement in sorted(spans):
        pieces += [text[position:start], replacement]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


# --------------------------------------------------------------------- the rewrites


def _statement_span(text: str) -> tuple[int, int]:
    """Where the statement starts and ends: without the surrounding whitespace and the
    trailing semicolons (and the comments around them)."""
    found = tokens(text)
    end = len(text)
    while found and found[-1].name == _SEMICOLON_TOKEN:
        end = found.pop().start
    head = text[:end]
    start = len(head) - len(head.lstrip())
    return start, start + len(head.strip())


def _edits(text: str, statements: tuple[Any, ...]) -> list[TextEdit]:
    """Every rewrite the text needs, in one walk of its tree: typed literals to casts,
    bound LIMIT/OFFSET to the assumed page, constants that lost their type."""
    edits: list[TextEdit] = []
    for node in nodes(statements):
        if isinstance(node, ast.TypeCast):
            edit = _typed_parameter_edit(text, node)
            if edit is not None:
                edits.append(edit)
        elif isinstance(node, ast.SelectStmt):
            edits.extend(_limit_edits(text, node))
        else:
            edits.extend(_untyped_constant_edits(text, node))
    return edits


_ARITHMETIC = frozenset({"+", "-", "*", "/"})
_NUMERIC_AGGREGATES = frozenset({"sum", "avg"})


def _untyped_constant_edits(text: str, node: ast.Node) -> list[TextEdit]:
    """Constants that told the server their type until pg_stat_statements replaced them:
    `extract(year from d)` becomes `extract($1 from d)`, which is not even valid syntax;
    `0.06 - 0.01` becomes `$1 - $2` and `sum(case ... then 1 else 0 end)` sums `$3` and
    `$4`, both ambiguous for a server that has to infer the parameters' types. They are
    written back in a form that plans the same: `date_part($1::text, d)`, numeric casts."""
    edits: list[TextEdit] = []
    if isinstance(node, ast.FuncCall) and node.funcname:
        name = str(node.funcname[-1].sval).lower()
        first = node.args[0] if node.args else None
        if name == "extract" and isinstance(first, ast.ParamRef):
            edit = _date_part_edit(text, node, first)
            if edit is not None:
                edits.append(edit)
        elif name in _NUMERIC_AGGREGATES:
            for case in (a for a in node.args or () if isinstance(a, ast.CaseExpr)):
                results = [w.result for w in case.args or ()] + [case.defresult]
                if all(isinstance(r, ast.ParamRef) for r in results):
                    edits.extend(_cast_edits(text, results, "numeric"))
    elif (
        isinstance(node, ast.A_Expr)
        and node.kind == enums.A_Expr_Kind.AEXPR_OP
        and node.name is not None
        and len(node.name) == 1
        and str(node.name[0].sval) in _ARITHMETIC
        and isinstance(node.lexpr, ast.ParamRef)
        and isinstance(node.rexpr, ast.ParamRef)
    ):
        edits.extend(_cast_edits(text, (node.lexpr, node.rexpr), "numeric"))
    return edits


_EXTRACT_TOKENS = ("EXTRACT", "ASCII_40", "PARAM", "FROM")


def _date_part_edit(text: str, call: ast.FuncCall, field: ast.ParamRef) -> TextEdit | None:
    """`extract ( $n from` (the tokens from the call's start) becomes `date_part($n::text,`."""
    start = call.location
    if start is None or field.location is None:
        return None
    found = tokens(text[start:]) or []
    names = tuple(t.name for t in found[: len(_EXTRACT_TOKENS)])
    if names != _EXTRACT_TOKENS or start + found[2].start != field.location:
        return None
    end = start + found[3].end + 1
    return TextEdit(start, end, f"date_part(${field.number}::text,", TextEditKind.DATE_PART)


def _cast_edits(text: str, params: Iterable[ast.ParamRef], type_name: str) -> list[TextEdit]:
    """Each `$n` at its parameter's place becomes `$n::type_name`."""
    edits = []
    for param in params:
        end = _parameter_end(text, param)
        if end is not None and param.location is not None:
            replacement = f"${param.number}::{type_name}"
            edits.append(TextEdit(param.location, end, replacement, TextEditKind.CAST_PARAMETER))
    return edits


def _parameter_end(text: str, param: ast.ParamRef) -> int | None:
    """Where `$n` ends in the text, if it stands where the tree says (else None)."""
    start = param.location
    if start is None:
        return None
    name = f"${param.number}"
    end = start + len(name)
    if text[start:end] != name or text[end : end + 1].isdigit():
        return None
    return end


def _limit_edits(text: str, node: ast.SelectStmt) -> list[TextEdit]:
    """The bare parameters of a LIMIT or OFFSET, to become constants the planner sees."""
    edits: list[TextEdit] = []
    for value, assumed, kind in (
        (node.limitCount, ASSUMED_LIMIT, TextEditKind.ASSUMED_LIMIT),
        (node.limitOffset, 0, TextEditKind.ASSUMED_OFFSET),
    ):
        if isinstance(value, ast.ParamRef) and value.location is not None:
            end = _parameter_end(text, value)
            if end is not None:
                replacement = f"coalesce({assumed}, ${value.number}::bigint)"
                edits.append(TextEdit(value.location, end, replacement, kind))
    return edits


def _typed_parameter_edit(text: str, node: ast.TypeCast) -> TextEdit | None:
    if not isinstance(node.arg, ast.ParamRef):
        return None
    type_start = node.typeName.location if node.typeName is not None else None
    param_start = node.arg.location
    # A cast (`$1::int`, `CAST($1 AS int)`) names its type after the parameter.
    if type_start is None or param_start is None or type_start >= param_start:
        return None
    param_end = _parameter_end(text, node.arg)
    if param_end is None:
        return None
    type_text = text[type_start:param_start].strip()
    replacement = f"${node.arg.number}::{type_text}"
    return TextEdit(type_start, param_end, replacement, TextEditKind.TYPED_PARAMETER)


# ------------------------------------------------------------- calls on a column


def _call_span(text: str, start: int) -> tuple[int, int, int] | None:
    """(start, its opening parenthesis, the end after its closing one) of the function
    call whose name starts at `start`; None when the tokens do not say."""
    depth, opening = 0, None
    for token in tokens(text[start:]) or ():
        if token.name == "ASCII_40":
            depth += 1
            if opening is None:
                opening = start + token.start
        elif token.name == "ASCII_41":
            depth -= 1
            if depth == 0 and opening is not None:
                return start, opening, start + token.end + 1
    return None


def _is_column_text(text: str) -> bool:
    return isinstance(expression(text), ast.ColumnRef)
