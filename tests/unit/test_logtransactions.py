"""Statements grouped by the transaction the server log says they ran in."""

from __future__ import annotations

from pathlib import Path

from advisor.collect.logtransactions import prefix_pattern, read_logged_transactions

USERS = 'insert into "users" ("id", "name") values (default, $1) returning "id"'
PROFILES = 'insert into "profiles" ("user_id", "bio") values ($1, $2)'


def test_the_prefix_pattern_finds_the_transaction_id_wherever_the_prefix_prints_it() -> None:
    pattern = prefix_pattern("%m [%p] %q%u@%d %v ")
    assert pattern is not None
    match = pattern.match(
        "2026-12-03 18:00:00.123 UTC [4242] app@shop 3/17 LOG:  execute <unnamed>: select 1"
    )
    assert match is not None and match.group("vxid") == "3/17"
    xid = prefix_pattern("%t xid=%x ")
    assert xid is not None
    found = xid.match("2026-12-03 18:00:00 UTC xid=981 LOG:  statement: commit")
    assert found is not None and found.group("xid") == "981"
    assert prefix_pattern("%m [%p] ") is None  # no transaction id: nothing to read


def test_statements_of_one_transaction_are_counted_together(tmp_path: Path) -> None:
    lines = []
    for n in range(3):  # three separate transactions: a user, then its profile
        lines.append(f"2026-12-03 18:00:0{n} UTC [1] 3/{2 * n} LOG:  execute <unnamed>: {USERS}")
        lines.append("2026-12-03 18:00:00 UTC [1] 3/0 DETAIL:  parameters: $1 = 'a'")
        lines.append(
            f"2026-12-03 18:00:0{n} UTC [1] 3/{2 * n + 1} LOG:  execute <unnamed>: {PROFILES}"
        )
    # One transaction with both, the statement text on two lines.
    lines.append(
        '2026-12-03 18:00:09 UTC [2] 4/1 LOG:  statement: insert into "users" ("id", "name")'
    )
    lines.append("\tvalues (default, 'b') returning \"id\"")
    lines.append(f"2026-12-03 18:00:09 UTC [2] 4/1 LOG:  execute <unnamed>: {PROFILES}")
    (tmp_path / "postgresql.log").write_text("\n".join(lines) + "\n")

    logged = read_logged_transactions(tmp_path, "%t [%p] %v ")
    assert logged is not None and logged.marker == "%v"
    users = read_fingerprint(USERS)
    profiles = read_fingerprint(PROFILES)
    # The literal and the $1 text of the users insert are one statement by fingerprint.
    assert logged.logged([users]) == 4 and logged.logged([profiles]) == 4
    assert logged.together([users], [profiles]) == 1


def read_fingerprint(text: str) -> str:
    from advisor.analyze.syntax import bounded_fingerprint

    found = bounded_fingerprint(text)
    assert found is not None
    return found
