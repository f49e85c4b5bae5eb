"""Who holds the server's connections: one read of pg_stat_activity per collection.

The counting is done by the server (GROUP BY application, user and state), so a server
with hundreds of sessions sends a few rows, not one per session; the oldest sessions idle
in a transaction are the only per-session rows, and at most `IDLE_TRANSACTIONS` of them.
The advisor's own sessions (its application_name) and background processes (everything but
`backend_type = 'client backend'`) are left out of the groups; every client session of the
server counts against max_connections, the advisor's too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from advisor.history import ActivitySample, ConnectionGroup, IdleTransaction
from advisor.pg import MARKER, Connection

IDLE_TRANSACTIONS = 5

# `reserved_connections` exists from PostgreSQL 16 on; current_setting(..., true) is NULL
# where it does not. Ages are taken on the server, with its clock.
ACTIVITY_SQL = f"""{MARKER}
WITH sessions AS (
    SELECT pid, datname, usename, application_name, coalesce(state, 'unknown') AS state,
           wait_event_type, xact_start,
           extract(epoch FROM now() - state_change)::float8 AS state_seconds,
           extract(epoch FROM now() - xact_start)::float8 AS xact_seconds
    FROM pg_stat_activity
    WHERE backend_type = 'client backend'
), watched AS (
    SELECT * FROM sessions
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND application_name IS DISTINCT FROM %(own)s
)
SELECT
    (SELECT count(*) FROM sessions)::int,
    current_setting('max_connections')::int,
    current_setting('superuser_reserved_connections')::int
        + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0),
    (SELECT coalesce(json_agg(g), '[]') FROM (
        SELECT coalesce(application_name, '') AS application, coalesce(usename, '') AS usr,
               state, count(*) AS connections,
               count(*) FILTER (WHERE state = 'active' AND wait_event_type IS NOT NULL)
                   AS waiting,
               coalesce(max(state_seconds), 0) AS oldest
        FROM watched GROUP BY 1, 2, 3
    ) g),
    (SELECT coalesce(json_agg(t), '[]') FROM (
        SELECT pid, coalesce(application_name, '') AS application,
               coalesce(usename, '') AS usr, coalesce(state_seconds, 0) AS idle,
               coalesce(xact_seconds, 0) AS xact
        FROM watched WHERE state LIKE 'idle in transaction%%'
        ORDER BY xact_start NULLS LAST, pid LIMIT {IDLE_TRANSACTIONS}
    ) t),
    (SELECT coalesce(json_agg(w), '[]') FROM (
        SELECT wait_event_type AS kind, count(*) AS sessions
        FROM watched WHERE state = 'active' AND wait_event_type IS NOT NULL
        GROUP BY 1 ORDER BY 1
    ) w)
"""


def sample_activity(conn: Connection, database: str, own_application: str) -> ActivitySample:
    """Read the watched database's sessions as they are now (read-only, one statement)."""
    row = conn.execute(ACTIVITY_SQL, {"own": own_application}).fetchone()
    assert row is not None  # an aggregate always returns its row
    server, max_connections, reserved, groups, idle, waits = row
    return ActivitySample(
        database=database,
        taken_at=datetime.now(UTC),
        groups=tuple(_group(g) for g in groups),
        idle_in_transaction=tuple(_idle(t) for t in idle),
        waits=tuple((str(w["kind"]), int(w["sessions"])) for w in waits),
        server_connections=int(server),
        max_connections=int(max_connections),
        reserved_connections=int(reserved),
    )


def _group(row: dict[str, Any]) -> ConnectionGroup:
    return ConnectionGroup(
        application=str(row["application"]),
        user=str(row["usr"]),
        state=str(row["state"]),
        connections=int(row["connections"]),
        waiting=int(row["waiting"]),
        oldest_state_seconds=float(row["oldest"]),
    )


def _idle(row: dict[str, Any]) -> IdleTransaction:
    return IdleTransaction(
        pid=int(row["pid"]),
        application=str(row["application"]),
        user=str(row["usr"]),
        idle_seconds=float(row["idle"]),
        transaction_seconds=float(row["xact"]),
    )
