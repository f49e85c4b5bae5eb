"""Reading what is known about the values statements run with: pg_stats, pg_qualstats and
the parameters PostgreSQL's server log recorded.

Every reader is read-only and never raises for a source that is missing, not loaded or not
readable by the advisor's role: it returns what it could read and notes (sentences a user can
act on) saying why the rest is missing.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import structlog
from psycopg import errors as pg_errors
from psycopg import sql

from advisor.model import (
    ColumnStatistics,
    LoggedParameters,
    QualConstant,
    TableName,
    ValueKnowledge,
    quote_ident,
)
from advisor.pg import MARKER, Capabilities, Connection, first_line

log = structlog.get_logger(__name__)

# pg_qualstats keeps one row per distinct constant; a statement run with ids as constants
# yields thousands of them. The most frequent ones are what partial indexes are made of.
MAX_CONSTANTS_PER_QUAL = 50
# The server log is read newest first, up to this many bytes.
MAX_LOG_BYTES = 64 * 1024 * 1024
# Distinct (statement text, values) pairs kept from the log; the rest are counted no more.
MAX_LOGGED_PARAMETER_SETS = 100_000

_GENERIC = "costed with generic plans"

# --------------------------------------------------------------------------- pg_stats

# Stats of a partitioned table are in its `inherited` row (it has no rows of its own); a
# plain inheritance parent's own rows are what a scan of it alone reads.
COLUMN_STATISTICS_SQL = f"""{MARKER}
SELECT w.schemaname, w.tablename, w.attname,
       c.oid IS NOT NULL, c.relkind::text, c.reltuples::float8,
       a.attnum IS NOT NULL,
       CASE WHEN a.attnum IS NOT NULL THEN has_column_privilege(c.oid, a.attnum, 'SELECT') END,
       coalesce(c.relrowsecurity AND row_security_active(c.oid), false),
       format_type(a.atttypid, a.atttypmod),
       s.attname IS NOT NULL,
       s.null_frac::float8, s.n_distinct::float8,
       s.most_common_vals::text::text[], s.most_common_freqs::float8[],
       s.histogram_bounds::text::text[], s.correlation::float8,
       current_user
FROM unnest(%s::text[], %s::text[], %s::text[]) AS w(schemaname, tablename, attname)
LEFT JOIN pg_namespace n ON n.nspname = w.schemaname
LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.tablename
LEFT JOIN pg_attribute a
       ON a.attrelid = c.oid AND a.attname = w.attname AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_stats s
       ON s.schemaname = w.schemaname AND s.tablename = w.tablename AND s.attname = w.attname
      AND s.inherited = (c.relkind = 'p')
"""


@dataclass(frozen=True)
class _Missing:
    """Why pg_stats had no row for one requested column (the first cause that applies)."""

    column: str
    cause: str  # one of the keys of _CAUSE_RANK


# Causes in the order a note names them: the first that applies to a table wins.
_CAUSE_RANK = {
    "no table": 0,
    "no privilege": 1,
    "row security": 2,
    "partitioned": 3,
    "never analyzed": 4,
    "empty": 5,
    "no column": 6,
    "no stats": 7,
}


def read_column_statistics(
    conn: Connection, columns: Iterable[tuple[TableName, str]]
) -> tuple[dict[tuple[TableName, str], ColumnStatistics], list[str]]:
    """pg_stats of the given columns, read with one query, and one note per table whose
    columns have no readable statistics (no SELECT right, never analyzed, ...)."""
    wanted = list(dict.fromkeys(columns))
    if not wanted:
        return {}, []
    rows = conn.execute(
        COLUMN_STATISTICS_SQL,
        (
            [table.schema for table, _ in wanted],
            [table.name for table, _ in wanted],
            [column for _, column in wanted],
        ),
    ).fetchall()
    found: dict[tuple[TableName, str], ColumnStatistics] = {}
    missing: dict[TableName, list[_Missing]] = defaultdict(list)
    requested: Counter[TableName] = Counter(table for table, _ in wanted)
    role = ""
    for row in rows:
        table, column = TableName(row[0], row[1]), str(row[2])
        role = str(row[17])
        if row[10]:
            found[(table, column)] = _statistics(table, column, row)
        else:
            missing[table].append(_Missing(column, _missing_cause(row)))
    notes = [
        _statistics_note(table, causes, role, every_column=len(causes) == requested[table])
        for table, causes in missing.items()
    ]
    return found, notes


def _statistics(table: TableName, column: str, row: tuple[Any, ...]) -> ColumnStatistics:
    values, freqs, bounds = row[13] or [], row[14] or [], row[15] or []
    return ColumnStatistics(
        table=table,
        column=column,
        type_name=str(row[9]),
        null_fraction=float(row[11] or 0.0),
        n_distinct=float(row[12] or 0.0),
        most_common=tuple(
            (str(value), float(freq)) for value, freq in zip(values, freqs, strict=False)
        ),
        histogram=tuple(str(bound) for bound in bounds),
        correlation=None if row[16] is None else float(row[16]),
    )


def _missing_cause(row: tuple[Any, ...]) -> str:
    table_exists, relkind, reltuples, column_exists, can_read, row_security = row[3:9]
    if not table_exists:
        return "no table"
    if column_exists and not can_read:
        return "no privilege"
    if row_security:
        return "row security"
    if relkind == "p":
        return "partitioned"
    if reltuples is not None and reltuples < 0:
        return "never analyzed"
    if reltuples == 0:
        return "empty"
    if not column_exists:
        return "no column"
    return "no stats"


def _statistics_note(
    table: TableName, missing: list[_Missing], role: str, *, every_column: bool
) -> str:
    cause = min((m.cause for m in missing), key=_CAUSE_RANK.__getitem__)
    names = ", ".join(quote_ident(m.column) for m in missing if m.cause == cause)
    who = quote_ident(role)
    if cause == "no table":
        return f"{table} does not exist in this database: no statistics for it"
    if cause == "no privilege":
        which = "" if every_column else f" (columns {names})"
        return (
            f"role {who} cannot read pg_stats of {table}{which}: GRANT SELECT ON {table} "
            f"TO {who} (or pg_read_all_data); {_GENERIC}"
        )
    if cause == "row security":
        return (
            f"row-level security on {table} hides its pg_stats from role {who}: "
            f"ALTER ROLE {who} BYPASSRLS, or read as the table's owner; {_GENERIC}"
        )
    if cause == "partitioned":
        return (
            f"partitioned table {table} has no statistics of its own (autovacuum never "
            f"analyzes partitioned tables): run ANALYZE {table}; {_GENERIC}, except "
            "its partition keys, costed with a value from its partitions' statistics"
        )
    if cause == "never analyzed":
        return f"{table} has never been analyzed: run ANALYZE {table}; {_GENERIC}"
    if cause == "empty":
        return (
            f"{table} had no rows when it was last analyzed (or was never analyzed): "
            f"run ANALYZE {table}; {_GENERIC}"
        )
    if cause == "no column":
        return f"{table} has no column {names}: no statistics for it"
    return (
        f"no pg_stats for {names} of {table} (added since the last ANALYZE, or statistics "
        f"turned off with SET STATISTICS 0): run ANALYZE {table}; {_GENERIC}"
    )


# ------------------------------------------------------------------------ pg_qualstats

QUALSTATS_SCHEMA_SQL = f"""{MARKER}
SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_qualstats'
"""

# What pg_qualstats shows instead of the constants of other roles' statements to a role
# without pg_read_all_stats.
HIDDEN_CONSTANT = "<insufficient privilege>"

# Rows differ by user and by the other quals' constants (uniquequalid): sum them per
# constant. Only `column op constant` quals carry a value an index can be built on.
_QUAL_CONSTANTS_SQL = (
    MARKER
    + """
WITH quals AS (
    SELECT qs.queryid, qs.lrelid, qs.lattnum, qs.opno, qs.constant_position,
           qs.constvalue::text AS constvalue,
           sum(qs.occurences)::bigint AS occurrences,
           sum(qs.execution_count)::bigint AS rows_evaluated,
           sum(qs.nbfiltered)::bigint AS rows_filtered
    FROM {view} AS qs
    WHERE qs.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND qs.queryid = ANY(%(queryids)s::bigint[])
      AND qs.lrelid IS NOT NULL AND qs.lattnum IS NOT NULL AND qs.rrelid IS NULL
      AND qs.constvalue IS NOT NULL AND qs.constvalue <> %(hidden)s
    GROUP BY qs.queryid, qs.lrelid, qs.lattnum, qs.opno, qs.constant_position, qs.constvalue
), ranked AS (
    SELECT q.*, row_number() OVER (
               PARTITION BY q.queryid, q.lrelid, q.lattnum, q.opno
               ORDER BY q.occurrences DESC, q.constvalue) AS rank
    FROM quals AS q
)
SELECT r.queryid, n.nspname, c.relname, a.attname, o.oprname, r.constant_position,
       r.constvalue, r.occurrences, r.rows_evaluated, r.rows_filtered
FROM ranked AS r
JOIN pg_class c ON c.oid = r.lrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = r.lrelid AND a.attnum = r.lattnum
JOIN pg_operator o ON o.oid = r.opno
WHERE r.rank <= %(per_qual)s
ORDER BY r.queryid, n.nspname, c.relname, a.attname, o.oprname, r.occurrences DESC,
         r.constvalue
"""
)

# The quals of these statements: all, those whose constant is hidden from this role, and
# those with a constant (none: sampled with pg_qualstats.track_constants = off).
_QUAL_COUNTS_SQL = (
    MARKER
    + """
SELECT count(*), count(*) FILTER (WHERE qs.constvalue = %(hidden)s), count(qs.constvalue)
FROM {view} AS qs
WHERE qs.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND qs.queryid = ANY(%(queryids)s::bigint[]) AND qs.lrelid IS NOT NULL AND qs.rrelid IS NULL
"""
)

# pg_qualstats defines pg_qualstats.resolve_oids only when it is preloaded; loaded on
# demand (by the first call in a session) it records that session's statements only.
QUALSTATS_SETTINGS_SQL = f"""{MARKER}
SELECT current_setting('pg_qualstats.resolve_oids', true) IS NOT NULL,
       current_setting('pg_qualstats.sample_rate', true),
       current_setting('pg_qualstats.track_constants', true)
"""

_ENABLE_QUALSTATS = (
    "add 'pg_qualstats' to shared_preload_libraries (after pg_stat_statements) in "
    "postgresql.conf, set pg_qualstats.track_constants = on and pg_qualstats.sample_rate "
    "(the share of statements sampled, e.g. 0.1) and restart the server"
)


@dataclass(frozen=True)
class _QualstatsState:
    """What pg_qualstats holds for the statements asked about, beyond their constants."""

    preloaded: bool
    sample_rate: str | None
    track_constants: str | None
    quals: int = 0
    hidden: int = 0
    with_constants: int = 0


def read_qual_constants(
    conn: Connection, caps: Capabilities, queryids: Iterable[int]
) -> tuple[tuple[QualConstant, ...], list[str]]:
    """The constants pg_qualstats saw the given statements compare columns with (the
    MAX_CONSTANTS_PER_QUAL most frequent per statement, column and operator), and notes
    when pg_qualstats is missing, not loaded, not readable or keeps no constants."""
    if not caps.pg_qualstats:
        return (), [
            f"pg_qualstats is not installed in database {caps.database!r}, so the values "
            f"statements run with are not observed: install the package "
            f"postgresql-{caps.major}-pg-qualstats on the server, {_ENABLE_QUALSTATS}, then "
            "run CREATE EXTENSION pg_qualstats; as a superuser"
        ]
    wanted = sorted(set(queryids))
    if not wanted:
        return (), []
    view = sql.Identifier(_qualstats_schema(conn), "pg_qualstats")
    params = {"queryids": wanted, "hidden": HIDDEN_CONSTANT, "per_qual": MAX_CONSTANTS_PER_QUAL}
    warnings: list[str] = []

    def keep_warning(diagnostic: psycopg.errors.Diagnostic) -> None:
        warnings.append(diagnostic.message_primary or "")

    conn.add_notice_handler(keep_warning)
    try:
        rows = conn.execute(sql.SQL(_QUAL_CONSTANTS_SQL).format(view=view), params).fetchall()
        state = _qualstats_state(conn, view, params)
    except psycopg.DatabaseError as error:
        if _connection_lost(conn, error):
            raise
        log.warning("values.qualstats_unreadable", error=first_line(error), role=caps.role)
        return (), [_qualstats_error_note(error, caps)]
    finally:
        conn.remove_notice_handler(keep_warning)
    if not state.preloaded or any("shared_preload_libraries" in w for w in warnings):
        return (), [f"pg_qualstats is installed but not loaded: {_ENABLE_QUALSTATS}"]
    constants = tuple(_constant(row) for row in rows)
    return constants, _qualstats_notes(state, caps, len(wanted), found=bool(constants))


def _qualstats_schema(conn: Connection) -> str:
    row = conn.execute(QUALSTATS_SCHEMA_SQL).fetchone()
    return str(row[0]) if row else "public"


def _qualstats_state(
    conn: Connection, view: sql.Identifier, params: dict[str, Any]
) -> _QualstatsState:
    counts = conn.execute(sql.SQL(_QUAL_COUNTS_SQL).format(view=view), params).fetchone()
    settings = conn.execute(QUALSTATS_SETTINGS_SQL).fetchone()
    assert counts is not None and settings is not None
    return _QualstatsState(
        preloaded=bool(settings[0]),
        sample_rate=settings[1],
        track_constants=settings[2],
        quals=int(counts[0]),
        hidden=int(counts[1]),
        with_constants=int(counts[2]),
    )


def _constant(row: tuple[Any, ...]) -> QualConstant:
    queryid, schema, table, column, symbol, position, literal, occurrences, evaluated = row[:9]
    return QualConstant(
        queryid=int(queryid),
        table=TableName(str(schema), str(table)),
        column=str(column),
        symbol=str(symbol),
        position=int(position) if position is not None else -1,
        literal=str(literal),
        occurrences=int(occurrences),
        rows_evaluated=int(evaluated or 0),
        rows_filtered=int(row[9] or 0),
    )


def _connection_lost(conn: Connection, error: psycopg.DatabaseError) -> bool:
    """A lost connection or a shutting-down server is no fault of pg_qualstats: the
    caller's error handling must see it."""
    state = error.sqlstate or ""
    return conn.closed or not state or state.startswith(("08", "57P"))


def _qualstats_error_note(error: psycopg.DatabaseError, caps: Capabilities) -> str:
    if isinstance(error, pg_errors.InsufficientPrivilege):
        who = quote_ident(caps.role)
        return (
            f"role {who} cannot read pg_qualstats ({first_line(error)}): GRANT SELECT ON "
            f"pg_qualstats TO {who}; GRANT EXECUTE ON FUNCTION pg_qualstats() TO {who}; "
            f"{_GENERIC}"
        )
    if isinstance(error, pg_errors.ObjectNotInPrerequisiteState):
        return (
            f"pg_qualstats is installed but not loaded ({first_line(error)}): {_ENABLE_QUALSTATS}"
        )
    return f"cannot read pg_qualstats: {first_line(error)}; {_GENERIC}"


def _qualstats_notes(
    state: _QualstatsState, caps: Capabilities, statements: int, *, found: bool
) -> list[str]:
    notes = []
    if state.hidden:
        who = quote_ident(caps.role)
        notes.append(
            f"pg_qualstats hides the constants of other roles' statements from role {who}: "
            f"GRANT pg_read_all_stats TO {who}"
        )
    if found or state.hidden:
        return notes
    if state.quals and not state.with_constants:
        notes.append(
            "pg_qualstats recorded the quals of these statements without their constants "
            f"(pg_qualstats.track_constants = {state.track_constants or 'off'} here): set "
            "pg_qualstats.track_constants = on in postgresql.conf and reload"
        )
    else:
        notes.append(
            f"pg_qualstats has recorded no column-to-constant comparisons of these "
            f"{statements} statements yet (pg_qualstats.sample_rate = {state.sample_rate}; "
            "its data is lost on a restart): let the application run longer or raise the "
            "sample rate"
        )
    return notes


# -------------------------------------------------------------------------- server log

# The message follows the severity, whatever log_line_prefix put before it.
_SEVERITY = re.compile(
    r"\b(LOG|DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION|ERROR|WARNING|NOTICE|INFO|"
    r"DEBUG[1-5]?|FATAL|PANIC):  "
)
# `bind` precedes the `execute` of the same call, and `execute fetch from` continues a
# portal already counted: only `execute <statement>[/<portal>]: ` counts a call.
_EXECUTE = re.compile(r"(?:duration: \S+ ms  )?execute \S+?: (.*)", re.DOTALL)
_PARAMETERS = "parameters: "
_PARAMETER_NAME = re.compile(r"\$(\d+) = ")
_ROTATED_LOG = re.compile(r"\.log\.\d+$")
_SNIFF_BYTES = 8192


@dataclass
class _LogTally:
    """Parameter sets counted so far, bounded by `limit` distinct ones."""

    limit: int
    counts: Counter[tuple[str, tuple[str | None, ...]]]
    dropped: int = 0

    def add(self, text: str, values: tuple[str | None, ...]) -> None:
        key = (text, values)
        if key in self.counts or len(self.counts) < self.limit:
            self.counts[key] += 1
        else:
            self.dropped += 1


def read_parameter_log(
    directory: Path,
    max_bytes: int = MAX_LOG_BYTES,
    *,
    max_distinct: int = MAX_LOGGED_PARAMETER_SETS,
) -> tuple[tuple[LoggedParameters, ...], list[str]]:
    """The parameter values PostgreSQL's stderr log files in `directory` recorded with
    each statement (`execute ...` then `DETAIL:  parameters: ...`), counted per distinct
    (text, values), most frequent first. Reads the newest files first, at most `max_bytes`;
    a missing or unreadable directory or file gives a note, never an exception."""
    try:
        files = log_files(directory)
    except OSError as error:
        log.warning("values.log_dir_unreadable", directory=str(directory), error=str(error))
        return (), [
            f"cannot read the server log directory {directory} ({error.strerror or error}): "
            "set parameter_log_dir to the directory of PostgreSQL's stderr log files"
        ]
    if not files:
        return (), [f"no PostgreSQL log files (*.log) in {directory}"]
    notes: list[str] = []
    tally = _LogTally(limit=max_distinct, counts=Counter())
    budget = max_bytes
    for path, size in files:
        if budget <= 0:
            break
        start = max(0, size - budget)
        try:
            _tally_log(log_lines(path, start, size), tally)
        except OSError as error:
            log.warning("values.log_unreadable", path=str(path), error=str(error))
            notes.append(f"cannot read the server log {path}: {error.strerror or error}")
        budget -= size - start
    if tally.dropped:
        notes.append(
            f"the server logs hold more than {max_distinct:,} distinct statement parameter "
            f"sets: {tally.dropped:,} logged calls with further ones were not counted"
        )
    if not tally.counts and not notes:
        notes.append(
            f"no statement parameters in the server logs in {directory}: set "
            "log_min_duration_statement (0, or a threshold in ms) or log_statement = 'all', "
            "with log_parameter_max_length -1 or above 0, log_destination = 'stderr' and "
            "lc_messages = 'C'"
        )
    logged = sorted(
        (LoggedParameters(text, values, count) for (text, values), count in tally.counts.items()),
        key=lambda entry: -entry.count,
    )
    return tuple(logged), notes


def log_files(directory: Path) -> list[tuple[Path, int]]:
    """The directory's log files with their sizes, newest first."""
    candidates = []
    for path in directory.iterdir():
        if path.name.startswith(".") or not _is_log_name(path):
            continue
        try:
            status = path.stat()
        except OSError:
            continue
        if path.is_file() and (path.suffix or _looks_like_log(path)):
            candidates.append((status.st_mtime, path, status.st_size))
    candidates.sort(key=lambda entry: entry[0], reverse=True)
    return [(path, size) for _, path, size in candidates]


def _is_log_name(path: Path) -> bool:
    return path.suffix == ".log" or path.suffix == "" or bool(_ROTATED_LOG.search(path.name))


def _looks_like_log(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    if b"\0" in head:
        return False
    return bool(_SEVERITY.search(head.decode("utf-8", errors="replace")))


def log_lines(path: Path, start: int, end: int) -> Iterator[str]:
    """The lines of `path` between the byte offsets, without the partial first line when
    reading starts inside the file."""
    with path.open("rb") as handle:
        position = start
        handle.seek(max(0, start - 1))
        if start and handle.read(1) != b"\n":
            position += len(handle.readline())
        while position < end:
            raw = handle.readline()
            if not raw:
                return
            position += len(raw)
            yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


# A statement the server ran, as log_statement or log_min_duration_statement log it.
_STATEMENT = re.compile(r"(?:duration: \S+ ms  )?(?:statement|execute \S+?): (.*)", re.DOTALL)


def read_logged_statements(path: Path, max_bytes: int = MAX_LOG_BYTES) -> list[str]:
    """The distinct statements a PostgreSQL stderr log file recorded (`statement: ...` and
    `execute <name>: ...` lines, with their continuation lines), in the order first seen;
    at most the last `max_bytes` of the file are read. Raises OSError as reading does."""
    size = path.stat().st_size
    seen: dict[str, None] = {}
    for severity, message in _log_messages(log_lines(path, max(0, size - max_bytes), size)):
        if severity != "LOG":
            continue
        match = _STATEMENT.match(message)
        if match and match.group(1).strip():
            seen.setdefault(match.group(1).strip(), None)
    return list(seen)


def _tally_log(lines: Iterable[str], tally: _LogTally) -> None:
    statement: str | None = None  # the text of an `execute` message just read
    for severity, message in _log_messages(lines):
        if severity == "DETAIL" and statement is not None and message.startswith(_PARAMETERS):
            values = _parse_parameters(message[len(_PARAMETERS) :])
            if values is not None:
                tally.add(statement, values)
        statement = None
        if severity == "LOG":
            match = _EXECUTE.match(message)
            if match:
                statement = match.group(1).rstrip()


def _log_messages(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(severity, message) of each log entry, its further lines (which start with a TAB)
    joined with newlines. A line with no severity gives ("", ""), so that no entry pairs
    with one before it."""
    severity: str | None = None
    parts: list[str] = []
    for line in lines:
        if line.startswith("\t"):
            if severity is not None:
                parts.append(line[1:])
            continue
        if severity is not None:
            yield severity, "\n".join(parts)
        match = _SEVERITY.search(line)
        if match is None:
            severity, parts = None, []
            yield "", ""
        else:
            severity, parts = match.group(1), [line[match.end() :]]
    if severity is not None:
        yield severity, "\n".join(parts)


def _parse_parameters(text: str) -> tuple[str | None, ...] | None:
    """`$1 = 'a', $2 = NULL, $3 = 'it''s'` as ('a', None, "it's"); None if malformed."""
    values: dict[int, str | None] = {}
    position = 0
    while True:
        name = _PARAMETER_NAME.match(text, position)
        if name is None:
            return None
        position = name.end()
        value: str | None
        if text.startswith("NULL", position):
            value, position = None, position + len("NULL")
        elif text.startswith("'", position):
            parsed = _quoted(text, position)
            if parsed is None:
                return None
            value, position = parsed
        else:
            return None
        values[int(name.group(1))] = value
        if position == len(text):
            break
        if not text.startswith(", ", position):
            return None
        position += len(", ")
    if sorted(values) != list(range(1, len(values) + 1)):
        return None
    return tuple(values[number] for number in range(1, len(values) + 1))


def _quoted(text: str, start: int) -> tuple[str, int] | None:
    """The SQL string literal starting at `start` (its quotes doubled inside) and the
    position after it."""
    chunks = []
    position = start + 1
    while True:
        end = text.find("'", position)
        if end < 0:
            return None
        chunks.append(text[position:end])
        if text.startswith("''", end):
            chunks.append("'")
            position = end + 2
            continue
        return "".join(chunks), end + 1


# ------------------------------------------------------------------------------ all three


def read_value_knowledge(
    conn: Connection,
    caps: Capabilities,
    columns: Iterable[tuple[TableName, str]],
    queryids: Iterable[int],
    log_dir: Path | None,
    *,
    log_max_bytes: int = MAX_LOG_BYTES,
) -> ValueKnowledge:
    """pg_stats of the columns, pg_qualstats' constants of the statements and, when a log
    directory is given, the parameters the newest `log_max_bytes` of its server logs
    recorded, with every source's notes."""
    statistics, notes = read_column_statistics(conn, columns)
    constants, qual_notes = read_qual_constants(conn, caps, queryids)
    notes.extend(qual_notes)
    logged: tuple[LoggedParameters, ...] = ()
    if log_dir is not None:
        logged, log_notes = read_parameter_log(log_dir, log_max_bytes)
        notes.extend(log_notes)
    return ValueKnowledge(
        columns=statistics, constants=constants, logged=logged, notes=tuple(notes)
    )
