"""The nouns of time: pg_stat_* counters as snapshots and deltas hold them, and the
recommendations the daemon remembers across analyses with what they realized.

Plain frozen dataclasses, like model.py's, which they build on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from advisor.model import StatementEffect, TableName
from advisor.names import quote_ident

# ------------------------------------------------------------------ counters over time


@dataclass(frozen=True)
class StatementCounters:
    """pg_stat_statements counters of one queryid, summed over users and nesting levels.
    In a snapshot they are cumulative; in a delta, what happened within it. No text: see
    Statement."""

    queryid: int
    calls: int
    total_exec_ms: float
    total_plan_ms: float = 0.0
    rows: int = 0
    # The sum of each call's execution time squared, recovered from pg_stat_statements'
    # mean and stddev (see analyze/timing.py): with the sum and the calls, it gives a
    # window's variance. 0 where the server has no stddev column, and in counters stored
    # by versions that did not read it.
    exec_ms_sum_of_squares: float = 0.0

    @property
    def total_ms(self) -> float:
        return self.total_exec_ms + self.total_plan_ms


@dataclass(frozen=True)
class TableCounters:
    """pg_stat_user_tables counters of one table (cumulative in a snapshot)."""

    table: TableName
    seq_scan: int = 0
    seq_tup_read: int = 0
    idx_scan: int = 0
    n_tup_ins: int = 0
    n_tup_upd: int = 0
    n_tup_del: int = 0
    n_tup_hot_upd: int = 0
    # Gauges, not counters: a delta carries the newer snapshot's values.
    n_live_tup: int = 0
    size_bytes: int = 0


@dataclass(frozen=True)
class IndexCounters:
    """pg_stat_user_indexes counters of one index (cumulative in a snapshot)."""

    table: TableName
    index: str
    idx_scan: int = 0
    idx_tup_read: int = 0
    idx_tup_fetch: int = 0
    # A gauge: a delta carries the newer snapshot's value.
    size_bytes: int = 0


@dataclass(frozen=True)
class Snapshot:
    """Cumulative counters of one database at one moment, with what tells a reset apart:
    the server's start time and the statistics' reset times."""

    database: str
    taken_at: datetime
    server_started_at: datetime
    statements_reset_at: datetime | None
    statements: tuple[StatementCounters, ...]
    tables: tuple[TableCounters, ...] = ()
    indexes: tuple[IndexCounters, ...] = ()
    # pg_stat_statements_info.dealloc (PG 14+): entries evicted since the reset.
    statements_evicted: int | None = None
    # pg_stat_database's xact_commit + xact_rollback of the database (every transaction,
    # implicit ones too), and its stats_reset (None until the database's statistics are
    # first reset). None where not read: a replica's snapshot, or one stored before.
    transactions: int | None = None
    transactions_reset_at: datetime | None = None


@dataclass(frozen=True)
class Delta:
    """What happened in a database between two moments: never negative, never doubled.

    `reset` says counters restarted inside the interval (a server restart or a statistics
    reset); the counts are then those since the restart, a lower bound."""

    database: str
    started_at: datetime
    ended_at: datetime
    statements: tuple[StatementCounters, ...]
    tables: tuple[TableCounters, ...] = ()
    indexes: tuple[IndexCounters, ...] = ()
    reset: bool = False
    statements_evicted: int = 0
    # pg_stat_database's transactions (commits and rollbacks) in the interval; None when
    # unknown, and whenever its counter may have restarted inside it (never a lower bound).
    transactions: int | None = None

    @property
    def seconds(self) -> float:
        return max((self.ended_at - self.started_at).total_seconds(), 0.0)


@dataclass(frozen=True)
class ReplicaUsage:
    """The index counters of one replica over a window (`usage`, its scans to add to the
    primary's), or why there are none (`error`: unreachable, not read yet). `replica` is
    host:port, never with credentials."""

    replica: str
    usage: Delta | None
    error: str | None = None


# ------------------------------------------------------- recommendations over time


class RecommendationStatus(enum.StrEnum):
    OPEN = "open"  # recommended by the latest analysis
    GONE = "gone"  # recommended before, not by the latest analysis
    CREATED = "created"  # the index was built


@dataclass(frozen=True)
class StoredRecommendation:
    """A recommendation as the daemon's state keeps it across analyses: its name, SQL and
    estimates, and its history (first and last recommended, when built). Recommendation is
    what one analysis found (its design and the evidence); this is what is remembered."""

    database: str
    name: str
    table: TableName
    create_sql: str
    status: RecommendationStatus
    first_seen: datetime
    last_seen: datetime
    created_at: datetime | None
    estimated_ms_saved_per_day: float
    estimated_size_bytes: int
    statements: tuple[StatementEffect, ...]


@dataclass(frozen=True)
class IndexRegression:
    """A statement on a created index's table that runs slower since the index appeared,
    with confidence (see analyze/regression.py): its mean execution time and calls before
    and since, and the statement that undoes the index."""

    database: str
    index: str
    table: TableName
    queryid: int
    before_calls: int
    before_mean_ms: float
    since_calls: int
    since_mean_ms: float
    measured_at: datetime
    # On a partitioned table the index cannot be dropped CONCURRENTLY.
    partitioned: bool = False

    @property
    def ratio(self) -> float:
        """Since over before: 2.0 is twice as slow."""
        return self.since_mean_ms / self.before_mean_ms if self.before_mean_ms > 0 else 0.0

    @property
    def undo_sql(self) -> str:
        """The statement that drops the index again (psql runs it as is)."""
        name = f"{quote_ident(self.table.schema)}.{quote_ident(self.index)}"
        concurrently = "" if self.partitioned else "CONCURRENTLY "
        return f"DROP INDEX {concurrently}IF EXISTS {name};"


@dataclass(frozen=True)
class RealizedBenefit:
    """What a created index did to the statements it was recommended for (the latest
    measure): their mean time before, as recommended, and since it was built."""

    database: str
    name: str
    before_mean_ms: float
    after_mean_ms: float
    statements: int
    measured_at: datetime


# ------------------------------------------------- connections (pg_stat_activity samples)


@dataclass(frozen=True)
class ConnectionGroup:
    """The client sessions of the watched database with one application_name, user and
    state at one sample. `state` is pg_stat_activity's ("idle in transaction", ...), or
    "unknown" where the advisor's role may not see it (it needs pg_read_all_stats)."""

    application: str
    user: str
    state: str
    connections: int
    # Of them, the active ones waiting (on a lock, I/O, ...: any wait_event_type).
    waiting: int = 0
    # The longest any of them has been in this state.
    oldest_state_seconds: float = 0.0


@dataclass(frozen=True)
class IdleTransaction:
    """A session idle in a transaction: since its last statement ended (`idle_seconds`)
    and since its transaction began (`transaction_seconds`)."""

    pid: int
    application: str
    user: str
    idle_seconds: float
    transaction_seconds: float


@dataclass(frozen=True)
class ActivitySample:
    """One reading of pg_stat_activity: the watched database's client sessions by
    application, user and state (the advisor's own left out), the oldest few sessions idle
    in a transaction, and the server's connection limits."""

    database: str
    taken_at: datetime
    groups: tuple[ConnectionGroup, ...]
    # The oldest first (by transaction age); at most a few.
    idle_in_transaction: tuple[IdleTransaction, ...]
    # Active sessions of the watched database waiting, by wait_event_type.
    waits: tuple[tuple[str, int], ...]
    # Client sessions of the whole server (every database, the advisor's own too): what
    # counts against max_connections.
    server_connections: int
    max_connections: int
    # superuser_reserved_connections, plus reserved_connections on PostgreSQL 16+.
    reserved_connections: int

    @property
    def available(self) -> int:
        """The connections ordinary roles may open: max_connections minus reserved."""
        return max(self.max_connections - self.reserved_connections, 0)

    @property
    def headroom(self) -> int:
        """How many more connections ordinary roles could open now."""
        return self.available - self.server_connections
