"""The daemon's memory: one SQLite file in the state directory that outlives the process.

It keeps the latest raw snapshot per database (to compute the next delta), statement texts
(fetched once per queryid), deltas in time buckets that are merged as they age, the history
of recommendations, the benefit created indexes delivered, the statements they made slower,
and when each index was first seen. Every write is one transaction, so a crash or a full
disk leaves the file as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from types import TracebackType
from typing import Any

from advisor.collect.deltas import merge
from advisor.errors import StateError
from advisor.history import (
    Delta,
    IndexCounters,
    IndexRegression,
    RealizedBenefit,
    RecommendationStatus,
    Snapshot,
    StatementCounters,
    StoredRecommendation,
    TableCounters,
)
from advisor.model import (
    Recommendation,
    StatementEffect,
    TableName,
)
from advisor.storesql import (
    ADD_DELTA_SQL,
    AGED_BUCKETS_SQL,
    ALL_TEXTS_SQL,
    BEGIN_SQL,
    BUCKETS_BY_ID_SQL,
    CLEAR_REGRESSIONS_SQL,
    DELETE_BUCKETS_BY_ID_SQL,
    DELETE_EXPIRED_BUCKETS_SQL,
    DELETE_EXPIRED_REPORTS_SQL,
    FORGET_TEXT_SQL,
    INDEX_FIRST_SEEN_SQL,
    JOURNAL_MODE_SQL,
    KNOWN_QUERYIDS_SQL,
    LAST_SNAPSHOT_SQL,
    MARK_CREATED_SQL,
    MARK_GONE_SQL,
    MIGRATIONS,
    OBSERVE_INDEX_SQL,
    PREVIOUS_REPORTS_SQL,
    QUICK_CHECK_SQL,
    REALIZED_SQL,
    RECOMMENDATIONS_SQL,
    REGRESSIONS_SQL,
    SAVE_REALIZED_SQL,
    SAVE_REGRESSION_SQL,
    SAVE_REPORT_SQL,
    SAVE_SNAPSHOT_SQL,
    SAVE_TEXT_SQL,
    SCHEMA_VERSION,
    SECURE_DELETE_SQL,
    SET_USER_VERSION_SQL,
    SYNCHRONOUS_SQL,
    TEXTS_SQL,
    TRUNCATE_WAL_SQL,
    UPSERT_RECOMMENDATION_SQL,
    USER_VERSION_SQL,
    WINDOW_BATCH_BUCKETS,
    WINDOW_SQL,
    WITHIN_SQL,
)

STATE_FILE_NAME = "pg-advisor.sqlite3"
# The server whose counters a snapshot or delta holds: the primary, or a replica's host:port.
PRIMARY = ""

# Compaction of stored deltas, by age (the end of a bucket): buckets younger than
# KEEP_RAW_MINUTES are kept as stored, then merged into 5-minute buckets until
# KEEP_RAW_HOURS, then hourly ones, then daily ones, then deleted.
KEEP_RAW_MINUTES = 15.0
FINE_BUCKET_MINUTES = 5
KEEP_RAW_HOURS = 2.0
KEEP_HOURLY_DAYS = 2.0
RETENTION_DAYS = 35.0

# How long a write waits for another connection to the same file (another process sharing
# the state directory) before failing.
BUSY_TIMEOUT_SECONDS = 5.0


class Store:
    """The state file of one daemon. Safe to share between threads; every method is atomic."""

    def __init__(
        self,
        state_dir: Path,
        *,
        keep_raw_hours: float = KEEP_RAW_HOURS,
        keep_hourly_days: float = KEEP_HOURLY_DAYS,
        retention_days: float = RETENTION_DAYS,
    ) -> None:
        """Open (or create) the state file in `state_dir`, creating the directory if missing.

        Raises StateError when the directory or file cannot be written, the file is not a
        healthy SQLite database, or it was written by a newer version of the advisor."""
        self._keep_raw = timedelta(hours=keep_raw_hours)
        self._keep_hourly = timedelta(days=keep_hourly_days)
        self._retention = timedelta(days=retention_days)
        if not timedelta(0) <= self._keep_raw <= self._keep_hourly <= self._retention:
            raise ValueError("compaction ages must grow: raw <= hourly <= retention")
        self.path = Path(state_dir) / STATE_FILE_NAME
        self._lock = threading.Lock()
        _prepare_directory(Path(state_dir))
        self._conn = self._open()

    def close(self) -> None:
        """Close the file; later calls fail. Closing twice is harmless."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------- opening

    def _open(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        except sqlite3.Error as error:
            raise _state_error(self.path, "open the state file", error) from error
        try:
            with self._translated("open the state file"):
                self._check_integrity(conn)
                conn.execute(JOURNAL_MODE_SQL)
                conn.execute(SYNCHRONOUS_SQL)
                conn.execute(SECURE_DELETE_SQL)
                self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _check_integrity(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute(QUICK_CHECK_SQL).fetchall()
        problems = [line for row in rows for line in str(row[0]).splitlines()]
        if problems != ["ok"]:
            raise StateError(
                f"state file {self.path} is corrupt: {'; '.join(problems)}; "
                "move it away to start fresh"
            )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the schema up to date. Always writes (the version), which also proves at
        start-up, rather than at the first write, that the file is writable."""
        with conn:
            conn.execute(BEGIN_SQL)
            version = int(conn.execute(USER_VERSION_SQL).fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"state file {self.path} was written by a newer pg-advisor (schema "
                    f"{version}, this one knows {SCHEMA_VERSION}); upgrade, or move it away "
                    "to start fresh"
                )
            for migration in MIGRATIONS[version:]:
                for statement in migration:
                    conn.execute(statement)
            conn.execute(SET_USER_VERSION_SQL)

    # --------------------------------------------------------------- transactions

    @contextlib.contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """SQLite failures of the file (full disk, corruption, permissions) as StateError.
        Misuse of the API (ProgrammingError, IntegrityError) stays what it is: a bug."""
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.IntegrityError):
            raise
        except sqlite3.DatabaseError as error:
            raise _state_error(self.path, action, error) from error

    @contextlib.contextmanager
    def _reading(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translated(action):
            yield self._conn

    @contextlib.contextmanager
    def _writing(self, action: str) -> Iterator[sqlite3.Connection]:
        """One transaction: all of the block's writes, or none of them."""
        with self._lock, self._translated(action):
            conn = self._conn
            try:
                with conn:
                    # IMMEDIATE takes the write lock up front and makes DDL transactional.
                    conn.execute(BEGIN_SQL)
                    yield conn
            finally:
                # A failed COMMIT (full disk) leaves the transaction open; close it so the
                # next write starts clean. Its own failure would hide the one that matters.
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.rollback()

    # ------------------------------------------------------------------ snapshots

    def save_snapshot(self, snapshot: Snapshot, replica: str = PRIMARY) -> None:
        """Keep `snapshot` as the latest of its database (on that server), replacing the
        previous one."""
        with self._writing("save a snapshot") as conn:
            conn.execute(SAVE_SNAPSHOT_SQL, _snapshot_row(snapshot, replica))

    def save_poll(self, snapshot: Snapshot, delta: Delta | None, replica: str = PRIMARY) -> None:
        """Store `delta` (the change since the previous snapshot, if any) and make `snapshot`
        the latest, in one transaction. Saved separately, a crash between the two writes
        would have the next poll count the same interval again. `replica` names the server
        (host:port) for a replica's counters; the primary's are stored under PRIMARY."""
        with self._writing("save a poll") as conn:
            if delta is not None:
                conn.execute(ADD_DELTA_SQL, _bucket_row(delta, replica))
            conn.execute(SAVE_SNAPSHOT_SQL, _snapshot_row(snapshot, replica))

    def last_snapshot(self, database: str, replica: str = PRIMARY) -> Snapshot | None:
        """The latest snapshot saved for `database` (on that server), or None."""
        with self._reading("read the last snapshot") as conn:
            row = conn.execute(LAST_SNAPSHOT_SQL, (database, replica)).fetchone()
        if row is None:
            return None
        taken_at, started_at, reset_at, evicted, counters = row
        decoded = _decode_counters(counters)
        return Snapshot(
            database=database,
            taken_at=_datetime(taken_at),
            server_started_at=_datetime(started_at),
            statements_reset_at=_datetime_or_none(reset_at),
            statements=decoded.statements,
            tables=decoded.tables,
            indexes=decoded.indexes,
            statements_evicted=evicted,
            transactions=decoded.transactions,
            transactions_reset_at=decoded.transactions_reset_at,
        )

    # ---------------------------------------------------------------------- texts

    def known_queryids(self, database: str) -> set[int]:
        """The queryids of `database` whose text is stored."""
        with self._reading("read the known queryids") as conn:
            return {int(row[0]) for row in conn.execute(KNOWN_QUERYIDS_SQL, (database,))}

    def save_texts(self, database: str, texts: Mapping[int, str]) -> None:
        """Store statement texts by queryid (a text saved again replaces the old one)."""
        with self._writing("save statement texts") as conn:
            conn.executemany(
                SAVE_TEXT_SQL, [(database, queryid, text) for queryid, text in texts.items()]
            )

    def forget_texts(self, matching: Callable[[str], bool]) -> int:
        """Delete the stored texts (of every database) for which `matching` is true (their
        bytes are overwritten in the file); returns how many."""
        with self._reading("read statement texts") as conn:
            doomed = [(d, q) for d, q, t in conn.execute(ALL_TEXTS_SQL) if matching(str(t))]
        if not doomed:
            return 0
        with self._writing("forget statement texts") as conn:
            conn.executemany(FORGET_TEXT_SQL, doomed)
        # The write-ahead log still holds the pages as they were: empty it.
        with self._reading("forget statement texts") as conn:
            conn.execute(TRUNCATE_WAL_SQL)
        return len(doomed)

    def texts(self, database: str, queryids: Iterable[int]) -> dict[int, str]:
        """The stored texts of those queryids; unknown queryids are absent."""
        ids = json.dumps(sorted(set(queryids)))
        with self._reading("read statement texts") as conn:
            return {int(q): str(t) for q, t in conn.execute(TEXTS_SQL, (database, ids))}

    # --------------------------------------------------------------------- deltas

    def add_delta(self, delta: Delta, replica: str = PRIMARY) -> None:
        """Store one delta as a bucket of its own."""
        with self._writing("save a delta") as conn:
            conn.execute(ADD_DELTA_SQL, _bucket_row(delta, replica))

    def window(
        self,
        database: str,
        since: datetime,
        until: datetime | None = None,
        *,
        replica: str = PRIMARY,
    ) -> Delta | None:
        """All stored buckets of `database` (on that server) that overlap [since, until],
        merged; None when there are none. Buckets are never split, so the result can reach
        past the window by up to one bucket (a few minutes, an hour or a day, depending on
        their age)."""
        parameters = {
            "database": database,
            "replica": replica,
            "since": _iso(since),
            "until": _iso_or_none(until),
        }
        return self._merged(database, WINDOW_SQL, parameters)

    def window_within(
        self, database: str, start: datetime, end: datetime | None = None
    ) -> Delta | None:
        """The primary's stored buckets of `database` wholly inside [start, end) (no end:
        up to now), merged; None when there are none. Unlike `window`, nothing from before
        `start` or from `end` on is counted: the bucket in which something happened is in
        neither of the windows on its two sides."""
        parameters = {
            "database": database,
            "replica": PRIMARY,
            "start": _iso(start),
            "end": _iso_or_none(end),
        }
        return self._merged(database, WITHIN_SQL, parameters)

    def _merged(self, database: str, query: str, parameters: Mapping[str, Any]) -> Delta | None:
        merged: Delta | None = None
        with self._reading("read a window of deltas") as conn:
            cursor = conn.execute(query, parameters)
            # Merged a batch at a time: memory stays that of one window, not of every bucket.
            while batch := cursor.fetchmany(WINDOW_BATCH_BUCKETS):
                deltas = [_delta_from_row(database, *row) for row in batch]
                merged = merge(deltas if merged is None else [merged, *deltas])
        return merged

    def compact(self, now: datetime) -> int:
        """Merge aged buckets (hourly after `keep_raw_hours`, daily after `keep_hourly_days`)
        and delete those older than `retention_days`. Returns how many rows went away.
        Sums over windows aligned to the kept granularity do not change."""
        raw_cutoff = now - timedelta(minutes=KEEP_RAW_MINUTES)
        fine_cutoff = now - self._keep_raw
        hourly_cutoff = now - self._keep_hourly
        with self._writing("compact stored deltas") as conn:
            removed = conn.execute(DELETE_EXPIRED_BUCKETS_SQL, (_iso(now - self._retention),))
            removed_rows = max(removed.rowcount, 0)
            expired = (now - self._retention).date().isoformat()
            removed_rows += max(conn.execute(DELETE_EXPIRED_REPORTS_SQL, (expired,)).rowcount, 0)
            aged = conn.execute(AGED_BUCKETS_SQL, (_iso(raw_cutoff),)).fetchall()
            for ids in _groups_to_merge(aged, fine_cutoff, hourly_cutoff):
                _merge_buckets(conn, ids)
                removed_rows += len(ids) - 1
        return removed_rows

    # ------------------------------------------------------------ recommendations

    def record_recommendations(
        self, database: str, recommendations: Sequence[Recommendation], now: datetime
    ) -> None:
        """Record the latest analysis: each recommendation is 'open' with the latest
        estimates (first_seen kept from its first time); open ones it no longer makes
        become 'gone'. Created ones stay created unless recommended again."""
        rows = [_recommendation_row(database, r, now) for r in recommendations]
        names = json.dumps([r.name for r in recommendations])
        with self._writing("record recommendations") as conn:
            conn.executemany(UPSERT_RECOMMENDATION_SQL, rows)
            conn.execute(MARK_GONE_SQL, (database, names))

    def mark_created(self, database: str, name: str, now: datetime) -> None:
        """Mark a recommendation as built. Raises KeyError if there is none by that name."""
        with self._writing("mark a recommendation created") as conn:
            updated = conn.execute(MARK_CREATED_SQL, (_iso(now), database, name)).rowcount
            if updated == 0:
                raise KeyError(f"no recommendation {name!r} for database {database!r}")

    def recommendations(
        self, database: str, status: str | None = None
    ) -> list[StoredRecommendation]:
        """Recommendations of `database` (with that status, if given), the most valuable
        first. Raises ValueError for an unknown status."""
        wanted = None if status is None else RecommendationStatus(status).value
        with self._reading("read recommendations") as conn:
            rows = conn.execute(
                RECOMMENDATIONS_SQL, {"database": database, "status": wanted}
            ).fetchall()
        return [_stored_recommendation(*row) for row in rows]

    # -------------------------------------------------------------------- benefit

    def save_realized(
        self,
        database: str,
        name: str,
        before_mean_ms: float,
        after_mean_ms: float,
        statements: int,
        measured_at: datetime,
    ) -> None:
        """Record the latest measure of what index `name` did (replacing an older one)."""
        with self._writing("save a realized benefit") as conn:
            conn.execute(
                SAVE_REALIZED_SQL,
                (database, name, before_mean_ms, after_mean_ms, statements, _iso(measured_at)),
            )

    def realized(self, database: str) -> list[RealizedBenefit]:
        """The latest measured benefit of each created index of `database`, by name."""
        with self._reading("read realized benefits") as conn:
            rows = conn.execute(REALIZED_SQL, (database,)).fetchall()
        return [
            RealizedBenefit(db, name, before, after, count, _datetime(at))
            for db, name, before, after, count, at in rows
        ]

    def save_regressions(self, database: str, regressions: Iterable[IndexRegression]) -> None:
        """Replace the statements of `database` known to be slower since an index appeared
        by the latest measure (none: every earlier one is gone)."""
        rows = [
            {**vars(r), "table_schema": r.table.schema, "table_name": r.table.name}
            | {"database": database, "measured_at": _iso(r.measured_at)}
            for r in regressions
        ]
        with self._writing("save the regressions") as conn:
            conn.execute(CLEAR_REGRESSIONS_SQL, (database,))
            conn.executemany(SAVE_REGRESSION_SQL, rows)

    def regressions(self, database: str) -> list[IndexRegression]:
        """The statements of `database` slower since an index appeared, the costliest first."""
        with self._reading("read the regressions") as conn:
            rows = conn.execute(REGRESSIONS_SQL, (database,)).fetchall()
        return [_regression(*row) for row in rows]

    # -------------------------------------------------------------------- reports

    def save_report(self, database: str, day: date, document: Mapping[str, Any]) -> None:
        """Keep what the report of `day` said (replacing a report of the same day)."""
        text = json.dumps(document, sort_keys=True)
        with self._writing("save the report's history") as conn:
            conn.execute(SAVE_REPORT_SQL, (database, day.isoformat(), text))

    def previous_report(
        self, database: str, day: date, accept: Callable[[Mapping[str, Any]], bool]
    ) -> dict[str, Any] | None:
        """What the newest report of `database` before `day` said, among those `accept`
        takes (a document of another format is passed over), or None."""
        with self._reading("read the report's history") as conn:
            rows = conn.execute(PREVIOUS_REPORTS_SQL, (database, day.isoformat())).fetchall()
        for (text,) in rows:
            try:
                document = json.loads(text)
            except ValueError:
                continue
            if isinstance(document, dict) and accept(document):
                return document
        return None

    # -------------------------------------------------------------------- indexes

    def observe_indexes(
        self, database: str, indexes: Iterable[tuple[TableName, str]], now: datetime
    ) -> None:
        """Remember `now` as the first sighting of each index not seen before."""
        at = _iso(now)
        rows = [(database, table.schema, table.name, index, at) for table, index in indexes]
        with self._writing("record observed indexes") as conn:
            conn.executemany(OBSERVE_INDEX_SQL, rows)

    def index_first_seen(self, database: str) -> dict[tuple[TableName, str], datetime]:
        """When each index of `database` was first observed."""
        with self._reading("read index sightings") as conn:
            rows = conn.execute(INDEX_FIRST_SEEN_SQL, (database,)).fetchall()
        return {
            (TableName(schema, table), index): _datetime(at) for schema, table, index, at in rows
        }


# --------------------------------------------------------------------------- helpers


def _prepare_directory(state_dir: Path) -> None:
    if state_dir.exists() and not state_dir.is_dir():
        raise StateError(f"state directory {state_dir} is not a directory")
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StateError(f"cannot create state directory {state_dir}: {error.strerror}") from error
    if not os.access(state_dir, os.W_OK | os.X_OK):
        raise StateError(f"state directory {state_dir} is not writable by this user")


def _state_error(path: Path, action: str, error: sqlite3.Error) -> StateError:
    """A message the user can act on, by SQLite's error code."""
    code = str(getattr(error, "sqlite_errorname", None) or "")
    if code == "SQLITE_FULL":
        return StateError(
            f"cannot {action}: the disk holding {path} is full; nothing was written and the "
            "state is intact; free some space"
        )
    if code.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return StateError(f"state file {path} is corrupt: {error}; move it away to start fresh")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StateError(
            f"state file {path} is locked ({error}); is another pg-advisor using the same "
            "state directory?"
        )
    if code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_IOERR")):
        return StateError(
            f"cannot {action} in {path}: {error}; check that this user can write to the file "
            "and its directory"
        )
    return StateError(f"cannot {action} in {path}: {error}")


def _iso(moment: datetime) -> str:
    """UTC, fixed width: text order is time order, which the range queries rely on."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment}: the state stores timezone-aware times only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else _iso(moment)


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _datetime_or_none(text: str | None) -> datetime | None:
    return None if text is None else _datetime(text)


@dataclass(frozen=True)
class _Counters:
    """What a stored counters document holds (a snapshot's or a bucket's)."""

    statements: tuple[StatementCounters, ...]
    tables: tuple[TableCounters, ...]
    indexes: tuple[IndexCounters, ...]
    transactions: int | None = None
    transactions_reset_at: datetime | None = None


def _encode_counters(
    statements: Iterable[StatementCounters],
    tables: Iterable[TableCounters],
    indexes: Iterable[IndexCounters],
    transactions: int | None = None,
    transactions_reset_at: datetime | None = None,
) -> str:
    """The counters as JSON: each kind's field names once, then one list of values a row
    (a table as [schema, name]). Names, not bare positions: a counter added to the model
    later still reads back. Rows as lists, not objects, and read with attrgetter: a
    snapshot of 5,000 statements is encoded at every collection. The database's
    transactions (and their reset time) are keys of their own, left out when unknown, as
    documents written before they were read lack them."""
    document: dict[str, Any] = {
        "fields": {
            "statements": _STATEMENT_FIELDS,
            "tables": _TABLE_FIELDS,
            "indexes": _INDEX_FIELDS,
        },
        "statements": [list(_STATEMENT_VALUES(s)) for s in statements],
        "tables": [_row_values(_TABLE_VALUES(t)) for t in tables],
        "indexes": [_row_values(_INDEX_VALUES(i)) for i in indexes],
    }
    if transactions is not None:
        document["transactions"] = transactions
    if transactions_reset_at is not None:
        document["transactions_reset_at"] = _iso(transactions_reset_at)
    return json.dumps(document, separators=(",", ":"))


_STATEMENT_FIELDS = tuple(f.name for f in fields(StatementCounters))
_TABLE_FIELDS = tuple(f.name for f in fields(TableCounters))
_INDEX_FIELDS = tuple(f.name for f in fields(IndexCounters))
_STATEMENT_VALUES = attrgetter(*_STATEMENT_FIELDS)
_TABLE_VALUES = attrgetter(*_TABLE_FIELDS)
_INDEX_VALUES = attrgetter(*_INDEX_FIELDS)


def _row_values(values: tuple[Any, ...]) -> list[Any]:
    return [[v.schema, v.name] if isinstance(v, TableName) else v for v in values]


def _decode_counters(text: str) -> _Counters:
    data: dict[str, Any] = json.loads(text)
    transactions = data.get("transactions")
    reset_at = _datetime_or_none(data.get("transactions_reset_at"))
    names = data.get("fields")
    if names is None:  # written before the rows were lists: one object a row
        return _Counters(
            tuple(StatementCounters(**s) for s in data["statements"]),
            tuple(TableCounters(**{**t, "table": TableName(**t["table"])}) for t in data["tables"]),
            tuple(
                IndexCounters(**{**i, "table": TableName(**i["table"])}) for i in data["indexes"]
            ),
            transactions,
            reset_at,
        )
    return _Counters(
        tuple(
            StatementCounters(**dict(zip(names["statements"], row, strict=True)))
            for row in data["statements"]
        ),
        tuple(TableCounters(**_with_table(names["tables"], row)) for row in data["tables"]),
        tuple(IndexCounters(**_with_table(names["indexes"], row)) for row in data["indexes"]),
        transactions,
        reset_at,
    )


def _with_table(names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    values = dict(zip(names, row, strict=True))
    schema, name = values["table"]
    values["table"] = TableName(schema, name)
    return values


def _snapshot_row(
    snapshot: Snapshot, replica: str
) -> tuple[str, str, str, str | None, int | None, str, str]:
    return (
        snapshot.database,
        _iso(snapshot.taken_at),
        _iso(snapshot.server_started_at),
        _iso_or_none(snapshot.statements_reset_at),
        snapshot.statements_evicted,
        _encode_counters(
            snapshot.statements,
            snapshot.tables,
            snapshot.indexes,
            snapshot.transactions,
            snapshot.transactions_reset_at,
        ),
        replica,
    )


def _bucket_row(delta: Delta, replica: str) -> tuple[str, str, str, int, int, str, str]:
    return (
        delta.database,
        _iso(delta.started_at),
        _iso(delta.ended_at),
        int(delta.reset),
        delta.statements_evicted,
        _encode_counters(delta.statements, delta.tables, delta.indexes, delta.transactions),
        replica,
    )


def _delta_from_row(
    database: str, started_at: str, ended_at: str, reset: int, evicted: int, counters: str
) -> Delta:
    decoded = _decode_counters(counters)
    return Delta(
        database=database,
        started_at=_datetime(started_at),
        ended_at=_datetime(ended_at),
        statements=decoded.statements,
        tables=decoded.tables,
        indexes=decoded.indexes,
        reset=bool(reset),
        statements_evicted=evicted,
        transactions=decoded.transactions,
    )


def _groups_to_merge(
    aged: Iterable[tuple[int, str, str, str, str]], fine_cutoff: datetime, hourly_cutoff: datetime
) -> list[list[int]]:
    """Ids of aged buckets that share a database, a server, a granularity and an hour (or
    a day) by their start; only groups of two or more need merging, so compaction is
    idempotent."""
    groups: dict[tuple[str, str, str, datetime], list[int]] = defaultdict(list)
    for bucket_id, database, replica, started_at, ended_at in aged:
        start = _datetime(started_at)
        ended = _datetime(ended_at)
        if ended <= hourly_cutoff:
            grain, at = "day", start.replace(hour=0, minute=0, second=0, microsecond=0)
        elif ended <= fine_cutoff:
            grain, at = "hour", start.replace(minute=0, second=0, microsecond=0)
        else:
            minute = start.minute - start.minute % FINE_BUCKET_MINUTES
            grain, at = "5min", start.replace(minute=minute, second=0, microsecond=0)
        groups[(database, replica, grain, at)].append(bucket_id)
    return [ids for ids in groups.values() if len(ids) > 1]


def _merge_buckets(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Replace the buckets `ids` (of one database on one server) by one holding their sum."""
    id_list = json.dumps(list(ids))
    rows = conn.execute(BUCKETS_BY_ID_SQL, (id_list,)).fetchall()
    merged = merge([_delta_from_row(*row[:6]) for row in rows])
    conn.execute(DELETE_BUCKETS_BY_ID_SQL, (id_list,))
    conn.execute(ADD_DELTA_SQL, _bucket_row(merged, rows[0][6]))


def _recommendation_row(
    database: str, recommendation: Recommendation, now: datetime
) -> dict[str, Any]:
    table = recommendation.design.table
    return {
        "database": database,
        "name": recommendation.name,
        "table_schema": table.schema,
        "table_name": table.name,
        "create_sql": recommendation.create_sql,
        "now": _iso(now),
        "estimated_ms_saved_per_day": recommendation.estimated_ms_saved_per_day,
        "estimated_size_bytes": recommendation.estimated_size_bytes,
        "statements": json.dumps([asdict(s) for s in recommendation.statements]),
    }


def _regression(
    database: str,
    index: str,
    table_schema: str,
    table_name: str,
    queryid: int,
    before_calls: int,
    before_mean_ms: float,
    since_calls: int,
    since_mean_ms: float,
    partitioned: int,
    measured_at: str,
) -> IndexRegression:
    return IndexRegression(
        database=database,
        index=index,
        table=TableName(table_schema, table_name),
        queryid=int(queryid),
        before_calls=int(before_calls),
        before_mean_ms=float(before_mean_ms),
        since_calls=int(since_calls),
        since_mean_ms=float(since_mean_ms),
        measured_at=_datetime(measured_at),
        partitioned=bool(partitioned),
    )


def _stored_recommendation(
    database: str,
    name: str,
    table_schema: str,
    table_name: str,
    create_sql: str,
    status: str,
    first_seen: str,
    last_seen: str,
    created_at: str | None,
    estimated_ms_saved_per_day: float,
    estimated_size_bytes: int,
    statements: str,
) -> StoredRecommendation:
    return StoredRecommendation(
        database=database,
        name=name,
        table=TableName(table_schema, table_name),
        create_sql=create_sql,
        status=RecommendationStatus(status),
        first_seen=_datetime(first_seen),
        last_seen=_datetime(last_seen),
        created_at=_datetime_or_none(created_at),
        estimated_ms_saved_per_day=estimated_ms_saved_per_day,
        estimated_size_bytes=estimated_size_bytes,
        statements=tuple(StatementEffect(**s) for s in json.loads(statements)),
    )
