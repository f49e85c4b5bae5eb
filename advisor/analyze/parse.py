"""Turn one normalized pg_stat_statements text into a description of how it reads tables.

The statement is made plannable (sqltext.py), parsed with pglast (PostgreSQL's own
grammar) and its tree is walked query block by query block. Every column reference is
resolved to the table occurrence it belongs to (scope.py), through aliases, joins,
subqueries, CTEs and LATERAL, and each use is classified: a filter an index key could
serve, a join column, the block's sort order, its grouping, or just a column the block
reads.

The module is pure: no database access, only the text, the parser and the schema.
"""

from __future__ import annotations

from typing import Any

from pglast import ast, enums
from pglast.parser import ParseError as PglastParseError

from advisor.analyze.bounds import Deadline, LimitExceeded, ParseSettings, size_reason
from advisor.analyze.expressions import (
    bare_parameters,
    conjuncts,
    disjuncts,
    expression_sql,
    is_aggregate,
    is_constant,
    is_prefix_pattern,
    operator_name,
    order_key,
)
from advisor.analyze.scope import (
    Derived,
    Entry,
    Occurrence,
    Relation,
    Scope,
    alias_columns,
    alias_name,
    field_names,
    output_columns,
    output_sources,
    resolve,
    target_name,
)
from advisor.analyze.sqltext import prepared, unwrapped_call
from advisor.analyze.syntax import nodes, parse_tree, parsed
from advisor.model import (
    Disjunction,
    ExpressionUse,
    Filter,
    Operator,
    OrderKey,
    ParameterUse,
    ParsedStatement,
    PlannableText,
    Schema,
    Skipped,
    StatementKind,
    TableAccess,
)


class ParseError(Exception):
    """Why a text cannot be analyzed as one statement; `reason` is short and user-readable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------------ public API


def parse_statement(
    queryid: int, text: str, schema: Schema, limits: ParseSettings
) -> ParsedStatement | Skipped:
    """Describe how the statement reads the schema's tables, or say why it is skipped.

    Never raises: syntax errors, utility statements, several statements in one text,
    statements that read no table of `schema`, texts nested too deep to parse safely and
    texts over `limits` (longer than parse_max_bytes, unread; taking longer than
    parse_timeout_ms) become `Skipped` with a readable reason naming the limit; an
    unexpected failure of the analyzer too, with a reason starting "analyzer error:".
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.parse_max_bytes:
        return Skipped(queryid, size_reason(size, limits.parse_max_bytes), text)
    try:
        return _parse_statement(queryid, text, schema, Deadline(limits.parse_timeout_ms))
    except (ParseError, LimitExceeded) as error:
        return Skipped(queryid, error.reason, text)
    except RecursionError:  # pglast prints expressions recursively, in Python
        return Skipped(queryid, "parse nesting limit: an expression too deep to print", text)
    except Exception as error:  # the single guard: one odd statement must not stop a run
        return Skipped(queryid, f"analyzer error: {type(error).__name__}: {error}", text)


# ------------------------------------------------------------------ statement level

# Views read through views, at most this deep (PostgreSQL forbids cycles; this bounds work).
MAX_VIEW_DEPTH = 8
_QUERY_NODES = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)
_KINDS: dict[type[ast.Node], StatementKind] = {
    ast.SelectStmt: StatementKind.SELECT,
    ast.InsertStmt: StatementKind.INSERT,
    ast.UpdateStmt: StatementKind.UPDATE,
    ast.DeleteStmt: StatementKind.DELETE,
}


def _parse_statement(
    queryid: int, text: str, schema: Schema, deadline: Deadline
) -> ParsedStatement:
    plannable, parsed = prepared(text)
    statement = _single_statement(plannable.text, parsed)
    deadline.check()  # the parse itself is bounded by the text's size, not interruptible
    kind = _KINDS[type(statement)]
    analyzer = _Analyzer(schema, plannable, deadline)
    analyzer.query(statement, Scope(None))
    accesses = analyzer.accesses()
    if not accesses:
        if kind is StatementKind.INSERT and not _inserts_a_query(statement):
            raise ParseError("insert without a query: nothing to index")
        raise ParseError("no user tables")
    return ParsedStatement(
        queryid,
        kind,
        plannable,
        accesses,
        _parameter_count(statement),
        analyzer.parameters(),
    )


def _single_statement(text: str, parsed: tuple[Any, ...] | None = None) -> ast.Node:
    """The one statement of `text` (`parsed`, when given, is its parse)."""
    try:
        raw = parsed if parsed is not None else parse_tree(text)
    except PglastParseError as error:
        raise ParseError(_syntax_reason(error)) from None
    except ValueError:  # pglast encodes to UTF-8 first: lone surrogates fail there
        raise ParseError("syntax error: the text is not valid UTF-8") from None
    if not raw:
        raise ParseError("empty statement")
    if len(raw) > 1:
        raise ParseError(f"multiple statements ({len(raw)}) in one text")
    statement = raw[0].stmt
    if isinstance(statement, ast.MergeStmt):
        raise ParseError("unsupported statement (MergeStmt)")
    if not isinstance(statement, _QUERY_NODES):
        raise ParseError(f"utility statement ({type(statement).__name__})")
    return statement


def _syntax_reason(error: PglastParseError) -> str:
    message = str(error.args[0]) if error.args else str(error)
    return "syntax error: " + message.removeprefix("syntax error").strip()


def _inserts_a_query(statement: ast.Node) -> bool:
    select = statement.selectStmt if isinstance(statement, ast.InsertStmt) else None
    return isinstance(select, ast.SelectStmt) and not select.valuesLists


def _parameter_count(statement: ast.Node) -> int:
    numbers = (n.number or 0 for n in nodes(statement) if isinstance(n, ast.ParamRef))
    return max(numbers, default=0)


# `$1 < col` is `col > $1`.
_COMMUTED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _has_limit(stmt: ast.SelectStmt) -> bool:
    if stmt.limitOption == enums.LimitOption.LIMIT_OPTION_WITH_TIES:
        return True
    count = stmt.limitCount
    # LIMIT ALL parses as a NULL constant: no limit at all.
    return count is not None and not (isinstance(count, ast.A_Const) and count.isnull)


def _joined_filterable(join: ast.JoinExpr, left: list[Entry], right: list[Entry]) -> list[Entry]:
    """The FROM items a join's ON condition restricts: a LEFT JOIN's ON clause cannot
    remove rows of its preserved (left) side, so it filters only the right one."""
    if join.jointype == enums.JoinType.JOIN_LEFT:
        return right
    if join.jointype == enums.JoinType.JOIN_RIGHT:
        return left
    if join.jointype == enums.JoinType.JOIN_FULL:
        return []
    return left + right


# --------------------------------------------------------------------- the analyzer

_COMPARISONS = {
    "=": Operator.EQUALITY,
    "<": Operator.RANGE,
    "<=": Operator.RANGE,
    ">": Operator.RANGE,
    ">=": Operator.RANGE,
}
_BETWEEN = (enums.A_Expr_Kind.AEXPR_BETWEEN, enums.A_Expr_Kind.AEXPR_BETWEEN_SYM)
_PATTERNS = {enums.A_Expr_Kind.AEXPR_LIKE: "~~", enums.A_Expr_Kind.AEXPR_ILIKE: "~~*"}

# A JOIN ON condition with the FROM items it may filter (None: any item of the block).
_Condition = tuple[ast.Node, list[Entry] | None]


class _Analyzer:
    """Walks one statement, block by block, accumulating one `Occurrence` per table."""

    def __init__(self, schema: Schema, text: PlannableText, deadline: Deadline) -> None:
        self._schema = schema
        self._text = text
        self._deadline = deadline
        self._occurrences: list[Occurrence] = []
        # One set per expression being walked: the scopes its column references hit.
        # A term is a filter value when it does not touch the block's own scope.
        self._dependencies: list[set[Scope]] = []
        # How deep inside view definitions the walk is: their nodes' positions are in the
        # view's text, not the statement's, so nothing is rewritten from them.
        self._view_depth = 0
        self._sources: dict[int, dict[str, tuple[Occurrence, str]]] = {}  # by block

    def accesses(self) -> tuple[TableAccess, ...]:
        return tuple(o.access() for o in self._occurrences)

    def parameters(self) -> tuple[ParameterUse, ...]:
        return tuple(dict.fromkeys(p for o in self._occurrences for p in o.parameters))

    # ------------------------------------------------------------- query blocks

    def query(self, node: ast.Node | None, parent: Scope) -> frozenset[str] | None:
        """Analyze a statement or subquery; return its output column names if known."""
        if isinstance(node, ast.SelectStmt):
            return self._select(node, parent)
        if isinstance(node, ast.InsertStmt):
            self._insert(node, parent)
        elif isinstance(node, ast.UpdateStmt):
            self._update(node, parent)
        elif isinstance(node, ast.DeleteStmt):
            self._delete(node, parent)
        return None

    def _select(self, stmt: ast.SelectStmt, parent: Scope) -> frozenset[str] | None:
        if stmt.withClause is not None:
            parent = self._with(stmt.withClause, parent)
        if stmt.op not in (None, enums.SetOperation.SETOP_NONE):
            return self._set_operation(stmt, parent)
        scope = Scope(parent)
        if stmt.valuesLists:
            self._walk(stmt.valuesLists, scope)
            return None
        conditions = self._from_clause(stmt.fromClause, scope)
        targets = stmt.targetList or ()
        self._walk(targets, scope)
        for condition, filterable in conditions:
            self._condition(condition, scope, filterable)
        self._condition(stmt.whereClause, scope, None)
        self._group_by(stmt.groupClause or (), targets, scope)
        self._walk(
            (
                stmt.havingClause,
                stmt.windowClause,
                stmt.distinctClause,
                stmt.limitCount,
                stmt.limitOffset,
            ),
            scope,
        )
        self._order_by(stmt.sortClause or (), targets, scope)
        if _has_limit(stmt):
            for occurrence in scope.occurrences():
                occurrence.limited = True
        self._sources[id(stmt)] = output_sources(targets, scope)
        return output_columns(targets, scope)

    def _set_operation(self, stmt: ast.SelectStmt, parent: Scope) -> frozenset[str] | None:
        # Each branch is a block of its own; the ORDER BY and LIMIT of a UNION apply to
        # its result, which no single table's index can deliver (and its ORDER BY names
        # only output columns, so it reads no table column either).
        columns = self.query(stmt.larg, parent)
        self.query(stmt.rarg, parent)
        self._walk((stmt.limitCount, stmt.limitOffset), Scope(parent))
        return columns

    def _with(self, clause: ast.WithClause, parent: Scope) -> Scope:
        """Analyze each CTE body as its own query; return the scope that names them."""
        scope = Scope(parent)
        for cte in clause.ctes or ():
            name = str(cte.ctename)
            aliases = alias_columns(cte.aliascolnames)
            if clause.recursive:
                scope.ctes[name] = Derived(aliases)  # the body may refer to itself
            columns = self.query(cte.ctequery, scope)
            sources = self._sources.pop(id(cte.ctequery), {})
            scope.ctes[name] = Derived(aliases or columns, {} if aliases else sources)
        return scope

    def _insert(self, stmt: ast.InsertStmt, parent: Scope) -> None:
        # Only the query producing the rows reads tables; the target, ON CONFLICT and
        # RETURNING act on the rows being written.
        if stmt.withClause is not None:
            parent = self._with(stmt.withClause, parent)
        self.query(stmt.selectStmt, parent)

    def _update(self, stmt: ast.UpdateStmt, parent: Scope) -> None:
        if stmt.withClause is not None:
            parent = self._with(stmt.withClause, parent)
        scope = Scope(parent)
        target = self._range_var(stmt.relation, scope) if stmt.relation else None
        conditions = self._from_clause(stmt.fromClause, scope)
        for item in stmt.targetList or ():
            self._assignment(item, target, scope)
        for condition, filterable in conditions:
            self._condition(condition, scope, filterable)
        self._condition(stmt.whereClause, scope, None)
        self._walk(stmt.returningClause, scope)

    def _assignment(self, item: ast.Node, target: Entry | None, scope: Scope) -> None:
        if not isinstance(item, ast.ResTarget):
            return
        if target is not None and isinstance(target.relation, Occurrence) and item.name:
            occurrence = target.relation
            if occurrence.use(item.name) and item.name not in occurrence.written:
                occurrence.written.append(item.name)
        value = item.val
        # `SET (a, b) = (SELECT ...)` repeats the subquery in every column's target: walk
        # it once, or its tables would count twice.
        if isinstance(value, ast.MultiAssignRef):
            if value.colno == 1:
                self._walk(value.source, scope)
            return
        self._walk((item.indirection, value), scope)

    def _delete(self, stmt: ast.DeleteStmt, parent: Scope) -> None:
        if stmt.withClause is not None:
            parent = self._with(stmt.withClause, parent)
        scope = Scope(parent)
        if stmt.relation is not None:
            self._range_var(stmt.relation, scope)
        conditions = self._from_clause(stmt.usingClause, scope)
        for condition, filterable in conditions:
            self._condition(condition, scope, filterable)
        self._condition(stmt.whereClause, scope, None)
        self._walk(stmt.returningClause, scope)

    # -------------------------------------------------------------- FROM items

    def _from_clause(self, items: tuple[Any, ...] | None, scope: Scope) -> list[_Condition]:
        conditions: list[_Condition] = []
        for item in items or ():
            self._from_item(item, scope, conditions)
        return conditions

    def _from_item(
        self, item: ast.Node | None, scope: Scope, conditions: list[_Condition]
    ) -> list[Entry]:
        """Add a FROM item's entries to `scope` (left to right, so LATERAL sees the items
        before it) and collect its join conditions; return the entries it added."""
        if isinstance(item, ast.RangeVar):
            return [self._range_var(item, scope)]
        if isinstance(item, ast.JoinExpr):
            return self._join(item, scope, conditions)
        if isinstance(item, ast.RangeSubselect):
            # A plain subquery in FROM cannot see its sibling FROM items; a LATERAL one can.
            outer = scope if item.lateral else (scope.parent or Scope(None))
            columns = self.query(item.subquery, outer)
            renamed = alias_columns(item.alias.colnames if item.alias else None)
            sources = self._sources.pop(id(item.subquery), {})
            derived = Derived(renamed or columns, {} if renamed else sources)
            return [self._add(scope, alias_name(item.alias), None, derived)]
        if isinstance(item, ast.RangeTableSample):
            entries = self._from_item(item.relation, scope, conditions)
            self._walk((item.args, item.repeatable), scope)
            return entries
        # Functions, XMLTABLE, JSON_TABLE: their arguments may refer to earlier items.
        self._walk(item, scope)
        alias: ast.Alias | None = getattr(item, "alias", None)
        derived = Derived(alias_columns(alias.colnames) if alias is not None else None)
        return [self._add(scope, alias_name(alias), None, derived)]

    def _range_var(self, node: ast.RangeVar, scope: Scope) -> Entry:
        name = str(node.relname)
        refname = alias_name(node.alias) or name
        cte = scope.cte(name) if node.schemaname is None else None
        if cte is not None:
            return self._add(scope, refname, None, cte)
        table = self._schema.resolve(name, node.schemaname)
        if table is None:
            view = self._view(name, node.schemaname)
            if view is not None:  # read as the subquery it stands for
                self._view_depth += 1
                try:
                    columns = self.query(view, Scope(None))
                finally:
                    self._view_depth -= 1
                sources = self._sources.pop(id(view), {})
                return self._add(scope, refname, None, Derived(columns, sources))
            # A catalog table, a table of another schema ...
            schema = None if node.alias else node.schemaname
            return self._add(scope, refname, schema, Derived(None))
        occurrence = Occurrence(table)
        self._occurrences.append(occurrence)
        schema = None if node.alias else table.name.schema
        return self._add(scope, refname, schema, occurrence)

    def _view(self, name: str, schema: str | None) -> ast.SelectStmt | None:
        """The parsed definition of the view the name refers to (views of views nest,
        to a bounded depth), or None."""
        definition = self._schema.view(name, schema)
        if definition is None or self._view_depth >= MAX_VIEW_DEPTH:
            return None
        statements = parsed(definition)
        if not statements or not isinstance(statements[0].stmt, ast.SelectStmt):
            return None
        select: ast.SelectStmt = statements[0].stmt
        return select

    @staticmethod
    def _add(scope: Scope, refname: str | None, schema: str | None, relation: Relation) -> Entry:
        entry = Entry(refname, schema, relation)
        scope.entries.append(entry)
        return entry

    def _join(self, join: ast.JoinExpr, scope: Scope, conditions: list[_Condition]) -> list[Entry]:
        left = self._from_item(join.larg, scope, conditions)
        right = self._from_item(join.rarg, scope, conditions)
        for name in join.usingClause or ():
            if isinstance(name, ast.String):
                self._using_column(str(name.sval), left, right)
        if join.quals is not None:
            conditions.append((join.quals, _joined_filterable(join, left, right)))
        return left + right

    @staticmethod
    def _using_column(column: str, left: list[Entry], right: list[Entry]) -> None:
        for side in (left, right):
            having = [e for e in side if column in (e.relation.known_columns() or ())]
            if len(having) == 1 and isinstance(having[0].relation, Occurrence):
                having[0].relation.add_join_column(column)

    # ------------------------------------------------------------- expressions

    def _walk(self, node: object, scope: Scope) -> set[Scope]:
        """Record every column an expression reads and analyze its subqueries as blocks of
        their own; return the scopes its column references resolve in."""
        dependencies: set[Scope] = set()
        self._dependencies.append(dependencies)
        try:
            stack: list[object] = [node]
            while stack:
                self._deadline.check()
                item = stack.pop()
                if isinstance(item, (tuple, list)):
                    stack.extend(reversed(item))
                elif isinstance(item, ast.ColumnRef):
                    self._column_reference(item, scope)
                elif isinstance(item, ast.SubLink):
                    self._walk(item.testexpr, scope)
                    self.query(item.subselect, scope)
                elif isinstance(item, _QUERY_NODES):
                    self.query(item, scope)
                elif isinstance(item, ast.Node):
                    stack.extend(reversed([getattr(item, name) for name in item]))
        finally:
            self._dependencies.pop()
            if self._dependencies:
                self._dependencies[-1] |= dependencies
        return dependencies

    def _column_reference(self, ref: ast.ColumnRef, scope: Scope) -> None:
        if field_names(ref) == ["*"]:
            for entry in scope.entries:
                if isinstance(entry.relation, Occurrence):
                    entry.relation.all_columns = True
            self._dependencies[-1].add(scope)
            return
        resolved = resolve(ref, scope)
        # A name we cannot place is treated as belonging to this block: it then never
        # passes for a constant in a filter.
        self._dependencies[-1].add(resolved.scope if resolved else scope)
        if resolved is None or resolved.entry is None:
            return
        relation = resolved.entry.relation
        if isinstance(relation, Occurrence):
            if resolved.column is None:
                relation.all_columns = True
            else:
                relation.use(resolved.column)

    @staticmethod
    def _local_column(node: object, scope: Scope) -> tuple[Entry, str] | None:
        """The (entry, column) a plain column reference of this very block points to."""
        if not isinstance(node, ast.ColumnRef):
            return None
        resolved = resolve(node, scope)
        if resolved is None or resolved.scope is not scope or resolved.entry is None:
            return None
        if resolved.column is None:
            return None
        return resolved.entry, resolved.column

    # -------------------------------------------------------------- conditions

    def _condition(
        self, node: ast.Node | None, scope: Scope, filterable: list[Entry] | None
    ) -> None:
        for term in conjuncts(node):
            self._term(term, scope, filterable)

    def _term(self, term: ast.Node, scope: Scope, filterable: list[Entry] | None) -> None:
        """Classify one AND-ed term; an OR of one table's filters is recorded as a
        disjunction, terms under NOT only count as column reads."""
        if isinstance(term, ast.A_Expr):
            self._a_expr(term, scope, filterable)
        elif isinstance(term, ast.NullTest):
            self._walk(term.arg, scope)
            if term.nulltesttype == enums.NullTestType.IS_NULL:
                self._filter(term.arg, Operator.IS_NULL, scope, filterable)
        elif isinstance(term, ast.SubLink) and term.subLinkType == enums.SubLinkType.ANY_SUBLINK:
            self._walk(term, scope)
            self._semi_join(term, scope)
        elif isinstance(term, ast.ColumnRef):
            # A bare boolean column: `WHERE active` is `WHERE active = true`.
            self._walk(term, scope)
            self._filter(term, Operator.EQUALITY, scope, filterable)
        elif isinstance(term, ast.BoolExpr) and term.boolop == enums.BoolExprType.OR_EXPR:
            self._walk(term, scope)
            self._disjunction(term, scope, filterable)
        else:
            self._walk(term, scope)

    def _disjunction(
        self, expr: ast.BoolExpr, scope: Scope, filterable: list[Entry] | None
    ) -> None:
        """Record an OR whose every arm filters columns of one table occurrence of this
        block against constants or parameters (`a = $1 OR b = $2`): a BitmapOr of one
        index per arm serves it. Terms of an arm that are no such filter are left to the
        recheck; an arm without one, or arms on different tables, record nothing."""
        occurrence: Occurrence | None = None
        arms: list[tuple[Filter, ...]] = []
        for term in (t for arm in disjuncts(expr) for t in conjuncts(arm)):
            self._pattern(term, scope)
        for arm in disjuncts(expr):
            filters: list[Filter] = []
            for term in conjuncts(arm):
                found = self._arm_filter(term, scope, filterable)
                if found is None:
                    continue
                if occurrence is not None and found[0] is not occurrence:
                    return
                occurrence = found[0]
                if found[1] not in filters:
                    filters.append(found[1])
            if not filters:
                return
            arms.append(tuple(filters))
        if occurrence is not None and len(arms) > 1:
            occurrence.add_disjunction(Disjunction(tuple(arms)))

    def _arm_filter(
        self, term: ast.Node, scope: Scope, filterable: list[Entry] | None
    ) -> tuple[Occurrence, Filter] | None:
        """The filter one term of an OR's arm puts on a plain column of this block, if it
        compares the column with a constant or a parameter."""
        column: object = None
        operator: Operator | None = None
        if isinstance(term, ast.A_Expr):
            kind, name = term.kind, operator_name(term)
            lexpr, rexpr = term.lexpr, term.rexpr
            if kind == enums.A_Expr_Kind.AEXPR_OP and name in _COMPARISONS:
                operator = _COMPARISONS[name]
                if is_constant(rexpr):
                    column = lexpr
                elif is_constant(lexpr):
                    column = rexpr
            elif is_constant(rexpr):
                column = lexpr
                if kind in (enums.A_Expr_Kind.AEXPR_OP_ANY, enums.A_Expr_Kind.AEXPR_IN):
                    operator = Operator.IN_LIST if name == "=" else None
                elif kind in _BETWEEN:
                    operator = Operator.RANGE
                elif kind == enums.A_Expr_Kind.AEXPR_LIKE and name == "~~":
                    operator = Operator.LIKE_PREFIX if is_prefix_pattern(rexpr) else None
        elif isinstance(term, ast.NullTest):
            if term.nulltesttype == enums.NullTestType.IS_NULL:
                column, operator = term.arg, Operator.IS_NULL
        elif isinstance(term, ast.ColumnRef):
            column, operator = term, Operator.EQUALITY
        local = self._local_column(column, scope) if operator is not None else None
        if local is None or operator is None:
            return None
        entry, name = local
        if (filterable is not None and entry not in filterable) or not isinstance(
            entry.relation, Occurrence
        ):
            return None
        if name not in entry.relation.table.column_names:
            return None
        return entry.relation, Filter(name, operator)

    def _a_expr(self, expr: ast.A_Expr, scope: Scope, filterable: list[Entry] | None) -> None:
        kind, name = expr.kind, operator_name(expr)
        lexpr, rexpr = expr.lexpr, expr.rexpr
        if kind == enums.A_Expr_Kind.AEXPR_OP and name in _COMPARISONS:
            if isinstance(lexpr, ast.RowExpr) and isinstance(rexpr, ast.RowExpr):
                self._row_comparison(lexpr, rexpr, name, scope, filterable)
            else:
                self._comparison(lexpr, rexpr, name, scope, filterable)
            return
        self._walk(lexpr, scope)
        value = scope not in self._walk(rexpr, scope)
        operator: Operator | None = None
        if kind in (enums.A_Expr_Kind.AEXPR_OP_ANY, enums.A_Expr_Kind.AEXPR_IN) and name == "=":
            operator = Operator.IN_LIST
        elif kind == enums.A_Expr_Kind.AEXPR_LIKE and name == "~~" and is_prefix_pattern(rexpr):
            operator = Operator.LIKE_PREFIX
        elif kind in _BETWEEN:
            operator = Operator.RANGE
        if operator is None and value:
            self._pattern(expr, scope)
        if operator is None or not value:
            return
        # `(a, b) IN (($1, $2), ...)`, as ORMs write composite keys: each column is listed.
        if isinstance(lexpr, ast.RowExpr):
            for column in lexpr.args or ():
                self._filter(column, operator, scope, filterable)
            return
        values: tuple[tuple[object, str], ...] = ((rexpr, "=" if name == "=" else "~~"),)
        if kind in _BETWEEN and isinstance(rexpr, (list, tuple)) and len(rexpr) == 2:
            values = ((rexpr[0], ">="), (rexpr[1], "<="))
        self._filter(lexpr, operator, scope, filterable, values)

    def _comparison(
        self, lexpr: Any, rexpr: Any, name: str, scope: Scope, filterable: list[Entry] | None
    ) -> None:
        left_value = scope not in self._walk(lexpr, scope)
        right_value = scope not in self._walk(rexpr, scope)
        if name == "=" and self._join_columns(lexpr, rexpr, scope):
            return
        if name == "=" and not (left_value or right_value):
            self._join_expressions(lexpr, rexpr, scope)
        operator = _COMPARISONS[name]
        if right_value:
            self._filter(lexpr, operator, scope, filterable, ((rexpr, name),))
        if left_value:  # `$1 = col`, `$1 < col`: the column on the right
            self._filter(rexpr, operator, scope, filterable, ((lexpr, _COMMUTED.get(name, name)),))

    def _row_comparison(
        self,
        lrow: ast.RowExpr,
        rrow: ast.RowExpr,
        name: str,
        scope: Scope,
        filterable: list[Entry] | None,
    ) -> None:
        lefts, rights = lrow.args or (), rrow.args or ()
        if len(lefts) != len(rights) or not lefts:
            self._walk((lrow, rrow), scope)
        elif name == "=":  # `(a, b) = ($1, $2)` is `a = $1 AND b = $2`
            for left, right in zip(lefts, rights, strict=True):
                self._comparison(left, right, name, scope, filterable)
        else:
            # Keyset pagination, `(a, b) < ($1, $2)`: an index on (a, b) serves it; its
            # leading column is the range, the order of the rest comes from ORDER BY.
            self._comparison(lefts[0], rights[0], name, scope, filterable)
            self._walk((lefts[1:], rights[1:]), scope)

    def _join_columns(self, lexpr: object, rexpr: object, scope: Scope) -> bool:
        """Record `a.x = b.y` between two items of this block; False if it is not one."""
        left = self._local_column(lexpr, scope)
        right = self._local_column(rexpr, scope)
        if left is None or right is None or left[0] is right[0]:
            return False
        for entry, column in (left, right):
            if isinstance(entry.relation, Occurrence):
                entry.relation.add_join_column(column)
        return True

    def _join_expressions(self, lexpr: object, rexpr: object, scope: Scope) -> None:
        """`lower(a.email) = b.email`: a join an index on the expression could serve."""
        sides = [(lexpr, rexpr), (rexpr, lexpr)]
        for this, other in sides:
            expression = self._local_expression(this, scope)
            if expression is None:
                continue
            _, occurrence, text, parameters = expression
            column = self._local_column(other, scope)
            partner = self._local_expression(other, scope)
            other_relation = column[0].relation if column else partner[1] if partner else None
            if other_relation is not None and other_relation is not occurrence:
                occurrence.add_expression(ExpressionUse(text, "join", None, parameters))
                if column is not None and isinstance(column[0].relation, Occurrence):
                    column[0].relation.add_join_column(column[1])

    def _semi_join(self, sublink: ast.SubLink, scope: Scope) -> None:
        # `col IN (SELECT ...)` joins col to the subquery's output (a semi-join).
        operator = sublink.operName or ()
        if operator and not (isinstance(operator[-1], ast.String) and operator[-1].sval == "="):
            return
        column = self._local_column(sublink.testexpr, scope)
        if column is not None and isinstance(column[0].relation, Occurrence):
            column[0].relation.add_join_column(column[1])

    def _filter(
        self,
        node: object,
        operator: Operator,
        scope: Scope,
        filterable: list[Entry] | None,
        values: tuple[tuple[object, str], ...] = (),
    ) -> None:
        """Record `operator` on `node` if it is a plain column of this block's table, and
        which parameters (`values`: the compared expressions with the operator symbols,
        column on the left) it is compared with.

        A column under a function or a cast (`lower(email)`, `created_at::date`) is not a
        plain column: it is recorded as an expression, which an index on that very
        expression could serve."""
        column = self._local_column(node, scope)
        if column is None:
            expression = self._local_expression(node, scope)
            if expression is not None and (filterable is None or expression[0] in filterable):
                _, occurrence, text, parameters = expression
                proxy = self._proxy(node, scope)
                occurrence.add_expression(
                    ExpressionUse(
                        text,
                        "filter",
                        operator,
                        parameters,
                        proxy_column=proxy[0] if proxy else None,
                        proxy=proxy[1] if proxy else None,
                    )
                )
            return
        entry, name = column
        if filterable is not None and entry not in filterable:
            return
        relation = entry.relation
        if isinstance(relation, Derived) and (source := relation.sources.get(name)):
            relation, name = source  # a view's or subquery's column: pushed down
        if isinstance(relation, Occurrence):
            occurrence = relation
            occurrence.add_filter(name, operator)
            for value, symbol in values:
                for number in bare_parameters(value):
                    use = ParameterUse(number, occurrence.table.name, name, operator, symbol)
                    occurrence.add_parameter(use)

    def _pattern(self, term: object, scope: Scope) -> None:
        """A LIKE or ILIKE pattern no btree range serves (`name ILIKE $2`, in an OR's arm
        too): no filter an index keys on, but its parameter's values decide how soon a walk
        in index order finds a page of matches."""
        if not isinstance(term, ast.A_Expr) or term.kind not in _PATTERNS:
            return
        symbol = _PATTERNS[term.kind]
        if operator_name(term) != symbol or (symbol == "~~" and is_prefix_pattern(term.rexpr)):
            return
        column = self._local_column(term.lexpr, scope)
        relation = column[0].relation if column is not None else None
        if column is not None and isinstance(relation, Occurrence):
            for number in bare_parameters(term.rexpr):
                use = ParameterUse(number, relation.table.name, column[1], Operator.PATTERN, symbol)
                relation.add_parameter(use)

    def _proxy(self, node: object, scope: Scope) -> tuple[str, PlannableText] | None:
        """For `lower(col)` and its like: the column, and the statement's text with the
        call replaced by the column (see ExpressionUse.proxy)."""
        if not (
            isinstance(node, ast.FuncCall)
            and node.funcname
            and str(node.funcname[-1].sval).lower() in _PROXY_FUNCTIONS
            and node.args
            and len(node.args) == 1
            and node.location is not None
            and not self._view_depth
        ):
            return None
        column = self._local_column(node.args[0], scope)
        proxy = unwrapped_call(self._text, node.location) if column is not None else None
        if column is None or proxy is None:
            return None
        return column[1], proxy

    def _local_expression(
        self, node: object, scope: Scope
    ) -> tuple[Entry, Occurrence, str, tuple[int, ...]] | None:
        """An expression over the columns of one table occurrence of this block (no
        subquery, no aggregate), as SQL over bare column names, with its parameters."""
        if not isinstance(node, (ast.FuncCall, ast.A_Expr, ast.TypeCast, ast.CoalesceExpr)):
            return None
        expression: ast.Node = node
        entry: Entry | None = None
        occurrence: Occurrence | None = None
        for item in nodes(node):
            if isinstance(item, (ast.SubLink, *_QUERY_NODES)):
                return None
            if isinstance(item, ast.FuncCall) and is_aggregate(item):
                return None
            if isinstance(item, ast.ColumnRef):
                local = self._local_column(item, scope)
                if local is None or not isinstance(local[0].relation, Occurrence):
                    return None
                if occurrence is None:
                    entry, occurrence = local[0], local[0].relation
                elif local[0].relation is not occurrence:
                    return None
        if entry is None or occurrence is None:
            return None
        parameters = tuple(
            sorted({n.number or 0 for n in nodes(node) if isinstance(n, ast.ParamRef)})
        )
        return entry, occurrence, expression_sql(expression), parameters

    # ---------------------------------------------------- ORDER BY and GROUP BY

    def _order_by(self, items: tuple[Any, ...], targets: tuple[Any, ...], scope: Scope) -> None:
        """Give the block's ORDER BY to a table only when every key is a plain column of
        that one occurrence (only then can one index deliver the order)."""
        keys: list[tuple[Entry, OrderKey]] = []
        attributable = True
        for item in items:
            if not isinstance(item, ast.SortBy):
                attributable = False
                continue
            node = self._output_target(item.node, targets)
            if node is None:
                self._walk(item.node, scope)
                node = item.node
            column = self._local_column(node, scope)
            if column is None and len(items) == 1:
                # One expression key (`ORDER BY lower(name)`): an index on it serves it.
                expression = self._local_expression(node, scope)
                if expression is not None:
                    _, occurrence, text, parameters = expression
                    descending = item.sortby_dir == enums.SortByDir.SORTBY_DESC
                    occurrence.add_expression(
                        ExpressionUse(text, "order", None, parameters, descending)
                    )
            if column is None or item.sortby_dir == enums.SortByDir.SORTBY_USING:
                attributable = False
                continue
            keys.append((column[0], order_key(column[1], item)))
        entries = {id(entry) for entry, _ in keys}
        if not (attributable and keys and len(entries) == 1):
            return
        relation = keys[0][0].relation
        if isinstance(relation, Occurrence):
            relation.order_by = tuple(key for _, key in keys)

    def _group_by(self, items: tuple[Any, ...], targets: tuple[Any, ...], scope: Scope) -> None:
        for item in items:
            node: object = item
            # GROUP BY prefers an input column; an output name or position comes second.
            if self._local_column(item, scope) is None:
                target = self._output_target(item, targets)
                node = target if target is not None else item
            if node is item:
                self._walk(item, scope)
            column = self._local_column(node, scope)
            if column is not None and isinstance(column[0].relation, Occurrence):
                column[0].relation.add_group_column(column[1])
            elif (expression := self._local_expression(node, scope)) is not None:
                _, occurrence, text, parameters = expression
                occurrence.add_expression(ExpressionUse(text, "group", None, parameters))

    @staticmethod
    def _output_target(node: object, targets: tuple[Any, ...]) -> Any:
        """The select-list expression an output name (`ORDER BY total`) or a position
        (`ORDER BY 2`) refers to; None when `node` is neither."""
        if isinstance(node, ast.ColumnRef):
            names = field_names(node)
            if len(names) != 1:
                return None
            for target in targets:
                if isinstance(target, ast.ResTarget) and target_name(target) == names[0]:
                    return target.val
            return None
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
            position = int(node.val.ival or 0)
            # A star expands to an unknown number of columns: positions after it shift.
            stars = any(
                isinstance(t, ast.ResTarget)
                and isinstance(t.val, ast.ColumnRef)
                and field_names(t.val)[-1] == "*"
                for t in targets
            )
            if not stars and 1 <= position <= len(targets):
                return targets[position - 1].val
        return None


# Functions that keep a column about as selective as it is (case folding, trimming).
_PROXY_FUNCTIONS = frozenset({"lower", "upper", "btrim", "ltrim", "rtrim"})
