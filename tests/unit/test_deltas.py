"""Deltas of cumulative counters: never negative, never doubled, whatever restarted."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from advisor.collect.deltas import delta, merge, running_totals, with_replica_scans
from advisor.history import (
    Delta,
    IndexCounters,
    Snapshot,
    StatementCounters,
    TableCounters,
)
from advisor.model import (
    TableName,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BOOT = datetime(2024, 4, 1, tzinfo=UTC)
POSTS = TableName("public", "posts")
USERS = TableName("public", "users")


def snap(
    minutes: float,
    *statements: StatementCounters,
    tables: Sequence[TableCounters] = (),
    indexes: Sequence[IndexCounters] = (),
    started: datetime = BOOT,
    reset_at: datetime | None = BOOT,
    evicted: int | None = 0,
    transactions: int | None = None,
    transactions_reset_at: datetime | None = None,
) -> Snapshot:
    return Snapshot(
        database="app",
        taken_at=T0 + timedelta(minutes=minutes),
        server_started_at=started,
        statements_reset_at=reset_at,
        statements=statements,
        tables=tuple(tables),
        indexes=tuple(indexes),
        statements_evicted=evicted,
        transactions=transactions,
        transactions_reset_at=transactions_reset_at,
    )


def sc(
    queryid: int, calls: int, exec_ms: float, plan_ms: float = 0.0, rows: int = 0
) -> StatementCounters:
    return StatementCounters(queryid, calls, exec_ms, plan_ms, rows)


def by_queryid(d: Delta) -> dict[int, StatementCounters]:
    return {s.queryid: s for s in d.statements}


# ------------------------------------------------------------------------ steady growth


def test_growth_is_newer_minus_older_for_every_counter() -> None:
    older = snap(
        0,
        sc(1, 10, 100.0, 5.0, 40),
        tables=[TableCounters(POSTS, seq_scan=3, seq_tup_read=300, idx_scan=7, n_live_tup=100)],
        indexes=[IndexCounters(POSTS, "posts_pkey", idx_scan=7, idx_tup_read=7, size_bytes=8192)],
    )
    newer = snap(
        5,
        sc(1, 15, 160.0, 6.0, 60),
        tables=[TableCounters(POSTS, seq_scan=4, seq_tup_read=450, idx_scan=9, n_live_tup=150)],
        indexes=[IndexCounters(POSTS, "posts_pkey", idx_scan=9, idx_tup_read=10, size_bytes=16384)],
    )

    d = delta(older, newer)

    assert d.statements == (sc(1, 5, 60.0, 1.0, 20),)
    assert d.tables == (
        TableCounters(POSTS, seq_scan=1, seq_tup_read=150, idx_scan=2, n_live_tup=150),
    )
    assert d.indexes == (
        IndexCounters(POSTS, "posts_pkey", idx_scan=2, idx_tup_read=3, size_bytes=16384),
    )
    assert (d.started_at, d.ended_at, d.seconds) == (older.taken_at, newer.taken_at, 300.0)
    assert not d.reset


def test_statements_without_new_calls_are_left_out() -> None:
    d = delta(snap(0, sc(1, 10, 100.0), sc(2, 3, 9.0)), snap(5, sc(1, 10, 100.0), sc(2, 4, 12.0)))
    assert list(by_queryid(d)) == [2]


def test_tables_and_indexes_without_activity_are_kept_for_their_gauges_and_zero_scans() -> None:
    # An index with zero scans over the interval is exactly what "unused" detection needs.
    index = IndexCounters(POSTS, "posts_title_idx", idx_scan=5, size_bytes=4096)
    table = TableCounters(POSTS, seq_scan=2, n_live_tup=10, size_bytes=8192)
    d = delta(snap(0, tables=[table], indexes=[index]), snap(5, tables=[table], indexes=[index]))
    assert d.indexes == (IndexCounters(POSTS, "posts_title_idx", idx_scan=0, size_bytes=4096),)
    assert d.tables == (TableCounters(POSTS, seq_scan=0, n_live_tup=10, size_bytes=8192),)


# ------------------------------------------------------------------------------ resets


def test_statements_reset_counts_only_what_ran_since_the_reset() -> None:
    reset = T0 + timedelta(minutes=2)
    older = snap(0, sc(1, 100, 1000.0), sc(2, 10, 50.0), evicted=7)
    # Query 2 ran more since the reset than before it: its counter grew, yet it restarted.
    newer = snap(5, sc(1, 4, 30.0), sc(2, 12, 70.0), reset_at=reset, evicted=2)

    d = delta(older, newer)

    assert by_queryid(d) == {1: sc(1, 4, 30.0), 2: sc(2, 12, 70.0)}
    assert d.reset
    # The reset zeroed the eviction count with the counters: both evictions are new.
    assert d.statements_evicted == 2


def test_crash_restart_counts_statements_since_the_restart() -> None:
    # After a crash pg_stat_statements starts empty and stats_reset is the start-up time.
    restart = T0 + timedelta(minutes=3)
    older = snap(0, sc(1, 100, 1000.0))
    newer = snap(5, sc(1, 150, 1200.0), started=restart, reset_at=restart)

    d = delta(older, newer)

    assert by_queryid(d) == {1: sc(1, 150, 1200.0)}
    assert d.reset


def test_clean_restart_that_kept_the_counters_does_not_count_them_twice() -> None:
    # pg_stat_statements.save (on by default) saves counters and stats_reset at a clean
    # shutdown and reloads them: taking the newer values would double the old work.
    restart = T0 + timedelta(minutes=3)
    older = snap(0, sc(1, 100, 1000.0))
    newer = snap(5, sc(1, 104, 1040.0), started=restart)

    d = delta(older, newer)

    assert by_queryid(d) == {1: sc(1, 4, 40.0)}
    assert d.reset  # the server restarted: the counts may be a lower bound


def test_restart_without_statements_info_uses_the_rows_that_went_down() -> None:
    # PG 13 has no pg_stat_statements_info: only falling counters reveal the restart.
    restart = T0 + timedelta(minutes=3)
    older = snap(0, sc(1, 100, 1000.0), sc(2, 5, 5.0), reset_at=None, evicted=None)
    newer = snap(5, sc(1, 3, 30.0), sc(2, 6, 6.0), started=restart, reset_at=None, evicted=None)

    d = delta(older, newer)

    assert by_queryid(d) == {1: sc(1, 3, 30.0), 2: sc(2, 1, 1.0)}
    assert d.reset
    assert d.statements_evicted == 0


def test_table_and_index_counters_that_went_down_restart_that_row_only() -> None:
    older = snap(
        0,
        tables=[TableCounters(POSTS, seq_scan=50), TableCounters(USERS, seq_scan=10)],
        indexes=[IndexCounters(POSTS, "posts_pkey", idx_scan=500)],
    )
    newer = snap(
        5,
        tables=[TableCounters(POSTS, seq_scan=2), TableCounters(USERS, seq_scan=12)],
        indexes=[IndexCounters(POSTS, "posts_pkey", idx_scan=3)],
    )

    d = delta(older, newer)

    assert d.tables == (TableCounters(POSTS, seq_scan=2), TableCounters(USERS, seq_scan=2))
    assert d.indexes == (IndexCounters(POSTS, "posts_pkey", idx_scan=3),)
    assert d.reset


# ----------------------------------------------------------------- eviction and entries


def test_entry_evicted_and_readded_with_fewer_calls_counts_its_new_value() -> None:
    d = delta(snap(0, sc(1, 100, 1000.0), sc(2, 5, 5.0)), snap(5, sc(1, 3, 30.0), sc(2, 6, 6.0)))
    assert by_queryid(d) == {1: sc(1, 3, 30.0), 2: sc(2, 1, 1.0)}
    assert not d.reset  # one entry came back, the statistics were not reset


def test_entry_readded_with_as_many_calls_but_less_time_is_never_negative() -> None:
    # Calls alone would say "no new work"; the time that fell says the entry is new.
    d = delta(snap(0, sc(1, 10, 500.0)), snap(5, sc(1, 10, 20.0)))
    assert by_queryid(d) == {1: sc(1, 10, 20.0)}


def test_new_entry_counts_whole() -> None:
    d = delta(snap(0, sc(1, 10, 100.0)), snap(5, sc(1, 10, 100.0), sc(9, 4, 8.0)))
    assert by_queryid(d) == {9: sc(9, 4, 8.0)}


def test_evicted_entry_is_dropped() -> None:
    d = delta(snap(0, sc(1, 10, 100.0), sc(2, 10, 100.0)), snap(5, sc(2, 11, 110.0)))
    assert by_queryid(d) == {2: sc(2, 1, 10.0)}


def test_new_table_and_index_count_whole() -> None:
    table = TableCounters(USERS, seq_scan=3, n_tup_ins=10, n_live_tup=10)
    index = IndexCounters(USERS, "users_pkey", idx_scan=4)
    d = delta(snap(0), snap(5, tables=[table], indexes=[index]))
    assert (d.tables, d.indexes, d.reset) == ((table,), (index,), False)


def test_evictions_are_the_increase_of_dealloc_and_zero_when_unknown() -> None:
    assert delta(snap(0, evicted=3), snap(5, evicted=10)).statements_evicted == 7
    assert delta(snap(0, evicted=None), snap(5, evicted=10)).statements_evicted == 0
    assert delta(snap(0, evicted=3), snap(5, evicted=None)).statements_evicted == 0


# ----------------------------------------------------------------- database transactions


def test_database_transactions_are_newer_minus_older() -> None:
    d = delta(snap(0, transactions=1_000), snap(5, transactions=1_420))
    assert d.transactions == 420
    # pg_stat_database's own reset time, unchanged, is no reset.
    reset = T0 - timedelta(days=1)
    d = delta(
        snap(0, transactions=7, transactions_reset_at=reset),
        snap(5, transactions=9, transactions_reset_at=reset),
    )
    assert d.transactions == 2


def test_database_transactions_are_unknown_when_either_snapshot_lacks_them() -> None:
    # A snapshot stored before they were read, or one of a replica.
    assert delta(snap(0), snap(5, transactions=50)).transactions is None
    assert delta(snap(0, transactions=50), snap(5)).transactions is None


def test_database_transactions_that_may_have_restarted_are_unknown_not_a_lower_bound() -> None:
    restart = T0 + timedelta(minutes=3)
    # The database's statistics were reset (pg_stat_reset()): the count starts again,
    # here even above the older one.
    reset = delta(
        snap(0, transactions=100),
        snap(5, transactions=150, transactions_reset_at=restart),
    )
    assert reset.transactions is None
    # The server restarted (a crash loses the count; a clean restart may keep it).
    restarted = delta(snap(0, transactions=100), snap(5, transactions=130, started=restart))
    assert restarted.transactions is None
    # It went down without a visible reset: never a negative count.
    assert delta(snap(0, transactions=100), snap(5, transactions=40)).transactions is None
    # The statements' own counters are unaffected by the database's reset.
    assert not reset.reset


def test_snapshots_of_other_databases_or_out_of_order_are_refused() -> None:
    other = Snapshot("other", T0 + timedelta(minutes=5), BOOT, BOOT, ())
    with pytest.raises(ValueError, match="different databases"):
        delta(snap(0), other)
    with pytest.raises(ValueError, match="out of order"):
        delta(snap(5), snap(0))


# ------------------------------------------------------------------------------- merge


def test_merge_sums_counters_and_keeps_the_latest_gauges() -> None:
    first = Delta(
        "app",
        T0,
        T0 + timedelta(minutes=5),
        (sc(1, 2, 20.0, 1.0, 2), sc(2, 1, 1.0)),
        tables=(TableCounters(POSTS, seq_scan=1, n_live_tup=100, size_bytes=8192),),
        indexes=(IndexCounters(POSTS, "posts_pkey", idx_scan=2, size_bytes=100),),
        statements_evicted=1,
    )
    second = Delta(
        "app",
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=10),
        (sc(1, 3, 30.0, 2.0, 3), sc(3, 7, 7.0)),
        tables=(TableCounters(POSTS, seq_scan=4, n_live_tup=120, size_bytes=16384),),
        indexes=(IndexCounters(POSTS, "posts_pkey", idx_scan=5, size_bytes=200),),
        reset=True,
        statements_evicted=2,
    )

    # The order given does not matter: gauges come from the delta that ends last.
    merged = merge([second, first])

    assert by_queryid(merged) == {1: sc(1, 5, 50.0, 3.0, 5), 2: sc(2, 1, 1.0), 3: sc(3, 7, 7.0)}
    assert merged.tables == (TableCounters(POSTS, seq_scan=5, n_live_tup=120, size_bytes=16384),)
    assert merged.indexes == (IndexCounters(POSTS, "posts_pkey", idx_scan=7, size_bytes=200),)
    assert (merged.started_at, merged.ended_at) == (T0, T0 + timedelta(minutes=10))
    assert merged.reset
    assert merged.statements_evicted == 3


def test_merge_of_pairwise_deltas_equals_the_delta_of_the_ends_when_nothing_reset() -> None:
    a = snap(
        0, sc(1, 10, 100.0), tables=[TableCounters(POSTS, seq_scan=1, n_live_tup=5)], transactions=9
    )
    b = snap(
        5,
        sc(1, 12, 130.0),
        sc(2, 1, 4.0),
        tables=[TableCounters(POSTS, seq_scan=3)],
        transactions=15,
    )
    c = snap(
        9,
        sc(1, 20, 200.0),
        sc(2, 3, 9.0),
        tables=[TableCounters(POSTS, seq_scan=4)],
        transactions=40,
    )
    assert merge([delta(a, b), delta(b, c)]) == delta(a, c)


def test_merge_sums_database_transactions_only_when_every_delta_knows_them() -> None:
    def part(minutes: int, transactions: int | None) -> Delta:
        start = T0 + timedelta(minutes=minutes)
        return Delta("app", start, start + timedelta(minutes=5), (), transactions=transactions)

    assert merge([part(5, 30), part(0, 12), part(10, 0)]).transactions == 42
    # One interval unknown (a restart, or stored before they were read): the sum would
    # miss its transactions, and be compared with every interval's calls.
    assert merge([part(0, 12), part(5, None), part(10, 30)]).transactions is None


def test_merge_refuses_nothing_and_mixed_databases() -> None:
    with pytest.raises(ValueError, match="nothing"):
        merge([])
    with pytest.raises(ValueError, match="different databases"):
        merge([Delta("a", T0, T0, ()), Delta("b", T0, T0, ())])


# ------------------------------------------------------------------- property: a server

QUERYIDS = range(4)
Work = dict[int, tuple[int, int]]  # queryid -> (calls, ms) done in one step


@dataclass
class SimulatedServer:
    """pg_stat_statements as the advisor sees it: cumulative counters per entry that a reset,
    a crash or an eviction throws away, and a clean restart keeps."""

    has_info: bool
    entries: dict[int, tuple[int, int]] = field(default_factory=dict)
    started_at: datetime = BOOT
    reset_at: datetime = BOOT
    dealloc: int = 0

    def run(self, work: Work) -> None:
        for queryid, (calls, ms) in work.items():
            if calls:
                old_calls, old_ms = self.entries.get(queryid, (0, 0))
                self.entries[queryid] = (old_calls + calls, old_ms + ms)

    def event(self, kind: str, at: datetime, victim: int) -> None:
        if kind == "evict" and victim in self.entries:
            del self.entries[victim]
            self.dealloc += 1
        elif kind in ("reset", "crash"):
            self.entries.clear()
            self.reset_at, self.dealloc = at, 0
            if kind == "crash":
                self.started_at = at
        elif kind == "clean_restart":
            self.started_at = at

    def snapshot(self, at: datetime) -> Snapshot:
        return Snapshot(
            database="app",
            taken_at=at,
            server_started_at=self.started_at,
            statements_reset_at=self.reset_at if self.has_info else None,
            statements=tuple(
                StatementCounters(q, calls, float(ms)) for q, (calls, ms) in self.entries.items()
            ),
            statements_evicted=self.dealloc if self.has_info else None,
        )


work_strategy = st.dictionaries(
    st.sampled_from(QUERYIDS), st.tuples(st.integers(0, 5), st.integers(0, 1000)), max_size=4
)
step_strategy = st.tuples(
    st.sampled_from(["none", "none", "evict", "reset", "crash", "clean_restart"]),
    st.sampled_from(QUERYIDS),
    work_strategy,  # work done before the event (lost if the event throws counters away)
    work_strategy,  # work done after it
)


def true_work(*works: Work) -> dict[int, tuple[int, int]]:
    total: dict[int, tuple[int, int]] = {}
    for work in works:
        for queryid, (calls, ms) in work.items():
            if calls:
                c, m = total.get(queryid, (0, 0))
                total[queryid] = (c + calls, m + ms)
    return total


@settings(max_examples=300, deadline=None)
@given(
    has_info=st.booleans(),
    initial=work_strategy,
    steps=st.lists(step_strategy, min_size=1, max_size=12),
)
def test_deltas_are_never_negative_and_never_exceed_the_work_done(
    has_info: bool, initial: Work, steps: list[tuple[str, int, Work, Work]]
) -> None:
    server = SimulatedServer(has_info)
    server.run(initial)
    previous = server.snapshot(T0)
    done_total: dict[int, tuple[int, int]] = {}
    counted_total: dict[int, tuple[int, float]] = {}
    for number, (kind, victim, before, after) in enumerate(steps, start=1):
        at = T0 + timedelta(minutes=5 * number)
        server.run(before)
        server.event(kind, at - timedelta(minutes=2), victim)
        server.run(after)
        current = server.snapshot(at)
        done = true_work(before, after)
        d = delta(previous, current)
        for s in d.statements:
            calls, ms = done.get(s.queryid, (0, 0))
            assert 0 < s.calls <= calls
            assert 0 <= s.total_exec_ms <= ms
        if kind in ("none", "clean_restart"):
            # Nothing was thrown away: the delta is exactly the work done.
            assert {s.queryid: (s.calls, s.total_exec_ms) for s in d.statements} == done
        done_total = true_work(done_total, done)
        for s in d.statements:
            c, m = counted_total.get(s.queryid, (0, 0.0))
            counted_total[s.queryid] = (c + s.calls, m + s.total_exec_ms)
        previous = current
    for queryid, (counted_calls, counted_ms) in counted_total.items():
        assert counted_calls <= done_total[queryid][0]
        assert counted_ms <= done_total[queryid][1]


def test_simulated_server_sanity_a_reset_between_polls_loses_only_earlier_work() -> None:
    # Guards the property test's model: after a reset, the newer values are the later work.
    server = SimulatedServer(has_info=True)
    server.run({1: (5, 50)})
    older = server.snapshot(T0)
    server.run({1: (1, 10)})
    server.event("reset", T0 + timedelta(minutes=1), victim=0)
    server.run({1: (2, 20)})
    d = delta(older, server.snapshot(T0 + timedelta(minutes=5)))
    assert by_queryid(d) == {1: sc(1, 2, 20.0)}


def test_merge_is_the_same_whatever_order_the_deltas_come_in() -> None:
    rng = random.Random(3)
    deltas = [
        Delta(
            "app",
            T0 + timedelta(minutes=5 * i),
            T0 + timedelta(minutes=5 * (i + 1)),
            (sc(i % 3, i + 1, float(i)),),
            tables=(TableCounters(POSTS, seq_scan=i, n_live_tup=i),),
        )
        for i in range(10)
    ]
    shuffled = deltas[:]
    rng.shuffle(shuffled)
    assert merge(shuffled) == merge(deltas)
    assert merge(deltas).tables == (TableCounters(POSTS, seq_scan=45, n_live_tup=9),)


# ------------------------------------------------------------------------- running totals


def _totals_over(*snapshots: Snapshot) -> dict[int, StatementCounters]:
    totals: dict[int, StatementCounters] = {}
    previous: Snapshot | None = None
    for snapshot in snapshots:
        change = delta(previous, snapshot) if previous is not None else None
        totals = running_totals(totals, change, snapshot)
        previous = snapshot
    return totals


def test_running_totals_start_at_the_first_snapshot_and_grow_with_each_delta() -> None:
    totals = _totals_over(snap(0, sc(1, 100, 1000.0)), snap(1, sc(1, 130, 1300.0)))
    assert totals == {1: sc(1, 130, 1300.0)}


def test_running_totals_do_not_fall_after_a_reset() -> None:
    reset = T0 + timedelta(minutes=2)
    totals = _totals_over(
        snap(0, sc(1, 100, 1000.0)),
        snap(3, sc(1, 4, 30.0), reset_at=reset),
        snap(4, sc(1, 6, 50.0), reset_at=reset),
    )
    assert totals == {1: sc(1, 106, 1050.0)}


def test_running_totals_do_not_fall_when_an_entry_is_evicted_and_readded() -> None:
    totals = _totals_over(snap(0, sc(1, 100, 1000.0)), snap(1, sc(1, 3, 9.0)))
    assert totals == {1: sc(1, 103, 1009.0)}


def test_running_totals_forget_statements_gone_from_the_snapshot() -> None:
    totals = _totals_over(snap(0, sc(1, 1, 1.0), sc(2, 1, 1.0)), snap(1, sc(2, 2, 2.0)))
    assert set(totals) == {2}


def test_replica_scans_are_added_per_index_and_an_index_a_replica_lacks_is_left_out() -> None:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    posts = TableName("public", "posts")
    primary = Delta(
        "app",
        t0,
        t0 + timedelta(days=1),
        (),
        tables=(TableCounters(posts, n_tup_ins=9),),
        indexes=(
            IndexCounters(posts, "a", idx_scan=1, size_bytes=100),
            IndexCounters(posts, "b", idx_scan=0, size_bytes=200),
            IndexCounters(posts, "new", idx_scan=0, size_bytes=300),
        ),
    )
    replica = Delta(
        "app",
        t0 + timedelta(hours=1),
        t0 + timedelta(days=1),
        (),
        indexes=(
            IndexCounters(posts, "a", idx_scan=2, size_bytes=1),
            IndexCounters(posts, "b", idx_scan=5, idx_tup_read=7, size_bytes=1),
        ),
        reset=True,
    )
    combined = with_replica_scans(primary, [replica])
    assert combined.indexes == (
        IndexCounters(posts, "a", idx_scan=3, size_bytes=100),
        IndexCounters(posts, "b", idx_scan=5, idx_tup_read=7, size_bytes=200),
    )
    assert combined.reset and combined.tables == primary.tables
    assert (combined.started_at, combined.ended_at) == (primary.started_at, primary.ended_at)
    assert with_replica_scans(primary, []) == primary
