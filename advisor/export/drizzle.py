"""Recommendations as Drizzle ORM (drizzle-orm 0.45, pg-core) TypeScript.

Two jobs that belong together: learning the names a project's schema file gives its tables
and columns (`export const posts = pgTable("posts", { authorId: integer("author_id") })`),
and writing the index code for a table's index callback with those names. No TypeScript
parser is in the stack, so the reader is a small tokenizer that understands what schema
files hold: `pgTable` calls (or `<pgSchema>.table`), column builders, the index callback.

Drizzle facts the code generation relies on (checked with drizzle-kit 0.31):
- `.desc()` in the index builder pins NULLS LAST; PostgreSQL's `DESC` means NULLS FIRST,
  so a DESC key is written `.desc().nullsFirst()` (and `.desc().nullsLast()` when meant).
  An index whose keys all run DESC NULLS FIRST is written ascending: a backward scan
  serves `ORDER BY ... DESC` and the code is simpler.
- Partial indexes take `.where(sql\\`...\\`)`, other access methods `.using('brin', ...)`,
  expression keys ``sql`(...)``; `sql` comes from `drizzle-orm`.
- The index builder has no INCLUDE (drizzle-orm issue 2972): such an index is declared
  with its keys only, and the migration's SQL adds the INCLUDE columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import pglast
from pglast import ast
from pglast.parser import ParseError as PglastParseError
from pglast.parser import scan

from advisor.errors import UsageError
from advisor.model import IndexDesign, KeyColumn, TableName

Casing = Literal["snake_case", "camelCase"]

# Drizzle's own word split (drizzle-orm/casing.js), so names come out as Drizzle makes them.
_WORDS = re.compile(r"[\da-z]+|[A-Z]+(?![a-z])|[A-Z][\da-z]+")
_JS_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
DEFAULT_CALLBACK_PARAMETER = "table"
# drizzle-orm's tracking issue for INCLUDE in the index builder.
INCLUDE_ISSUE = "https://github.com/drizzle-team/drizzle-orm/issues/2972"


# ------------------------------------------------------------------------------ names


def snake_case(name: str) -> str:
    """What Drizzle's `casing: 'snake_case'` makes of a property name."""
    return "_".join(word.lower() for word in _WORDS.findall(name.replace("'", "")))


def camel_case(name: str) -> str:
    """What Drizzle's `casing: 'camelCase'` makes of a name: `author_id` -> `authorId`."""
    words = _WORDS.findall(name.replace("'", ""))
    text = "".join(w.lower() if i == 0 else w[0].upper() + w[1:] for i, w in enumerate(words))
    if not text:
        return "_"
    return "_" + text if text[0].isdigit() else text


def ts_string(value: str) -> str:
    """A single-quoted TypeScript string literal, whatever the value holds."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    for char, escape in _LINE_BREAKS.items():
        escaped = escaped.replace(char, escape)
    return f"'{escaped}'"


# What ends a line in TypeScript source, in a string literal or a `//` comment.
_LINE_BREAKS = {"\n": "\\n", "\r": "\\r", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def ts_comment(text: str) -> str:
    """Text for a `//` comment: one line, so that nothing in it can end the comment."""
    return " ".join(text.split())


def ts_key(prop: str) -> str:
    """An object literal's key: the property, quoted when it is no identifier."""
    return prop if _JS_IDENTIFIER.match(prop) else ts_string(prop)


def member(obj: str, prop: str) -> str:
    """`obj.prop`, or `obj['prop']` when the property is no identifier."""
    return f"{obj}.{prop}" if _JS_IDENTIFIER.match(prop) else f"{obj}[{ts_string(prop)}]"


@dataclass(frozen=True)
class DrizzleTable:
    """A table as the schema file declares it (or, when unknown, as Drizzle users usually
    name it: the camelCase of the SQL names).

    `columns` maps SQL column names to property names. Offsets point into the file:
    `call_close` at the `)` that closes the `pgTable(...)` call, `callback_insert` just
    after the `[` (or `({`) that opens what the index callback returns."""

    variable: str
    sql_name: str
    schema: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    callback_parameter: str | None = None
    callback_style: Literal["array", "object", "block"] | None = None
    from_schema_file: bool = False
    call_close: int | None = None
    callback_insert: int | None = None

    def property_of(self, column: str) -> str:
        """The property name of SQL column `column` (camelCase when not declared)."""
        return self.columns.get(column) or camel_case(column)

    @property
    def parameter(self) -> str:
        """The name index code refers to the table by: the callback's own parameter."""
        return self.callback_parameter or DEFAULT_CALLBACK_PARAMETER

    @classmethod
    def derived(cls, table: TableName) -> DrizzleTable:
        """The names Drizzle users usually give a table nobody told us about."""
        return cls(variable=camel_case(table.name), sql_name=table.name, schema=table.schema)


@dataclass(frozen=True)
class DrizzleSchema:
    """The tables a schema file declares, and where it is."""

    tables: tuple[DrizzleTable, ...]
    path: str | None = None

    def table(self, name: TableName) -> DrizzleTable | None:
        """The declaration of table `name`; a `pgTable` without a schema is in `public`."""
        for table in self.tables:
            if table.sql_name == name.name and (table.schema or "public") == name.schema:
                return table
        return None


def drizzle_table(schema: DrizzleSchema | None, name: TableName) -> DrizzleTable:
    """The table's names from the schema file, or derived ones when it is not declared."""
    found = schema.table(name) if schema is not None else None
    return found if found is not None else DrizzleTable.derived(name)


# ------------------------------------------------------------------- the schema reader


@dataclass(frozen=True)
class _Token:
    kind: Literal["ident", "string", "template", "number", "punct"]
    value: str  # decoded for strings
    start: int
    end: int


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f", "v": "\v"}


def _quoted_end(source: str, start: int) -> int:
    """The offset after the string literal (or template) opening at `start`."""
    quote, index, depth = source[start], start + 1, 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if quote == "`" and source.startswith("${", index):
            depth, index = depth + 1, index + 2
            continue
        if quote == "`" and depth and char == "}":
            depth -= 1
        elif char == quote and not depth:
            return index + 1
        index += 1
    return len(source)


def _decode(body: str) -> str:
    out, index = [], 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            out.append(_ESCAPES.get(body[index + 1], body[index + 1]))
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _tokens(source: str) -> Iterator[_Token]:
    """Identifiers, string literals, numbers and punctuation; comments are skipped."""
    index = 0
    while index < len(source):
        char = source[index]
        if char.isspace():
            index += 1
        elif source.startswith("//", index):
            newline = source.find("\n", index)
            index = len(source) if newline < 0 else newline + 1
        elif source.startswith("/*", index):
            close = source.find("*/", index + 2)
            index = len(source) if close < 0 else close + 2
        elif char in "'\"`":
            end = _quoted_end(source, index)
            body = source[index + 1 : end - 1]
            kind: Literal["string", "template"] = (
                "template" if char == "`" and "${" in body else "string"
            )
            yield _Token(kind, _decode(body), index, end)
            index = end
        elif char.isalpha() or char in "_$":
            end = index + 1
            while end < len(source) and (source[end].isalnum() or source[end] in "_$"):
                end += 1
            yield _Token("ident", source[index:end], index, end)
            index = end
        elif char.isdigit():
            end = index + 1
            while end < len(source) and (source[end].isalnum() or source[end] in "._"):
                end += 1
            yield _Token("number", source[index:end], index, end)
            index = end
        else:
            yield _Token("punct", char, index, index + 1)
            index += 1


_OPENERS = {"(": ")", "[": "]", "{": "}"}


def _is(tokens: Sequence[_Token], index: int, value: str) -> bool:
    return (
        0 <= index < len(tokens)
        and tokens[index].value == value
        and (tokens[index].kind in ("punct", "ident"))
    )


def _split(tokens: Sequence[_Token], open_index: int) -> tuple[list[tuple[int, int]], int]:
    """The comma-separated parts between the bracket at `open_index` and its partner, as
    [start, end) token ranges, and the index of the closing bracket."""
    closers: list[str] = []
    parts: list[tuple[int, int]] = []
    start = open_index + 1
    for index in range(open_index, len(tokens)):
        token = tokens[index]
        if token.kind != "punct":
            continue
        if token.value in _OPENERS:
            closers.append(_OPENERS[token.value])
        elif closers and token.value == closers[-1]:
            closers.pop()
            if not closers:
                if index > start:
                    parts.append((start, index))
                return parts, index
        elif token.value == "," and len(closers) == 1:
            parts.append((start, index))
            start = index + 1
    return parts, len(tokens) - 1


def _table_call(
    tokens: Sequence[_Token], index: int, schemas: Mapping[str, str]
) -> tuple[int, str | None] | None:
    """When `const <name> = ` is followed by a table declaration at `index`: the index of
    its `(` and the schema it names (None for plain `pgTable`)."""
    call = _call(tokens, index, "pgTable")
    if call is not None:
        return call, None
    name = tokens[index].value if index < len(tokens) else ""
    schema_table = _is(tokens, index + 1, ".") and _is(tokens, index + 2, "table")
    if name in schemas and schema_table and _is(tokens, index + 3, "("):
        return index + 3, schemas[name]
    return None


def _call(tokens: Sequence[_Token], index: int, function: str) -> int | None:
    """The index of the `(` when `function(` or `<namespace>.function(` starts at `index`
    (`import * as p from 'drizzle-orm/pg-core'` gives `p.pgTable(`)."""
    if _is(tokens, index + 1, ".") and _is(tokens, index + 2, function):
        index += 2
    if _is(tokens, index, function) and _is(tokens, index + 1, "("):
        return index + 1
    return None


def _declarations(tokens: Sequence[_Token]) -> Iterator[tuple[str, int]]:
    """(variable, index after `=`) of every `const|let|var <name> =`."""
    for index, token in enumerate(tokens):
        if token.kind == "ident" and token.value in ("const", "let", "var"):
            name = index + 1
            if name < len(tokens) and tokens[name].kind == "ident" and _is(tokens, name + 1, "="):
                yield tokens[name].value, name + 2


def _pg_schemas(tokens: Sequence[_Token]) -> dict[str, str]:
    """Variables bound to `pgSchema('name')`."""
    found = {}
    for variable, index in _declarations(tokens):
        call = _call(tokens, index, "pgSchema")
        if call is not None and call + 1 < len(tokens) and tokens[call + 1].kind == "string":
            found[variable] = tokens[call + 1].value
    return found


def _column_name(tokens: Sequence[_Token], start: int, end: int) -> str | None:
    """The SQL name a column builder is given (`integer('author_id')`), if it is."""
    for index in range(start, end - 1):
        if tokens[index].kind == "ident" and _is(tokens, index + 1, "("):
            argument = index + 2
            alone = _is(tokens, argument + 1, ",") or _is(tokens, argument + 1, ")")
            if argument < end and tokens[argument].kind == "string" and alone:
                return tokens[argument].value
            return None
    return None


def _columns(
    tokens: Sequence[_Token], start: int, end: int, casing: Casing | None
) -> dict[str, str]:
    """SQL column name -> property, from the column object in tokens [start, end)."""
    brace = next((i for i in range(start, end) if _is(tokens, i, "{")), None)
    if brace is None:
        return {}
    entries, _ = _split(tokens, brace)
    columns: dict[str, str] = {}
    for first, last in entries:
        key = tokens[first]
        if key.kind not in ("ident", "string") or not _is(tokens, first + 1, ":"):
            continue  # a spread (`...timestamps`) or a method: not a column we can name
        sql_name = _column_name(tokens, first + 2, last)
        if sql_name is None:
            sql_name = _apply_casing(key.value, casing)
        columns.setdefault(sql_name, key.value)
    return columns


def _apply_casing(prop: str, casing: Casing | None) -> str:
    if casing == "snake_case":
        return snake_case(prop)
    if casing == "camelCase":
        return camel_case(prop)
    return prop


def _callback(
    tokens: Sequence[_Token], start: int, end: int
) -> tuple[str | None, Literal["array", "object", "block"] | None, int | None]:
    """The index callback's parameter, what it returns and where entries go."""
    arrow = next(
        (i for i in range(start, end - 1) if _is(tokens, i, "=") and _is(tokens, i + 1, ">")), None
    )
    if arrow is None:
        return None, None, None
    parameter = next((t.value for t in tokens[start:arrow] if t.kind == "ident"), None)
    body = arrow + 2
    if _is(tokens, body, "["):
        return parameter, "array", tokens[body].end
    if _is(tokens, body, "(") and _is(tokens, body + 1, "{"):
        return parameter, "object", tokens[body + 1].end
    return parameter, "block", None


def read_drizzle_schema(
    source: str, casing: Casing | None = None, path: str | None = None
) -> DrizzleSchema:
    """The tables a Drizzle schema file declares with `pgTable` (or `<pgSchema>.table`).

    A column declared without a SQL name (`authorId: integer()`) is named by `casing`, as
    the project's Drizzle configuration does: unchanged by default."""
    tokens = list(_tokens(source))
    schemas = _pg_schemas(tokens)
    tables = []
    for variable, index in _declarations(tokens):
        call = _table_call(tokens, index, schemas)
        if call is None:
            continue
        open_index, schema = call
        arguments, close = _split(tokens, open_index)
        if not arguments or tokens[arguments[0][0]].kind != "string":
            continue
        columns = _columns(tokens, *arguments[1], casing) if len(arguments) > 1 else {}
        parameter, style, insert = (
            _callback(tokens, *arguments[2]) if len(arguments) > 2 else (None, None, None)
        )
        tables.append(
            DrizzleTable(
                variable=variable,
                sql_name=tokens[arguments[0][0]].value,
                schema=schema,
                columns=columns,
                callback_parameter=parameter,
                callback_style=style,
                from_schema_file=True,
                call_close=tokens[close].start,
                callback_insert=insert,
            )
        )
    return DrizzleSchema(tuple(tables), path)


def load_drizzle_schema(path: Path, casing: Casing | None = None) -> DrizzleSchema:
    """Read the schema file at `path`; UsageError when it cannot be read."""
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read the Drizzle schema {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"the Drizzle schema {path} is not UTF-8 text") from None
    return read_drizzle_schema(source, casing, str(path))


# -------------------------------------------------------------------- code generation


@dataclass(frozen=True)
class DrizzleIndex:
    """The index callback entry for one index.

    `design` is the index the code builds (an all-DESC index comes out ascending, so its
    name and SQL are taken from here); `missing` names what Drizzle cannot declare and
    only the SQL migration builds (INCLUDE columns)."""

    design: IndexDesign
    code: str
    uses_sql: bool
    missing: tuple[str, ...] = ()


def for_drizzle(design: IndexDesign) -> IndexDesign:
    """The design in the form Drizzle code declares best: an index whose keys all run
    DESC NULLS FIRST becomes its ascending mirror (the same index for every query)."""
    keys = design.keys
    if (
        design.access_method == "btree"
        and keys
        and all(k.descending and k.nulls_first for k in keys)
    ):
        return replace(design, keys=tuple(k.flipped() for k in keys))
    return design


def index_code(design: IndexDesign, table: DrizzleTable) -> DrizzleIndex:
    """`index('name').on(table.a, table.b.desc().nullsFirst())` and the rest, for the
    callback of `table` (its own parameter name is used)."""
    design = for_drizzle(design)
    keys = [_key_code(key, table) for key in design.keys]
    uses_sql = any(uses for _, uses in keys)
    arguments = ", ".join(code for code, _ in keys)
    code = f"index({ts_string(design.name())})"
    if design.access_method == "btree":
        code += f".on({arguments})"
    else:
        code += f".using({ts_string(design.access_method)}, {arguments})"
    if design.predicate:
        code += f".where(sql`{_sql_template(design.predicate, table)}`)"
        uses_sql = True
    missing: tuple[str, ...] = ()
    if design.include:
        missing = ("INCLUDE (" + ", ".join(design.include) + ")",)
    return DrizzleIndex(design, code, uses_sql, missing)


def _key_code(key: KeyColumn, table: DrizzleTable) -> tuple[str, bool]:
    if key.is_expression:
        order = ""
        if key.descending:
            order = " DESC" if key.nulls_first else " DESC NULLS LAST"
        elif key.nulls_first:
            order = " NULLS FIRST"
        return f"sql`({_sql_template(key.column, table)}){order}`", True
    code = member(table.parameter, table.property_of(key.column))
    if key.descending:
        code += ".desc().nullsFirst()" if key.nulls_first else ".desc().nullsLast()"
    elif key.nulls_first:
        code += ".asc().nullsFirst()"
    return code, False


def _escape_template(text: str) -> str:
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")


def _sql_template(expression: str, table: DrizzleTable) -> str:
    """The body of a sql`...` template for an SQL expression over `table`'s columns: every
    column reference becomes `${table.prop}`, the rest is escaped for a template."""
    spans = _column_spans(expression)
    out, position = [], 0
    for start, end, column in spans:
        out.append(_escape_template(expression[position:start]))
        out.append("${" + member(table.parameter, table.property_of(column)) + "}")
        position = end
    out.append(_escape_template(expression[position:]))
    return "".join(out)


def _column_spans(expression: str) -> list[tuple[int, int, str]]:
    """(start, end, column) of each column reference in `expression`, in order; none when
    it does not parse (the text then stays as it is, which PostgreSQL still reads)."""
    prefix = "SELECT "
    text = prefix + expression
    try:
        statements = pglast.parse_sql(text)
        tokens = scan(text)
    except (PglastParseError, ValueError):
        return []
    starts = {token.start: i for i, token in enumerate(tokens)}
    spans = []
    for node in _column_refs(statements):
        fields = node.fields or ()
        names = [str(f.sval) for f in fields if isinstance(f, ast.String)]
        first = starts.get(node.location) if node.location is not None else None
        if first is None or not names or len(names) != len(fields):
            continue
        last = first + 2 * (len(names) - 1)
        if last >= len(tokens):
            continue
        spans.append(
            (tokens[first].start - len(prefix), tokens[last].end + 1 - len(prefix), names[-1])
        )
    return sorted(spans)


def _column_refs(root: object) -> Iterator[ast.ColumnRef]:
    if isinstance(root, ast.ColumnRef):
        yield root
        return
    if isinstance(root, tuple | list):
        for item in root:
            yield from _column_refs(item)
    elif isinstance(root, ast.Node):
        for name in root:
            yield from _column_refs(getattr(root, name))


def callback_snippet(table: DrizzleTable, indexes: Sequence[DrizzleIndex]) -> str:
    """The TypeScript to add to `table`'s declaration: the callback entries when the file
    has an array or object callback, else the whole callback to add as third argument."""
    entries = callback_entries(table, indexes)
    if table.callback_style is not None:
        return entries
    return (
        f"export const {table.variable} = pgTable({ts_string(table.sql_name)}, {{\n"
        f"  // ...the columns, unchanged\n"
        f"}}, ({table.parameter}) => [\n{entries}\n]);"
    )


def callback_entries(table: DrizzleTable, indexes: Sequence[DrizzleIndex]) -> str:
    """The entries of the index callback's array (or object), one index a line."""
    lines = []
    for index in indexes:
        if index.missing:
            lines.append(
                f"  // {ts_comment(', '.join(index.missing))}: Drizzle cannot declare it "
                f"({INCLUDE_ISSUE}); the migration's SQL builds it"
            )
        key = camel_case(index.design.name()) + ": " if table.callback_style == "object" else ""
        lines.append(f"  {key}{index.code},")
    return "\n".join(lines)


def imports_needed(indexes: Sequence[DrizzleIndex]) -> tuple[str, ...]:
    """The import lines the index code needs."""
    lines = ["import { index } from 'drizzle-orm/pg-core';"]
    if any(index.uses_sql for index in indexes):
        lines.append("import { sql } from 'drizzle-orm';")
    return tuple(lines)


# ------------------------------------------------------------- anti-pattern fixes


def relational_load_code(parent: DrizzleTable, child: DrizzleTable, columns: Sequence[str]) -> str:
    """Drizzle code that loads a parent's children in the same query (N+1 fix)."""
    lines = [
        f"// One query instead of one per {parent.variable} row: load the {child.variable} "
        "with them",
        f"const rows = await db.query.{parent.variable}.findMany({{",
        "  // ...the same where / orderBy / limit as the parent query",
        f"  with: {{ {child.variable}: true }}, // the relation as named in relations()",
        "});",
    ]
    if len(columns) == 1:
        column = member(child.variable, child.property_of(columns[0]))
        lines += [
            "// or, with the query builder: one query for all the parents' ids",
            f"const children = await db.select().from({child.variable})"
            f".where(inArray({column}, ids));",
        ]
    return "\n".join(lines)


def transaction_code(
    parent: DrizzleTable,
    child: DrizzleTable,
    columns: Sequence[str],
    referenced: Sequence[str],
) -> str:
    """Drizzle code that writes a parent row and its child in one transaction (the fix
    for related rows written in separate transactions)."""
    links = ", ".join(
        f"{ts_key(child.property_of(c))}: {member('row', parent.property_of(r))}"
        for c, r in zip(columns, referenced, strict=False)
    )
    values = f"{{ ...new{_type_name(child.variable)}, {links} }}" if links else "{ ... }"
    return "\n".join(
        [
            f"// Both rows or neither: if the {child.variable} insert fails, the "
            f"{parent.variable} row is rolled back too",
            "await db.transaction(async (tx) => {",
            f"  const [row] = await tx.insert({parent.variable})"
            f".values(new{_type_name(parent.variable)}).returning();",
            f"  await tx.insert({child.variable}).values({values});",
            "});",
        ]
    )


def _type_name(variable: str) -> str:
    """`users` -> `Users`: the suffix of the example's value names (`newUsers`)."""
    return variable[:1].upper() + variable[1:]


def narrow_columns_code(
    table: DrizzleTable, all_columns: Sequence[str], large_columns: Sequence[str]
) -> str:
    """Drizzle code that reads only the columns the code uses (select * fix)."""
    kept = [c for c in all_columns if c not in large_columns][:4]
    listed = ", ".join(
        f"{ts_key(table.property_of(c))}: {member(table.variable, table.property_of(c))}"
        for c in kept
    )
    lines = ["// Read only what the code uses:"]
    if large_columns:
        left_out = ", ".join(f"{ts_key(table.property_of(c))}: false" for c in large_columns)
        lines.append(f"db.query.{table.variable}.findMany({{ columns: {{ {left_out} }} }});")
    else:
        chosen = ", ".join(f"{ts_key(table.property_of(c))}: true" for c in kept)
        lines.append(f"db.query.{table.variable}.findMany({{ columns: {{ {chosen} }} }});")
    lines.append(f"db.select({{ {listed} }}).from({table.variable}); // the query builder")
    return "\n".join(lines)
