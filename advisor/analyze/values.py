"""The values statements run with, and what the advice makes of them.

A normalized statement (`status = $2`) hides the values that decide its best plan: a
statement that asks for a rare status almost always is best served by a partial index, one
that asks for the biggest tenant by another plan than one that asks for a small tenant.
This module turns what is known about the values (pg_qualstats' constants, parameters from
the server log, pg_stats' most common values) into:

- scenarios: sets of parameter values, each with the share of the statement's calls it
  stands for, on which the statement is costed (custom plans); the share of calls whose
  values are unknown is costed on the generic plan, as before;
- partial index predicates, for a column a statement compares with a few values that
  cover most of its calls and a small share of the table;
- values for the parameters of expressions (`payload ->> $1` with `$1` always `'ip'`).

Sources, best first: the server log (every parameter of a call together), pg_qualstats
(each qual's constants, sampled), pg_stats (a parameter compared by equality with a
skewed column is assumed to ask for each common value as often as the table holds it),
a sample of the table (a JSON key bound as a parameter, `payload ->> $1 = $2`, is assumed
to be each key the sampled objects hold, as often as they hold it).

Pure: no database access.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pglast import ast
from pglast.parser import ParseError as PglastParseError
from pglast.parser import fingerprint

from advisor.analyze.sqltext import parameter_positions
from advisor.analyze.syntax import expression as parsed_expression
from advisor.model import (
    ColumnStatistics,
    Operator,
    ParameterUse,
    ParsedStatement,
    Schema,
    Statement,
    TableName,
    ValueAssumption,
    ValueKnowledge,
    ValueSource,
    quote_ident,
)

# Values of a column taken from pg_stats (the most common ones) per statement.
STATISTICS_VALUES = 2
# A value counts as one the statement depends on when this share of its calls use it.
FREQUENT_VALUE_SHARE = 0.25
# A search pattern (`name ILIKE $2`) no source showed is costed, for this share of its
# calls, as a search for a word of a typical value of the column (see _searched_word): a
# search box finds what the column holds. The generic plan's guess instead, half a percent
# of the rows whatever the column holds, makes a walk in index order that stops at a page
# of matches look dear for any tenant but the largest.
PATTERN_SHARE = 1.0
PATTERN_MIN_WORD = 3
# The scenarios of a statement with values for several parameters: limit + 1 for each of
# up to this many of them.
JOINT_PARAMETERS = 2
# A JSON key is costed as one the calls may ask for when this share of the sampled rows
# hold it; an index is proposed on one whose values are more varied than a status's.
JSON_KEY_MIN_SHARE = 0.1
JSON_KEY_MIN_DISTINCT = 20


@dataclass(frozen=True)
class ValueSettings:
    """How values are costed and partial indexes proposed (config.value_settings maps them
    from Settings, where each is documented with its default)."""

    max_value_scenarios: int
    max_value_statements: int
    partial_max_values: int
    partial_min_share_of_calls: float
    partial_max_share_of_rows: float
    partial_max_column_distinct: int
    value_skew_min_share: float
    value_skew_min_ratio: float


@dataclass(frozen=True)
class Scenario:
    """One set of values a statement is costed with: `literals` maps `$n` to SQL; the
    parameters it leaves out stay parameters (the generic plan's estimate for them)."""

    weight: float
    literals: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Distribution:
    """The values one parameter takes: (SQL literal, share of calls), most frequent first.
    The shares sum to at most 1; the rest is values not known. `rows` holds each value's
    share of the table's rows, where known."""

    table: TableName
    target: str
    values: tuple[tuple[str, float], ...]
    source: ValueSource
    samples: int = 0
    rows: Mapping[str, float] = field(default_factory=dict)
    symbol: str = "="
    # A value that stands for any (a partition key's, so that the plan prunes as the
    # calls' custom plans do), not one the calls were seen or assumed to use.
    representative: bool = False


@dataclass(frozen=True)
class PartialPredicate:
    """A predicate a partial index could carry for a statement: `column` restricted to the
    values most of its calls ask for, which hold a small share of the table."""

    table: TableName
    column: str
    sql: str
    assumption: ValueAssumption


def common_value_scenarios(
    most_common: Sequence[tuple[str, float]], limit: int
) -> list[tuple[str, float]]:
    """The values a statement is costed with when only pg_stats knows them, with the share
    of calls each stands for (calls follow rows): the STATISTICS_VALUES heaviest values
    each with its own share, then one value standing for all the other common ones,
    with their summed share. It is the one nearest to their calls-weighted mean frequency
    (sum f^2 / sum f), the rows an average call among them reads: under a generic plan,
    which assumes an average value, those calls look as cheap as a rare value's."""
    ranked = sorted(most_common, key=lambda item: -item[1])
    heavy = ranked[: min(STATISTICS_VALUES, limit)]
    rest = ranked[len(heavy) :]
    share = math.fsum(f for _, f in rest)
    if len(heavy) >= limit or not rest or share <= 0:
        return list(heavy)
    mean = math.fsum(f * f for _, f in rest) / share
    typical = min(rest, key=lambda item: (abs(item[1] - mean), -item[1]))
    return [*heavy, (typical[0], share)]


# A range bound on a partition key is costed at this point of its histogram: `>=` reads
# the newest tenth (a time window's usual call), `<` and `<=` everything below the top.
RANGE_LOWER_BOUND_POSITION = 0.9


def representative_value(stats: ColumnStatistics, symbol: str) -> str | None:
    """One value of the column, as pg_stats prints it, that a call comparing it with
    `symbol` could use: the most common value (or the median) for equality, a bound near
    the top of the histogram for a range. None when the statistics hold no value."""
    histogram = stats.histogram
    if symbol in (">", ">="):
        if histogram:
            return histogram[int(RANGE_LOWER_BOUND_POSITION * (len(histogram) - 1))]
    elif symbol in ("<", "<="):
        if histogram:
            return histogram[-1]
    elif symbol != "=":
        return None
    if stats.most_common:
        return max(stats.most_common, key=lambda item: item[1])[0]
    return histogram[len(histogram) // 2] if histogram else None


def partition_statistics_columns(
    parsed: Iterable[ParsedStatement], schema: Schema
) -> set[tuple[TableName, str]]:
    """For every partition key a statement compares with a parameter, the key column in
    the PARTITION_STATISTICS_LEAVES largest partitions: autovacuum analyzes partitions,
    never the partitioned table, whose own statistics are often missing."""
    columns: set[tuple[TableName, str]] = set()
    for statement in parsed:
        for use in statement.parameters:
            if use.column not in schema.partition_keys(use.table):
                continue
            for leaf in _largest_partitions(schema, use.table, use.column):
                columns.add((leaf, use.column))
    return columns


PARTITION_STATISTICS_LEAVES = 3


def _largest_partitions(schema: Schema, table: TableName, column: str) -> list[TableName]:
    parts = [
        p.table
        for p in schema.partitions(table)
        if not p.partitioned
        and (found := schema.tables.get(p.table)) is not None
        and found.column(column) is not None
    ]
    parts.sort(key=lambda name: (-schema.tables[name].row_estimate, name))
    return parts[:PARTITION_STATISTICS_LEAVES]


def sql_literal(value: str | None, type_name: str | None) -> str:
    """A value's text as an SQL literal of the given type: `'it''s'::text`."""
    if value is None:
        return "NULL" if type_name is None else f"NULL::{type_name}"
    quoted = "'" + value.replace("'", "''") + "'"
    return quoted if type_name is None else f"{quoted}::{type_name}"


def literal_text(literal: str) -> str | None:
    """The value a literal stands for, as text (`'blocked'::st` -> blocked, `3::integer`
    -> 3); None when it is not a plain constant."""
    node = parsed_expression(literal)
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if not isinstance(node, ast.A_Const) or node.isnull:
        return None
    value = node.val
    if isinstance(value, ast.String):
        return str(value.sval)
    if isinstance(value, ast.Integer):
        return str(value.ival)
    if isinstance(value, ast.Float):
        return str(value.fval)
    if isinstance(value, ast.Boolean):
        return "true" if value.boolval else "false"
    return None


def json_key_parameter(text: str) -> tuple[str, int] | None:
    """(column, n) when `text` is a JSON column's key bound as a parameter,
    `"payload" ->> $2` or `"payload" -> $2`; else None."""
    node = parsed_expression(text)
    if not isinstance(node, ast.A_Expr) or not node.name:
        return None
    operator = node.name[-1]
    if not isinstance(operator, ast.String) or operator.sval not in ("->>", "->"):
        return None
    column, key = node.lexpr, node.rexpr
    while isinstance(key, ast.TypeCast):
        key = key.arg
    if not (
        isinstance(column, ast.ColumnRef)
        and column.fields
        and len(column.fields) == 1
        and isinstance(column.fields[0], ast.String)
        and isinstance(key, ast.ParamRef)
    ):
        return None
    return str(column.fields[0].sval), int(key.number or 0)


def json_key_columns(
    statements: Iterable[ParsedStatement], schema: Schema
) -> set[tuple[TableName, str, str]]:
    """(table, column, type) of each json or jsonb column a statement filters on by a key
    it binds as a parameter (`payload ->> $1 = $2`): the keys a sample of it should show."""
    found = set()
    for statement in statements:
        for access in statement.accesses:
            table = schema.tables.get(access.table)
            for use in access.expressions:
                key = json_key_parameter(use.expression) if use.role == "filter" else None
                column = table.column(key[0]) if table is not None and key else None
                if column is not None and column.type_name in ("json", "jsonb"):
                    found.add((access.table, column.name, column.type_name))
    return found


def statistics_columns(parsed: Iterable[ParsedStatement]) -> set[tuple[TableName, str]]:
    """The columns whose pg_stats the values need: every column a statement compares with
    a parameter, and every filtered column (BRIN candidates need their correlation)."""
    columns: set[tuple[TableName, str]] = set()
    for statement in parsed:
        columns.update((p.table, p.column) for p in statement.parameters)
        for access in statement.accesses:
            columns.update((access.table, f.column) for f in access.filters)
    return columns


class ValueModel:
    """Everything the advice knows about values, per statement."""

    def __init__(
        self,
        knowledge: ValueKnowledge,
        statements: Sequence[Statement],
        parsed: Sequence[ParsedStatement],
        schema: Schema,
        settings: ValueSettings,
    ) -> None:
        self.knowledge = knowledge
        self.settings = settings
        self._schema = schema
        self._statements = {s.queryid: s for s in statements}
        self._parsed = {p.queryid: p for p in parsed}
        self._types: dict[int, Mapping[int, str]] = {}
        self._logged = self._logged_by_queryid()
        self._distributions: dict[int, dict[int, Distribution]] = {}
        self._partition_keys: dict[TableName, frozenset[str]] = {}

    # ------------------------------------------------------------------ statements

    @property
    def statements(self) -> tuple[ParsedStatement, ...]:
        return tuple(self._parsed.values())

    def statistics(self, table: TableName, column: str) -> ColumnStatistics | None:
        return self.knowledge.columns.get((table, column))

    def valued(self) -> list[int]:
        """The statements worth costing with values (they have some), busiest first."""
        busiest = sorted(
            (q for q in self._parsed if q in self._statements),
            key=lambda q: (-self._statements[q].total_ms, q),
        )
        return [q for q in busiest if self._has_values(q)][: self.settings.max_value_statements]

    def _has_values(self, queryid: int) -> bool:
        return bool(self._logged.get(queryid)) or bool(self.distributions(queryid))

    def scenarios(self, queryid: int, types: Mapping[int, str]) -> tuple[Scenario, ...]:
        """The value scenarios of a statement, weights summing to 1 (empty: the generic
        plan alone). `types` are its parameters' types (`$n` -> type name), to type the
        values that come as bare text."""
        self._types[queryid] = types
        self._distributions.pop(queryid, None)  # the log's values are typed with `types`
        limit = max(self.settings.max_value_scenarios, 1)
        logged = self._logged.get(queryid)
        if logged:
            # Ties by the values' text (a NULL, None, cannot be compared with a str).
            top = sorted(logged.items(), key=lambda item: (-item[1], repr(item[0])))[:limit]
            kept = sum(count for _, count in top)
            return tuple(
                Scenario(
                    count / kept,
                    {n: sql_literal(v, types.get(n)) for n, v in enumerate(values, start=1)},
                )
                for values, count in top
            )
        distributions = self.distributions(queryid)
        if not distributions:
            return ()
        # Each parameter's known values, and one "other value" (None: left a parameter).
        options: list[list[tuple[int, str | None, float]]] = []
        for number, distribution in sorted(distributions.items()):
            known: list[tuple[int, str | None, float]] = [
                (number, v, s) for v, s in distribution.values[:limit]
            ]
            rest = 1.0 - sum(s for _, _, s in known)
            if rest > 1e-9:
                known.append((number, None, rest))
            options.append(known)
        combos: list[tuple[float, dict[int, str]]] = []
        for combo in itertools.product(*options):
            weight = 1.0
            for _, _, share in combo:
                weight *= share
            literals = {n: lit for n, lit, _ in combo if lit is not None}
            combos.append((weight, literals))
        combos.sort(key=lambda c: (-c[0], sorted(c[1].items())))
        # Room for the heavy values of a second parameter too (a tenant and a JSON key):
        # cut at limit + 1 of the joint weights, the largest tenant can drop out entirely.
        kept_combos = combos[: (limit + 1) * min(len(options), JOINT_PARAMETERS)]
        weight_kept = math.fsum(w for w, _ in kept_combos)
        if weight_kept <= 0:
            return ()
        return tuple(Scenario(w / weight_kept, lit) for w, lit in kept_combos if w > 0)

    def distributions(self, queryid: int) -> dict[int, Distribution]:
        """Each parameter's values, from the best source that knows them."""
        cached = self._distributions.get(queryid)
        if cached is not None:
            return cached
        result: dict[int, Distribution] = {}
        parsed = self._parsed.get(queryid)
        if parsed is not None:
            result.update(self._from_sample(parsed))
            result.update(self._from_statistics(parsed))
            result.update(self._from_log(queryid, parsed))
            result.update(self._from_qualstats(queryid, parsed))
        self._distributions[queryid] = result
        return result

    def _from_statistics(self, parsed: ParsedStatement) -> dict[int, Distribution]:
        result = {}
        for use in parsed.parameters:
            stats = self.statistics(use.table, use.column)
            if use.operator is Operator.PATTERN:
                searched = _searched_word(stats) if stats is not None else None
                if searched is not None and stats is not None:
                    literal = sql_literal(f"%{searched}%", stats.type_name)
                    result[use.number] = Distribution(
                        use.table,
                        quote_ident(use.column),
                        ((literal, PATTERN_SHARE),),
                        ValueSource.STATISTICS,
                        symbol=use.symbol,
                    )
                continue
            if (
                use.operator is not Operator.EQUALITY
                or stats is None
                or not stats.most_common
                or not self._skewed(stats, use.table)
            ):
                representative = self._partition_value(use)
                if representative is not None:
                    result[use.number] = representative
                continue
            # A model, not an observation: calls follow rows, so the heaviest values are
            # costed each, and one typical value stands for the other common ones.
            limit = max(self.settings.max_value_scenarios, 1)
            values = tuple(
                (sql_literal(v, stats.type_name), f)
                for v, f in common_value_scenarios(stats.most_common, limit)
            )
            rows = {sql_literal(v, stats.type_name): f for v, f in stats.most_common}
            result[use.number] = Distribution(
                use.table, quote_ident(use.column), values, ValueSource.STATISTICS, rows=rows
            )
        return result

    def _from_sample(self, parsed: ParsedStatement) -> dict[int, Distribution]:
        """A JSON key bound as a parameter that no source showed: each key a sample of the
        column holds (in at least JSON_KEY_MIN_SHARE of its rows), as often as the rows
        hold it. What the data offers, not what the calls ask for: the costing weighs
        every key, so an index on one serves only its share of the calls."""
        result = {}
        for access in parsed.accesses:
            for use in access.expressions:
                found = json_key_parameter(use.expression) if use.role == "filter" else None
                sampled = self.knowledge.json_keys.get((access.table, found[0])) if found else None
                if found is None or sampled is None:
                    continue
                keys = [k for k in sampled.keys if k.share_of_rows >= JSON_KEY_MIN_SHARE]
                keys = keys[: max(self.settings.max_value_scenarios, 1)]
                total = math.fsum(k.share_of_rows for k in keys)
                if not keys or total <= 0:
                    continue
                result[found[1]] = Distribution(
                    access.table,
                    f"${found[1]}",
                    tuple((sql_literal(k.key, "text"), k.share_of_rows / total) for k in keys),
                    ValueSource.SAMPLE,
                    samples=sampled.rows,
                    rows={sql_literal(k.key, "text"): k.share_of_rows for k in keys},
                )
        return result

    def _indexable_keys(self, table: TableName, expression: str) -> set[str]:
        """The sampled keys of a JSON expression's column worth an index: values more
        varied than a status's, the most varied first (at most partial_max_values)."""
        found = json_key_parameter(expression)
        sampled = self.knowledge.json_keys.get((table, found[0])) if found else None
        if sampled is None:
            return set()
        varied = sorted(
            (k for k in sampled.keys if k.distinct > JSON_KEY_MIN_DISTINCT),
            key=lambda k: (-k.distinct, k.key),
        )
        return {sql_literal(k.key, "text") for k in varied[: self.settings.partial_max_values]}

    def _partition_value(self, use: ParameterUse) -> Distribution | None:
        """A representative value for a parameter compared with a partition key: the
        generic plan of such a statement cannot prune (PostgreSQL 15 and older prune at
        execution, and with NULL values that leaves no partition, so no index shows), while
        the calls' custom plans read the one partition their value is in."""
        if use.operator in (Operator.IS_NULL, Operator.PATTERN) or use.column not in self._keys(
            use.table
        ):
            return None
        leaves = _largest_partitions(self._schema, use.table, use.column)
        for table in (use.table, *leaves):
            stats = self.statistics(table, use.column)
            value = representative_value(stats, use.symbol) if stats is not None else None
            if value is not None:
                literal = sql_literal(value, stats.type_name if stats else None)
                return Distribution(
                    use.table,
                    quote_ident(use.column),
                    ((literal, 1.0),),
                    ValueSource.STATISTICS,
                    symbol=use.symbol,
                    representative=True,
                )
        return None

    def _keys(self, table: TableName) -> frozenset[str]:
        keys = self._partition_keys.get(table)
        if keys is None:
            keys = self._partition_keys[table] = self._schema.partition_keys(table)
        return keys

    def _skewed(self, stats: ColumnStatistics, table: TableName) -> bool:
        top = stats.most_common[0][1]
        distinct = stats.n_distinct
        if distinct < 0:
            rows = self._schema.tables[table].row_estimate if table in self._schema.tables else 0
            distinct = -distinct * rows
        average = 1.0 / distinct if distinct >= 1 else 1.0
        return (
            top >= self.settings.value_skew_min_share
            and top >= self.settings.value_skew_min_ratio * average
        )

    def _from_qualstats(self, queryid: int, parsed: ParsedStatement) -> dict[int, Distribution]:
        constants = [c for c in self.knowledge.constants if c.queryid == queryid]
        if not constants:
            return {}
        statement = self._statements.get(queryid)
        positions = parameter_positions(statement.text) if statement else {}
        by_place: dict[tuple[TableName, str, str], list[ParameterUse]] = defaultdict(list)
        for use in parsed.parameters:
            by_place[(use.table, use.column, use.symbol)].append(use)
        counts: dict[int, Counter[str]] = defaultdict(Counter)
        evaluated: dict[int, Counter[str]] = defaultdict(Counter)
        kept: dict[int, Counter[str]] = defaultdict(Counter)
        places: dict[int, ParameterUse] = {}
        for constant in constants:
            number = positions.get(constant.position)
            uses = by_place.get((constant.table, constant.column, constant.symbol), [])
            if number is None and len(uses) == 1:
                number = uses[0].number
            found = next((u for u in parsed.parameters if u.number == number), None)
            if number is None or found is None:
                continue
            places[number] = found
            counts[number][constant.literal] += constant.occurrences
            evaluated[number][constant.literal] += constant.rows_evaluated
            kept[number][constant.literal] += constant.rows_evaluated - constant.rows_filtered
        result = {}
        for number, counter in counts.items():
            use = places[number]
            total = sum(counter.values())
            if total <= 0:
                continue
            values = tuple(
                (literal, count / total)
                for literal, count in sorted(counter.items(), key=lambda i: (-i[1], i[0]))
            )
            rows = self._row_shares(use, [v for v, _ in values])
            for literal, seen in evaluated[number].items():
                if literal not in rows and seen > 0 and use.operator.is_equality:
                    rows[literal] = kept[number][literal] / seen
            result[number] = Distribution(
                use.table,
                quote_ident(use.column),
                values,
                ValueSource.QUALSTATS,
                samples=total,
                rows=rows,
                symbol=use.symbol,
            )
        return result

    def _row_shares(self, use: ParameterUse, literals: Sequence[str]) -> dict[str, float]:
        """The share of rows holding each value, from pg_stats: a most common value's
        frequency, else the average share of the other values."""
        stats = self.statistics(use.table, use.column)
        if stats is None or not use.operator.is_equality:
            return {}
        common = dict(stats.most_common)
        rows: dict[str, float] = {}
        distinct = stats.n_distinct
        if distinct < 0:
            table = self._schema.tables.get(use.table)
            distinct = -distinct * (table.row_estimate if table else 0.0)
        rest = max(1.0 - stats.null_fraction - sum(common.values()), 0.0)
        others = distinct - len(common)
        for literal in literals:
            text = literal_text(literal)
            if text is None:
                continue
            if text in common:
                rows[literal] = common[text]
            elif others >= 1:
                rows[literal] = rest / others
        return rows

    def _from_log(self, queryid: int, parsed: ParsedStatement) -> dict[int, Distribution]:
        logged = self._logged.get(queryid)
        if not logged:
            return {}
        types = self._types.get(queryid, {})
        total = sum(logged.values())
        counters: dict[int, Counter[str]] = defaultdict(Counter)
        for values, count in logged.items():
            for number, value in enumerate(values, start=1):
                counters[number][sql_literal(value, types.get(number))] += count
        uses = {u.number: u for u in parsed.parameters}
        result = {}
        for number, counter in counters.items():
            use = uses.get(number)
            table = use.table if use else next(iter(parsed.tables))
            target = quote_ident(use.column) if use else f"${number}"
            shares = tuple(
                (literal, count / total)
                for literal, count in sorted(counter.items(), key=lambda i: (-i[1], i[0]))
            )
            rows = self._row_shares(use, [v for v, _ in shares]) if use else {}
            result[number] = Distribution(
                table,
                target,
                shares,
                ValueSource.SERVER_LOG,
                samples=total,
                rows=rows,
                symbol=use.symbol if use else "=",
            )
        return result

    def _logged_by_queryid(self) -> dict[int, Counter[tuple[str | None, ...]]]:
        if not self.knowledge.logged:
            return {}
        by_print: dict[str, int] = {}
        for queryid, statement in self._statements.items():
            if queryid in self._parsed:
                printed = _fingerprint(statement.text)
                if printed is not None:
                    by_print.setdefault(printed, queryid)
        result: dict[int, Counter[tuple[str | None, ...]]] = defaultdict(Counter)
        for entry in self.knowledge.logged:
            printed = _fingerprint(entry.text)
            match = by_print.get(printed) if printed is not None else None
            if match is None:
                continue
            parsed = self._parsed[match]
            if len(entry.values) != parsed.parameter_count:
                continue
            result[match][entry.values] += entry.count
        return dict(result)

    # ----------------------------------------------------------------- candidates

    def partial_predicates(self, queryid: int) -> list[PartialPredicate]:
        """Predicates for partial indexes serving this statement: a column compared with
        a small, observed set of values that covers most calls and few rows. The scalars
        of one IN list (`status IN ($2, $3)`) are one predicate, the values of them all
        (`status IN ('open', 'in_progress')`); an array (`= ANY ($1)`) holds its own."""
        parsed = self._parsed.get(queryid)
        if parsed is None:
            return []
        settings = self.settings
        uses = {u.number: u for u in parsed.parameters}
        listed = Counter(
            (u.table, u.column) for u in parsed.parameters if u.operator is Operator.IN_LIST
        )
        found: list[tuple[ParameterUse, list[tuple[str, float]], Distribution]] = []
        for number, distribution in sorted(self.distributions(queryid).items()):
            use = uses.get(number)
            if (
                use is None
                or distribution.source is ValueSource.STATISTICS
                or use.operator not in (Operator.EQUALITY, Operator.IN_LIST)
                or not self._status_like(use)
            ):
                continue
            chosen: list[tuple[str, float]] = []
            for literal, share in distribution.values:
                if sum(s for _, s in chosen) >= settings.partial_min_share_of_calls:
                    break
                chosen.append((literal, share))
            found.append((use, chosen, distribution))
        # One group per predicate: the scalars of an IN list together, any other alone.
        groups: dict[tuple[TableName, str] | int, list[int]] = defaultdict(list)
        for position, (use, _, _) in enumerate(found):
            in_list = use.operator is Operator.IN_LIST and listed[(use.table, use.column)] > 1
            groups[(use.table, use.column) if in_list else use.number].append(position)
        result = []
        for key, members in groups.items():
            in_list = isinstance(key, tuple)
            if isinstance(key, tuple) and len(members) < listed[key]:
                continue  # a scalar of the list whose values are not known
            predicate = self._predicate([found[m] for m in members], in_list)
            if predicate is not None:
                result.append(predicate)
        return result

    def _predicate(
        self,
        members: Sequence[tuple[ParameterUse, list[tuple[str, float]], Distribution]],
        in_list: bool,
    ) -> PartialPredicate | None:
        settings = self.settings
        use = members[0][0]
        chosen = list(dict.fromkeys(lit for _, values, _ in members for lit, _ in values))
        calls = min(math.fsum(s for _, s in values) for _, values, _ in members)
        if len(chosen) > settings.partial_max_values or calls < settings.partial_min_share_of_calls:
            return None
        array = use.operator is Operator.IN_LIST and not in_list
        if array and len(chosen) > 1:
            return None
        row_shares = [
            next((d.rows[lit] for _, _, d in members if lit in d.rows), None) for lit in chosen
        ]
        if any(share is None for share in row_shares):
            return None
        rows = math.fsum(share or 0.0 for share in row_shares)
        if rows > settings.partial_max_share_of_rows:
            return None
        literals = [self._column_literal(literal, use) for literal in chosen]
        column = quote_ident(use.column)
        if array:
            sql = f"{column} = ANY ({literals[0]})"
        elif len(literals) == 1:
            sql = f"{column} = {literals[0]}"
        else:
            sql = f"{column} IN ({', '.join(literals)})"
        distribution = members[0][2]
        assumption = ValueAssumption(
            table=use.table,
            target=column,
            values=tuple(literals),
            source=distribution.source,
            share_of_calls=calls,
            share_of_rows=rows,
            samples=distribution.samples,
        )
        return PartialPredicate(use.table, use.column, sql, assumption)

    def _status_like(self, use: ParameterUse) -> bool:
        """Whether the column holds few distinct values (a status, a type, a flag), so that
        a partial index on some of them stays right while the traffic moves. A tenant or
        an entity id is not: `WHERE project_id IN (107, 2702)` serves two tenants until the
        calls go elsewhere, and no DBA would ship it. Where pg_stats cannot be read (row-level
        security hides it), the observed values alone decide, as the only evidence there is."""
        stats = self.statistics(use.table, use.column)
        if stats is None or stats.n_distinct == 0:
            return True
        distinct = stats.n_distinct
        if distinct < 0:
            table = self._schema.tables.get(use.table)
            distinct = -distinct * (table.row_estimate if table else 0.0)
        return distinct <= self.settings.partial_max_column_distinct

    def _column_literal(self, literal: str, use: ParameterUse) -> str:
        """A value typed as its column (a partial index's predicate must be immutable and
        match the statement's comparison): untyped text gets the column's type."""
        if "::" in literal:
            return literal
        table = self._schema.tables.get(use.table)
        column = table.column(use.column) if table else None
        return f"{literal}::{column.type_name}" if column else literal

    def expression_bindings(
        self, queryid: int, parameters: Sequence[int], expression: str = ""
    ) -> list[tuple[dict[int, str], tuple[ValueAssumption, ...]]]:
        """Values for the parameters of an expression (`payload ->> $1`): each set of
        values that most of the statement's calls use, with what it assumes. Empty when a
        parameter's values are not known."""
        if not parameters:
            return [({}, ())]
        distributions = self.distributions(queryid)
        per_parameter = []
        for number in parameters:
            distribution = distributions.get(number)
            if distribution is None or distribution.source is ValueSource.STATISTICS:
                return []
            if distribution.source is ValueSource.SAMPLE:
                indexable = self._indexable_keys(distribution.table, expression)
                frequent = [(lit, s) for lit, s in distribution.values if lit in indexable]
            else:
                frequent = [
                    (literal, share)
                    for literal, share in distribution.values[: self.settings.partial_max_values]
                    if share >= 1.0 - self.settings.partial_min_share_of_calls
                ]
            if not frequent:
                return []
            per_parameter.append([(number, lit, share, distribution) for lit, share in frequent])
        result = []
        for combo in itertools.product(*per_parameter):
            literals = {number: literal for number, literal, _, _ in combo}
            assumptions = tuple(
                ValueAssumption(
                    table=d.table,
                    target=f"${number} of {expression}" if expression else f"${number}",
                    values=(literal,),
                    source=d.source,
                    share_of_calls=share if d.source is not ValueSource.SAMPLE else None,
                    share_of_rows=d.rows.get(literal) if d.source is ValueSource.SAMPLE else None,
                    samples=d.samples,
                )
                for number, literal, share, d in combo
            )
            result.append((literals, assumptions))
        return result

    def assumptions(self, queryid: int) -> tuple[ValueAssumption, ...]:
        """What a statement's costing assumes: the values of its columns' parameters that
        a large share of its calls use (observed), or the common values it was costed
        with (pg_stats)."""
        result = []
        for _, distribution in sorted(self.distributions(queryid).items()):
            if (
                not distribution.values
                or distribution.representative
                or distribution.target.startswith("$")
                or distribution.symbol != "="  # a range's bounds vary from call to call
            ):
                continue
            literal, share = distribution.values[0]
            observed = distribution.source is not ValueSource.STATISTICS
            if observed and share < FREQUENT_VALUE_SHARE:
                continue
            result.append(
                ValueAssumption(
                    table=distribution.table,
                    target=distribution.target,
                    values=(literal,),
                    source=distribution.source,
                    share_of_calls=share if observed else None,
                    share_of_rows=distribution.rows.get(literal),
                    samples=distribution.samples,
                    symbol=distribution.symbol,
                )
            )
        return tuple(result)


def _searched_word(stats: ColumnStatistics) -> str | None:
    """The word a typical search of a text column looks for: the longest word (letters and
    digits, at least PATTERN_MIN_WORD of them) of its most common value, or else of the
    middle of its histogram. A search box finds what the column holds; the planner then
    reads the pattern's selectivity off the same statistics, as it does for a custom plan
    of a real search. None when pg_stats holds no such value."""
    values = [v for v, _ in stats.most_common[:1]] or list(
        stats.histogram[len(stats.histogram) // 2 :][:1]
    )
    for value in values:
        words = [w for w in re.findall(r"[^\W_]+", value) if len(w) >= PATTERN_MIN_WORD]
        if words:
            return str(max(words, key=len)).lower()
    return None


def _fingerprint(text: str) -> str | None:
    try:
        return str(fingerprint(text))
    except (PglastParseError, ValueError):
        return None
