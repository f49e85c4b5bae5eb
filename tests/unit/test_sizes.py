"""Btree deduplication in index size estimates."""

from __future__ import annotations

from advisor.analyze.sizes import LEAF_FILL, POINTER_BYTES, ExpressionStats, deduplicated_size
from advisor.model import Column, IndexDesign, KeyColumn, Table, TableName

T = TableName("public", "tasks")
TABLE = Table(
    T,
    (
        Column("id", "bigint", n_distinct=-1.0),
        Column("tenant_id", "integer", n_distinct=500),
        Column("status", "task_status", n_distinct=4),
        Column("amount", "numeric", n_distinct=10),
        Column("title", "text"),  # no statistics
    ),
    row_estimate=120_000,
)
HYPOPG = 4_800_000  # 40 bytes a row, as HypoPG estimates


def design(*columns: str, **kw: object) -> IndexDesign:
    return IndexDesign(T, tuple(KeyColumn.of(c) for c in columns), **kw)  # type: ignore[arg-type]


def test_few_distinct_keys_shrink_the_estimate_to_pointers_and_a_share_of_the_key() -> None:
    # 2,000 distinct (tenant, status) pairs: 60 rows each, 6 + 40/60 bytes a row.
    size = deduplicated_size(design("tenant_id", "status"), HYPOPG, TABLE)
    assert size == int(HYPOPG * (POINTER_BYTES + 40 / 60) / 40)
    assert 750_000 < size < 850_000  # built for real: 0.87 MB


def test_unique_keys_unknown_statistics_and_excluded_kinds_keep_hypopg_s_estimate() -> None:
    assert deduplicated_size(design("id"), HYPOPG, TABLE) == HYPOPG
    assert deduplicated_size(design("tenant_id", "id"), HYPOPG, TABLE) == HYPOPG
    assert deduplicated_size(design("title"), HYPOPG, TABLE) == HYPOPG
    assert deduplicated_size(design("amount"), HYPOPG, TABLE) == HYPOPG  # numeric
    assert deduplicated_size(design("status", include=("id",)), HYPOPG, TABLE) == HYPOPG
    assert deduplicated_size(design("status", predicate="x"), HYPOPG, TABLE) == HYPOPG
    assert deduplicated_size(design("status", access_method="brin"), HYPOPG, TABLE) == HYPOPG
    assert deduplicated_size(design("status"), HYPOPG, None) == HYPOPG


def test_a_posting_list_holds_at_most_a_few_hundred_pointers() -> None:
    # 4 statuses: 30,000 rows each, but a key is repeated every 400 pointers.
    size = deduplicated_size(design("status"), HYPOPG, TABLE)
    assert size == int(HYPOPG * (POINTER_BYTES + 40 / 400) / 40)


def test_a_measured_expression_takes_its_width_and_its_distinct_values() -> None:
    """HypoPG prices a text expression at 32 bytes and pg_stats has nothing on it: with a
    sample's mean width (14 bytes) and distinct values (4,000) the estimate shrinks."""
    ip = IndexDesign(T, (KeyColumn("payload ->> 'ip'::text", is_expression=True),))
    hypothetical = 120_000 * 60  # 60 bytes a row, as HypoPG estimates with 32 for the key
    measured = ExpressionStats(14.0, 4_000.0)
    narrower = int(hypothetical - (32 - 14) / LEAF_FILL * 120_000)
    size = deduplicated_size(ip, hypothetical, TABLE, lambda e: measured)
    per_row = narrower / 120_000
    assert abs(size - narrower * (POINTER_BYTES + per_row / 30) / per_row) <= 1  # 30 rows a key
    # Unmeasured (no sample, or sampling off): HypoPG's estimate.
    assert deduplicated_size(ip, hypothetical, TABLE) == hypothetical
    assert deduplicated_size(ip, hypothetical, TABLE, lambda e: None) == hypothetical
    # A jsonb expression is narrowed but never deduplicated; an integer one keeps its width.
    jsonb = ExpressionStats.of_type(14.0, 4_000.0, "jsonb")
    assert deduplicated_size(ip, hypothetical, TABLE, lambda e: jsonb) == narrower
    fixed = ExpressionStats.of_type(4.0, 120_000.0, "integer")
    assert deduplicated_size(ip, hypothetical, TABLE, lambda e: fixed) == hypothetical
