"""Connections to the monitored server: timeouts, a name, read-only, and clear errors.

Every session the advisor opens is read-only (`default_transaction_read_only`), has a
statement and a lock timeout and carries the advisor's `application_name`, so that a DBA
can see it, and so that no statement the advisor sends can change the database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

from advisor.config import Settings
from advisor.errors import (
    AdvisorError,
    ConnectError,
    ExtensionMissing,
    PermissionDenied,
    UsageError,
)

Connection = psycopg.Connection[TupleRow]

# Statements the advisor sends carry this comment, so that they can be told apart in
# pg_stat_statements and in the server log.
MARKER = "/* pg-advisor */"

# Up to the last @ before the host: a password with an unencoded @ stays hidden whole.
_PASSWORD_IN_URL = re.compile(r"(://[^:/@]*:)([^/?#]*)(@)")
_URL_AUTHORITY = re.compile(r"^postgres(?:ql)?://([^/?#]*)", re.IGNORECASE)
_PASSWORD_IN_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact(dsn: str) -> str:
    """The DSN with any password replaced by ***, fit for messages and logs."""
    text = _PASSWORD_IN_URL.sub(r"\1***\3", dsn)
    return _PASSWORD_IN_KV.sub(r"\1***", text)


def session_conninfo(dsn: str, settings: Settings, database: str | None = None) -> str:
    """The DSN with the advisor's session settings added to whatever options it had."""
    authority = _URL_AUTHORITY.match(dsn.strip())
    if authority and authority.group(1).count("@") > 1:
        # libpq would take the password's tail for the host name and print it in its
        # "could not translate host name" error.
        raise UsageError(
            f"invalid DSN {redact(dsn)!r}: the URL holds more than one '@' before the "
            "host; percent-encode an '@' in the user name or password as %40"
        )
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        raise UsageError(f"invalid DSN {redact(dsn)!r}: {first_line(error)}") from None
    options = " ".join(
        [
            str(params.get("options") or ""),
            f"-c statement_timeout={settings.statement_timeout_ms}",
            f"-c lock_timeout={settings.lock_timeout_ms}",
            "-c default_transaction_read_only=on",
            "-c idle_in_transaction_session_timeout=60000",
        ]
    ).strip()
    params["options"] = options
    params["application_name"] = settings.application_name
    params.setdefault("connect_timeout", str(settings.connect_timeout_seconds))
    if database:
        params["dbname"] = database
    return make_conninfo("", **params)


def replica_label(dsn: str) -> str:
    """`host:port` of a DSN: how a replica is named in messages, metric labels and the
    state (never its user or password). UsageError for a malformed DSN."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        raise UsageError(f"invalid replica DSN {redact(dsn)!r}: {first_line(error)}") from None
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    return f"{host}:{params.get('port') or 5432}"


def replica_dsns(settings: Settings) -> dict[str, str]:
    """The configured replicas by label, in order. UsageError when two name one server."""
    found: dict[str, str] = {}
    for dsn in settings.replicas:
        label = replica_label(dsn)
        if label in found:
            raise UsageError(f"replica {label} is listed twice in replicas")
        found[label] = dsn
    return found


def connect(dsn: str, settings: Settings, database: str | None = None) -> Connection:
    """An autocommit, read-only session on the server; UsageError for a missing or
    malformed DSN (a configuration error), else ConnectError or PermissionDenied."""
    if not dsn:
        raise UsageError("no DSN given: pass --dsn, set DATABASE_URL or dsn in the config")
    conninfo = session_conninfo(dsn, settings, database)
    try:
        conn = psycopg.connect(conninfo, autocommit=True)
    except pg_errors.InsufficientPrivilege as error:
        raise PermissionDenied(
            f"permission denied connecting to {redact(dsn)}: {first_line(error)} "
            "(the role needs LOGIN and CONNECT on the database)"
        ) from None
    except psycopg.OperationalError as error:
        message = first_line(error)
        if "permission denied" in message:
            raise PermissionDenied(
                f"cannot connect to {redact(dsn)}: {message} "
                "(GRANT CONNECT ON DATABASE ... TO the advisor's role)"
            ) from None
        raise ConnectError(f"cannot connect to {redact(dsn)}: {message}") from None
    # The advisor prepares its own statements (what-if planning); psycopg's automatic
    # server-side preparing would only add state to that session.
    conn.prepare_threshold = None
    return conn


@contextmanager
def session(dsn: str, settings: Settings, database: str | None = None) -> Iterator[Connection]:
    """connect() as a context manager that always closes the session."""
    conn = connect(dsn, settings, database)
    try:
        yield conn
    finally:
        conn.close()


@dataclass(frozen=True)
class Capabilities:
    """What the server offers the advisor."""

    server_version_num: int
    database: str
    role: str
    pg_stat_statements: bool
    hypopg: bool
    pg_qualstats: bool

    @property
    def major(self) -> int:
        return self.server_version_num // 10_000

    @property
    def generic_plan_explain(self) -> bool:
        """PostgreSQL 16 added EXPLAIN (GENERIC_PLAN)."""
        return self.server_version_num >= 160_000


_CAPABILITIES_SQL = f"""{MARKER}
SELECT current_setting('server_version_num')::int,
       current_database(),
       current_user,
       coalesce(array_agg(extname::text) FILTER (WHERE extname IS NOT NULL), '{{}}')
FROM (SELECT 1) AS one
LEFT JOIN pg_extension ON extname IN ('pg_stat_statements', 'hypopg', 'pg_qualstats')
"""


def capabilities(conn: Connection) -> Capabilities:
    """Server version and which of the advisor's extensions are installed here."""
    row = conn.execute(_CAPABILITIES_SQL).fetchone()
    assert row is not None
    version, database, role, extensions = row
    return Capabilities(
        server_version_num=int(version),
        database=str(database),
        role=str(role),
        pg_stat_statements="pg_stat_statements" in extensions,
        hypopg="hypopg" in extensions,
        pg_qualstats="pg_qualstats" in extensions,
    )


def require_pg_stat_statements(conn: Connection, caps: Capabilities) -> None:
    """Raise ExtensionMissing unless pg_stat_statements is installed here and preloaded."""
    if not caps.pg_stat_statements:
        raise pg_stat_statements_missing(caps)
    try:
        conn.execute(f"{MARKER} SELECT 1 FROM pg_stat_statements(false) LIMIT 1")
    except pg_errors.ObjectNotInPrerequisiteState:
        raise ExtensionMissing(
            "pg_stat_statements is installed but not loaded: add 'pg_stat_statements' to "
            "shared_preload_libraries in postgresql.conf and restart the server"
        ) from None
    except pg_errors.InsufficientPrivilege as error:
        raise PermissionDenied(
            f"cannot read pg_stat_statements: {first_line(error)} "
            f"(GRANT pg_read_all_stats TO {caps.role};)"
        ) from None


def pg_stat_statements_missing(caps: Capabilities) -> ExtensionMissing:
    """The error of a database without pg_stat_statements, saying how to install it."""
    return ExtensionMissing(
        f"pg_stat_statements is not installed in database {caps.database!r}: add "
        "'pg_stat_statements' to shared_preload_libraries in postgresql.conf, restart the "
        "server, then run CREATE EXTENSION pg_stat_statements; as a superuser"
    )


def require_hypopg(conn: Connection, caps: Capabilities) -> None:
    """Raise ExtensionMissing, saying how to install it, unless HypoPG is usable here."""
    if caps.hypopg:
        return
    row = conn.execute(
        f"{MARKER} SELECT count(*) FROM pg_available_extensions WHERE name = 'hypopg'"
    ).fetchone()
    available = bool(row and row[0])
    if available:
        how = f"run CREATE EXTENSION hypopg; in database {caps.database!r} as a superuser"
    else:
        how = (
            f"install the package postgresql-{caps.major}-hypopg on the database server "
            f"(Debian/Ubuntu), then run CREATE EXTENSION hypopg; in database {caps.database!r}"
        )
    raise ExtensionMissing(f"HypoPG is not installed: {how}")


def translate(error: psycopg.Error, doing: str) -> AdvisorError:
    """A psycopg error met while `doing` something, as the advisor's error to show."""
    if isinstance(error, pg_errors.InsufficientPrivilege):
        return PermissionDenied(f"permission denied while {doing}: {first_line(error)}")
    if isinstance(error, psycopg.OperationalError):
        return ConnectError(f"lost the connection while {doing}: {first_line(error)}")
    return AdvisorError(f"database error while {doing}: {first_line(error)}")


def first_line(error: BaseException) -> str:
    """The first line of an error's message (PostgreSQL adds DETAIL and HINT lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
