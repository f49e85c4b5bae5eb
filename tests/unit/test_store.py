"""The state file: real SQLite files in a temporary directory, reopened as a restart would."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from advisor.errors import StateError
from advisor.history import (
    Delta,
    IndexCounters,
    IndexRegression,
    RealizedBenefit,
    RecommendationStatus,
    Snapshot,
    StatementCounters,
    TableCounters,
)
from advisor.model import (
    IndexDesign,
    KeyColumn,
    Recommendation,
    StatementEffect,
    TableName,
)
from advisor.store import STATE_FILE_NAME, Store

T = datetime(2024, 5, 1, tzinfo=UTC)
POSTS = TableName("public", "posts")
USERS = TableName("Billing", "user")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "state") as opened:
        yield opened


def reopen(store: Store) -> Store:
    """A new Store on the same directory, as after a restart of the daemon."""
    store.close()
    return Store(store.path.parent)


def bucket(start: datetime, minutes: float, number: int, database: str = "app") -> Delta:
    """A delta with integer-valued counters, so sums in any order are exact."""
    return Delta(
        database,
        start,
        start + timedelta(minutes=minutes),
        (StatementCounters(number % 3, 1, float(number), 1.0, number),),
        tables=(TableCounters(POSTS, seq_scan=1, n_live_tup=number, size_bytes=8192),),
        indexes=(IndexCounters(POSTS, "posts_pkey", idx_scan=2, size_bytes=4096),),
        statements_evicted=number % 2,
        transactions=number + 1,
    )


def summary(d: Delta | None) -> object:
    """What a window tells, independent of the order of rows inside it."""
    if d is None:
        return None
    return (
        d.started_at,
        d.ended_at,
        {s.queryid: s for s in d.statements},
        {t.table: t for t in d.tables},
        {(i.table, i.index): i for i in d.indexes},
        d.reset,
        d.statements_evicted,
        d.transactions,
    )


def recommendation(
    column: str, saved_ms: float, table: TableName = POSTS, calls: int = 10
) -> Recommendation:
    return Recommendation(
        design=IndexDesign(table, (KeyColumn.of(column),)),
        estimated_size_bytes=8192,
        estimated_ms_saved_per_day=saved_ms,
        statements=(
            StatementEffect(
                queryid=-42,
                query=f"SELECT * FROM posts WHERE {column} = $1",
                calls=calls,
                mean_ms=12.5,
                cost_before=1000.0,
                cost_after=8.5,
                estimated_ms_saved_per_day=saved_ms,
            ),
        ),
    )


# --------------------------------------------------------------------------- opening


def test_a_missing_state_directory_is_created_with_the_state_file(tmp_path: Path) -> None:
    state_dir = tmp_path / "deep" / "state"
    with Store(state_dir) as store:
        assert store.path == state_dir / STATE_FILE_NAME
    assert (state_dir / STATE_FILE_NAME).is_file()


def test_state_file_uses_write_ahead_logging(store: Store) -> None:
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_garbage_state_file_is_reported_corrupt_with_its_path(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE_NAME).write_bytes(b"this is not SQLite at all" * 200)
    with pytest.raises(StateError, match=r"corrupt.*move it away") as raised:
        Store(tmp_path)
    assert str(tmp_path / STATE_FILE_NAME) in str(raised.value)


def test_state_file_with_damaged_pages_is_reported_corrupt(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        store.save_texts(
            "app", {q: f"SELECT {q} FROM posts WHERE id = $1" * 20 for q in range(500)}
        )
    path = tmp_path / STATE_FILE_NAME
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    # Keep the header page, scribble over the rest: a disk that lost some writes.
    data[page_size:] = bytes((i * 7 + 3) % 251 for i in range(len(data) - page_size))
    path.write_bytes(bytes(data))
    with pytest.raises(StateError, match="corrupt") as raised:
        Store(tmp_path)
    assert str(path) in str(raised.value)


def test_state_directory_that_is_a_regular_file_is_refused(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "state"
    not_a_dir.write_text("oops")
    with pytest.raises(StateError, match="not a directory") as raised:
        Store(not_a_dir)
    assert str(not_a_dir) in str(raised.value)


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes through directory permissions; covered by the regular-file case",
)
def test_unwritable_state_directory_is_refused(tmp_path: Path) -> None:
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o500)
    try:
        with pytest.raises(StateError, match=re.escape(str(read_only))):
            Store(read_only)
        with pytest.raises(StateError, match="cannot create"):
            Store(read_only / "state")
    finally:
        read_only.chmod(0o700)


def test_state_written_by_a_newer_advisor_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    with sqlite3.connect(tmp_path / STATE_FILE_NAME) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(StateError, match="newer pg-advisor"):
        Store(tmp_path)


def test_compaction_ages_must_grow(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must grow"):
        Store(tmp_path, keep_raw_hours=72, keep_hourly_days=2)


# ------------------------------------------------------------------------- snapshots


def test_snapshot_round_trips_exactly(store: Store) -> None:
    snapshot = Snapshot(
        database="app",
        taken_at=T,
        server_started_at=T - timedelta(days=3),
        statements_reset_at=T - timedelta(days=1),
        statements=(
            StatementCounters(-9_223_372_036_854_775_808, 5, 12.345678901234567, 0.5, 7),
            StatementCounters(9_223_372_036_854_775_807, 1, 0.1),
        ),
        tables=(TableCounters(USERS, 1, 2, 3, 4, 5, 6, 7, 8, 9),),
        indexes=(IndexCounters(USERS, "user_pkey", 1, 2, 3, 4),),
        statements_evicted=11,
        transactions=9_000_000_001,
        transactions_reset_at=T - timedelta(hours=2),
    )
    store.save_snapshot(snapshot)
    assert store.last_snapshot("app") == snapshot
    unread = replace(snapshot, transactions=None, transactions_reset_at=None)
    store.save_snapshot(unread)
    assert store.last_snapshot("app") == unread


def test_only_the_latest_snapshot_of_each_database_is_kept(store: Store) -> None:
    def snap(database: str, minutes: int) -> Snapshot:
        return Snapshot(database, T + timedelta(minutes=minutes), T, None, ())

    store.save_snapshot(snap("app", 0))
    store.save_snapshot(snap("other", 1))
    store.save_snapshot(snap("app", 5))
    assert store.last_snapshot("app") == snap("app", 5)
    assert store.last_snapshot("other") == snap("other", 1)
    assert store.last_snapshot("unknown") is None


def test_a_poll_saves_its_delta_and_snapshot_together_or_not_at_all(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = Snapshot("app", T, T, T, (StatementCounters(1, 10, 10.0),))
    store.save_poll(first, None)
    assert store.window("app", T - timedelta(days=1)) is None
    # A snapshot big enough that the (simulated) full disk refuses the transaction.
    statements = tuple(StatementCounters(q, 20, 20.0) for q in range(20_000))
    second = Snapshot("app", T + timedelta(minutes=5), T, T, statements)
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")

    with pytest.raises(StateError, match="full"):
        store.save_poll(second, bucket(T, 5, 1))

    # Neither half was written, so the next poll recomputes the same delta exactly once.
    assert store.last_snapshot("app") == first
    assert store.window("app", T - timedelta(days=1)) is None
    store._conn.execute("PRAGMA max_page_count = 1073741823")
    store.save_poll(second, bucket(T, 5, 1))
    assert store.last_snapshot("app") == second
    assert summary(store.window("app", T)) == summary(bucket(T, 5, 1))
    store.close()


def test_datetimes_come_back_timezone_aware_as_the_same_instant(store: Store) -> None:
    paris = timezone(timedelta(hours=2))
    taken = datetime(2024, 5, 1, 14, 30, 15, 123456, tzinfo=paris)
    store.save_snapshot(Snapshot("app", taken, taken, None, ()))
    loaded = store.last_snapshot("app")
    assert loaded is not None
    assert loaded.taken_at == taken
    assert loaded.taken_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.save_snapshot(Snapshot("app", datetime(2024, 5, 1), T, None, ()))


# ----------------------------------------------------------------------------- texts


def test_texts_are_kept_per_database_and_unknown_queryids_are_absent(store: Store) -> None:
    store.save_texts("app", {1: "SELECT 1", -7: "SELECT $1"})
    store.save_texts("other", {1: "SELECT 'other'"})
    assert store.known_queryids("app") == {1, -7}
    assert store.texts("app", [1, -7, 99]) == {1: "SELECT 1", -7: "SELECT $1"}
    assert store.texts("other", iter([1])) == {1: "SELECT 'other'"}
    assert store.texts("app", []) == {}


def test_many_texts_are_read_in_one_call(store: Store) -> None:
    texts = {queryid: f"SELECT {queryid}" for queryid in range(5000)}
    store.save_texts("app", texts)
    assert store.texts("app", range(5000)) == texts


# ---------------------------------------------------------------------------- deltas


def test_window_merges_the_buckets_that_overlap_it(store: Store) -> None:
    for number in range(6):
        store.add_delta(bucket(T + timedelta(minutes=5 * number), 5, number))
    store.add_delta(bucket(T, 5, 100, database="other"))

    window = store.window("app", T + timedelta(minutes=10), T + timedelta(minutes=20))

    assert window is not None
    assert (window.started_at, window.ended_at) == (
        T + timedelta(minutes=10),
        T + timedelta(minutes=20),
    )
    assert {s.queryid: s.calls for s in window.statements} == {2: 1, 0: 1}
    assert window.tables == (TableCounters(POSTS, seq_scan=2, n_live_tup=3, size_bytes=8192),)
    assert window.statements_evicted == 1
    assert window.transactions == 3 + 4


def test_a_window_knows_the_database_transactions_only_when_every_bucket_does(
    store: Store,
) -> None:
    store.add_delta(bucket(T, 5, 1))
    store.add_delta(replace(bucket(T + timedelta(minutes=5), 5, 2), transactions=None))
    store.add_delta(bucket(T + timedelta(minutes=10), 5, 3))
    after = store.window("app", T + timedelta(minutes=10))
    assert after is not None and after.transactions == 4
    whole = store.window("app", T)
    assert whole is not None and whole.transactions is None
    # Compaction merges them into one bucket that does not know them either.
    store.compact(T + timedelta(days=3))
    compacted = store.window("app", T)
    assert compacted is not None and compacted.transactions is None


def test_window_without_an_end_reaches_the_latest_bucket(store: Store) -> None:
    for number in range(6):
        store.add_delta(bucket(T + timedelta(minutes=5 * number), 5, number))
    window = store.window("app", T + timedelta(minutes=15))
    assert window is not None
    assert (window.started_at, window.ended_at) == (
        T + timedelta(minutes=15),
        T + timedelta(minutes=30),
    )


def test_window_with_nothing_stored_in_it_is_none(store: Store) -> None:
    store.add_delta(bucket(T, 5, 1))
    assert store.window("app", T + timedelta(minutes=5)) is None
    assert store.window("app", T - timedelta(hours=1), T) is None
    assert store.window("other", T - timedelta(hours=1)) is None


def test_compact_keeps_young_buckets_merges_older_ones_and_deletes_expired(
    store: Store,
) -> None:
    now = T + timedelta(days=50)
    young = [bucket(now - timedelta(minutes=30 - 5 * i), 5, i) for i in range(3)]
    five_hours_ago = now - timedelta(hours=5)
    hour = [bucket(five_hours_ago + timedelta(minutes=5 * i), 5, i) for i in range(12)]
    ten_days_ago = now - timedelta(days=10)
    day = [bucket(ten_days_ago + timedelta(hours=i), 60, i) for i in range(24)]
    expired = [bucket(now - timedelta(days=40, minutes=5 * i), 5, i) for i in range(2)]
    for delta in [*young, *hour, *day, *expired]:
        store.add_delta(delta)
    before_hour = store.window("app", five_hours_ago, five_hours_ago + timedelta(hours=1))

    removed = store.compact(now)

    assert removed == 11 + 23 + 2
    assert store.compact(now) == 0  # nothing left to do: compaction is idempotent
    assert summary(
        store.window("app", five_hours_ago, five_hours_ago + timedelta(hours=1))
    ) == summary(before_hour)
    assert store.window("app", now - timedelta(days=41), now - timedelta(days=39)) is None
    for delta in young:  # still there at their own resolution
        assert summary(store.window("app", delta.started_at, delta.ended_at)) == summary(delta)


def test_compaction_does_not_change_sums_over_windows_aligned_to_the_kept_granularity(
    store: Store,
) -> None:
    # Four days of 15-minute deltas; now is on the hour, so the age tiers start on the hour.
    now = T + timedelta(days=4)
    for number in range(4 * 24 * 4):
        store.add_delta(bucket(T + timedelta(minutes=15 * number), 15, number))
    days = [(T + timedelta(days=k), T + timedelta(days=k + 1)) for k in range(4)]
    hourly_start = now - timedelta(days=2)
    hours = [
        (hourly_start + timedelta(hours=h), hourly_start + timedelta(hours=h + 1))
        for h in range(48)
    ]
    windows = [(T, now), (T, None), *days, *hours]
    before = [summary(store.window("app", since, until)) for since, until in windows]

    removed = store.compact(now)

    # Days 1-2 become one bucket each, 46 hours one each, the last 2 hours stay raw (8).
    assert removed == 384 - (2 + 46 + 8)
    after = [summary(store.window("app", since, until)) for since, until in windows]
    assert after == before


def test_compaction_ages_are_settings(tmp_path: Path) -> None:
    with Store(tmp_path, keep_raw_hours=0, keep_hourly_days=0, retention_days=1) as store:
        for number in range(4):
            store.add_delta(bucket(T + timedelta(minutes=5 * number), 5, number))
        store.add_delta(bucket(T - timedelta(days=3), 5, 9))
        assert store.compact(T + timedelta(hours=1)) == 3 + 1


# ------------------------------------------------------------------- recommendations


def test_recommendation_keeps_its_first_sighting_and_takes_the_latest_estimates(
    store: Store,
) -> None:
    store.record_recommendations("app", [recommendation("author_id", 100.0)], T)
    later = T + timedelta(hours=1)
    store.record_recommendations("app", [recommendation("author_id", 250.0, calls=30)], later)

    [stored] = store.recommendations("app")

    assert stored.name == "posts_author_id_idx"
    assert stored.table == POSTS
    assert stored.create_sql == recommendation("author_id", 0).create_sql
    assert (stored.first_seen, stored.last_seen, stored.created_at) == (T, later, None)
    assert stored.status is RecommendationStatus.OPEN
    assert stored.estimated_ms_saved_per_day == 250.0
    assert stored.estimated_size_bytes == 8192
    assert stored.statements == recommendation("author_id", 250.0, calls=30).statements


def test_recommendation_not_made_again_is_gone_until_it_is_made_again(store: Store) -> None:
    store.record_recommendations(
        "app", [recommendation("author_id", 100.0), recommendation("title", 50.0)], T
    )
    store.record_recommendations("app", [recommendation("author_id", 90.0)], T + timedelta(hours=1))

    assert [r.name for r in store.recommendations("app", "open")] == ["posts_author_id_idx"]
    [gone] = store.recommendations("app", "gone")
    assert (gone.name, gone.last_seen) == ("posts_title_idx", T)

    store.record_recommendations("app", [recommendation("title", 60.0)], T + timedelta(hours=2))
    statuses = {r.name: r.status for r in store.recommendations("app")}
    assert statuses == {"posts_author_id_idx": "gone", "posts_title_idx": "open"}


def test_created_recommendation_is_never_marked_gone(store: Store) -> None:
    store.record_recommendations("app", [recommendation("author_id", 100.0)], T)
    created_at = T + timedelta(minutes=30)
    store.mark_created("app", "posts_author_id_idx", created_at)
    store.record_recommendations("app", [], T + timedelta(hours=1))

    [created] = store.recommendations("app", "created")
    assert (created.status, created.created_at, created.first_seen) == ("created", created_at, T)


def test_recommendations_are_per_database_most_valuable_first(store: Store) -> None:
    store.record_recommendations(
        "app", [recommendation("title", 50.0), recommendation("author_id", 100.0)], T
    )
    store.record_recommendations("other", [recommendation("email", 1.0, table=USERS)], T)
    # A new analysis of "other" leaves "app" alone.
    store.record_recommendations("other", [], T + timedelta(hours=1))
    assert [r.name for r in store.recommendations("app")] == [
        "posts_author_id_idx",
        "posts_title_idx",
    ]
    assert [r.status for r in store.recommendations("other")] == ["gone"]


def test_marking_an_unknown_recommendation_created_raises_key_error(store: Store) -> None:
    with pytest.raises(KeyError, match="posts_nope_idx"):
        store.mark_created("app", "posts_nope_idx", T)


def test_unknown_status_is_refused(store: Store) -> None:
    with pytest.raises(ValueError):
        store.recommendations("app", "pending")


# ------------------------------------------------------------------- benefit, indexes


def test_realized_benefit_keeps_the_latest_measure_per_index(store: Store) -> None:
    store.save_realized("app", "posts_author_id_idx", 40.0, 2.0, 3, T)
    store.save_realized("app", "posts_author_id_idx", 40.0, 1.5, 4, T + timedelta(days=1))
    store.save_realized("other", "x_idx", 1.0, 1.0, 1, T)
    assert store.realized("app") == [
        RealizedBenefit("app", "posts_author_id_idx", 40.0, 1.5, 4, T + timedelta(days=1))
    ]


def test_a_window_within_leaves_out_the_buckets_that_straddle_its_bounds(store: Store) -> None:
    for minutes in range(0, 60, 10):
        store.add_delta(bucket(T + timedelta(minutes=minutes), 10, minutes))
    appeared = T + timedelta(minutes=30)  # the bucket [20, 30) holds the moment it appeared
    before = store.window_within("app", T + timedelta(minutes=5), appeared)
    assert before is not None
    assert (before.started_at, before.ended_at) == (
        T + timedelta(minutes=10),
        appeared - timedelta(minutes=10),
    )
    since = store.window_within("app", appeared)
    assert since is not None
    assert (since.started_at, since.ended_at) == (appeared, T + timedelta(minutes=60))
    assert store.window_within("app", T + timedelta(minutes=61)) is None


def test_regressions_are_replaced_by_the_latest_measure(store: Store) -> None:
    slower = IndexRegression("app", "Posts_x_idx", USERS, -7, 50, 1.0, 40, 9.0, T)
    small = IndexRegression("app", "posts_y_idx", POSTS, 3, 50, 1.0, 40, 2.0, T, True)
    store.save_regressions("app", [small, slower])
    store.save_regressions("other", [small])
    store = reopen(store)
    assert store.regressions("app") == [slower, small]  # the costliest first
    store.save_regressions("app", [])
    assert store.regressions("app") == []
    assert len(store.regressions("other")) == 1
    store.close()


def test_observing_indexes_keeps_the_first_sighting(store: Store) -> None:
    store.observe_indexes("app", [(POSTS, "posts_pkey")], T)
    store.observe_indexes("app", [(POSTS, "posts_pkey"), (USERS, "user_pkey")], T + timedelta(1))
    assert store.index_first_seen("app") == {
        (POSTS, "posts_pkey"): T,
        (USERS, "user_pkey"): T + timedelta(1),
    }
    assert store.index_first_seen("other") == {}


# ---------------------------------------------------------------------- durability


def test_everything_survives_reopening_the_store(store: Store) -> None:
    snapshot = Snapshot("app", T, T, T, (StatementCounters(1, 2, 3.0),))
    store.save_snapshot(snapshot)
    store.save_texts("app", {1: "SELECT 1"})
    store.add_delta(bucket(T, 5, 1))
    store.record_recommendations("app", [recommendation("author_id", 100.0)], T)
    store.mark_created("app", "posts_author_id_idx", T)
    store.save_realized("app", "posts_author_id_idx", 10.0, 1.0, 1, T)
    store.observe_indexes("app", [(POSTS, "posts_pkey")], T)
    recommendations = store.recommendations("app")

    again = reopen(store)
    try:
        assert again.last_snapshot("app") == snapshot
        assert again.texts("app", [1]) == {1: "SELECT 1"}
        assert summary(again.window("app", T)) == summary(bucket(T, 5, 1))
        assert again.recommendations("app") == recommendations
        assert len(again.realized("app")) == 1
        assert again.index_first_seen("app") == {(POSTS, "posts_pkey"): T}
    finally:
        again.close()


def test_full_disk_raises_state_error_and_leaves_the_state_intact(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_texts("app", {1: "SELECT 1"})
    # SQLite's page cap makes its writes fail exactly as a full disk does (SQLITE_FULL).
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")

    with pytest.raises(StateError, match=r"disk .* is full"):
        store.save_texts("app", {2: "x" * 1_000_000, 3: "SELECT 3"})

    assert store.texts("app", [1, 2, 3]) == {1: "SELECT 1"}  # all or nothing
    store._conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
    store.save_texts("app", {3: "SELECT 3"})
    store.close()
    with Store(tmp_path) as again:  # passes the integrity check
        assert again.texts("app", [1, 2, 3]) == {1: "SELECT 1", 3: "SELECT 3"}


def test_threads_can_write_and_read_at_the_same_time(store: Store) -> None:
    failures: list[BaseException] = []

    def scheduler(worker: int) -> None:
        try:
            for number in range(40):
                start = T + timedelta(minutes=5 * (worker * 100 + number))
                store.add_delta(bucket(start, 5, number))
                store.record_recommendations("app", [recommendation("author_id", number)], start)
        except BaseException as error:  # handed to the main thread, which fails the test
            failures.append(error)

    def http_reader() -> None:
        try:
            for _ in range(80):
                store.recommendations("app", "open")
                store.window("app", T)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=scheduler, args=(w,)) for w in range(3)]
    threads += [threading.Thread(target=http_reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    window = store.window("app", T)
    assert window is not None
    assert sum(s.calls for s in window.statements) == 120


def test_frequent_collections_are_merged_into_five_minute_buckets_after_a_quarter_hour(
    store: Store,
) -> None:
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    start = now - timedelta(hours=1)
    for number in range(60 * 6):  # ten-second buckets over the hour before `now`
        store.add_delta(bucket(start + timedelta(seconds=10 * number), 10 / 60, number))
    before = summary(store.window("app", start))
    removed = store.compact(now)
    with store._reading("count") as conn:
        (count,) = conn.execute("SELECT count(*) FROM delta_bucket").fetchone()
    # 45 minutes (older than the quarter hour) become 9 five-minute buckets; 15 stay raw.
    assert count == 9 + 15 * 6
    assert removed == 60 * 6 - count
    assert summary(store.window("app", start)) == before


def test_the_reports_history_gives_the_newest_earlier_report_it_can_compare_with(
    store: Store,
) -> None:
    def current(entry: Mapping[str, object]) -> bool:
        return entry.get("format") == 1

    store.save_report("app", date(2026, 11, 20), {"format": 1, "day": "2026-11-20"})
    store.save_report("app", date(2026, 11, 22), {"format": 0, "day": "2026-11-22"})
    store.save_report("other", date(2026, 11, 23), {"format": 1, "day": "2026-11-23"})
    store.save_report("app", date(2026, 11, 24), {"format": 1, "day": "2026-11-24"})
    # The newest before the day, of this database, passing over an older format.
    assert store.previous_report("app", date(2026, 11, 24), current) == {
        "format": 1,
        "day": "2026-11-20",
    }
    assert store.previous_report("app", date(2026, 11, 20), current) is None
    # A report written again the same day replaces that day's entry.
    store.save_report("app", date(2026, 11, 24), {"format": 1, "day": "again"})
    assert store.previous_report("app", date(2026, 11, 25), current) == {
        "format": 1,
        "day": "again",
    }


def test_compaction_forgets_reports_past_the_retention(store: Store) -> None:
    now = datetime(2026, 12, 31, tzinfo=UTC)
    store.save_report("app", date(2026, 11, 1), {"format": 1})
    store.save_report("app", date(2026, 12, 30), {"format": 1, "kept": True})
    assert store.compact(now) >= 1
    assert store.previous_report("app", date(2026, 12, 31), lambda e: True) == {
        "format": 1,
        "kept": True,
    }
    assert store.previous_report("app", date(2026, 12, 30), lambda e: True) is None


def test_forgotten_texts_are_gone_from_the_state_file_bytes(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_texts("app", {1: "ALTER ROLE weak PASSWORD 'LeakMe_Secret_42'", 2: "SELECT 1"})
    store.save_texts("other", {1: "ALTER ROLE x PASSWORD 'LeakMe_Secret_42'"})

    assert store.forget_texts(lambda text: "PASSWORD" in text) == 2

    assert store.texts("app", [1, 2]) == {2: "SELECT 1"}
    assert store.known_queryids("other") == set()
    store.close()
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"LeakMe_Secret_42" not in written


# ---------------------------------------------------------------------- replicas


def test_a_replicas_snapshot_and_deltas_are_kept_apart_from_the_primarys(store: Store) -> None:
    primary = Snapshot("app", T, T, None, (), indexes=(IndexCounters(POSTS, "posts_pkey", 5),))
    standby = Snapshot("app", T, T, None, (), indexes=(IndexCounters(POSTS, "posts_pkey", 70),))
    store.save_poll(primary, bucket(T - timedelta(minutes=5), 5, 1))
    store.save_poll(standby, bucket(T - timedelta(minutes=10), 10, 2), replica="db2:5432")
    store = reopen(store)
    assert store.last_snapshot("app") == primary
    assert store.last_snapshot("app", replica="db2:5432") == standby
    assert store.last_snapshot("app", replica="db3:5432") is None
    mine = store.window("app", T - timedelta(hours=1))
    theirs = store.window("app", T - timedelta(hours=1), replica="db2:5432")
    assert mine is not None and theirs is not None
    assert (mine.started_at, theirs.started_at) == (
        T - timedelta(minutes=5),
        T - timedelta(minutes=10),
    )
    store.close()


def test_compaction_merges_a_replicas_buckets_only_with_its_own(store: Store) -> None:
    now = T + timedelta(days=5)
    start = now - timedelta(days=3)
    for i in range(4):
        store.add_delta(bucket(start + timedelta(hours=i), 60, i))
        store.add_delta(bucket(start + timedelta(hours=i), 60, i), replica="db2:5432")
    primary = summary(store.window("app", start))
    store.compact(now)
    assert summary(store.window("app", start)) == primary
    assert summary(store.window("app", start, replica="db2:5432")) == primary


def test_a_state_file_of_the_previous_schema_keeps_its_snapshot_and_deltas(tmp_path: Path) -> None:
    from advisor import store as store_module

    state = tmp_path / "state"
    state.mkdir()
    conn = sqlite3.connect(state / STATE_FILE_NAME)
    for migration in store_module.MIGRATIONS[:2]:
        for statement in migration:
            conn.execute(statement)
    conn.execute(
        "INSERT INTO snapshot VALUES ('app', ?, ?, NULL, NULL, ?)",
        (T.isoformat(), T.isoformat(), '{"statements":[],"tables":[],"indexes":[]}'),
    )
    conn.execute(
        "INSERT INTO delta_bucket (database, started_at, ended_at, reset, statements_evicted,"
        " counters) VALUES ('app', ?, ?, 0, 0, ?)",
        (
            (T - timedelta(hours=1)).isoformat(),
            T.isoformat(),
            '{"statements":[],"tables":[],"indexes":[]}',
        ),
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with Store(state) as opened:
        assert opened.last_snapshot("app") == Snapshot("app", T, T, None, ())
        window = opened.window("app", T - timedelta(days=1))
        assert window is not None and window.started_at == T - timedelta(hours=1)
        assert window.transactions is None  # written before they were read
        assert opened.window("app", T - timedelta(days=1), replica="db2:5432") is None


def test_counters_round_trip_and_the_older_one_object_a_row_form_still_reads() -> None:
    from advisor.store import _Counters, _decode_counters, _encode_counters

    statements = (StatementCounters(7, 3, 1.5, 0.25, 9),)
    tables = (TableCounters(POSTS, seq_scan=1, n_live_tup=5, size_bytes=8192),)
    indexes = (IndexCounters(POSTS, "posts_pkey", idx_scan=2, size_bytes=4096),)
    text = _encode_counters(statements, tables, indexes)
    assert '"fields"' in text  # field names once, then lists
    assert _decode_counters(text) == _Counters(statements, tables, indexes)
    text = _encode_counters(statements, tables, indexes, 12, T)
    assert _decode_counters(text) == _Counters(statements, tables, indexes, 12, T)
    older = (
        '{"statements":[{"queryid":7,"calls":3,"total_exec_ms":1.5,"total_plan_ms":0.25,'
        '"rows":9}],"tables":[{"table":{"schema":"public","name":"posts"},"seq_scan":1,'
        '"n_live_tup":5,"size_bytes":8192}],"indexes":[{"table":{"schema":"public",'
        '"name":"posts"},"index":"posts_pkey","idx_scan":2,"size_bytes":4096}]}'
    )
    assert _decode_counters(older) == _Counters(statements, tables, indexes)


def test_counters_stored_before_the_database_transactions_were_read_decode_to_none(
    store: Store,
) -> None:
    # The list form as written before: no transactions key.
    counters = (
        '{"fields":{"statements":["queryid","calls","total_exec_ms"],"tables":[],'
        '"indexes":[]},"statements":[[7,3,1.5]],"tables":[],"indexes":[]}'
    )
    with store._writing("write an older row") as conn:
        conn.execute(
            "INSERT INTO snapshot VALUES ('app', '', ?, ?, NULL, NULL, ?)",
            (T.isoformat(), T.isoformat(), counters),
        )
        conn.execute(
            "INSERT INTO delta_bucket (database, started_at, ended_at, reset,"
            " statements_evicted, counters) VALUES ('app', ?, ?, 0, 0, ?)",
            ((T - timedelta(minutes=5)).isoformat(), T.isoformat(), counters),
        )
    snapshot = store.last_snapshot("app")
    assert snapshot is not None
    assert (snapshot.transactions, snapshot.transactions_reset_at) == (None, None)
    assert snapshot.statements == (StatementCounters(7, 3, 1.5),)
    window = store.window("app", T - timedelta(hours=1))
    assert window is not None and window.transactions is None
