"""Fixtures shared by every test: one real throwaway PostgreSQL cluster per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from advisor.demo.sandbox import ThrowawayCluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[ThrowawayCluster]:
    """A real PostgreSQL server with pg_stat_statements preloaded, logging every statement
    with its application_name (the read-only test reads that log)."""
    with ThrowawayCluster(settings={"log_statement": "'all'"}) as server:
        yield server
