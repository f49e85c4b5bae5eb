"""One observation of one database: everything a job looks at, read once.

`observe` reads the server as it is now: its capabilities, schema, foreign keys, the index
and table counters, and pg_stat_statements once, for both the reads and the writes of the
same window. `observe_stored` takes the workload, the write rates and the usage from the
daemon's stored deltas instead, and reads only the catalogs from the server. Either way
every statement is parsed once, against the schema read here, so that every stage of a
job sees one schema and one workload.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
import structlog

from advisor.analyze.parse import parse_statement
from advisor.analyze.transactions import (
    LoggedTransactions,
    TransactionCounts,
    transaction_counts,
)
from advisor.analyze.writerates import WriteRates, write_rates
from advisor.collect.activity import write_rates_from_delta
from advisor.collect.constraints import read_foreign_keys
from advisor.collect.logtransactions import log_line_prefix, read_logged_transactions
from advisor.collect.schema import read_schema
from advisor.collect.snapshot import read_replica_usage, read_usage
from advisor.collect.transactions import database_transactions, tracks_utility
from advisor.collect.workload import read_workload, workload_from_delta
from advisor.config import Settings, parse_settings
from advisor.errors import AdvisorError
from advisor.history import (
    Delta,
    ReplicaUsage,
    TableCounters,
)
from advisor.model import (
    ForeignKey,
    ParsedStatement,
    Schema,
    Skipped,
    TableName,
    TableWriteRate,
    Workload,
)
from advisor.pg import (
    Capabilities,
    Connection,
    capabilities,
    first_line,
    redact,
    replica_dsns,
    require_pg_stat_statements,
    session,
    translate,
)
from advisor.store import RETENTION_DAYS, Store

log = structlog.get_logger(__name__)

# Write statements read for the write rates (every statement of the window, whatever its calls).
WRITE_STATEMENTS_LIMIT = 100_000

IndexKey = tuple[TableName, str]


@dataclass(frozen=True)
class Observation:
    """What one job knows of one database.

    `workload` holds the statements worth analyzing (min_calls, max_statements applied),
    each parsed once in `parsed`. `write_rates` are rows written per day to each table over
    the workload's own window; `writes` says how they were observed when they come from
    pg_stat_statements (None when they come from stored deltas, or when no statement
    source exists). `usage` holds the index and table counters over the longest window
    known (since the statistics' reset, or the daemon's stored days); `tables` the tables'
    counters over `tables_window_seconds`. `first_seen` is when the daemon first saw each
    index (empty without its state)."""

    caps: Capabilities
    schema: Schema
    foreign_keys: tuple[ForeignKey, ...]
    workload: Workload
    parsed: Mapping[int, ParsedStatement | Skipped]
    write_rates: Mapping[TableName, TableWriteRate]
    writes: WriteRates | None
    usage: Delta | None
    tables: tuple[TableCounters, ...]
    tables_window_seconds: float
    first_seen: Mapping[IndexKey, datetime]
    replicas: tuple[ReplicaUsage, ...] = ()
    # The explicit transactions of the workload's window (None without pg_stat_statements),
    # and which logged statements ran in one transaction (parameter_log_dir, with %v or %x
    # in log_line_prefix).
    transactions: TransactionCounts | None = None
    logged_transactions: LoggedTransactions | None = None

    @property
    def database(self) -> str:
        return self.caps.database

    def parsed_statements(self) -> dict[int, ParsedStatement]:
        """The statements that parsed, by queryid."""
        return {q: p for q, p in self.parsed.items() if isinstance(p, ParsedStatement)}


def observe(
    conn: Connection,
    settings: Settings,
    store: Store | None = None,
    *,
    transactions_log: bool = False,
) -> Observation:
    """Read the connected database now. Without pg_stat_statements the workload is empty
    and no write rate is invented; the jobs that need statements say so. With
    `transactions_log` (the report: only its anti-patterns use them), the server log's
    transactions too, where parameter_log_dir is set."""
    caps = capabilities(conn)
    try:
        if caps.pg_stat_statements:
            require_pg_stat_statements(conn, caps)
        schema = read_schema(conn)
        foreign_keys = read_foreign_keys(conn)
        usage = read_usage(conn, caps.database)
        transactions = None
        if caps.pg_stat_statements:
            every = read_workload(conn, caps.database, 1, WRITE_STATEMENTS_LIMIT)
            transactions = _transactions(conn, every)
        else:
            every = Workload(caps.database, (), 1.0, datetime.now(UTC))
    except psycopg.Error as error:
        raise translate(error, "reading the workload and schema") from None
    writes: WriteRates | None = None
    if caps.pg_stat_statements:
        writes = write_rates(
            every.statements,
            schema,
            every.window_seconds,
            hot_shares(usage.tables),
            settings.bulk_write_rows_per_call,
        )
        if writes.unattributed:  # no rate is invented for a table the schema does not hold
            log.info(
                "write_rates.unattributed", database=caps.database, statements=writes.unattributed
            )
    workload = narrowed(every, settings.min_calls, settings.max_statements)
    return Observation(
        caps=caps,
        schema=schema,
        foreign_keys=foreign_keys,
        workload=workload,
        parsed=_parse(workload, schema, settings),
        write_rates=writes.rates if writes is not None else {},
        writes=writes,
        usage=usage,
        tables=usage.tables,
        tables_window_seconds=usage.seconds,
        first_seen=store.index_first_seen(caps.database) if store is not None else {},
        replicas=tuple(read_replicas(settings, caps.database)),
        transactions=transactions,
        logged_transactions=_logged_transactions(conn, settings) if transactions_log else None,
    )


def _logged_transactions(conn: Connection, settings: Settings) -> LoggedTransactions | None:
    if settings.parameter_log_dir is None:
        return None
    return read_logged_transactions(settings.parameter_log_dir, log_line_prefix(conn))


def _transactions(conn: Connection, every: Workload) -> TransactionCounts:
    """The explicit transactions among every statement of pg_stat_statements' window, and
    pg_stat_database's count over the same window where its counters cover it."""
    return transaction_counts(
        every.statements, tracks_utility(conn), database_transactions(conn, every.window_seconds)
    )


def read_replicas(settings: Settings, database: str) -> list[ReplicaUsage]:
    """Each configured replica's index counters of `database` now, since its statistics
    started counting; a replica that cannot be read says why (it is not fatal: its
    findings become unknown)."""
    found = []
    for label, dsn in replica_dsns(settings).items():
        try:
            with session(dsn, settings, database) as conn:
                usage: Delta | None = read_replica_usage(conn, database)
            error = None
        except (AdvisorError, psycopg.Error) as failure:
            usage, error = None, redact(first_line(failure))
            log.warning("replica.unreachable", database=database, replica=label, error=error)
        found.append(ReplicaUsage(label, usage, error))
    return found


def observe_stored(
    conn: Connection,
    settings: Settings,
    store: Store,
    database: str,
    now: datetime,
    replica_errors: Mapping[str, str] | None = None,
    *,
    transactions_log: bool = False,
) -> Observation:
    """The daemon's observation: the workload, write rates and pg_stat_database's
    transactions of the analysis window and the usage of every stored day (the replicas'
    too), from the store; the catalogs from the server. `replica_errors` says why the last
    collection of a replica failed; `transactions_log` as for observe."""
    window = store.window(database, now - timedelta(hours=settings.analysis_window_hours))
    if window is None:
        every = workload = Workload(database, (), 1.0, now)
    else:
        texts = store.texts(database, [s.queryid for s in window.statements])
        every = workload_from_delta(window, texts, 1, WRITE_STATEMENTS_LIMIT)
        workload = narrowed(every, settings.min_calls, settings.max_statements)
    try:
        caps = capabilities(conn)
        schema = read_schema(conn)
        foreign_keys = read_foreign_keys(conn)
        # pg_stat_database's transactions over the stored window's own intervals.
        transactions = (
            transaction_counts(every.statements, tracks_utility(conn), window.transactions)
            if window is not None and caps.pg_stat_statements
            else None
        )
    except psycopg.Error as error:
        raise translate(error, "reading the schema") from None
    return Observation(
        caps=caps,
        schema=schema,
        foreign_keys=foreign_keys,
        workload=workload,
        parsed=_parse(workload, schema, settings),
        write_rates=write_rates_from_delta(window) if window is not None else {},
        writes=None,
        usage=store.window(database, now - timedelta(days=RETENTION_DAYS)),
        tables=window.tables if window is not None else (),
        tables_window_seconds=window.seconds if window is not None else 1.0,
        first_seen=store.index_first_seen(database),
        replicas=tuple(
            ReplicaUsage(
                label,
                store.window(database, now - timedelta(days=RETENTION_DAYS), replica=label),
                (replica_errors or {}).get(label),
            )
            for label in replica_dsns(settings)
        ),
        transactions=transactions,
        logged_transactions=_logged_transactions(conn, settings) if transactions_log else None,
    )


def narrowed(workload: Workload, min_calls: int, limit: int) -> Workload:
    """The workload's statements with at least `min_calls` calls, the busiest `limit` of
    them (the order is kept), and why the others are left out."""
    excluded = Counter(workload.excluded)
    kept = [s for s in workload.statements if s.calls >= min_calls]
    if len(kept) < len(workload.statements):
        excluded["fewer calls than min_calls"] += len(workload.statements) - len(kept)
    if len(kept) > limit:
        excluded["beyond max_statements"] += len(kept) - limit
    return Workload(
        database=workload.database,
        statements=tuple(kept[:limit]),
        window_seconds=workload.window_seconds,
        collected_at=workload.collected_at,
        excluded=dict(excluded),
    )


def hot_shares(tables: tuple[TableCounters, ...]) -> dict[TableName, float]:
    """The share of each table's updates that stayed HOT, by its counters: a share, never
    a rate (the counters' window is not the workload's)."""
    return {t.table: t.n_tup_hot_upd / t.n_tup_upd for t in tables if t.n_tup_upd > 0}


def _parse(
    workload: Workload, schema: Schema, settings: Settings
) -> dict[int, ParsedStatement | Skipped]:
    limits = parse_settings(settings)
    return {
        s.queryid: parse_statement(s.queryid, s.text, schema, limits) for s in workload.statements
    }
