"""The memory bench (bench/memory.py) drives the daemon's own collect step, `Daemon.record`,
with its simulated snapshots; it never keeps a copy of that step that could drift."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from advisor.daemon import Daemon
from advisor.history import Snapshot
from advisor.status import busiest
from advisor.store import Store
from bench.memory import DATABASE, SimConfig, simulate

SMALL = SimConfig(
    statements=40, tables=4, indexes=6, iterations=12, compact_every=5, window_every=6
)


def test_every_simulated_collection_is_kept_by_the_daemons_own_record_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[tuple[Daemon, Snapshot]] = []
    product_record = Daemon.record

    def spy(self: Daemon, database: str, snapshot: Snapshot, texts: Mapping[int, str]) -> None:
        recorded.append((self, snapshot))
        product_record(self, database, snapshot, texts)

    monkeypatch.setattr(Daemon, "record", spy)
    result = simulate(SMALL, tmp_path)

    assert len(recorded) == result.iterations_done == SMALL.iterations
    daemon, last = recorded[0][0], recorded[-1][1]
    assert all(d is daemon for d, _ in recorded)
    # What the daemon publishes after the last collection: its in-memory last snapshot and
    # the busiest statements, as Daemon.collect leaves them.
    status = daemon.status.get(DATABASE)
    assert status.snapshot is last
    assert status.top_statements == busiest(last.statements, daemon.settings.top_statements)
    assert set(status.texts) == {s.queryid for s in status.top_statements}
    # What the store holds: every text once, a delta per collection after the first.
    assert result.buckets_stored == SMALL.iterations - 1
    with Store(tmp_path) as store:
        assert store.known_queryids(DATABASE) == {s.queryid for s in last.statements}
        stored = store.last_snapshot(DATABASE)
        assert stored is not None and stored.taken_at == last.taken_at
