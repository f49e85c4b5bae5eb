"""The three output formats of `pg-advisor recommend`: a table for people, JSON for
machines, and SQL that runs as is with `psql -f`."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from advisor import __version__
from advisor.model import (
    Analysis,
    CheckResult,
    Finding,
    HealthReport,
    Recommendation,
    ReplicaState,
    StatementEffect,
    Verdict,
    quote_ident,
)


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


def _denied(analysis: Analysis) -> list[tuple[str, int]]:
    """The statements skipped for want of a privilege, by reason, the most first: the
    advice leaves them out, which the reader must know."""
    counts = Counter(s.reason for s in analysis.skipped if s.reason.startswith("permission"))
    return counts.most_common()


def _short(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# ---------------------------------------------------------------------- table


def print_table(analyses: Sequence[Analysis], console: Console) -> None:
    """A human-readable summary of each analysis."""
    for analysis in analyses:
        console.print(
            f"[bold]Database {analysis.database}[/bold]: "
            f"{analysis.statements_analyzed} of {analysis.statements_total} statements analyzed "
            f"over {human_ms(analysis.window_seconds * 1000)} of workload; "
            f"{len(analysis.skipped)} skipped; "
            f"{analysis.whatif_explains} what-if plans ({analysis.whatif_cache_hits} cached) "
            f"in {analysis.elapsed_seconds:.1f} s"
        )
        if analysis.statements_with_values or analysis.value_notes:
            console.print(
                f"{analysis.statements_with_values} statements costed with the values they "
                "run with"
                + "".join(f"\n[dim]values: {escape(n)}[/dim]" for n in analysis.value_notes)
            )
        for note in analysis.write_notes:
            console.print(f"[dim]writes: {escape(note)}[/dim]")
        for reason, count in _denied(analysis):
            console.print(f"[yellow]not planned ({count}): {escape(reason)}[/yellow]")
        if not analysis.recommendations:
            console.print("No new index would pay for itself: the workload is well indexed.")
            _print_drops(console, analysis)
            _print_probes(console, analysis)
            console.print()
            continue
        console.print(
            "[dim]Savings per day extrapolate the observed window; "
            "run `--format sql` for the statements to create them.[/dim]"
        )
        table = Table(show_lines=True, expand=True)
        table.add_column("#", justify="right", no_wrap=True)
        _name_column(
            table,
            "index",
            [n for r in analysis.recommendations for n in (str(r.design.table), r.name)],
        )
        table.add_column("size", justify="right", no_wrap=True)
        table.add_column("saves / day", justify="right", no_wrap=True)
        table.add_column("statements helped: calls, mean, plan cost before → after", ratio=3)
        for number, rec in enumerate(analysis.recommendations, 1):
            table.add_row(
                str(number),
                f"{rec.design.table}\n{_keys_text(rec)}\n[dim]{rec.name}[/dim]"
                + "".join(
                    f"\n[dim]depends on {escape(a.describe())}[/dim]" for a in rec.depends_on[:3]
                )
                + "".join(f"\n[dim]{escape(note)}[/dim]" for note in rec.notes),
                human_bytes(rec.estimated_size_bytes),
                human_ms(rec.estimated_ms_saved_per_day),
                "\n".join(_effect_line(e) for e in rec.statements[:3])
                + (f"\n… and {len(rec.statements) - 3} more" if len(rec.statements) > 3 else ""),
            )
        console.print(table)
        _print_whole(console, [rec.create_sql + ";" for rec in analysis.recommendations])
        _print_drops(console, analysis)
        _print_probes(console, analysis)
        console.print()


def _print_drops(console: Console, analysis: Analysis) -> None:
    """The safe drops of the plan: a table with the reasons, then each DROP whole."""
    if not analysis.drops:
        return
    console.print(
        f"[bold]{len(analysis.drops)} safe drop(s)[/bold] [dim](another index serves every "
        "scan of each; `--no-drops` leaves them out; unused indexes: `pg-advisor health`)[/dim]"
    )
    if analysis.drops_note:
        console.print(f"[dim]{escape(analysis.drops_note)}[/dim]")
    table = Table(show_lines=True, expand=True)
    table.add_column("kind", no_wrap=True)
    _name_column(
        table,
        "index (and the one kept instead)",
        [n for d in analysis.drops for n in (str(d.table), d.index, d.covered_by or "")],
    )
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("why", ratio=1)
    for drop in analysis.drops:
        kept = f"\n[dim]kept instead:[/dim]\n{escape(drop.covered_by)}" if drop.covered_by else ""
        table.add_row(
            drop.kind.value,
            escape(f"{drop.table}\n{drop.index}") + kept,
            human_bytes(drop.size_bytes),
            escape(drop.reason),
        )
    console.print(table)
    _print_whole(console, [drop.fix_sql for drop in analysis.drops])


def _print_probes(console: Console, analysis: Analysis) -> None:
    """The statements whose index needs a value no source showed, and how to learn it (the
    settings whole, one a line: a person copies them)."""
    if not analysis.value_probes:
        return
    console.print(
        f"[bold]{len(analysis.value_probes)} statement(s) need a value no source showed[/bold] "
        "[dim](the index they need is written with it; the advice uses it once known)[/dim]"
    )
    for probe in analysis.value_probes:
        console.print(
            f"- {human_ms(probe.ms_per_day)} a day: {escape(_short(probe.query, 100))}\n"
            f"  [dim]unknown:[/dim] {escape(probe.unknown)}\n"
            f"  [dim]the index needs:[/dim] {escape(probe.index_needs)}",
            soft_wrap=True,
        )
    for how in dict.fromkeys(p.how_to_learn for p in analysis.value_probes):
        console.print(f"[dim]to learn the values:[/dim] {escape(how)}", soft_wrap=True)


# Names longer than this (a schema-qualified table of two long names) may wrap in a cell.
_NAME_COLUMN_MAX = 90


def _name_column(table: Table, header: str, names: Sequence[str]) -> None:
    """A column as wide as its longest name, so that every index and table name stands
    whole on one line of its cell (a column with a ratio would squeeze and cut them)."""
    widest = min(max(max((len(name) for name in names), default=0), 20), _NAME_COLUMN_MAX)
    table.add_column(header, min_width=widest, max_width=widest)


def _print_whole(console: Console, statements: Sequence[str]) -> None:
    """Statements a person copies, each whole on one line whatever the width: a table cell
    wraps or folds them, so they stand again under the table."""
    if not statements:
        return
    console.print("[dim]SQL, one statement a line:[/dim]")
    for statement in statements:
        console.print(statement, soft_wrap=True, markup=False, highlight=False)


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
        "statements_analyzed": analysis.statements_analyzed,
        # The same, under its deprecated spelling, for one release.
        "statements_analysed": analysis.statements_analyzed,
        "window_seconds": round(analysis.window_seconds, 3),
        "budget_bytes": analysis.budget_bytes,
        "workload_ms_per_day": round(analysis.workload_ms_per_day, 3),
        "whatif_explains": analysis.whatif_explains,
        "whatif_cache_hits": analysis.whatif_cache_hits,
        "elapsed_seconds": round(analysis.elapsed_seconds, 3),
        "statements_with_values": analysis.statements_with_values,
        "value_notes": list(analysis.value_notes),
        "write_notes": list(analysis.write_notes),
        "recommendations": [_recommendation_dict(r) for r in analysis.recommendations],
        "drops": [_finding_dict(f) for f in analysis.drops],
        "drops_note": analysis.drops_note,
        "value_probes": [
            {
                "queryid": p.queryid,
                "query": p.query,
                "ms_per_day": round(p.ms_per_day, 3),
                "unknown": p.unknown,
                "index_needs": p.index_needs,
                "how_to_learn": p.how_to_learn,
            }
            for p in analysis.value_probes
        ],
        "skipped": [
            {"queryid": s.queryid, "reason": s.reason, "query": s.text} for s in analysis.skipped
        ],
    }


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "kind": finding.kind.value,
        "table": {"schema": finding.table.schema, "name": finding.table.name},
        "index": finding.index,
        "size_bytes": finding.size_bytes,
        "reason": finding.reason,
        "fix_sql": finding.fix_sql,
        "covered_by": finding.covered_by,
        "restore_sql": finding.restore_sql,
        "writes_per_day": finding.writes_per_day,
        "plan_uses": [
            {
                "queryid": u.queryid,
                "calls": u.calls,
                "cost": round(u.cost, 2),
                "index_cost": round(u.index_cost, 2),
                "cost_without": round(u.cost_without, 2) if u.cost_without is not None else None,
            }
            for u in finding.plan_uses
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
        "depends_on": [
            {
                "table": str(a.table),
                "target": a.target,
                "values": list(a.values),
                "source": a.source.value,
                "share_of_calls": a.share_of_calls,
                "share_of_rows": a.share_of_rows,
                "samples": a.samples,
                "description": a.describe(),
            }
            for a in rec.depends_on
        ],
        "notes": list(rec.notes),
        "warnings": list(rec.warnings),
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


def comment(text: str, indent: str = "") -> list[str]:
    """`text` as SQL comment lines: every line of it begins with `-- `, so that nothing in
    it (an index or database name with a line break, a statement's text) can end the
    comment and run as SQL when the script is run with `psql -f`."""
    return [f"-- {indent}{line}".rstrip() for line in (text.splitlines() or [""])]


def connect_line(database: str) -> str:
    """psql's `\\connect` to the database; a name with a line break cannot stand in a
    meta-command (the rest of it would run as SQL), so the script stops there instead."""
    if any(ch in database for ch in "\r\n") or database != " ".join(database.splitlines()):
        return "\\quit -- the next database's name holds a line break: connect to it by hand"
    return f"\\connect {quote_ident(database)}"


PARTITIONED_NOTE = (
    "a partitioned table takes no CREATE INDEX CONCURRENTLY: its index is created ON ONLY "
    "it (invalid, nothing locked for long), each partition's concurrently, then attached; "
    "once every partition's is attached the index is valid"
)


def to_sql(analyses: Sequence[Analysis]) -> str:
    """A script for `psql -f`: statements only, comments for context. Each CREATE INDEX
    CONCURRENTLY runs on its own (psql autocommits), as it must."""
    lines = [f"-- pg-advisor {__version__}: the index plan, creates then safe drops", ""]
    for analysis in analyses:
        if len(analyses) > 1:
            lines.append(connect_line(analysis.database))
        lines += comment(
            f"database {analysis.database}: {len(analysis.recommendations)} indexes to "
            f"create, {len(analysis.drops)} to drop"
        )
        for note in analysis.write_notes:
            lines += comment(f"writes: {note}")
        for number, rec in enumerate(analysis.recommendations, 1):
            lines += comment(
                f"{number}. saves about {human_ms(rec.estimated_ms_saved_per_day)} per day, "
                f"about {human_bytes(rec.estimated_size_bytes)}, "
                f"helps {len(rec.statements)} statement(s)"
            )
            for effect in rec.statements[:3]:
                lines += comment(_short(effect.query, 100), "   ")
            if rec.partitions:
                lines += comment(PARTITIONED_NOTE, "   ")
            lines.append(rec.create_sql + ";")
        lines.extend(_drop_lines(analysis))
        lines.append("")
    return "\n".join(lines)


def _drop_lines(analysis: Analysis) -> list[str]:
    """The plan's safe drops, each under its reason; they run after the creates."""
    if not analysis.drops:
        return []
    lines = [
        "-- safe drops: another index serves every scan of each (--no-drops leaves them out; "
        "unused indexes are judged by `pg-advisor health`)"
    ]
    if analysis.drops_note:
        lines += comment(analysis.drops_note, "  ")
    for drop in analysis.drops:
        lines += _finding_lines(drop)
    return lines


def _finding_lines(finding: Finding) -> list[str]:
    """A finding's reason as comments, its fix, and for a drop the statement that rolls it
    back (commented out: a DBA runs it only to undo the drop)."""
    lines = comment(f"{finding.kind.value}: {finding.index} on {finding.table}")
    lines += comment(finding.reason, "  ")
    if not finding.fix_sql:  # an unknown verdict: nothing to run
        return lines
    lines.append(finding.fix_sql if finding.fix_sql.endswith(";") else finding.fix_sql + ";")
    if finding.restore_sql:
        lines += comment(f"to roll back: {finding.restore_sql}", "  ")
    return lines


# --------------------------------------------------------------------- health


def print_health(reports: Sequence[HealthReport], console: Console) -> None:
    """A human-readable list of each database's index problems."""
    for report in reports:
        console.print(
            f"[bold]Database {escape(report.database)}[/bold]: {len(report.findings)} index "
            f"problem(s), usage observed over {human_ms(report.observed_seconds * 1000)}"
        )
        if report.caveat:
            console.print(f"[dim]Note: {escape(report.caveat)}[/dim]")
        if report.simulation:
            console.print(f"[dim]Drops: {escape(report.simulation)}[/dim]")
        for replica in report.replicas:
            console.print(f"Replica {escape(_replica_line(replica))}")
        if report.findings:
            table = Table(show_lines=True, expand=True)
            table.add_column("kind")
            _name_column(
                table, "index", [n for f in report.findings for n in (str(f.table), f.index)]
            )
            table.add_column("size", justify="right")
            table.add_column("why", ratio=3)
            table.add_column("fix", ratio=2)
            for finding in report.findings:
                table.add_row(
                    finding.kind.value,
                    escape(f"{finding.table}\n{finding.index}"),
                    human_bytes(finding.size_bytes),
                    escape(finding.reason),
                    escape(finding.fix_sql),
                )
            console.print(table)
            _print_whole(console, [f.fix_sql for f in report.findings if f.fix_sql])
        busy = [r for r in report.write_rates if r.index_rows_per_day > 0]
        if busy:
            writes = Table(title="Write load (index entries maintained per day, per index)")
            writes.add_column("table")
            for column in ("inserts/day", "updates/day", "HOT share", "deletes/day"):
                writes.add_column(column, justify="right")
            for rate in sorted(busy, key=lambda r: -r.index_rows_per_day)[:10]:
                hot = rate.hot_updates_per_day / rate.updates_per_day if rate.updates_per_day else 0
                writes.add_row(
                    escape(str(rate.table)),
                    f"{rate.inserts_per_day:,.0f}",
                    f"{rate.updates_per_day:,.0f}",
                    f"{hot:.0%}",
                    f"{rate.deletes_per_day:,.0f}",
                )
            console.print(writes)
        console.print()


def _replica_line(replica: ReplicaState) -> str:
    if replica.error is not None:
        return f"{replica.replica}: unreachable ({replica.error})"
    if replica.counted_since is None:
        return f"{replica.replica}: not read yet"
    return (
        f"{replica.replica}: index scans counted since {replica.counted_since:%Y-%m-%d %H:%M} UTC"
    )


def health_to_json(reports: Sequence[HealthReport]) -> str:
    """One JSON document with every database's findings."""
    document = {
        "version": __version__,
        "databases": [
            {
                "database": r.database,
                "observed_seconds": round(r.observed_seconds, 3),
                "caveat": r.caveat,
                "simulation": r.simulation,
                "replicas": [
                    {
                        "replica": p.replica,
                        "reachable": p.error is None,
                        "error": p.error,
                        "counted_since": p.counted_since.isoformat() if p.counted_since else None,
                    }
                    for p in r.replicas
                ],
                "findings": [_finding_dict(f) for f in r.findings],
                "write_rates": [
                    {
                        "table": {"schema": w.table.schema, "name": w.table.name},
                        "inserts_per_day": round(w.inserts_per_day, 1),
                        "updates_per_day": round(w.updates_per_day, 1),
                        "hot_updates_per_day": round(w.hot_updates_per_day, 1),
                        "deletes_per_day": round(w.deletes_per_day, 1),
                    }
                    for w in r.write_rates
                ],
            }
            for r in reports
        ],
    }
    return json.dumps(document, indent=2)


def health_to_sql(reports: Sequence[HealthReport]) -> str:
    """The fixes as a `psql -f` script; each statement stands alone (CONCURRENTLY)."""
    lines = [f"-- pg-advisor {__version__}: index health fixes", ""]
    for report in reports:
        if len(reports) > 1:
            lines.append(connect_line(report.database))
        lines += comment(f"database {report.database}: {len(report.findings)} finding(s)")
        if report.caveat:
            lines += comment(f"note: {report.caveat}")
        if report.simulation:
            lines += comment(f"drops: {report.simulation}")
        for replica in report.replicas:
            lines += comment(f"replica {_replica_line(replica)}")
        for finding in report.findings:
            lines += _finding_lines(finding)
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------- check


def print_check(results: Sequence[CheckResult], console: Console) -> None:
    """Each statement's verdict, then the new indexes chosen together, each CREATE whole."""
    for result in results:
        console.print(
            f"[bold]Database {result.database}[/bold]: {result.planned} of "
            f"{len(result.statements)} statements planned; {len(result.recommendations)} new "
            "index(es) needed"
        )
        table = Table(show_lines=True, expand=True)
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("statement", ratio=2)
        table.add_column("verdict", no_wrap=True)
        _name_column(
            table,
            "index",
            [n for s in result.statements for n in (*s.served_by, *s.needs)] or ["-"],
        )
        table.add_column("plan cost", justify="right", no_wrap=True)
        for statement in result.statements:
            if statement.verdict is Verdict.NOT_PLANNED:
                detail = escape(statement.reason or "")
            elif statement.needs:
                detail = "\n".join(escape(n) for n in statement.needs)
            else:
                detail = "\n".join(escape(n) for n in statement.served_by) or "[dim]none[/dim]"
            cost = (
                f"{statement.cost_before:,.0f} → {statement.cost_after:,.0f}"
                if statement.cost_before is not None and statement.cost_after is not None
                else ""
            )
            table.add_row(
                str(statement.number),
                escape(_short(statement.text, 200)),
                statement.verdict.value,
                detail,
                cost,
            )
        console.print(table)
        _print_whole(console, [rec.create_sql + ";" for rec in result.recommendations])
        console.print()


def check_to_json(results: Sequence[CheckResult]) -> str:
    """One JSON document describing every check."""
    document = {
        "version": __version__,
        "checks": [
            {
                "database": r.database,
                "statements": [
                    {
                        "number": s.number,
                        "query": s.text,
                        "verdict": s.verdict.value,
                        "reason": s.reason,
                        "served_by": list(s.served_by),
                        "needs": list(s.needs),
                        "cost_before": s.cost_before,
                        "cost_after": s.cost_after,
                    }
                    for s in r.statements
                ],
                "recommendations": [_recommendation_dict(rec) for rec in r.recommendations],
            }
            for r in results
        ],
    }
    return json.dumps(document, indent=2)


def check_to_sql(results: Sequence[CheckResult]) -> str:
    """The new indexes of every check, as a script that runs as is with `psql -f`."""
    lines = [f"-- pg-advisor {__version__}: the indexes the checked statements need"]
    for result in results:
        if len(results) > 1:
            lines.append(connect_line(result.database))
        lines.extend(rec.create_sql + ";" for rec in result.recommendations)
    return "\n".join(lines) + "\n"
