"""What a new index costs the writes to its table.

The model, kept deliberately simple and documented in the README:

- Every insert, non-HOT update and delete of a row maintains one entry in every btree of
  the table (a delete's entry is removed later by vacuum, which is also work). Maintaining
  one entry costs `index_write_ms_per_row`, more for wider entries: each key or INCLUDE
  column beyond the first adds `index_width_factor` of that.
- A partial index is maintained only for the rows its predicate holds; a BRIN index costs a
  small share of a btree entry (BRIN_WRITE_SHARE): it keeps one summary per range of pages.
- A HOT update touches no index, but only while it changes no indexed column. A new index
  on a column that UPDATE statements set ends HOT updates there: each of those updates then
  maintains every index of the table, the new one included.

Costs are in milliseconds per day, like the savings they are weighed against.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from advisor.model import IndexDesign, ParsedStatement, StatementKind, TableName, TableWriteRate

# What a row write costs a BRIN index, as a share of a btree entry's cost.
BRIN_WRITE_SHARE = 0.05


@dataclass(frozen=True)
class WriteCostSettings:
    """The write cost's coefficients (config.write_cost_settings maps them from Settings)."""

    index_write_ms_per_row: float
    index_width_factor: float


@dataclass(frozen=True)
class WriteCost:
    ms_per_day: float
    ends_hot_updates: tuple[str, ...] = ()


def written_columns(statements: Iterable[ParsedStatement]) -> dict[TableName, frozenset[str]]:
    """The columns the workload's UPDATE statements set, per table."""
    written: dict[TableName, set[str]] = defaultdict(set)
    for statement in statements:
        if statement.kind is not StatementKind.UPDATE:
            continue
        for access in statement.accesses:
            written[access.table].update(access.written_columns)
    return {table: frozenset(columns) for table, columns in written.items()}


class WriteCostModel:
    """The maintenance cost of candidate designs, given the tables' write rates."""

    def __init__(
        self,
        rates: Mapping[TableName, TableWriteRate],
        index_counts: Mapping[TableName, int],
        updated: Mapping[TableName, frozenset[str]],
        settings: WriteCostSettings,
    ) -> None:
        self._rates = rates
        self._index_counts = index_counts
        self._updated = updated
        self._settings = settings
        # The share of the table's rows a partial index holds (its predicate's), when known.
        self.predicate_shares: dict[IndexDesign, float] = {}

    def cost(self, design: IndexDesign) -> WriteCost:
        rate = self._rates.get(design.table)
        if rate is None:
            return WriteCost(0.0)
        per_row = self._settings.index_write_ms_per_row * (
            1 + self._settings.index_width_factor * max(design.width - 1, 0)
        )
        ms = rate.index_rows_per_day * per_row * self._entry_share(design)
        columns = set(design.key_columns) | set(design.include)
        ends_hot = tuple(sorted(columns & self._updated.get(design.table, frozenset())))
        if ends_hot and rate.hot_updates_per_day > 0:
            # Those updates become non-HOT: they now maintain every index on the table.
            indexes = self._index_counts.get(design.table, 0) + 1
            ms += rate.hot_updates_per_day * self._settings.index_write_ms_per_row * indexes
        return WriteCost(ms, ends_hot)

    def _entry_share(self, design: IndexDesign) -> float:
        """The share of row writes that touch the index: a partial index only its
        predicate's rows; a BRIN index keeps one summary per range of pages, which an
        insert updates only when its value widens the range (BRIN_WRITE_SHARE)."""
        if design.access_method == "brin":
            return BRIN_WRITE_SHARE
        if design.predicate:
            return self.predicate_shares.get(design, 1.0)
        return 1.0

    def ms_per_day(self, design: IndexDesign) -> float:
        return self.cost(design).ms_per_day
