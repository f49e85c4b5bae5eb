"""Typed settings: defaults, then the TOML file, then `ADVISOR_*` variables, then flags.

Every threshold the advisor uses is a named setting here, with its default and the reason
for it, so that an operator can find and change it in one place; the functions at the end
hand them to the stages.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from advisor.analyze.antipatterns import AntipatternSettings
from advisor.analyze.bounds import ParseSettings
from advisor.analyze.candidates import BrinSettings, CandidateSettings
from advisor.analyze.health import HealthSettings
from advisor.analyze.pools import PoolSettings
from advisor.analyze.regression import RegressionSettings
from advisor.analyze.select import SelectionSettings
from advisor.analyze.values import ValueSettings
from advisor.analyze.writecost import WriteCostSettings
from advisor.errors import UsageError

MIB = 1024 * 1024


class Settings(BaseSettings):
    """All settings of the advisor. Field names are the TOML keys and, upper-cased with the
    `ADVISOR_` prefix, the environment variables; `dsn` also falls back to DATABASE_URL."""

    model_config = SettingsConfigDict(
        env_prefix="ADVISOR_",
        extra="forbid",
        populate_by_name=True,
        validate_default=True,
        # An infinite budget or threshold is a typo, not a setting (it used to fail later
        # with a traceback when turned into bytes).
        allow_inf_nan=False,
    )

    # --- connection
    dsn: str = Field(
        default="",
        validation_alias=AliasChoices("dsn", "ADVISOR_DSN", "DATABASE_URL"),
        description="libpq connection string or URL of the monitored server.",
    )
    databases: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Databases to analyze; empty means the DSN's own database.",
    )
    # Statistics are per server: an index the replicas read looks unused on the primary.
    # Each replica is read with the watched database's name in place of the DSN's own.
    replicas: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="DSNs of the streaming replicas whose index scans count too.",
    )
    application_name: str = "pg-advisor"
    # Catalog and statistics reads are small; a stuck one must not hang a job.
    statement_timeout_ms: int = Field(default=10_000, gt=0)
    # The advisor never needs a lock worth waiting for.
    lock_timeout_ms: int = Field(default=1_000, gt=0)
    connect_timeout_seconds: int = Field(default=10, gt=0)
    # One EXPLAIN of one statement; a statement that takes longer to plan is skipped.
    explain_timeout_ms: int = Field(default=2_000, gt=0)

    # --- workload
    min_calls: int = Field(
        default=5, ge=1, description="Statements called fewer times are not analyzed."
    )
    max_statements: int = Field(
        default=5_000, ge=1, description="Analyze at most this many statements, by total time."
    )
    # One statement's text: a longer one is skipped unread, and one whose analysis takes
    # longer than the budget is skipped. pglast's conversion of the tree cannot be
    # interrupted, so the size is what bounds its time: the densest 100 kB (`SELECT 1,1,...`)
    # takes about 1.2 s, within the budget; an IN list of 14,000 parameters fits.
    parse_max_bytes: int = Field(default=100_000, gt=0)
    parse_timeout_ms: int = Field(default=2_000, gt=0)

    # --- values (see README "Values"): costing with the values statements really run with
    value_aware: bool = Field(
        default=True,
        description="Cost statements with their observed or typical parameter values and "
        "propose partial, expression and BRIN indexes; false: generic plans only.",
    )
    # A directory of PostgreSQL's stderr logs with "parameters:" detail lines (needs
    # log_min_duration_statement or log_statement); optional, never required.
    parameter_log_dir: Path | None = None
    # Scenarios (sets of values) each statement is costed with, besides the generic plan.
    max_value_scenarios: int = Field(default=4, ge=0, le=32)
    # A partial index is proposed when a statement's values for a column are at most this
    # many, cover at least partial_min_share_of_calls of its calls, and hold at most
    # partial_max_share_of_rows of the table.
    partial_max_values: int = Field(default=3, ge=1, le=100)
    partial_min_share_of_calls: float = Field(default=0.8, gt=0.0, le=1.0)
    partial_max_share_of_rows: float = Field(default=0.2, gt=0.0, le=1.0)
    # ...on a status-like column: at most this many distinct values (pg_stats), never a
    # tenant or entity id, whose traffic moves.
    partial_max_column_distinct: int = Field(default=50, ge=1)
    # BRIN: on tables of at least this size, written (almost) only by inserts, for columns
    # whose physical order follows their values this closely (|correlation|).
    brin_min_table_mb: float = Field(default=8.0, ge=0.0)
    brin_min_correlation: float = Field(default=0.9, gt=0.0, le=1.0)
    # Statements costed with value scenarios: the busiest ones (each scenario is one more
    # plan per candidate set).
    max_value_statements: int = Field(default=200, ge=0)
    # pg_stats values are used only for a skewed column: its most common value holds at
    # least this share of rows and this many times the share of an average value.
    value_skew_min_share: float = Field(default=0.02, gt=0.0, le=1.0)
    value_skew_min_ratio: float = Field(default=3.0, ge=1.0)
    # An expression compared with a value (`payload ->> 'ip' = $1`) has no statistics until
    # an index on it is built: its distinct values are counted on a sample of about this
    # many rows (TABLESAMPLE SYSTEM; needs SELECT on the table); 0: never read rows.
    sample_expression_rows: int = Field(default=30_000, ge=0)

    # --- candidates
    max_key_columns: int = Field(default=4, ge=1, le=32)
    # INCLUDE columns make an index-only scan possible; wider ones bloat the index.
    max_include_columns: int = Field(default=3, ge=0, le=32)

    # --- selection
    budget_mb: float | None = Field(
        default=None,
        gt=0,
        description="Storage for new indexes; default: half the size of the tables the "
        "workload reads, at least min_budget_mb.",
    )
    min_budget_mb: float = Field(default=256.0, gt=0)
    # A statement counts as helped only when its estimated cost drops at least this much;
    # smaller drops are within the noise of the planner's estimates.
    min_cost_reduction: float = Field(default=0.10, ge=0.0, lt=1.0)
    # An index must save at least this much workload time per day to be recommended.
    min_saved_ms_per_day: float = Field(default=1_000.0, ge=0.0)
    max_recommendations: int = Field(default=20, ge=1)
    # Write cost of a new index (see analyze/writecost.py): per index entry maintained on
    # an insert, non-HOT update or delete (about 10 microseconds of CPU, WAL and I/O on
    # commodity hardware), and the extra share per column beyond the first.
    index_write_ms_per_row: float = Field(default=0.01, ge=0.0)
    index_width_factor: float = Field(default=0.25, ge=0.0)
    # A write statement with at least this many rows a call is a bulk load (COPY,
    # INSERT ... SELECT, a backfill): a one-off, left out of the write rate.
    bulk_write_rows_per_call: float = Field(default=1_000.0, gt=0.0)

    # --- index health
    # An index is reported unused only after this long without a scan on any server,
    # watched by the daemon (or, without its state, counted by the statistics).
    unused_min_days: float = Field(
        default=14.0,
        gt=0,
        # unused_min_observed_days / ADVISOR_UNUSED_MIN_OBSERVED_DAYS: the deprecated name,
        # for one release.
        validation_alias=AliasChoices(
            "unused_min_days",
            "ADVISOR_UNUSED_MIN_DAYS",
            "unused_min_observed_days",
            "ADVISOR_UNUSED_MIN_OBSERVED_DAYS",
        ),
    )
    unused_min_size_mb: float = Field(default=1.0, ge=0)
    # An index is not proposed for dropping when a workload statement's plan without it
    # costs more than this share above its plan with it (simulated drops, analyze/drops.py).
    drop_max_slowdown: float = Field(default=0.25, gt=0)

    # --- daemon
    listen: str = Field(
        default="0.0.0.0:9188", description="HOST:PORT of /metrics, /health and /ready."
    )
    # Prometheus's web configuration file (exporter-toolkit's format, the file Prometheus
    # takes as --web.config.file): TLS and basic auth for the listener. None: plain HTTP,
    # no authentication.
    web_config_file: Path | None = Field(
        default=None,
        description="Web configuration file (tls_server_config, basic_auth_users) of the "
        "listener, in the format of Prometheus's --web.config.file.",
    )
    state_dir: Path = Field(default=Path("state"), description="Where the SQLite state lives.")
    out: Path = Field(default=Path("reports"), description="Where reports are written.")
    collect_interval: float = Field(default=60.0, gt=0, description="Seconds between collections.")
    analyze_interval: float = Field(
        default=900.0,
        gt=0,
        description="Seconds between analyses.",
        # analyse_interval / ADVISOR_ANALYSE_INTERVAL: deprecated spellings, for one release.
        validation_alias=AliasChoices(
            "analyze_interval",
            "ADVISOR_ANALYZE_INTERVAL",
            "analyse_interval",
            "ADVISOR_ANALYSE_INTERVAL",
        ),
    )
    report_cron: str = Field(default="0 6 * * *", description="When the report is written (UTC).")
    # The advisor recommends for the workload of this window (ending now).
    analysis_window_hours: float = Field(default=24.0, gt=0)
    # Statements exported as metric series: the busiest by total time. Bounds cardinality.
    top_statements: int = Field(default=20, ge=0, le=500)
    # Query texts carry literals (and, in utility statements, secrets), and /metrics needs
    # no authentication: by default the statements are exported by queryid and fingerprint.
    export_query_text: bool = Field(
        default=False,
        description="Export the top statements' texts as the `query` label of "
        "pg_advisor_statement_info (texts that may hold a secret are never exported).",
    )
    # After a failed collection, wait 1 s, 2 s, 4 s ... up to this before trying again.
    retry_max_seconds: float = Field(default=300.0, gt=0)
    # SIGTERM: how long running jobs get to finish before their queries are cancelled.
    shutdown_timeout_seconds: float = Field(default=5.0, gt=0)

    # --- reports and the handoff (`pg-advisor report` and the daemon's report job)
    handoff_path: Path | None = Field(
        default=None,
        description="Where the handoff is written; default <out>/role-comm-database.md "
        "(<out>/<database>/role-comm-database.md with several databases). May hold {database}.",
    )
    drizzle_schema: Path | None = Field(
        default=None,
        description="The project's Drizzle schema file (e.g. backend/src/db/schema.ts): the "
        "generated code uses its table and property names; without it, camelCase of SQL names.",
    )
    # The `casing` option of the project's Drizzle config: how a column declared without a
    # SQL name (`authorId: integer()`) is named in the database. None: the property name.
    drizzle_casing: Literal["snake_case", "camelCase"] | None = None
    # Statements listed, by total time, in the report.
    report_top_statements: int = Field(default=10, ge=1, le=200)
    # A statement has regressed when its mean time grew by this factor since the last report.
    report_regression_ratio: float = Field(default=1.5, gt=1.0)

    # --- the regression guard (see analyze/regression.py): statements on a created index's
    # table slower since it appeared by more than this share of their mean before...
    regression_threshold: float = Field(default=0.10, gt=0.0)
    # ...at this one-sided confidence (calls' times treated as independent samples)...
    regression_confidence: float = Field(default=0.99, ge=0.5, lt=1.0)
    # ...with at least this many calls before and since (the test assumes the mean of that
    # many calls is near normal).
    regression_min_calls: int = Field(default=30, ge=2)
    # ...and by at least this many ms a call (with the same confidence): below it, a mean
    # moves with the machine's load and caches, not with plans.
    regression_min_ms: float = Field(default=0.5, ge=0.0)

    # --- anti-patterns (see analyze/antipatterns.py)
    # N+1: a lookup by foreign key runs this many times per call of a statement that reads
    # the referenced table and returns at least this many rows per call...
    n_plus_one_min_ratio: float = Field(default=10.0, gt=1.0)
    # ...and at least this many times in the window.
    n_plus_one_min_calls: int = Field(default=100, ge=1)
    # Reading every column matters in statements run at least this often a day, on tables
    # with this many columns or a column this wide on average (pg_stats.avg_width).
    frequent_min_calls_per_day: float = Field(default=1_000.0, ge=0.0)
    wide_table_min_columns: int = Field(default=15, ge=1)
    large_column_min_bytes: int = Field(default=1_024, ge=1)
    # Sequential scans are reported on tables at least this large, this often a day.
    seq_scan_min_table_mb: float = Field(default=10.0, ge=0.0)
    seq_scan_min_per_day: float = Field(default=100.0, ge=0.0)
    # Related rows written outside a transaction: both tables of a foreign key take at
    # least this many INSERTs in the window.
    unwrapped_writes_min_calls: int = Field(default=100, ge=1)

    # --- connection pools (see analyze/pools.py), from pg_stat_activity at each collection
    # A pool is holding idle connections when an application had at least this many idle
    # in every sample of the window (and more open than its suggested max).
    pool_idle_min_connections: int = Field(default=10, ge=1)
    # Sessions idle in a transaction for this long are reported...
    idle_in_transaction_min_seconds: float = Field(default=60.0, gt=0.0)
    # ...with this idle_in_transaction_session_timeout as the advice.
    idle_in_transaction_timeout_seconds: float = Field(default=60.0, gt=0.0)
    # The suggested pool max: max(pool_min_size, ceil(pool_size_factor x the peak of the
    # application's connections in use at once over the window)).
    pool_size_factor: float = Field(default=1.5, ge=1.0)
    pool_min_size: int = Field(default=2, ge=1)
    # The pools can exhaust the server when the sum of the applications' peaks reaches this
    # share of max_connections minus the reserved slots.
    pool_exhaustion_share: float = Field(default=0.8, gt=0.0, le=1.0)
    # The suggested code's idleTimeoutMillis and connectionTimeoutMillis (node-postgres).
    pool_idle_timeout_ms: int = Field(default=30_000, ge=0)
    pool_connection_timeout_ms: int = Field(default=2_000, ge=0)
    # Applications exported as series of their own (by connections); the rest are summed
    # as application="(other)". Bounds cardinality: application_name is set by clients.
    max_application_series: int = Field(default=10, ge=1, le=100)

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        _host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 0.0.0.0:9188")
        return value

    @field_validator("report_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as error:
            raise ValueError(f"not a crontab expression: {error}") from None
        return value

    @property
    def listen_address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)

    @field_validator("databases", mode="before")
    @classmethod
    def _split_databases(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("replicas", mode="before")
    @classmethod
    def _split_replicas(cls, value: Any) -> Any:
        """A list, or in the environment a JSON list or comma-separated DSNs (a DSN with
        a comma of its own needs the JSON form)."""
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                try:
                    return json.loads(value)
                except ValueError as error:
                    raise ValueError(f"not a JSON list: {error}") from None
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls, _FILE_VALUES.get()))

    @property
    def budget_bytes_override(self) -> int | None:
        return None if self.budget_mb is None else int(self.budget_mb * 1024 * 1024)


class _FileSource(PydanticBaseSettingsSource):
    """Values read from the TOML file, the lowest-priority source."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)


class _FileValues:
    """Holds the file's values while Settings is built (sources are created by pydantic)."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def get(self) -> dict[str, Any]:
        return self._values

    def set(self, values: dict[str, Any]) -> None:
        self._values = values


_FILE_VALUES = _FileValues()


def load_settings(config_file: Path | None = None, **flags: Any) -> Settings:
    """Build the settings from the file, the environment and flags (None flags are unset).

    Raises UsageError naming the file, key and problem when anything is invalid."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values = read_config_file(config_file)
    given = {key: value for key, value in flags.items() if value is not None}
    _FILE_VALUES.set(values)
    try:
        return Settings(**given)
    except ValidationError as error:
        raise UsageError(_describe(error, config_file)) from None
    except SettingsError as error:
        raise UsageError(f"invalid configuration: {error}") from None
    finally:
        _FILE_VALUES.set({})


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML file's top-level table (an `[advisor]` table, if present, is used instead)."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise UsageError(f"configuration file {path} does not exist") from None
    except PermissionError:
        raise UsageError(f"configuration file {path} is not readable") from None
    except tomllib.TOMLDecodeError as error:
        raise UsageError(f"configuration file {path} is not valid TOML: {error}") from None
    section = data.get("advisor", data)
    if not isinstance(section, dict):
        raise UsageError(f"configuration file {path}: [advisor] must be a table")
    return section


def _describe(error: ValidationError, config_file: Path | None) -> str:
    where = f" (flags, ADVISOR_* variables or {config_file})" if config_file else ""
    lines = [f"invalid configuration{where}:"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "settings"
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


# ------------------------------------------------------------------ the stages' settings
# The one place where Settings reach the stages: each stage's dataclass carries the same
# names (in bytes where the setting is in MB) and no defaults of its own.


def parse_settings(settings: Settings) -> ParseSettings:
    return ParseSettings(
        parse_max_bytes=settings.parse_max_bytes,
        parse_timeout_ms=settings.parse_timeout_ms,
    )


def candidate_settings(settings: Settings) -> CandidateSettings:
    return CandidateSettings(
        max_key_columns=settings.max_key_columns,
        max_include_columns=settings.max_include_columns,
    )


def brin_settings(settings: Settings) -> BrinSettings:
    return BrinSettings(
        brin_min_table_bytes=int(settings.brin_min_table_mb * MIB),
        brin_min_correlation=settings.brin_min_correlation,
    )


def selection_settings(settings: Settings, budget_bytes: int) -> SelectionSettings:
    return SelectionSettings(
        budget_bytes=budget_bytes,
        min_cost_reduction=settings.min_cost_reduction,
        min_saved_ms_per_day=settings.min_saved_ms_per_day,
        max_recommendations=settings.max_recommendations,
    )


def write_cost_settings(settings: Settings) -> WriteCostSettings:
    return WriteCostSettings(
        index_write_ms_per_row=settings.index_write_ms_per_row,
        index_width_factor=settings.index_width_factor,
    )


def value_settings(settings: Settings) -> ValueSettings:
    return ValueSettings(
        max_value_scenarios=settings.max_value_scenarios,
        max_value_statements=settings.max_value_statements,
        partial_max_values=settings.partial_max_values,
        partial_min_share_of_calls=settings.partial_min_share_of_calls,
        partial_max_share_of_rows=settings.partial_max_share_of_rows,
        partial_max_column_distinct=settings.partial_max_column_distinct,
        value_skew_min_share=settings.value_skew_min_share,
        value_skew_min_ratio=settings.value_skew_min_ratio,
    )


def health_settings(settings: Settings) -> HealthSettings:
    return HealthSettings(
        unused_min_days=settings.unused_min_days,
        unused_min_size_bytes=int(settings.unused_min_size_mb * MIB),
    )


def regression_settings(settings: Settings) -> RegressionSettings:
    return RegressionSettings(
        regression_threshold=settings.regression_threshold,
        regression_confidence=settings.regression_confidence,
        regression_min_calls=settings.regression_min_calls,
        regression_min_ms=settings.regression_min_ms,
    )


def antipattern_settings(settings: Settings) -> AntipatternSettings:
    return AntipatternSettings(
        n_plus_one_min_ratio=settings.n_plus_one_min_ratio,
        n_plus_one_min_calls=settings.n_plus_one_min_calls,
        frequent_min_calls_per_day=settings.frequent_min_calls_per_day,
        wide_table_min_columns=settings.wide_table_min_columns,
        large_column_min_bytes=settings.large_column_min_bytes,
        seq_scan_min_table_bytes=int(settings.seq_scan_min_table_mb * MIB),
        seq_scan_min_per_day=settings.seq_scan_min_per_day,
        unwrapped_writes_min_calls=settings.unwrapped_writes_min_calls,
    )


def pool_settings(settings: Settings) -> PoolSettings:
    return PoolSettings(
        pool_idle_min_connections=settings.pool_idle_min_connections,
        idle_in_transaction_min_seconds=settings.idle_in_transaction_min_seconds,
        idle_in_transaction_timeout_seconds=settings.idle_in_transaction_timeout_seconds,
        pool_size_factor=settings.pool_size_factor,
        pool_min_size=settings.pool_min_size,
        pool_exhaustion_share=settings.pool_exhaustion_share,
        pool_idle_timeout_ms=settings.pool_idle_timeout_ms,
        pool_connection_timeout_ms=settings.pool_connection_timeout_ms,
    )
