"""Databases shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from advisor.demo import sample
from advisor.demo.sandbox import ThrowawayCluster, ThrowawayStandby
from tests.support import create_sample_database, run_workload


def drive_sample_workload(dsn: str) -> None:
    """Run the sample application's statements, with the statistics left as they are."""
    run_workload(dsn, [(s.sql, s.params, s.calls) for s in sample.STATEMENTS])


@pytest.fixture(scope="session")
def blog_dsn(cluster: ThrowawayCluster) -> str:
    """The sample blog application with its data and a real workload."""
    dsn = create_sample_database(cluster, "blog")
    drive_sample_workload(dsn)
    return dsn


@pytest.fixture(scope="session")
def standby(cluster: ThrowawayCluster) -> Iterator[ThrowawayStandby]:
    """A real streaming replica of the suite's cluster, on a port of its own (started only
    when a test asks for it). A test that stops it starts it again."""
    with ThrowawayStandby(cluster) as replica:
        yield replica
