"""Grafana dashboards for pg-advisor, built as code with grafana-foundation-sdk.

`python -m dashboards.build` (or `python dashboards/build.py`) writes one JSON file per
dashboard into this folder, ready for Grafana's file provisioning
(`config/grafana/provisioning/dashboards/`); `--check` only reports whether the files are
current. A test regenerates them and compares with the committed files, so edit this
module, never the JSON.

Every dashboard has a `datasource` variable (any Prometheus) and `instance` and `database`
variables (multi-value, "All" by default), so one dashboard serves a fleet of advisors.
The metric names and labels are the ones `advisor/export/metrics.py` exports; its job
metrics name the job (collect, analyze, report) in the label `task`, since Prometheus gives
every target a `job` label of its own.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, stat, table, text, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions, TableSortByFieldState
from grafana_foundation_sdk.builders.common import VizLegendOptions as Legend
from grafana_foundation_sdk.builders.dashboard import (
    AnnotationQuery,
    Dashboard,
    DashboardLink,
    DatasourceVariable,
    QueryVariable,
    Row,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    BigValueTextMode,
    LegendDisplayMode,
    LegendPlacement,
    VizOrientation,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat
from grafana_foundation_sdk.models.text import TextMode

HERE = Path(__file__).resolve().parent
TAG = "pg-advisor"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
# Every advisor metric carries `database`; Prometheus adds `instance` (the advisor's address).
SELECTOR = 'instance=~"$instance", database=~"$database"'
INSTANCE = 'instance=~"$instance"'
LAST_SUCCESS = "pg_advisor_job_last_success_timestamp_seconds"

# Query ids in order; a table's `Value #A` column is the value of query A.
REF_IDS = "ABCDEFGH"


def metric(name: str, *matchers: str) -> str:
    """`name{instance=~"$instance", database=~"$database", <matchers>}`."""
    return name + "{" + ", ".join((SELECTOR, *matchers)) + "}"


def query(expr: str, legend: str = "__auto") -> Dataquery:
    """A range query (for time series)."""
    return Dataquery().expr(expr).legend_format(legend).range()


def instant(expr: str, legend: str = "__auto") -> Dataquery:
    """An instant query (for stats and bar gauges)."""
    return Dataquery().expr(expr).legend_format(legend).instant()


def table_query(expr: str) -> Dataquery:
    """An instant query returning a table: one row per series, one column per label."""
    return Dataquery().expr(expr).instant().format(PromQueryFormat.TABLE)


INVALID_INDEXES = metric("pg_advisor_index_problems", 'kind="invalid"')
UNUSED_INDEXES = metric("pg_advisor_index_problems", 'kind="unused"')
LAST_COLLECTION = metric(LAST_SUCCESS, 'task="collect"')


# ------------------------------------------------------------------------ panels


def stat_panel(
    title: str,
    description: str,
    target: Dataquery,
    unit: str = "short",
    red_from: float | None = None,
    no_value: str = "0",
    width: int = 4,
) -> stat.Panel:
    """A single figure; red from `red_from` on when given."""
    steps = [model.Threshold(value=None, color="green")]
    if red_from is not None:
        steps.append(model.Threshold(value=red_from, color="red"))
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(target.ref_id("A"))
        .unit(unit)
        .no_value(no_value)
        .thresholds(ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(steps))
        .color_mode(BigValueColorMode.VALUE if red_from is not None else BigValueColorMode.NONE)
        .graph_mode(BigValueGraphMode.NONE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(4)
        .span(width)
    )


def up_down_stat(title: str, description: str, target: Dataquery, width: int) -> stat.Panel:
    """A stat showing 1/0 gauges as up (green) / down (red), one box per series."""
    mapping = model.ValueMap(
        options={
            "0": model.ValueMappingResult(text="down", color="red", index=0),
            "1": model.ValueMappingResult(text="up", color="green", index=1),
        }
    )
    return (
        stat_panel(title, description, target, red_from=None, no_value="no data", width=width)
        .mappings([mapping])
        .color_mode(BigValueColorMode.BACKGROUND)
        .text_mode(BigValueTextMode.VALUE_AND_NAME)
    )


def series_panel(
    title: str,
    description: str,
    targets: Sequence[Dataquery],
    unit: str = "short",
    width: int = 12,
    height: int = 8,
) -> timeseries.Panel:
    """A time series panel with a table legend showing the last and the maximum values."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .fill_opacity(10)
        .legend(
            Legend()
            .display_mode(LegendDisplayMode.TABLE)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
        .height(height)
        .span(width)
    )
    for position, target in enumerate(targets):
        panel = panel.with_target(target.ref_id(REF_IDS[position]))
    return panel


def bar_panel(
    title: str, description: str, target: Dataquery, unit: str, width: int = 12
) -> bargauge.Panel:
    """Horizontal bars, one per series, largest first (the query sorts)."""
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(target.ref_id("A"))
        .unit(unit)
        .min(0)
        .display_mode(BarGaugeDisplayMode.BASIC)
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(8)
        .span(width)
    )


def table_panel(
    title: str,
    description: str,
    targets: Sequence[Dataquery],
    columns: Sequence[tuple[str, str, str]],
    sort_by: str,
    hidden: Sequence[str] = (),
    height: int = 9,
) -> table.Panel:
    """A table joining instant queries on their common labels. `columns` are
    (field, header, unit) in display order; `Value #A` is the value of query A."""
    rename = {field: header for field, header, _ in columns if header != field}
    order = {field: position for position, (field, _, _) in enumerate(columns)}
    exclude = dict.fromkeys(["Time", "__name__", "job", *hidden], True)
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            model.DataTransformerConfig(
                id_val="organize",
                options={"excludeByName": exclude, "indexByName": order, "renameByName": rename},
            )
        )
        .sort_by([TableSortByFieldState().display_name(sort_by).desc(True)])
        .height(height)
        .span(24)
    )
    for position, target in enumerate(targets):
        panel = panel.with_target(target.ref_id(REF_IDS[position]))
    for _, header, unit in columns:
        if unit:
            panel = panel.override_by_name(header, [model.DynamicConfigValue("unit", unit)])
    return panel


def note(title: str, markdown: str, width: int = 24, height: int = 3) -> text.Panel:
    return (
        text.Panel()
        .title(title)
        .mode(TextMode.MARKDOWN)
        .content(markdown)
        .height(height)
        .span(width)
    )


# --------------------------------------------------------------------- dashboards


def base(uid: str, title: str, description: str) -> Dashboard:
    """A dashboard with the fleet variables, links to the others and a sensible range."""
    return (
        Dashboard(f"pg-advisor / {title}")
        .uid(uid)
        .description(description)
        .tags([TAG, "postgresql"])
        .editable()
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .time("now-24h", "now")
        .timezone("browser")
        .link(
            DashboardLink("pg-advisor")
            .type(model.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
        # Grafana's built-in annotations (alerts and manual notes); also gives the dashboard
        # the `annotations.list` Grafana expects.
        .annotation(
            AnnotationQuery()
            .name("Annotations & Alerts")
            .datasource(model.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .built_in(1)
            .enable(True)
            .hide(True)
            .icon_color("rgba(0, 211, 255, 1)")
            .type("dashboard")
        )
        .with_variable(DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            QueryVariable("instance")
            .label("Advisor")
            .description("The advisor's scrape address (one advisor per PostgreSQL server).")
            .datasource(DATASOURCE)
            .query("label_values(pg_advisor_build_info, instance)")
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(model.VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .current(model.VariableOption(text="All", value="$__all"))
        )
        .with_variable(
            QueryVariable("database")
            .label("Database")
            .datasource(DATASOURCE)
            .query(f"label_values(pg_advisor_up{{{INSTANCE}}}, database)")
            .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(model.VariableSort.ALPHABETICAL_ASC)
            .multi(True)
            .include_all(True)
            .current(model.VariableOption(text="All", value="$__all"))
        )
    )


def overview() -> Dashboard:
    saved = metric("pg_advisor_recommendation_saved_seconds_per_day")
    return (
        base(
            "pg-advisor-overview",
            "Overview",
            "What the advisors found across the fleet: open index recommendations and what "
            "they would save, index problems, and whether every database is being watched.",
        )
        .with_row(Row("Now"))
        .with_panel(
            stat_panel(
                "Databases watched",
                "Databases the selected advisors collect from.",
                instant(f"count({metric('pg_advisor_up')})"),
            )
        )
        .with_panel(
            stat_panel(
                "Databases unreachable",
                "Databases whose last collection failed (see the advisor dashboard).",
                instant(f"sum(1 - {metric('pg_advisor_up')})"),
                red_from=1,
            )
        )
        .with_panel(
            stat_panel(
                "Open recommendations",
                "Indexes the advisors recommend creating.",
                instant(f"sum({metric('pg_advisor_recommendations')})"),
            )
        )
        .with_panel(
            stat_panel(
                "Workload time they save per day",
                "Estimated execution time the open recommendations would save per day, net "
                "of the time their maintenance on writes costs.",
                instant(f"sum({saved})"),
                unit="s",
            )
        )
        .with_panel(
            stat_panel(
                "Storage they need",
                "Estimated size of all recommended indexes together.",
                instant(f"sum({metric('pg_advisor_recommendation_size_bytes')})"),
                unit="bytes",
            )
        )
        .with_panel(
            stat_panel(
                "Space held by problem indexes",
                "Unused, duplicate, redundant and invalid indexes, together.",
                instant(f"sum({metric('pg_advisor_index_problem_bytes')})"),
                unit="bytes",
            )
        )
        .with_panel(
            stat_panel(
                "Invalid indexes",
                "Indexes left invalid by a failed CREATE INDEX CONCURRENTLY or REINDEX: "
                "maintained on writes, never read.",
                instant(f"sum({INVALID_INDEXES})"),
                red_from=1,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Unused indexes",
                "Indexes without a scan over the observation window (unused_min_days).",
                instant(f"sum({UNUSED_INDEXES})"),
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Database time of the top statements",
                "Execution and planning time per second of the statements exported as "
                "metrics (the busiest top_statements of each database).",
                instant(
                    f"sum(rate({metric('pg_advisor_statement_seconds_total')}[$__rate_interval]))"
                ),
                unit="s",
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Time really saved by created indexes",
                "Mean share of the helped statements' time that recommended indexes saved "
                "once created (measured, not estimated).",
                instant(f"avg({metric('pg_advisor_realized_saved_ratio')})"),
                unit="percentunit",
                no_value="none created yet",
                width=6,
            )
        )
        .with_row(Row("Databases"))
        .with_panel(
            table_panel(
                "Databases",
                "One row per watched database.",
                [
                    table_query(f"max by (instance, database) ({metric('pg_advisor_up')})"),
                    table_query(
                        f"sum by (instance, database) ({metric('pg_advisor_recommendations')})"
                    ),
                    table_query(f"sum by (instance, database) ({saved})"),
                    table_query(
                        f"sum by (instance, database) ({metric('pg_advisor_index_problem_bytes')})"
                    ),
                    table_query(
                        "sum by (instance, database) "
                        f"(rate({metric('pg_advisor_statement_seconds_total')}[$__rate_interval]))"
                    ),
                ],
                [
                    ("database", "Database", ""),
                    ("Value #A", "Collecting", ""),
                    ("Value #B", "Open recommendations", ""),
                    ("Value #C", "Saved per day", "s"),
                    ("Value #D", "Problem indexes", "bytes"),
                    ("Value #E", "Top statements' time per second", "s"),
                    ("instance", "Advisor", ""),
                ],
                sort_by="Saved per day",
            )
        )
        .with_row(Row("Trends"))
        .with_panel(
            series_panel(
                "Workload time the open recommendations save per day",
                "Estimated, by database.",
                [query(f"sum by (instance, database) ({saved})", "{{database}} ({{instance}})")],
                unit="s",
                width=8,
            )
        )
        .with_panel(
            series_panel(
                "Open recommendations",
                "By database.",
                [
                    query(
                        f"sum by (instance, database) ({metric('pg_advisor_recommendations')})",
                        "{{database}} ({{instance}})",
                    )
                ],
                width=8,
            )
        )
        .with_panel(
            series_panel(
                "Space held by problem indexes",
                "By kind of problem.",
                [
                    query(
                        f"sum by (kind) ({metric('pg_advisor_index_problem_bytes')})",
                        "{{kind}}",
                    )
                ],
                unit="bytes",
                width=8,
            )
        )
    )


def recommendations() -> Dashboard:
    saved = metric("pg_advisor_recommendation_saved_seconds_per_day")
    size = metric("pg_advisor_recommendation_size_bytes")
    age = metric("pg_advisor_recommendation_open_seconds")
    by_index = "instance, database, index"
    return (
        base(
            "pg-advisor-recommendations",
            "Recommendations",
            "Open index recommendations: the time each would save, its size and how long it "
            "has been open; and what the recommended indexes saved once created.",
        )
        .with_row(Row("Open recommendations"))
        .with_panel(
            table_panel(
                "Open recommendations",
                "Create them with `pg-advisor recommend --format sql` (CREATE INDEX "
                "CONCURRENTLY). Saved per day is net of the write cost.",
                [
                    table_query(
                        "max by (instance, database, table, index, definition) "
                        f"({metric('pg_advisor_recommendation_info')})"
                    ),
                    table_query(f"max by ({by_index}) ({saved})"),
                    table_query(f"max by ({by_index}) ({size})"),
                    table_query(f"max by ({by_index}) ({age})"),
                ],
                [
                    ("database", "Database", ""),
                    ("table", "Table", ""),
                    ("index", "Index", ""),
                    ("Value #B", "Saved per day", "s"),
                    ("Value #C", "Estimated size", "bytes"),
                    ("Value #D", "Open for", "s"),
                    ("definition", "Definition", ""),
                    ("instance", "Advisor", ""),
                ],
                sort_by="Saved per day",
                hidden=["Value #A"],
                height=10,
            )
        )
        .with_panel(
            bar_panel(
                "Workload time saved per day, by index",
                "Estimated, net of the write cost; the 20 largest.",
                instant(f"sort_desc(topk(20, {saved}))", "{{database}}: {{index}}"),
                unit="s",
            )
        )
        .with_panel(
            bar_panel(
                "Estimated size, by index",
                "The 20 largest recommended indexes.",
                instant(f"sort_desc(topk(20, {size}))", "{{database}}: {{index}}"),
                unit="bytes",
            )
        )
        .with_panel(
            series_panel(
                "Estimated saving over time",
                "A line that ends is a recommendation that was created or is no longer made.",
                [query(saved, "{{database}}: {{index}}")],
                unit="s",
            )
        )
        .with_panel(
            series_panel(
                "Age of the open recommendations",
                "Since each was first recommended.",
                [query(age, "{{database}}: {{index}}")],
                unit="s",
            )
        )
        .with_row(Row("Created indexes: realized benefit"))
        .with_panel(
            bar_panel(
                "Share of the time really saved",
                "For each recommended index that was created: 1 - mean time after / mean "
                "time before, over the statements it was meant to help.",
                instant(
                    f"sort_desc({metric('pg_advisor_realized_saved_ratio')})",
                    "{{database}}: {{index}}",
                ),
                unit="percentunit",
            )
        )
        .with_panel(
            series_panel(
                "Mean time of the helped statements, before and after",
                "Measured from pg_stat_statements before the recommendation and since the "
                "index was built.",
                [
                    query(
                        metric("pg_advisor_realized_mean_seconds"),
                        "{{database}}: {{index}} ({{phase}})",
                    )
                ],
                unit="s",
            )
        )
        .with_row(Row("Created indexes: statements slower since"))
        .with_panel(
            table_panel(
                "Statements slower since an index appeared",
                "Statements on a created index's table whose mean time grew by more than "
                "regression_threshold, with confidence; the SQL drops the index again. The "
                "report's section of the same name shows the statements.",
                [
                    table_query(
                        f"max by ({by_index}, queryid) ({metric('pg_advisor_regression_ratio')})"
                    ),
                    table_query(
                        f"max by ({by_index}, table, sql) "
                        f"({metric('pg_advisor_regression_undo_info')})"
                    ),
                ],
                [
                    ("database", "Database", ""),
                    ("table", "Table", ""),
                    ("index", "Index", ""),
                    ("queryid", "Statement", ""),
                    ("Value #A", "Times slower", "suffix:×"),
                    ("sql", "Undo", ""),
                    ("instance", "Advisor", ""),
                ],
                sort_by="Times slower",
                hidden=["Value #B"],
            )
        )
    )


def workload() -> Dashboard:
    seconds = metric("pg_advisor_statement_seconds_total")
    calls = metric("pg_advisor_statement_calls_total")
    key = "instance, database, queryid"
    # `query` is there only with export_query_text; the fingerprint always is.
    described = "fingerprint, query"
    text_of = (
        f"on ({key}) group_left ({described}) max by ({key}, {described}) "
        f"({metric('pg_advisor_statement_info')})"
    )
    return (
        base(
            "pg-advisor-workload",
            "Workload",
            "The workload of each database from pg_stat_statements as the advisor collects "
            "it: totals over the last hour, day and week, and the busiest statements "
            "(top_statements by total time).",
        )
        .with_row(Row("Whole workload"))
        .with_panel(
            stat_panel(
                "Statement time",
                "Execution and planning time of all statements in the last 1h, 24h and 7d "
                "(as of the last analysis; the advisor keeps 35 days).",
                instant(f"sum by (window) ({metric('pg_advisor_workload_seconds')})", "{{window}}"),
                unit="s",
                width=9,
            ).text_mode(BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(
            stat_panel(
                "Statement calls",
                "Calls of all statements in the last 1h, 24h and 7d.",
                instant(f"sum by (window) ({metric('pg_advisor_workload_calls')})", "{{window}}"),
                width=9,
            ).text_mode(BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(
            stat_panel(
                "Statements evicted",
                "pg_stat_statements entries evicted since its last reset: the advisor misses "
                "what was evicted between two collections. Raise pg_stat_statements.max if "
                "this grows.",
                instant(f"sum({metric('pg_advisor_statements_evicted')})"),
                red_from=1,
                no_value="unknown (PostgreSQL < 14)",
                width=6,
            )
        )
        .with_row(Row("Connections"))
        .with_panel(
            series_panel(
                "Connections by application and state",
                "Client connections to the database at each collection, by application_name "
                "(sanitized; the largest max_application_series, the rest as (other)) and "
                "state; the advisor's own are left out.",
                [
                    query(
                        f"sum by (database, application, state) "
                        f"({metric('pg_advisor_connections')})",
                        "{{database}} {{application}} {{state}}",
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            series_panel(
                "Sessions waiting, by wait event type",
                "Active sessions of the database waiting on a lock, I/O, the client ... at "
                "each collection.",
                [
                    query(
                        f"sum by (wait_event_type) ({metric('pg_advisor_connections_waiting')})",
                        "{{wait_event_type}}",
                    )
                ],
                width=12,
            )
        )
        .with_panel(
            stat_panel(
                "Connection headroom",
                "Connections ordinary roles may still open on the server: max_connections "
                "minus the reserved slots, minus the client connections open (every database).",
                instant(
                    f"min({metric('pg_advisor_connections_available')} - "
                    f"{metric('pg_advisor_connections_server')})"
                ),
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Oldest idle in transaction",
                "The longest a session has been idle in a transaction (it holds its locks "
                "and keeps VACUUM back); red from 60 s.",
                instant(f"max({metric('pg_advisor_idle_in_transaction_max_age_seconds')})"),
                unit="s",
                red_from=60,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Pool findings",
                "Findings of the last analysis: pools holding idle connections, sessions "
                "idle in a transaction, pools that together can exhaust the server (see the "
                "report's Connection pools).",
                instant(f"sum by (kind) ({metric('pg_advisor_pool_findings')})", "{{kind}}"),
                red_from=1,
                width=12,
            ).text_mode(BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(
            table_panel(
                "Pool sizes",
                "Per application: the most connections in use at once over the analysis "
                "window and the pg.Pool max suggested from it (the report has the code).",
                [
                    table_query(
                        "max by (instance, database, application) "
                        f"({metric('pg_advisor_pool_peak_in_use')})"
                    ),
                    table_query(
                        "max by (instance, database, application) "
                        f"({metric('pg_advisor_pool_suggested_max')})"
                    ),
                ],
                [
                    ("database", "Database", ""),
                    ("application", "Application", ""),
                    ("Value #A", "Peak in use", "short"),
                    ("Value #B", "Suggested max", "short"),
                    ("instance", "Advisor", ""),
                ],
                sort_by="Peak in use",
                height=8,
            )
        )
        .with_row(Row("Top statements"))
        .with_panel(
            series_panel(
                "Time spent by the top statements",
                "Execution and planning time per second; the 10 busiest.",
                [
                    query(
                        f"topk(10, sum by ({key}) (rate({seconds}[$__rate_interval])) * {text_of})",
                        "{{database}} {{fingerprint}} {{query}}",
                    )
                ],
                unit="s",
                width=24,
                height=10,
            )
        )
        .with_panel(
            series_panel(
                "Calls per second",
                "The 10 most frequent of the top statements.",
                [
                    query(
                        f"topk(10, sum by ({key}) (rate({calls}[$__rate_interval])) * {text_of})",
                        "{{database}} {{fingerprint}} {{query}}",
                    )
                ],
                unit="ops",
            )
        )
        .with_panel(
            series_panel(
                "Mean time per call",
                "Of the 10 statements with the most time per second.",
                [
                    query(
                        f"topk(10, sum by ({key}) (rate({seconds}[$__rate_interval]))) / "
                        f"sum by ({key}) (rate({calls}[$__rate_interval]))",
                        "{{database}}: {{queryid}}",
                    )
                ],
                unit="s",
            )
        )
        .with_panel(
            table_panel(
                "Top statements in the time range",
                "Time and calls over the dashboard's time range.",
                [
                    table_query(
                        f"max by ({key}, {described}) ({metric('pg_advisor_statement_info')})"
                    ),
                    table_query(f"sum by ({key}) (increase({seconds}[$__range]))"),
                    table_query(f"sum by ({key}) (increase({calls}[$__range]))"),
                    table_query(
                        f"sum by ({key}) (increase({seconds}[$__range])) / "
                        f"sum by ({key}) (increase({calls}[$__range]))"
                    ),
                ],
                [
                    ("database", "Database", ""),
                    ("Value #B", "Time", "s"),
                    ("Value #C", "Calls", "short"),
                    ("Value #D", "Mean per call", "s"),
                    ("query", "Statement", ""),
                    ("fingerprint", "Fingerprint", ""),
                    ("queryid", "queryid", ""),
                    ("instance", "Advisor", ""),
                ],
                sort_by="Time",
                hidden=["Value #A"],
                height=12,
            )
        )
    )


def index_health() -> Dashboard:
    problems = metric("pg_advisor_index_problems")
    problem_bytes = metric("pg_advisor_index_problem_bytes")
    return (
        base(
            "pg-advisor-index-health",
            "Index health",
            "Existing indexes that cost space and writes without serving reads: unused, "
            "duplicate, redundant and invalid.",
        )
        .with_panel(
            note(
                "What to do",
                "`pg-advisor health --format sql` prints the statement that fixes each "
                "problem (`DROP INDEX CONCURRENTLY`, `REINDEX INDEX CONCURRENTLY`) with the "
                "reason. An index is unused only after `unused_min_days` without a scan on "
                "the primary and every replica listed in `replicas`; while one cannot be "
                "read its findings are `unknown`, with no DROP.",
            )
        )
        .with_panel(
            stat_panel(
                "Invalid indexes",
                "Maintained on writes (once ready), never read.",
                instant(f"sum({INVALID_INDEXES})"),
                red_from=1,
                width=6,
            )
        )
        .with_panel(
            stat_panel(
                "Indexes with a problem",
                "By kind.",
                instant(f"sum by (kind) ({problems})", "{{kind}}"),
                width=9,
            ).text_mode(BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(
            stat_panel(
                "Space they hold",
                "By kind.",
                instant(f"sum by (kind) ({problem_bytes})", "{{kind}}"),
                unit="bytes",
                width=9,
            ).text_mode(BigValueTextMode.VALUE_AND_NAME)
        )
        .with_panel(
            series_panel(
                "Space held, by kind",
                "Bytes of the indexes with each kind of problem.",
                [query(f"sum by (kind) ({problem_bytes})", "{{kind}}")],
                unit="bytes",
            )
        )
        .with_panel(
            series_panel(
                "Indexes, by database and kind",
                "How many indexes have each kind of problem.",
                [
                    query(
                        f"sum by (instance, database, kind) ({problems}) > 0",
                        "{{database}}: {{kind}}",
                    )
                ],
            )
        )
        .with_panel(
            table_panel(
                "Problems by database",
                "Only the kinds present.",
                [
                    table_query(f"sum by (instance, database, kind) ({problems}) > 0"),
                    table_query(f"sum by (instance, database, kind) ({problem_bytes}) > 0"),
                ],
                [
                    ("database", "Database", ""),
                    ("kind", "Problem", ""),
                    ("Value #A", "Indexes", "short"),
                    ("Value #B", "Space", "bytes"),
                    ("instance", "Advisor", ""),
                ],
                sort_by="Space",
            )
        )
        .with_panel(
            series_panel(
                "Replicas reachable",
                "1 while the advisor reads a replica's index counters (`replicas`); at 0 "
                "the unused findings of its databases are `unknown`.",
                [
                    query(
                        f"min by (instance, database, replica) ({metric('pg_advisor_replica_up')})",
                        "{{database}} on {{replica}}",
                    )
                ],
            )
        )
    )


def advisor() -> Dashboard:
    job_runs = metric("pg_advisor_job_runs_total")
    explains = metric("pg_advisor_whatif_explains_total")
    hits = metric("pg_advisor_whatif_cache_hits_total")
    last_success = metric(LAST_SUCCESS)
    return (
        base(
            "pg-advisor-advisor",
            "Advisor",
            "The advisors' own health: scrapes, collections per database, job durations, "
            "failures, what-if planning and the process.",
        )
        .with_row(Row("Status"))
        .with_panel(
            up_down_stat(
                "Advisor scraped",
                "Prometheus' own `up` for the advisor's /metrics.",
                instant(f"up{{{INSTANCE}}}", "{{instance}}"),
                width=6,
            )
        )
        .with_panel(
            up_down_stat(
                "Last collection",
                "pg_advisor_up: whether the last collection from each database succeeded.",
                instant(metric("pg_advisor_up"), "{{database}}"),
                width=10,
            )
        )
        .with_panel(
            stat_panel(
                "Version",
                "pg_advisor_build_info.",
                instant(f"pg_advisor_build_info{{{INSTANCE}}}", "{{version}}"),
                no_value="unknown",
                width=4,
            ).text_mode(BigValueTextMode.NAME)
        )
        .with_panel(
            stat_panel(
                "Since the last collection",
                "Seconds since the latest successful collection of any selected database.",
                instant(f"time() - max({LAST_COLLECTION})"),
                unit="s",
                width=4,
            )
        )
        .with_row(Row("Jobs"))
        .with_panel(
            series_panel(
                "Duration of the last run",
                "Collect, analyze and report, by database.",
                [
                    query(
                        metric("pg_advisor_job_duration_seconds"),
                        "{{database}}: {{task}}",
                    )
                ],
                unit="s",
            )
        )
        .with_panel(
            series_panel(
                "Time since the last success",
                "A line that keeps rising is a job that no longer succeeds.",
                [query(f"time() - {last_success}", "{{database}}: {{task}}")],
                unit="s",
            )
        )
        .with_panel(
            series_panel(
                "Runs per minute, by outcome",
                "All selected databases.",
                [
                    query(
                        f"sum by (task, outcome) (rate({job_runs}[$__rate_interval])) * 60",
                        "{{task}}: {{outcome}}",
                    )
                ],
            )
        )
        .with_panel(
            series_panel(
                "Errors per minute, by stage",
                "The stage (job) that failed, by database; the advisor's log says why.",
                [
                    query(
                        "sum by (instance, database, stage) "
                        f"(rate({metric('pg_advisor_errors_total')}[$__rate_interval])) * 60",
                        "{{database}}: {{stage}}",
                    )
                ],
            )
        )
        .with_row(Row("What-if planning"))
        .with_panel(
            series_panel(
                "What-if plans per minute",
                "Plans asked of the planner (with hypothetical indexes) and plans answered "
                "from the advisor's cost cache.",
                [
                    query(
                        f"sum by (instance, database) (rate({explains}[$__rate_interval])) * 60",
                        "{{database}}: planner",
                    ),
                    query(
                        f"sum by (instance, database) (rate({hits}[$__rate_interval])) * 60",
                        "{{database}}: cache",
                    ),
                ],
                width=16,
            )
        )
        .with_panel(
            stat_panel(
                "Cost cache hit ratio",
                "Over the time range.",
                instant(
                    f"sum(increase({hits}[$__range])) / "
                    f"(sum(increase({hits}[$__range])) + sum(increase({explains}[$__range])))"
                ),
                unit="percentunit",
                no_value="no analysis",
                width=8,
            )
        )
        .with_panel(
            series_panel(
                "Statements costed with their values",
                "Statements the last analysis costed with the values they run with "
                "(pg_qualstats, the server log, pg_stats) besides the generic plan. Zero: "
                "no source of values (see the README's Values section).",
                [query(metric("pg_advisor_statements_costed_with_values"), "{{database}}")],
                width=16,
            )
        )
        .with_row(Row("Process"))
        .with_panel(
            series_panel(
                "Resident memory",
                "",
                [query(f"process_resident_memory_bytes{{{INSTANCE}}}", "{{instance}}")],
                unit="bytes",
                width=8,
            )
        )
        .with_panel(
            series_panel(
                "CPU",
                "Share of one core.",
                [
                    query(
                        f"rate(process_cpu_seconds_total{{{INSTANCE}}}[$__rate_interval])",
                        "{{instance}}",
                    )
                ],
                unit="percentunit",
                width=8,
            )
        )
        .with_panel(
            series_panel(
                "Open file descriptors",
                "",
                [query(f"process_open_fds{{{INSTANCE}}}", "{{instance}}")],
                width=8,
            )
        )
    )


# ------------------------------------------------------------------------ output

DASHBOARDS: dict[str, Callable[[], Dashboard]] = {
    "overview.json": overview,
    "recommendations.json": recommendations,
    "workload.json": workload,
    "index-health.json": index_health,
    "advisor.json": advisor,
}


def _number(built: model.Dashboard) -> model.Dashboard:
    """Give every panel a unique id (the builders leave it to the caller)."""
    for position, panel in enumerate(built.panels or [], start=1):
        panel.id_val = position
    return built


def render() -> dict[str, str]:
    """The JSON text of every dashboard, by file name."""
    return {
        name: json.dumps(_number(build().build()), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
        for name, build in DASHBOARDS.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write pg-advisor's Grafana dashboards.")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write (default: here)")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is not current"
    )
    args = parser.parse_args(argv)
    stale = []
    for name, content in render().items():
        path = args.out / name
        current = path.read_text() if path.exists() else None
        if current == content:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(content)
    verb = "out of date" if args.check else "written"
    for name in stale:
        print(f"{args.out / name}: {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
