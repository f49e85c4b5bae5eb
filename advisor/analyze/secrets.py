"""Which statement texts can carry a secret, so that no text of theirs is kept or shown.

pg_stat_statements replaces the constants of SELECT, INSERT, UPDATE, DELETE and MERGE with
`$n`, but keeps utility statements as they were typed: `ALTER ROLE app PASSWORD '...'`, a
user mapping's OPTIONS (password '...'), `COPY ... FROM PROGRAM 'curl -u user:pass ...'`,
`SET app.api_key = '...'`. The advisor never needs those texts (it advises on reads and
writes), so a text is withheld whenever it might hold one: the statement kind is read with
pglast, and a text that pglast cannot read is withheld when it merely looks like one (fail
closed). Pure and cached: it runs on every statement text the daemon sees for the first time.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pglast import ast

from advisor.analyze.syntax import nodes, parsed

# Words that can introduce a secret. A text without any is never parsed (most statements);
# a text with one is parsed and judged by its kind.
_SUSPECT = re.compile(
    r"passw|pwd|secret|key|token|credential|options|program|connection|set_config|\bdo\b",
    re.IGNORECASE,
)
# A text that does not parse is withheld when a suspect word is followed by a string
# (quoted or dollar-quoted): `PASSWORD 'x'`, `OPTIONS (password 'x')`, `PROGRAM 'cmd'`.
_LOOKS_SECRET = re.compile(_SUSPECT.pattern + r"[\s\S]*?['$]", re.IGNORECASE)
# Names of settings (and of DO / function bodies' words) that suggest a secret.
_SECRET_NAME = re.compile(r"passw|pwd|secret|key|token|credential", re.IGNORECASE)
# Settings whose value is not a secret although their name has a secret's word.
_PLAIN_SETTINGS = frozenset({"ssl_key_file", "ssl_cert_file", "ssl_ca_file"})

_OPTIONS_STATEMENTS = (
    ast.CreateUserMappingStmt,
    ast.AlterUserMappingStmt,
    ast.CreateForeignServerStmt,
    ast.AlterForeignServerStmt,
)
_SETTING_HOLDERS = (ast.AlterSystemStmt, ast.AlterDatabaseSetStmt, ast.AlterRoleSetStmt)

CACHED_TEXTS = 8192


@lru_cache(maxsize=CACHED_TEXTS)
def may_hold_secret(text: str) -> bool:
    """True when `text` is a statement that can carry a password, a key or a credential
    (a role's password, user-mapping or server OPTIONS, COPY ... PROGRAM, a secret-named
    setting, a subscription's connection, a DO block or function body that mentions one);
    also when it does not parse but looks like one. False for the statements the advisor
    analyzes, whatever their column names."""
    if not _SUSPECT.search(text):
        return False
    statements = parsed(text)
    if statements is None:
        return bool(_LOOKS_SECRET.search(text))
    calls_set_config = "set_config" in text.lower()
    return any(_holds_secret(raw.stmt, calls_set_config) for raw in statements)


def _holds_secret(statement: ast.Node, calls_set_config: bool) -> bool:
    if isinstance(statement, (ast.CreateRoleStmt, ast.AlterRoleStmt)):
        return any(option.defname == "password" for option in statement.options or ())
    if isinstance(statement, _OPTIONS_STATEMENTS):
        return bool(statement.options)
    if isinstance(statement, ast.CopyStmt):
        return bool(statement.is_program)
    if isinstance(statement, (ast.CreateSubscriptionStmt, ast.AlterSubscriptionStmt)):
        return statement.conninfo is not None
    if isinstance(statement, ast.VariableSetStmt):
        return _secret_setting(statement)
    if isinstance(statement, _SETTING_HOLDERS):
        return statement.setstmt is not None and _secret_setting(statement.setstmt)
    if isinstance(statement, ast.DoStmt):
        return any(_secret_body(option) for option in statement.args or ())
    if isinstance(statement, ast.CreateFunctionStmt):
        return any(_secret_body(option) for option in statement.options or ())
    if isinstance(statement, ast.ExplainStmt) and statement.query is not None:
        return _holds_secret(statement.query, calls_set_config)
    return calls_set_config and _sets_secret_config(statement)


def _secret_setting(statement: ast.VariableSetStmt) -> bool:
    """SET of a setting named like a secret to a value (not RESET, not SET ... DEFAULT)."""
    name = statement.name or ""
    return (
        bool(statement.args)
        and name.lower() not in _PLAIN_SETTINGS
        and bool(_SECRET_NAME.search(name))
    )


def _secret_body(option: ast.DefElem) -> bool:
    """A DO block's or a function's body (PL/pgSQL, not parsed here) naming a secret."""
    body = option.arg
    texts = body if isinstance(body, tuple) else (body,)
    return option.defname == "as" and any(
        isinstance(t, ast.String) and _SECRET_NAME.search(t.sval or "") for t in texts
    )


def _sets_secret_config(statement: ast.Node) -> bool:
    """`set_config('app.secret', 'value', ...)` with a constant secret-named setting
    (pg_stat_statements replaces such constants in most statements; not in all texts)."""
    for node in nodes(statement):
        if not isinstance(node, ast.FuncCall) or not node.args or not node.funcname:
            continue
        name = node.funcname[-1]
        first = node.args[0]
        if (
            isinstance(name, ast.String)
            and (name.sval or "").lower() == "set_config"
            and isinstance(first, ast.A_Const)
            and isinstance(first.val, ast.String)
            and _SECRET_NAME.search(first.val.sval or "")
        ):
            return True
    return False
