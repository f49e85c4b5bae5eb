"""A skewed workload for the values benchmark: a multi-tenant task tracker as Drizzle ORM
(node-postgres) queries it, where the values the statements run with decide which index
serves them best.

The data (generated inside PostgreSQL, deterministic, skewed)
    `tasks`: tenants are Zipf-like over 500 tenants, tenant 1 holding 30 % of the rows and
    tenant k >= 2 a share like 1/k; `status` is an enum where 'blocked' is rare (0.5 % of
    the rows); `assigneeEmail` is mixed case (`Alice.McKay42@Example.com`); `payload` is a
    jsonb document `{"ip", "source", "priority"}`; `createdAt` grows with the id.
    `events`: an append-only audit log (bigserial id, `createdAt` growing with the id, so
    its correlation is 1), Zipf tenants as above, an enum `kind` and a short body.
    Every value is a function of the row number (`hashtext(g || salt)`, see bench/oltp.py),
    and the emails and IP addresses are functions of a number Python can draw, so that the
    parameters name values that exist. At scale 1.0: 120,000 tasks and 1,000,000 events,
    about 90 MB.

The statements
    Written the way Drizzle renders them: identifiers double-quoted and qualified by their
    table, camelCase columns, `and(...)` in parentheses, and every value a bind parameter
    `$n` (limits and offsets too; the key of `payload->>key` as well, as a `sql` template
    binds it). Unlike bench/oltp.py the texts use PostgreSQL's `$n` placeholders and run
    on psycopg's raw cursors, and every parameter is a string: node-postgres sends values
    as text with no type, and the server infers each parameter's type from the statement
    (so one shape is one pg_stat_statements entry whatever its values). The shapes that
    depend on values: tasks of a tenant with a status, asked almost always for 'blocked',
    with the big tenant most often; tasks by `payload->>$1 = $2` with the key always 'ip';
    tasks by `lower("assigneeEmail") = lower($1)`; a rare count of events over weeks of
    `createdAt`. Around them, ordinary statements a generic advisor should serve too: a
    tenant's tasks page by page, a tenant's status counts and recent events, lookups by
    id, and writes (a status update, an insert into the log).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.oltp import rand01, rand_int
from bench.qualityspec import QualityStatement, QualityWorkload

DEFAULT_SEED = 20_240_101

# Rows at scale 1.0.
TASKS = 120_000
EVENTS = 1_000_000
TENANTS = 500
# The big tenant's share of the tasks and events; the others share the rest like 1/k.
BIG_TENANT_SHARE = 0.30
# Status shares of the tasks; 'done' takes the rest.
BLOCKED_SHARE = 0.005
TODO_SHARE = 0.20
DOING_SHARE = 0.15
# Tasks per distinct assignee and per distinct payload IP address.
TASKS_PER_ASSIGNEE = 40
TASKS_PER_IP = 8
# Parameters name the big tenant this often, and otherwise a tenant drawn like the rows:
# its users are the busiest.
BIG_TENANT_CALLS = 0.4
# Distinct parameter sets per statement; calls cycle through them.
PARAM_SETS = 16
# The blocked-tasks statement asks for another status once every this many sets.
OTHER_STATUS_EVERY = 8

START = datetime(2022, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_SECONDS = (END - START).total_seconds()
START_SQL = "timestamptz '2022-01-01 00:00:00+00'"

STATUSES = ("todo", "doing", "done", "blocked")
EVENT_KINDS = ("task.created", "task.updated", "comment.added", "login")
SOURCES = ("web", "api", "mobile", "import")
FIRST_NAMES = ("Alice", "Bob", "Chen", "Dana", "Emeka", "Farah", "Goran", "Hana")
LAST_NAMES = ("Smith", "McKay", "OBrien", "VanDyke", "Nguyen", "DuBois", "Kim", "LaRue")
DOMAINS = ("Example.com", "ACME.io", "mail.Example.ORG")
TITLES = (
    "Fix login",
    "Write docs",
    "Review PR",
    "Plan sprint",
    "Update deps",
    "Triage bugs",
    "Call customer",
    "Ship release",
)


# ---------------------------------------------------------------------------- the shape


@dataclass(frozen=True)
class Shape:
    """The row counts at one scale and the tenants' shares, shared by the SQL that generates
    the data and the Python that draws the parameters."""

    tasks: int
    events: int
    assignees: int
    ips: int
    # Per tenant (index 0 is tenant 1): its share of the rows.
    tenant_shares: tuple[float, ...]

    @property
    def tenants(self) -> int:
        return len(self.tenant_shares)


def tenant_shares(tenants: int) -> tuple[float, ...]:
    """Tenant 1 holds BIG_TENANT_SHARE; tenants 2..n share the rest like 1/k (Zipf)."""
    if tenants == 1:
        return (1.0,)
    harmonic = sum(1.0 / k for k in range(2, tenants + 1))
    rest = 1.0 - BIG_TENANT_SHARE
    return (BIG_TENANT_SHARE, *(rest / k / harmonic for k in range(2, tenants + 1)))


def thresholds(shares: Sequence[float]) -> list[float]:
    """The lower bound of each tenant's slice of [0, 1): `width_bucket(u, thresholds)` then
    draws tenant k with probability shares[k - 1]."""
    bounds = [0.0]
    for share in shares[:-1]:
        bounds.append(bounds[-1] + share)
    return bounds


def make_shape(scale: float) -> Shape:
    """The row counts at `scale`."""
    tasks = max(200, round(TASKS * scale))
    return Shape(
        tasks=tasks,
        events=max(1_000, round(EVENTS * scale)),
        assignees=max(5, tasks // TASKS_PER_ASSIGNEE),
        ips=max(5, tasks // TASKS_PER_IP),
        tenant_shares=tenant_shares(min(TENANTS, max(2, tasks // 50))),
    )


def assignee_email(number: int) -> str:
    """The mixed-case email of assignee `number` (the SQL twin is `_email_sql`)."""
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first}.{last}{number}@{DOMAINS[number % len(DOMAINS)]}"


def ip_address(number: int) -> str:
    """The IP address number `number` of the payloads (the SQL twin is `_ip_sql`)."""
    return f"10.{(number // 65_536) % 256}.{(number // 256) % 256}.{number % 256}"


# ------------------------------------------------------------------------- the schema

DDL = (
    "create type \"task_status\" as enum('todo', 'doing', 'done', 'blocked')",
    "create type \"event_kind\" as enum('task.created', 'task.updated', 'comment.added', 'login')",
    """create table "tasks" (
    "id" serial not null,
    "tenantId" integer not null,
    "title" text not null,
    "status" "task_status" default 'todo' not null,
    "assigneeEmail" text not null,
    "payload" jsonb not null,
    "createdAt" timestamp with time zone default now() not null
)""",
    """create table "events" (
    "id" bigserial not null,
    "tenantId" integer not null,
    "kind" "event_kind" not null,
    "body" text not null,
    "createdAt" timestamp with time zone default now() not null
)""",
)

CONSTRAINTS = (
    'alter table "tasks" add constraint "tasks_pkey" primary key ("id")',
    'alter table "events" add constraint "events_pkey" primary key ("id")',
    'select setval(pg_get_serial_sequence(\'"tasks"\', \'id\'), (select max("id") from "tasks"))',
    'select setval(pg_get_serial_sequence(\'"events"\', \'id\'), (select max("id") from "events"))',
)


# --------------------------------------------------------------------------- the data


def _text_array(values: Sequence[str]) -> str:
    return "array[" + ", ".join(f"'{v}'" for v in values) + "]"


def _pick(values: Sequence[str], index: str) -> str:
    """values[index] (0-based `index`), as SQL."""
    return f"({_text_array(values)})[1 + ({index})]"


def _email_sql(number: str) -> str:
    """assignee_email() in SQL, for an int8 expression `number`."""
    first = _pick(FIRST_NAMES, f"{number} % {len(FIRST_NAMES)}")
    last = _pick(LAST_NAMES, f"({number} / {len(FIRST_NAMES)}) % {len(LAST_NAMES)}")
    domain = _pick(DOMAINS, f"{number} % {len(DOMAINS)}")
    return f"{first} || '.' || {last} || ({number}) || '@' || {domain}"


def _ip_sql(number: str) -> str:
    """ip_address() in SQL, for an int8 expression `number`."""
    return (
        f"'10.' || (({number} / 65536) % 256) || '.' || (({number} / 256) % 256) || '.' "
        f"|| ({number} % 256)"
    )


def _tenant_sql(shape: Shape, row: str, salt: str) -> str:
    """A Zipf-drawn tenant for row `row`."""
    bounds = "'{" + ",".join(repr(b) for b in thresholds(shape.tenant_shares)) + "}'::float8[]"
    return f"width_bucket({rand01(row, salt)}, {bounds})"


def load_sql(shape: Shape) -> list[str]:
    """The INSERT ... SELECT statements filling both tables."""
    s = shape
    task_step = SPAN_SECONDS / s.tasks
    event_step = SPAN_SECONDS / s.events
    blocked, todo = BLOCKED_SHARE, BLOCKED_SHARE + TODO_SHARE
    doing = todo + DOING_SHARE
    tasks = f"""insert into "tasks"
    ("id", "tenantId", "title", "status", "assigneeEmail", "payload", "createdAt")
select g, {_tenant_sql(s, "g", "tt")},
    {_pick(TITLES, f"{rand_int('g', 'ti')} % {len(TITLES)}")} || ' #' || g,
    (case when r < {blocked!r} then 'blocked' when r < {todo!r} then 'todo'
        when r < {doing!r} then 'doing' else 'done' end)::"task_status",
    {_email_sql("assignee")},
    jsonb_build_object('ip', {_ip_sql("address")},
        'source', {_pick(SOURCES, f"{rand_int('g', 'ts')} % {len(SOURCES)}")},
        'priority', {rand_int("g", "tr")} % 5),
    {START_SQL} + (g - 1 + {rand01("g", "tc")}) * {task_step!r} * interval '1 second'
from (
    select g, {rand01("g", "tq")} as r, {rand_int("g", "ta")} % {s.assignees} as assignee,
        {rand_int("g", "tp")} % {s.ips} as address
    from generate_series(1, {s.tasks}) g
) drawn"""
    events = f"""insert into "events" ("id", "tenantId", "kind", "body", "createdAt")
select g, {_tenant_sql(s, "g", "et")},
    (case when k < 0.35 then 'task.updated' when k < 0.60 then 'task.created'
        when k < 0.85 then 'comment.added' else 'login' end)::"event_kind",
    'task #' || (1 + {rand_int("g", "eb")} % {s.tasks}),
    {START_SQL} + (g - 0.5) * {event_step!r} * interval '1 second'
from (select g, {rand01("g", "ek")} as k from generate_series(1, {s.events}) g) drawn"""
    return [tasks, events]


def setup_sql(shape: Shape) -> tuple[str, ...]:
    """Types and tables, data, constraints, statistics: in this order."""
    return (*DDL, *load_sql(shape), *CONSTRAINTS, "analyze")


# -------------------------------------------------------------------- the parameters


class Draw:
    """Parameter values for one statement, skewed like the data. Every value is a string,
    as node-postgres sends it."""

    def __init__(self, shape: Shape, seed: int, name: str) -> None:
        self.shape = shape
        self.rng = random.Random(f"{seed}:{name}")

    def tenant(self) -> str:
        """The big tenant, or a tenant drawn like the rows: tenant 1 in 58 % of the calls."""
        if self.rng.random() < BIG_TENANT_CALLS:
            return "1"
        tenants = range(1, self.shape.tenants + 1)
        return str(self.rng.choices(tenants, weights=self.shape.tenant_shares)[0])

    def task(self) -> str:
        return str(self.rng.randint(1, self.shape.tasks))

    def rare_status(self, index: int) -> str:
        """'blocked', except in one parameter set of every OTHER_STATUS_EVERY."""
        return "doing" if index % OTHER_STATUS_EVERY == OTHER_STATUS_EVERY - 1 else "blocked"

    def new_status(self) -> str:
        return self.rng.choice(("doing", "done"))

    def limit(self) -> str:
        return str(self.rng.choice((10, 20, 25)))

    def offset(self) -> str:
        return str(self.rng.choice((0, 0, 20, 40)))

    def ip(self) -> str:
        return ip_address(self.rng.randrange(self.shape.ips))

    def email(self, index: int) -> str:
        """An assignee's email as a user types it: as stored, or lower case."""
        email = assignee_email(self.rng.randrange(self.shape.assignees))
        return email.lower() if index % 2 else email

    def weeks(self) -> tuple[str, str]:
        """[from, to): two to eight weeks at a midnight within the data's span."""
        days = 7 * self.rng.randint(2, 8)
        start = START + timedelta(days=self.rng.randrange((END - START).days - days))
        return timestamp(start), timestamp(start + timedelta(days=days))

    def kind(self) -> str:
        return self.rng.choice(EVENT_KINDS)


def timestamp(moment: datetime) -> str:
    """A timestamptz as node-postgres sends a Date."""
    return moment.isoformat()


# --------------------------------------------------------------------- the statements

# A maker draws the values of parameter set `index` of a statement.
Maker = Callable[[Draw, int], tuple[str, ...]]

TASK_LIST = '"tasks"."id", "tasks"."title", "tasks"."status", "tasks"."createdAt"'

# (name, calls per round, sql, maker)
STATEMENTS: tuple[tuple[str, int, str, Maker], ...] = (
    (
        "task_by_id",
        200,
        'select "tasks"."id", "tasks"."tenantId", "tasks"."title", "tasks"."status", '
        '"tasks"."assigneeEmail", "tasks"."payload", "tasks"."createdAt" from "tasks" '
        'where "tasks"."id" = $1 limit $2',
        lambda d, i: (d.task(), "1"),
    ),
    (
        "tasks_page_by_tenant",
        60,
        f'select {TASK_LIST} from "tasks" where "tasks"."tenantId" = $1 '
        'order by "tasks"."createdAt" desc limit $2 offset $3',
        lambda d, i: (d.tenant(), d.limit(), d.offset()),
    ),
    (
        "blocked_tasks_by_tenant",
        150,
        f'select {TASK_LIST} from "tasks" '
        'where ("tasks"."tenantId" = $1 and "tasks"."status" = $2) '
        'order by "tasks"."createdAt" desc limit $3',
        lambda d, i: (d.tenant(), d.rare_status(i), d.limit()),
    ),
    (
        "task_status_counts",
        20,
        'select "tasks"."status", count(*) from "tasks" where "tasks"."tenantId" = $1 '
        'group by "tasks"."status"',
        lambda d, i: (d.tenant(),),
    ),
    (
        "tasks_by_ip",
        60,
        'select "tasks"."id", "tasks"."tenantId", "tasks"."title" from "tasks" '
        'where "tasks"."payload"->>$1 = $2 limit $3',
        lambda d, i: ("ip", d.ip(), "50"),
    ),
    (
        "tasks_by_assignee_email",
        80,
        f'select {TASK_LIST} from "tasks" '
        'where lower("tasks"."assigneeEmail") = lower($1) '
        'order by "tasks"."createdAt" desc limit $2',
        lambda d, i: (d.email(i), d.limit()),
    ),
    (
        "update_task_status",
        20,
        'update "tasks" set "status" = $1 where "tasks"."id" = $2',
        lambda d, i: (d.new_status(), d.task()),
    ),
    (
        "events_count_between",
        4,
        'select count(*) from "events" '
        'where ("events"."createdAt" >= $1 and "events"."createdAt" < $2)',
        lambda d, i: d.weeks(),
    ),
    (
        "recent_events_by_tenant",
        20,
        'select "events"."id", "events"."kind", "events"."body", "events"."createdAt" '
        'from "events" where "events"."tenantId" = $1 '
        'order by "events"."createdAt" desc limit $2',
        lambda d, i: (d.tenant(), d.limit()),
    ),
    (
        "insert_event",
        30,
        'insert into "events" ("id", "tenantId", "kind", "body", "createdAt") '
        "values (default, $1, $2, $3, $4)",
        # After the data's end, one minute apart: the log stays in createdAt order.
        lambda d, i: (
            d.tenant(),
            d.kind(),
            f"task #{d.task()}",
            timestamp(END + timedelta(minutes=i + 1)),
        ),
    ),
)


def build(scale: float = 1.0, seed: int = DEFAULT_SEED) -> QualityWorkload:
    """The task tracker at `scale` (1.0: about 1.1 million rows, 90 MB). Its statements
    use `$n` placeholders: run them on a connection with psycopg.RawCursor."""
    shape = make_shape(scale)
    statements = []
    for name, calls, sql, maker in STATEMENTS:
        draw = Draw(shape, seed, name)
        params = tuple(maker(draw, index) for index in range(PARAM_SETS))
        statements.append(QualityStatement(name=name, sql=sql, params=params, weight=calls))
    return QualityWorkload(
        name="skewed",
        description=(
            "A multi-tenant task tracker as Drizzle ORM queries it, every value a bind "
            "parameter: Zipf tenants, a rare status asked for most, a jsonb key and a "
            "lower-cased email as filters, an append-only log counted over weeks; "
            f"{len(statements)} statement shapes."
        ),
        setup_sql=setup_sql(shape),
        statements=tuple(statements),
    )
