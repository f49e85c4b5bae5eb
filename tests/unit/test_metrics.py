"""The exporter reads the latest results and shows them in Prometheus' text format."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.exposition import generate_latest

from advisor.export.metrics import make_registry
from advisor.history import (
    IndexRegression,
    RealizedBenefit,
    RecommendationStatus,
    Snapshot,
    StatementCounters,
    StoredRecommendation,
)
from advisor.model import (
    Analysis,
    Finding,
    FindingKind,
    IndexDesign,
    KeyColumn,
    Recommendation,
    TableName,
)
from advisor.status import RuntimeStatus, busiest
from tests.prometheus import PROMTOOL

POSTS = TableName("public", "posts")
REC = Recommendation(IndexDesign(POSTS, (KeyColumn.of("author_id"),)), 8192, 120_000.0, ())


def _status() -> RuntimeStatus:
    now = datetime.now(UTC)
    status = RuntimeStatus(["app", "other"])
    analysis = Analysis("app", (REC,), (), 10, 9, 3600, 1 << 30, statements_with_values=4)
    snapshot = Snapshot(
        "app",
        now,
        now,
        None,
        tuple(StatementCounters(q, q * 10, q * 100.0) for q in range(1, 50)),
    )
    with status.edit("app") as editor:
        editor.update(
            up=True,
            analysis=analysis,
            snapshot=snapshot,
            top_statements=busiest(snapshot.statements, 20),
            texts={q: f'select "x" from t where id = $1 -- {q}' for q in range(1, 50)},
            fingerprints={q: f"{q:016x}" for q in range(1, 50)},
            findings=(
                Finding(FindingKind.UNUSED, POSTS, "old_idx", 5000, "no scans", "DROP ..."),
                Finding(FindingKind.UNUSED, POSTS, "older_idx", 7000, "no scans", "DROP ..."),
            ),
            open_recommendations=(
                StoredRecommendation(
                    "app",
                    REC.name,
                    POSTS,
                    REC.create_sql,
                    RecommendationStatus.OPEN,
                    now - timedelta(hours=2),
                    now,
                    None,
                    REC.estimated_ms_saved_per_day,
                    REC.estimated_size_bytes,
                    (),
                ),
            ),
            realized=(RealizedBenefit("app", "posts_x_idx", 10.0, 1.0, 2, now),),
            regressions=tuple(
                IndexRegression("app", "posts_x_idx", POSTS, q, 50, 1.0, 40, 4.0 + q, now)
                for q in range(10, 0, -1)
            ),
            windows={"1h": (120, 3.5), "24h": (2400, 70.0)},
        )
        editor.job_succeeded("collect", 0.05, now)
        editor.job_failed("analyze", 1.5, "analyze", "boom")
    return status


def _exposition(top: int = 5, export_query_text: bool = False) -> str:
    return generate_latest(make_registry(_status(), top, export_query_text)).decode()


def _info_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("pg_advisor_statement_info{")]


def test_statements_are_exported_by_queryid_and_fingerprint_without_their_text() -> None:
    lines = _info_lines(_exposition())
    assert len(lines) == 5
    assert (
        'pg_advisor_statement_info{database="app",fingerprint="0000000000000031",queryid="49"}'
        in "\n".join(lines)
    )
    assert not any("select" in line or "query=" in line for line in lines)


def test_statement_texts_are_exported_when_asked_for() -> None:
    lines = _info_lines(_exposition(export_query_text=True))
    assert len(lines) == 5
    assert all('query="select \\"x\\" from t where id = $1 -- ' in line for line in lines)
    assert all('fingerprint="' in line for line in lines)


def test_recommendations_are_exported_with_saving_size_and_age() -> None:
    text = _exposition()
    assert (
        'pg_advisor_recommendation_saved_seconds_per_day{database="app",index="posts_author_id_idx"} 120.0'
        in text
    )
    assert (
        'pg_advisor_recommendation_size_bytes{database="app",index="posts_author_id_idx"} 8192.0'
        in text
    )
    age_line = next(
        line
        for line in text.splitlines()
        if line.startswith("pg_advisor_recommendation_open_seconds{")
    )
    assert 7190 < float(age_line.split()[-1]) < 7300


def test_statements_costed_with_values_are_exported() -> None:
    assert 'pg_advisor_statements_costed_with_values{database="app"} 4.0' in _exposition()


def test_up_is_per_database_and_unknown_databases_are_down() -> None:
    text = _exposition()
    assert 'pg_advisor_up{database="app"} 1.0' in text
    assert 'pg_advisor_up{database="other"} 0.0' in text


def test_findings_are_summed_by_kind() -> None:
    text = _exposition()
    assert 'pg_advisor_index_problem_bytes{database="app",kind="unused"} 12000.0' in text
    assert 'pg_advisor_index_problems{database="app",kind="invalid"} 0.0' in text


def test_statement_series_are_bounded_to_the_top_n() -> None:
    text = _exposition(top=5)
    series = [
        line for line in text.splitlines() if line.startswith("pg_advisor_statement_calls_total{")
    ]
    assert len(series) == 5
    assert 'queryid="49"' in series[0] + "".join(series)


def test_job_outcomes_and_errors_are_counted() -> None:
    text = _exposition()
    assert 'pg_advisor_job_runs_total{database="app",outcome="failure",task="analyze"} 1.0' in text
    assert 'pg_advisor_errors_total{database="app",stage="analyze"} 1.0' in text
    assert 'pg_advisor_realized_saved_ratio{database="app",index="posts_x_idx"} 0.9' in text


def test_the_deprecated_analyse_label_still_carries_the_same_series() -> None:
    text = _exposition()
    for spelling in ("analyze", "analyse"):
        assert (
            f'pg_advisor_job_runs_total{{database="app",outcome="failure",task="{spelling}"}} 1.0'
            in text
        )
        assert f'pg_advisor_errors_total{{database="app",stage="{spelling}"}} 1.0' in text


def test_exposition_passes_promtool() -> None:
    if not PROMTOOL or not __import__("os").path.exists(PROMTOOL):
        pytest.skip("promtool (Debian package prometheus) is not installed")
    result = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=_exposition(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_workload_windows_are_exported() -> None:
    text = _exposition()
    assert 'pg_advisor_workload_calls{database="app",window="1h"} 120.0' in text
    assert 'pg_advisor_workload_seconds{database="app",window="24h"} 70.0' in text


def test_statements_slower_since_an_index_appeared_are_exported_with_the_undo() -> None:
    text = _exposition(top=5)
    ratios = [line for line in text.splitlines() if line.startswith("pg_advisor_regression_ratio{")]
    assert len(ratios) == 5  # the costliest, within top_statements
    assert 'pg_advisor_regression_ratio{database="app",index="posts_x_idx",queryid="10"} 14.0' in (
        "\n".join(ratios)
    )
    (undo,) = [
        line for line in text.splitlines() if line.startswith("pg_advisor_regression_undo_info{")
    ]
    assert 'sql="DROP INDEX CONCURRENTLY IF EXISTS public.posts_x_idx;"' in undo
    assert 'table="public.posts"' in undo
