"""An OLTP workload for the quality benchmark: a multi-tenant issue tracker written with
Drizzle ORM (PostgreSQL 16, node-postgres).

The application
    Organisations (tenants) have users and projects; projects have issues and labels;
    issues have comments and labels (the join table `issue_labels`); every change is
    appended to the audit log `events`; users get `notifications`. Each table has a serial
    primary key (`issue_labels` a composite one), `users.email` is unique, and the foreign
    keys are declared but, as PostgreSQL does not index them, not indexed: finding the
    ones the workload needs is part of what an advisor must do. There are no secondary
    indexes.

The data (generated inside PostgreSQL, deterministic, skewed)
    Every value is a function of the row number: `hashtext(g::text || salt)` gives the
    pseudo-random draws (`setseed` does not survive across separately executed
    statements), so the same scale always gives the same rows. Tenants are Zipf-like: org
    1 is the huge customer with a quarter of all users and projects, the others shrink
    like 1/k down to a long tail of tiny organisations; users and projects have ids that
    are contiguous per organisation (an org's members are a range), so Python knows the
    exact ranges it draws parameters from. Issues pick their project partly at random
    and partly from a power-law over "hot" projects; most issues are 'closed', few are
    'open' or 'in_progress' (more of them among the recent ones), 'archived' is rare, 2 %
    are soft-deleted. Comments per issue are skewed the same way (a few threads with
    thousands of comments). `events` is append-only: its "createdAt" grows with its id
    and it mostly refers to recent issues. About 9 % of notifications are unread, mostly
    recent ones. At scale 1.0 that is about 1.8 million rows.

The statements
    Written character for character the way Drizzle renders them: every identifier
    double-quoted and qualified by its table, `and(...)` in parentheses, every value bound
    as a parameter (limits and offsets too), `inArray` as `in ($1, $2)`, relational
    queries (`db.query.issues.findFirst({with: {comments: ...}})`) as a `left join lateral`
    whose subquery builds the children with `json_agg(json_build_array(...))`, inserts
    with `default` for the serial id and `returning "id"`. They cover what such an app
    runs all day: lookups by primary key and by email (already indexed: the advisors
    should leave them alone), children of a parent through an unindexed foreign key,
    counts per tenant and status, pagination with LIMIT/OFFSET and by keyset, the unread
    notifications, soft-delete filters, recent audit events, a few rare reports, and the
    writes (inserts, updates and deletes by id) whose index maintenance an advisor should
    weigh. Weights are calls per round: hot reads 100-250, writes 20-100, reports 3-15;
    without secondary indexes a round takes about 30 s at scale 1.0 on two cores.

Parameters are drawn from a `random.Random` per statement with the same skew as the data
(the big tenant, hot projects and issues, the common statuses come up more often). Integer
parameters of one position of a statement always lie in one of psycopg's size classes
(int2 below 32768, int4 above): psycopg sends a Python int as int2, int4 or int8 depending
on its value, and the parameter type is part of pg_stat_statements' queryid, so mixing
them would split one statement into several entries. Timestamps are timezone-aware
`datetime`s for the `timestamptz` columns. Writes are repeatable on a fresh copy: inserts
take the serial default and refer to existing rows, updates and deletes by id touch at
most one row and do not fail when it is gone.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.qualityspec import HandIndex, QualityStatement, QualityWorkload

DEFAULT_SEED = 20_240_101

# Rows at scale 1.0.
ORGS = 1_000
USERS = 50_000
PROJECTS = 8_000
LABELS_PER_PROJECT = 3
ISSUES = 200_000
COMMENTS = 500_000
EVENTS = 600_000
NOTIFICATIONS = 200_000

# The big tenant's share of the users and projects (beyond one each for every org).
BIG_TENANT_SHARE = 0.25
# The data spans two years; issues are created during the first 700 days, so that their
# comments and updates (at most 30 days later) still fall before END.
START = datetime(2022, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_SECONDS = (END - START).total_seconds()
ISSUE_SPAN_SECONDS = 700 * 86_400.0
START_SQL = "timestamptz '2022-01-01 00:00:00+00'"
END_SQL = "timestamptz '2024-01-01 00:00:00+00'"

STATUSES = ("open", "in_progress", "closed", "archived")
PARAM_SETS = 8
INT2_MAX = 32_767
# Multipliers that scatter "hot" ranks over the ids (coprime with the row count).
SCATTER_PRIMES = (7_919, 7_927, 7_933, 7_937, 7_949, 7_951, 7_963, 7_993)


# ---------------------------------------------------------------------------- the shape


@dataclass(frozen=True)
class Shape:
    """The row counts at one scale and the tenants' id ranges, shared by the SQL that
    generates the data and the Python that draws the parameters."""

    orgs: int
    users: int
    projects: int
    issues: int
    comments: int
    events: int
    notifications: int
    # Per organisation (index 0 is org 1): the first user/project id and how many.
    user_starts: tuple[int, ...]
    user_sizes: tuple[int, ...]
    project_starts: tuple[int, ...]
    project_sizes: tuple[int, ...]

    @property
    def labels(self) -> int:
        return self.projects * LABELS_PER_PROJECT

    def org_of_user(self, user_id: int) -> int:
        return bisect_right(self.user_starts, user_id)

    @property
    def m_projects(self) -> int:
        return scatter_multiplier(self.projects)

    @property
    def m_issues(self) -> int:
        return scatter_multiplier(self.issues)

    @property
    def m_users(self) -> int:
        return scatter_multiplier(self.users)


def scatter_multiplier(n: int) -> int:
    """A prime coprime with `n`: rank r -> 1 + (r * m) % n is then a permutation."""
    return next(p for p in SCATTER_PRIMES if math.gcd(p, n) == 1)


def tenant_sizes(total: int, groups: int) -> list[int]:
    """`total` items over `groups` tenants: one each, then the big tenant's share to org 1
    and the rest like 1/k (Zipf) over orgs 2..groups, remainders to org 1."""
    sizes = [1] * groups
    rest = total - groups
    if groups > 1:
        harmonic = sum(1.0 / k for k in range(2, groups + 1))
        for k in range(2, groups + 1):
            sizes[k - 1] += int(rest * (1.0 - BIG_TENANT_SHARE) / k / harmonic)
    sizes[0] += total - sum(sizes)
    return sizes


def starts_of(sizes: Sequence[int]) -> tuple[int, ...]:
    """The first id of each group when the ids are handed out in group order."""
    starts: list[int] = []
    next_id = 1
    for size in sizes:
        starts.append(next_id)
        next_id += size
    return tuple(starts)


def make_shape(scale: float) -> Shape:
    """The row counts and tenant ranges at `scale`."""

    def rows(base: int, minimum: int) -> int:
        return max(minimum, round(base * scale))

    orgs = rows(ORGS, 3)
    users = rows(USERS, 4 * orgs)
    projects = rows(PROJECTS, 2 * orgs)
    user_sizes = tenant_sizes(users, orgs)
    project_sizes = tenant_sizes(projects, orgs)
    return Shape(
        orgs=orgs,
        users=users,
        projects=projects,
        issues=rows(ISSUES, 100),
        comments=rows(COMMENTS, 200),
        events=rows(EVENTS, 200),
        notifications=rows(NOTIFICATIONS, 100),
        user_starts=starts_of(user_sizes),
        user_sizes=tuple(user_sizes),
        project_starts=starts_of(project_sizes),
        project_sizes=tuple(project_sizes),
    )


# ------------------------------------------------------------------------- the schema

DDL = (
    """create table "organizations" (
    "id" serial not null,
    "name" text not null,
    "slug" text not null,
    "plan" text default 'free' not null,
    "createdAt" timestamp with time zone default now() not null
)""",
    """create table "users" (
    "id" serial not null,
    "orgId" integer not null,
    "email" text not null,
    "name" text not null,
    "role" text default 'member' not null,
    "lastLoginAt" timestamp with time zone,
    "createdAt" timestamp with time zone default now() not null
)""",
    """create table "projects" (
    "id" serial not null,
    "orgId" integer not null,
    "name" text not null,
    "key" text not null,
    "createdAt" timestamp with time zone default now() not null,
    "archivedAt" timestamp with time zone
)""",
    """create table "issues" (
    "id" serial not null,
    "projectId" integer not null,
    "authorId" integer not null,
    "assigneeId" integer,
    "title" text not null,
    "status" text default 'open' not null,
    "priority" integer default 0 not null,
    "createdAt" timestamp with time zone default now() not null,
    "updatedAt" timestamp with time zone default now() not null,
    "deletedAt" timestamp with time zone
)""",
    """create table "comments" (
    "id" serial not null,
    "issueId" integer not null,
    "authorId" integer not null,
    "body" text not null,
    "createdAt" timestamp with time zone default now() not null
)""",
    """create table "labels" (
    "id" serial not null,
    "projectId" integer not null,
    "name" text not null,
    "color" text not null
)""",
    """create table "issue_labels" (
    "issueId" integer not null,
    "labelId" integer not null
)""",
    """create table "events" (
    "id" bigserial not null,
    "orgId" integer not null,
    "actorId" integer not null,
    "issueId" integer,
    "type" text not null,
    "createdAt" timestamp with time zone default now() not null
)""",
    """create table "notifications" (
    "id" serial not null,
    "userId" integer not null,
    "issueId" integer not null,
    "kind" text not null,
    "readAt" timestamp with time zone,
    "createdAt" timestamp with time zone default now() not null
)""",
)

SERIAL_TABLES = (
    "organizations",
    "users",
    "projects",
    "issues",
    "comments",
    "labels",
    "events",
    "notifications",
)

# (table, column, referenced table): named the way drizzle-kit names them.
FOREIGN_KEYS = (
    ("users", "orgId", "organizations"),
    ("projects", "orgId", "organizations"),
    ("issues", "projectId", "projects"),
    ("issues", "authorId", "users"),
    ("issues", "assigneeId", "users"),
    ("comments", "issueId", "issues"),
    ("comments", "authorId", "users"),
    ("labels", "projectId", "projects"),
    ("issue_labels", "issueId", "issues"),
    ("issue_labels", "labelId", "labels"),
    ("events", "orgId", "organizations"),
    ("events", "actorId", "users"),
    ("events", "issueId", "issues"),
    ("notifications", "userId", "users"),
    ("notifications", "issueId", "issues"),
)


def constraints_sql() -> list[str]:
    """Primary keys, the unique email, the foreign keys and the sequences' positions."""
    sql = [
        f'alter table "{table}" add constraint "{table}_pkey" primary key ("id")'
        for table in SERIAL_TABLES
    ]
    sql.append(
        'alter table "issue_labels" add constraint "issue_labels_issueId_labelId_pk" '
        'primary key ("issueId", "labelId")'
    )
    sql.append('alter table "users" add constraint "users_email_unique" unique ("email")')
    for table, column, parent in FOREIGN_KEYS:
        sql.append(
            f'alter table "{table}" add constraint "{table}_{column}_{parent}_id_fk" '
            f'foreign key ("{column}") references "public"."{parent}"("id") '
            "on delete no action on update no action"
        )
    sql.extend(
        f"select setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
        f'(select max("id") from "{table}"))'
        for table in SERIAL_TABLES
    )
    return sql


# --------------------------------------------------------------------------- the data


def rand01(expr: str, salt: str) -> str:
    """A uniform draw in [0, 1) from the value of `expr`."""
    return f"((hashtext(({expr})::text || '{salt}')::int8 & 2147483647)::float8 / 2147483648.0)"


def rand_int(expr: str, salt: str) -> str:
    """A non-negative pseudo-random int8 from the value of `expr`."""
    return f"(hashtext(({expr})::text || '{salt}')::int8 & 2147483647)"


def _scatter(rank: str, n: int, multiplier: int) -> str:
    """Rank 0, 1, 2, ... spread over the ids 1..n (a permutation)."""
    return f"(1 + (({rank})::int8 * {multiplier}) % {n})::int"


def _array(values: Sequence[int]) -> str:
    return "'{" + ",".join(str(v) for v in values) + "}'::int[]"


def _issue_project(shape: Shape, x: str) -> str:
    """The project of issue `x`: 60 % uniform, 40 % from a power law over hot projects."""
    p = shape.projects
    hot = _scatter(f"floor({p} * power({rand01(x, 'iq')}, 3))", p, shape.m_projects)
    uniform = f"1 + floor({p} * {rand01(x, 'iq')})::int"
    return f"(case when {rand01(x, 'ip')} < 0.6 then {uniform} else {hot} end)"


def _issue_created(shape: Shape, x: str) -> str:
    """Issue `x`'s creation time: increasing with the id, jittered within its slot."""
    step = ISSUE_SPAN_SECONDS / shape.issues
    return f"({START_SQL} + (({x}) - 1 + {rand01(x, 'ic')}) * {step!r} * interval '1 second')"


def _recent_issue(shape: Shape, g: str, rows: int) -> str:
    """An issue for row `g` of a table spread over the whole span: mostly one created
    shortly before the row's time."""
    per_row = shape.issues * SPAN_SECONDS / ISSUE_SPAN_SECONDS / rows
    cap = f"least({shape.issues}, ({g})::float8 * {per_row!r})"
    return f"greatest(1, ceil({cap} * (1 - power({rand01(g, 'rx')}, 3))))::int"


def _tenants_cte(shape: Shape) -> str:
    return (
        f"with t as (select {_array(shape.user_starts)} as us, {_array(shape.user_sizes)} as uz, "
        f"{_array(shape.project_starts)} as ps)\n"
    )


def load_sql(shape: Shape) -> list[str]:
    """The INSERT ... SELECT statements filling the tables, parents first."""
    s = shape
    tenants = _tenants_cte(s)
    team = max(1, s.orgs // 10)
    recent_issue = int(0.9 * s.issues)
    recent_notification = int(0.9 * s.notifications)
    event_step = SPAN_SECONDS / s.events
    notification_step = SPAN_SECONDS / s.notifications
    titles = (
        "'{crash on login,slow dashboard,export fails,typo in settings,"
        "broken link in footer,add dark mode,memory leak in worker,"
        "timeout on search,wrong totals in report,upgrade dependencies,"
        "flaky integration test,improve onboarding}'::text[]"
    )
    organizations = f"""insert into "organizations" ("id", "name", "slug", "plan", "createdAt")
select g, 'Org ' || g, 'org-' || g,
    case when g = 1 then 'enterprise' when g <= {team} then 'team' else 'free' end,
    {START_SQL} + {rand01("g", "oc")} * interval '700 days'
from generate_series(1, {s.orgs}) g"""
    users = f"""{tenants}insert into "users"
    ("id", "orgId", "email", "name", "role", "lastLoginAt", "createdAt")
select g, o, 'user' || g || '@org' || o || '.example.com', 'User ' || g,
    case when g = t.us[o] then 'owner' when {rand01("g", "ur")} < 0.1 then 'admin'
        else 'member' end,
    case when {rand01("g", "ul")} < 0.2 then null
        else {END_SQL} - {rand01("g", "ul")} * interval '90 days' end,
    {START_SQL} + {rand01("g", "uc")} * interval '700 days'
from (select g, width_bucket(g, (select us from t)) as o
    from generate_series(1, {s.users}) g) a, t"""
    projects = f"""{tenants}insert into "projects"
    ("id", "orgId", "name", "key", "createdAt", "archivedAt")
select g, width_bucket(g, t.ps), 'Project ' || g, 'P' || g,
    {START_SQL} + {rand01("g", "pc")} * interval '300 days',
    case when {rand01("g", "pa")} < 0.08 then {START_SQL} + interval '600 days' end
from generate_series(1, {s.projects}) g, t"""
    labels = f"""insert into "labels" ("id", "projectId", "name", "color")
select g, ((g - 1) % {s.projects}) + 1,
    ('{{bug,feature,improvement}}'::text[])[(g - 1) / {s.projects} + 1],
    ('{{#d73a4a,#0e8a16,#1d76db,#fbca04,#5319e7}}'::text[])[1 + {rand_int("g", "lc")} % 5]
from generate_series(1, {s.labels}) g"""
    issues = f"""{tenants}insert into "issues" ("id", "projectId", "authorId", "assigneeId",
    "title", "status", "priority", "createdAt", "updatedAt", "deletedAt")
select x, p, t.us[o] + ({rand_int("x", "ia")} % t.uz[o])::int,
    case when {rand01("x", "iu")} < 0.25 then null
        else t.us[o] + floor(t.uz[o] * power({rand01("x", "iv")}, 2))::int end,
    ({titles})[1 + {rand_int("x", "it")} % 12] || ' #' || x,
    case when x > {recent_issue} then
            case when r < 0.40 then 'open' when r < 0.65 then 'in_progress' else 'closed' end
        else case when r < 0.04 then 'open' when r < 0.06 then 'in_progress'
            when r < 0.985 then 'closed' else 'archived' end end,
    case when q < 0.30 then 0 when q < 0.50 then 1 when q < 0.80 then 2
        when q < 0.95 then 3 else 4 end,
    created, updated,
    case when {rand01("x", "id")} < 0.02 then updated + interval '1 day' end
from (
    select x, p, width_bucket(p, (select ps from t)) as o, {rand01("x", "is")} as r,
        {rand01("x", "ir")} as q, created,
        created + power({rand01("x", "iw")}, 2) * interval '29 days' as updated
    from (select x, {_issue_project(s, "x")} as p, {_issue_created(s, "x")} as created
        from generate_series(1, {s.issues}) x) a
) b, t"""
    issue_labels = f"""insert into "issue_labels" ("issueId", "labelId")
select x, p + k * {s.projects}
from (select x, {_issue_project(s, "x")} as p from generate_series(1, {s.issues}) x) a
    cross join generate_series(0, {LABELS_PER_PROJECT - 1}) k
where {rand01("x * 3 + k", "il")} < (case k when 0 then 0.5 when 1 then 0.3 else 0.15 end)"""
    hot_issue = _scatter(f"floor({s.issues} * power({rand01('g', 'cj')}, 3))", s.issues, s.m_issues)
    comments = f"""{tenants}insert into "comments"
    ("id", "issueId", "authorId", "body", "createdAt")
select g, x, t.us[o] + ({rand_int("g", "ca")} % t.uz[o])::int,
    'Comment ' || g || ' on issue #' || x,
    {_issue_created(s, "x")} + {rand01("g", "ct")} * interval '29 days'
from (
    select g, x, width_bucket({_issue_project(s, "x")}, (select ps from t)) as o
    from (select g, case when {rand01("g", "ci")} < 0.7
            then 1 + floor({s.issues} * {rand01("g", "cj")})::int else {hot_issue} end as x
        from generate_series(1, {s.comments}) g) a
) b, t"""
    events = f"""{tenants}insert into "events"
    ("id", "orgId", "actorId", "issueId", "type", "createdAt")
select g, o, case when x is null then a0 else t.us[o] + ({rand_int("g", "eu")} % t.uz[o])::int end,
    x, type, ts
from (
    select g, ts, type, x, a0,
        case when x is null then width_bucket(a0, (select us from t))
            else width_bucket({_issue_project(s, "x")}, (select ps from t)) end as o
    from (
        select g, ts, a0,
            case when k < 0.12 then 'user.login' when k < 0.18 then 'project.updated'
                when k < 0.22 then 'member.invited' when k < 0.40 then 'issue.created'
                when k < 0.70 then 'issue.updated' else 'comment.created' end as type,
            case when k < 0.22 then null else xi end as x
        from (
            select g, {rand01("g", "ek")} as k, {_recent_issue(s, "g", s.events)} as xi,
                1 + floor({s.users} * {rand01("g", "ea")})::int as a0,
                {START_SQL} + (g - 0.5) * {event_step!r} * interval '1 second' as ts
            from generate_series(1, {s.events}) g
        ) a
    ) b
) c, t"""
    hot_user = _scatter(f"floor({s.users} * power({rand01('g', 'nv')}, 3))", s.users, s.m_users)
    notifications = f"""insert into "notifications"
    ("id", "userId", "issueId", "kind", "readAt", "createdAt")
select g, u, x, ('{{mention,assigned,comment,status}}'::text[])[1 + {rand_int("g", "nk")} % 4],
    case when (g > {recent_notification} and r < 0.6) or r < 0.03 then null
        else ts + r * interval '2 days' end,
    ts
from (
    select g, {rand01("g", "nr")} as r, {_recent_issue(s, "g", s.notifications)} as x,
        case when {rand01("g", "nu")} < 0.5 then 1 + floor({s.users} * {rand01("g", "nv")})::int
            else {hot_user} end as u,
        {START_SQL} + (g - 0.5) * {notification_step!r} * interval '1 second' as ts
    from generate_series(1, {s.notifications}) g
) a"""
    return [
        organizations,
        users,
        projects,
        labels,
        issues,
        issue_labels,
        comments,
        events,
        notifications,
    ]


def setup_sql(shape: Shape) -> tuple[str, ...]:
    """Tables, data, constraints, statistics: in this order (loading before the primary
    keys exist is several times faster)."""
    return (*DDL, *load_sql(shape), *constraints_sql(), "analyze")


# -------------------------------------------------------------------- the parameters


class Draw:
    """Parameter values for one statement, skewed like the data."""

    def __init__(self, shape: Shape, seed: int, name: str) -> None:
        self.shape = shape
        self.rng = random.Random(f"{seed}:{name}")
        self.calls = 0

    # Each kind of id stays in one psycopg size class (see the module docstring).
    @staticmethod
    def _fit(value: int, low: int, high: int) -> int:
        return low + (value - low) % (high - low + 1)

    def _small(self, value: int, top: int) -> int:
        return self._fit(value, 1, min(top, INT2_MAX))

    def _large(self, value: int, top: int) -> int:
        low = INT2_MAX + 1 if top > INT2_MAX else 1
        return self._fit(value, low, top)

    def org(self) -> int:
        """The big tenant 40 % of the time, otherwise an org weighted by its size."""
        s = self.shape
        if self.rng.random() < 0.4:
            return 1
        org: int = self.rng.choices(range(1, s.orgs + 1), weights=s.user_sizes)[0]
        return self._small(org, s.orgs)

    def slug(self) -> str:
        return f"org-{self.org()}"

    def project(self) -> int:
        """A hot project (as the issues see them) or one of a skewed org's projects."""
        s = self.shape
        if self.rng.random() < 0.5:
            rank = int(s.projects * self.rng.random() ** 3)
            return self._small(1 + (rank * s.m_projects) % s.projects, s.projects)
        org = self.org()
        start, size = s.project_starts[org - 1], s.project_sizes[org - 1]
        return self._small(start + self.rng.randrange(size), s.projects)

    def user(self) -> int:
        """A member of a skewed org, or one of the users with many notifications."""
        s = self.shape
        if self.rng.random() < 0.5:
            rank = int(s.users * self.rng.random() ** 3)
            return self._small(1 + (rank * s.m_users) % s.users, s.users)
        org = self.org()
        start, size = s.user_starts[org - 1], s.user_sizes[org - 1]
        return self._small(start + self.rng.randrange(size), s.users)

    def assignee(self) -> int:
        """The first members of an org get most assignments (as in the data)."""
        s = self.shape
        org = self.org()
        start, size = s.user_starts[org - 1], s.user_sizes[org - 1]
        return self._small(start + int(size * self.rng.random() ** 2), s.users)

    def email(self) -> str:
        user = self.user()
        return f"user{user}@org{self.shape.org_of_user(user)}.example.com"

    def issue(self) -> int:
        """A hot (much commented) issue or a recent one."""
        s = self.shape
        if self.rng.random() < 0.6:
            rank = int(s.issues * self.rng.random() ** 3)
            return self._large(1 + (rank * s.m_issues) % s.issues, s.issues)
        return self._large(s.issues - int(0.1 * s.issues * self.rng.random()), s.issues)

    def label(self) -> int:
        s = self.shape
        kind = self.rng.choices((0, 1, 2), weights=(5, 3, 1))[0]
        return self._small(self.project() + kind * s.projects, s.labels)

    def notification(self) -> int:
        """Mostly a recent notification (the ones users click)."""
        s = self.shape
        n = s.notifications
        return self._large(n - int(0.1 * n * self.rng.random() ** 2), n)

    def status(self) -> str:
        """What people filter by: open first, then closed, in progress, archived."""
        return self.rng.choices(STATUSES, weights=(45, 15, 35, 5))[0]

    def new_status(self) -> str:
        return self.rng.choices(STATUSES[:3], weights=(2, 5, 3))[0]

    def limit(self) -> int:
        return self.rng.choice((10, 20, 25, 50))

    def offset(self) -> int:
        return self.rng.choice((0, 0, 20, 40, 100))

    def before(self, max_days: float = 60.0) -> datetime:
        """A point in the last `max_days` of the data (keyset cursors, windows)."""
        seconds = int(self.rng.random() * max_days * 86_400)
        return END - timedelta(seconds=seconds)

    def now(self) -> datetime:
        """The writes happen after the data's end, one minute apart."""
        self.calls += 1
        return END + timedelta(minutes=self.calls)

    def words(self) -> str:
        return self.rng.choice(("%crash%", "%slow%", "%report%", "%dark mode%", "%test%"))

    def event_type(self) -> str:
        return self.rng.choice(("issue.updated", "comment.created", "issue.created"))

    def kind(self) -> str:
        return self.rng.choice(("mention", "assigned", "comment", "status"))


# --------------------------------------------------------------------- the statements

# (name, weight, sql, parameter maker); the maker draws one call's values.
Maker = Callable[[Draw], tuple[Any, ...]]

ISSUE_LIST = (
    '"issues"."id", "issues"."title", "issues"."status", "issues"."priority", '
    '"issues"."assigneeId", "issues"."createdAt"'
)
USER_COLUMNS = '"users"."id", "users"."orgId", "users"."email", "users"."name", "users"."role"'

STATEMENTS: tuple[tuple[str, int, str, Maker], ...] = (
    # --- sessions, tenants, members
    (
        "user_by_id",
        250,
        f'select {USER_COLUMNS} from "users" where "users"."id" = %s limit %s',
        lambda d: (d.user(), 1),
    ),
    (
        "login_by_email",
        80,
        f'select {USER_COLUMNS}, "users"."lastLoginAt" from "users" '
        'where "users"."email" = %s limit %s',
        lambda d: (d.email(), 1),
    ),
    (
        "touch_last_login",
        80,
        'update "users" set "lastLoginAt" = %s where "users"."id" = %s',
        lambda d: (d.now(), d.user()),
    ),
    (
        "org_by_slug",
        100,
        'select "organizations"."id", "organizations"."name", "organizations"."slug", '
        '"organizations"."plan" from "organizations" where "organizations"."slug" = %s limit %s',
        lambda d: (d.slug(), 1),
    ),
    (
        "org_members_page",
        30,
        f'select {USER_COLUMNS} from "users" where "users"."orgId" = %s '
        'order by "users"."name" asc limit %s offset %s',
        lambda d: (d.org(), d.limit(), d.offset()),
    ),
    (
        "projects_by_org",
        120,
        'select "projects"."id", "projects"."name", "projects"."key", "projects"."createdAt" '
        'from "projects" where ("projects"."orgId" = %s and "projects"."archivedAt" is null) '
        'order by "projects"."name" asc',
        lambda d: (d.org(),),
    ),
    (
        "project_with_labels",
        60,
        'select "projects"."id", "projects"."name", "projects"."key", '
        '"projects_labels"."data" as "labels" from "projects" left join lateral '
        '(select coalesce(json_agg(json_build_array("projects_labels"."id", '
        '"projects_labels"."name", "projects_labels"."color")), \'[]\'::json) as "data" '
        'from "labels" "projects_labels" '
        'where "projects_labels"."projectId" = "projects"."id") "projects_labels" on true '
        'where "projects"."id" = %s limit %s',
        lambda d: (d.project(), 1),
    ),
    # --- issue lists
    (
        "issue_page_by_project",
        180,
        f'select {ISSUE_LIST} from "issues" where ("issues"."projectId" = %s '
        'and "issues"."status" = %s and "issues"."deletedAt" is null) '
        'order by "issues"."createdAt" desc limit %s',
        lambda d: (d.project(), d.status(), d.limit()),
    ),
    (
        "issue_page_offset",
        60,
        f'select {ISSUE_LIST}, "issues"."updatedAt" from "issues" '
        'where ("issues"."projectId" = %s and "issues"."deletedAt" is null) '
        'order by "issues"."updatedAt" desc limit %s offset %s',
        lambda d: (d.project(), d.limit(), d.offset()),
    ),
    (
        "issue_keyset_by_project",
        60,
        f'select {ISSUE_LIST} from "issues" where ("issues"."projectId" = %s '
        'and "issues"."createdAt" < %s) order by "issues"."createdAt" desc limit %s',
        lambda d: (d.project(), d.before(200.0), d.limit()),
    ),
    (
        "my_open_issues",
        100,
        f'select {ISSUE_LIST}, "issues"."updatedAt" from "issues" '
        'where ("issues"."assigneeId" = %s and "issues"."status" in (%s, %s) '
        'and "issues"."deletedAt" is null) '
        'order by "issues"."priority" desc, "issues"."updatedAt" desc limit %s',
        lambda d: (d.assignee(), "open", "in_progress", d.limit()),
    ),
    (
        "issues_created_by_user",
        20,
        f'select {ISSUE_LIST} from "issues" where "issues"."authorId" = %s '
        'order by "issues"."createdAt" desc limit %s',
        lambda d: (d.user(), d.limit()),
    ),
    (
        "issues_by_label",
        30,
        'select "issues"."id", "issues"."title", "issues"."status", "issues"."createdAt" '
        'from "issues" inner join "issue_labels" on "issue_labels"."issueId" = "issues"."id" '
        'where ("issue_labels"."labelId" = %s and "issues"."status" <> %s) '
        'order by "issues"."createdAt" desc limit %s',
        lambda d: (d.label(), "archived", d.limit()),
    ),
    (
        "issue_title_search",
        5,
        f'select {ISSUE_LIST} from "issues" where ("issues"."projectId" = %s '
        'and "issues"."title" ilike %s) order by "issues"."createdAt" desc limit %s',
        lambda d: (d.project(), d.words(), d.limit()),
    ),
    # --- one issue
    (
        "issue_detail_with_comments",
        120,
        'select "issues"."id", "issues"."title", "issues"."status", "issues"."priority", '
        '"issues"."assigneeId", "issues"."createdAt", "issues_comments"."data" as "comments" '
        'from "issues" left join lateral (select coalesce(json_agg(json_build_array('
        '"issues_comments"."id", "issues_comments"."body", "issues_comments"."authorId", '
        '"issues_comments"."createdAt")), \'[]\'::json) as "data" from (select * from '
        '"comments" "issues_comments" where "issues_comments"."issueId" = "issues"."id" '
        'order by "issues_comments"."createdAt" desc limit %s) "issues_comments") '
        '"issues_comments" on true where "issues"."id" = %s limit %s',
        lambda d: (d.limit(), d.issue(), 1),
    ),
    (
        "labels_of_issue",
        120,
        'select "labels"."id", "labels"."name", "labels"."color" from "issue_labels" '
        'inner join "labels" on "issue_labels"."labelId" = "labels"."id" '
        'where "issue_labels"."issueId" = %s',
        lambda d: (d.issue(),),
    ),
    (
        "comments_keyset",
        60,
        'select "comments"."id", "comments"."body", "comments"."authorId", '
        '"comments"."createdAt" from "comments" where ("comments"."issueId" = %s '
        'and "comments"."createdAt" < %s) order by "comments"."createdAt" desc limit %s',
        lambda d: (d.issue(), d.before(), d.limit()),
    ),
    (
        "comment_count_of_issue",
        60,
        'select count(*) from "comments" where "comments"."issueId" = %s',
        lambda d: (d.issue(),),
    ),
    (
        "comments_by_author",
        10,
        'select "comments"."id", "comments"."issueId", "comments"."body", '
        '"comments"."createdAt" from "comments" where "comments"."authorId" = %s '
        'order by "comments"."createdAt" desc limit %s',
        lambda d: (d.user(), d.limit()),
    ),
    (
        "issue_activity",
        50,
        'select "events"."id", "events"."type", "events"."actorId", "events"."createdAt" '
        'from "events" where "events"."issueId" = %s '
        'order by "events"."createdAt" desc limit %s',
        lambda d: (d.issue(), d.limit()),
    ),
    # --- counts and reports
    (
        "issue_count_by_project_status",
        100,
        'select count(*) from "issues" '
        'where ("issues"."projectId" = %s and "issues"."status" = %s)',
        lambda d: (d.project(), d.status()),
    ),
    (
        "org_issue_status_counts",
        15,
        'select "issues"."status", count(*) from "issues" '
        'inner join "projects" on "issues"."projectId" = "projects"."id" '
        'where ("projects"."orgId" = %s and "issues"."deletedAt" is null) '
        'group by "issues"."status"',
        lambda d: (d.org(),),
    ),
    (
        "stale_in_progress",
        3,
        'select "issues"."id", "issues"."title", "issues"."assigneeId", "issues"."updatedAt" '
        'from "issues" where ("issues"."status" = %s and "issues"."updatedAt" < %s) '
        'order by "issues"."updatedAt" asc limit %s',
        lambda d: ("in_progress", d.before(120.0), 50),
    ),
    # --- notifications
    (
        "unread_notifications",
        150,
        'select "notifications"."id", "notifications"."kind", "notifications"."issueId", '
        '"notifications"."createdAt" from "notifications" '
        'where ("notifications"."userId" = %s and "notifications"."readAt" is null) '
        'order by "notifications"."createdAt" desc limit %s',
        lambda d: (d.user(), d.limit()),
    ),
    (
        "unread_notification_count",
        150,
        'select count(*) from "notifications" '
        'where ("notifications"."userId" = %s and "notifications"."readAt" is null)',
        lambda d: (d.user(),),
    ),
    # --- audit log
    (
        "org_recent_events",
        30,
        'select "events"."id", "events"."type", "events"."actorId", "events"."issueId", '
        '"events"."createdAt" from "events" '
        'where ("events"."orgId" = %s and "events"."createdAt" >= %s) '
        'order by "events"."createdAt" desc limit %s',
        lambda d: (d.org(), d.before(7.0), d.limit()),
    ),
    (
        "events_audit_export",
        5,
        'select "events"."id", "events"."orgId", "events"."actorId", "events"."issueId", '
        '"events"."type", "events"."createdAt" from "events" '
        'where ("events"."createdAt" >= %s and "events"."createdAt" < %s) '
        'order by "events"."id" asc limit %s',
        lambda d: (*_day_window(d), 500),
    ),
    (
        "org_event_type_counts",
        3,
        'select "events"."type", count(*) from "events" where ("events"."orgId" = %s '
        'and "events"."createdAt" >= %s and "events"."createdAt" < %s) '
        'group by "events"."type"',
        lambda d: (d.org(), *_day_window(d, days=30)),
    ),
    # --- writes
    (
        "insert_comment",
        60,
        'insert into "comments" ("id", "issueId", "authorId", "body", "createdAt") '
        'values (default, %s, %s, %s, %s) returning "id"',
        lambda d: (d.issue(), d.user(), "Thanks, looking into it.", d.now()),
    ),
    (
        "insert_event",
        100,
        'insert into "events" ("id", "orgId", "actorId", "issueId", "type", "createdAt") '
        'values (default, %s, %s, %s, %s, %s) returning "id"',
        lambda d: (d.org(), d.user(), d.issue(), d.event_type(), d.now()),
    ),
    (
        "update_issue_status",
        40,
        'update "issues" set "status" = %s, "updatedAt" = %s where "issues"."id" = %s',
        lambda d: (d.new_status(), d.now(), d.issue()),
    ),
    (
        "insert_notification",
        40,
        'insert into "notifications" ("id", "userId", "issueId", "kind", "readAt", '
        '"createdAt") values (default, %s, %s, %s, default, %s)',
        lambda d: (d.user(), d.issue(), d.kind(), d.now()),
    ),
    (
        "mark_notification_read",
        50,
        'update "notifications" set "readAt" = %s where "notifications"."id" = %s',
        lambda d: (d.now(), d.notification()),
    ),
    (
        "mark_all_notifications_read",
        10,
        'update "notifications" set "readAt" = %s '
        'where ("notifications"."userId" = %s and "notifications"."readAt" is null)',
        lambda d: (d.now(), d.user()),
    ),
    (
        "delete_notification",
        20,
        'delete from "notifications" where "notifications"."id" = %s',
        lambda d: (d.notification(),),
    ),
)


# ------------------------------------------------------------------ the DBA's indexes

# What an experienced DBA writes for this app from the schema and the statements above,
# before looking at any advisor's output (committed before the first bench run with it).
# The primary keys, users.email and issue_labels' (issueId, labelId) exist already.
DBA_INDEXES = (
    HandIndex(
        "organizations",
        ("slug",),
        "org_by_slug: every request resolves the tenant from its URL slug (100 calls)",
    ),
    HandIndex(
        "users",
        ("orgId", "name"),
        "org_members_page: tenant, then ORDER BY name under LIMIT/OFFSET; the orgId FK",
    ),
    HandIndex(
        "projects",
        ("orgId", "name"),
        "projects_by_org: tenant, then ORDER BY name; the org's projects in the status report",
    ),
    HandIndex(
        "labels",
        ("projectId",),
        "project_with_labels: the lateral child lookup by the unindexed FK",
    ),
    HandIndex(
        "issues",
        ("projectId", "status", "createdAt"),
        "issue_page_by_project (180 calls): project, status, newest first under LIMIT; "
        "also the count per project and status",
    ),
    HandIndex(
        "issues",
        ("projectId", "updatedAt"),
        "issue_page_offset: project, then ORDER BY updatedAt DESC under LIMIT/OFFSET",
    ),
    HandIndex(
        "issues",
        ("projectId", "createdAt"),
        "issue_keyset_by_project: project, createdAt < cursor, newest first (no status); "
        "the title search's project and order too",
    ),
    HandIndex(
        "issues",
        ("assigneeId", "priority", "updatedAt"),
        "my_open_issues: the few open/in-progress issues of an assignee in its ORDER BY "
        "under LIMIT; partial, as most issues are closed",
        where="\"status\" IN ('open', 'in_progress') AND \"deletedAt\" IS NULL",
    ),
    HandIndex(
        "issues",
        ("authorId", "createdAt"),
        "issues_created_by_user: author, newest first under LIMIT; the authorId FK",
    ),
    HandIndex(
        "issues",
        ("updatedAt",),
        "stale_in_progress: the in-progress issues swept by updatedAt under LIMIT; partial",
        where="\"status\" = 'in_progress'",
    ),
    HandIndex(
        "issue_labels",
        ("labelId", "issueId"),
        "issues_by_label: the join from a label (the primary key leads with issueId); "
        "the labelId FK",
    ),
    HandIndex(
        "comments",
        ("issueId", "createdAt"),
        "issue_detail_with_comments (120 calls), comments_keyset, comment_count_of_issue: "
        "an issue's thread newest first under LIMIT; the issueId FK",
    ),
    HandIndex(
        "comments",
        ("authorId", "createdAt"),
        "comments_by_author: author, newest first under LIMIT; the authorId FK",
    ),
    HandIndex(
        "events",
        ("issueId", "createdAt"),
        "issue_activity: an issue's events newest first under LIMIT; the issueId FK",
    ),
    HandIndex(
        "events",
        ("orgId", "createdAt"),
        "org_recent_events, org_event_type_counts: tenant, then a createdAt window",
    ),
    HandIndex(
        "events",
        ("createdAt",),
        "events_audit_export: one day's window of the append-only log",
    ),
    HandIndex(
        "notifications",
        ("userId", "createdAt"),
        "unread_notifications and their count (150 calls each), mark_all_notifications_read: "
        "the few unread of a user, newest first; partial on the unread",
        where='"readAt" IS NULL',
    ),
)


def _day_window(draw: Draw, days: int = 1) -> tuple[datetime, datetime]:
    """[start, start + days) at a midnight within the last 60 days of the data."""
    start = END - timedelta(days=days + draw.rng.randrange(60))
    return start, start + timedelta(days=days)


def build(scale: float = 1.0, seed: int = DEFAULT_SEED) -> QualityWorkload:
    """The issue tracker at `scale` (1.0: about 1.8 million rows)."""
    shape = make_shape(scale)
    statements = []
    for name, weight, sql, maker in STATEMENTS:
        draw = Draw(shape, seed, name)
        params = tuple(maker(draw) for _ in range(PARAM_SETS))
        statements.append(QualityStatement(name=name, sql=sql, params=params, weight=weight))
    return QualityWorkload(
        name="oltp",
        description=(
            "A multi-tenant issue tracker as Drizzle ORM queries it: Zipf-sized tenants, "
            "mostly closed issues, skewed comment threads, an append-only audit log; "
            f"{len(statements)} statement shapes with unindexed foreign keys, pagination, "
            "relational (lateral json_agg) queries and writes."
        ),
        setup_sql=setup_sql(shape),
        statements=tuple(statements),
        dba_indexes=DBA_INDEXES,
    )
