"""The dashboards and alert rules against the real thing: a PostgreSQL prepared by the
deployment's init script (deploy/postgres/initdb/), `pg-advisor run` connected as its
least-privilege role over a real workload, and the real Prometheus scraping it with
config/alerts.yml loaded. Every query of every dashboard panel must be valid and return
data; every alert rule must be valid, every series it selects must exist, and the rules
whose condition the scene sets up must fire.

The scene, so that no panel is empty:
- `fleet_app`: the sample application, plus a duplicate, a redundant, an unused and an
  invalid index; the recommended index is built mid-run so its realized benefit is measured;
  and the readings of tests/integration/test_regression_guard.py, whose recommended index
  on (taken) makes another statement slower; a pool of idle connections and a session idle
  in a transaction, held open all along.
- `no_hypopg`: a database without HypoPG: collections work, every analysis fails.
- `dropped_app`: configured but missing: every collection fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from advisor.demo import sample
from advisor.demo.sandbox import ThrowawayCluster, free_port
from tests.e2e.test_daemon import DaemonProcess
from tests.integration import test_regression_guard as guard
from tests.prometheus import PrometheusServer
from tests.support import create_database, create_sample_database, run_workload

ROOT = Path(__file__).resolve().parents[2]
APP, NO_HYPOPG, DROPPED = "fleet_app", "no_hypopg", "dropped_app"
DATABASES = (APP, NO_HYPOPG, DROPPED)
RECOMMENDED = "posts_author_id_created_at_idx"
PAGINATION = sample.STATEMENTS[0]
POOL_APPLICATION, POOL_SIZE = "fleet-api", 3

# Index problems of every kind the advisor reports (blocks_hot_updates is only a kind).
PROBLEM_DDL = (
    """
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_status_copy_idx ON orders (status);
CREATE INDEX comments_author_id_idx ON comments (author_id);
CREATE INDEX comments_author_id_created_at_idx ON comments (author_id, created_at);
CREATE INDEX posts_title_idx ON posts (title);
"""
    + guard.DDL
)
PROBLEM_KINDS = ("invalid", "duplicate", "redundant", "unused")
# Fails on the duplicate organization ids and leaves an invalid index behind.
INVALID_INDEX_SQL = (
    "CREATE UNIQUE INDEX CONCURRENTLY users_organization_id_key ON users (organization_id)"
)
# Scans the wider comments index, which then stands in for the redundant narrower one.
COMMENTS_OF_AUTHOR = (
    "select count(*) from comments where author_id = %s and created_at > now() - interval '1 day'"
)

# Grafana's own variables, as Grafana would expand them for this scene.
RATE_INTERVAL, RANGE = "30s", "15m"

# Alert rules whose series cannot exist in this scene, with the reason.
ALERTS_WITHOUT_DATA = {
    "PgAdvisorReportFailing": "the report job runs on report_cron (daily, at best once a "
    "minute), so no report run happens within the test",
}


class Prometheus(PrometheusServer):
    """The test Prometheus, with the query API's error text and range queries."""

    def api(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
        if body.get("status") != "success":
            raise ValueError(f"{params.get('query', path)}: {body.get('error', body)}")
        return body["data"]

    def instant(self, expression: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expression)["result"]
        return result

    def range(self, expression: str, seconds: int = 60) -> list[dict[str, Any]]:
        now = time.time()
        data = self.api(
            "query_range", query=expression, start=str(now - seconds), end=str(now), step="5"
        )
        result: list[dict[str, Any]] = data["result"]
        return result


class Advisor(DaemonProcess):
    """`pg-advisor run` watching several databases, with test-sized intervals and an index
    judged unused after seconds instead of days."""

    def __init__(self, dsn: str, workdir: Path, databases: tuple[str, ...]) -> None:
        self.port = free_port()
        self.log = workdir / f"daemon-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_")}
        env.update(
            {
                "ADVISOR_MIN_CALLS": "2",
                "ADVISOR_MIN_SAVED_MS_PER_DAY": "0",
                "ADVISOR_UNUSED_MIN_OBSERVED_DAYS": "0.0001",  # 8.6 s
                "ADVISOR_UNUSED_MIN_SIZE_MB": "0",
            }
        )
        command = [sys.executable, "-m", "advisor.cli", "run", "--dsn", dsn]
        command += ["--listen", f"127.0.0.1:{self.port}", "--state-dir", str(workdir / "state")]
        command += ["--out", str(workdir / "reports")]
        command += ["--collect-interval", "1", "--analyze-interval", "2"]
        for database in databases:
            command += ["--database", database]
        # The primary under another name stands in for a replica, so that the replica
        # panel has a series (tests/integration/test_replicas.py uses a real standby).
        command += ["--replica", dsn.replace("@127.0.0.1:", "@localhost:", 1)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=self.log.open("w"), env=env
        )
        self.wait(lambda: self.get("/health")[0] == 200, "the daemon serving /health")


@dataclass
class Scene:
    prometheus: Prometheus
    advisor: Advisor
    instance: str

    def substitute(self, expression: str) -> str:
        """The expression as Grafana sends it with "All" selected in both variables."""
        values = {
            "$__rate_interval": RATE_INTERVAL,
            "$__range": RANGE,
            # Grafana escapes regex characters, then backslashes for the PromQL string.
            "$instance": re.escape(self.instance).replace("\\", "\\\\"),
            "$database": "(" + "|".join(DATABASES) + ")",
        }
        for variable, value in values.items():
            expression = expression.replace(variable, value)
        assert "$" not in expression, f"unknown variable in {expression}"
        return expression


def init_database(cluster: ThrowawayCluster, dsn: str) -> None:
    """What the postgres image does on first start: deploy/postgres/initdb/*.sql with psql."""
    for script in sorted((ROOT / "deploy/postgres/initdb").glob("*.sql")):
        psql = [str(cluster.bindir / "psql"), "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-q"]
        result = subprocess.run(
            [*psql, dsn, "-f", str(script)],
            capture_output=True,
            text=True,
            env={**os.environ, "ADVISOR_PASSWORD": "advisor-secret"},
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def build_index_that_slows_a_statement(scene: Scene, dsn: str) -> None:
    """Create the recommended index on readings (taken), then run the statement it slows."""
    recommended = f'pg_advisor_recommendation_info{{database="{APP}",table="public.readings"}}'
    scene.prometheus.wait_for(recommended, 60)
    (info,) = [
        s for s in scene.prometheus.instant(recommended) if "(taken)" in s["metric"]["definition"]
    ]
    name = info["metric"]["index"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE INDEX CONCURRENTLY "{name}" {info["metric"]["definition"]}')
        conn.execute("ANALYZE readings")
    scene.advisor.wait(
        lambda: f'index="{name}"' not in scene.advisor.get("/metrics")[1],
        "the advisor noticing the index",
    )
    run_workload(dsn, [(*guard.LATEST_OF_SENSOR, guard.CALLS)], seed=3)


def build_recommended_index(scene: Scene, dsn: str) -> None:
    """Create the index the advisor recommends, by its name and definition."""
    (info,) = scene.prometheus.wait_for(
        f'pg_advisor_recommendation_info{{database="{APP}",index="{RECOMMENDED}"}}', 60
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE INDEX CONCURRENTLY "{RECOMMENDED}" {info["metric"]["definition"]}')
        conn.execute("ANALYZE posts")
    scene.advisor.wait(
        lambda: f'index="{RECOMMENDED}"' not in scene.advisor.get("/metrics")[1],
        "the advisor noticing the index",
    )


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    with ThrowawayCluster() as cluster:
        admin_dsn = create_sample_database(cluster, APP, PROBLEM_DDL)
        with (
            psycopg.connect(admin_dsn, autocommit=True) as conn,
            pytest.raises(psycopg.errors.UniqueViolation),
        ):
            conn.execute(INVALID_INDEX_SQL)
        init_database(cluster, admin_dsn)
        no_hypopg_dsn = create_database(
            cluster, NO_HYPOPG, "CREATE TABLE t (id int)", extensions=("pg_stat_statements",)
        )

        held = ExitStack()
        for _ in range(POOL_SIZE):
            held.enter_context(psycopg.connect(admin_dsn, application_name=POOL_APPLICATION))
        in_transaction = held.enter_context(
            psycopg.connect(admin_dsn, application_name=POOL_APPLICATION)
        )
        in_transaction.execute("SELECT 1")  # a transaction begun, never ended

        workdir = tmp_path_factory.mktemp("fleet")
        advisor = Advisor(cluster.dsn(APP, user="advisor"), workdir, DATABASES)
        prometheus = Prometheus(
            [f"127.0.0.1:{advisor.port}"], rule_files=[ROOT / "config/alerts.yml"]
        )
        scene = Scene(prometheus, advisor, f"127.0.0.1:{advisor.port}")
        try:
            prometheus.wait_for(f'pg_advisor_up{{database="{APP}"}} == 1', 60)
            workload = [(s.sql, s.params, s.calls) for s in sample.STATEMENTS]
            authors = (COMMENTS_OF_AUTHOR, lambda rng: (rng.randint(1, 20_000),), 10)
            readings = [
                (*guard.LATEST_OF_SENSOR, guard.CALLS),
                (*guard.AT_TIME, 30),
            ]
            run_workload(admin_dsn, [*workload, authors, *readings])
            run_workload(no_hypopg_dsn, [("select count(*) from t", lambda rng: (), 5)])

            build_recommended_index(scene, admin_dsn)
            run_workload(admin_dsn, [*workload, authors], seed=3)
            prometheus.wait_for(f'pg_advisor_realized_saved_ratio{{database="{APP}"}}', 60)
            build_index_that_slows_a_statement(scene, admin_dsn)
            prometheus.wait_for(f'pg_advisor_regression_ratio{{database="{APP}"}}', 60)
            for kind in PROBLEM_KINDS:
                prometheus.wait_for(
                    f'pg_advisor_index_problems{{database="{APP}",kind="{kind}"}} > 0', 60
                )
            prometheus.wait_for(
                f'pg_advisor_job_runs_total{{database="{NO_HYPOPG}",outcome="failure"}} > 1', 30
            )
            yield scene
        finally:
            if advisor.process.poll() is None:
                advisor.process.kill()
            prometheus.stop()
            held.close()


def dashboard_queries() -> list[tuple[str, str, dict[str, Any]]]:
    """(dashboard file, panel title, target) of every panel query."""
    queries = []
    for path in sorted((ROOT / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets") or []:
                queries.append((path.name, panel["title"], target))
    return queries


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((ROOT / "config/alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


# ------------------------------------------------------------------------ dashboards


def test_every_dashboard_query_is_valid_and_returns_data(scene: Scene) -> None:
    empty = []
    for dashboard, title, target in dashboard_queries():
        expression = scene.substitute(target["expr"])
        if target.get("range"):
            result = scene.prometheus.range(expression)
        else:
            result = scene.prometheus.instant(expression)
        if not result:
            empty.append(f"{dashboard} / {title}: {expression}")
    assert not empty, "queries without data:\n" + "\n".join(empty)


def test_template_variables_list_the_advisor_and_its_databases(scene: Scene) -> None:
    dashboard = json.loads((ROOT / "dashboards/overview.json").read_text())
    variables = {v["name"]: v["query"] for v in dashboard["templating"]["list"]}
    for name, expected in (("instance", {scene.instance}), ("database", set(DATABASES))):
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", variables[name])
        assert match, variables[name]
        series = scene.prometheus.instant(scene.substitute(match.group(1)))
        assert {s["metric"][match.group(2)] for s in series} == expected


def test_panels_show_what_the_scene_holds(scene: Scene) -> None:
    def values(expression: str, label: str) -> dict[str, float]:
        series = scene.prometheus.instant(scene.substitute(expression))
        return {s["metric"].get(label, ""): float(s["value"][1]) for s in series}

    by_title = {(d, t): target["expr"] for d, t, target in dashboard_queries()}
    problems = values(by_title[("index-health.json", "Indexes with a problem")], "kind")
    assert all(problems[kind] >= 1 for kind in PROBLEM_KINDS), problems
    unreachable = values(by_title[("overview.json", "Databases unreachable")], "")
    assert unreachable[""] == 1  # dropped_app
    realized = values(by_title[("recommendations.json", "Share of the time really saved")], "index")
    assert realized[RECOMMENDED] > 0
    held = f'pg_advisor_connections{{database="{APP}", application="{POOL_APPLICATION}"}}'
    assert values(f"sum by (state) ({held})", "state") == {
        "idle": POOL_SIZE,
        "idle_in_transaction": 1,
    }
    suggested = values(f'pg_advisor_pool_suggested_max{{database="{APP}"}}', "application")
    assert suggested[POOL_APPLICATION] == 2  # max(2, ceil(1.5 x 1 in use))
    errors = scene.prometheus.range(
        scene.substitute(by_title[("advisor.json", "Errors per minute, by stage")])
    )
    assert {s["metric"]["database"] for s in errors} >= {NO_HYPOPG, DROPPED}


# ----------------------------------------------------------------------- alert rules


def test_prometheus_loads_every_alert_rule_and_evaluates_it_without_error(
    scene: Scene,
) -> None:
    groups = scene.prometheus.api("rules")["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(loaded) == {rule["alert"] for rule in alert_rules()}
    for name, rule in loaded.items():
        assert rule["health"] == "ok", (name, rule.get("lastError"))


def test_every_series_an_alert_rule_selects_exists(scene: Scene) -> None:
    missing = []
    for rule in alert_rules():
        scene.prometheus.instant(rule["expr"])  # valid: raises with the parser's error
        if rule["alert"] in ALERTS_WITHOUT_DATA:
            continue
        for selector in re.findall(r"[a-zA-Z_:][\w:]*\{[^}]*\}", rule["expr"]):
            if not scene.prometheus.instant(selector):
                missing.append(f"{rule['alert']}: {selector}")
    assert not missing, "selectors without series:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    "alert",
    ["PgAdvisorDatabaseUnreachable", "PgAdvisorAnalysisFailing", "PgAdvisorInvalidIndex"],
)
def test_alert_condition_holds_for_what_the_scene_broke(scene: Scene, alert: str) -> None:
    (rule,) = [r for r in alert_rules() if r["alert"] == alert]
    assert scene.prometheus.wait_for(rule["expr"], 30)
    # Prometheus evaluates it too: pending until its `for` has passed.
    assert scene.prometheus.wait_for(f'ALERTS{{alertname="{alert}"}}', 30)


# -------------------------------------------------------------------------- deploy


def test_image_healthcheck_command_passes_on_a_live_daemon_and_fails_without_one(
    scene: Scene,
) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    (line,) = [line for line in dockerfile.splitlines() if line.startswith("HEALTHCHECK")]
    command = json.loads(line[line.index("CMD") + 3 :])
    assert command[0] == "python"
    run = [sys.executable, *command[1:]]
    live = subprocess.run(
        run, env={**os.environ, "ADVISOR_LISTEN": f"0.0.0.0:{scene.advisor.port}"}, timeout=30
    )
    assert live.returncode == 0
    dead = subprocess.run(
        run,
        env={**os.environ, "ADVISOR_LISTEN": f"0.0.0.0:{free_port()}"},
        capture_output=True,
        timeout=30,
    )
    assert dead.returncode != 0


def test_readiness_probe_names_the_database_that_fails(scene: Scene) -> None:
    status, body = scene.advisor.get("/ready")
    assert status == 503
    databases = json.loads(body)["databases"]
    assert databases[APP]["ready"] is True
    assert databases[DROPPED]["ready"] is False and databases[DROPPED]["error"]


def test_advisor_down_alert_condition_holds_once_the_daemon_stops(scene: Scene) -> None:
    """Last: it stops the daemon."""
    (rule,) = [r for r in alert_rules() if r["alert"] == "PgAdvisorDown"]
    assert scene.advisor.stop() == 0
    down = scene.prometheus.wait_for(rule["expr"], 30)
    assert {s["metric"]["instance"] for s in down} == {scene.instance}
