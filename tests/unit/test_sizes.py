"""Btree deduplication in index size estimates."""

from __future__ import annotations

from advisor.analyze.sizes import POINTER_BYTES, deduplicated_size
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
