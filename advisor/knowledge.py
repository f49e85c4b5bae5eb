"""What is known of the values statements run with: pg_stats, pg_qualstats' constants,
the server log's parameters, and the assumptions advice rests on (plain nouns)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from advisor.names import TableName


class ValueSource(enum.Enum):
    """Where the advisor learned the values a statement is run with."""

    QUALSTATS = "pg_qualstats"
    SERVER_LOG = "server log"
    STATISTICS = "pg_stats"
    # What a small sample of the table holds (a JSON column's keys): what the data offers,
    # not what the calls ask for.
    SAMPLE = "table sample"


@dataclass(frozen=True)
class ColumnStatistics:
    """pg_stats of one column: what ANALYZE's sample says about its values. Values are
    the text forms PostgreSQL prints (`most_common_vals::text`), `type_name` the column's
    type as format_type() spells it (ready to cast a quoted value to)."""

    table: TableName
    column: str
    type_name: str
    null_fraction: float = 0.0
    # > 0: distinct values; < 0: minus the share of rows (pg_stats' convention).
    n_distinct: float = 0.0
    most_common: tuple[tuple[str, float], ...] = ()  # (value, share of rows)
    histogram: tuple[str, ...] = ()
    correlation: float | None = None


@dataclass(frozen=True)
class QualConstant:
    """A constant pg_qualstats saw a statement compare a column with. `literal` is SQL as
    pg_qualstats prints it (`'blocked'::task_status`, `160::integer`); `occurrences` counts
    the sampled executions with that constant; the row counts are the qual's evaluations
    and how many rows it removed (its observed selectivity)."""

    queryid: int
    table: TableName
    column: str
    symbol: str  # the operator: "=", ">=", "<", "~~" ...
    position: int  # constant_position: where the constant is in the statement's text
    literal: str
    occurrences: int
    rows_evaluated: int = 0
    rows_filtered: int = 0


@dataclass(frozen=True)
class LoggedParameters:
    """One set of parameter values the server log recorded for a statement text
    ("DETAIL: parameters: $1 = '...'"), and how many times it was logged."""

    text: str
    values: tuple[str | None, ...]  # $1, $2, ... as text; None is NULL
    count: int = 1


@dataclass(frozen=True)
class JsonKey:
    """A top-level key of a JSON column's objects, on a sample of the table's rows: the
    share of the sampled rows that hold it and how many distinct values it took there."""

    key: str
    share_of_rows: float
    distinct: int


@dataclass(frozen=True)
class JsonKeys:
    """The keys of one JSON column's objects on a sample of `rows` rows, the most held first."""

    table: TableName
    column: str
    rows: int
    keys: tuple[JsonKey, ...]


@dataclass(frozen=True)
class ValueKnowledge:
    """Everything the advisor knows about the values of one database's statements; any
    part may be empty. `notes` say why a source gave nothing (not installed, no rights)."""

    columns: Mapping[tuple[TableName, str], ColumnStatistics] = field(default_factory=dict)
    constants: tuple[QualConstant, ...] = ()
    logged: tuple[LoggedParameters, ...] = ()
    notes: tuple[str, ...] = ()
    # The keys of the JSON columns whose key a statement binds as a parameter (sampled).
    json_keys: Mapping[tuple[TableName, str], JsonKeys] = field(default_factory=dict)


@dataclass(frozen=True)
class ValueAssumption:
    """A value a recommendation depends on: `target` (a column or an expression) takes
    `values` in `share_of_calls` of the statement's calls (when observed), and they hold
    `share_of_rows` of the table (when known). If this changes, the advice may drift."""

    table: TableName
    target: str
    values: tuple[str, ...]
    source: ValueSource
    share_of_calls: float | None = None
    share_of_rows: float | None = None
    samples: int = 0
    symbol: str = "="  # how the statement compares the target with the values

    def describe(self) -> str:
        values = ", ".join(self.values)
        if len(self.values) == 1:
            text = f"{self.target} {self.symbol} {values}"
        else:
            text = f"{self.target} in ({values})"
        if self.source is ValueSource.SAMPLE:
            held = f"held by {_share(self.share_of_rows or 0.0)} of the sampled rows; "
            return (
                f"{text} ({held if self.share_of_rows is not None else ''}no source showed "
                f"the calls' values: a guess from a table sample of {self.samples:,} rows)"
            )
        parts = []
        if self.share_of_calls is not None:
            parts.append(f"{self.share_of_calls:.0%} of calls")
        if self.share_of_rows is not None:
            parts.append(f"{_share(self.share_of_rows)} of rows")
        how = self.source.value + (f", {self.samples:,} samples" if self.samples else "")
        parts.append(how)
        return f"{text} ({'; '.join(parts)})"


def _share(value: float) -> str:
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"
