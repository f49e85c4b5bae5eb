"""What one database's report and handoff are made of: the report's inputs, the recommended
indexes as the handoff shows them (their Drizzle code and the SQL of each migration step),
and what changed since the previous report. report.py renders them; handoff.py models them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from advisor.analyze.pools import PoolAnalysis
from advisor.export.drizzle import (
    DrizzleIndex,
    DrizzleSchema,
    DrizzleTable,
    callback_snippet,
    drizzle_table,
    index_code,
)
from advisor.history import (
    IndexRegression,
    RealizedBenefit,
    StoredRecommendation,
)
from advisor.model import (
    Analysis,
    Antipattern,
    Finding,
    FindingKind,
    IndexDesign,
    Recommendation,
    Schema,
    TableName,
)

# ------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class StatementTrend:
    """A busy statement over the report's window, and its total the window before (None
    when it did not run then, or when there is nothing to compare with)."""

    queryid: int
    text: str
    calls: int
    total_ms: float
    previous_total_ms: float | None = None

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class CreatedIndex:
    """A recommended index that was built: its stored recommendation and the latest
    measure of what it did to the statements it was for (two facts, joined by name)."""

    recommendation: StoredRecommendation
    benefit: RealizedBenefit

    @property
    def name(self) -> str:
        return self.recommendation.name

    @property
    def table(self) -> TableName:
        return self.recommendation.table

    @property
    def created_on(self) -> date | None:
        created = self.recommendation.created_at
        return created.date() if created is not None else None

    @property
    def statements(self) -> int:
        return self.benefit.statements

    @property
    def before_mean_ms(self) -> float:
        return self.benefit.before_mean_ms

    @property
    def after_mean_ms(self) -> float:
        return self.benefit.after_mean_ms


@dataclass(frozen=True)
class ReportInputs:
    """Everything one database's report and handoff say.

    `trend` is False without a state store: the statements are then totals since the
    statistics were reset and `previous_total_ms` means nothing. `created` and
    `regressions` are None without a state store (nothing remembers what was recommended);
    `texts` holds the regressions' statements too."""

    database: str
    day: date
    analysis: Analysis | None
    findings: tuple[Finding, ...]
    top_statements: tuple[StatementTrend, ...]
    window_label: str
    trend: bool
    antipatterns: tuple[Antipattern, ...]
    texts: Mapping[int, str]
    created: tuple[CreatedIndex, ...] | None
    schema: Schema
    drizzle: DrizzleSchema | None = None
    regression_ratio: float = 1.5
    regressions: tuple[IndexRegression, ...] | None = None
    # The connection pools judged (None: no sample of the connections).
    pools: PoolAnalysis | None = None

    @property
    def recommendations(self) -> tuple[Recommendation, ...]:
        """The recommendations, the most time saved per day first."""
        if self.analysis is None:
            return ()
        return tuple(
            sorted(
                self.analysis.recommendations,
                key=lambda r: (-r.estimated_ms_saved_per_day, r.name),
            )
        )

    @property
    def existing_indexes(self) -> frozenset[str]:
        return frozenset(
            index.name
            for table in self.schema.tables.values()
            for index in table.indexes
            if index.valid
        )

    def drizzle_names(self, table: TableName) -> DrizzleTable:
        return drizzle_table(self.drizzle, table)


# ------------------------------------------------------------------ index views


@dataclass(frozen=True)
class IndexView:
    """One recommended index as the report and handoff show it: the design as Drizzle
    declares it (same name, SQL and code), with its SQL for each migration step."""

    rank: int
    recommendation: Recommendation
    drizzle: DrizzleIndex
    names: DrizzleTable

    @property
    def design(self) -> IndexDesign:
        return self.drizzle.design

    @property
    def name(self) -> str:
        return self.design.name()

    @property
    def concurrent_sql(self) -> str:
        """Run outside a transaction, before deploying (on a partitioned table: ON ONLY,
        each partition's concurrently, ATTACH)."""
        return self.recommendation.create_sql + ";"

    @property
    def index_names(self) -> tuple[str, ...]:
        """Its name, and on a partitioned table each partition's index's too."""
        partitions = self.recommendation.partitions
        return (self.name, *(replace(self.design, table=p.table).name() for p in partitions))

    @property
    def migration_sql(self) -> str:
        """What the generated migration's CREATE INDEX is replaced with."""
        return self.design.create_sql(concurrently=False) + ";"


@dataclass(frozen=True)
class TableChange:
    """The new indexes of one table, with the TypeScript to add to its declaration."""

    table: TableName
    names: DrizzleTable
    indexes: tuple[IndexView, ...]

    @property
    def snippet(self) -> str:
        return callback_snippet(self.names, [view.drizzle for view in self.indexes])


def index_views(inputs: ReportInputs) -> tuple[IndexView, ...]:
    """The recommended indexes in rank order, with their Drizzle code."""
    views = []
    for rank, rec in enumerate(inputs.recommendations, 1):
        names = inputs.drizzle_names(rec.design.table)
        views.append(IndexView(rank, rec, index_code(rec.design, names), names))
    return tuple(views)


def table_changes(views: Sequence[IndexView]) -> tuple[TableChange, ...]:
    """The views grouped by table, tables in name order, indexes in rank order."""
    tables = sorted({view.design.table for view in views})
    return tuple(
        TableChange(
            table,
            views_of[0].names,
            views_of,
        )
        for table in tables
        for views_of in [tuple(v for v in views if v.design.table == table)]
    )


def concurrent_script(views: Sequence[IndexView]) -> str:
    """The script to run with `psql -f` before deploying: one concurrent build a line."""
    return "\n".join(view.concurrent_sql for view in views)


def migration_script(views: Sequence[IndexView]) -> str:
    """The lines that replace drizzle-kit's CREATE INDEX statements in the migration."""
    return "\n".join(view.migration_sql for view in views)


def invalid_check_sql(views: Sequence[IndexView]) -> str:
    """A query listing those of the indexes a failed concurrent build left invalid."""
    names = ", ".join(quote_literal(name) for view in views for name in view.index_names)
    return (
        "SELECT c.relname AS invalid_index FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid\n"
        f"WHERE NOT i.indisvalid AND c.relname IN ({names});"
    )


def quote_literal(text: str) -> str:
    """An SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# --------------------------------------------------------------------- changes


@dataclass(frozen=True)
class Change:
    """One line of "what changed": what (a label), which, and why."""

    what: str
    subject: str
    detail: str


@dataclass(frozen=True)
class Changes:
    """Differences from the previous report (`previous_day` None: there is none)."""

    previous_day: date | None
    new: tuple[Change, ...] = ()
    resolved: tuple[Change, ...] = ()
    regressed: tuple[Change, ...] = ()
    # Values a recommendation depends on whose share of calls or rows moved.
    drifted: tuple[Change, ...] = ()


# The findings whose fix drops an index the application's schema may declare.
DROPPED = frozenset({FindingKind.UNUSED, FindingKind.DUPLICATE, FindingKind.REDUNDANT})


def proposed_drops(inputs: ReportInputs) -> tuple[Finding, ...]:
    """The health findings whose fix drops an index, with the statement that rebuilds it."""
    return tuple(f for f in inputs.findings if f.fix_sql and f.kind in DROPPED and f.restore_sql)
