"""Drizzle code generation: names read from schema.ts, index callbacks that say what the
advisor's SQL says, and code the TypeScript compiler accepts."""

from __future__ import annotations

from pathlib import Path

from advisor.export.drizzle import (
    DrizzleTable,
    callback_snippet,
    camel_case,
    drizzle_table,
    for_drizzle,
    imports_needed,
    index_code,
    read_drizzle_schema,
    snake_case,
    ts_comment,
    ts_key,
    ts_string,
)
from advisor.model import IndexDesign, KeyColumn, TableName
from tests.drizzle_project import (
    CASING,
    SCHEMA,
    copy_project,
    insert_indexes,
    require_node,
    tsc,
)

POSTS = TableName("public", "posts")
COMMENTS = TableName("public", "comments")
EVENTS = TableName("public", "events")


def sample_schema() -> dict[TableName, DrizzleTable]:
    schema = read_drizzle_schema(SCHEMA.read_text(), CASING)
    return {TableName("public", t.sql_name): t for t in schema.tables}


def design(table: TableName, *keys: KeyColumn, **options: object) -> IndexDesign:
    return IndexDesign(table, keys, **options)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- names


def test_names_come_from_the_schema_file_explicit_or_by_casing() -> None:
    tables = sample_schema()
    assert set(tables) >= {POSTS, COMMENTS, TableName("public", "users")}
    users = tables[TableName("public", "users")]
    assert users.variable == "users"
    assert users.columns["display_name"] == "displayName"  # text('display_name')
    posts = tables[POSTS]
    assert posts.columns["author_id"] == "authorId"  # integer() with casing: 'snake_case'
    assert posts.columns["created_at"] == "createdAt"


def test_without_casing_a_column_without_sql_name_is_named_by_its_property() -> None:
    source = "export const posts = pgTable('posts', { authorId: integer(), title: text('t') });"
    (posts,) = read_drizzle_schema(source).tables
    assert dict(posts.columns) == {"authorId": "authorId", "t": "title"}


def test_unknown_tables_and_columns_fall_back_to_camel_case() -> None:
    derived = drizzle_table(None, TableName("public", "order_items"))
    assert derived.variable == "orderItems" and not derived.from_schema_file
    assert derived.property_of("created_at") == "createdAt"
    assert derived.property_of("total_cents") == "totalCents"
    code = index_code(design(EVENTS, KeyColumn.of("user_id")), drizzle_table(None, EVENTS))
    assert code.code == "index('events_user_id_idx').on(table.userId)"


def test_casing_helpers_agree_with_drizzle() -> None:
    assert snake_case("authorId") == "author_id"
    assert snake_case("HTTPStatus") == "http_status"
    assert camel_case("author_id") == "authorId"
    assert camel_case("2fa_secret") == "_2faSecret"


def test_reader_ignores_comments_strings_and_understands_other_declaration_forms() -> None:
    source = """
    import * as p from 'drizzle-orm/pg-core';
    // export const fake = pgTable('fake', { x: integer('y') });
    /* const other = pgTable('other', {}) */
    const app = p.pgSchema("app");
    export const notes = app.table('notes', {
      body: p.text('body_text').default('{ not: "a brace" }'),
      "kind-of": p.text(),
      ...timestamps,
    }, (n) => ({ byBody: p.index('x').on(n.body) }));
    export const tags = p.pgTable('tags', (t) => ({ label: t.text('tag_label') }));
    """
    schema = read_drizzle_schema(source)
    assert [t.variable for t in schema.tables] == ["notes", "tags"]
    notes = schema.table(TableName("app", "notes"))
    assert notes is not None
    assert dict(notes.columns) == {"body_text": "body", "kind-of": "kind-of"}
    assert (notes.callback_parameter, notes.callback_style) == ("n", "object")
    assert schema.table(TableName("public", "notes")) is None
    tags = schema.table(TableName("public", "tags"))
    assert tags is not None and dict(tags.columns) == {"tag_label": "label"}


# ---------------------------------------------------------------- index code


def test_desc_key_is_written_desc_nulls_first() -> None:
    posts = sample_schema()[POSTS]
    code = index_code(
        design(POSTS, KeyColumn.of("author_id"), KeyColumn.of("created_at", descending=True)),
        posts,
    )
    assert code.code == (
        "index('posts_author_id_created_at_desc_idx')"
        ".on(table.authorId, table.createdAt.desc().nullsFirst())"
    )
    assert not code.uses_sql


def test_desc_nulls_last_and_asc_nulls_first_say_so_explicitly() -> None:
    posts = sample_schema()[POSTS]
    code = index_code(
        design(
            POSTS,
            KeyColumn.of("status"),
            KeyColumn.of("created_at", descending=True, nulls_first=False),
            KeyColumn.of("id", nulls_first=True),
        ),
        posts,
    )
    assert ".on(table.status, table.createdAt.desc().nullsLast(), table.id.asc().nullsFirst())" in (
        code.code
    )


def test_index_whose_keys_all_run_desc_is_written_ascending() -> None:
    posts = sample_schema()[POSTS]
    reversed_keys = design(
        POSTS, KeyColumn.of("created_at", descending=True), KeyColumn.of("id", descending=True)
    )
    code = index_code(reversed_keys, posts)
    assert code.code == "index('posts_created_at_id_idx').on(table.createdAt, table.id)"
    assert code.design == for_drizzle(reversed_keys)
    assert code.design.name() == "posts_created_at_id_idx"
    assert "DESC" not in code.design.create_sql()


def test_partial_index_refers_to_columns_through_the_table() -> None:
    posts = sample_schema()[POSTS]
    code = index_code(
        design(POSTS, KeyColumn.of("author_id"), predicate="\"status\" = 'published'"), posts
    )
    assert code.code.endswith(".where(sql`${table.status} = 'published'`)")
    assert code.uses_sql
    qualified = index_code(
        design(POSTS, KeyColumn.of("id"), predicate="posts.created_at IS NOT NULL"), posts
    )
    assert qualified.code.endswith(".where(sql`${table.createdAt} IS NOT NULL`)")


def test_template_text_and_names_are_quoted() -> None:
    table = DrizzleTable("things", "things", columns={"kind": "kind-of"}, callback_parameter="t")
    code = index_code(
        design(
            TableName("public", "things"),
            KeyColumn.of("kind"),
            predicate="kind <> 'a`b${c}\\d'",
        ),
        table,
    )
    assert ".on(t['kind-of'])" in code.code
    assert "sql`${t['kind-of']} <> 'a\\`b\\${c}\\\\d'`" in code.code
    # A generated name holds no quote or line break; a string literal escapes them all.
    odd = index_code(design(TableName("public", "it's"), KeyColumn.of("x\n// y")), table)
    assert odd.code.startswith("index('it_s_x_y_idx')")
    assert ts_string("it's\n\r\u2028end") == "'it\\'s\\n\\r\\u2028end'"
    assert ts_key("kind-of") == "'kind-of'" and ts_key("kind") == "kind"
    assert ts_comment("INCLUDE (a)\nprocess.exit(1) //") == "INCLUDE (a) process.exit(1) //"


def test_other_access_methods_expressions_and_include() -> None:
    posts = sample_schema()[POSTS]
    brin = index_code(design(POSTS, KeyColumn.of("created_at"), access_method="brin"), posts)
    assert brin.code == "index('posts_created_at_brin').using('brin', table.createdAt)"
    expression = index_code(
        design(POSTS, KeyColumn("lower(title)", descending=True, is_expression=True)), posts
    )
    assert expression.code.endswith(".on(sql`(lower(${table.title})) DESC NULLS LAST`)")
    covering = index_code(design(POSTS, KeyColumn.of("author_id"), include=("title",)), posts)
    assert covering.code == "index('posts_author_id_incl_title_idx').on(table.authorId)"
    assert covering.missing == ("INCLUDE (title)",)
    snippet = callback_snippet(posts, [covering])
    assert "INCLUDE (title): Drizzle cannot declare it" in snippet
    assert imports_needed([brin]) == ("import { index } from 'drizzle-orm/pg-core';",)
    assert "import { sql } from 'drizzle-orm';" in imports_needed([brin, expression])


def test_snippet_uses_the_existing_callback_or_adds_one() -> None:
    tables = sample_schema()
    comments = tables[COMMENTS]
    code = index_code(design(COMMENTS, KeyColumn.of("post_id")), comments)
    assert callback_snippet(comments, [code]) == "  index('comments_post_id_idx').on(t.postId),"
    posts = tables[POSTS]
    added = callback_snippet(posts, [index_code(design(POSTS, KeyColumn.of("author_id")), posts)])
    assert added.startswith("export const posts = pgTable('posts', {")
    assert "}, (table) => [\n  index('posts_author_id_idx').on(table.authorId),\n]);" in added


# -------------------------------------------------------- the TypeScript compiler


def generated_indexes() -> dict[TableName, list[IndexDesign]]:
    return {
        POSTS: [
            design(POSTS, KeyColumn.of("author_id"), KeyColumn.of("created_at", descending=True)),
            design(POSTS, KeyColumn.of("created_at", descending=True)),
            design(POSTS, KeyColumn.of("status"), predicate="status = 'published'"),
            design(POSTS, KeyColumn.of("created_at"), access_method="brin"),
            design(POSTS, KeyColumn("lower(title)", is_expression=True)),
            design(POSTS, KeyColumn.of("author_id"), include=("title", "status")),
        ],
        COMMENTS: [design(COMMENTS, KeyColumn.of("post_id"), KeyColumn.of("created_at"))],
    }


def test_generated_code_compiles_in_the_sample_schema(tmp_path: Path) -> None:
    require_node()
    project = copy_project(tmp_path / "app")
    tables = sample_schema()
    changes = {
        table: [index_code(d, tables[table]) for d in designs]
        for table, designs in generated_indexes().items()
    }
    schema = project / "schema.ts"
    schema.write_text(insert_indexes(schema.read_text(), changes))
    result = tsc(project)
    assert result.returncode == 0, result.stdout + result.stderr + schema.read_text()


def test_the_compiler_check_catches_a_wrong_property(tmp_path: Path) -> None:
    require_node()
    project = copy_project(tmp_path / "app")
    wrong = DrizzleTable("posts", "posts", columns={"author_id": "authorID"})
    changes = {POSTS: [index_code(design(POSTS, KeyColumn.of("author_id")), wrong)]}
    schema = project / "schema.ts"
    schema.write_text(insert_indexes(schema.read_text(), changes))
    result = tsc(project)
    assert result.returncode != 0
    assert "authorID" in result.stdout
