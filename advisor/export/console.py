"""The three output formats of `pg-advisor recommend`: a table for people, JSON for
machines, and SQL that runs as is with `psql -f`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor import __version__
from advisor.model import Analysis, Recommendation, StatementEffect, quote_ident


def human_bytes(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_ms(ms: float) -> str:
    if ms < 1_000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1_000:.1f} s"
    if ms < 7_200_000:
        return f"{ms / 60_000:.1f} min"
    return f"{ms / 3_600_000:.1f} h"


def _short(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# ---------------------------------------------------------------------- table


def print_table(analyses: Sequence[Analysis], console: Console) -> None:
    """A human-readable summary of each analysis."""
    for analysis in analyses:
        console.print(
            f"[bold]Database {analysis.database}[/bold]: "
            f"{analysis.statements_analysed} of {analysis.statements_total} statements analysed "
            f"over {human_ms(analysis.window_seconds * 1000)} of workload; "
            f"{len(analysis.skipped)} skipped; "
            f"{analysis.whatif_explains} what-if plans ({analysis.whatif_cache_hits} cached) "
            f"in {analysis.elapsed_seconds:.1f} s"
        )
        if not analysis.recommendations:
            console.print("No new index would pay for itself: the workload is well indexed.\n")
            continue
        console.print(
            "[dim]Savings per day extrapolate the observed window; "
            "run `--format sql` for the statements to create them.[/dim]"
        )
        table = Table(show_lines=True, expand=True)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("index", ratio=2)
        table.add_column("size", justify="right", no_wrap=True)
        table.add_column("saves / day", justify="right", no_wrap=True)
        table.add_column("statements helped: calls, mean, plan cost before → after", ratio=3)
        for number, rec in enumerate(analysis.recommendations, 1):
            table.add_row(
                str(number),
                f"{rec.design.table}\n{_keys_text(rec)}\n[dim]{rec.name}[/dim]",
                human_bytes(rec.estimated_size_bytes),
                human_ms(rec.estimated_ms_saved_per_day),
                "\n".join(_effect_line(e) for e in rec.statements[:3])
                + (f"\n… and {len(rec.statements) - 3} more" if len(rec.statements) > 3 else ""),
            )
        console.print(table)
        console.print()


def _keys_text(rec: Recommendation) -> str:
    text = "(" + ", ".join(k.sql() for k in rec.design.keys) + ")"
    if rec.design.include:
        text += " INCLUDE (" + ", ".join(rec.design.include) + ")"
    if rec.design.predicate:
        text += f" WHERE {rec.design.predicate}"
    return escape(text)


def _effect_line(effect: StatementEffect) -> str:
    return escape(
        f"{effect.calls} × {effect.mean_ms:.2f} ms, "
        f"{effect.cost_before:.0f} → {effect.cost_after:.0f}: {_short(effect.query, 80)}"
    )


# ----------------------------------------------------------------------- json


def to_json(analyses: Sequence[Analysis]) -> str:
    """One JSON document describing every analysis."""
    document = {"version": __version__, "analyses": [_analysis_dict(a) for a in analyses]}
    return json.dumps(document, indent=2, sort_keys=False)


def _analysis_dict(analysis: Analysis) -> dict[str, Any]:
    return {
        "database": analysis.database,
        "statements_total": analysis.statements_total,
        "statements_analysed": analysis.statements_analysed,
        "window_seconds": round(analysis.window_seconds, 3),
        "budget_bytes": analysis.budget_bytes,
        "workload_ms_per_day": round(analysis.workload_ms_per_day, 3),
        "whatif_explains": analysis.whatif_explains,
        "whatif_cache_hits": analysis.whatif_cache_hits,
        "elapsed_seconds": round(analysis.elapsed_seconds, 3),
        "recommendations": [_recommendation_dict(r) for r in analysis.recommendations],
        "skipped": [
            {"queryid": s.queryid, "reason": s.reason, "query": s.text} for s in analysis.skipped
        ],
    }


def _recommendation_dict(rec: Recommendation) -> dict[str, Any]:
    design = rec.design
    return {
        "name": rec.name,
        "table": {"schema": design.table.schema, "name": design.table.name},
        "keys": [
            {"column": k.column, "descending": k.descending, "nulls_first": k.nulls_first}
            for k in design.keys
        ],
        "include": list(design.include),
        "predicate": design.predicate,
        "access_method": design.access_method,
        "create_sql": rec.create_sql,
        "estimated_size_bytes": rec.estimated_size_bytes,
        "estimated_ms_saved_per_day": round(rec.estimated_ms_saved_per_day, 3),
        "statements": [
            {
                "queryid": e.queryid,
                "query": e.query,
                "calls": e.calls,
                "mean_ms": round(e.mean_ms, 4),
                "cost_before": round(e.cost_before, 2),
                "cost_after": round(e.cost_after, 2),
                "estimated_ms_saved_per_day": round(e.estimated_ms_saved_per_day, 3),
            }
            for e in rec.statements
        ],
    }


# ------------------------------------------------------------------------ sql


def to_sql(analyses: Sequence[Analysis]) -> str:
    """A script for `psql -f`: statements only, comments for context. Each CREATE INDEX
    CONCURRENTLY runs on its own (psql autocommits), as it must."""
    lines = [f"-- pg-advisor {__version__}: recommended indexes", ""]
    for analysis in analyses:
        if len(analyses) > 1:
            lines.append(f"\\connect {quote_ident(analysis.database)}")
        lines.append(f"-- database {analysis.database}: {len(analysis.recommendations)} indexes")
        for number, rec in enumerate(analysis.recommendations, 1):
            lines.append(
                f"-- {number}. saves about {human_ms(rec.estimated_ms_saved_per_day)} per day, "
                f"about {human_bytes(rec.estimated_size_bytes)}, "
                f"helps {len(rec.statements)} statement(s)"
            )
            for effect in rec.statements[:3]:
                lines.append(f"--    {_short(effect.query, 100)}")
            lines.append(rec.create_sql + ";")
        lines.append("")
    return "\n".join(lines)
