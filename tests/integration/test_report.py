"""The dated report and the Drizzle handoff, from real workloads: what they say, how they
change from one day to the next, and migration steps that work with drizzle-kit for real."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from advisor.daemon import Daemon
from advisor.demo import sample
from advisor.demo.sandbox import ThrowawayCluster
from advisor.export.drizzle import load_drizzle_schema
from advisor.export.report import (
    Change,
    Changes,
    ReportInputs,
    StatementTrend,
    cell,
    code,
    comparable,
    concurrent_script,
    diff,
    fence,
    index_views,
    invalid_check_sql,
    migration_script,
    render_handoff,
    render_report,
    report_paths,
    table_changes,
    write_atomically,
)
from advisor.history import (
    Delta,
    StatementCounters,
)
from advisor.jobs.recommend import recommend
from advisor.model import (
    IndexDesign,
    KeyColumn,
    Recommendation,
    Schema,
    TableName,
    ValueAssumption,
    ValueSource,
)
from advisor.pg import session
from advisor.store import Store
from tests.drizzle_project import (
    CASING,
    SCHEMA,
    copy_project,
    insert_indexes,
    require_node,
    run_node_tool,
    tsc,
)
from tests.handoff_items import missing_from_json, validate
from tests.integration.test_cli import run_cli
from tests.support import create_database, reset_statements, run_workload, settings_for

# The sample application's schema (advisor/demo/sample.py) with a tenth of its data, and a wide
# table with a large column: enough for the planner to want indexes, quick to load.
SMALL_DATA = """
SELECT setseed(0.42);
INSERT INTO "organizations" ("name", "plan")
SELECT 'org ' || g, (ARRAY['free','team','enterprise'])[1 + g % 3] FROM generate_series(1, 100) g;
INSERT INTO "users" ("organization_id", "email", "display_name", "created_at")
SELECT 1 + g % 100, 'user' || g || '@example.com', 'User ' || g, now() - (g || ' minutes')::interval
FROM generate_series(1, 2000) g;
INSERT INTO "posts" ("author_id", "title", "body", "status", "created_at")
SELECT 1 + (random() * 199)::int, 'Post ' || g, repeat('lorem ipsum ', 20),
       (ARRAY['draft','published','published','published','archived'])[1 + g % 5],
       now() - ((random() * 365 * 24 * 60)::int || ' minutes')::interval
FROM generate_series(1, 30000) g;
INSERT INTO "comments" ("post_id", "author_id", "body", "created_at")
SELECT 1 + (random() * 29999)::int, 1 + (random() * 1999)::int, 'a comment ' || g,
       now() - ((random() * 365 * 24 * 60)::int || ' minutes')::interval
FROM generate_series(1, 60000) g;
INSERT INTO "orders" ("organization_id", "status", "total_cents", "created_at")
SELECT 1 + g % 100, (ARRAY['pending','paid','paid','paid','refunded'])[1 + g % 5],
       (random() * 100000)::int, now() - ((g * 2) || ' minutes')::interval
FROM generate_series(1, 30000) g;
CREATE TABLE "events" (
    "id" serial PRIMARY KEY, "kind" text NOT NULL, "payload" jsonb NOT NULL,
    "c1" int, "c2" int, "c3" int, "c4" int, "c5" int, "c6" int, "c7" int,
    "c8" int, "c9" int, "c10" int, "c11" int, "c12" int, "c13" int
);
INSERT INTO "events" ("kind", "payload")
SELECT 'kind ' || g % 10,
       jsonb_build_object('blob', (SELECT string_agg(md5(g::text || i), '') FROM generate_series(1, 40) i))
FROM generate_series(1, 2000) g;
"""
TEMPLATE = "report_template"

EVENT_BY_ID = (
    'select * from "events" where "events"."id" = %s',
    lambda r: (r.randint(1, 2000),),
    50,
)
# N+1: the latest posts, then each post's comments one query at a time.
LATEST_POSTS = (
    'select "id", "title" from "posts" order by "posts"."created_at" desc limit %s',
    lambda r: (20,),
    5,
)
COMMENTS_OF_POST = (
    'select "id", "body" from "comments" where "comments"."post_id" = %s',
    lambda r: (r.randint(1, 30_000),),
    100,
)
FEED_INDEX = "posts_author_id_created_at_idx"
ENV = {
    "ADVISOR_MIN_CALLS": "2",
    "ADVISOR_MIN_SAVED_MS_PER_DAY": "0",
    "ADVISOR_DRIZZLE_CASING": CASING,
}


def sample_workload(*extra: tuple[str, object, int]) -> list[tuple[str, object, int]]:
    return [(s.sql, s.params, s.calls) for s in sample.STATEMENTS] + [EVENT_BY_ID, *extra]


def fresh_database(cluster: ThrowawayCluster, name: str) -> str:
    """A copy of the small sample database, its statistics reset."""
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,))
        if exists.fetchone() is None:
            create_database(cluster, TEMPLATE, sample.SCHEMA_SQL + SMALL_DATA)
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    dsn = cluster.dsn(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
    reset_statements(dsn)
    return dsn


def section(markdown: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = markdown.index(heading + "\n")
    body = markdown[start + len(heading) + 1 :]
    pattern = rf"^#{{1,{len(level)}}} "
    end = re.search(pattern, body, flags=re.MULTILINE)
    return body[: end.start()] if end else body


def report_cli(dsn: str, out: Path, day: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """`pg-advisor report` into `out`, its history in the state directory beside it."""
    return run_cli(
        "report",
        "--dsn",
        dsn,
        "--out",
        str(out),
        "--state-dir",
        str(out.parent / "state"),
        "--drizzle-schema",
        str(SCHEMA),
        "--date",
        day,
        *extra,
        env=ENV,
    )


def plain_report(
    dsn: str, tmp_path: Path, day: str = "2026-12-03", parameter_log_dir: Path | None = None
) -> tuple[str, str]:
    """`pg-advisor report` with no Drizzle schema and every statement counting (reading
    the server log in `parameter_log_dir`, if given): the report's and the handoff's
    markdown (its JSON twin checked to hold the same items)."""
    env = {"ADVISOR_MIN_CALLS": "2", "ADVISOR_MIN_SAVED_MS_PER_DAY": "0"}
    if parameter_log_dir is not None:
        env["ADVISOR_PARAMETER_LOG_DIR"] = str(parameter_log_dir)
    out = tmp_path / "reports"
    result = run_cli(
        "report",
        "--dsn",
        dsn,
        "--out",
        str(out),
        "--state-dir",
        str(tmp_path / "state"),
        "--date",
        day,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        f"{day}.md",
        "role-comm-database.json",
        "role-comm-database.md",
    ]
    handoff = (out / "role-comm-database.md").read_text()
    document = json.loads((out / "role-comm-database.json").read_text())
    validate(document)
    assert missing_from_json(handoff, document) == []
    return (out / f"{day}.md").read_text(), handoff


# ------------------------------------------------------------ report and handoff


def test_report_and_handoff_then_what_changed_the_next_day(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = fresh_database(cluster, "report_days")
    out = tmp_path / "reports"
    run_workload(dsn, sample_workload())
    first = report_cli(dsn, out, "2026-11-23")
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == [str(out / "2026-11-23.md"), str(out / "role-comm-database.md")]
    report = (out / "2026-11-23.md").read_text()
    handoff = (out / "role-comm-database.md").read_text()

    # The report: summary, top statements without a trend, ranked recommendations with
    # their evidence and code, anti-patterns with their fix.
    assert report.startswith("# pg-advisor report: report_days, 2026-11-23\n")
    summary = section(report, "## Summary")
    assert "| Statements analyzed |" in summary and "| Anti-patterns |" in summary
    top = section(report, "## Top statements by total time")
    assert "No trend: without the daemon's state" in top and "| trend |" not in top
    recommended = section(report, "## Recommended indexes")
    ranks = [int(n) for n in re.findall(r"^### (\d+)\. ", recommended, flags=re.MULTILINE)]
    assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) >= 3
    ranked = re.findall(r"^### \d+\. `([^`]+)`", recommended, flags=re.MULTILINE)
    history = Store(out.parent / "state")
    saved = history.previous_report("report_days", date(2026, 11, 24), comparable)
    assert saved is not None and saved["day"] == "2026-11-23"
    saved = saved["recommendations"]
    # The history is in the store, not beside the report; the one JSON is the handoff's twin.
    assert [p.name for p in out.glob("*.json")] == ["role-comm-database.json"]
    assert ranked == sorted(saved, key=lambda name: (-saved[name]["ms_saved_per_day"], name))
    feed = section(
        report, next(h for h in re.findall(r"^### .*$", report, re.M) if FEED_INDEX in h)
    )
    assert 'from "posts" where "posts"."author_id" = $1 order by' in feed
    assert "→" in feed and "net of a write cost of" in feed
    assert (
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {FEED_INDEX} ON public.posts USING btree "
        "(author_id, created_at);" in feed
    )
    assert f"index('{FEED_INDEX}').on(table.authorId, table.createdAt)," in feed
    antipatterns = section(report, "## Anti-patterns")
    assert "### Every column read: public.events" in antipatterns
    assert "db.query.events.findMany({ columns: { payload: false } });" in antipatterns
    assert "### Foreign key without an index: public.users" in antipatterns
    assert "index('users_organization_id_idx').on(table.organizationId)," in antipatterns
    assert "This is the first report" in section(report, "## What changed")
    assert "Needs the daemon's state" in section(report, "## Realized benefit of created indexes")

    # The handoff, in the team's three sections and what is decided and open, with names
    # from schema.ts.
    headings = re.findall(r"^## .*$", handoff, flags=re.MULTILINE)
    assert headings == [
        "## Schema changes",
        "## New queries available",
        "## Migration instructions",
        "## Decisions and pending items",
    ]
    changes = section(handoff, "## Schema changes")
    assert "`posts` has no index callback yet" in changes
    assert (
        f"}}, (table) => [\n  index('{FEED_INDEX}').on(table.authorId, table.createdAt),\n]);"
        in (changes)
    )
    assert "Add to what the index callback of `comments` returns" in changes
    assert "  index('comments_post_id_idx').on(t.postId)," in changes
    queries = section(handoff, "## New queries available")
    assert f"| `{FEED_INDEX}` |" in queries
    assert "**Every column read** (public.events)" in queries
    steps = section(handoff, "## Migration instructions")
    assert f"CREATE INDEX IF NOT EXISTS {FEED_INDEX} ON public.posts" in steps
    assert f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {FEED_INDEX} ON public.posts" in steps
    assert 'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f advisor-indexes.sql' in steps
    document = json.loads((out / "role-comm-database.json").read_text())
    validate(document)
    assert missing_from_json(handoff, document) == []
    assert FEED_INDEX in document["pending"]["indexes_to_create"]
    assert document["decisions"]["previous_day"] is None

    # Next day: the team built the feed index and shipped a page with an N+1.
    concurrent = next(
        line
        for line in steps.splitlines()
        if line.startswith(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {FEED_INDEX} ")
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(concurrent)
    reset_statements(dsn)
    run_workload(dsn, sample_workload(LATEST_POSTS, COMMENTS_OF_POST), seed=8)
    second = report_cli(dsn, out, "2026-11-24")
    assert second.returncode == 0, second.stderr
    report = (out / "2026-11-24.md").read_text()

    changed = section(report, "## What changed since 2026-11-23")
    resolved = section(changed, "### Resolved")
    assert f"| recommended index | `{FEED_INDEX}` | the index was created |" in resolved
    assert "`unindexed_foreign_key:public.posts:author_id`" in resolved
    new = section(changed, "### New")
    assert "`n_plus_one:public.comments:post_id:public.posts`" in new
    assert FEED_INDEX not in section(report, "## Recommended indexes")
    n_plus_one = section(report, "### N+1 queries: public.comments")
    assert "ran 100 times, 20 times per call of a statement reading public.posts" in n_plus_one
    assert "const rows = await db.query.posts.findMany({" in n_plus_one
    assert "with: { comments: true }" in n_plus_one
    assert "inArray(comments.postId, ids)" in n_plus_one
    assert '(parent) select "id", "title" from "posts" order by' in n_plus_one
    handoff = (out / "role-comm-database.md").read_text()
    assert "**N+1 queries** (public.comments)" in section(handoff, "### Query changes worth making")
    # What the team did is a decision taken, in the markdown and in the JSON.
    assert f"- recommended index `{FEED_INDEX}`: the index was created." in section(
        handoff, "### Decisions taken"
    )
    document = json.loads((out / "role-comm-database.json").read_text())
    validate(document)
    assert missing_from_json(handoff, document) == []
    assert {
        "what": "recommended index",
        "subject": FEED_INDEX,
        "outcome": "the index was created",
    } in (document["decisions"]["resolved"])
    (n_plus_one_item,) = [
        a for a in document["findings"]["antipatterns"] if a["kind"] == "n_plus_one"
    ]
    assert n_plus_one_item["query_change"] and "with: { comments: true }" in n_plus_one_item["code"]
    assert n_plus_one_item["key"] in document["pending"]["query_changes"]
    kept = history.previous_report("report_days", date(2026, 11, 25), comparable)
    assert kept is not None and kept["day"] == "2026-11-24"

    # Written again the same day, it replaces that day's files and still compares with
    # the day before.
    third = report_cli(dsn, out, "2026-11-24")
    assert third.returncode == 0
    again = section((out / "2026-11-24.md").read_text(), "## What changed since 2026-11-23")
    assert section(again, "### Resolved") == resolved
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_report_exit_codes_follow_the_other_commands(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    where = ("--out", str(out), "--state-dir", str(tmp_path / "state"))
    missing = run_cli(
        "report", "--dsn", cluster.dsn("postgres"), *where, "--drizzle-schema", "nope.ts"
    )
    assert missing.returncode == 2 and "cannot read the Drizzle schema" in missing.stderr
    no_statistics = run_cli("report", "--dsn", cluster.dsn("postgres"), *where)
    assert no_statistics.returncode == 4 and "pg_stat_statements" in no_statistics.stderr
    unreachable = run_cli("report", "--dsn", "postgresql://nobody@127.0.0.1:1/x", *where)
    assert unreachable.returncode == 3
    assert not out.exists() or not list(out.iterdir())


def test_daemon_report_has_trends_and_the_benefit_of_created_indexes(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = fresh_database(cluster, "report_daemon")
    settings = settings_for(
        dsn,
        databases=["report_daemon"],
        state_dir=tmp_path / "state",
        out=tmp_path / "reports",
        drizzle_schema=SCHEMA,
        drizzle_casing=CASING,
    )
    daemon = Daemon(settings)
    feed = [(s.sql, s.params, s.calls) for s in sample.STATEMENTS[:1]]
    try:
        daemon.collect("report_daemon")
        run_workload(dsn, sample_workload())
        daemon.collect("report_daemon")
        daemon.analyze("report_daemon")
        analysis = daemon.status.get("report_daemon").analysis
        assert analysis is not None and FEED_INDEX in {r.name for r in analysis.recommendations}
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                next(r for r in analysis.recommendations if r.name == FEED_INDEX).create_sql
            )
        daemon.collect("report_daemon")
        daemon.analyze("report_daemon")  # sees the index: the recommendation was created
        run_workload(dsn, feed, seed=3)
        daemon.collect("report_daemon")
        daemon.analyze("report_daemon")  # measures what it did
        # The day before, the feed statement ran half as long.
        now = datetime.now(UTC)
        last = daemon.store.window("report_daemon", now - timedelta(days=1))
        texts = daemon.store.texts("report_daemon", [s.queryid for s in last.statements])
        (feed_counters,) = [
            s
            for s in last.statements
            if texts.get(s.queryid, "").startswith(
                'select "id", "title", "created_at" from "posts"'
            )
        ]
        before = StatementCounters(
            feed_counters.queryid, feed_counters.calls, feed_counters.total_exec_ms / 2
        )
        daemon.store.add_delta(
            Delta("report_daemon", now - timedelta(hours=30), now - timedelta(hours=29), (before,))
        )
        daemon.report("report_daemon")
    finally:
        daemon.store.close()

    day = datetime.now(UTC).date().isoformat()
    report = (tmp_path / "reports" / f"{day}.md").read_text()
    top = section(report, "## Top statements by total time")
    assert "Over the last 24 hours; the trend compares with the 24 hours before." in top
    row = next(
        line for line in top.splitlines() if 'from "posts" where "posts"."author_id"' in line
    )
    assert row.endswith("| +100% |")
    assert "| new |" in top
    realized = section(report, "## Realized benefit of created indexes")
    assert f"| `{FEED_INDEX}` | public.posts | {day} |" in realized
    # The daemon's report job writes the JSON twin too.
    handoff = (tmp_path / "reports" / "role-comm-database.md").read_text()
    document = json.loads((tmp_path / "reports" / "role-comm-database.json").read_text())
    validate(document)
    assert missing_from_json(handoff, document) == []
    (created,) = document["decisions"]["created_indexes"]
    assert created["name"] == FEED_INDEX and created["created_on"] == day


# ------------------------------------------------------------ migration steps


@pytest.fixture(scope="module")
def advised(cluster: ThrowawayCluster) -> Iterator[ReportInputs]:
    """The recommendations for the sample workload, and one index of each shape the
    advisor can recommend that the workload did not call for."""
    dsn = fresh_database(cluster, "report_migrate_source")
    run_workload(dsn, sample_workload())
    settings = settings_for(dsn)
    with session(dsn, settings) as conn:
        analysis = recommend(conn, settings)
    posts, users, orders = (TableName("public", t) for t in ("posts", "users", "orders"))
    extra = [
        IndexDesign(posts, (KeyColumn.of("status"), KeyColumn.of("created_at", descending=True))),
        IndexDesign(posts, (KeyColumn.of("author_id"),), predicate="status = 'published'"),
        IndexDesign(orders, (KeyColumn.of("created_at"),), access_method="brin"),
        IndexDesign(users, (KeyColumn("lower(email)", is_expression=True),)),
        IndexDesign(orders, (KeyColumn.of("organization_id"),), include=("total_cents",)),
    ]
    names = {r.name for r in analysis.recommendations}
    recommendations = (
        *analysis.recommendations,
        *(Recommendation(d, 8192, 1.0, ()) for d in extra if d.name() not in names),
    )
    yield ReportInputs(
        database="app",
        day=date(2026, 11, 24),
        analysis=replace(analysis, recommendations=recommendations),
        findings=(),
        top_statements=(),
        window_label="",
        trend=False,
        antipatterns=(),
        texts={},
        created=None,
        schema=Schema(),
        drizzle=load_drizzle_schema(SCHEMA, CASING),
    )


def index_definitions(dsn: str, statements: dict[str, str]) -> dict[str, str]:
    """pg_get_indexdef of each named statement's index, built in a transaction that is
    rolled back."""
    definitions = {}
    with psycopg.connect(dsn) as conn:
        for name, statement in statements.items():
            conn.execute(statement)
            row = conn.execute("SELECT pg_get_indexdef(%s::regclass)", (name,)).fetchone()
            assert row is not None
            definitions[name] = row[0]
            conn.rollback()
    return definitions


def index_oids(dsn: str, names: list[str]) -> dict[str, tuple[int, bool]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.oid, i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
            "WHERE c.relname = ANY(%s)",
            (names,),
        ).fetchall()
    return {name: (oid, valid) for name, oid, valid in rows}


def applied_migrations(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM drizzle.__drizzle_migrations").fetchone()
    assert row is not None
    return int(row[0])


def migrate_logging(
    cluster: ThrowawayCluster, project: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], str]:
    """`drizzle-kit migrate`, and what the server logged meanwhile."""
    before = len(cluster.server_log())
    result = run_node_tool(project, "drizzle-kit", "migrate", env=env)
    return result, cluster.server_log()[before:]


def test_migration_steps_work_with_drizzle_kit_for_real(
    cluster: ThrowawayCluster, advised: ReportInputs, tmp_path: Path
) -> None:
    require_node()
    project = copy_project(tmp_path / "app")
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "drizzle_app" WITH (FORCE)')
        conn.execute('CREATE DATABASE "drizzle_app"')
    dsn = cluster.dsn("drizzle_app")
    env = {"DATABASE_URL": dsn}

    # The team's project as it is: its migrations applied by drizzle-kit.
    baseline = run_node_tool(project, "drizzle-kit", "generate", "--name", "baseline")
    assert baseline.returncode == 0, baseline.stdout + baseline.stderr
    applied = run_node_tool(project, "drizzle-kit", "migrate", env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO organizations (name) VALUES ('acme')")

    # Step 1: the handoff's code goes into schema.ts; the compiler accepts it.
    views = index_views(advised)
    handoff = render_handoff(advised)
    by_table = {
        change.table: [v.drizzle for v in change.indexes] for change in table_changes(views)
    }
    for change in table_changes(views):
        assert change.snippet in handoff
    schema = project / "schema.ts"
    schema.write_text(insert_indexes(schema.read_text(), by_table))
    compiled = tsc(project)
    assert compiled.returncode == 0, compiled.stdout + schema.read_text()

    # Step 2: drizzle-kit generates the same indexes as the advisor's SQL.
    generated = run_node_tool(project, "drizzle-kit", "generate", "--name", "advisor_indexes")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    (migration,) = (project / "drizzle").glob("0001_advisor_indexes.sql")
    original = migration.read_text()
    statements = {
        m.group(1): m.group(0) for m in re.finditer(r'CREATE INDEX "([^"]+)" ON [^;]+;', original)
    }
    assert set(statements) == {v.name for v in views}
    by_drizzle = index_definitions(dsn, statements)
    by_advisor = index_definitions(dsn, {v.name: v.migration_sql for v in views})
    for view in views:
        expected = by_drizzle[view.name]
        if view.design.include:  # Drizzle cannot say INCLUDE: the migration's SQL does
            expected += " INCLUDE (" + ", ".join(view.design.include) + ")"
        assert by_advisor[view.name] == expected, view.name

    # Step 3: the generated migration, edited as the handoff says.
    assert migration_script(views) in handoff
    edited = original
    for view in views:
        edited = edited.replace(statements[view.name], view.migration_sql)
    assert 'CREATE INDEX "' not in edited and edited.count(
        "--> statement-breakpoint"
    ) == original.count("--> statement-breakpoint")

    # Why not simply CONCURRENTLY in the migration: drizzle-kit runs it in a transaction.
    # (drizzle-kit 0.31 exits 1 without printing the server's error: the log has it.)
    migration.write_text(original.replace("CREATE INDEX ", "CREATE INDEX CONCURRENTLY "))
    refused, logged = migrate_logging(cluster, project, env)
    assert refused.returncode != 0
    assert "CREATE INDEX CONCURRENTLY cannot run inside a transaction block" in logged
    assert applied_migrations(dsn) == 1

    # Step 4: the concurrent build with psql, outside a transaction; nothing left invalid.
    assert concurrent_script(views) in handoff and invalid_check_sql(views) in handoff
    script = tmp_path / "advisor-indexes.sql"
    script.write_text(concurrent_script(views) + "\n")
    subprocess.run(
        [str(cluster.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script), dsn],
        check=True,
    )
    with psycopg.connect(dsn) as conn:
        assert conn.execute(invalid_check_sql(views)).fetchall() == []
    built = index_oids(dsn, [v.name for v in views])
    assert len(built) == len(views) and all(valid for _, valid in built.values())

    # Why the edit: the migration as generated now fails on the existing indexes.
    migration.write_text(original)
    unedited, logged = migrate_logging(cluster, project, env)
    assert unedited.returncode != 0
    assert "already exists" in logged
    assert applied_migrations(dsn) == 1

    # Step 5: drizzle-kit migrate applies the edited migration: a no-op on the indexes.
    migration.write_text(edited)
    deployed = run_node_tool(project, "drizzle-kit", "migrate", env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert index_oids(dsn, [v.name for v in views]) == built
    assert applied_migrations(dsn) == 2

    # And a fresh database (development, CI) gets every index from the migrations alone.
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "drizzle_fresh" WITH (FORCE)')
        conn.execute('CREATE DATABASE "drizzle_fresh"')
    fresh = cluster.dsn("drizzle_fresh")
    created = run_node_tool(project, "drizzle-kit", "migrate", env={"DATABASE_URL": fresh})
    assert created.returncode == 0, created.stdout + created.stderr
    assert set(index_oids(fresh, [v.name for v in views])) == {v.name for v in views}


# ------------------------------------------------------------- pure rendering


def test_markdown_cells_and_fences_survive_pipes_and_backticks() -> None:
    assert cell("a | b\nc") == "a \\| b c"
    assert code("x = `y` | z") == "``x = `y` \\| z``"
    assert code("`edge`") == "`` `edge` ``"
    assert fence("sql`${t.a}`\n```", "ts").startswith("````ts\n")


def test_regressions_are_statements_slower_by_the_ratio() -> None:
    def side(mean: float) -> dict[str, object]:
        return {
            "day": "2026-11-23",
            "recommendations": {},
            "statements": {"1": {"query": "select 1", "calls": 10, "mean_ms": mean}},
        }

    changes = diff(side(2.0), side(3.1), frozenset(), 1.5)
    assert [c.subject for c in changes.regressed] == ["select 1"]
    assert "2.00 ms → 3.10 ms" in changes.regressed[0].detail
    assert diff(side(2.0), side(2.9), frozenset(), 1.5).regressed == ()
    assert diff(None, side(1.0), frozenset(), 1.5) == Changes(None)


def test_values_a_recommendation_depends_on_are_compared_for_drift() -> None:
    def side(calls: float, rows: float) -> dict[str, object]:
        assumption = {
            "target": "status",
            "values": ["'blocked'::task_status"],
            "source": "pg_qualstats",
            "share_of_calls": calls,
            "share_of_rows": rows,
        }
        return {
            "day": "2026-11-23",
            "recommendations": {"tasks_part_idx": {"table": "t", "depends_on": [assumption]}},
            "statements": {},
        }

    assert diff(side(0.95, 0.004), side(0.9, 0.005), frozenset(), 1.5).drifted == ()
    (fewer_calls,) = diff(side(0.95, 0.004), side(0.5, 0.004), frozenset(), 1.5).drifted
    assert fewer_calls.subject == "tasks_part_idx"
    assert "95% → 50% of calls" in fewer_calls.detail
    (more_rows,) = diff(side(0.95, 0.004), side(0.95, 0.02), frozenset(), 1.5).drifted
    assert "0.4% → 2.0% of rows" in more_rows.detail


def test_report_and_handoff_state_the_values_and_the_drift(advised: ReportInputs) -> None:
    assert advised.analysis is not None
    posts = TableName("public", "posts")
    assumption = ValueAssumption(
        posts, "status", ("'published'",), ValueSource.QUALSTATS, 0.9, 0.6, 40
    )
    partial = Recommendation(
        IndexDesign(posts, (KeyColumn.of("author_id"),), predicate="status = 'published'"),
        8192,
        1.0,
        (),
        depends_on=(assumption,),
        notes=("BRIN on created_at: 24 kB against 6.0 MB for a btree",),
    )
    others = [r for r in advised.analysis.recommendations if r.name != partial.name]
    inputs = replace(
        advised, analysis=replace(advised.analysis, recommendations=(partial, *others))
    )
    described = "status = 'published' (90% of calls; 60% of rows; pg_qualstats, 40 samples)"
    drifted = Change("values", partial.name, "status = 'published': 90% → 50% of calls")
    report = render_report(inputs, Changes(date(2026, 11, 23), drifted=(drifted,)))
    assert "Depends on these values" in report and described in report
    assert "BRIN on created_at: 24 kB against 6.0 MB for a btree." in report
    assert "### Values drifted" in report and "90% → 50% of calls" in report
    assert described in render_handoff(inputs)


def test_paths_per_database_and_a_configured_handoff(tmp_path: Path) -> None:
    day = date(2026, 11, 24)
    one = report_paths(tmp_path, None, "app", day, per_database=False)
    assert (one.report, one.handoff) == (
        tmp_path / "2026-11-24.md",
        tmp_path / "role-comm-database.md",
    )
    many = report_paths(tmp_path, Path("docs/{database}/handoff.md"), "app", day, per_database=True)
    assert many.report == tmp_path / "app" / "2026-11-24.md"
    assert many.handoff == Path("docs/app/handoff.md")
    with pytest.raises(Exception, match="must contain"):
        report_paths(tmp_path, Path("handoff.md"), "app", day, per_database=True)


def test_rendering_is_deterministic_and_writing_atomic(
    advised: ReportInputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = replace(
        advised,
        top_statements=(
            StatementTrend(2, "select b", 5, 10.0),
            StatementTrend(1, "select a", 5, 9.0),
        ),
    )
    assert render_report(inputs, Changes(None)) == render_report(replace(inputs), Changes(None))
    assert render_handoff(inputs) == render_handoff(replace(inputs))
    target = tmp_path / "r.md"
    target.write_text("old")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    with pytest.raises(OSError):
        write_atomically(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_an_unwritable_out_directory_is_a_clear_error(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    dsn = fresh_database(cluster, "report_unwritable")
    run_workload(dsn, sample_workload())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    result = run_cli(
        "report",
        "--dsn",
        dsn,
        "--out",
        str(blocker / "reports"),
        "--state-dir",
        str(tmp_path / "state"),
        env=ENV,
    )
    assert result.returncode == 2, result.stderr
    assert "cannot write the report to" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


HOSTILE_SETUP = """
CREATE TABLE "odd`table" (id bigint PRIMARY KEY, "tag`
# pwned [x](javascript:alert(1)) | <script>" text NOT NULL);
INSERT INTO "odd`table" SELECT g, 'tag' || g FROM generate_series(1, 100000) g;
"""
HOSTILE_LOOKUP = (
    'SELECT id FROM "odd`table" WHERE "tag`\n# pwned [x](javascript:alert(1)) | <script>" = %s'
)


def test_names_from_the_database_cannot_inject_markdown_or_code(
    cluster: ThrowawayCluster, tmp_path: Path
) -> None:
    """A table or column name is the database's text, and anyone who owns a table picks
    it: a backtick, a line break, a link or HTML in it must stay text in the report and
    the handoff, and the Drizzle code must keep every name inside its string literal."""
    dsn = create_database(cluster, "hostile_names", HOSTILE_SETUP)
    run_workload(dsn, [(HOSTILE_LOOKUP, lambda r: (f"tag{r.randint(1, 100000)}",), 30)])
    report, handoff = plain_report(dsn, tmp_path)
    # The index is recommended, under a name of word characters only (with INCLUDE (id)
    # once autovacuum has set the visibility map: an index-only scan then pays).
    assert re.search(
        r"### 1\. `odd_table_tag_pwned_x_javascript_alert_1_script\w*_idx` on ", report
    )
    for markdown in (report, handoff):
        prose = _prose(markdown)
        assert not any(line.startswith("# pwned") for line in prose), markdown
        assert not any("<script>" in line or "](javascript:" in line for line in prose)
    # In the SQL the column keeps its name, quoted: the statement runs as printed.
    assert '("tag`\n# pwned [x](javascript:alert(1)) | <script>")' in report


def _prose(markdown: str) -> list[str]:
    """The lines markdown renders as text: fenced blocks and inline code spans left out
    (what is inside them is shown as written, never read as markup)."""
    lines, fence = [], None
    for line in markdown.splitlines():
        opening = re.match(r"^(`{3,})", line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None:
            if line.startswith(fence) and not line.strip("`"):
                fence = None
        else:
            lines.append(re.sub(r"(`+)(.+?)\1", "", line))
    return lines
