"""The state store's SQLite schema (its migrations) and the statements it runs, apart
from the Store that runs them (advisor/store.py)."""

from __future__ import annotations

# ------------------------------------------------------------------------------ schema

# Each migration is a list of statements run in one transaction; PRAGMA user_version counts
# the migrations applied. Append new ones; never edit an applied one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE snapshot (
            database TEXT PRIMARY KEY,
            taken_at TEXT NOT NULL,
            server_started_at TEXT NOT NULL,
            statements_reset_at TEXT,
            statements_evicted INTEGER,
            counters TEXT NOT NULL
        )""",
        """CREATE TABLE statement_text (
            database TEXT NOT NULL,
            queryid INTEGER NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (database, queryid)
        ) WITHOUT ROWID""",
        """CREATE TABLE delta_bucket (
            id INTEGER PRIMARY KEY,
            database TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            reset INTEGER NOT NULL,
            statements_evicted INTEGER NOT NULL,
            counters TEXT NOT NULL
        )""",
        "CREATE INDEX delta_bucket_by_end ON delta_bucket (database, ended_at)",
        """CREATE TABLE recommendation (
            database TEXT NOT NULL,
            name TEXT NOT NULL,
            table_schema TEXT NOT NULL,
            table_name TEXT NOT NULL,
            create_sql TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('open', 'gone', 'created')),
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            created_at TEXT,
            estimated_ms_saved_per_day REAL NOT NULL,
            estimated_size_bytes INTEGER NOT NULL,
            statements TEXT NOT NULL,
            PRIMARY KEY (database, name)
        )""",
        """CREATE TABLE realized_benefit (
            database TEXT NOT NULL,
            name TEXT NOT NULL,
            before_mean_ms REAL NOT NULL,
            after_mean_ms REAL NOT NULL,
            statements INTEGER NOT NULL,
            measured_at TEXT NOT NULL,
            PRIMARY KEY (database, name)
        )""",
        """CREATE TABLE index_seen (
            database TEXT NOT NULL,
            table_schema TEXT NOT NULL,
            table_name TEXT NOT NULL,
            index_name TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (database, table_schema, table_name, index_name)
        ) WITHOUT ROWID""",
    ),
    (
        # What each dated report said, for the next report to compare with (the report's
        # history; JSON files beside the reports held it before).
        """CREATE TABLE report_history (
            database TEXT NOT NULL,
            day TEXT NOT NULL,
            document TEXT NOT NULL,
            PRIMARY KEY (database, day)
        ) WITHOUT ROWID""",
    ),
    (
        # Snapshots and deltas per (database, replica): '' is the primary, a replica is its
        # host:port (index counters only; statistics are per server).
        """CREATE TABLE snapshot_by_server (
            database TEXT NOT NULL,
            replica TEXT NOT NULL DEFAULT '',
            taken_at TEXT NOT NULL,
            server_started_at TEXT NOT NULL,
            statements_reset_at TEXT,
            statements_evicted INTEGER,
            counters TEXT NOT NULL,
            PRIMARY KEY (database, replica)
        )""",
        """INSERT INTO snapshot_by_server (database, replica, taken_at, server_started_at,
            statements_reset_at, statements_evicted, counters)
        SELECT database, '', taken_at, server_started_at, statements_reset_at,
            statements_evicted, counters FROM snapshot""",
        "DROP TABLE snapshot",
        "ALTER TABLE snapshot_by_server RENAME TO snapshot",
        "ALTER TABLE delta_bucket ADD COLUMN replica TEXT NOT NULL DEFAULT ''",
        "DROP INDEX delta_bucket_by_end",
        "CREATE INDEX delta_bucket_by_end ON delta_bucket (database, replica, ended_at)",
    ),
    (
        # Statements slower since a created index appeared (the regression guard's latest
        # measure, replaced at each analysis).
        """CREATE TABLE index_regression (
            database TEXT NOT NULL,
            index_name TEXT NOT NULL,
            table_schema TEXT NOT NULL,
            table_name TEXT NOT NULL,
            queryid INTEGER NOT NULL,
            before_calls INTEGER NOT NULL,
            before_mean_ms REAL NOT NULL,
            since_calls INTEGER NOT NULL,
            since_mean_ms REAL NOT NULL,
            partitioned INTEGER NOT NULL,
            measured_at TEXT NOT NULL,
            PRIMARY KEY (database, index_name, queryid)
        )""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# A few problems are enough to tell the user; a damaged file can list thousands.
QUICK_CHECK_SQL = "PRAGMA quick_check(3)"
JOURNAL_MODE_SQL = "PRAGMA journal_mode = WAL"
# FULL: a commit is on disk before the call returns; writes are a few per minute.
SYNCHRONOUS_SQL = "PRAGMA synchronous = FULL"
# Deleted rows (a forgotten text) are overwritten with zeros, not left in free pages.
SECURE_DELETE_SQL = "PRAGMA secure_delete = ON"
TRUNCATE_WAL_SQL = "PRAGMA wal_checkpoint(TRUNCATE)"
USER_VERSION_SQL = "PRAGMA user_version"
# PRAGMA takes no parameters; the value is this module's own constant.
SET_USER_VERSION_SQL = f"PRAGMA user_version = {SCHEMA_VERSION}"
BEGIN_SQL = "BEGIN IMMEDIATE"

# ----------------------------------------------------------------------------- queries

SAVE_SNAPSHOT_SQL = """
INSERT OR REPLACE INTO snapshot (database, taken_at, server_started_at, statements_reset_at,
    statements_evicted, counters, replica)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
LAST_SNAPSHOT_SQL = """
SELECT taken_at, server_started_at, statements_reset_at, statements_evicted, counters
FROM snapshot WHERE database = ? AND replica = ?
"""

ALL_TEXTS_SQL = "SELECT database, queryid, text FROM statement_text"
FORGET_TEXT_SQL = "DELETE FROM statement_text WHERE database = ? AND queryid = ?"
KNOWN_QUERYIDS_SQL = "SELECT queryid FROM statement_text WHERE database = ?"
SAVE_TEXT_SQL = "INSERT OR REPLACE INTO statement_text (database, queryid, text) VALUES (?, ?, ?)"
# The ids travel as one JSON array, so the statement stays constant whatever their number.
TEXTS_SQL = """
SELECT queryid, text FROM statement_text
WHERE database = ? AND queryid IN (SELECT value FROM json_each(?))
"""

ADD_DELTA_SQL = """
INSERT INTO delta_bucket
    (database, started_at, ended_at, reset, statements_evicted, counters, replica)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
WINDOW_BATCH_BUCKETS = 64
WINDOW_SQL = """
SELECT started_at, ended_at, reset, statements_evicted, counters FROM delta_bucket
WHERE database = :database AND replica = :replica AND ended_at > :since
  AND (:until IS NULL OR started_at < :until)
ORDER BY ended_at
"""
# Buckets wholly inside [start, end): none that began before `start` or reaches `end`.
WITHIN_SQL = """
SELECT started_at, ended_at, reset, statements_evicted, counters FROM delta_bucket
WHERE database = :database AND replica = :replica AND started_at >= :start
  AND (:end IS NULL OR ended_at < :end)
ORDER BY ended_at
"""
DELETE_EXPIRED_BUCKETS_SQL = "DELETE FROM delta_bucket WHERE ended_at < ?"
AGED_BUCKETS_SQL = """
SELECT id, database, replica, started_at, ended_at FROM delta_bucket WHERE ended_at <= ?
ORDER BY id
"""
BUCKETS_BY_ID_SQL = """
SELECT database, started_at, ended_at, reset, statements_evicted, counters, replica
FROM delta_bucket WHERE id IN (SELECT value FROM json_each(?))
"""
DELETE_BUCKETS_BY_ID_SQL = "DELETE FROM delta_bucket WHERE id IN (SELECT value FROM json_each(?))"

UPSERT_RECOMMENDATION_SQL = """
INSERT INTO recommendation (
    database, name, table_schema, table_name, create_sql, status, first_seen, last_seen,
    created_at, estimated_ms_saved_per_day, estimated_size_bytes, statements
) VALUES (
    :database, :name, :table_schema, :table_name, :create_sql, 'open', :now, :now,
    NULL, :estimated_ms_saved_per_day, :estimated_size_bytes, :statements
)
ON CONFLICT (database, name) DO UPDATE SET
    table_schema = excluded.table_schema,
    table_name = excluded.table_name,
    create_sql = excluded.create_sql,
    status = 'open',
    last_seen = excluded.last_seen,
    estimated_ms_saved_per_day = excluded.estimated_ms_saved_per_day,
    estimated_size_bytes = excluded.estimated_size_bytes,
    statements = excluded.statements
"""
MARK_GONE_SQL = """
UPDATE recommendation SET status = 'gone'
WHERE database = ? AND status = 'open' AND name NOT IN (SELECT value FROM json_each(?))
"""
MARK_CREATED_SQL = """
UPDATE recommendation SET status = 'created', created_at = ? WHERE database = ? AND name = ?
"""
RECOMMENDATIONS_SQL = """
SELECT database, name, table_schema, table_name, create_sql, status, first_seen, last_seen,
       created_at, estimated_ms_saved_per_day, estimated_size_bytes, statements
FROM recommendation
WHERE database = :database AND (:status IS NULL OR status = :status)
ORDER BY estimated_ms_saved_per_day DESC, name
"""

SAVE_REALIZED_SQL = """
INSERT OR REPLACE INTO realized_benefit
    (database, name, before_mean_ms, after_mean_ms, statements, measured_at)
VALUES (?, ?, ?, ?, ?, ?)
"""
REALIZED_SQL = """
SELECT database, name, before_mean_ms, after_mean_ms, statements, measured_at
FROM realized_benefit WHERE database = ? ORDER BY name
"""

CLEAR_REGRESSIONS_SQL = "DELETE FROM index_regression WHERE database = ?"
SAVE_REGRESSION_SQL = """
INSERT INTO index_regression (
    database, index_name, table_schema, table_name, queryid, before_calls, before_mean_ms,
    since_calls, since_mean_ms, partitioned, measured_at
) VALUES (
    :database, :index, :table_schema, :table_name, :queryid, :before_calls, :before_mean_ms,
    :since_calls, :since_mean_ms, :partitioned, :measured_at
)
"""
REGRESSIONS_SQL = """
SELECT database, index_name, table_schema, table_name, queryid, before_calls, before_mean_ms,
       since_calls, since_mean_ms, partitioned, measured_at
FROM index_regression WHERE database = ?
ORDER BY (since_mean_ms - before_mean_ms) * since_calls DESC, index_name, queryid
"""

SAVE_REPORT_SQL = """
INSERT OR REPLACE INTO report_history (database, day, document) VALUES (?, ?, ?)
"""
PREVIOUS_REPORTS_SQL = """
SELECT document FROM report_history WHERE database = ? AND day < ? ORDER BY day DESC
"""
DELETE_EXPIRED_REPORTS_SQL = "DELETE FROM report_history WHERE day < ?"

OBSERVE_INDEX_SQL = """
INSERT OR IGNORE INTO index_seen (database, table_schema, table_name, index_name, first_seen)
VALUES (?, ?, ?, ?, ?)
"""
INDEX_FIRST_SEEN_SQL = """
SELECT table_schema, table_name, index_name, first_seen FROM index_seen WHERE database = ?
"""


# ------------------------------------------------------------------------------- store
