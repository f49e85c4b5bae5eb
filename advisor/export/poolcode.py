"""The code a team pastes to act on a pool finding: a node-postgres `Pool` handed to
Drizzle with the suggested `max`, and the SQL that sets idle_in_transaction_session_timeout
for a role. Application and role names are untrusted text: they reach the code only as
string literals (JSON-escaped) or quoted identifiers, and comments hold none of them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from advisor.analyze.pools import PoolAnalysis, PoolFinding, PoolKind, PoolSuggestion
from advisor.names import quote_ident

_TITLES = {
    PoolKind.IDLE_CONNECTIONS: "Idle connections held by a pool",
    PoolKind.IDLE_IN_TRANSACTION: "Sessions idle in a transaction",
    PoolKind.EXHAUSTION: "Pools that can exhaust the server",
}


def pool_code(suggestion: PoolSuggestion, analysis: PoolAnalysis) -> str:
    """A node-postgres Pool with the suggested max, passed to drizzle()."""
    settings = analysis.settings
    timeout_ms = int(settings.idle_in_transaction_timeout_seconds * 1000)
    name = json.dumps(suggestion.application, ensure_ascii=True)
    return "\n".join(
        [
            "import { drizzle } from 'drizzle-orm/node-postgres';",
            "import { Pool } from 'pg';",
            "",
            f"// max = {suggestion.formula}",
            "const pool = new Pool({",
            "  connectionString: process.env.DATABASE_URL,",
            f"  application_name: {name},",
            f"  max: {suggestion.suggested_max},",
            f"  idleTimeoutMillis: {settings.pool_idle_timeout_ms},",
            f"  connectionTimeoutMillis: {settings.pool_connection_timeout_ms},",
            f"  idle_in_transaction_session_timeout: {timeout_ms},",
            "});",
            "export const db = drizzle({ client: pool });",
        ]
    )


def timeout_sql(user: str, seconds: float) -> str:
    """ALTER ROLE ... SET idle_in_transaction_session_timeout (new sessions of the role)."""
    return (
        f"ALTER ROLE {quote_ident(user)} SET idle_in_transaction_session_timeout = "
        f"'{int(seconds)}s';"
    )


@dataclass(frozen=True)
class PoolFindingView:
    """A pool finding as the report shows it: title, evidence, advice, and its code."""

    finding: PoolFinding
    title: str
    code: str
    sql: str


def pool_finding_views(analysis: PoolAnalysis | None) -> tuple[PoolFindingView, ...]:
    """Each finding with the code that acts on it, in a stable order."""
    if analysis is None:
        return ()
    views = []
    seconds = analysis.settings.idle_in_transaction_timeout_seconds
    for finding in analysis.findings:
        suggestion = (
            analysis.suggestion(finding.application) if finding.application is not None else None
        )
        code = pool_code(suggestion, analysis) if suggestion is not None else ""
        sql = ""
        if finding.kind is PoolKind.IDLE_IN_TRANSACTION:
            sql = "\n".join(timeout_sql(user, seconds) for user in finding.users)
        views.append(PoolFindingView(finding, _TITLES[finding.kind], code, sql))
    return tuple(views)
