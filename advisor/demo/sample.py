"""A sample application for the demo, the tests and the benchmarks: the schema of a small
multi-tenant blog as Drizzle ORM creates it, data with realistic sizes, and the statements
its API sends (quoted identifiers, pagination, foreign-key lookups, a relational query)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SCHEMA_SQL = """
CREATE TABLE "organizations" (
    "id" serial PRIMARY KEY,
    "name" text NOT NULL,
    "plan" text NOT NULL DEFAULT 'free'
);
CREATE TABLE "users" (
    "id" serial PRIMARY KEY,
    "organization_id" integer NOT NULL REFERENCES "organizations"("id"),
    "email" text NOT NULL UNIQUE,
    "display_name" text NOT NULL,
    "created_at" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE "posts" (
    "id" serial PRIMARY KEY,
    "author_id" integer NOT NULL REFERENCES "users"("id"),
    "title" text NOT NULL,
    "body" text NOT NULL,
    "status" text NOT NULL DEFAULT 'draft',
    "created_at" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE "comments" (
    "id" serial PRIMARY KEY,
    "post_id" integer NOT NULL REFERENCES "posts"("id"),
    "author_id" integer NOT NULL REFERENCES "users"("id"),
    "body" text NOT NULL,
    "created_at" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE "orders" (
    "id" bigserial PRIMARY KEY,
    "organization_id" integer NOT NULL REFERENCES "organizations"("id"),
    "status" text NOT NULL,
    "total_cents" integer NOT NULL,
    "created_at" timestamptz NOT NULL
);
"""


def data_sql(scale: int = 1) -> str:
    """INSERTs generating the data: about 200k posts (by one user in ten), 400k comments and
    200k orders at scale 1, with deterministic pseudo-random values."""
    users, posts, comments, orders = (
        20_000 * scale,
        200_000 * scale,
        400_000 * scale,
        200_000 * scale,
    )
    writers = users // 10  # one user in ten writes posts: about 100 each
    return f"""
SELECT setseed(0.42);
INSERT INTO "organizations" ("name", "plan")
SELECT 'org ' || g, (ARRAY['free','team','enterprise'])[1 + g % 3] FROM generate_series(1, 500) g;
INSERT INTO "users" ("organization_id", "email", "display_name", "created_at")
SELECT 1 + g % 500, 'user' || g || '@example.com', 'User ' || g,
       now() - (g || ' minutes')::interval
FROM generate_series(1, {users}) g;
INSERT INTO "posts" ("author_id", "title", "body", "status", "created_at")
SELECT 1 + (random() * ({writers} - 1))::int, 'Post ' || g, repeat('lorem ipsum ', 20),
       (ARRAY['draft','published','published','published','archived'])[1 + g % 5],
       now() - ((random() * 365 * 24 * 60)::int || ' minutes')::interval
FROM generate_series(1, {posts}) g;
INSERT INTO "comments" ("post_id", "author_id", "body", "created_at")
SELECT 1 + (random() * ({posts} - 1))::int, 1 + (random() * ({users} - 1))::int,
       'a comment ' || g, now() - ((random() * 365 * 24 * 60)::int || ' minutes')::interval
FROM generate_series(1, {comments}) g;
INSERT INTO "orders" ("organization_id", "status", "total_cents", "created_at")
SELECT 1 + g % 500, (ARRAY['pending','paid','paid','paid','refunded'])[1 + g % 5],
       (random() * 100000)::int, now() - ((g * 2) || ' minutes')::interval
FROM generate_series(1, {orders}) g;
"""


Params = Callable[[random.Random], Sequence[Any]]


@dataclass(frozen=True)
class SampleStatement:
    """A statement of the sample application (psycopg `%s` placeholders), how to make its
    parameters, how often the application runs it, and the index a DBA would add for it."""

    name: str
    sql: str
    params: Params
    calls: int
    dba_index: str | None


def _since(rng: random.Random) -> datetime:
    return datetime.now(UTC) - timedelta(days=rng.randint(1, 300))


def _user(rng: random.Random) -> int:
    return rng.randint(1, 20_000)


def _writer(rng: random.Random) -> int:
    """A user who writes posts (the first tenth of them)."""
    return rng.randint(1, 2_000)


def _post(rng: random.Random) -> int:
    return rng.randint(1, 200_000)


STATEMENTS: tuple[SampleStatement, ...] = (
    SampleStatement(
        "author feed (pagination)",
        'select "id", "title", "created_at" from "posts" where "posts"."author_id" = %s '
        'order by "posts"."created_at" desc limit %s',
        lambda rng: (_writer(rng), 20),
        60,
        'CREATE INDEX ON "posts" ("author_id", "created_at")',
    ),
    SampleStatement(
        "comments of a post (foreign key)",
        'select "id", "author_id", "body", "created_at" from "comments" '
        'where "comments"."post_id" = %s',
        lambda rng: (_post(rng),),
        80,
        'CREATE INDEX ON "comments" ("post_id")',
    ),
    SampleStatement(
        "orders of an organization by status (multi-column equality)",
        'select "id", "total_cents" from "orders" where "orders"."organization_id" = %s '
        'and "orders"."status" = %s',
        lambda rng: (rng.randint(1, 500), "refunded"),
        40,
        'CREATE INDEX ON "orders" ("organization_id", "status")',
    ),
    SampleStatement(
        "revenue in a time range (range filter)",
        'select sum("total_cents") from "orders" where "orders"."created_at" >= %s '
        'and "orders"."created_at" < %s',
        lambda rng: (_since(rng), _since(rng) + timedelta(hours=6)),
        30,
        'CREATE INDEX ON "orders" ("created_at")',
    ),
    SampleStatement(
        "user with latest posts (Drizzle relational query)",
        'select "users"."id", "users"."display_name", "users_posts"."data" as "posts" '
        'from "users" "users" left join lateral (select coalesce(json_agg(json_build_array('
        '"users_posts"."id", "users_posts"."title", "users_posts"."created_at") order by '
        '"users_posts"."created_at" desc), \'[]\'::json) as "data" from (select * from '
        '"posts" "users_posts" where "users_posts"."author_id" = "users"."id" order by '
        '"users_posts"."created_at" desc limit %s) "users_posts") "users_posts" on true '
        'where "users"."id" = %s limit %s',
        lambda rng: (5, _writer(rng), 1),
        40,
        'CREATE INDEX ON "posts" ("author_id", "created_at")',
    ),
    SampleStatement(
        "login by email (already indexed)",
        'select "id", "display_name" from "users" where "users"."email" = %s',
        lambda rng: (f"user{_user(rng)}@example.com",),
        60,
        None,
    ),
    SampleStatement(
        "comment count per post of an author (join)",
        'select "posts"."id", count("comments"."id") from "posts" inner join "comments" '
        'on "comments"."post_id" = "posts"."id" where "posts"."author_id" = %s '
        'group by "posts"."id"',
        lambda rng: (_writer(rng),),
        20,
        'CREATE INDEX ON "comments" ("post_id")',
    ),
)
