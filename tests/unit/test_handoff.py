"""The JSON handoff: its committed schema is what the model generates, and a handoff with one
item of each kind gives markdown and JSON that say the same things (issue 20)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from advisor.errors import UsageError
from advisor.export.handoff import handoff_json, handoff_schema_text
from advisor.export.report import (
    Change,
    Changes,
    ReportInputs,
    handoff_model,
    render_handoff,
    render_handoff_markdown,
    report_paths,
    write_report,
)
from advisor.model import (
    Analysis,
    Antipattern,
    AntipatternKind,
    Finding,
    FindingKind,
    IndexDesign,
    KeyColumn,
    Recommendation,
    Schema,
    StatementEffect,
    TableName,
    ValueProbe,
)
from tests.handoff_items import SCHEMA_PATH, json_sql, missing_from_json, validate

POSTS = TableName("public", "posts")
BY_AUTHOR = 'select "id" from "posts" where "posts"."author_id" = $1 order by "created_at" desc'
PROBE = "select id from events where payload->>$1 = $2"


def _inputs() -> ReportInputs:
    feed = Recommendation(
        IndexDesign(POSTS, (KeyColumn.of("author_id"), KeyColumn.of("created_at", True))),
        65536,
        1200.0,
        (StatementEffect(11, BY_AUTHOR, 400, 2.5, 1800.0, 12.0, 1200.0),),
        estimated_write_ms_per_day=3.0,
        warnings=("the table is written 50,000 times a day",),
    )
    unused = Finding(
        FindingKind.UNUSED,
        POSTS,
        "posts_title_idx",
        16384,
        "no scan since the statistics were reset 30 days ago",
        "DROP INDEX CONCURRENTLY IF EXISTS public.posts_title_idx;",
        restore_sql="CREATE INDEX posts_title_idx ON public.posts USING btree (title);",
    )
    every_column = Antipattern(
        AntipatternKind.READS_EVERY_COLUMN,
        POSTS,
        "select * from posts ran 400 times and returned the 2 kB body each time",
        queryids=(11,),
        columns=("body",),
    )
    analysis = Analysis(
        "app",
        (feed,),
        (),
        2,
        2,
        3600.0,
        1 << 30,
        value_probes=(
            ValueProbe(
                12,
                PROBE,
                40.0,
                "the JSON key bound as $1",
                "an expression index on (payload->>'<key>')",
                "sample the parameters in the server log: ALTER SYSTEM SET "
                "log_min_duration_sample = 0; SELECT pg_reload_conf();",
            ),
        ),
    )
    return ReportInputs(
        database="app",
        day=date(2026, 11, 24),
        analysis=analysis,
        findings=(unused,),
        top_statements=(),
        window_label="",
        trend=False,
        antipatterns=(every_column,),
        texts={11: BY_AUTHOR},
        created=None,
        schema=Schema(),
    )


CHANGES = Changes(
    date(2026, 11, 23),
    resolved=(Change("recommended index", "posts_status_idx", "the index was created"),),
)


def test_the_committed_schema_is_what_the_model_generates() -> None:
    assert SCHEMA_PATH.read_text() == handoff_schema_text(), (
        "config/handoff.schema.json is stale: run `make handoff-schema`"
    )
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


def test_the_json_validates_and_holds_every_item_of_the_markdown() -> None:
    handoff = handoff_model(_inputs(), CHANGES)
    markdown, document = render_handoff_markdown(handoff), json.loads(handoff_json(handoff))
    validate(document)
    assert missing_from_json(markdown, document) == []
    assert document["$schema"] == "urn:pg-advisor:handoff:1" and document["version"] == 1
    (index,) = document["schema_changes"]["create_indexes"]
    assert index["name"] == "posts_author_id_created_at_desc_idx" and index["keys"] == [
        "author_id",
        "created_at DESC",
    ]
    assert index["drizzle_code"] in markdown
    assert index["warnings"] == ["the table is written 50,000 times a day"]
    (drop,) = document["schema_changes"]["drop_indexes"]
    assert (
        drop["rollback_sql"] == "CREATE INDEX posts_title_idx ON public.posts USING btree (title);"
    )
    assert document["pending"]["indexes_to_drop"] == ["posts_title_idx"]
    assert [p["queryid"] for p in document["pending"]["value_probes"]] == [12]
    assert document["decisions"]["resolved"] == [
        {
            "what": "recommended index",
            "subject": "posts_status_idx",
            "outcome": "the index was created",
        }
    ]
    # The markdown says the decisions and pending items too.
    assert "- recommended index `posts_status_idx`: the index was created." in markdown
    assert f"- `{PROBE}`, about 40 ms a day: the unknown is the JSON key bound as $1" in markdown


def test_an_item_left_out_of_the_json_is_caught() -> None:
    handoff = handoff_model(_inputs(), CHANGES)
    markdown, document = render_handoff_markdown(handoff), json.loads(handoff_json(handoff))
    document["schema_changes"]["drop_indexes"][0]["rollback_sql"] = ""
    document["findings"]["index_health"][0]["rollback_sql"] = None
    document["migration"]["rollback_script"] = None
    missing = missing_from_json(markdown, document)
    assert "SQL: CREATE INDEX posts_title_idx ON public.posts USING btree (title);" in missing
    stripped = json.loads(handoff_json(handoff))
    stripped["pending"]["value_probes"] = []
    assert any(m.startswith("code span: " + PROBE) for m in missing_from_json(markdown, stripped))
    assert any(m.startswith("value probe:") for m in missing_from_json(markdown, stripped))
    with pytest.raises(jsonschema.ValidationError):
        validate({**document, "surprise": 1})
    assert json_sql(document) >= {"DROP INDEX CONCURRENTLY IF EXISTS public.posts_title_idx;"}


def test_a_handoff_with_nothing_to_do_validates_and_says_so() -> None:
    inputs = replace(_inputs(), analysis=None, findings=(), antipatterns=())
    handoff = handoff_model(inputs, Changes(None))
    document = json.loads(handoff_json(handoff))
    validate(document)
    assert document["analyzed"] is False and document["migration"]["concurrent_script"] is None
    markdown = render_handoff(inputs)
    assert "None yet: the advisor has not analyzed a workload." in markdown
    assert "This is the first report" in markdown and "Nothing open." in markdown
    assert missing_from_json(markdown, document) == []


def test_the_json_is_written_atomically_beside_the_handoff_and_deterministic(
    tmp_path: Path,
) -> None:
    paths = report_paths(tmp_path, None, "app", date(2026, 11, 24), per_database=False)
    assert paths.handoff_json == tmp_path / "role-comm-database.json"
    write_report(_inputs(), paths, None)
    first = paths.handoff_json.read_bytes()
    write_report(replace(_inputs()), paths, None)
    assert paths.handoff_json.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2026-11-24.md",
        "role-comm-database.json",
        "role-comm-database.md",
    ]
    configured = report_paths(
        tmp_path, Path("docs/{database}/handoff.md"), "app", date.today(), True
    )
    assert configured.handoff_json == Path("docs/app/handoff.json")
    with pytest.raises(UsageError, match="JSON twin"):
        report_paths(tmp_path, Path("handoff.json"), "app", date.today(), False)
