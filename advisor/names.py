"""Names as PostgreSQL spells them: a schema-qualified table, and when an identifier
must be quoted, and how."""

from __future__ import annotations

from dataclasses import dataclass

_SAFE_IDENTIFIER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")

# Words that must be quoted when used as identifiers (PostgreSQL's reserved key words).
_RESERVED_WORDS_TEXT = """
    all analyse analyze and any array as asc asymmetric both case cast check collate
    column constraint create current_catalog current_date current_role current_time
    current_timestamp current_user default deferrable desc distinct do else end except
    false fetch for foreign from grant group having in initially intersect into lateral
    leading limit localtime localtimestamp not null offset on only or order placing
    primary references returning select session_user some symmetric system_user table
    then to trailing true union unique user using variadic when where window with
    authorization binary collation concurrently cross current_schema freeze full ilike
    inner is isnull join left like natural notnull outer overlaps right similar
    tablesample verbose
"""
RESERVED_WORDS = frozenset(_RESERVED_WORDS_TEXT.split())


def quote_ident(name: str) -> str:
    """Quote an identifier the way PostgreSQL's quote_ident() does."""
    if (
        name
        and (name[0].isalpha() or name[0] == "_")
        and all(ch in _SAFE_IDENTIFIER_CHARS for ch in name)
        and name.isascii()
        and name not in RESERVED_WORDS
    ):
        return name
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, order=True)
class TableName:
    """A table, schema-qualified. Names are the exact catalog spellings (no quotes)."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.name)}"
