"""The `pg-advisor` command line."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console

from advisor import __version__, logs
from advisor.config import Settings, load_settings
from advisor.errors import AdvisorError, UsageError
from advisor.export.console import (
    health_to_json,
    health_to_sql,
    print_health,
    print_table,
    to_json,
    to_sql,
)
from advisor.jobs.recommend import recommend as recommend_indexes
from advisor.pg import Connection, session

T = TypeVar("T")

BUG_URL = "https://github.com/pg-advisor/pg-advisor/issues"

app = typer.Typer(
    name="pg-advisor",
    help="A live index and workload advisor for PostgreSQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    sql = "sql"


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pg-advisor {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """pg-advisor: index recommendations verified by the PostgreSQL planner."""


ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML configuration file.", show_default=False)
]
DsnOption = Annotated[
    str | None,
    typer.Option(
        "--dsn", help="Connection string; falls back to DATABASE_URL.", show_default=False
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", help="Output format.")]
VerboseOption = Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")]
ReplicaOption = Annotated[
    list[str] | None,
    typer.Option(
        "--replica",
        help="DSN of a streaming replica whose index scans count too (repeatable).",
        show_default=False,
    ),
]


@app.command()
def recommend(
    dsn: DsnOption = None,
    config: ConfigOption = None,
    output: FormatOption = OutputFormat.table,
    budget_mb: Annotated[
        float | None,
        typer.Option(
            "--budget-mb", help="Storage budget for new indexes, in MiB.", show_default=False
        ),
    ] = None,
    min_calls: Annotated[
        int | None,
        typer.Option(
            "--min-calls", help="Ignore statements called fewer times.", show_default=False
        ),
    ] = None,
    database: Annotated[
        list[str] | None,
        typer.Option("--database", help="Database to analyze (repeatable).", show_default=False),
    ] = None,
    no_drops: Annotated[
        bool,
        typer.Option(
            "--no-drops",
            help="Leave out the safe drops (duplicate, redundant, unique-covered indexes).",
        ),
    ] = False,
    verbose: VerboseOption = False,
) -> None:
    """One analysis of the live workload, printed: the whole plan, creates and safe drops."""
    logs.configure("info" if verbose else "warning")
    with _exit_codes():
        settings = load_settings(
            config, dsn=dsn, budget_mb=budget_mb, min_calls=min_calls, databases=database or None
        )
        analyses = _each_database(
            settings, lambda conn, _: recommend_indexes(conn, settings, drops=not no_drops)
        )
    if output is OutputFormat.json:
        typer.echo(to_json(analyses))
    elif output is OutputFormat.sql:
        typer.echo(to_sql(analyses))
    else:
        print_table(analyses, _table_console())


# The width of tables written to a file or a pipe, where no terminal says how wide to be:
# wide enough that an index name and its table stand on one line of a cell.
FILE_TABLE_WIDTH = 160


def _table_console() -> Console:
    """A console for tables: the terminal's width, or FILE_TABLE_WIDTH off a terminal."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=FILE_TABLE_WIDTH)
    return console


@app.command()
def health(
    dsn: DsnOption = None,
    config: ConfigOption = None,
    output: FormatOption = OutputFormat.table,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="The daemon's state directory: when each index was first seen.",
            show_default=False,
        ),
    ] = None,
    database: Annotated[
        list[str] | None,
        typer.Option("--database", help="Database to check (repeatable).", show_default=False),
    ] = None,
    replica: ReplicaOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Unused, duplicate, redundant and invalid indexes, with the statements that fix them."""
    from advisor.jobs.health import check_health
    from advisor.jobs.observe import observe
    from advisor.store import Store

    logs.configure("info" if verbose else "warning")
    with _exit_codes():
        settings = load_settings(
            config, dsn=dsn, databases=database or None, replicas=replica or None
        )
        store = Store(state_dir) if state_dir is not None else None
        reports = _each_database(
            settings, lambda conn, _: check_health(observe(conn, settings, store), settings, conn)
        )
    if output is OutputFormat.json:
        typer.echo(health_to_json(reports))
    elif output is OutputFormat.sql:
        typer.echo(health_to_sql(reports))
    else:
        print_health(reports, _table_console())


@app.command()
def report(
    dsn: DsnOption = None,
    config: ConfigOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Directory of the reports (default ./reports).", show_default=False
        ),
    ] = None,
    drizzle_schema: Annotated[
        Path | None,
        typer.Option(
            "--drizzle-schema",
            help="The project's Drizzle schema file: generated code uses its names.",
            show_default=False,
        ),
    ] = None,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            help="The state directory (default ./state, state_dir): the reports' history "
            "and, where the daemon collects into it, trends and what created indexes did.",
            show_default=False,
        ),
    ] = None,
    database: Annotated[
        list[str] | None,
        typer.Option("--database", help="Database to report on (repeatable).", show_default=False),
    ] = None,
    day: Annotated[
        datetime | None,
        typer.Option(
            "--date",
            formats=["%Y-%m-%d"],
            help="The report's date (default: today, UTC).",
            show_default=False,
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Write the handoff and the dated report now."""
    from advisor.export.report import ReportPaths
    from advisor.jobs.report import report_now
    from advisor.store import Store

    logs.configure("info" if verbose else "warning")
    with _exit_codes():
        settings = load_settings(
            config,
            dsn=dsn,
            out=out,
            drizzle_schema=drizzle_schema,
            databases=database or None,
            state_dir=state_dir,
        )
        report_day = (day or datetime.now(UTC)).date()
        stores: list[Store] = []  # opened once connected: a bad DSN leaves no state behind

        def one(conn: Connection, several: bool) -> ReportPaths:
            if not stores:
                # The report's history lives in the store, the daemon's or a report's own.
                stores.append(Store(settings.state_dir))
            return report_now(conn, settings, stores[0], report_day, several)

        written = _each_database(settings, one)
    for paths in written:
        typer.echo(f"{paths.report}\n{paths.handoff}")


# Exit code of `check` when some statement needs a new index (so that a CI job fails).
NEEDS_INDEX_EXIT_CODE = 6


@app.command()
def check(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files of statements separated by ';' ($n placeholders allowed); - for stdin.",
            show_default=False,
        ),
    ] = None,
    dsn: DsnOption = None,
    config: ConfigOption = None,
    output: FormatOption = OutputFormat.table,
    database: Annotated[
        list[str] | None,
        typer.Option("--database", help="Database to check on (repeatable).", show_default=False),
    ] = None,
    min_cost_reduction: Annotated[
        float | None,
        typer.Option(
            "--min-cost-reduction",
            help="A statement needs an index when one lowers its plan cost by this share.",
            show_default=False,
        ),
    ] = None,
    server_log: Annotated[
        list[Path] | None,
        typer.Option(
            "--log",
            help="A PostgreSQL server log: its statement and execute lines (repeatable).",
            show_default=False,
        ),
    ] = None,
    ignore: Annotated[
        Path | None,
        typer.Option(
            "--ignore",
            help="Statements accepted as they are (a file like the input); matched by "
            "their fingerprint, whatever their values and layout.",
            show_default=False,
        ),
    ] = None,
    verbose: VerboseOption = False,
) -> None:
    """Advice on statements before they ship: exit 6 when one needs a new index."""
    from advisor.analyze.syntax import fingerprint_of, split_statements
    from advisor.export.console import check_to_json, check_to_sql, print_check
    from advisor.jobs.check import check as check_statements

    logs.configure("info" if verbose else "warning")
    with _exit_codes():
        settings = load_settings(
            config, dsn=dsn, databases=database or None, min_cost_reduction=min_cost_reduction
        )
        sources = files if files or server_log else ["-"]
        texts = [t for name in sources or () for t in split_statements(_read_input(name))]
        texts += [t for path in server_log or () for t in _read_log(path)]
        if ignore is not None:
            accepted = {fingerprint_of(t) for t in split_statements(_read_input(str(ignore)))}
            texts = [t for t in texts if fingerprint_of(t) not in accepted]
        texts = list(dict.fromkeys(texts))
        if not texts:
            raise UsageError("no statements to check: give files of SQL statements, or - for stdin")
        results = _each_database(settings, lambda conn, _: check_statements(conn, settings, texts))
    if output is OutputFormat.json:
        typer.echo(check_to_json(results))
    elif output is OutputFormat.sql:
        typer.echo(check_to_sql(results), nl=False)
    else:
        print_check(results, _table_console())
    if not any(r.planned for r in results):
        raise typer.Exit(UsageError.exit_code)  # nothing could be planned: bad input
    if any(r.recommendations for r in results):
        raise typer.Exit(NEEDS_INDEX_EXIT_CODE)


def _read_log(path: Path) -> list[str]:
    from advisor.collect.values import read_logged_statements

    try:
        return read_logged_statements(path)
    except OSError as error:
        raise UsageError(f"cannot read the server log {path}: {error}") from None


def _read_input(name: str) -> str:
    """A file's text, or standard input's for `-`."""
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {name}: {error}") from None


@app.command()
def run(
    config: ConfigOption = None,
    dsn: DsnOption = None,
    listen: Annotated[
        str | None, typer.Option("--listen", help="HOST:PORT for /metrics, /health, /ready.")
    ] = None,
    web_config_file: Annotated[
        Path | None,
        typer.Option(
            "--web-config-file",
            help="TLS and basic auth of the listener: a Prometheus web configuration file.",
            show_default=False,
        ),
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option("--state-dir", help="Directory of the state file.")
    ] = None,
    collect_interval: Annotated[
        float | None, typer.Option("--collect-interval", help="Seconds between collections.")
    ] = None,
    analyze_interval: Annotated[
        float | None,
        typer.Option(
            "--analyze-interval",
            "--analyse-interval",
            help="Seconds between analyses (--analyse-interval: deprecated spelling).",
        ),
    ] = None,
    report_cron: Annotated[
        str | None, typer.Option("--report-cron", help="Crontab schedule of the report (UTC).")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Directory for reports.")] = None,
    database: Annotated[
        list[str] | None,
        typer.Option("--database", help="Database to watch (repeatable).", show_default=False),
    ] = None,
    replica: ReplicaOption = None,
    log_level: Annotated[LogLevel, typer.Option("--log-level", help="Log level.")] = LogLevel.info,
) -> None:
    """The daemon: collect, analyze and report on a schedule; serve metrics."""
    from advisor.daemon import Daemon

    logs.configure(log_level.value)
    try:
        settings = load_settings(
            config,
            dsn=dsn,
            listen=listen,
            web_config_file=web_config_file,
            state_dir=state_dir,
            collect_interval=collect_interval,
            analyze_interval=analyze_interval,
            report_cron=report_cron,
            out=out,
            databases=database or None,
            replicas=replica or None,
        )
        daemon = Daemon(settings)
    except AdvisorError as error:
        _fail(error)
    try:
        daemon.run_forever()
    except OSError as error:  # the listen address is taken, typically
        _fail(UsageError(f"cannot serve on {settings.listen}: {error}"))


def _each_database(settings: Settings, work: Callable[[Connection, bool], T]) -> list[T]:
    """`work(conn, several)` in a session on each configured database (the DSN's own when
    none is configured), in order; `several` tells whether there is more than one."""
    targets: list[str | None] = list(settings.databases) or [None]
    results = []
    for name in targets:
        with session(settings.dsn, settings, name) as conn:
            results.append(work(conn, len(targets) > 1))
    return results


@contextmanager
def _exit_codes() -> Iterator[None]:
    """The advisor's errors as their exit codes; anything else is a bug, said so."""
    try:
        yield
    except AdvisorError as error:
        _fail(error)
    except Exception as error:  # a bug: say so, and where to report it
        _bug(error)


def _fail(error: AdvisorError) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/red] {error}", highlight=False, markup=True)
    raise typer.Exit(error.exit_code)


def _bug(error: Exception) -> NoReturn:
    import traceback

    traceback.print_exc(file=sys.stderr)
    Console(stderr=True).print(
        f"[red]unexpected error:[/red] {type(error).__name__}: {error}\n"
        f"This is a bug in pg-advisor; please report it with the trace above at {BUG_URL}",
        highlight=False,
    )
    raise typer.Exit(1)


if __name__ == "__main__":
    app()
