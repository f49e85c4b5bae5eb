"""Index health checks on hand-built schemas and usage windows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from advisor.analyze.health import find_problems, safe_drops
from advisor.config import Settings, health_settings
from advisor.history import (
    Delta,
    IndexCounters,
    TableCounters,
)
from advisor.model import (
    Column,
    Finding,
    FindingKind,
    ForeignKey,
    Index,
    KeyColumn,
    Schema,
    Table,
    TableName,
    quote_ident,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
ORDERS = TableName("public", "orders")
MB = 1 << 20
SETTINGS = health_settings(Settings())


def key(column: str, descending: bool = False, nulls_first: bool | None = None) -> KeyColumn:
    return KeyColumn.of(column, descending, nulls_first)


def expression(text: str) -> KeyColumn:
    return KeyColumn(text, is_expression=True)


def make_index(
    name: str,
    *keys: KeyColumn,
    table: TableName = ORDERS,
    include: tuple[str, ...] = (),
    predicate: str | None = None,
    unique: bool = False,
    primary: bool = False,
    constraint: str | None = None,
    valid: bool = True,
    method: str = "btree",
    size_bytes: int = 8 * MB,
    key_texts: Mapping[int, str] | None = None,
    partitioned: bool = False,
) -> Index:
    """An Index as read from the catalog, with its pg_get_indexdef text; `key_texts`
    overrides how keys are printed (to add COLLATE or an operator class)."""
    printed = [k.sql() if not k.is_expression else k.column for k in keys]
    for position, text in (key_texts or {}).items():
        printed[position] = text
    definition = (
        f"CREATE {'UNIQUE ' if unique else ''}INDEX {quote_ident(name)} ON "
        f"{'ONLY ' if partitioned else ''}{table} USING {method} ({', '.join(printed)})"
    )
    if include:
        definition += " INCLUDE (" + ", ".join(quote_ident(c) for c in include) + ")"
    if predicate:
        definition += f" WHERE ({predicate})"
    return Index(
        name=name,
        table=table,
        keys=keys,
        include=include,
        predicate=predicate,
        unique=unique or primary,
        primary=primary,
        valid=valid,
        constraint=constraint,
        access_method=method,
        size_bytes=size_bytes,
        definition=definition,
    )


def schema_of(*indexes: Index) -> Schema:
    tables: dict[TableName, list[Index]] = {}
    for index in indexes:
        tables.setdefault(index.table, []).append(index)
    return Schema(
        tables={
            name: Table(name, (Column("a", "int"), Column("b", "int")), tuple(found))
            for name, found in tables.items()
        }
    )


def usage_of(
    *indexes: Index,
    scans: Mapping[str, int] | None = None,
    days: float = 30.0,
    tables: tuple[TableCounters, ...] = (),
    reset: bool = False,
) -> Delta:
    """A usage window of `days` ending now, with the given scan counts (default zero)."""
    counters = tuple(
        IndexCounters(i.table, i.name, idx_scan=(scans or {}).get(i.name, 0)) for i in indexes
    )
    return Delta(
        "db",
        NOW - timedelta(days=days),
        NOW,
        statements=(),
        tables=tables,
        indexes=counters,
        reset=reset,
    )


def watched_since(*indexes: Index, days: float = 30.0) -> dict[tuple[TableName, str], datetime]:
    return {(i.table, i.name): NOW - timedelta(days=days) for i in indexes}


def problems(*indexes: Index, usage: Delta | None = None) -> tuple[Finding, ...]:
    return find_problems(schema_of(*indexes), usage, watched_since(*indexes), NOW, SETTINGS)


def summary(findings: tuple[Finding, ...]) -> list[tuple[FindingKind, str, str | None]]:
    return [(f.kind, f.index, f.covered_by) for f in findings]


# --------------------------------------------------------------------------- invalid


def test_invalid_index_is_rebuilt_concurrently_with_drop_and_create_as_the_alternative() -> None:
    broken = make_index("orders_a_idx", key("a"), valid=False)
    (finding,) = problems(broken)
    assert finding.kind is FindingKind.INVALID
    assert finding.fix_sql == "REINDEX INDEX CONCURRENTLY public.orders_a_idx;"
    assert "DROP INDEX CONCURRENTLY IF EXISTS public.orders_a_idx;" in finding.reason
    assert (
        "CREATE INDEX CONCURRENTLY orders_a_idx ON public.orders USING btree (a);" in finding.reason
    )


def test_invalid_unique_index_warns_that_duplicate_keys_must_go_first() -> None:
    broken = make_index("orders_a_key", key("a"), unique=True, valid=False)
    (finding,) = problems(broken)
    assert "CREATE UNIQUE INDEX CONCURRENTLY orders_a_key ON" in finding.reason
    assert "duplicate keys" in finding.reason


def test_fix_sql_quotes_weird_schema_and_index_names() -> None:
    table = TableName("My Schema", "Orders")
    broken = make_index('we"ird ON idx', key("a"), table=table, valid=False)
    (finding,) = problems(broken)
    assert finding.fix_sql == 'REINDEX INDEX CONCURRENTLY "My Schema"."we""ird ON idx";'
    assert finding.table == table


def test_leftover_of_a_failed_reindex_is_dropped_not_rebuilt() -> None:
    original = make_index("orders_a_idx", key("a"))
    leftover = make_index("orders_a_idx_ccnew1", key("a"), valid=False)
    assert summary(problems(original, leftover)) == [
        (FindingKind.INVALID, "orders_a_idx_ccnew1", None)
    ]
    (finding,) = problems(original, leftover)
    assert finding.fix_sql == "DROP INDEX CONCURRENTLY IF EXISTS public.orders_a_idx_ccnew1;"


def test_invalid_partitioned_index_is_dropped_without_concurrently() -> None:
    broken = make_index("orders_a_idx", key("a"), valid=False, partitioned=True)
    (finding,) = problems(broken)
    assert finding.fix_sql == "DROP INDEX IF EXISTS public.orders_a_idx;"
    assert "ATTACH PARTITION" in finding.reason


def test_invalid_index_is_neither_a_duplicate_nor_a_stand_in() -> None:
    valid = make_index("orders_a_idx", key("a"))
    broken_copy = make_index("orders_a_idx1", key("a"), valid=False)
    broken_wider = make_index("orders_a_b_idx", key("a"), key("b"), valid=False)
    assert summary(problems(valid, broken_copy, broken_wider)) == [
        (FindingKind.INVALID, "orders_a_b_idx", None),
        (FindingKind.INVALID, "orders_a_idx1", None),
    ]


# ------------------------------------------------------------------------ duplicates


def test_exact_duplicate_keeps_the_name_that_sorts_first_and_says_why() -> None:
    first = make_index("orders_a_idx", key("a"))
    second = make_index("orders_a_idx1", key("a"))
    (finding,) = problems(first, second)
    assert summary((finding,)) == [(FindingKind.DUPLICATE, "orders_a_idx1", "orders_a_idx")]
    assert finding.fix_sql == "DROP INDEX CONCURRENTLY IF EXISTS public.orders_a_idx1;"
    assert "name sorts first" in finding.reason


def test_duplicates_keep_the_constraint_backing_index() -> None:
    plain = make_index("a_plain", key("a"))
    constraint = make_index("z_orders_a_key", key("a"), unique=True, constraint="z_orders_a_key")
    (finding,) = problems(plain, constraint)
    assert summary((finding,)) == [(FindingKind.DUPLICATE, "a_plain", "z_orders_a_key")]
    assert "backs constraint z_orders_a_key" in finding.reason


def test_duplicates_keep_a_primary_key_over_a_plain_unique_index() -> None:
    primary = make_index("z_pkey", key("a"), primary=True, constraint="z_pkey")
    unique = make_index("a_unique", key("a"), unique=True)
    (finding,) = problems(primary, unique)
    assert summary((finding,)) == [(FindingKind.DUPLICATE, "a_unique", "z_pkey")]
    assert "foreign key" in finding.reason


def test_duplicates_keep_the_unique_index_over_a_plain_one() -> None:
    plain = make_index("a_plain", key("a"))
    unique = make_index("z_unique", key("a"), unique=True)
    assert summary(problems(plain, unique)) == [(FindingKind.DUPLICATE, "a_plain", "z_unique")]


def test_duplicates_that_both_back_constraints_need_a_human() -> None:
    first = make_index("orders_pkey", key("a"), primary=True, constraint="orders_pkey")
    second = make_index("orders_a_key", key("a"), unique=True, constraint="orders_a_key")
    assert problems(first, second) == ()


def test_duplicates_keep_the_one_the_planner_uses() -> None:
    idle = make_index("a_idle", key("a"))
    busy = make_index("b_busy", key("a"))
    usage = usage_of(idle, busy, scans={"b_busy": 500})
    findings = problems(idle, busy, usage=usage)
    assert summary(findings) == [(FindingKind.DUPLICATE, "a_idle", "b_busy")]
    assert "more scans" in findings[0].reason


def test_a_duplicate_group_of_three_drops_two() -> None:
    indexes = [make_index(name, key("a"), key("b")) for name in ("i2", "i1", "i3")]
    assert summary(problems(*indexes)) == [
        (FindingKind.DUPLICATE, "i2", "i1"),
        (FindingKind.DUPLICATE, "i3", "i1"),
    ]


def test_indexes_differing_only_in_operator_class_or_collation_are_kept() -> None:
    plain = make_index("orders_b_idx", key("b"))
    pattern = make_index("orders_b_pattern", key("b"), key_texts={0: "b text_pattern_ops"})
    collated = make_index("orders_b_c", key("b"), key_texts={0: 'b COLLATE "C"'})
    assert problems(plain, pattern, collated) == ()


def test_indexes_differing_in_direction_predicate_or_method_are_not_duplicates() -> None:
    base = make_index("i_base", key("a"), key("b"))
    mixed = make_index("i_mixed", key("a"), key("b", descending=True))
    partial = make_index("i_partial", key("a"), key("b"), predicate="b > 0")
    hashed = make_index("i_hash", key("a"), method="hash")
    assert problems(base, mixed, partial, hashed) == ()


def test_non_btree_exact_duplicates_are_reported() -> None:
    first = make_index("h1", key("a"), method="hash")
    second = make_index("h2", key("a"), method="hash")
    assert summary(problems(first, second)) == [(FindingKind.DUPLICATE, "h2", "h1")]


def test_duplicate_names_containing_on_are_compared_after_the_name() -> None:
    first = make_index("x ON y", key("a"))
    second = make_index('"quoted" ON', key("a"))
    assert summary(problems(first, second)) == [(FindingKind.DUPLICATE, "x ON y", '"quoted" ON')]


def test_duplicate_of_a_partitioned_index_is_dropped_without_concurrently() -> None:
    first = make_index("p1", key("a"), partitioned=True)
    second = make_index("p2", key("a"), partitioned=True)
    (finding,) = problems(first, second)
    assert finding.fix_sql == "DROP INDEX IF EXISTS public.p2;"


def partitioned_schema(*indexes: Index) -> Schema:
    """orders partitioned into orders_1 and orders_2, with the given indexes."""
    parts = [TableName("public", "orders_1"), TableName("public", "orders_2")]
    columns = (Column("a", "int"), Column("b", "int"))
    tables = {
        ORDERS: Table(
            ORDERS, columns, tuple(i for i in indexes if i.table == ORDERS), partitioned=True
        )
    }
    for part in parts:
        found = tuple(i for i in indexes if i.table == part)
        tables[part] = Table(part, columns, found, partition_of=ORDERS)
    return Schema(tables=tables)


def attached(name: str, table: str, parent: str, *keys: KeyColumn) -> Index:
    return replace(
        make_index(name, *keys, table=TableName("public", table), size_bytes=8 * MB),
        parent=parent,
    )


def test_a_partitions_attached_index_is_judged_only_with_its_partitioned_index() -> None:
    parent = make_index("orders_a_idx", key("a"), partitioned=True, size_bytes=16 * MB)
    children = [
        attached("orders_1_a_idx", "orders_1", "orders_a_idx", key("a")),
        attached("orders_2_a_idx", "orders_2", "orders_a_idx", key("a")),
    ]
    # An index of one partition alone is its own, dropped concurrently.
    loose = make_index("orders_1_a_copy", key("a"), table=TableName("public", "orders_1"))
    schema = partitioned_schema(parent, *children, loose)
    every = (parent, *children, loose)
    unused = find_problems(schema, usage_of(*children, loose), watched_since(*every), NOW, SETTINGS)
    assert {(f.kind, f.index, f.fix_sql) for f in unused} == {
        # Both partitions' scans summed: none; the DROP locks (no CONCURRENTLY there).
        (FindingKind.UNUSED, "orders_a_idx", "DROP INDEX IF EXISTS public.orders_a_idx;"),
        (
            FindingKind.UNUSED,
            "orders_1_a_copy",
            "DROP INDEX CONCURRENTLY IF EXISTS public.orders_1_a_copy;",
        ),
    }
    used = usage_of(*children, loose, scans={"orders_2_a_idx": 3})
    findings = find_problems(schema, used, watched_since(*every), NOW, SETTINGS)
    assert [f.index for f in findings] == ["orders_1_a_copy"]
    # A partition's counters not yet watched: nothing is known of the partitioned index.
    recent = watched_since(parent, children[0], loose)
    assert [
        f.index for f in find_problems(schema, usage_of(*children, loose), recent, NOW, SETTINGS)
    ] == ["orders_1_a_copy"]


# ------------------------------------------------------------------------- redundant


def test_leading_prefix_of_another_btree_is_redundant() -> None:
    narrow = make_index("orders_a_idx", key("a"), size_bytes=4 * MB)
    wide = make_index("orders_a_b_idx", key("a"), key("b"))
    (finding,) = problems(narrow, wide)
    assert summary((finding,)) == [(FindingKind.REDUNDANT, "orders_a_idx", "orders_a_b_idx")]
    assert finding.fix_sql == "DROP INDEX CONCURRENTLY IF EXISTS public.orders_a_idx;"
    assert finding.size_bytes == 4 * MB
    assert "leading prefix" in finding.reason


def test_prefix_read_backwards_is_redundant() -> None:
    narrow = make_index("i_a_desc", key("a", descending=True))
    wide = make_index("i_a_b", key("a"), key("b"))
    (finding,) = problems(narrow, wide)
    assert summary((finding,)) == [(FindingKind.REDUNDANT, "i_a_desc", "i_a_b")]
    assert "backwards" in finding.reason


def test_all_keys_flipped_is_redundant_but_a_partial_flip_is_not() -> None:
    flipped = make_index(
        "i_flipped", key("a", descending=True), key("b", descending=True, nulls_first=False)
    )
    wide = make_index("i_wide", key("a"), key("b", nulls_first=True), key("c"))
    mixed = make_index("i_mixed", key("a", descending=True), key("b"))
    assert summary(problems(flipped, wide, mixed)) == [
        (FindingKind.REDUNDANT, "i_flipped", "i_wide")
    ]


def test_same_direction_but_different_nulls_order_is_not_redundant() -> None:
    narrow = make_index("i_a_nulls_first", key("a", nulls_first=True))
    wide = make_index("i_a_b", key("a"), key("b"))
    assert problems(narrow, wide) == ()


def test_unique_index_is_never_reported_redundant() -> None:
    unique = make_index("orders_a_key", key("a"), unique=True)
    wide = make_index("orders_a_b_idx", key("a"), key("b"))
    assert problems(unique, wide) == ()


def test_primary_key_that_is_a_prefix_of_another_index_is_not_flagged() -> None:
    primary = make_index("orders_pkey", key("a"), primary=True, constraint="orders_pkey")
    wide = make_index("orders_a_b_idx", key("a"), key("b"))
    assert problems(primary, wide) == ()


def test_prefix_of_a_unique_index_is_redundant() -> None:
    narrow = make_index("orders_a_idx", key("a"))
    wide = make_index("orders_a_b_key", key("a"), key("b"), unique=True, constraint="k")
    assert summary(problems(narrow, wide)) == [
        (FindingKind.REDUNDANT, "orders_a_idx", "orders_a_b_key")
    ]


def test_partial_indexes_with_different_predicates_are_not_redundant() -> None:
    open_orders = make_index("i_open", key("a"), predicate="b IS NULL")
    wide_paid = make_index("i_paid", key("a"), key("b"), predicate="b IS NOT NULL")
    wide_all = make_index("i_all", key("a"), key("b"))
    assert problems(open_orders, wide_paid, wide_all) == ()


def test_partial_indexes_with_the_same_predicate_are_redundant() -> None:
    narrow = make_index("i_open_a", key("a"), predicate="b IS NULL")
    wide = make_index("i_open_a_c", key("a"), key("c"), predicate="b IS NULL")
    assert summary(problems(narrow, wide)) == [(FindingKind.REDUNDANT, "i_open_a", "i_open_a_c")]


def test_include_columns_must_be_covered_by_the_wider_index() -> None:
    narrow = make_index("i_a_incl_c", key("a"), include=("c",))
    wide_without = make_index("i_a_b", key("a"), key("b"))
    assert problems(narrow, wide_without) == ()
    wide_with = make_index("i_a_b_incl_c", key("a"), key("b"), include=("c",))
    assert summary(problems(narrow, wide_with)) == [
        (FindingKind.REDUNDANT, "i_a_incl_c", "i_a_b_incl_c")
    ]
    wide_key = make_index("i_a_c", key("a"), key("c"))
    assert summary(problems(narrow, wide_key)) == [(FindingKind.REDUNDANT, "i_a_incl_c", "i_a_c")]


def test_expression_keys_compare_by_text() -> None:
    narrow = make_index("i_lower", expression("lower(b)"))
    wide = make_index("i_lower_a", expression("lower(b)"), key("a"))
    other = make_index("i_upper_a", expression("upper(b)"), key("a"))
    assert summary(problems(narrow, wide, other)) == [
        (FindingKind.REDUNDANT, "i_lower", "i_lower_a")
    ]


def test_prefix_with_a_different_operator_class_is_not_redundant() -> None:
    narrow = make_index("i_b_pattern", key("b"), key_texts={0: "b text_pattern_ops"})
    wide = make_index("i_b_a", key("b"), key("a"))
    assert problems(narrow, wide) == ()
    wide_pattern = make_index(
        "i_b_a_pattern", key("b"), key("a"), key_texts={0: "b text_pattern_ops"}
    )
    assert summary(problems(narrow, wide, wide_pattern)) == [
        (FindingKind.REDUNDANT, "i_b_pattern", "i_b_a_pattern")
    ]


def test_non_btree_prefixes_are_not_redundant() -> None:
    narrow = make_index("g_a", key("a"), method="gist")
    wide = make_index("g_a_b", key("a"), key("b"), method="gist")
    assert problems(narrow, wide) == ()


def test_an_index_and_its_mirror_image_are_reported_once() -> None:
    forward = make_index("i_a", key("a"))
    backward = make_index("i_a_desc", key("a", descending=True))
    (finding,) = problems(forward, backward)
    assert summary((finding,)) == [(FindingKind.REDUNDANT, "i_a_desc", "i_a")]
    assert "same keys" in finding.reason


def test_chain_of_prefixes_names_the_widest_index_as_the_one_kept() -> None:
    one = make_index("i_a", key("a"))
    two = make_index("i_a_b", key("a"), key("b"))
    three = make_index("i_a_b_c", key("a"), key("b"), key("c"))
    assert sorted(summary(problems(one, two, three))) == sorted(
        [
            (FindingKind.REDUNDANT, "i_a", "i_a_b_c"),
            (FindingKind.REDUNDANT, "i_a_b", "i_a_b_c"),
        ]
    )


def test_an_unused_wider_index_does_not_make_a_used_one_redundant() -> None:
    used = make_index("i_a", key("a"))
    unused = make_index("i_a_b", key("a"), key("b"), size_bytes=50 * MB)
    usage = usage_of(used, unused, scans={"i_a": 1000})
    assert summary(problems(used, unused, usage=usage)) == [(FindingKind.UNUSED, "i_a_b", None)]


def test_redundant_and_unused_index_gets_one_finding() -> None:
    narrow = make_index("i_a", key("a"))
    wide = make_index("i_a_b", key("a"), key("b"))
    usage = usage_of(narrow, wide, scans={"i_a_b": 10})
    assert summary(problems(narrow, wide, usage=usage)) == [(FindingKind.REDUNDANT, "i_a", "i_a_b")]


# ---------------------------------------------------------------------------- unused


def test_unused_index_states_window_size_and_index_maintenance_writes() -> None:
    index = make_index("orders_b_idx", key("b"), size_bytes=34 * MB)
    writes = TableCounters(
        ORDERS,
        n_tup_ins=20_000_000,
        n_tup_upd=14_000_000,
        n_tup_hot_upd=4_000_000,
        n_tup_del=6_000_000,
    )
    usage = usage_of(index, days=20.0, tables=(writes,))
    (finding,) = problems(index, usage=usage)
    assert finding.kind is FindingKind.UNUSED
    # HOT updates touch no index: (20M + 10M + 6M) rows over 20 days.
    assert finding.writes_per_day == 1_800_000
    assert finding.reason.startswith(
        "no scans in 20.0 days of observation (since 2024-05-12 12:00 UTC); 34 MB; "
        "maintained on every write: 1.8M writes/day"
    )
    assert finding.fix_sql == "DROP INDEX CONCURRENTLY IF EXISTS public.orders_b_idx;"
    assert finding.covered_by is None


def test_unused_needs_a_usage_window() -> None:
    index = make_index("orders_b_idx", key("b"))
    assert problems(index, usage=None) == ()


def test_unused_needs_the_usage_window_to_span_the_minimum() -> None:
    index = make_index("orders_b_idx", key("b"))
    assert problems(index, usage=usage_of(index, days=3.0)) == ()


def test_unused_needs_the_index_observed_for_the_minimum() -> None:
    index = make_index("orders_b_idx", key("b"))
    usage = usage_of(index, days=30.0)
    recent = watched_since(index, days=13.5)
    assert find_problems(schema_of(index), usage, recent, NOW, SETTINGS) == ()
    assert find_problems(schema_of(index), usage, {}, NOW, SETTINGS) == ()
    longer = find_problems(schema_of(index), usage, watched_since(index, days=15), NOW, SETTINGS)
    assert summary(longer) == [(FindingKind.UNUSED, "orders_b_idx", None)]
    assert "no scans in 15.0 days of observation (since 2024-05-17 12:00 UTC)" in longer[0].reason


def test_unused_is_not_trusted_across_a_counter_reset() -> None:
    index = make_index("orders_b_idx", key("b"))
    assert problems(index, usage=usage_of(index, reset=True)) == ()


def test_unused_needs_counters_for_the_index() -> None:
    index = make_index("orders_b_idx", key("b"))
    other = make_index("orders_a_idx", key("a"), table=TableName("public", "other"))
    assert problems(index, other, usage=usage_of(other, scans={"orders_a_idx": 3})) == ()


def test_too_small_unused_index_is_skipped() -> None:
    index = make_index("orders_b_idx", key("b"), size_bytes=MB - 1)
    assert problems(index, usage=usage_of(index)) == ()
    at_threshold = make_index("orders_b_idx", key("b"), size_bytes=MB)
    assert summary(problems(at_threshold, usage=usage_of(at_threshold))) == [
        (FindingKind.UNUSED, "orders_b_idx", None)
    ]


def test_scanned_index_is_not_unused() -> None:
    index = make_index("orders_b_idx", key("b"))
    assert problems(index, usage=usage_of(index, scans={"orders_b_idx": 1})) == ()


def test_unique_primary_and_constraint_indexes_are_never_unused() -> None:
    indexes = (
        make_index("orders_pkey", key("a"), primary=True, constraint="orders_pkey"),
        make_index("orders_b_key", key("b"), unique=True),
        make_index("orders_excl", key("c"), method="gist", constraint="orders_excl"),
    )
    assert problems(*indexes, usage=usage_of(*indexes)) == ()


def test_settings_change_the_thresholds() -> None:
    index = make_index("orders_b_idx", key("b"), size_bytes=100)
    settings = health_settings(Settings(unused_min_observed_days=1.0, unused_min_size_mb=0))
    usage = usage_of(index, days=2.0)
    findings = find_problems(schema_of(index), usage, watched_since(index), NOW, settings)
    assert summary(findings) == [(FindingKind.UNUSED, "orders_b_idx", None)]
    assert "100 bytes" in findings[0].reason


def test_unused_duplicates_are_all_dropped() -> None:
    first = make_index("i1", key("b"))
    second = make_index("i2", key("b"))
    assert summary(problems(first, second, usage=usage_of(first, second))) == [
        (FindingKind.UNUSED, "i1", None),
        (FindingKind.DUPLICATE, "i2", "i1"),
    ]


# ----------------------------------------------------------------------------- order


def test_findings_are_ordered_by_kind_then_size_then_name() -> None:
    other = TableName("public", "other")
    indexes = (
        make_index("z_invalid", key("a"), valid=False, size_bytes=MB),
        make_index("u_small", key("d"), size_bytes=2 * MB),
        make_index("u_big", key("e"), size_bytes=90 * MB),
        make_index("u_tie_b", key("f"), size_bytes=5 * MB),
        make_index("u_tie_a", key("a"), size_bytes=5 * MB, table=other),
        make_index("d_keep", key("g"), size_bytes=MB),
        make_index("d_lose", key("g"), size_bytes=MB),
        make_index("r_narrow", key("h"), size_bytes=3 * MB),
        make_index("r_wide", key("h"), key("i"), size_bytes=3 * MB),
    )
    scans = {"d_keep": 1, "d_lose": 1, "r_narrow": 1, "r_wide": 1}
    findings = problems(*indexes, usage=usage_of(*indexes, scans=scans))
    assert [(f.kind, f.index) for f in findings] == [
        (FindingKind.UNUSED, "u_big"),
        (FindingKind.UNUSED, "u_tie_a"),
        (FindingKind.UNUSED, "u_tie_b"),
        (FindingKind.UNUSED, "u_small"),
        (FindingKind.DUPLICATE, "d_lose"),
        (FindingKind.REDUNDANT, "r_narrow"),
        (FindingKind.INVALID, "z_invalid"),
    ]
    assert problems(*reversed(indexes), usage=usage_of(*indexes, scans=scans)) == findings


# ------------------------------------------------------------------ the plan's drops


def test_safe_drops_are_duplicates_prefixes_and_unique_covered_indexes() -> None:
    kept = make_index("orders_a_b_idx", key("a"), key("b"))
    prefix = make_index("orders_a_idx", key("a"))
    copy = make_index("orders_a_b_copy", key("a"), key("b"))
    unique = make_index("orders_b_key", key("b"), unique=True, constraint="orders_b_key")
    covered = make_index("orders_b_idx", key("b"))
    drops = safe_drops(schema_of(kept, prefix, copy, unique, covered))
    assert summary(drops) == [
        (FindingKind.DUPLICATE, "orders_a_b_idx", "orders_a_b_copy"),
        # Same keys as the unique index: a duplicate that enforces nothing.
        (FindingKind.DUPLICATE, "orders_b_idx", "orders_b_key"),
        (FindingKind.REDUNDANT, "orders_a_idx", "orders_a_b_copy"),
    ]
    assert all(d.fix_sql.startswith("DROP INDEX CONCURRENTLY IF EXISTS ") for d in drops)


def test_safe_drops_never_take_unique_constraint_or_partial_indexes() -> None:
    unique = make_index("orders_a_key", key("a"), unique=True)
    unique_copy = make_index("orders_a_key2", key("a"), unique=True)
    partial = make_index("orders_b_live", key("b"), predicate="a > 0")
    partial_copy = make_index("orders_b_live2", key("b"), predicate="a > 0")
    primary = make_index("orders_pkey", key("a"), key("b"), primary=True, constraint="pk")
    schema = schema_of(unique, unique_copy, partial, partial_copy, primary)
    # health drops the second unique copy and a partial copy; the plan drops neither.
    assert {f.index for f in problems(unique, unique_copy, partial, partial_copy, primary)} == {
        "orders_a_key2",
        "orders_b_live2",
    }
    assert safe_drops(schema) == ()


def test_safe_drops_state_the_write_load_they_remove() -> None:
    drops = safe_drops(
        schema_of(make_index("orders_a_b_idx", key("a"), key("b")), make_index("o_a", key("a"))),
        {ORDERS: 120_000.0},
    )
    assert drops[0].writes_per_day == 120_000.0
    assert "120k writes/day" in drops[0].reason


def test_schema_without_the_dropped_indexes() -> None:
    kept = make_index("orders_a_b_idx", key("a"), key("b"))
    schema = schema_of(kept, make_index("orders_a_idx", key("a")))
    after = schema.without([(ORDERS, "orders_a_idx")])
    assert [i.name for i in after.tables[ORDERS].indexes] == ["orders_a_b_idx"]
    assert len(schema.tables[ORDERS].indexes) == 2  # the original is untouched
    assert schema.without([]) is schema


# ------------------------------------------------------ replicas, foreign keys, wait


def fk(*columns: str) -> ForeignKey:
    return ForeignKey("orders_fk", ORDERS, columns, TableName("public", "customers"), ("id",))


def test_the_only_index_on_a_foreign_keys_columns_is_never_unused() -> None:
    index = make_index("orders_customer", key("b"))
    findings = find_problems(
        schema_of(index),
        usage_of(index),
        watched_since(index),
        NOW,
        SETTINGS,
        foreign_keys=(fk("b"),),
    )
    assert findings == ()


def test_of_two_unused_indexes_serving_a_foreign_key_the_smaller_is_kept() -> None:
    narrow = make_index("orders_b", key("b"), size_bytes=4 * MB)
    wide = make_index("orders_b_a", key("b"), key("a"), size_bytes=9 * MB)
    other = make_index("orders_a", key("a"), size_bytes=2 * MB)
    findings = find_problems(
        schema_of(narrow, wide, other),
        usage_of(narrow, wide, other),
        watched_since(narrow, wide, other),
        NOW,
        SETTINGS,
        foreign_keys=(fk("b"),),
    )
    # orders_b is redundant to orders_b_a, which is unused: orders_b stays for the key.
    assert summary(findings) == [
        (FindingKind.UNUSED, "orders_b_a", None),
        (FindingKind.UNUSED, "orders_a", None),
    ]


def test_a_foreign_key_served_by_a_used_index_lets_an_unused_one_go() -> None:
    used = make_index("orders_b_a", key("b"), key("a"))
    idle = make_index("orders_a_b", key("a"), key("b"))

    def judged(*columns: str) -> list[tuple[FindingKind, str, str | None]]:
        return summary(
            find_problems(
                schema_of(used, idle),
                usage_of(used, idle, scans={"orders_b_a": 5}),
                watched_since(used, idle),
                NOW,
                SETTINGS,
                foreign_keys=(fk(*columns),),
            )
        )

    # Both lead with {a, b}: the used one serves the key's checks.
    assert judged("b", "a") == [(FindingKind.UNUSED, "orders_a_b", None)]
    # Only the idle one leads with a.
    assert judged("a") == []


def test_an_unreachable_replica_makes_unused_unknown_without_a_drop() -> None:
    index = make_index("orders_b_idx", key("b"))
    (finding,) = find_problems(
        schema_of(index),
        usage_of(index),
        watched_since(index),
        NOW,
        SETTINGS,
        replicas=("db2:5432",),
        unreachable=("replica db3:5432 unreachable (connection refused)",),
    )
    assert finding.kind is FindingKind.UNKNOWN
    assert finding.reason.startswith(
        "unknown: replica db3:5432 unreachable (connection refused); no scans in 30.0 days"
    )
    assert finding.fix_sql == "" and finding.restore_sql is None


def test_an_unknown_index_still_stands_in_for_a_redundant_one() -> None:
    narrow = make_index("orders_b", key("b"))
    wide = make_index("orders_b_a", key("b"), key("a"))
    usage = usage_of(narrow, wide)
    findings = find_problems(
        schema_of(narrow, wide),
        usage,
        watched_since(narrow, wide),
        NOW,
        SETTINGS,
        unreachable=("replica db3:5432 unreachable (timeout)",),
    )
    assert summary(findings) == [
        (FindingKind.UNKNOWN, "orders_b_a", None),
        (FindingKind.REDUNDANT, "orders_b", "orders_b_a"),
    ]


def test_an_unused_finding_names_the_replicas_it_counted() -> None:
    index = make_index("orders_b_idx", key("b"))
    (finding,) = find_problems(
        schema_of(index),
        usage_of(index),
        watched_since(index),
        NOW,
        SETTINGS,
        replicas=("r1:5433",),
    )
    assert "(since 2024-05-02 12:00 UTC) on the primary and replica(s) r1:5433;" in finding.reason
    assert "check that no replica" not in finding.reason


def test_the_wait_period_is_unused_min_days_and_the_old_name_still_works() -> None:
    assert Settings().unused_min_days == 14
    assert health_settings(Settings()).unused_min_days == 14
    assert Settings(unused_min_observed_days=3).unused_min_days == 3
    index = make_index("orders_b_idx", key("b"))
    usage = usage_of(index, days=30.0)
    assert (
        find_problems(schema_of(index), usage, watched_since(index, days=13.9), NOW, SETTINGS) == ()
    )
