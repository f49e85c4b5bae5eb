"""Statement texts that can carry a secret are recognised, so that none of them is kept,
logged or exported; the statements the advisor analyzes are not."""

from __future__ import annotations

import pytest

from advisor.analyze.secrets import may_hold_secret

SECRET = [
    "ALTER ROLE weak PASSWORD 'LeakMe_Secret_42'",
    "alter user weak with encrypted password 'x' valid until 'infinity'",
    "CREATE ROLE app LOGIN PASSWORD 'x'",
    "CREATE USER app PASSWORD 'x'",
    "CREATE USER MAPPING FOR bob SERVER remote OPTIONS (user 'bob', password 'x')",
    "ALTER USER MAPPING FOR bob SERVER remote OPTIONS (SET password 'y')",
    "CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', password 'p')",
    "ALTER SERVER remote OPTIONS (ADD password 'p')",
    "COPY t FROM PROGRAM 'curl -u user:pass https://example.com/dump.csv'",
    "COPY (SELECT 1) TO PROGRAM 'gzip > /tmp/x.gz'",
    "SET my.api_key = 'abc'",
    "SET LOCAL app.secret TO 'abc'",
    "ALTER SYSTEM SET pgcrypto.key = 'k'",
    "ALTER DATABASE app SET app.token = 't'",
    "ALTER ROLE app IN DATABASE app SET app.credentials = 'c'",
    "SELECT set_config('app.secret', 'v', false)",
    "CREATE SUBSCRIPTION s CONNECTION 'host=h password=x' PUBLICATION p",
    "DO $$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''y'''; END $$",
    # Does not parse, but looks like a secret: withheld all the same (fail closed).
    "ALTER ROLE weak WITH PASSWORD 'x' SOME FUTURE SYNTAX",
    "garbage PASSWORD 'x' (((",
]

PLAIN = [
    "SELECT id, password, api_key FROM users WHERE email = $1",
    "UPDATE users SET password = $1, token = $2 WHERE id = $3",
    "SELECT * FROM sessions WHERE token = $1",
    "CREATE TABLE users (id int PRIMARY KEY, password_hash text)",
    "ALTER ROLE weak LOGIN",
    "RESET my.api_key",
    "SET search_path = public",
    "ALTER SYSTEM SET ssl_key_file = 'server.key'",
    "COPY t FROM STDIN",
    "CREATE SERVER remote FOREIGN DATA WRAPPER postgres_fdw",
    "SELECT set_config($1, $2, $3)",
    "DO $$ BEGIN PERFORM 1; END $$",
    "VACUUM ANALYZE users",
    "a text that does not parse",
]


@pytest.mark.parametrize("text", SECRET)
def test_a_statement_that_can_carry_a_secret_is_recognised(text: str) -> None:
    assert may_hold_secret(text)


@pytest.mark.parametrize("text", PLAIN)
def test_an_ordinary_statement_is_not_withheld_whatever_its_column_names(text: str) -> None:
    assert not may_hold_secret(text)
