"""A second OLTP workload for the quality benchmark, one the advisor was not tuned on: a
multi-tenant customer-support and CRM application written with Drizzle ORM (PostgreSQL,
node-postgres).

The application
    Organisations (tenants) have agents (`users`) and customers (`contacts`); contacts
    open support `tickets`, which an agent is assigned to and some user reported, and
    place `orders`; every login, reply, status change and order sync is appended to the
    activity log `events`, whose jsonb `payload` carries the client's `ip`, user agent and
    source. Each table has a serial primary key (`events` a bigserial one), `users.email`
    is unique, the foreign keys are declared but not indexed (PostgreSQL does not index
    them), and there are no secondary indexes.

The data (generated inside PostgreSQL, deterministic, skewed)
    Every value is a function of the row number (`hashtext(g || salt)`, see bench/oltp.py).
    Tenants are Zipf-like: org 1 holds BIG_TENANT_SHARE (30 %) of the users and contacts
    and, drawn row by row, of the tickets, orders and events; orgs 2..n share the rest like
    1/k, down to a long tail of orgs with one agent and a handful of contacts (2,000 orgs
    at scale 1.0). Users and contacts have ids contiguous per org, so Python knows the
    ranges it draws parameters from, and a ticket's org is a function of its id, so an
    event about a ticket belongs to the ticket's org. Tickets, orders and events are
    created in id order over two years. Most tickets are 'closed' or 'solved'; 'open'
    (5 %) and 'pending' (2 %, waiting on the customer) are mostly recent; 15 % are
    unassigned. Orders are mostly 'paid' or 'shipped', 'refund_requested' is rare (1 %).
    An event's payload IP is one of four per user. At scale 1.0: 1,200,000 events, 300,000
    tickets, 250,000 orders, 200,000 contacts, 30,000 users; about 250 MB.

The statements
    Written character for character the way Drizzle renders them: every identifier
    double-quoted and qualified by its table, camelCase columns, `and(...)` and `or(...)`
    in parentheses, every value a bind parameter (statuses, limits, offsets, the jsonb
    key of `"payload"->>$1` and the unit of `date_trunc($1, ...)` too), `between`,
    `count(distinct ...)`, inserts with `default` for the serial id and `returning "id"`.
    Aggregates by period group by position (`group by 1`): Drizzle binds each `sql`
    fragment's values anew, so repeating `date_trunc(${unit}, ...)` in GROUP BY would not
    match the select list. They cover a support desk's day: lookups by primary key and
    by email (already indexed), a tenant's ticket queue by status newest first with LIMIT
    and OFFSET, keyset pagination by id and by (`createdAt`, `id`) with Drizzle's `or`
    cursor, "my tickets" (`assigneeId = $1 or reporterId = $2`), the sweep of tickets
    pending since before a date in `createdAt` order, an ILIKE contact search within a
    tenant ordered by name, time windows and `date_trunc` grouping with the unit bound,
    an agent leaderboard (tickets joined to users, grouped by user, one status), the
    activity of an IP (`"payload"->>$1 = $2`, the key always 'ip'), and the writes
    (inserts into the three big tables, status updates by id). Weights are calls per
    round: lookups by primary key or slug 100-150, tenant lists and searches 12-60,
    reports 5-20, writes 20-100; without secondary indexes a round takes about 25 s at
    scale 1.0 on two cores.

Parameters are drawn from a `random.Random` per statement like the traffic: the tenant of a
call is drawn in proportion to the tenants' rows (org 1 makes 30 % of the calls, more than
any other), a user or contact from that tenant's range, statuses with the product's own
mix (the rare ones where the statement is about them). Integer parameters of one position
stay in one psycopg size class (int2 below 32768, int4 above; see bench/oltp.py), datetimes
are timezone-aware for the `timestamptz` columns. Writes are repeatable on a fresh copy:
inserts take the serial default and refer to existing rows, updates by id touch at most
one row.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.oltp import rand01, rand_int, starts_of
from bench.qualityspec import HandIndex, QualityStatement, QualityWorkload

DEFAULT_SEED = 20_240_101

# Rows at scale 1.0.
ORGS = 2_000
USERS = 30_000
CONTACTS = 200_000
TICKETS = 300_000
ORDERS = 250_000
EVENTS = 1_200_000

# Org 1's share of every table's rows; orgs 2..n share the rest like 1/k (Zipf).
BIG_TENANT_SHARE = 0.30
# Distinct client IP addresses per user in the events' payloads.
IPS_PER_USER = 4
# The newest tenth of the tickets holds most of the open and pending ones.
RECENT_TICKETS = 0.1

START = datetime(2023, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_SECONDS = (END - START).total_seconds()
START_SQL = "timestamptz '2023-01-01 00:00:00+00'"

TICKET_STATUSES = ("open", "pending", "solved", "closed")
ORDER_STATUSES = ("pending", "paid", "shipped", "refund_requested", "refunded")
EVENT_TYPES = (
    "user.login",
    "ticket.created",
    "ticket.replied",
    "ticket.status_changed",
    "contact.viewed",
    "order.synced",
)
FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "Diego", "Elena", "Farid", "Grace", "Hiro",
    "Ines", "Jonas", "Kofi", "Lena", "Mateo", "Nora", "Omar", "Priya",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Okafor", "Nakamura", "Novak", "Rossi", "Haddad", "Kowalski",
    "Silva", "Jensen", "Dubois", "Moreau", "Schmidt", "Tanaka", "Walsh", "Yilmaz",
)  # fmt: skip
SUBJECTS = (
    "Cannot log in",
    "Refund request",
    "Invoice is wrong",
    "Package not delivered",
    "Password reset",
    "Feature request",
    "App crashes on start",
    "Change billing address",
)
USER_AGENTS = ("Mozilla/5.0 (Macintosh)", "Mozilla/5.0 (Windows NT 10.0)", "okhttp/4.12")
SOURCES = ("web", "mobile", "api")

# Distinct parameter sets per statement; calls cycle through them.
PARAM_SETS = 8
INT2_MAX = 32_767


# ---------------------------------------------------------------------------- the shape


@dataclass(frozen=True)
class Shape:
    """The row counts at one scale and the tenants' shares and id ranges, shared by the SQL
    that generates the data and the Python that draws the parameters."""

    users: int
    contacts: int
    tickets: int
    orders: int
    events: int
    # Per organisation (index 0 is org 1): its share of the rows drawn row by row, and the
    # first user and contact id and how many.
    org_shares: tuple[float, ...]
    user_starts: tuple[int, ...]
    user_sizes: tuple[int, ...]
    contact_starts: tuple[int, ...]
    contact_sizes: tuple[int, ...]

    @property
    def orgs(self) -> int:
        return len(self.org_shares)


def org_shares(orgs: int) -> tuple[float, ...]:
    """Org 1 holds BIG_TENANT_SHARE; orgs 2..n share the rest like 1/k (Zipf)."""
    if orgs == 1:
        return (1.0,)
    harmonic = sum(1.0 / k for k in range(2, orgs + 1))
    rest = 1.0 - BIG_TENANT_SHARE
    return (BIG_TENANT_SHARE, *(rest / k / harmonic for k in range(2, orgs + 1)))


def tenant_sizes(total: int, shares: Sequence[float]) -> list[int]:
    """`total` contiguous ids over the orgs: one each, the rest by the shares, remainders
    to org 1 (so that org 1 holds at least its share)."""
    rest = total - len(shares)
    sizes = [1 + int(rest * share) for share in shares]
    sizes[0] += total - sum(sizes)
    return sizes


def thresholds(shares: Sequence[float]) -> list[float]:
    """The lower bound of each org's slice of [0, 1): `width_bucket(u, thresholds)` then
    draws org k with probability shares[k - 1]."""
    bounds = [0.0]
    for share in shares[:-1]:
        bounds.append(bounds[-1] + share)
    return bounds


def make_shape(scale: float) -> Shape:
    """The row counts and tenant ranges at `scale`."""

    def rows(base: int, minimum: int) -> int:
        return max(minimum, round(base * scale))

    orgs = rows(ORGS, 3)
    shares = org_shares(orgs)
    users = rows(USERS, 3 * orgs)
    contacts = rows(CONTACTS, 5 * orgs)
    user_sizes = tenant_sizes(users, shares)
    contact_sizes = tenant_sizes(contacts, shares)
    return Shape(
        users=users,
        contacts=contacts,
        tickets=rows(TICKETS, 100),
        orders=rows(ORDERS, 100),
        events=rows(EVENTS, 400),
        org_shares=shares,
        user_starts=starts_of(user_sizes),
        user_sizes=tuple(user_sizes),
        contact_starts=starts_of(contact_sizes),
        contact_sizes=tuple(contact_sizes),
    )


def ip_address(number: int) -> str:
    """The IP address number `number` of the payloads (the SQL twin is `_ip_sql`)."""
    return f"10.{(number // 65_536) % 256}.{(number // 256) % 256}.{number % 256}"


def contact_email(contact_id: int) -> str:
    """Contact `contact_id`'s email (the SQL twin is in `load_sql`)."""
    return f"customer{contact_id}@mail.example.net"


# ------------------------------------------------------------------------- the schema

DDL = (
    """create table "organizations" (
    "id" serial not null,
    "name" text not null,
    "slug" text not null,
    "plan" text default 'starter' not null,
    "createdAt" timestamp with time zone default now() not null
)""",
    """create table "users" (
    "id" serial not null,
    "orgId" integer not null,
    "email" text not null,
    "name" text not null,
    "role" text default 'agent' not null,
    "createdAt" timestamp with time zone default now() not null
)""",
    """create table "contacts" (
    "id" serial not null,
    "orgId" integer not null,
    "name" text not null,
    "email" text not null,
    "company" text,
    "createdAt" timestamp with time zone default now() not null
)""",
    """create table "tickets" (
    "id" serial not null,
    "orgId" integer not null,
    "contactId" integer not null,
    "assigneeId" integer,
    "reporterId" integer not null,
    "subject" text not null,
    "status" text default 'open' not null,
    "priority" integer default 1 not null,
    "createdAt" timestamp with time zone default now() not null,
    "updatedAt" timestamp with time zone default now() not null
)""",
    """create table "orders" (
    "id" serial not null,
    "orgId" integer not null,
    "contactId" integer not null,
    "status" text default 'pending' not null,
    "totalCents" integer not null,
    "currency" text default 'EUR' not null,
    "createdAt" timestamp with time zone default now() not null
)""",
    """create table "events" (
    "id" bigserial not null,
    "orgId" integer not null,
    "userId" integer not null,
    "ticketId" integer,
    "type" text not null,
    "payload" jsonb not null,
    "createdAt" timestamp with time zone default now() not null
)""",
)

TABLES = ("organizations", "users", "contacts", "tickets", "orders", "events")

# (table, column, referenced table): named the way drizzle-kit names them.
FOREIGN_KEYS = (
    ("users", "orgId", "organizations"),
    ("contacts", "orgId", "organizations"),
    ("tickets", "orgId", "organizations"),
    ("tickets", "contactId", "contacts"),
    ("tickets", "assigneeId", "users"),
    ("tickets", "reporterId", "users"),
    ("orders", "orgId", "organizations"),
    ("orders", "contactId", "contacts"),
    ("events", "orgId", "organizations"),
    ("events", "userId", "users"),
    ("events", "ticketId", "tickets"),
)


def constraints_sql() -> list[str]:
    """Primary keys, the unique email, the foreign keys and the sequences' positions."""
    sql = [
        f'alter table "{table}" add constraint "{table}_pkey" primary key ("id")'
        for table in TABLES
    ]
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
        for table in TABLES
    )
    return sql


# --------------------------------------------------------------------------- the data


def _ints(values: Sequence[int]) -> str:
    return "'{" + ",".join(str(v) for v in values) + "}'::int[]"


def _floats(values: Sequence[float]) -> str:
    return "'{" + ",".join(repr(v) for v in values) + "}'::float8[]"


def _texts(values: Sequence[str]) -> str:
    return "array[" + ", ".join(f"'{v}'" for v in values) + "]"


def _pick(values: Sequence[str], row: str, salt: str) -> str:
    """One of `values`, uniformly, for row `row`."""
    return f"({_texts(values)})[1 + {rand_int(row, salt)} % {len(values)}]"


def _ranges_cte(shape: Shape) -> str:
    """`t`: the orgs' thresholds and their user and contact ranges, as arrays."""
    return (
        f"with t as (select {_floats(thresholds(shape.org_shares))} as ob, "
        f"{_ints(shape.user_starts)} as us, {_ints(shape.user_sizes)} as uz, "
        f"{_ints(shape.contact_starts)} as cs, {_ints(shape.contact_sizes)} as cz)\n"
    )


def _org(row: str, salt: str) -> str:
    """The org of row `row` of a table drawn row by row (needs the `t` CTE)."""
    return f"width_bucket({rand01(row, salt)}, (select ob from t))"


def _ticket_org(ticket: str) -> str:
    """Ticket `ticket`'s org, recomputed wherever another row refers to the ticket."""
    return _org(ticket, "to")


def _member(start: str, size: str, row: str, salt: str, skew: int = 1) -> str:
    """An id within [start, start + size): uniform, or skewed to the first ones."""
    draw = rand01(row, salt) if skew == 1 else f"power({rand01(row, salt)}, {skew})"
    return f"({start} + floor({size} * {draw})::int)"


def _created(rows: int, g: str, salt: str) -> str:
    """Row `g`'s creation time: increasing with the id over the span, jittered in its slot."""
    step = SPAN_SECONDS / rows
    return f"({START_SQL} + (({g}) - 1 + {rand01(g, salt)}) * {step!r} * interval '1 second')"


def _ip_sql(number: str) -> str:
    """ip_address() in SQL, for an int8 expression `number`."""
    return (
        f"'10.' || (({number} / 65536) % 256) || '.' || (({number} / 256) % 256) || '.' "
        f"|| ({number} % 256)"
    )


def _name_sql(row: str, salt: str) -> str:
    return f"{_pick(FIRST_NAMES, row, salt + 'f')} || ' ' || {_pick(LAST_NAMES, row, salt + 'l')}"


def load_sql(shape: Shape) -> list[str]:
    """The INSERT ... SELECT statements filling the tables, parents first."""
    s = shape
    t = _ranges_cte(s)
    recent = int((1 - RECENT_TICKETS) * s.tickets)
    organizations = f"""insert into "organizations" ("id", "name", "slug", "plan", "createdAt")
select g, 'Org ' || g, 'org-' || g,
    case when g = 1 then 'enterprise' when g <= {max(1, s.orgs // 20)} then 'growth'
        else 'starter' end,
    {START_SQL} - {rand01("g", "oc")} * interval '900 days'
from generate_series(1, {s.orgs}) g"""
    users = f"""{t}insert into "users" ("id", "orgId", "email", "name", "role", "createdAt")
select g, o, 'agent' || g || '@org' || o || '.example.com', {_name_sql("g", "un")},
    case when g = t.us[o] then 'owner' when {rand01("g", "ur")} < 0.1 then 'admin'
        else 'agent' end,
    {START_SQL} - {rand01("g", "uc")} * interval '700 days'
from (select g, width_bucket(g, (select us from t)) as o
    from generate_series(1, {s.users}) g) a, t"""
    company = f"'Company ' || (1 + {rand_int('g', 'cm')} % 5000)"
    contacts = f"""{t}insert into "contacts"
    ("id", "orgId", "name", "email", "company", "createdAt")
select g, width_bucket(g, t.cs), {_name_sql("g", "cn")},
    'customer' || g || '@mail.example.net',
    case when {rand01("g", "cc")} < 0.4 then null else {company} end,
    {START_SQL} + {rand01("g", "ct")} * interval '700 days'
from generate_series(1, {s.contacts}) g, t"""
    tickets = f"""{t}insert into "tickets" ("id", "orgId", "contactId", "assigneeId", "reporterId",
    "subject", "status", "priority", "createdAt", "updatedAt")
select x, o, {_member("t.cs[o]", "t.cz[o]", "x", "tc")},
    case when {rand01("x", "tn")} < 0.15 then null
        else {_member("t.us[o]", "t.uz[o]", "x", "ta", skew=2)} end,
    {_member("t.us[o]", "t.uz[o]", "x", "tr")},
    {_pick(SUBJECTS, "x", "ts")},
    case when x > {recent} then
            case when r < 0.35 then 'open' when r < 0.47 then 'pending'
                when r < 0.80 then 'solved' else 'closed' end
        else case when r < 0.02 then 'open' when r < 0.028 then 'pending'
            when r < 0.20 then 'solved' else 'closed' end end,
    case when q < 0.5 then 1 when q < 0.8 then 2 when q < 0.95 then 3 else 4 end,
    created, created + power({rand01("x", "tu")}, 2) * interval '20 days'
from (select x, {_ticket_org("x")} as o, {rand01("x", "tq")} as r, {rand01("x", "tp")} as q,
        {_created(s.tickets, "x", "tt")} as created
    from generate_series(1, {s.tickets}) x) a, t"""
    orders = f"""{t}insert into "orders" ("id", "orgId", "contactId", "status", "totalCents",
    "currency", "createdAt")
select g, o, {_member("t.cs[o]", "t.cz[o]", "g", "rc")},
    case when r < 0.02 then 'pending' when r < 0.65 then 'paid' when r < 0.92 then 'shipped'
        when r < 0.93 then 'refund_requested' else 'refunded' end,
    500 + {rand_int("g", "rt")} % 50000, 'EUR', {_created(s.orders, "g", "ro")}
from (select g, {_org("g", "ro")} as o, {rand01("g", "rs")} as r
    from generate_series(1, {s.orders}) g) a, t"""
    ip = _ip_sql(f"(u::int8 * {IPS_PER_USER} + {rand_int('g', 'ei')} % {IPS_PER_USER})")
    event_org = f"case when x is null then {_org('g', 'eg')} else {_ticket_org('x')} end"
    # Most events are about a ticket created shortly before them.
    event_ticket = (
        f"greatest(1, ceil(least({s.tickets}, g::float8 * {s.tickets / s.events!r}) "
        f"* (1 - power({rand01('g', 'ex')}, 3))))::int"
    )
    events = f"""{t}insert into "events" ("id", "orgId", "userId", "ticketId", "type", "payload",
    "createdAt")
select g, o, u, x, type,
    jsonb_build_object('ip', {ip},
        'ua', {_pick(USER_AGENTS, "g", "ea")}, 'source', {_pick(SOURCES, "g", "eo")}),
    ts
from (
    select g, o, x, type, ts, {_member("t.us[o]", "t.uz[o]", "g", "eu")} as u
    from (
        select g, ts, x, type, {event_org} as o
        from (
            select g, ts,
                case when k < 0.25 then 'user.login' when k < 0.33 then 'contact.viewed'
                    when k < 0.40 then 'order.synced' when k < 0.55 then 'ticket.created'
                    when k < 0.85 then 'ticket.replied' else 'ticket.status_changed' end as type,
                case when k < 0.40 then null else {event_ticket} end as x
            from (select g, {rand01("g", "ek")} as k, {_created(s.events, "g", "et")} as ts
                from generate_series(1, {s.events}) g) a
        ) b
    ) c, t
) d"""
    return [organizations, users, contacts, tickets, orders, events]


def setup_sql(shape: Shape) -> tuple[str, ...]:
    """Tables, data, constraints, statistics: in this order (loading before the primary
    keys exist is several times faster)."""
    return (*DDL, *load_sql(shape), *constraints_sql(), "analyze")


# -------------------------------------------------------------------- the parameters


class Draw:
    """Parameter values for one statement, drawn like the traffic."""

    def __init__(self, shape: Shape, seed: int, name: str) -> None:
        self.shape = shape
        self.rng = random.Random(f"{seed}:{name}")
        self.calls = 0

    # Each kind of id stays in one psycopg size class (see the module docstring): org and
    # user ids are folded into int2, row ids of the big tables into int4 once the table
    # has more than 32767 rows.
    @staticmethod
    def _fit(value: int, low: int, high: int) -> int:
        return low + (value - low) % (high - low + 1)

    def _small(self, value: int) -> int:
        return self._fit(value, 1, INT2_MAX)

    @staticmethod
    def _large_low(top: int) -> int:
        return INT2_MAX + 1 if top > INT2_MAX else 1

    def _large(self, value: int, top: int) -> int:
        return self._fit(value, self._large_low(top), top)

    def org(self) -> int:
        """An org in proportion to its rows: org 1 in 30 % of the calls."""
        s = self.shape
        org: int = self.rng.choices(range(1, s.orgs + 1), weights=s.org_shares)[0]
        return self._small(org)

    def slug(self) -> str:
        return f"org-{self.org()}"

    def user(self, org: int | None = None) -> int:
        """A member of `org` (or of an org drawn like the traffic)."""
        o = self.org() if org is None else org
        start, size = self.shape.user_starts[o - 1], self.shape.user_sizes[o - 1]
        return self._small(start + self.rng.randrange(size))

    def assignee(self, org: int) -> int:
        """The first agents of an org take most tickets (as in the data)."""
        start, size = self.shape.user_starts[org - 1], self.shape.user_sizes[org - 1]
        return self._small(start + int(size * self.rng.random() ** 2))

    def email(self) -> str:
        org = self.org()
        return f"agent{self.user(org)}@org{org}.example.com"

    def contact(self, org: int | None = None) -> int:
        """A contact of `org`, among its ids of the table's size class when it has some."""
        s = self.shape
        o = self.org() if org is None else org
        start, size = s.contact_starts[o - 1], s.contact_sizes[o - 1]
        low = max(start, self._large_low(s.contacts))
        if low >= start + size:
            return self._large(start + self.rng.randrange(size), s.contacts)
        return low + self.rng.randrange(start + size - low)

    def ticket(self) -> int:
        """A recent ticket (the ones people work on) or any."""
        n = self.shape.tickets
        if self.rng.random() < 0.6:
            return self._large(n - int(RECENT_TICKETS * n * self.rng.random()), n)
        return self._large(1 + self.rng.randrange(n), n)

    def ticket_cursor(self) -> int:
        """The last id of a page near the newest tickets."""
        n = self.shape.tickets
        return self._large(n - int(0.05 * n * self.rng.random()), n)

    def order(self) -> int:
        n = self.shape.orders
        return self._large(n - int(0.2 * n * self.rng.random()), n)

    def ip(self, org: int) -> str:
        """One of the addresses a member of `org` logs in from."""
        return ip_address(self.user(org) * IPS_PER_USER + self.rng.randrange(IPS_PER_USER))

    def name_pattern(self) -> str:
        """What an agent types in the search box: part of a last name."""
        name = self.rng.choice(LAST_NAMES).lower()
        return f"%{name[1:5]}%"

    def queue_status(self) -> str:
        """The queues agents look at: open first, then pending, then solved."""
        return self.rng.choices(TICKET_STATUSES[:3], weights=(60, 25, 15))[0]

    def new_status(self) -> str:
        return self.rng.choices(TICKET_STATUSES, weights=(2, 3, 4, 1))[0]

    def new_order_status(self) -> str:
        return self.rng.choice(("paid", "shipped", "refund_requested"))

    def limit(self) -> int:
        return self.rng.choice((10, 20, 25, 50))

    def offset(self) -> int:
        return self.rng.choice((0, 0, 0, 25, 50))

    def before(self, max_days: float) -> datetime:
        """A point in the last `max_days` of the data."""
        return END - timedelta(seconds=int(self.rng.random() * max_days * 86_400))

    def window(self, days: int, within_days: int = 180) -> tuple[datetime, datetime]:
        """[start, start + days) at a midnight within the last `within_days` of the data."""
        start = END - timedelta(days=days + self.rng.randrange(within_days))
        return start, start + timedelta(days=days)

    def unit(self) -> str:
        return self.rng.choice(("day", "week", "month"))

    def now(self) -> datetime:
        """The writes happen after the data's end, one minute apart."""
        self.calls += 1
        return END + timedelta(minutes=self.calls)

    def payload(self, org: int) -> str:
        """A jsonb payload as node-postgres sends it: JSON text."""
        return json.dumps(
            {"ip": self.ip(org), "ua": self.rng.choice(USER_AGENTS), "source": "web"},
            separators=(",", ":"),
        )


def _new_ticket(d: Draw) -> tuple[Any, ...]:
    org = d.org()
    now = d.now()
    subject = d.rng.choice(SUBJECTS)
    return (org, d.contact(org), d.assignee(org), d.user(org), subject, "open", 1, now, now)


def _new_event(d: Draw) -> tuple[Any, ...]:
    org = d.org()
    kind = d.rng.choice(("ticket.replied", "ticket.status_changed", "user.login"))
    return (org, d.user(org), d.ticket(), kind, d.payload(org), d.now())


def _new_order(d: Draw) -> tuple[Any, ...]:
    org = d.org()
    cents = 40_000 + d.rng.randrange(200_000)
    return (org, d.contact(org), "pending", cents, "EUR", d.now())


def _ip_lookup(d: Draw) -> tuple[Any, ...]:
    org = d.org()
    return (org, "ip", d.ip(org), d.limit())


def _my_tickets(d: Draw) -> tuple[Any, ...]:
    me = d.assignee(d.org())
    return (me, me, "open", d.limit())


def _contact_by_email(d: Draw) -> tuple[Any, ...]:
    org = d.org()
    return (org, contact_email(d.contact(org)), 1)


def _orders_cursor(d: Draw) -> tuple[Any, ...]:
    cursor = d.before(30.0)
    return (d.org(), cursor, cursor, d.order(), d.limit())


# --------------------------------------------------------------------- the statements

# (name, weight, sql, parameter maker); the maker draws one call's values.
Maker = Callable[[Draw], tuple[Any, ...]]

USER_COLUMNS = '"users"."id", "users"."orgId", "users"."email", "users"."name", "users"."role"'
CONTACT_LIST = '"contacts"."id", "contacts"."name", "contacts"."email", "contacts"."company"'
TICKET_LIST = (
    '"tickets"."id", "tickets"."subject", "tickets"."status", "tickets"."priority", '
    '"tickets"."assigneeId", "tickets"."createdAt"'
)
ORDER_LIST = (
    '"orders"."id", "orders"."contactId", "orders"."status", "orders"."totalCents", '
    '"orders"."createdAt"'
)
EVENT_LIST = '"events"."id", "events"."userId", "events"."type", "events"."createdAt"'

STATEMENTS: tuple[tuple[str, int, str, Maker], ...] = (
    # --- sessions and tenants
    (
        "user_by_id",
        150,
        f'select {USER_COLUMNS} from "users" where "users"."id" = %s limit %s',
        lambda d: (d.user(), 1),
    ),
    (
        "login_by_email",
        60,
        f'select {USER_COLUMNS} from "users" where "users"."email" = %s limit %s',
        lambda d: (d.email(), 1),
    ),
    (
        "org_by_slug",
        100,
        'select "organizations"."id", "organizations"."name", "organizations"."plan" '
        'from "organizations" where "organizations"."slug" = %s limit %s',
        lambda d: (d.slug(), 1),
    ),
    # --- contacts (the CRM side)
    (
        "contact_search",
        12,
        f'select {CONTACT_LIST} from "contacts" where ("contacts"."orgId" = %s '
        'and "contacts"."name" ilike %s) order by "contacts"."name" asc limit %s',
        lambda d: (d.org(), d.name_pattern(), d.limit()),
    ),
    (
        "contact_by_email",
        30,
        f'select {CONTACT_LIST} from "contacts" where ("contacts"."orgId" = %s '
        'and "contacts"."email" = %s) limit %s',
        _contact_by_email,
    ),
    (
        "contacts_page",
        20,
        f'select {CONTACT_LIST}, "contacts"."createdAt" from "contacts" '
        'where "contacts"."orgId" = %s order by "contacts"."createdAt" desc limit %s offset %s',
        lambda d: (d.org(), d.limit(), d.offset()),
    ),
    (
        "contact_tickets",
        25,
        f'select {TICKET_LIST} from "tickets" where "tickets"."contactId" = %s '
        'order by "tickets"."createdAt" desc limit %s',
        lambda d: (d.contact(), d.limit()),
    ),
    # --- tickets (the support desk)
    (
        "ticket_detail",
        120,
        'select "tickets"."id", "tickets"."subject", "tickets"."status", "tickets"."priority", '
        '"tickets"."createdAt", "contacts"."name", "contacts"."email" from "tickets" '
        'left join "contacts" on "tickets"."contactId" = "contacts"."id" '
        'where "tickets"."id" = %s limit %s',
        lambda d: (d.ticket(), 1),
    ),
    (
        "ticket_queue",
        50,
        f'select {TICKET_LIST} from "tickets" where ("tickets"."orgId" = %s '
        'and "tickets"."status" = %s) order by "tickets"."createdAt" desc limit %s offset %s',
        lambda d: (d.org(), d.queue_status(), d.limit(), d.offset()),
    ),
    (
        "ticket_inbox_page",
        30,
        f'select {TICKET_LIST} from "tickets" where "tickets"."orgId" = %s '
        'order by "tickets"."createdAt" desc limit %s offset %s',
        lambda d: (d.org(), d.limit(), d.offset()),
    ),
    (
        "ticket_keyset",
        60,
        f'select {TICKET_LIST} from "tickets" where ("tickets"."orgId" = %s '
        'and "tickets"."id" < %s) order by "tickets"."id" desc limit %s',
        lambda d: (d.org(), d.ticket_cursor(), d.limit()),
    ),
    (
        "my_tickets",
        40,
        f'select {TICKET_LIST}, "tickets"."updatedAt" from "tickets" '
        'where (("tickets"."assigneeId" = %s or "tickets"."reporterId" = %s) '
        'and "tickets"."status" = %s) order by "tickets"."updatedAt" desc limit %s',
        _my_tickets,
    ),
    (
        "pending_sweep",
        10,
        'select "tickets"."id", "tickets"."orgId", "tickets"."assigneeId", "tickets"."createdAt" '
        'from "tickets" where ("tickets"."status" = %s and "tickets"."createdAt" < %s) '
        'order by "tickets"."createdAt" asc limit %s',
        lambda d: ("pending", d.before(14.0) - timedelta(days=7), 100),
    ),
    (
        "ticket_status_counts",
        20,
        'select "tickets"."status", count(*) from "tickets" where "tickets"."orgId" = %s '
        'group by "tickets"."status"',
        lambda d: (d.org(),),
    ),
    (
        "ticket_volume",
        15,
        'select date_trunc(%s, "tickets"."createdAt"), count(*) from "tickets" '
        'where ("tickets"."orgId" = %s and "tickets"."createdAt" >= %s '
        'and "tickets"."createdAt" < %s) group by 1 order by 1',
        lambda d: (d.unit(), d.org(), *d.window(28)),
    ),
    (
        "agent_leaderboard",
        15,
        'select "users"."id", "users"."name", count("tickets"."id") from "tickets" '
        'inner join "users" on "tickets"."assigneeId" = "users"."id" '
        'where ("tickets"."orgId" = %s and "tickets"."status" = %s '
        'and "tickets"."updatedAt" >= %s) group by "users"."id" '
        'order by count("tickets"."id") desc limit %s',
        lambda d: (d.org(), "solved", d.before(30.0), 10),
    ),
    # --- orders
    (
        "contact_orders",
        25,
        f'select {ORDER_LIST} from "orders" where "orders"."contactId" = %s '
        'order by "orders"."createdAt" desc limit %s',
        lambda d: (d.contact(), d.limit()),
    ),
    (
        "orders_keyset",
        25,
        f'select {ORDER_LIST} from "orders" where ("orders"."orgId" = %s '
        'and ("orders"."createdAt" < %s or ("orders"."createdAt" = %s '
        'and "orders"."id" < %s))) order by "orders"."createdAt" desc, "orders"."id" desc '
        "limit %s",
        _orders_cursor,
    ),
    (
        "revenue_by_period",
        10,
        'select date_trunc(%s, "orders"."createdAt"), sum("orders"."totalCents") from "orders" '
        'where ("orders"."orgId" = %s and "orders"."status" = %s '
        'and "orders"."createdAt" between %s and %s) group by 1 order by 1',
        lambda d: (d.unit(), d.org(), "paid", *d.window(90)),
    ),
    (
        "refund_requests",
        20,
        f'select {ORDER_LIST} from "orders" where ("orders"."orgId" = %s '
        'and "orders"."status" = %s) order by "orders"."createdAt" desc limit %s',
        lambda d: (d.org(), "refund_requested", d.limit()),
    ),
    # --- the activity log
    (
        "events_by_ip",
        8,
        f'select {EVENT_LIST} from "events" where ("events"."orgId" = %s '
        'and "events"."payload"->>%s = %s) order by "events"."createdAt" desc limit %s',
        _ip_lookup,
    ),
    (
        "org_recent_events",
        12,
        f'select {EVENT_LIST}, "events"."payload" from "events" where ("events"."orgId" = %s '
        'and "events"."createdAt" >= %s) order by "events"."createdAt" desc limit %s',
        lambda d: (d.org(), d.before(7.0), d.limit()),
    ),
    (
        "ticket_activity",
        20,
        f'select {EVENT_LIST} from "events" where "events"."ticketId" = %s '
        'order by "events"."createdAt" desc limit %s',
        lambda d: (d.ticket(), d.limit()),
    ),
    (
        "events_export",
        5,
        f'select {EVENT_LIST}, "events"."orgId", "events"."payload" from "events" '
        'where "events"."createdAt" between %s and %s order by "events"."createdAt" asc '
        "limit %s",
        lambda d: (*d.window(1, within_days=60), 1000),
    ),
    (
        "active_users",
        5,
        'select date_trunc(%s, "events"."createdAt"), count(distinct "events"."userId") '
        'from "events" where ("events"."orgId" = %s and "events"."createdAt" >= %s '
        'and "events"."createdAt" < %s) group by 1 order by 1',
        lambda d: (d.unit(), d.org(), *d.window(30)),
    ),
    # --- writes
    (
        "insert_ticket",
        30,
        'insert into "tickets" ("id", "orgId", "contactId", "assigneeId", "reporterId", '
        '"subject", "status", "priority", "createdAt", "updatedAt") '
        'values (default, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning "id"',
        _new_ticket,
    ),
    (
        "update_ticket_status",
        40,
        'update "tickets" set "status" = %s, "updatedAt" = %s where "tickets"."id" = %s',
        lambda d: (d.new_status(), d.now(), d.ticket()),
    ),
    (
        "insert_event",
        100,
        'insert into "events" ("id", "orgId", "userId", "ticketId", "type", "payload", '
        '"createdAt") values (default, %s, %s, %s, %s, %s, %s) returning "id"',
        _new_event,
    ),
    (
        "insert_order",
        20,
        'insert into "orders" ("id", "orgId", "contactId", "status", "totalCents", '
        '"currency", "createdAt") values (default, %s, %s, %s, %s, %s, %s) returning "id"',
        _new_order,
    ),
    (
        "update_order_status",
        20,
        'update "orders" set "status" = %s where "orders"."id" = %s',
        lambda d: (d.new_order_status(), d.order()),
    ),
)


# ------------------------------------------------------------------ the DBA's indexes

# What an experienced DBA writes for this app from the schema and the statements above,
# before looking at any advisor's output (committed before the first bench run with it).
# The primary keys and users.email exist already. Partial indexes on a status serve the
# statements that bind it: node-postgres runs unnamed statements, which PostgreSQL plans
# with the values of their parameters.
DBA_INDEXES = (
    HandIndex(
        "organizations",
        ("slug",),
        "org_by_slug (100 calls): every request resolves the tenant from its URL slug",
    ),
    HandIndex(
        "contacts",
        ("orgId", "name"),
        "contact_search: tenant, then the ORDER BY name under LIMIT: the scan walks the "
        "tenant's contacts in name order and stops after LIMIT ILIKE matches (a leading % "
        "cannot use a b-tree range)",
    ),
    HandIndex(
        "contacts",
        ("orgId", "email"),
        "contact_by_email: tenant and email equality",
    ),
    HandIndex(
        "contacts",
        ("orgId", "createdAt"),
        "contacts_page: tenant, newest first under LIMIT/OFFSET",
    ),
    HandIndex(
        "tickets",
        ("orgId", "status", "createdAt"),
        "ticket_queue (50 calls): tenant, status, newest first under LIMIT/OFFSET; "
        "ticket_status_counts reads its first two columns",
    ),
    HandIndex(
        "tickets",
        ("orgId", "createdAt"),
        "ticket_inbox_page: tenant, newest first under LIMIT/OFFSET; ticket_volume's "
        "createdAt window within a tenant",
    ),
    HandIndex(
        "tickets",
        ("orgId", "id"),
        "ticket_keyset: tenant, then id < cursor, id descending under LIMIT",
    ),
    HandIndex(
        "tickets",
        ("assigneeId", "status"),
        "my_tickets: the assignee arm of the OR (a BitmapOr with the reporter arm); the "
        "assigneeId FK",
    ),
    HandIndex(
        "tickets",
        ("reporterId", "status"),
        "my_tickets: the reporter arm of the OR; the reporterId FK",
    ),
    HandIndex(
        "tickets",
        ("createdAt",),
        "pending_sweep: the 2 % pending tickets in createdAt order, stopping at LIMIT; "
        "partial on the rare status",
        where="\"status\" = 'pending'",
    ),
    HandIndex(
        "tickets",
        ("orgId", "status", "updatedAt"),
        "agent_leaderboard: tenant, status = 'solved', then the updatedAt window",
    ),
    HandIndex(
        "tickets",
        ("contactId", "createdAt"),
        "contact_tickets: a contact's tickets newest first under LIMIT; the contactId FK",
    ),
    HandIndex(
        "orders",
        ("contactId", "createdAt"),
        "contact_orders: a contact's orders newest first under LIMIT; the contactId FK",
    ),
    HandIndex(
        "orders",
        ("orgId", "createdAt", "id"),
        "orders_keyset: tenant, then (createdAt, id) descending as the ORDER BY (the "
        "cursor's OR is a filter on the ordered scan, which stops at LIMIT); "
        "revenue_by_period's createdAt window within a tenant",
    ),
    HandIndex(
        "orders",
        ("orgId", "createdAt"),
        "refund_requests: the 1 % refund requests of a tenant newest first; partial",
        where="\"status\" = 'refund_requested'",
    ),
    HandIndex(
        "events",
        ("orgId", "createdAt"),
        "org_recent_events, active_users: tenant, then a createdAt window (newest first "
        "under LIMIT for the first)",
    ),
    HandIndex(
        "events",
        ("ticketId", "createdAt"),
        "ticket_activity: a ticket's events newest first under LIMIT; the ticketId FK",
    ),
    HandIndex(
        "events",
        ("createdAt",),
        "events_export: one day's window of the append-only log in createdAt order",
    ),
    HandIndex(
        "events",
        ("(\"payload\" ->> 'ip')",),
        "events_by_ip: the bound key is always 'ip'; an address has a few dozen events "
        "(written with the set; built since hand_design takes expression keys)",
    ),
)


def build(scale: float = 1.0, seed: int = DEFAULT_SEED) -> QualityWorkload:
    """The support desk at `scale` (1.0: about 2 million rows, the events 1.2 million)."""
    shape = make_shape(scale)
    statements = []
    for name, weight, sql, maker in STATEMENTS:
        draw = Draw(shape, seed, name)
        params = tuple(maker(draw) for _ in range(PARAM_SETS))
        statements.append(QualityStatement(name=name, sql=sql, params=params, weight=weight))
    return QualityWorkload(
        name="saas",
        description=(
            "A multi-tenant support desk and CRM as Drizzle ORM queries it: 30 % of the rows "
            "in one of 2,000 Zipf tenants, rare 'pending' tickets and refund requests, a "
            "jsonb activity log looked up by a bound key; "
            f"{len(statements)} statement shapes with tenant pagination (offset and keyset), "
            "OR filters, time windows grouped by a bound date_trunc unit, an ILIKE search "
            "and writes."
        ),
        setup_sql=setup_sql(shape),
        statements=tuple(statements),
        dba_indexes=DBA_INDEXES,
    )
