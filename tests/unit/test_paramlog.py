"""Reading statement parameters from PostgreSQL's stderr log files."""

from __future__ import annotations

import os
from pathlib import Path

from advisor.collect.values import read_parameter_log
from advisor.model import LoggedParameters

PREFIX = "2026-11-25 08:40:08.837 UTC [29152] app=api db=shop "


def write_log(path: Path, *lines: str, prefix: str = PREFIX, mtime: float | None = None) -> Path:
    """A log file whose entries get the prefix; lines starting with a TAB continue one."""
    text = "".join((line if line.startswith("\t") else prefix + line) + "\n" for line in lines)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def by_text(logged: tuple[LoggedParameters, ...]) -> dict[tuple[str, tuple[str | None, ...]], int]:
    return {(entry.text, entry.values): entry.count for entry in logged}


def test_execute_with_a_duration_prefix_gives_its_parameters(tmp_path: Path) -> None:
    write_log(
        tmp_path / "postgresql.log",
        "LOG:  duration: 0.123 ms  bind <unnamed>: select * from tasks where status = $1",
        "DETAIL:  parameters: $1 = 'blocked'",
        "LOG:  duration: 0.456 ms  execute <unnamed>: select * from tasks where status = $1",
        "DETAIL:  parameters: $1 = 'blocked'",
    )
    logged, notes = read_parameter_log(tmp_path)
    # The bind and the execute of one call are one call.
    assert logged == (LoggedParameters("select * from tasks where status = $1", ("blocked",), 1),)
    assert notes == []


def test_execute_logged_by_log_statement_and_named_statements_count(tmp_path: Path) -> None:
    write_log(
        tmp_path / "postgresql.log",
        "LOG:  execute S_1: select * from tasks where id = $1",
        "DETAIL:  parameters: $1 = '7'",
        "LOG:  execute S_1/C_2: select * from tasks where id = $1",
        "DETAIL:  parameters: $1 = '7'",
        "LOG:  execute fetch from S_1/C_2: select * from tasks where id = $1",
        "DETAIL:  parameters: $1 = '7'",
    )
    logged, _ = read_parameter_log(tmp_path)
    # A fetch from an open portal continues a call already counted.
    assert by_text(logged) == {("select * from tasks where id = $1", ("7",)): 2}


def test_multi_line_statement_text_is_joined_from_tab_continuations(tmp_path: Path) -> None:
    write_log(
        tmp_path / "postgresql.log",
        "LOG:  execute <unnamed>: select id",
        "\t  from tasks",
        "\t  where tenant_id = $1   ",
        "DETAIL:  parameters: $1 = '3'",
    )
    logged, _ = read_parameter_log(tmp_path)
    assert logged == (
        LoggedParameters("select id\n  from tasks\n  where tenant_id = $1", ("3",), 1),
    )


def test_null_doubled_quotes_multi_line_and_truncated_values(tmp_path: Path) -> None:
    write_log(
        tmp_path / "postgresql.log",
        "LOG:  execute <unnamed>: insert into notes values ($1, $2, $3, $4, $5)",
        "DETAIL:  parameters: $1 = 'it''s', $2 = NULL, $3 = 'a, $4 = b', $4 = 'line one",
        "\tline two', $5 = 'long value cut...'",
    )
    logged, _ = read_parameter_log(tmp_path)
    assert logged[0].values == (
        "it's",
        None,
        "a, $4 = b",
        "line one\nline two",
        "long value cut...",
    )


def test_unrelated_and_interleaved_lines_are_skipped(tmp_path: Path) -> None:
    write_log(
        tmp_path / "postgresql.log",
        "LOG:  checkpoint starting: time",
        "LOG:  statement: select 1",
        "DETAIL:  parameters: $1 = 'after a simple query'",
        "LOG:  execute <unnamed>: select * from t where a = $1",
        "ERROR:  canceling statement due to statement timeout",
        "DETAIL:  parameters: $1 = 'after an error'",
        "LOG:  execute <unnamed>: select * from t where a = $1",
        "DETAIL:  parameters: $1 = 'x', broken",
        "LOG:  execute <unnamed>: select * from t where a = $1",
        "DETAIL:  parameters: $2 = 'no first parameter'",
        "LOG:  execute <unnamed>: select * from t where a = $1",
        "DETAIL:  Process holding the lock: 42.",
        "LOG:  execute <unnamed>: select * from t where a = $1",
        "DETAIL:  parameters: $1 = 'kept'",
        "STATEMENT:  select * from t where a = $1",
    )
    with (tmp_path / "postgresql.log").open("a") as log:
        log.write(PREFIX + "LOG:  execute <unnamed>: select * from t where a = $1\n")
        log.write("a line some library printed, with no severity\n")
        log.write(PREFIX + "DETAIL:  parameters: $1 = 'orphaned'\n")
    logged, _ = read_parameter_log(tmp_path)
    assert by_text(logged) == {("select * from t where a = $1", ("kept",)): 1}


def test_any_log_line_prefix_is_accepted(tmp_path: Path) -> None:
    write_log(
        tmp_path / "postgresql.log",
        "LOG:  execute <unnamed>: select * from t where a = $1",
        "DETAIL:  parameters: $1 = 'bare'",
        prefix="",
    )
    write_log(
        tmp_path / "other.log",
        "LOG:  execute <unnamed>: select * from t where a = $1",
        "DETAIL:  parameters: $1 = 'prefixed'",
        prefix="<2026-11-25 08:40:08 UTC user=app LOG:x> [12]: ",
    )
    logged, _ = read_parameter_log(tmp_path)
    assert {entry.values for entry in logged} == {("bare",), ("prefixed",)}


def test_identical_statements_and_values_are_counted_most_frequent_first(tmp_path: Path) -> None:
    calls = [("blocked", "3")] * 3 + [("todo", "3")] * 5 + [("todo", None)]
    lines = []
    for status, tenant in calls:
        lines.append("LOG:  execute <unnamed>: select * from t where status = $1 and tenant = $2")
        shown = "NULL" if tenant is None else f"'{tenant}'"
        lines.append(f"DETAIL:  parameters: $1 = '{status}', $2 = {shown}")
    lines.append("LOG:  execute <unnamed>: select * from u where id = $1")
    lines.append("DETAIL:  parameters: $1 = 'todo'")
    write_log(tmp_path / "postgresql.log", *lines)
    logged, _ = read_parameter_log(tmp_path)
    text = "select * from t where status = $1 and tenant = $2"
    assert by_text(logged) == {
        (text, ("todo", "3")): 5,
        (text, ("blocked", "3")): 3,
        (text, ("todo", None)): 1,
        ("select * from u where id = $1", ("todo",)): 1,
    }
    assert logged[0] == LoggedParameters(text, ("todo", "3"), 5)


def test_missing_directory_gives_a_note_not_an_exception(tmp_path: Path) -> None:
    logged, notes = read_parameter_log(tmp_path / "nowhere")
    assert logged == ()
    assert len(notes) == 1 and str(tmp_path / "nowhere") in notes[0]


def test_a_file_instead_of_a_directory_gives_a_note(tmp_path: Path) -> None:
    path = write_log(tmp_path / "postgresql.log", "LOG:  checkpoint starting: time")
    logged, notes = read_parameter_log(path)
    assert logged == () and len(notes) == 1


def test_logs_without_parameters_say_which_settings_log_them(tmp_path: Path) -> None:
    write_log(tmp_path / "postgresql.log", "LOG:  statement: select 1")
    logged, notes = read_parameter_log(tmp_path)
    assert logged == ()
    assert any("log_min_duration_statement" in note for note in notes)


def test_only_log_files_are_read(tmp_path: Path) -> None:
    entry = ("LOG:  execute <unnamed>: select $1", "DETAIL:  parameters: $1 = 'v'")
    write_log(tmp_path / "postgresql-15-main.log", *entry)
    write_log(tmp_path / "postgresql-15-main.log.1", *entry)  # rotated by logrotate
    write_log(tmp_path / "server", *entry)  # no suffix, but a log
    write_log(tmp_path / "notes.txt", *entry)
    write_log(tmp_path / ".hidden.log", *entry)
    (tmp_path / "PG_VERSION").write_text("15\n")
    (tmp_path / "subdir.log").mkdir()
    logged, notes = read_parameter_log(tmp_path)
    assert logged == (LoggedParameters("select $1", ("v",), 3),)
    assert notes == []


def test_max_bytes_reads_the_newest_files_and_only_the_tail_of_a_large_one(
    tmp_path: Path,
) -> None:
    def entries(value: str, times: int) -> list[str]:
        return [
            line
            for _ in range(times)
            for line in (
                "LOG:  execute <unnamed>: select $1",
                f"DETAIL:  parameters: $1 = '{value}'",
            )
        ]

    old = write_log(tmp_path / "old.log", *entries("old", 10), mtime=1_000_000)
    new = write_log(tmp_path / "new.log", *entries("new", 10), mtime=2_000_000)
    entry_bytes = new.stat().st_size // 10
    logged, _ = read_parameter_log(tmp_path, max_bytes=new.stat().st_size)
    assert by_text(logged) == {("select $1", ("new",)): 10}
    # Half of what the newest file holds: its last entries only, none cut in half.
    logged, _ = read_parameter_log(tmp_path, max_bytes=entry_bytes * 5 + entry_bytes // 2)
    assert by_text(logged) == {("select $1", ("new",)): 5}
    # The newest file whole, then the tail of the older one.
    budget = new.stat().st_size + old.stat().st_size // 2
    logged, _ = read_parameter_log(tmp_path, max_bytes=budget)
    assert by_text(logged) == {("select $1", ("new",)): 10, ("select $1", ("old",)): 5}


def test_distinct_parameter_sets_are_bounded_with_a_note(tmp_path: Path) -> None:
    lines = []
    for number in range(10):
        lines += ["LOG:  execute <unnamed>: select $1", f"DETAIL:  parameters: $1 = '{number}'"]
    lines += ["LOG:  execute <unnamed>: select $1", "DETAIL:  parameters: $1 = '0'"]
    write_log(tmp_path / "postgresql.log", *lines)
    logged, notes = read_parameter_log(tmp_path, max_distinct=4)
    assert len(logged) == 4
    # Sets already kept are still counted.
    assert LoggedParameters("select $1", ("0",), 2) in logged
    assert len(notes) == 1 and "6" in notes[0]
