"""A deterministic TPC-H-like analytical workload for the quality benchmark.

What is TPC-H about it: the eight tables of the TPC-H schema (region, nation, supplier,
customer, part, partsupp, orders, lineitem) with the specification's columns, types,
primary keys and foreign keys, data whose shape follows the specification (order dates
from 1992-01-01 to 1998-08-02, ship/commit/receipt dates derived from them, return flags
and line statuses relative to 1995-06-17, retail prices by the specification's formula,
the specification's nations, regions, segments, priorities, ship modes, part types,
containers and colours), and the 22 query shapes Q1..Q22, each with three parameter sets
drawn like the specification's substitution parameters (validation-style ranges).

How it differs from TPC-H (this is not a TPC-H implementation and its results are not
TPC-H results):

- Scale: `scale=1.0` is about SF 0.08 (12,000 customers, 16,000 parts, 800 suppliers,
  120,000 orders, about 480,000 line items); `scale` multiplies every row count.
- Skew: the data is skewed on purpose, unlike TPC-H's uniform data. o_custkey and
  l_partkey follow a Zipf-like distribution (P(k) ~ 1/k, hot keys scattered over the key
  range), l_suppkey prefers the first of a part's four suppliers, and nations (of customers
  and suppliers), market segments, brands, containers, order priorities, ship instructions
  and ship modes are Zipf-like too, so a few values dominate. Order keys are dense (1..N)
  and text columns are short word salads, not the specification's grammar.
- Generation: everything is generated inside PostgreSQL with `generate_series` and a seeded
  hash (`hashint8extended(key, seed-and-column salt)`), never `random()`, so the same
  arguments always give the same rows whichever way the statements are executed.
- Statements: parameters are bound server-side (`%s`), so the statements carry no literal
  `%`; the fixed LIKE patterns of Q14 ('PROMO%') and Q16 ('%Customer%Complaints%') are
  therefore parameters too (with the same value in every set). Q15's view is a CTE. Q17 and
  Q20 are written in the decorrelated form PostgreSQL TPC-H kits use (the correlated
  aggregate subquery becomes a derived table grouped by the correlation key and joined),
  because without secondary indexes PostgreSQL runs the correlated subquery once per outer
  row as a full scan of lineitem: more than 30 s per call at scale 1.0 (measured), against
  0.1-0.3 s decorrelated. Q2 keeps its correlated subquery: it only scans partsupp and
  takes about 50 ms. Date bounds are computed in Python and passed as `date` parameters
  instead of `date + interval` arithmetic in the SQL.
- Parameters: drawn from the specification's ranges, except Q17's brand and container,
  drawn with the data's (skewed) frequencies so that they name existing parts, and Q18's
  quantity, 280..300 instead of 312..315, which no order reaches at this scale.
- Integer parameters stay below 32768, so psycopg always sends them as int2 and every
  statement keeps a single queryid.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from bench.qualityspec import HandIndex, QualityStatement, QualityWorkload

DEFAULT_SEED = 20_240_101
# scale=1.0 is this TPC-H scale factor.
BASE_SCALE_FACTOR = 0.08
PARAM_SETS = 3

START_DATE = date(1992, 1, 1)
# ENDDATE (1998-12-31) minus 151 days: the last order date.
LAST_ORDER_DATE = date(1998, 8, 2)
CURRENT_DATE = date(1995, 6, 17)


def _split(text: str) -> tuple[str, ...]:
    """The words of `text`."""
    return tuple(text.split())


REGIONS = ("AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST")
# (name, region key), indexed by nation key.
NATIONS = (
    ("ALGERIA", 0),
    ("ARGENTINA", 1),
    ("BRAZIL", 1),
    ("CANADA", 1),
    ("EGYPT", 4),
    ("ETHIOPIA", 0),
    ("FRANCE", 3),
    ("GERMANY", 3),
    ("INDIA", 2),
    ("INDONESIA", 2),
    ("IRAN", 4),
    ("IRAQ", 4),
    ("JAPAN", 2),
    ("JORDAN", 4),
    ("KENYA", 0),
    ("MOROCCO", 0),
    ("MOZAMBIQUE", 0),
    ("PERU", 1),
    ("CHINA", 2),
    ("ROMANIA", 3),
    ("SAUDI ARABIA", 4),
    ("VIETNAM", 2),
    ("RUSSIA", 3),
    ("UNITED KINGDOM", 3),
    ("UNITED STATES", 1),
)
# Nation keys from the most to the least frequent (customers and suppliers).
NATION_POPULARITY = (
    *(24, 7, 18, 12, 23, 6, 2, 8, 3, 22, 9, 1, 19, 21, 20, 15, 10, 17, 4, 13),
    *(0, 5, 11, 14, 16),
)

SEGMENTS = ("BUILDING", "AUTOMOBILE", "MACHINERY", "HOUSEHOLD", "FURNITURE")
PRIORITIES = ("5-LOW", "3-MEDIUM", "1-URGENT", "4-NOT SPECIFIED", "2-HIGH")
SHIP_INSTRUCTIONS = ("NONE", "DELIVER IN PERSON", "TAKE BACK RETURN", "COLLECT COD")
SHIP_MODES = ("TRUCK", "MAIL", "SHIP", "AIR", "RAIL", "REG AIR", "FOB")
TYPE_SYLLABLES = (
    ("STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO"),
    ("ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED"),
    ("TIN", "NICKEL", "BRASS", "STEEL", "COPPER"),
)
CONTAINER_SYLLABLES = (
    ("SM", "LG", "MED", "JUMBO", "WRAP"),
    ("CASE", "BOX", "BAG", "JAR", "PKG", "PACK", "CAN", "DRUM"),
)
# Containers from the most to the least frequent: a fixed interleaving of the 40.
CONTAINERS = tuple(
    f"{CONTAINER_SYLLABLES[0][(i * 3) % 5]} {CONTAINER_SYLLABLES[1][(i * 7 + i // 5) % 8]}"
    for i in range(40)
)
COLORS = _split(
    "almond antique aquamarine azure beige bisque black blanched blue blush brown burlywood "
    "burnished chartreuse chiffon chocolate coral cornflower cornsilk cream cyan dark deep "
    "dim dodger drab firebrick floral forest frosted gainsboro ghost goldenrod green grey "
    "honeydew hot indian ivory khaki lace lavender lawn lemon light lime linen magenta "
    "maroon medium metallic midnight mint misty moccasin navajo navy olive orange orchid "
    "pale papaya peach peru pink plum powder puff purple red rose rosy royal saddle salmon "
    "sandy seashell sienna sky slate smoke snow spring steel tan thistle tomato turquoise "
    "violet wheat white yellow"
)
WORDS = _split(
    "furiously quickly carefully slyly blithely ironic final regular express special "
    "pending unusual bold even silent packages requests accounts deposits foxes ideas "
    "theodolites instructions dependencies excuses platelets asymptotes courts dolphins "
    "sleep wake are nag haggle use boost affix detect integrate cajole among across above "
    "along"
)
Q13_WORDS = (
    ("special", "pending", "unusual", "express"),
    ("packages", "requests", "accounts", "deposits"),
)
# Brands: the k-th most frequent is brand number ((k - 1) * this) % 25 (Brand#11 first).
BRAND_MULTIPLIER = 7
# Q18's QUANTITY: the specification's 312..315 selects no order at this scale (at most
# about 300 items per order here), so the range is lowered to select a few dozen.
Q18_QUANTITY = (280, 300)
WEIGHT_TWO = frozenset({"Q1", "Q3", "Q6", "Q10", "Q12", "Q14", "Q19"})


# ------------------------------------------------------------------------ sizes


def _table_sizes(scale: float) -> dict[str, int]:
    """Rows per generated table (lineitem: about 4 per order)."""
    sf = BASE_SCALE_FACTOR * scale
    return {
        "supplier": max(4, round(10_000 * sf)),
        "part": max(10, round(200_000 * sf)),
        "customer": max(10, round(150_000 * sf)),
        "orders": max(10, round(1_500_000 * sf)),
        "clerks": max(1, round(1_000 * sf)),
    }


def _coprime(n: int) -> int:
    """A multiplier that permutes 0..n-1 (mod n) and scatters neighbours."""
    m = int(n * 0.6180339887) | 1
    while math.gcd(m, n) != 1:
        m += 2
    return m


# ------------------------------------------------------------------------ SQL snippets


class _Gen:
    """SQL expressions of deterministic pseudo-random values, salted with the seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def u(self, key: str, column: int) -> str:
        """A uniform double in [0, 1) for the row `key` and the column number `column`."""
        salt = self.seed * 1000 + column
        return (
            f"((hashint8extended(({key})::bigint, {salt}) & 4503599627370495)::float8"
            " / 4503599627370496.0)"
        )

    def uniform(self, key: str, column: int, low: int, high: int) -> str:
        """A uniform integer in [low, high]."""
        return f"({low} + floor({self.u(key, column)} * {high - low + 1})::int)"

    def zipf(self, key: str, column: int, n: int) -> str:
        """An integer in [1, n] with P(k) ~ 1/k (log-uniform)."""
        return f"least({n}, floor(exp({self.u(key, column)} * ln({n + 1})))::int)"

    def zipf_key(self, key: str, column: int, n: int) -> str:
        """A key in [1, n], Zipf-like, with the hot keys scattered over the range."""
        mult = _coprime(n)
        return f"((({self.zipf(key, column, n)} - 1)::bigint * {mult}) % {n} + 1)::int"

    def pick(self, key: str, column: int, values: Sequence[str], skewed: bool) -> str:
        """One of `values`: Zipf-like over their order when `skewed`, else uniform."""
        index = (
            self.zipf(key, column, len(values))
            if skewed
            else self.uniform(key, column, 1, len(values))
        )
        return f"({_text_array(values)})[{index}]"

    def words(self, key: str, column: int, count: int, limit: int) -> str:
        """A comment of `count` words, cut to `limit` characters."""
        parts = " || ' ' || ".join(
            self.pick(key, column * 10 + i, WORDS, skewed=False) for i in range(count)
        )
        return f"left({parts}, {limit})"

    def digits(self, key: str, column: int, width: int) -> str:
        """A string of `width` decimal digits, the first not 0."""
        return f"{self.uniform(key, column, 10 ** (width - 1), 10**width - 1)}::text"

    def money(self, key: str, column: int, low_cents: int, high_cents: int) -> str:
        """A numeric(15,2) in [low_cents, high_cents] / 100."""
        return f"({self.uniform(key, column, low_cents, high_cents)} / 100.0)::numeric(15,2)"


def _text_array(values: Sequence[str]) -> str:
    """An SQL text array literal."""
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def _retail_price(partkey: str) -> str:
    """The specification's P_RETAILPRICE formula."""
    return (
        f"((90000 + (({partkey}) / 10) % 20001 + 100 * (({partkey}) % 1000)) / 100.0)"
        "::numeric(15,2)"
    )


def _phone(gen: _Gen, key: str, nationkey: str, column: int) -> str:
    """A phone number whose country code is the nation key + 10."""
    return (
        f"(({nationkey}) + 10)::text || '-' || {gen.digits(key, column, 3)} || '-' || "
        f"{gen.digits(key, column + 1, 3)} || '-' || {gen.digits(key, column + 2, 4)}"
    )


def _address(gen: _Gen, key: str, column: int) -> str:
    """A random-looking address of 10 to 40 characters."""
    length = gen.uniform(key, column + 1, 10, 40)
    return (
        f"left(md5(({key})::text || '{gen.seed}a{column}') || "
        f"md5(({key})::text || '{gen.seed}b{column}'), {length})"
    )


# ------------------------------------------------------------------------ schema


CREATE_TABLES = (
    """CREATE TABLE region (
    r_regionkey integer NOT NULL,
    r_name char(25) NOT NULL,
    r_comment varchar(152)
)""",
    """CREATE TABLE nation (
    n_nationkey integer NOT NULL,
    n_name char(25) NOT NULL,
    n_regionkey integer NOT NULL,
    n_comment varchar(152)
)""",
    """CREATE TABLE supplier (
    s_suppkey integer NOT NULL,
    s_name char(25) NOT NULL,
    s_address varchar(40) NOT NULL,
    s_nationkey integer NOT NULL,
    s_phone char(15) NOT NULL,
    s_acctbal numeric(15,2) NOT NULL,
    s_comment varchar(101) NOT NULL
)""",
    """CREATE TABLE customer (
    c_custkey integer NOT NULL,
    c_name varchar(25) NOT NULL,
    c_address varchar(40) NOT NULL,
    c_nationkey integer NOT NULL,
    c_phone char(15) NOT NULL,
    c_acctbal numeric(15,2) NOT NULL,
    c_mktsegment char(10) NOT NULL,
    c_comment varchar(117) NOT NULL
)""",
    """CREATE TABLE part (
    p_partkey integer NOT NULL,
    p_name varchar(55) NOT NULL,
    p_mfgr char(25) NOT NULL,
    p_brand char(10) NOT NULL,
    p_type varchar(25) NOT NULL,
    p_size integer NOT NULL,
    p_container char(10) NOT NULL,
    p_retailprice numeric(15,2) NOT NULL,
    p_comment varchar(23) NOT NULL
)""",
    """CREATE TABLE partsupp (
    ps_partkey integer NOT NULL,
    ps_suppkey integer NOT NULL,
    ps_availqty integer NOT NULL,
    ps_supplycost numeric(15,2) NOT NULL,
    ps_comment varchar(199) NOT NULL
)""",
    """CREATE TABLE orders (
    o_orderkey integer NOT NULL,
    o_custkey integer NOT NULL,
    o_orderstatus char(1) NOT NULL,
    o_totalprice numeric(15,2) NOT NULL,
    o_orderdate date NOT NULL,
    o_orderpriority char(15) NOT NULL,
    o_clerk char(15) NOT NULL,
    o_shippriority integer NOT NULL,
    o_comment varchar(79) NOT NULL
)""",
    """CREATE TABLE lineitem (
    l_orderkey integer NOT NULL,
    l_partkey integer NOT NULL,
    l_suppkey integer NOT NULL,
    l_linenumber integer NOT NULL,
    l_quantity numeric(15,2) NOT NULL,
    l_extendedprice numeric(15,2) NOT NULL,
    l_discount numeric(15,2) NOT NULL,
    l_tax numeric(15,2) NOT NULL,
    l_returnflag char(1) NOT NULL,
    l_linestatus char(1) NOT NULL,
    l_shipdate date NOT NULL,
    l_commitdate date NOT NULL,
    l_receiptdate date NOT NULL,
    l_shipinstruct char(25) NOT NULL,
    l_shipmode char(10) NOT NULL,
    l_comment varchar(44) NOT NULL
)""",
)

CONSTRAINTS = (
    "ALTER TABLE region ADD PRIMARY KEY (r_regionkey)",
    "ALTER TABLE nation ADD PRIMARY KEY (n_nationkey)",
    "ALTER TABLE supplier ADD PRIMARY KEY (s_suppkey)",
    "ALTER TABLE customer ADD PRIMARY KEY (c_custkey)",
    "ALTER TABLE part ADD PRIMARY KEY (p_partkey)",
    "ALTER TABLE partsupp ADD PRIMARY KEY (ps_partkey, ps_suppkey)",
    "ALTER TABLE orders ADD PRIMARY KEY (o_orderkey)",
    "ALTER TABLE lineitem ADD PRIMARY KEY (l_orderkey, l_linenumber)",
    "ALTER TABLE nation ADD FOREIGN KEY (n_regionkey) REFERENCES region",
    "ALTER TABLE supplier ADD FOREIGN KEY (s_nationkey) REFERENCES nation",
    "ALTER TABLE customer ADD FOREIGN KEY (c_nationkey) REFERENCES nation",
    "ALTER TABLE partsupp ADD FOREIGN KEY (ps_partkey) REFERENCES part",
    "ALTER TABLE partsupp ADD FOREIGN KEY (ps_suppkey) REFERENCES supplier",
    "ALTER TABLE orders ADD FOREIGN KEY (o_custkey) REFERENCES customer",
    "ALTER TABLE lineitem ADD FOREIGN KEY (l_orderkey) REFERENCES orders",
    "ALTER TABLE lineitem ADD FOREIGN KEY (l_partkey) REFERENCES part",
    "ALTER TABLE lineitem ADD FOREIGN KEY (l_suppkey) REFERENCES supplier",
    "ALTER TABLE lineitem ADD FOREIGN KEY (l_partkey, l_suppkey) REFERENCES partsupp",
)


def _load_sql(sizes: dict[str, int], seed: int) -> tuple[str, ...]:
    """The INSERT statements, parents before children (lineitem before orders: the order
    totals and statuses are aggregated from the line items)."""
    gen = _Gen(seed)
    suppliers, parts, customers, orders = (
        sizes["supplier"],
        sizes["part"],
        sizes["customer"],
        sizes["orders"],
    )
    supplier_step = suppliers // 4
    nations = "ARRAY[" + ", ".join(str(k) for k in NATION_POPULARITY) + "]"
    order_days = (LAST_ORDER_DATE - START_DATE).days
    current = f"DATE '{CURRENT_DATE.isoformat()}'"

    region = "INSERT INTO region VALUES " + ", ".join(
        f"({key}, '{name}', 'region {name.lower()}')" for key, name in enumerate(REGIONS)
    )
    nation = "INSERT INTO nation VALUES " + ", ".join(
        f"({key}, '{name}', {region_key}, 'nation {name.lower()}')"
        for key, (name, region_key) in enumerate(NATIONS)
    )
    supplier = f"""INSERT INTO supplier
SELECT g,
    'Supplier#' || lpad(g::text, 9, '0'),
    {_address(gen, "g", 10)},
    nk,
    {_phone(gen, "g", "nk", 12)},
    {gen.money("g", 15, -99_999, 999_999)},
    CASE WHEN {gen.u("g", 16)} < 0.02
        THEN 'Customer ' || {gen.words("g", 17, 2, 60)} || ' Complaints'
        WHEN {gen.u("g", 16)} < 0.04
        THEN 'Customer ' || {gen.words("g", 17, 2, 60)} || ' Recommends'
        ELSE {gen.words("g", 18, 6, 101)} END
FROM (SELECT g, ({nations})[{gen.zipf("g", 11, len(NATIONS))}] AS nk
      FROM generate_series(1, {suppliers}) AS g OFFSET 0) AS s"""

    customer = f"""INSERT INTO customer
SELECT g,
    'Customer#' || lpad(g::text, 9, '0'),
    {_address(gen, "g", 20)},
    nk,
    {_phone(gen, "g", "nk", 22)},
    {gen.money("g", 25, -99_999, 999_999)},
    {gen.pick("g", 26, SEGMENTS, skewed=True)},
    {gen.words("g", 27, 6, 117)}
FROM (SELECT g, ({nations})[{gen.zipf("g", 21, len(NATIONS))}] AS nk
      FROM generate_series(1, {customers}) AS g OFFSET 0) AS s"""

    colors = " || ' ' || ".join(gen.pick("g", 30 + i, COLORS, skewed=False) for i in range(5))
    brand = f"((({gen.zipf('g', 36, 25)} - 1) * {BRAND_MULTIPLIER}) % 25)"
    part = f"""INSERT INTO part
SELECT g,
    {colors},
    'Manufacturer#' || (b / 5 + 1),
    'Brand#' || (b / 5 + 1) || (b % 5 + 1),
    {gen.pick("g", 37, TYPE_SYLLABLES[0], skewed=False)} || ' '
        || {gen.pick("g", 38, TYPE_SYLLABLES[1], skewed=False)} || ' '
        || {gen.pick("g", 39, TYPE_SYLLABLES[2], skewed=False)},
    {gen.uniform("g", 40, 1, 50)},
    {gen.pick("g", 41, CONTAINERS, skewed=True)},
    {_retail_price("g")},
    {gen.words("g", 42, 2, 23)}
FROM (SELECT g, {brand} AS b FROM generate_series(1, {parts}) AS g OFFSET 0) AS s"""

    partsupp = f"""INSERT INTO partsupp
SELECT g,
    (g + i * {supplier_step}) % {suppliers} + 1,
    {gen.uniform("g * 4 + i", 50, 1, 9999)},
    {gen.money("g * 4 + i", 51, 100, 100_000)},
    {gen.words("g * 4 + i", 52, 8, 199)}
FROM generate_series(1, {parts}) AS g, generate_series(0, 3) AS i"""

    line = "o * 8 + ln"
    lineitem = f"""INSERT INTO lineitem
SELECT o, pk, (pk + si * {supplier_step}) % {suppliers} + 1, ln,
    qty, qty * {_retail_price("pk")}, disc, tax,
    CASE WHEN receipt <= {current}
        THEN CASE WHEN {gen.u(line, 68)} < 0.5 THEN 'R' ELSE 'A' END
        ELSE 'N' END,
    CASE WHEN ship > {current} THEN 'O' ELSE 'F' END,
    ship, odate + commit_days, receipt,
    {gen.pick(line, 69, SHIP_INSTRUCTIONS, skewed=True)},
    {gen.pick(line, 70, SHIP_MODES, skewed=True)},
    {gen.words(line, 71, 4, 44)}
FROM (
    SELECT o, ln, odate, pk, si, qty, disc, tax, commit_days, ship,
        ship + {gen.uniform(line, 67, 1, 30)} AS receipt
    FROM (
        SELECT o, ln, odate,
            {gen.zipf_key(line, 60, parts)} AS pk,
            {gen.zipf(line, 61, 4)} - 1 AS si,
            {gen.uniform(line, 62, 1, 50)}::numeric(15,2) AS qty,
            ({gen.uniform(line, 63, 0, 10)} / 100.0)::numeric(15,2) AS disc,
            ({gen.uniform(line, 64, 0, 8)} / 100.0)::numeric(15,2) AS tax,
            {gen.uniform(line, 65, 30, 90)} AS commit_days,
            odate + {gen.uniform(line, 66, 1, 121)} AS ship
        FROM (
            SELECT o, DATE '{START_DATE.isoformat()}'
                + {gen.uniform("o", 80, 0, order_days)} AS odate
            FROM generate_series(1, {orders}) AS o OFFSET 0
        ) AS ord,
        generate_series(1, {gen.uniform("o", 81, 1, 7)}) AS ln
        OFFSET 0
    ) AS l1
    OFFSET 0
) AS l2"""

    orders_sql = f"""INSERT INTO orders
SELECT o,
    {gen.zipf_key("o", 82, customers)},
    CASE WHEN all_f THEN 'F' WHEN all_o THEN 'O' ELSE 'P' END,
    total,
    DATE '{START_DATE.isoformat()}' + {gen.uniform("o", 80, 0, order_days)},
    {gen.pick("o", 83, PRIORITIES, skewed=True)},
    'Clerk#' || lpad({gen.uniform("o", 84, 1, sizes["clerks"])}::text, 9, '0'),
    0,
    {gen.words("o", 85, 5, 79)}
FROM (
    SELECT l_orderkey AS o,
        sum(l_extendedprice * (1 + l_tax) * (1 - l_discount))::numeric(15,2) AS total,
        bool_and(l_linestatus = 'F') AS all_f,
        bool_and(l_linestatus = 'O') AS all_o
    FROM lineitem GROUP BY l_orderkey
) AS totals"""

    return (region, nation, supplier, customer, part, partsupp, lineitem, orders_sql)


# ------------------------------------------------------------------------ statements

# Each shape: (name, SQL, maker of one parameter tuple). Written after the specification's
# queries with `%s` for its substitution parameters.
Maker = Callable[[random.Random], tuple[Any, ...]]
# A maker that also takes the scale factor (Q11's FRACTION depends on it).
ScaledMaker = Callable[[random.Random, float], tuple[Any, ...]]


def _add_months(day: date, months: int) -> date:
    """The same day `months` later (day 1 in practice)."""
    total = day.year * 12 + day.month - 1 + months
    return day.replace(year=total // 12, month=total % 12 + 1)


def _month(rng: random.Random, first: date, last: date) -> date:
    """The first day of a month between `first` and `last` (both day 1)."""
    span = (last.year - first.year) * 12 + last.month - first.month
    return _add_months(first, rng.randint(0, span))


def _year(rng: random.Random) -> date:
    """January 1st of a year in 1993..1997."""
    return date(rng.randint(1993, 1997), 1, 1)


def _nation(rng: random.Random) -> str:
    return rng.choice(NATIONS)[0]


def _region(rng: random.Random) -> str:
    return rng.choice(REGIONS)


def _brand(rng: random.Random) -> str:
    return f"Brand#{rng.randint(1, 5)}{rng.randint(1, 5)}"


def _type(rng: random.Random) -> str:
    return " ".join(rng.choice(syllables) for syllables in TYPE_SYLLABLES)


def _zipf_weights(n: int) -> list[float]:
    """The probabilities of 1..n under `_Gen.zipf` (unnormalised)."""
    return [math.log((k + 1) / k) for k in range(1, n + 1)]


def _popular_brand(rng: random.Random) -> str:
    """A brand drawn with the data's brand frequencies."""
    z = rng.choices(range(1, 26), weights=_zipf_weights(25))[0]
    b = ((z - 1) * BRAND_MULTIPLIER) % 25
    return f"Brand#{b // 5 + 1}{b % 5 + 1}"


def _popular_container(rng: random.Random) -> str:
    """A container drawn with the data's container frequencies."""
    return rng.choices(CONTAINERS, weights=_zipf_weights(len(CONTAINERS)))[0]


def _container(rng: random.Random) -> str:
    return " ".join(rng.choice(syllables) for syllables in CONTAINER_SYLLABLES)


def _q1(rng: random.Random) -> tuple[Any, ...]:
    return (date(1998, 12, 1) - timedelta(days=rng.randint(60, 120)),)


def _q2(rng: random.Random) -> tuple[Any, ...]:
    region = _region(rng)
    return (rng.randint(1, 50), "%" + rng.choice(TYPE_SYLLABLES[2]), region, region)


def _q3(rng: random.Random) -> tuple[Any, ...]:
    day = date(1995, 3, rng.randint(1, 31))
    return (rng.choice(SEGMENTS), day, day)


def _q4(rng: random.Random) -> tuple[Any, ...]:
    start = _month(rng, date(1993, 1, 1), date(1997, 10, 1))
    return (start, _add_months(start, 3))


def _q5(rng: random.Random) -> tuple[Any, ...]:
    start = _year(rng)
    return (_region(rng), start, _add_months(start, 12))


def _q6(rng: random.Random) -> tuple[Any, ...]:
    start = _year(rng)
    discount = Decimal(rng.randint(2, 9)) / 100
    return (start, _add_months(start, 12), discount, discount, rng.randint(24, 25))


def _q7(rng: random.Random) -> tuple[Any, ...]:
    first, second = rng.sample([name for name, _ in NATIONS], 2)
    return (first, second, second, first)


def _q8(rng: random.Random) -> tuple[Any, ...]:
    name, region = rng.choice(NATIONS)
    return (name, REGIONS[region], _type(rng))


def _q9(rng: random.Random) -> tuple[Any, ...]:
    return ("%" + rng.choice(COLORS) + "%",)


def _q10(rng: random.Random) -> tuple[Any, ...]:
    start = _month(rng, date(1993, 2, 1), date(1995, 1, 1))
    return (start, _add_months(start, 3))


def _q12(rng: random.Random) -> tuple[Any, ...]:
    first, second = rng.sample(SHIP_MODES, 2)
    start = _year(rng)
    return (first, second, start, _add_months(start, 12))


def _q13(rng: random.Random) -> tuple[Any, ...]:
    return (f"%{rng.choice(Q13_WORDS[0])}%{rng.choice(Q13_WORDS[1])}%",)


def _q14(rng: random.Random) -> tuple[Any, ...]:
    start = _month(rng, date(1993, 1, 1), date(1997, 12, 1))
    return ("PROMO%", start, _add_months(start, 1))


def _q15(rng: random.Random) -> tuple[Any, ...]:
    start = _month(rng, date(1993, 1, 1), date(1997, 10, 1))
    return (start, _add_months(start, 3))


def _q16(rng: random.Random) -> tuple[Any, ...]:
    prefix = f"{rng.choice(TYPE_SYLLABLES[0])} {rng.choice(TYPE_SYLLABLES[1])}%"
    sizes = rng.sample(range(1, 51), 8)
    return (_brand(rng), prefix, *sizes, "%Customer%Complaints%")


def _q17(rng: random.Random) -> tuple[Any, ...]:
    return (_popular_brand(rng), _popular_container(rng))


def _q18(rng: random.Random) -> tuple[Any, ...]:
    return (rng.randint(Q18_QUANTITY[0], Q18_QUANTITY[1]),)


def _q19(rng: random.Random) -> tuple[Any, ...]:
    values: list[Any] = []
    for low, high in ((1, 10), (10, 20), (20, 30)):
        quantity = rng.randint(low, high)
        values += [_brand(rng), quantity, quantity]
    return tuple(values)


def _q20(rng: random.Random) -> tuple[Any, ...]:
    start = _year(rng)
    return (start, _add_months(start, 12), rng.choice(COLORS) + "%", _nation(rng))


def _q22(rng: random.Random) -> tuple[Any, ...]:
    codes = [str(k + 10) for k in rng.sample(range(len(NATIONS)), 7)]
    return (*codes, *codes)


def _in_list(count: int) -> str:
    return ", ".join(["%s"] * count)


_REVENUE = "sum(l_extendedprice * (1 - l_discount))"


def _fixed(maker: Maker) -> ScaledMaker:
    """A maker that does not depend on the scale factor."""
    return lambda rng, _sf: maker(rng)


def _q11(rng: random.Random, sf: float) -> tuple[Any, ...]:
    nation = _nation(rng)
    return (nation, Decimal(f"{0.0001 / sf:.6g}"), nation)


_QUERIES: tuple[tuple[str, str, ScaledMaker], ...] = (
    (
        "Q1",
        """select l_returnflag, l_linestatus, sum(l_quantity) as sum_qty,
    sum(l_extendedprice) as sum_base_price,
    sum(l_extendedprice * (1 - l_discount)) as sum_disc_price,
    sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) as sum_charge,
    avg(l_quantity) as avg_qty, avg(l_extendedprice) as avg_price,
    avg(l_discount) as avg_disc, count(*) as count_order
from lineitem
where l_shipdate <= %s
group by l_returnflag, l_linestatus
order by l_returnflag, l_linestatus""",
        _fixed(_q1),
    ),
    (
        "Q2",
        """select s_acctbal, s_name, n_name, p_partkey, p_mfgr, s_address, s_phone, s_comment
from part, supplier, partsupp, nation, region
where p_partkey = ps_partkey and s_suppkey = ps_suppkey and p_size = %s
    and p_type like %s and s_nationkey = n_nationkey and n_regionkey = r_regionkey
    and r_name = %s
    and ps_supplycost = (
        select min(ps_supplycost)
        from partsupp, supplier, nation, region
        where p_partkey = ps_partkey and s_suppkey = ps_suppkey
            and s_nationkey = n_nationkey and n_regionkey = r_regionkey and r_name = %s)
order by s_acctbal desc, n_name, s_name, p_partkey
limit 100""",
        _fixed(_q2),
    ),
    (
        "Q3",
        f"""select l_orderkey, {_REVENUE} as revenue, o_orderdate, o_shippriority
from customer, orders, lineitem
where c_mktsegment = %s and c_custkey = o_custkey and l_orderkey = o_orderkey
    and o_orderdate < %s and l_shipdate > %s
group by l_orderkey, o_orderdate, o_shippriority
order by revenue desc, o_orderdate
limit 10""",
        _fixed(_q3),
    ),
    (
        "Q4",
        """select o_orderpriority, count(*) as order_count
from orders
where o_orderdate >= %s and o_orderdate < %s
    and exists (
        select * from lineitem
        where l_orderkey = o_orderkey and l_commitdate < l_receiptdate)
group by o_orderpriority
order by o_orderpriority""",
        _fixed(_q4),
    ),
    (
        "Q5",
        f"""select n_name, {_REVENUE} as revenue
from customer, orders, lineitem, supplier, nation, region
where c_custkey = o_custkey and l_orderkey = o_orderkey and l_suppkey = s_suppkey
    and c_nationkey = s_nationkey and s_nationkey = n_nationkey
    and n_regionkey = r_regionkey and r_name = %s
    and o_orderdate >= %s and o_orderdate < %s
group by n_name
order by revenue desc""",
        _fixed(_q5),
    ),
    (
        "Q6",
        """select sum(l_extendedprice * l_discount) as revenue
from lineitem
where l_shipdate >= %s and l_shipdate < %s
    and l_discount between %s - 0.01 and %s + 0.01 and l_quantity < %s""",
        _fixed(_q6),
    ),
    (
        "Q7",
        """select supp_nation, cust_nation, l_year, sum(volume) as revenue
from (
    select n1.n_name as supp_nation, n2.n_name as cust_nation,
        extract(year from l_shipdate) as l_year,
        l_extendedprice * (1 - l_discount) as volume
    from supplier, lineitem, orders, customer, nation n1, nation n2
    where s_suppkey = l_suppkey and o_orderkey = l_orderkey and c_custkey = o_custkey
        and s_nationkey = n1.n_nationkey and c_nationkey = n2.n_nationkey
        and ((n1.n_name = %s and n2.n_name = %s) or (n1.n_name = %s and n2.n_name = %s))
        and l_shipdate between date '1995-01-01' and date '1996-12-31'
) as shipping
group by supp_nation, cust_nation, l_year
order by supp_nation, cust_nation, l_year""",
        _fixed(_q7),
    ),
    (
        "Q8",
        """select o_year,
    sum(case when nation = %s then volume else 0 end) / sum(volume) as mkt_share
from (
    select extract(year from o_orderdate) as o_year,
        l_extendedprice * (1 - l_discount) as volume, n2.n_name as nation
    from part, supplier, lineitem, orders, customer, nation n1, nation n2, region
    where p_partkey = l_partkey and s_suppkey = l_suppkey and l_orderkey = o_orderkey
        and o_custkey = c_custkey and c_nationkey = n1.n_nationkey
        and n1.n_regionkey = r_regionkey and r_name = %s
        and s_nationkey = n2.n_nationkey
        and o_orderdate between date '1995-01-01' and date '1996-12-31'
        and p_type = %s
) as all_nations
group by o_year
order by o_year""",
        _fixed(_q8),
    ),
    (
        "Q9",
        """select nation, o_year, sum(amount) as sum_profit
from (
    select n_name as nation, extract(year from o_orderdate) as o_year,
        l_extendedprice * (1 - l_discount) - ps_supplycost * l_quantity as amount
    from part, supplier, lineitem, partsupp, orders, nation
    where s_suppkey = l_suppkey and ps_suppkey = l_suppkey and ps_partkey = l_partkey
        and p_partkey = l_partkey and o_orderkey = l_orderkey
        and s_nationkey = n_nationkey and p_name like %s
) as profit
group by nation, o_year
order by nation, o_year desc""",
        _fixed(_q9),
    ),
    (
        "Q10",
        f"""select c_custkey, c_name, {_REVENUE} as revenue, c_acctbal, n_name,
    c_address, c_phone, c_comment
from customer, orders, lineitem, nation
where c_custkey = o_custkey and l_orderkey = o_orderkey
    and o_orderdate >= %s and o_orderdate < %s
    and l_returnflag = 'R' and c_nationkey = n_nationkey
group by c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
order by revenue desc
limit 20""",
        _fixed(_q10),
    ),
    (
        "Q11",
        """select ps_partkey, sum(ps_supplycost * ps_availqty) as value
from partsupp, supplier, nation
where ps_suppkey = s_suppkey and s_nationkey = n_nationkey and n_name = %s
group by ps_partkey
having sum(ps_supplycost * ps_availqty) > (
    select sum(ps_supplycost * ps_availqty) * %s
    from partsupp, supplier, nation
    where ps_suppkey = s_suppkey and s_nationkey = n_nationkey and n_name = %s)
order by value desc""",
        _q11,
    ),
    (
        "Q12",
        """select l_shipmode,
    sum(case when o_orderpriority = '1-URGENT' or o_orderpriority = '2-HIGH'
        then 1 else 0 end) as high_line_count,
    sum(case when o_orderpriority <> '1-URGENT' and o_orderpriority <> '2-HIGH'
        then 1 else 0 end) as low_line_count
from orders, lineitem
where o_orderkey = l_orderkey and l_shipmode in (%s, %s)
    and l_commitdate < l_receiptdate and l_shipdate < l_commitdate
    and l_receiptdate >= %s and l_receiptdate < %s
group by l_shipmode
order by l_shipmode""",
        _fixed(_q12),
    ),
    (
        "Q13",
        """select c_count, count(*) as custdist
from (
    select c_custkey, count(o_orderkey)
    from customer left outer join orders
        on c_custkey = o_custkey and o_comment not like %s
    group by c_custkey
) as c_orders (c_custkey, c_count)
group by c_count
order by custdist desc, c_count desc""",
        _fixed(_q13),
    ),
    (
        "Q14",
        """select 100.00 * sum(case when p_type like %s
        then l_extendedprice * (1 - l_discount) else 0 end)
    / sum(l_extendedprice * (1 - l_discount)) as promo_revenue
from lineitem, part
where l_partkey = p_partkey and l_shipdate >= %s and l_shipdate < %s""",
        _fixed(_q14),
    ),
    (
        "Q15",
        f"""with revenue (supplier_no, total_revenue) as (
    select l_suppkey, {_REVENUE}
    from lineitem
    where l_shipdate >= %s and l_shipdate < %s
    group by l_suppkey)
select s_suppkey, s_name, s_address, s_phone, total_revenue
from supplier, revenue
where s_suppkey = supplier_no
    and total_revenue = (select max(total_revenue) from revenue)
order by s_suppkey""",
        _fixed(_q15),
    ),
    (
        "Q16",
        f"""select p_brand, p_type, p_size, count(distinct ps_suppkey) as supplier_cnt
from partsupp, part
where p_partkey = ps_partkey and p_brand <> %s and p_type not like %s
    and p_size in ({_in_list(8)})
    and ps_suppkey not in (select s_suppkey from supplier where s_comment like %s)
group by p_brand, p_type, p_size
order by supplier_cnt desc, p_brand, p_type, p_size""",
        _fixed(_q16),
    ),
    (
        "Q17",
        # Decorrelated: `l_quantity < (select 0.2 * avg(l_quantity) from lineitem where
        # l_partkey = p_partkey)` rescans lineitem per joined row without an index.
        """select sum(l_extendedprice) / 7.0 as avg_yearly
from lineitem, part, (
    select l_partkey as agg_partkey, 0.2 * avg(l_quantity) as avg_quantity
    from lineitem
    group by l_partkey
) as part_agg
where p_partkey = l_partkey and agg_partkey = l_partkey
    and p_brand = %s and p_container = %s and l_quantity < avg_quantity""",
        _fixed(_q17),
    ),
    (
        "Q18",
        """select c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, sum(l_quantity)
from customer, orders, lineitem
where o_orderkey in (
        select l_orderkey from lineitem group by l_orderkey having sum(l_quantity) > %s)
    and c_custkey = o_custkey and o_orderkey = l_orderkey
group by c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice
order by o_totalprice desc, o_orderdate
limit 100""",
        _fixed(_q18),
    ),
    (
        "Q19",
        f"""select {_REVENUE} as revenue
from lineitem, part
where (p_partkey = l_partkey and p_brand = %s
        and p_container in ('SM CASE', 'SM BOX', 'SM PACK', 'SM PKG')
        and l_quantity >= %s and l_quantity <= %s + 10 and p_size between 1 and 5
        and l_shipmode in ('AIR', 'AIR REG') and l_shipinstruct = 'DELIVER IN PERSON')
    or (p_partkey = l_partkey and p_brand = %s
        and p_container in ('MED BAG', 'MED BOX', 'MED PKG', 'MED PACK')
        and l_quantity >= %s and l_quantity <= %s + 10 and p_size between 1 and 10
        and l_shipmode in ('AIR', 'AIR REG') and l_shipinstruct = 'DELIVER IN PERSON')
    or (p_partkey = l_partkey and p_brand = %s
        and p_container in ('LG CASE', 'LG BOX', 'LG PACK', 'LG PKG')
        and l_quantity >= %s and l_quantity <= %s + 10 and p_size between 1 and 15
        and l_shipmode in ('AIR', 'AIR REG') and l_shipinstruct = 'DELIVER IN PERSON')""",
        _fixed(_q19),
    ),
    (
        "Q20",
        # Decorrelated: `ps_availqty > (select 0.5 * sum(l_quantity) from lineitem where
        # l_partkey = ps_partkey and l_suppkey = ps_suppkey and l_shipdate ...)` rescans
        # lineitem per partsupp row without an index.
        """select s_name, s_address
from supplier, nation
where s_suppkey in (
        select ps_suppkey
        from partsupp, (
            select l_partkey as agg_partkey, l_suppkey as agg_suppkey,
                0.5 * sum(l_quantity) as agg_quantity
            from lineitem
            where l_shipdate >= %s and l_shipdate < %s
            group by l_partkey, l_suppkey
        ) as agg_lineitem
        where agg_partkey = ps_partkey and agg_suppkey = ps_suppkey
            and ps_partkey in (select p_partkey from part where p_name like %s)
            and ps_availqty > agg_quantity)
    and s_nationkey = n_nationkey and n_name = %s
order by s_name""",
        _fixed(_q20),
    ),
    (
        "Q21",
        """select s_name, count(*) as numwait
from supplier, lineitem l1, orders, nation
where s_suppkey = l1.l_suppkey and o_orderkey = l1.l_orderkey and o_orderstatus = 'F'
    and l1.l_receiptdate > l1.l_commitdate
    and exists (
        select * from lineitem l2
        where l2.l_orderkey = l1.l_orderkey and l2.l_suppkey <> l1.l_suppkey)
    and not exists (
        select * from lineitem l3
        where l3.l_orderkey = l1.l_orderkey and l3.l_suppkey <> l1.l_suppkey
            and l3.l_receiptdate > l3.l_commitdate)
    and s_nationkey = n_nationkey and n_name = %s
group by s_name
order by numwait desc, s_name
limit 100""",
        _fixed(lambda rng: (_nation(rng),)),
    ),
    (
        "Q22",
        f"""select cntrycode, count(*) as numcust, sum(c_acctbal) as totacctbal
from (
    select substring(c_phone from 1 for 2) as cntrycode, c_acctbal
    from customer
    where substring(c_phone from 1 for 2) in ({_in_list(7)})
        and c_acctbal > (
            select avg(c_acctbal) from customer
            where c_acctbal > 0.00 and substring(c_phone from 1 for 2) in ({_in_list(7)}))
        and not exists (select * from orders where o_custkey = c_custkey)
) as custsale
group by cntrycode
order by cntrycode""",
        _fixed(_q22),
    ),
)


def _param_sets(maker: ScaledMaker, rng: random.Random, sf: float) -> tuple[tuple[Any, ...], ...]:
    """PARAM_SETS distinct parameter tuples (fewer only if the domain is that small)."""
    sets: list[tuple[Any, ...]] = []
    for _ in range(100):
        values = maker(rng, sf)
        if values not in sets:
            sets.append(values)
        if len(sets) == PARAM_SETS:
            break
    return tuple(sets)


def statements(scale: float = 1.0, seed: int = DEFAULT_SEED) -> tuple[QualityStatement, ...]:
    """The 22 query shapes with their parameter sets and weights."""
    sf = BASE_SCALE_FACTOR * scale
    result = []
    for number, (name, sql, maker) in enumerate(_QUERIES, start=1):
        rng = random.Random(seed * 100 + number)
        weight = 2 if name in WEIGHT_TWO else 1
        result.append(QualityStatement(name, sql, _param_sets(maker, rng, sf), weight))
    return tuple(result)


def setup_sql(scale: float = 1.0, seed: int = DEFAULT_SEED) -> tuple[str, ...]:
    """Tables, data, primary and foreign keys, statistics: one statement per string."""
    sizes = _table_sizes(scale)
    return (*CREATE_TABLES, *_load_sql(sizes, seed), *CONSTRAINTS, "ANALYZE")


# What an experienced DBA writes for these queries from the schema and the SQL, before
# looking at any advisor's output: the foreign keys on the child side of the joins that
# start from a small filtered parent, the date windows, and the one selective part filter.
# The primary keys exist already (lineitem's leads with l_orderkey, partsupp's with
# ps_partkey).
DBA_INDEXES = (
    HandIndex(
        "lineitem",
        ("l_shipdate",),
        "Q6, Q14, Q15, Q20: a one-month to one-year window of ship dates out of seven years",
    ),
    HandIndex(
        "lineitem",
        ("l_partkey", "l_suppkey"),
        "Q17, Q19, Q9, Q20: the line items of the few parts a brand/container picks; "
        "the FK to partsupp (and part)",
    ),
    HandIndex(
        "lineitem",
        ("l_suppkey",),
        "Q21, Q5, Q7: the line items of one nation's suppliers; the FK to supplier",
    ),
    HandIndex(
        "orders",
        ("o_custkey",),
        "Q13, Q22 (not exists), Q10, Q18: a customer's orders; the FK to customer",
    ),
    HandIndex(
        "orders",
        ("o_orderdate",),
        "Q4, Q10 (three months), Q5 (one year), Q3, Q8: a window of order dates",
    ),
    HandIndex(
        "partsupp",
        ("ps_suppkey",),
        "Q11, Q2, Q20, Q16: one nation's suppliers' parts (the primary key leads with "
        "ps_partkey); the FK to supplier",
    ),
    HandIndex(
        "customer",
        ("c_nationkey",),
        "Q5, Q7, Q8, Q10: the customers of one nation or region; the FK to nation",
    ),
    HandIndex(
        "supplier",
        ("s_nationkey",),
        "Q2, Q5, Q11, Q20, Q21: the suppliers of one nation or region; the FK to nation",
    ),
    HandIndex(
        "part",
        ("p_brand", "p_container"),
        "Q17: brand and container together pick one part in a thousand; Q19's brand",
    ),
)


def build(scale: float = 1.0, seed: int = DEFAULT_SEED) -> QualityWorkload:
    """The TPC-H-like workload at `scale` (1.0: about SF 0.08, 480,000 line items)."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    sizes = _table_sizes(scale)
    description = (
        f"TPC-H-like analytical workload (22 query shapes, skewed data), scale {scale:g} "
        f"(about SF {BASE_SCALE_FACTOR * scale:.4g}: {sizes['orders']:,} orders, "
        f"{sizes['customer']:,} customers, {sizes['part']:,} parts, "
        f"{sizes['supplier']:,} suppliers), seed {seed}"
    )
    return QualityWorkload(
        name="tpch",
        description=description,
        setup_sql=setup_sql(scale, seed),
        statements=statements(scale, seed),
        dba_indexes=DBA_INDEXES,
    )
