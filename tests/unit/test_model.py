"""Index designs: names, SQL, quoting and prefix relations."""

from __future__ import annotations

import pytest

from advisor.config import Settings
from advisor.errors import UsageError
from advisor.model import IndexDesign, KeyColumn, TableName, quote_ident
from advisor.pg import redact, session_conninfo

T = TableName("public", "posts")


def test_identifiers_are_quoted_only_when_needed() -> None:
    assert quote_ident("posts") == "posts"
    assert quote_ident("createdAt") == '"createdAt"'
    assert quote_ident("order") == '"order"'
    assert quote_ident('we"ird name') == '"we""ird name"'
    assert quote_ident("1abc") == '"1abc"'


def test_create_sql_quotes_everything_that_needs_it() -> None:
    design = IndexDesign(
        TableName("Billing", "user"),
        (KeyColumn.of("tenantId"), KeyColumn.of("at", True)),
        ("note",),
    )
    assert design.create_sql() == (
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "user_tenantId_at_desc_incl_note_idx" '
        'ON "Billing"."user" USING btree ("tenantId", at DESC) INCLUDE (note)'
    )


def test_non_default_nulls_order_is_spelled_out() -> None:
    assert KeyColumn.of("a", True, nulls_first=False).sql() == "a DESC NULLS LAST"
    assert KeyColumn.of("a", False, nulls_first=True).sql() == "a NULLS FIRST"
    assert KeyColumn.of("a", True).sql() == "a DESC"


def test_long_names_stay_within_63_bytes_and_differ() -> None:
    columns = ["a_rather_long_column_name_number_one", "a_rather_long_column_name_number_two"]
    one = IndexDesign(T, tuple(KeyColumn.of(c) for c in columns))
    two = IndexDesign(T, tuple(KeyColumn.of(c) for c in reversed(columns)))
    assert len(one.name().encode()) <= 63
    assert one.name() != two.name()
    assert one.name() == IndexDesign(T, one.keys).name()


def test_prefix_relation_respects_direction_and_backward_scans() -> None:
    a = IndexDesign(T, (KeyColumn.of("a"),))
    ab = IndexDesign(T, (KeyColumn.of("a"), KeyColumn.of("b", True)))
    a_desc_b = IndexDesign(T, (KeyColumn.of("a", True), KeyColumn.of("b")))
    assert a.serves_prefix_of(ab)
    assert IndexDesign(T, a_desc_b.keys[:1]).serves_prefix_of(ab)  # backward scan
    assert not ab.serves_prefix_of(a)
    assert not IndexDesign(T, (KeyColumn.of("a"),), predicate="b > 0").serves_prefix_of(ab)


def test_passwords_are_redacted_from_dsns() -> None:
    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("host=h password=secret dbname=db") == "host=h password=*** dbname=db"
    assert redact("host=h password='se cret' dbname=db") == "host=h password=*** dbname=db"


def test_an_unencoded_at_in_a_url_password_is_refused_without_showing_it() -> None:
    # libpq would read host "tail@localhost" and print it in "could not translate host name".
    dsn = "postgresql://app:secret@tail@localhost:5432/db"
    assert redact(dsn) == "postgresql://app:***@localhost:5432/db"
    with pytest.raises(UsageError) as raised:
        session_conninfo(dsn, Settings())
    message = str(raised.value)
    assert "%40" in message and "secret" not in message and "tail" not in message
    # An encoded one is fine.
    assert "password=secret@tail" in session_conninfo(
        "postgresql://app:secret%40tail@localhost/db", Settings()
    ).replace("'", "")
