"""Application anti-patterns found in a workload: N+1, every column read, foreign keys
without an index, sequential scans of large tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from advisor.analyze.antipatterns import (
    WorkloadFacts,
    find_antipatterns,
    returned_whole,
)
from advisor.analyze.parse import parse_statement
from advisor.analyze.transactions import transaction_counts
from advisor.config import Settings, antipattern_settings, parse_settings
from advisor.history import (
    TableCounters,
)
from advisor.model import (
    Antipattern,
    AntipatternKind,
    Column,
    ForeignKey,
    Index,
    IndexDesign,
    KeyColumn,
    ParsedStatement,
    Recommendation,
    Schema,
    Statement,
    Table,
    TableName,
)

USERS = TableName("public", "users")
POSTS = TableName("public", "posts")
COMMENTS = TableName("public", "comments")
EVENTS = TableName("public", "events")
DAY = 86_400.0
MIB = 1024 * 1024


def table(name: TableName, *columns: str, indexes: Sequence[Index] = (), large: str = "") -> Table:
    return Table(
        name,
        tuple(Column(c, "text", avg_width_bytes=4_000 if c == large else 8) for c in columns),
        indexes=tuple(indexes),
        row_estimate=50_000,
    )


def primary(name: TableName) -> Index:
    return Index(f"{name.name}_pkey", name, (KeyColumn.of("id"),), unique=True, primary=True)


def schema(*extra_indexes: Index) -> Schema:
    comment_indexes = [primary(COMMENTS), *(i for i in extra_indexes if i.table == COMMENTS)]
    events = [f"c{n}" for n in range(14)]
    return Schema(
        {
            USERS: table(USERS, "id", "email", indexes=[primary(USERS)]),
            POSTS: table(
                POSTS,
                "id",
                "author_id",
                "title",
                "body",
                "created_at",
                indexes=[primary(POSTS)],
                large="body",
            ),
            COMMENTS: table(
                COMMENTS, "id", "post_id", "author_id", "body", indexes=comment_indexes
            ),
            EVENTS: table(EVENTS, "id", "kind", *events, indexes=[primary(EVENTS)]),
        }
    )


FOREIGN_KEYS = (
    ForeignKey("posts_author_id_fkey", POSTS, ("author_id",), USERS, ("id",)),
    ForeignKey("comments_post_id_fkey", COMMENTS, ("post_id",), POSTS, ("id",)),
)

PARENT = "SELECT id, title FROM posts ORDER BY created_at DESC LIMIT $1"
CHILD = "SELECT id, body FROM comments WHERE post_id = $1"


def facts(
    statements: Sequence[tuple[str, int, int]],
    db: Schema | None = None,
    tables: Sequence[TableCounters] = (),
    recommendations: Sequence[Recommendation] = (),
    window_seconds: float = DAY,
) -> WorkloadFacts:
    """(text, calls, rows) statements over a window of a day."""
    db = db or schema()
    rows = [
        Statement(n, text, calls, calls * 1.0, rows=r)
        for n, (text, calls, r) in enumerate(statements, 1)
    ]
    parsed = {}
    for statement in rows:
        result = parse_statement(statement.queryid, statement.text, db, parse_settings(Settings()))
        assert isinstance(result, ParsedStatement), result
        parsed[statement.queryid] = result
    return WorkloadFacts(
        statements=tuple(rows),
        parsed=parsed,
        schema=db,
        foreign_keys=FOREIGN_KEYS,
        tables=tuple(tables),
        window_seconds=window_seconds,
        tables_window_seconds=window_seconds,
        recommendations=tuple(recommendations),
    )


def found(workload: WorkloadFacts, kind: AntipatternKind) -> list[Antipattern]:
    return [
        a for a in find_antipatterns(workload, antipattern_settings(Settings())) if a.kind is kind
    ]


# ---------------------------------------------------------------------------- N+1


def test_lookup_by_foreign_key_repeated_per_parent_row_is_n_plus_one() -> None:
    (finding,) = found(facts([(PARENT, 5, 100), (CHILD, 100, 300)]), AntipatternKind.N_PLUS_ONE)
    assert finding.table == COMMENTS and finding.parent_table == POSTS
    assert finding.columns == ("post_id",)
    assert finding.queryids == (2,) and finding.parent_queryid == 1
    assert "100 times, 20 times per call" in finding.evidence


def test_lookups_at_a_low_ratio_are_not_n_plus_one() -> None:
    workload = facts([(PARENT, 20, 400), (CHILD, 100, 300)])
    assert not found(workload, AntipatternKind.N_PLUS_ONE)


def test_a_parent_returning_one_row_per_call_is_no_parent() -> None:
    single = "SELECT id, title FROM posts WHERE id = $1"
    assert not found(facts([(single, 5, 5), (CHILD, 100, 300)]), AntipatternKind.N_PLUS_ONE)


def test_a_join_with_the_parent_table_is_not_n_plus_one() -> None:
    joined = "SELECT c.id FROM comments c JOIN posts p ON p.id = c.post_id WHERE c.post_id = $1"
    assert not found(facts([(PARENT, 5, 100), (joined, 100, 300)]), AntipatternKind.N_PLUS_ONE)


def test_a_lookup_by_a_column_that_is_no_foreign_key_is_not_n_plus_one() -> None:
    by_author = "SELECT id FROM comments WHERE author_id = $1"
    assert not found(facts([(PARENT, 5, 100), (by_author, 100, 300)]), AntipatternKind.N_PLUS_ONE)


def test_a_handful_of_repeated_calls_is_no_pattern() -> None:
    assert not found(facts([(PARENT, 1, 20), (CHILD, 20, 60)]), AntipatternKind.N_PLUS_ONE)


# ------------------------------------------------------------------ every column


def test_select_star_of_a_table_with_a_large_column_in_a_frequent_statement() -> None:
    (finding,) = found(
        facts([("SELECT * FROM posts WHERE id = $1", 5_000, 5_000)]),
        AntipatternKind.READS_EVERY_COLUMN,
    )
    assert finding.table == POSTS and finding.columns == ("body",)
    assert "all 5 columns of public.posts including body (large)" in finding.evidence


def test_listing_every_column_of_a_wide_table_counts_as_reading_every_column() -> None:
    db = schema()
    columns = ", ".join(f'"events"."{c.name}"' for c in db.tables[EVENTS].columns)
    text = f'select {columns} from "events" where "events"."kind" = $1'
    (finding,) = found(facts([(text, 2_000, 2_000)], db), AntipatternKind.READS_EVERY_COLUMN)
    assert finding.table == EVENTS and finding.columns == ()


def test_narrow_reads_rare_statements_and_narrow_tables_are_not_reported() -> None:
    workload = facts(
        [
            ("SELECT id, title FROM posts WHERE id = $1", 5_000, 5_000),
            ("SELECT * FROM posts WHERE author_id = $1", 10, 10),
            ("SELECT * FROM users WHERE id = $1", 5_000, 5_000),
        ]
    )
    assert not found(workload, AntipatternKind.READS_EVERY_COLUMN)


def test_the_inner_star_of_a_relational_query_is_not_reported() -> None:
    relational = (
        'select "users"."id", "p"."data" from "users" left join lateral (select '
        'coalesce(json_agg(json_build_array("p"."id", "p"."title")), \'[]\'::json) as "data" '
        'from (select * from "posts" "p" where "p"."author_id" = "users"."id" limit $1) "p") '
        '"p" on true where "users"."id" = $2'
    )
    assert returned_whole(relational, schema()) == []
    star = returned_whole("select p.* from posts p join users u on u.id = p.author_id", schema())
    assert [t.name for t in star] == [POSTS]


# ----------------------------------------------------------------- foreign keys


def test_foreign_key_without_an_index_is_reported_with_the_index_that_fixes_it() -> None:
    findings = found(facts([]), AntipatternKind.UNINDEXED_FOREIGN_KEY)
    assert [(f.table, f.columns) for f in findings] == [
        (COMMENTS, ("post_id",)),
        (POSTS, ("author_id",)),
    ]
    assert findings[0].fix_index == IndexDesign(COMMENTS, (KeyColumn.of("post_id"),))
    assert findings[0].recommendation is None


def test_an_index_leading_with_the_key_serves_it_but_not_a_partial_or_later_one() -> None:
    leading = Index("c_post", COMMENTS, (KeyColumn.of("post_id"), KeyColumn.of("id")))
    later = Index("c_author_post", COMMENTS, (KeyColumn.of("author_id"), KeyColumn.of("post_id")))
    partial = Index("c_post_part", COMMENTS, (KeyColumn.of("post_id"),), predicate="id > 0")
    invalid = Index("c_post_bad", COMMENTS, (KeyColumn.of("post_id"),), valid=False)
    tables = [
        f.table for f in found(facts([], schema(leading)), AntipatternKind.UNINDEXED_FOREIGN_KEY)
    ]
    assert COMMENTS not in tables
    for useless in (later, partial, invalid):
        db = schema(useless)
        tables = [f.table for f in found(facts([], db), AntipatternKind.UNINDEXED_FOREIGN_KEY)]
        assert COMMENTS in tables, useless.name


def test_a_recommended_index_leading_with_the_key_is_named_as_the_fix() -> None:
    design = IndexDesign(POSTS, (KeyColumn.of("author_id"), KeyColumn.of("created_at")))
    recommendation = Recommendation(design, 1_000, 5_000.0, ())
    findings = found(
        facts([], recommendations=[recommendation]), AntipatternKind.UNINDEXED_FOREIGN_KEY
    )
    by_table = {f.table: f.recommendation for f in findings}
    assert by_table == {COMMENTS: None, POSTS: "posts_author_id_created_at_idx"}


# ------------------------------------------------------------- sequential scans


def counters(name: TableName, scans: int, size_mib: float) -> TableCounters:
    return TableCounters(
        name, seq_scan=scans, seq_tup_read=scans * 50_000, size_bytes=int(size_mib * MIB)
    )


def test_frequent_scans_of_a_large_table_point_to_the_recommendation_that_helps() -> None:
    design = IndexDesign(POSTS, (KeyColumn.of("author_id"),))
    recommendation = Recommendation(design, 1_000, 5_000.0, ())
    workload = facts(
        [("SELECT id FROM posts WHERE author_id = $1", 500, 500)],
        tables=[counters(POSTS, 500, 80), counters(USERS, 500, 2), counters(COMMENTS, 20, 80)],
        recommendations=[recommendation],
    )
    (finding,) = found(workload, AntipatternKind.SEQUENTIAL_SCANS)
    assert finding.table == POSTS and finding.recommendation == "posts_author_id_idx"
    assert finding.queryids == (1,)
    assert "about 500 sequential scans a day" in finding.evidence


def test_scans_no_recommendation_helps_say_so() -> None:
    workload = facts([], tables=[counters(POSTS, 500, 80)])
    (finding,) = found(workload, AntipatternKind.SEQUENTIAL_SCANS)
    assert finding.recommendation is None


def test_findings_are_ordered_by_kind_then_table() -> None:
    workload = facts(
        [(PARENT, 5, 100), (CHILD, 100, 300), ("SELECT * FROM posts WHERE id = $1", 5_000, 5_000)],
        tables=[counters(POSTS, 500, 80)],
    )
    kinds = [a.kind for a in find_antipatterns(workload, antipattern_settings(Settings()))]
    assert kinds == sorted(kinds, key=list(AntipatternKind).index)
    assert find_antipatterns(workload, antipattern_settings(Settings())) == find_antipatterns(
        workload, antipattern_settings(Settings())
    )


# ------------------------------------------------------ writes outside a transaction

NEW_POST = "INSERT INTO posts (author_id, title, body) VALUES ($1, $2, $3) RETURNING id"
NEW_COMMENT = "INSERT INTO comments (post_id, author_id, body) VALUES ($1, $2, $3)"


def writes(*control: tuple[str, int], calls: int = 1_204, tracked: bool = True) -> WorkloadFacts:
    statements = [
        Statement(n, text, c, 1.0)
        for n, (text, c) in enumerate([(NEW_POST, calls), (NEW_COMMENT, calls), *control], 1)
    ]
    base = facts([])
    return replace(
        base,
        statements=tuple(statements),
        transactions=transaction_counts(statements, tracked, transactions=2_500),
    )


def test_transaction_control_is_counted_by_kind_whatever_its_spelling() -> None:
    counts = transaction_counts(
        [
            Statement(1, "begin", 10, 1.0),
            Statement(2, "START TRANSACTION ISOLATION LEVEL SERIALIZABLE", 2, 1.0),
            Statement(3, "COMMIT", 9, 1.0),
            Statement(4, "end", 1, 1.0),
            Statement(5, "rollback", 2, 1.0),
            Statement(6, "ROLLBACK TO SAVEPOINT a", 3, 1.0),  # neither: inside one
            Statement(7, NEW_POST, 30, 1.0),
        ],
        tracked=True,
    )
    assert (counts.begins, counts.commits, counts.rollbacks) == (12, 10, 2)
    assert counts.calls == 30


def test_related_inserts_with_no_begin_ran_as_separate_transactions() -> None:
    (finding,) = found(writes(), AntipatternKind.WRITES_OUTSIDE_TRANSACTION)
    assert (finding.table, finding.parent_table, finding.columns) == (COMMENTS, POSTS, ("post_id",))
    assert finding.parent_columns == ("id",)
    assert finding.queryids == (1, 2)
    assert "INSERT INTO public.posts and INSERT INTO public.comments ran 1,204 times each" in (
        finding.evidence
    )
    assert "no transaction wrapped them" in finding.evidence
    assert "2,500 transactions" in finding.evidence


def test_too_few_begins_are_indirect_evidence_that_says_what_would_make_it_certain() -> None:
    (finding,) = found(
        writes(("BEGIN", 100), ("COMMIT", 100)), AntipatternKind.WRITES_OUTSIDE_TRANSACTION
    )
    assert "at least 1,104 ran outside a transaction" in finding.evidence
    assert "log_line_prefix with %v" in finding.evidence


def test_no_finding_when_begins_could_wrap_them_or_are_not_counted_or_calls_are_few() -> None:
    wrapped = writes(("BEGIN", 1_204), ("COMMIT", 1_204))
    assert found(wrapped, AntipatternKind.WRITES_OUTSIDE_TRANSACTION) == []
    assert found(writes(tracked=False), AntipatternKind.WRITES_OUTSIDE_TRANSACTION) == []
    assert found(writes(calls=20), AntipatternKind.WRITES_OUTSIDE_TRANSACTION) == []
    assert (
        found(replace(writes(), transactions=None), AntipatternKind.WRITES_OUTSIDE_TRANSACTION)
        == []
    )
