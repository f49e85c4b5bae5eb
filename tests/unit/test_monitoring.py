"""The monitoring files: the generated Grafana dashboards (regenerating gives the committed
JSON; fleet variables; every metric they query is one the advisor exports), the Prometheus
configuration and the alert rules (promtool check and promtool's rule unit tests), and
Grafana's provisioning. That the queries return data from a live daemon is checked in
tests/e2e/test_dashboards.py."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from advisor.export.metrics import AdvisorCollector
from advisor.status import RuntimeStatus
from dashboards import build
from tests.prometheus import PROMTOOL

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
CONFIG = ROOT / "config"
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")


def dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    result = []
    for panel in dashboard["panels"]:
        result.append(panel)
        result.extend(panel.get("panels") or [])  # collapsed rows hold their panels
    return result


def expressions() -> list[tuple[str, str, str]]:
    """(dashboard, panel title, expr) of every query of every panel."""
    return [
        (name, panel.get("title", ""), target["expr"])
        for name, dashboard in dashboards().items()
        for panel in panels(dashboard)
        for target in panel.get("targets") or []
    ]


def exported_metric_names() -> set[str]:
    """The sample names the advisor's collector exports (counters with `_total`)."""
    names = set()
    for family in AdvisorCollector(RuntimeStatus([]), 20).collect():
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    return names


# ------------------------------------------------------------------------ dashboards


def test_committed_dashboards_are_exactly_what_the_generator_writes() -> None:
    generated = build.render()
    committed = {path.name: path.read_text() for path in DASHBOARDS.glob("*.json")}
    assert set(committed) == set(generated), "run `python -m dashboards.build`"
    for name, text in generated.items():
        assert committed[name] == text, f"{name} is stale: run `python -m dashboards.build`"


def test_generator_check_mode_fails_on_a_stale_file_and_writing_fixes_it(tmp_path: Path) -> None:
    assert build.main(["--out", str(tmp_path)]) == 0
    assert build.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "workload.json").write_text("{}\n")
    assert build.main(["--out", str(tmp_path), "--check"]) == 1
    assert build.main(["--out", str(tmp_path)]) == 0
    assert build.main(["--out", str(tmp_path), "--check"]) == 0


def test_there_is_a_dashboard_for_each_view_of_the_advisor() -> None:
    titles = {d["title"] for d in dashboards().values()}
    for view in ("Overview", "Recommendations", "Workload", "Index health", "Advisor"):
        assert f"pg-advisor / {view}" in titles
    uids = [d["uid"] for d in dashboards().values()]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", sorted(build.DASHBOARDS))
def test_dashboard_serves_a_fleet_through_instance_and_database_variables(name: str) -> None:
    dashboard = dashboards()[name]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    for variable in ("instance", "database"):
        assert variables[variable]["multi"] and variables[variable]["includeAll"], variable
        assert variables[variable]["datasource"]["uid"] == "${datasource}"
    assert "label_values(pg_advisor_up" in variables["database"]["query"]
    # Grafana reads annotations.list (the built-in one shows alerts on the panels).
    assert dashboard["annotations"]["list"][0]["builtIn"] == 1
    for panel in panels(dashboard):
        if panel.get("targets"):
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


def test_every_query_is_filtered_by_the_selected_instances_and_databases() -> None:
    for name, title, expr in expressions():
        selectors = SELECTOR.findall(expr)
        assert selectors, (name, title, expr)
        for metric, matchers in selectors:
            assert 'instance=~"$instance"' in matchers, (name, title, metric)
            # Only the advisor's own per-database metrics carry `database`.
            if metric.startswith("pg_advisor_") and metric != "pg_advisor_build_info":
                assert 'database=~"$database"' in matchers, (name, title, metric)


def test_every_advisor_metric_the_dashboards_query_is_one_the_advisor_exports() -> None:
    exported = exported_metric_names()
    used = {metric for _, _, expr in expressions() for metric, _ in SELECTOR.findall(expr)}
    advisor_metrics = {m for m in used if m.startswith("pg_advisor_")}
    assert advisor_metrics <= exported, sorted(advisor_metrics - exported)
    # And the dashboards show every family the advisor exports.
    assert exported <= advisor_metrics, sorted(exported - advisor_metrics)


def test_panels_have_unique_ids_and_every_query_a_distinct_ref_id() -> None:
    for name, dashboard in dashboards().items():
        ids = [panel["id"] for panel in panels(dashboard)]
        assert len(ids) == len(set(ids)), name
        for panel in panels(dashboard):
            refs = [target["refId"] for target in panel.get("targets") or []]
            assert all(refs) and len(refs) == len(set(refs)), (name, panel["title"])


def test_table_columns_name_the_values_of_queries_that_exist() -> None:
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            refs = {target["refId"] for target in panel.get("targets") or []}
            for transformation in panel.get("transformations") or []:
                options = transformation["options"]
                for field in (
                    *options.get("renameByName", {}),
                    *options.get("indexByName", {}),
                    *options.get("excludeByName", {}),
                ):
                    match = re.fullmatch(r"Value #(\w+)", field)
                    if match:
                        assert match.group(1) in refs, (name, panel["title"], field)


def test_panels_fit_the_grid_without_overlapping() -> None:
    for name, dashboard in dashboards().items():
        taken: set[tuple[int, int]] = set()
        for panel in dashboard["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, (name, panel["title"])
            cells = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & taken, (name, panel["title"])
            taken |= cells


# ------------------------------------------------------------- Prometheus and alerts


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_promtool_accepts_the_alert_rules() -> None:
    result = promtool("check", "rules", "config/alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_prometheus_config_with_its_rule_file() -> None:
    result = promtool("check", "config", "config/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    # The rule file resolved next to the configuration and was checked too.
    assert "alerts.yml" in result.stdout + result.stderr


def test_alert_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", "config/alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_rule_has_a_unit_test_that_expects_it_to_fire() -> None:
    rules = yaml.safe_load((CONFIG / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tests = yaml.safe_load((CONFIG / "alerts_test.yml").read_text())
    firing = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts == firing, sorted(alerts ^ firing)


def test_alert_rules_name_the_advisors_metrics_as_prometheus_stores_them() -> None:
    """The advisor's job metrics say which job in `task`: `job` is the scrape job's."""
    rules = yaml.safe_load((CONFIG / "alerts.yml").read_text())
    exported = exported_metric_names()
    for group in rules["groups"]:
        for rule in group["rules"]:
            for metric, matchers in SELECTOR.findall(rule["expr"]):
                if metric.startswith("pg_advisor_"):
                    assert metric in exported, (rule["alert"], metric)
                    assert not re.search(r"\bjob=", matchers), rule["alert"]
            assert rule["labels"]["severity"] in {"critical", "warning", "info"}
            assert rule["annotations"]["summary"] and rule["annotations"]["description"]


# ------------------------------------------------------------------------- Grafana


def test_grafana_datasource_interval_matches_the_scrape_interval() -> None:
    prometheus = yaml.safe_load((CONFIG / "prometheus.yml").read_text())
    sources = yaml.safe_load(
        (CONFIG / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus"
    assert source["jsonData"]["timeInterval"] == prometheus["global"]["scrape_interval"]


def test_grafana_dashboard_provider_loads_json_files_from_a_folder() -> None:
    providers = yaml.safe_load(
        (CONFIG / "grafana/provisioning/dashboards/pg-advisor.yml").read_text()
    )
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")
