"""The nouns of the advisor: plain, frozen dataclasses shared by every stage.

Nothing here talks to PostgreSQL, the file system or the network; every other module
passes these values between the stages of the pipeline.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from advisor.knowledge import ColumnStatistics as ColumnStatistics
from advisor.knowledge import JsonKey as JsonKey
from advisor.knowledge import JsonKeys as JsonKeys
from advisor.knowledge import LoggedParameters as LoggedParameters
from advisor.knowledge import QualConstant as QualConstant
from advisor.knowledge import ValueAssumption as ValueAssumption
from advisor.knowledge import ValueKnowledge as ValueKnowledge
from advisor.knowledge import ValueSource as ValueSource
from advisor.names import TableName as TableName
from advisor.names import quote_ident as quote_ident

# PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1).
MAX_IDENTIFIER_BYTES = 63


# ---------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class Column:
    """A column of a table as the catalog describes it."""

    name: str
    type_name: str
    not_null: bool = False
    # From pg_stats when readable; None when the statistics are unknown.
    avg_width_bytes: int | None = None
    n_distinct: float | None = None


@dataclass(frozen=True)
class KeyColumn:
    """One key of an index: a column (or an expression) with its sort order.

    `nulls_first` is explicit: PostgreSQL's default is NULLS LAST for ASC and NULLS FIRST
    for DESC, and `KeyColumn.of` fills that default in.
    """

    column: str
    descending: bool = False
    nulls_first: bool = False
    is_expression: bool = False

    @classmethod
    def of(
        cls, column: str, descending: bool = False, nulls_first: bool | None = None
    ) -> KeyColumn:
        return cls(column, descending, descending if nulls_first is None else nulls_first)

    def flipped(self) -> KeyColumn:
        """The same key read backwards (what a backward index scan delivers)."""
        return KeyColumn(self.column, not self.descending, not self.nulls_first, self.is_expression)

    def sql(self) -> str:
        text = f"({self.column})" if self.is_expression else quote_ident(self.column)
        if self.descending:
            text += " DESC"
            if not self.nulls_first:
                text += " NULLS LAST"
        elif self.nulls_first:
            text += " NULLS FIRST"
        return text


@dataclass(frozen=True)
class Index:
    """An index that exists in the catalog: its name, oid, size, validity and the
    constraint it backs besides its shape. IndexDesign is a shape alone, an index that
    could be created (a candidate or a recommendation), named only by its shape."""

    name: str
    table: TableName
    keys: tuple[KeyColumn, ...]
    include: tuple[str, ...] = ()
    predicate: str | None = None
    unique: bool = False
    primary: bool = False
    valid: bool = True
    # Name of the constraint (primary key, unique, exclusion) the index backs, if any.
    constraint: str | None = None
    access_method: str = "btree"
    size_bytes: int = 0
    definition: str = ""
    oid: int = 0
    # The partitioned table's index this partition's index is attached to: it cannot be
    # dropped alone (only with its parent), nor be the parent's only evidence of use.
    parent: str | None = None

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(k.column for k in self.keys)

    def leads_with(self, columns: Sequence[str]) -> bool:
        """Whether this valid, whole-table index starts with exactly these columns (in any
        order): what a lookup by all of them, a foreign key's check among them, can use."""
        leading = self.key_columns[: len(columns)]
        return self.valid and self.predicate is None and set(leading) == set(columns)


@dataclass(frozen=True)
class Table:
    name: TableName
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()
    row_estimate: float = 0.0
    size_bytes: int = 0
    # A partitioned table holds no rows itself; a partition names its partitioned table.
    partitioned: bool = False
    partition_of: TableName | None = None
    # The columns a partitioned table is partitioned by (expressions left out).
    partition_key: tuple[str, ...] = ()

    def column(self, name: str) -> Column | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None

    @property
    def column_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns)


@dataclass(frozen=True)
class Partition:
    """A partition of a partitioned table (itself partitioned when `partitioned`)."""

    table: TableName
    parent: TableName
    partitioned: bool = False


@dataclass(frozen=True)
class Schema:
    """The user tables of one database, with the search path used to resolve bare names."""

    tables: Mapping[TableName, Table] = field(default_factory=dict)
    search_path: tuple[str, ...] = ("public",)
    # Each view's definition (pg_get_viewdef): a statement reading a view reads its tables.
    views: Mapping[TableName, str] = field(default_factory=dict)

    def view(self, name: str, schema: str | None = None) -> str | None:
        """The definition of the view a (possibly unqualified) name refers to, if any."""
        if schema is not None:
            return self.views.get(TableName(schema, name))
        for candidate_schema in self.search_path:
            found = self.views.get(TableName(candidate_schema, name))
            if found is not None:
                return found
        return None

    def resolve(self, name: str, schema: str | None = None) -> Table | None:
        """The table a (possibly unqualified) name refers to, as PostgreSQL would resolve it."""
        if schema is not None:
            return self.tables.get(TableName(schema, name))
        for candidate_schema in self.search_path:
            table = self.tables.get(TableName(candidate_schema, name))
            if table is not None:
                return table
        return None

    def partitions(self, table: TableName) -> tuple[Partition, ...]:
        """Every partition below a partitioned table, each after its own partitioned
        table (the order its indexes are built and attached in); () for a plain table."""
        children = sorted(t.name for t in self.tables.values() if t.partition_of == table)
        result: list[Partition] = []
        for child in children:
            result.append(Partition(child, table, self.tables[child].partitioned))
            result.extend(self.partitions(child))
        return tuple(result)

    def partition_keys(self, table: TableName) -> frozenset[str]:
        """The columns that decide which partition of `table` a row is in, at any level
        below it: a statement comparing one with a value reads fewer partitions."""
        found = self.tables.get(table)
        if found is None or not found.partitioned:
            return frozenset()
        keys = set(found.partition_key)
        for part in self.partitions(table):
            if part.partitioned:
                keys.update(self.tables[part.table].partition_key)
        return frozenset(keys)

    def without(self, indexes: Iterable[tuple[TableName, str]]) -> Schema:
        """The schema as it will be once these (table, index name) indexes are dropped."""
        gone = set(indexes)
        if not gone:
            return self
        tables = {
            name: replace(
                table, indexes=tuple(i for i in table.indexes if (name, i.name) not in gone)
            )
            for name, table in self.tables.items()
        }
        return replace(self, tables=tables)


# -------------------------------------------------------------------------- workload


@dataclass(frozen=True)
class Statement:
    """One normalized statement of the workload to analyze, summed over users and nesting
    levels: its text and its counters over the workload's window. StatementCounters is the
    same counters without the text, as snapshots and deltas hold them (the texts are
    stored once apart, since thousands of counters are kept per day)."""

    queryid: int
    text: str
    calls: int
    total_exec_ms: float
    total_plan_ms: float = 0.0
    rows: int = 0

    @property
    def total_ms(self) -> float:
        return self.total_exec_ms + self.total_plan_ms

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Workload:
    """The statements of one database observed over a window of time."""

    database: str
    statements: tuple[Statement, ...]
    window_seconds: float
    collected_at: datetime
    # Statements dropped before analysis (the advisor's own, other databases' ...), by reason.
    excluded: Mapping[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- parsing


class TextEditKind(enum.Enum):
    """Why the advisor changed a statement's text before planning it."""

    TRIMMED = "trimmed"  # surrounding whitespace, trailing semicolons
    TYPED_PARAMETER = "typed parameter"  # `timestamptz $1` -> `$1::timestamptz`
    CAST_PARAMETER = "cast parameter"  # `$1 - $2` -> `$1::numeric - $2::numeric`
    DATE_PART = "date_part"  # `extract($1 from d)` -> `date_part($1::text, d)`
    ASSUMED_LIMIT = "assumed limit"  # `LIMIT $2` -> `LIMIT coalesce(20, $2::bigint)`
    ASSUMED_OFFSET = "assumed offset"  # `OFFSET $3` -> `OFFSET coalesce(0, $3::bigint)`
    PROXY_COLUMN = "proxy column"  # `lower(email)` -> `email` (see ExpressionUse.proxy)


@dataclass(frozen=True)
class TextEdit:
    """`original[start:end]` became `replacement`."""

    start: int
    end: int
    replacement: str
    kind: TextEditKind


@dataclass(frozen=True)
class ParameterSlot:
    """Where `$number` stands in a plannable text: `text[start:end]`. `page` is the span of
    the assumed LIMIT or OFFSET it stands in (`coalesce(20, $2::bigint)`), which a known
    value replaces whole."""

    number: int
    start: int
    end: int
    page: tuple[int, int] | None = None


@dataclass(frozen=True)
class PlannableText:
    """A statement's text as the advisor plans it: `original` with `edits` applied (in
    order, apart, positions in `original`) is `text`, and `parameters` are the `$n` of
    `text`, so values are bound at recorded positions."""

    original: str
    text: str
    edits: tuple[TextEdit, ...] = ()
    parameters: tuple[ParameterSlot, ...] = ()


class Operator(enum.Enum):
    """How a statement restricts a column, from most to least index-friendly."""

    EQUALITY = "equality"
    IN_LIST = "in"
    IS_NULL = "is_null"
    RANGE = "range"
    LIKE_PREFIX = "like_prefix"
    # A LIKE or ILIKE pattern that may start with a wildcard: no index range serves it; only
    # its parameter is recorded (ParameterUse), never a filter.
    PATTERN = "pattern"

    @property
    def is_equality(self) -> bool:
        return self in (Operator.EQUALITY, Operator.IN_LIST, Operator.IS_NULL)


@dataclass(frozen=True)
class Filter:
    """A restriction of one column by a constant, a parameter or an outer reference."""

    column: str
    operator: Operator


@dataclass(frozen=True)
class Disjunction:
    """An OR whose every arm restricts columns of one table occurrence (`assignee_id = $1
    OR reporter_id = $2`); each arm is the filters AND-ed in it. The planner serves it with
    a BitmapOr only when every arm has an index, so the arms' indexes pay only together."""

    arms: tuple[tuple[Filter, ...], ...]


@dataclass(frozen=True)
class ExpressionUse:
    """An expression over one table's columns that a statement filters, joins, sorts or
    groups by (`lower(email)`, `payload ->> $3`, `date_trunc($1, created_at)`): an index on
    the expression itself can serve it. `expression` is SQL over the table's bare, quoted
    column names, with the statement's parameters left as `$n` (listed in `parameters`)."""

    expression: str
    role: str  # "filter", "join", "order" or "group"
    operator: Operator | None = None  # for a filter
    parameters: tuple[int, ...] = ()
    descending: bool = False  # for an ORDER BY key
    # For a case-folding or trimming function of one column (`lower(email)`): the
    # statement's text with the call replaced by the column. HypoPG has no statistics for
    # an expression, so the planner guesses its selectivity (0.5% for equality); planned
    # as the column instead, it is as selective as the column, which is close to what the
    # real index gets once ANALYZE has seen it.
    proxy_column: str | None = None
    proxy: PlannableText | None = None

    @property
    def proxy_text(self) -> str | None:
        return self.proxy.text if self.proxy is not None else None


@dataclass(frozen=True)
class ParameterUse:
    """Where a statement compares a column with its parameter `$number`: what values that
    parameter takes decide which index (and which partial index) serves the statement.
    `symbol` is the comparison's operator with the column on its left (`=`, `>=`, `~~`),
    to match the quals pg_qualstats records."""

    number: int
    table: TableName
    column: str
    operator: Operator
    symbol: str


@dataclass(frozen=True)
class OrderKey:
    column: str
    descending: bool = False
    nulls_first: bool = False

    @classmethod
    def of(cls, column: str, descending: bool = False, nulls_first: bool | None = None) -> OrderKey:
        return cls(column, descending, descending if nulls_first is None else nulls_first)


@dataclass(frozen=True)
class TableAccess:
    """How one query block reads one occurrence of a table.

    `order_by` is set only when the block's whole ORDER BY is on this table's columns (only
    then can an index deliver the order). `used_columns` is None when every column is read
    (`SELECT *`, a whole-row reference), which rules out index-only scans.
    """

    table: TableName
    filters: tuple[Filter, ...] = ()
    join_columns: tuple[str, ...] = ()
    order_by: tuple[OrderKey, ...] = ()
    group_by: tuple[str, ...] = ()
    used_columns: frozenset[str] | None = frozenset()
    limited: bool = False
    # Columns an UPDATE's SET clause writes (an index on one ends HOT updates there).
    written_columns: tuple[str, ...] = ()
    expressions: tuple[ExpressionUse, ...] = ()
    # ORs of this table's columns, which `filters` leaves out (no arm holds for every row).
    disjunctions: tuple[Disjunction, ...] = ()


class StatementKind(enum.Enum):
    SELECT = "select"
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class ParsedStatement:
    """What the parser learned about a statement: the text to plan and how it reads tables."""

    queryid: int
    kind: StatementKind
    plannable: PlannableText
    accesses: tuple[TableAccess, ...]
    parameter_count: int = 0
    parameters: tuple[ParameterUse, ...] = ()

    @property
    def plannable_text(self) -> str:
        return self.plannable.text

    @property
    def tables(self) -> frozenset[TableName]:
        return frozenset(a.table for a in self.accesses)


@dataclass(frozen=True)
class Skipped:
    """A statement left out of the analysis, with the reason a user can act on."""

    queryid: int
    reason: str
    text: str = ""


# ----------------------------------------------------------------- designs and advice


@dataclass(frozen=True)
class IndexDesign:
    """An index that could be built: the unit of candidates and recommendations."""

    table: TableName
    keys: tuple[KeyColumn, ...]
    include: tuple[str, ...] = ()
    predicate: str | None = None
    access_method: str = "btree"

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(k.column for k in self.keys)

    def sort_key(self) -> tuple[str, str, str, str, str]:
        """A total, deterministic order (ties in rankings are broken by it)."""
        return (
            str(self.table),
            self.access_method,
            ", ".join(k.sql() for k in self.keys),
            ", ".join(self.include),
            self.predicate or "",
        )

    def __lt__(self, other: IndexDesign) -> bool:
        return self.sort_key() < other.sort_key()

    @property
    def width(self) -> int:
        return len(self.keys) + len(self.include)

    def serves_prefix_of(self, other: IndexDesign) -> bool:
        """True when `other` can do everything this design can: same table, method,
        predicate, and this design's keys are a leading prefix of `other`'s (in the same
        order, or all reversed, which a backward scan serves), with its INCLUDE columns
        among `other`'s columns."""
        if (self.table, self.predicate, self.access_method) != (
            other.table,
            other.predicate,
            other.access_method,
        ):
            return False
        if len(self.keys) > len(other.keys):
            return False
        prefix = other.keys[: len(self.keys)]
        same = prefix == self.keys
        reversed_ = tuple(k.flipped() for k in prefix) == self.keys
        if not (same or reversed_):
            return False
        other_columns = set(other.key_columns) | set(other.include)
        return set(self.include) <= other_columns

    def name(self) -> str:
        """A stable, readable index name within PostgreSQL's 63-byte limit."""
        parts = [_word(self.table.name), *(_word(_name_part(k)) for k in self.keys)]
        if self.include:
            parts.append("incl")
            parts.extend(_word(c) for c in self.include)
        if self.predicate:
            parts.append("part")
        suffix = "idx" if self.access_method == "btree" else self.access_method
        base = "_".join([*parts, suffix])
        if len(base.encode()) <= MAX_IDENTIFIER_BYTES:
            return base
        digest = hashlib.sha1(self.definition_sql().encode()).hexdigest()[:8]
        head = base.encode()[: MAX_IDENTIFIER_BYTES - len(digest) - len(suffix) - 2]
        return f"{head.decode(errors='ignore').rstrip('_')}_{digest}_{suffix}"

    def definition_sql(self) -> str:
        """The part of CREATE INDEX after the index name: `ON table USING ... (...) ...`."""
        sql = f"ON {self.table} USING {self.access_method} ("
        sql += ", ".join(k.sql() for k in self.keys) + ")"
        if self.include:
            sql += " INCLUDE (" + ", ".join(quote_ident(c) for c in self.include) + ")"
        if self.predicate:
            sql += f" WHERE {self.predicate}"
        return sql

    def create_sql(
        self,
        concurrently: bool = True,
        if_not_exists: bool = True,
        partitions: tuple[Partition, ...] = (),
    ) -> str:
        """CREATE INDEX; with `partitions`, concurrently, PostgreSQL's path for a partitioned
        table (no CONCURRENTLY there): the index on the partitioned table alone (ON ONLY,
        invalid until complete), each partition's built concurrently and attached to it."""
        words = ["CREATE INDEX", *["IF NOT EXISTS"] * if_not_exists]
        if not (concurrently and partitions):
            head = ["CREATE INDEX", *["CONCURRENTLY"] * concurrently, *words[1:]]
            return " ".join([*head, quote_ident(self.name()), self.definition_sql()])
        lines = [" ".join([*words, quote_ident(self.name()), "ON ONLY", self._after_on()])]
        return ";\n".join(lines + self._partition_lines(self.table, partitions, words))

    def _partition_lines(
        self, parent: TableName, partitions: tuple[Partition, ...], words: list[str]
    ) -> list[str]:
        """Each partition's index, then its ATTACH (a partitioned partition's after its
        own partitions': attached complete, it is valid)."""
        lines = []
        for part in (p for p in partitions if p.parent == parent):
            child = replace(self, table=part.table)
            name = quote_ident(child.name())
            if part.partitioned:
                lines.append(" ".join([*words, name, "ON ONLY", child._after_on()]))
                lines.extend(self._partition_lines(part.table, partitions, words))
            else:
                head = ["CREATE INDEX", "CONCURRENTLY", *words[1:]]
                lines.append(" ".join([*head, name, child.definition_sql()]))
            owner = quote_ident(replace(self, table=parent).name())
            lines.append(
                f"ALTER INDEX {quote_ident(parent.schema)}.{owner} "
                f"ATTACH PARTITION {quote_ident(part.table.schema)}.{name}"
            )
        return lines

    def _after_on(self) -> str:
        return self.definition_sql().removeprefix("ON ")

    def hypothetical_sql(self) -> str:
        """The statement HypoPG takes (no name, no CONCURRENTLY)."""
        return "CREATE INDEX " + self.definition_sql()

    def __str__(self) -> str:
        return self.definition_sql()


def _word(text: str) -> str:
    """A part of a generated index name: letters, digits and underscores only (a quoted
    column may hold a space, a quote or a line break, which a name should not)."""
    return "_".join(_NOT_WORD.split(text)).strip("_") or "x"


_NOT_WORD = re.compile(r"\W+")


def _name_part(key: KeyColumn) -> str:
    text = key.column
    if key.is_expression:
        # `(payload ->> ('ip'::text))` -> payload_ip: no casts, one underscore per gap.
        text = _CASTS.sub("", text)
        text = "_".join("".join(ch if ch.isalnum() else " " for ch in text).split())
    return text + ("_desc" if key.descending else "")


_CASTS = re.compile(r"::\s*(\"[^\"]*\"|[\w.]+)(\s*\[\])?")


@dataclass(frozen=True)
class PlanEstimate:
    """The planner's estimate for one statement under one set of hypothetical indexes."""

    cost: float
    used: frozenset[IndexDesign]


@dataclass(frozen=True)
class StatementEffect:
    """What one index set does to one statement, by the planner's estimate."""

    queryid: int
    query: str
    calls: int
    mean_ms: float
    cost_before: float
    cost_after: float
    estimated_ms_saved_per_day: float


@dataclass(frozen=True)
class Recommendation:
    """An index worth building, as one analysis found it, with its evidence.
    `estimated_ms_saved_per_day` is net: the reads it speeds up minus
    `estimated_write_ms_per_day`, what maintaining it on every write costs. The daemon
    remembers it across analyses as a StoredRecommendation."""

    design: IndexDesign
    estimated_size_bytes: int
    estimated_ms_saved_per_day: float
    statements: tuple[StatementEffect, ...]
    estimated_write_ms_per_day: float = 0.0
    warnings: tuple[str, ...] = ()
    # The values the advice rests on (a partial index's predicate, an expression's key,
    # the values the statements were costed with), and why this design beat the obvious
    # alternative (a BRIN against a btree), if it is one of those.
    depends_on: tuple[ValueAssumption, ...] = ()
    notes: tuple[str, ...] = ()
    # The partitions below the design's table, when it is partitioned (Schema.partitions).
    partitions: tuple[Partition, ...] = ()

    @property
    def name(self) -> str:
        return self.design.name()

    @property
    def create_sql(self) -> str:
        return self.design.create_sql(partitions=self.partitions)


@dataclass(frozen=True)
class TableWriteRate:
    """Rows written to a table per day, from its statistics counters."""

    table: TableName
    inserts_per_day: float = 0.0
    updates_per_day: float = 0.0
    hot_updates_per_day: float = 0.0
    deletes_per_day: float = 0.0

    @property
    def index_rows_per_day(self) -> float:
        """Index entries every btree on the table must add or remove per day: HOT updates
        touch no index, every other write touches all of them."""
        non_hot = max(self.updates_per_day - self.hot_updates_per_day, 0.0)
        return self.inserts_per_day + non_hot + self.deletes_per_day


@dataclass(frozen=True)
class Analysis:
    """The outcome of one analysis of one database."""

    database: str
    recommendations: tuple[Recommendation, ...]
    skipped: tuple[Skipped, ...]
    statements_total: int
    statements_analyzed: int
    window_seconds: float
    budget_bytes: int
    whatif_explains: int = 0
    whatif_cache_hits: int = 0
    elapsed_seconds: float = 0.0
    workload_ms_per_day: float = 0.0
    # Statements costed with the values they run with (not the generic plan alone), and
    # why a source of values gave nothing (pg_qualstats missing, pg_stats not readable).
    statements_with_values: int = 0
    value_notes: tuple[str, ...] = ()
    # The safe drops of the plan (exact duplicates, prefix-redundant and unique-covered
    # indexes), which the selection planned the workload without, and how it did that.
    drops: tuple[Finding, ...] = ()
    drops_note: str | None = None
    # What the write rates leave out (writes attributed to no table), in words.
    write_notes: tuple[str, ...] = ()
    # Statements whose best index depends on a value no source showed, busiest first.
    value_probes: tuple[ValueProbe, ...] = ()


@dataclass(frozen=True)
class ValueProbe:
    """A statement whose best index depends on a value that no source showed (a JSON key,
    a status, a `date_trunc` unit bound as `$n`): what is unknown, the statement's time a
    day at stake, and the cheapest way to learn the value."""

    queryid: int
    query: str
    ms_per_day: float
    unknown: str
    index_needs: str
    how_to_learn: str


# --------------------------------------------------------------------- the check


class Verdict(enum.StrEnum):
    """What `pg-advisor check` found for one statement."""

    SERVED = "served"  # planned well as the schema stands
    NEEDS_INDEX = "needs index"  # a new index lowers its cost (see `needs`)
    NOT_PLANNED = "not planned"  # a parse error, an unknown relation, no permission


@dataclass(frozen=True)
class CheckedStatement:
    """One statement of the input and what the check found for it."""

    number: int
    text: str
    verdict: Verdict
    reason: str | None = None  # why it was not planned
    served_by: tuple[str, ...] = ()  # existing indexes its plan uses now
    needs: tuple[str, ...] = ()  # the new indexes its plan would use
    cost_before: float | None = None
    cost_after: float | None = None


@dataclass(frozen=True)
class CheckResult:
    """The check of one database: every statement, and the new indexes chosen together."""

    database: str
    statements: tuple[CheckedStatement, ...]
    recommendations: tuple[Recommendation, ...]

    @property
    def planned(self) -> int:
        return sum(s.verdict is not Verdict.NOT_PLANNED for s in self.statements)


# ----------------------------------------------------------------------- index health


class FindingKind(enum.Enum):
    UNUSED = "unused"
    # No scans on every server read, but a replica could not be: maybe unused, never dropped.
    UNKNOWN = "unknown"
    # What would be unused or redundant, but a workload statement's plan needs it: hidden
    # from the planner it gets markedly worse (or, where nothing can hide it, may): no DROP.
    NEEDED = "needed"
    DUPLICATE = "duplicate"
    REDUNDANT = "redundant"
    INVALID = "invalid"
    BLOCKS_HOT_UPDATES = "blocks_hot_updates"


@dataclass(frozen=True)
class Finding:
    """Something wrong with an existing index, with the evidence and the fix."""

    kind: FindingKind
    table: TableName
    index: str
    size_bytes: int
    reason: str
    # The statement that fixes it (DROP INDEX CONCURRENTLY ..., or a rebuild).
    fix_sql: str
    # For duplicate/redundant: the index that makes this one unnecessary (kept).
    covered_by: str | None = None
    # For a DROP: the CREATE INDEX that restores the index as it was (pg_get_indexdef), to
    # roll the drop back.
    restore_sql: str | None = None
    # Rows written per day to the table (inserts + updates + deletes), when known: each
    # one maintains this index too.
    writes_per_day: float | None = None
    # The workload's statements whose plan uses the index now (a simulated drop).
    plan_uses: tuple[PlanUse, ...] = ()


@dataclass(frozen=True)
class PlanUse:
    """A workload statement whose generic plan uses an index: its calls, its plan's cost
    and the part of it spent in the nodes that scan the index, and the cost with the index
    hidden from the planner where that could be simulated."""

    queryid: int
    calls: int
    cost: float
    index_cost: float = 0.0
    cost_without: float | None = None


@dataclass(frozen=True)
class HealthReport:
    """The index-health findings of one database, with the window they were judged on."""

    database: str
    findings: tuple[Finding, ...]
    observed_seconds: float
    write_rates: tuple[TableWriteRate, ...] = ()
    # Why an UNUSED verdict may be premature (no daemon state), if it may be.
    caveat: str | None = None
    # How the drops were simulated (hidden from the planner, or only the plans that name
    # each index read), when a finding drops anything.
    simulation: str | None = None
    # The replicas whose index scans were added to the primary's.
    replicas: tuple[ReplicaState, ...] = ()


@dataclass(frozen=True)
class ReplicaState:
    """One replica as the health check saw it: since when its usage counters count, or
    why they could not be read (`replica` is host:port, without credentials)."""

    replica: str
    counted_since: datetime | None
    error: str | None = None


# ------------------------------------------------------------- foreign keys, anti-patterns


@dataclass(frozen=True)
class ForeignKey:
    """A foreign-key constraint: `columns` of `table` reference `referenced_columns` of
    `referenced_table`, position by position."""

    name: str
    table: TableName
    columns: tuple[str, ...]
    referenced_table: TableName
    referenced_columns: tuple[str, ...]


class AntipatternKind(enum.Enum):
    N_PLUS_ONE = "n_plus_one"
    READS_EVERY_COLUMN = "reads_every_column"
    UNINDEXED_FOREIGN_KEY = "unindexed_foreign_key"
    SEQUENTIAL_SCANS = "sequential_scans"
    WRITES_OUTSIDE_TRANSACTION = "writes_outside_transaction"


@dataclass(frozen=True)
class Antipattern:
    """An application habit the workload shows, with its evidence and what fixes it.

    `table` is the table it happens on (for N+1, the table of the repeated statement;
    `parent_table` is the one the parent statement reads). `columns` are the foreign-key
    columns (N+1, unindexed foreign key) or the large columns read for nothing."""

    kind: AntipatternKind
    table: TableName
    evidence: str
    queryids: tuple[int, ...] = ()
    columns: tuple[str, ...] = ()
    parent_table: TableName | None = None
    parent_queryid: int | None = None
    # The referenced table's columns a foreign key's `columns` point at, position by position.
    parent_columns: tuple[str, ...] = ()
    # Unindexed foreign key: the index that fixes it.
    fix_index: IndexDesign | None = None
    # The recommended index that already fixes it, if one does.
    recommendation: str | None = None

    def key(self) -> str:
        """A stable identity, the same from one report to the next while the habit lasts."""
        parts = [self.kind.value, str(self.table), ",".join(self.columns)]
        if self.kind in (AntipatternKind.N_PLUS_ONE, AntipatternKind.WRITES_OUTSIDE_TRANSACTION):
            parts.append(str(self.parent_table))
        if self.kind is AntipatternKind.READS_EVERY_COLUMN:
            parts.append(",".join(str(q) for q in self.queryids))
        return ":".join(parts)
