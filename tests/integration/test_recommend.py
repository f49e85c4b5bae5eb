"""The advisor end to end against a real server: a realistic schema and workload in,
HypoPG-verified recommendations out."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from advisor.demo.sandbox import ThrowawayCluster
from advisor.export.console import to_sql
from advisor.jobs.recommend import recommend
from advisor.model import Analysis, KeyColumn, Recommendation
from advisor.pg import session
from tests.integration.conftest import drive_sample_workload
from tests.support import create_sample_database, settings_for


@pytest.fixture(scope="module")
def blog_analysis(blog_dsn: str) -> Analysis:
    settings = settings_for(blog_dsn)
    with session(blog_dsn, settings) as conn:
        return recommend(conn, settings)


def _on(analysis: Analysis, table: str) -> list[Recommendation]:
    return [r for r in analysis.recommendations if r.design.table.name == table]


def test_pagination_gets_author_then_created_at_in_one_index(blog_analysis: Analysis) -> None:
    posts = _on(blog_analysis, "posts")
    assert len(posts) == 1
    assert posts[0].design.key_columns == ("author_id", "created_at")
    # A backward scan of an ascending index serves ORDER BY created_at DESC (NULLS FIRST).
    assert posts[0].design.keys[1] in (KeyColumn.of("created_at"), KeyColumn.of("created_at", True))


def test_foreign_key_lookup_gets_an_index_on_the_referencing_column(
    blog_analysis: Analysis,
) -> None:
    comments = _on(blog_analysis, "comments")
    assert [r.design.key_columns[0] for r in comments] == ["post_id"]


def test_multi_column_equality_and_range_filters_are_served(blog_analysis: Analysis) -> None:
    keys = {r.design.key_columns for r in _on(blog_analysis, "orders")}
    assert any(
        k[:2] in {("organization_id", "status"), ("status", "organization_id")} for k in keys
    )
    assert any(k[0] == "created_at" for k in keys)


def test_relational_query_is_helped_by_the_pagination_index(blog_analysis: Analysis) -> None:
    (posts,) = _on(blog_analysis, "posts")
    helped = " ".join(e.query for e in posts.statements)
    assert "json_agg" in helped
    assert "limit" in helped


def test_nothing_is_recommended_for_an_already_indexed_lookup(blog_analysis: Analysis) -> None:
    assert not _on(blog_analysis, "users")


def test_every_recommendation_carries_its_evidence(blog_analysis: Analysis) -> None:
    assert blog_analysis.recommendations
    for rec in blog_analysis.recommendations:
        assert rec.create_sql.startswith(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {rec.name} ON ")
        assert rec.estimated_size_bytes > 8192
        assert rec.estimated_ms_saved_per_day > 0
        assert rec.statements
        for effect in rec.statements:
            assert effect.cost_after < effect.cost_before
            assert effect.calls >= 2


def test_recommendations_are_ranked_by_time_saved(blog_analysis: Analysis) -> None:
    saved = [r.estimated_ms_saved_per_day for r in blog_analysis.recommendations]
    assert saved == sorted(saved, reverse=True)


def test_sql_output_runs_and_leaves_nothing_more_to_recommend(
    cluster: ThrowawayCluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Advice and the check after it are judged alike: the same database, its own
    # workload, windows of about the same length (a per-day saving depends on it).
    dsn = create_sample_database(cluster, "blog_sql")
    drive_sample_workload(dsn)
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        blog_analysis = recommend(conn, settings)
    script = tmp_path_factory.mktemp("sql") / "indexes.sql"
    script.write_text(to_sql([blog_analysis]))
    psql = cluster.bindir / "psql"
    subprocess.run(
        [str(psql), "-X", "-v", "ON_ERROR_STOP=1", "-q", "-f", str(script), dsn], check=True
    )
    # Twice: IF NOT EXISTS makes the script safe to run again.
    subprocess.run(
        [str(psql), "-X", "-v", "ON_ERROR_STOP=1", "-q", "-f", str(script), dsn], check=True
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
        names = {row[0] for row in conn.execute("SELECT indexname FROM pg_indexes").fetchall()}
    assert {r.name for r in blog_analysis.recommendations} <= names
    drive_sample_workload(dsn)
    with session(dsn, settings) as conn:
        again = recommend(conn, settings)
    assert again.recommendations == ()


def test_existing_index_is_never_duplicated(cluster: ThrowawayCluster) -> None:
    dsn = create_sample_database(
        cluster,
        "blog_partly_indexed",
        'CREATE INDEX "orders_org_status" ON "orders" ("organization_id", "status");'
        'CREATE INDEX "comments_post" ON "comments" ("post_id", "created_at");',
    )
    drive_sample_workload(dsn)
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        analysis = recommend(conn, settings)
    for rec in analysis.recommendations:
        keys = rec.design.key_columns
        assert keys[:2] != ("organization_id", "status")
        assert not (rec.design.table.name == "comments" and keys[0] == "post_id"), (
            rec.create_sql,
            [(s.query, s.cost_before, s.cost_after) for s in rec.statements],
        )
    assert _on(analysis, "posts"), "the unindexed pagination is still found"
