"""The dated report and the Drizzle handoff, as GitHub markdown, written atomically.

Three files per database and day: `<date>.md`, the periodic report (summary, top statements
with their trend, recommendations with their evidence and code, index health, anti-patterns,
what changed since the previous report, statements slower since an index appeared, what
created indexes really saved), and the
handoff `role-comm-database.md` an application team on Drizzle ORM acts on (Schema changes,
New queries available, Migration instructions, Decisions and pending items), with its JSON
twin `role-comm-database.json` for agents and scripts (both from one model, handoff.py).
What each report said is kept in the state store (Store.save_report), for the next report
to compare with.

The same inputs always give the same bytes: everything is sorted, and the only date in the
text is the report's own.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from advisor.analyze.writerates import duration
from advisor.errors import UsageError
from advisor.export.console import human_bytes, human_ms
from advisor.export.drizzle import (
    imports_needed,
    index_code,
    narrow_columns_code,
    relational_load_code,
    transaction_code,
)
from advisor.export.handoff import AntipatternItem, Handoff, build_handoff, handoff_json
from advisor.export.poolcode import pool_finding_views

# The report's parts live in views.py; their names are imported from here too.
from advisor.export.views import DROPPED as DROPPED
from advisor.export.views import Change as Change
from advisor.export.views import Changes as Changes
from advisor.export.views import CreatedIndex as CreatedIndex
from advisor.export.views import IndexView as IndexView
from advisor.export.views import ReportInputs as ReportInputs
from advisor.export.views import StatementTrend as StatementTrend
from advisor.export.views import TableChange as TableChange
from advisor.export.views import concurrent_script as concurrent_script
from advisor.export.views import index_views as index_views
from advisor.export.views import invalid_check_sql as invalid_check_sql
from advisor.export.views import migration_script as migration_script
from advisor.export.views import proposed_drops as proposed_drops
from advisor.export.views import quote_literal as quote_literal
from advisor.export.views import table_changes as table_changes
from advisor.model import Antipattern, AntipatternKind

HANDOFF_FILE_NAME = "role-comm-database.md"
HISTORY_FORMAT = 1


# A value assumption has drifted when its share of calls fell by this much (absolute), or
# its share of rows grew by this factor.
DRIFT_CALLS = 0.2
DRIFT_ROWS = 2.0


def history_entry(inputs: ReportInputs) -> dict[str, Any]:
    """What the next report compares with: recommendations, findings, anti-patterns and
    the top statements' means, keyed by stable identities."""
    return {
        "format": HISTORY_FORMAT,
        "database": inputs.database,
        "day": inputs.day.isoformat(),
        "recommendations": {
            r.name: {
                "table": str(r.design.table),
                "ms_saved_per_day": round(r.estimated_ms_saved_per_day, 3),
                "depends_on": [
                    {
                        "target": a.target,
                        "values": list(a.values),
                        "source": a.source.value,
                        "share_of_calls": a.share_of_calls,
                        "share_of_rows": a.share_of_rows,
                    }
                    for a in r.depends_on
                ],
            }
            for r in inputs.recommendations
        },
        "findings": {
            f"{f.kind.value}:{f.table}:{f.index}": {"kind": f.kind.value, "reason": f.reason}
            for f in inputs.findings
        },
        "antipatterns": {
            a.key(): {"kind": a.kind.value, "table": str(a.table), "evidence": a.evidence}
            for a in inputs.antipatterns
        },
        "statements": {
            str(s.queryid): {"query": _flat(s.text, 120), "calls": s.calls, "mean_ms": s.mean_ms}
            for s in inputs.top_statements
        },
    }


def diff(
    previous: Mapping[str, Any] | None,
    current: Mapping[str, Any],
    existing_indexes: frozenset[str],
    regression_ratio: float,
) -> Changes:
    """New, resolved and regressed items between two history entries."""
    if previous is None:
        return Changes(None)
    new: list[Change] = []
    resolved: list[Change] = []
    for section, label in (
        ("recommendations", "recommended index"),
        ("findings", "index health"),
        ("antipatterns", "anti-pattern"),
    ):
        before, after = previous.get(section, {}), current.get(section, {})
        for key in sorted(set(after) - set(before)):
            new.append(Change(label, key, _describe(section, after[key])))
        for key in sorted(set(before) - set(after)):
            resolved.append(Change(label, key, _resolution(section, key, existing_indexes)))
    return Changes(
        date.fromisoformat(str(previous["day"])),
        tuple(new),
        tuple(resolved),
        _regressed(previous.get("statements", {}), current["statements"], regression_ratio),
        _drifted(previous.get("recommendations", {}), current.get("recommendations", {})),
    )


def _drifted(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[Change, ...]:
    """Recommendations whose values moved since the previous report: the values they
    were chosen for are asked for less often, or hold more of the table."""
    changes = []
    for name in sorted(set(before) & set(after)):
        old = {_assumption_key(a): a for a in before[name].get("depends_on", [])}
        for assumption in after[name].get("depends_on", []):
            previous = old.get(_assumption_key(assumption))
            if previous is None:
                continue
            detail = _drift(previous, assumption)
            if detail:
                values = ", ".join(assumption["values"])
                changes.append(
                    Change("values", name, f"{assumption['target']} = {values}: {detail}")
                )
    return tuple(changes)


def _assumption_key(assumption: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    return str(assumption.get("target")), tuple(assumption.get("values", ()))


def _drift(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    parts = []
    old_calls, new_calls = before.get("share_of_calls"), after.get("share_of_calls")
    if old_calls is not None and new_calls is not None and old_calls - new_calls >= DRIFT_CALLS:
        parts.append(f"{old_calls:.0%} → {new_calls:.0%} of calls")
    old_rows, new_rows = before.get("share_of_rows"), after.get("share_of_rows")
    if old_rows and new_rows is not None and new_rows >= DRIFT_ROWS * old_rows:
        parts.append(f"{old_rows:.1%} → {new_rows:.1%} of rows")
    if not parts:
        return ""
    return "; ".join(parts) + ": check that the index still serves the statements"


def _describe(section: str, item: Mapping[str, Any]) -> str:
    if section == "recommendations":
        return f"on {item['table']}, saves about {human_ms(item['ms_saved_per_day'])} per day"
    if section == "findings":
        return f"{item['kind']}: {item['reason']}"
    return str(item["evidence"])


def _resolution(section: str, key: str, existing_indexes: frozenset[str]) -> str:
    if section == "recommendations":
        if key in existing_indexes:
            return "the index was created"
        return "no longer recommended (the workload changed, or a better index covers it)"
    if section == "findings":
        return "fixed, or no longer observed"
    return "no longer seen in the workload"


def _regressed(
    before: Mapping[str, Any], after: Mapping[str, Any], ratio: float
) -> tuple[Change, ...]:
    changes = []
    for queryid in sorted(set(before) & set(after), key=int):
        old, new = float(before[queryid]["mean_ms"]), float(after[queryid]["mean_ms"])
        if old > 0 and new >= ratio * old:
            changes.append(
                Change(
                    "statement",
                    after[queryid]["query"],
                    f"mean {old:.2f} ms → {new:.2f} ms ({new / old:.1f}×)",
                )
            )
    return tuple(changes)


# ------------------------------------------------------------------ anti-patterns


@dataclass(frozen=True)
class AntipatternView:
    """An anti-pattern with its statements' texts and its fix, as code."""

    antipattern: Antipattern
    title: str
    statements: tuple[str, ...]
    fix: str
    code: str
    language: str


_QUERY_CHANGES = (
    AntipatternKind.N_PLUS_ONE,
    AntipatternKind.READS_EVERY_COLUMN,
    AntipatternKind.WRITES_OUTSIDE_TRANSACTION,
)
_TITLES = {
    AntipatternKind.N_PLUS_ONE: "N+1 queries",
    AntipatternKind.READS_EVERY_COLUMN: "Every column read",
    AntipatternKind.UNINDEXED_FOREIGN_KEY: "Foreign key without an index",
    AntipatternKind.SEQUENTIAL_SCANS: "Sequential scans of a large table",
    AntipatternKind.WRITES_OUTSIDE_TRANSACTION: "Related rows written outside a transaction",
}


def antipattern_views(inputs: ReportInputs) -> tuple[AntipatternView, ...]:
    """Each anti-pattern with what to change, in Drizzle terms where the fix is code."""
    return tuple(_antipattern_view(inputs, a) for a in inputs.antipatterns)


def _antipattern_view(inputs: ReportInputs, antipattern: Antipattern) -> AntipatternView:
    texts = tuple(inputs.texts.get(q, f"queryid {q}") for q in antipattern.queryids)
    if antipattern.parent_queryid is not None and antipattern.kind is AntipatternKind.N_PLUS_ONE:
        parent = inputs.texts.get(antipattern.parent_queryid, "")
        texts = (*texts, f"(parent) {parent}")
    fix, code, language = _fix(inputs, antipattern)
    return AntipatternView(antipattern, _TITLES[antipattern.kind], texts, fix, code, language)


def _fix(inputs: ReportInputs, antipattern: Antipattern) -> tuple[str, str, str]:
    names = inputs.drizzle_names(antipattern.table)
    kind = antipattern.kind
    if kind is AntipatternKind.N_PLUS_ONE and antipattern.parent_table is not None:
        parent = inputs.drizzle_names(antipattern.parent_table)
        fix = "Load the children with their parents in one query: `with:` in a relational query."
        return fix, relational_load_code(parent, names, antipattern.columns), "ts"
    if kind is AntipatternKind.WRITES_OUTSIDE_TRANSACTION and antipattern.parent_table is not None:
        parent = inputs.drizzle_names(antipattern.parent_table)
        fix = (
            "Write the related rows in one transaction: `db.transaction()` commits both or "
            "neither (it throws, and rolls back, when one fails)."
        )
        together = transaction_code(parent, names, antipattern.columns, antipattern.parent_columns)
        return fix, together, "ts"
    if kind is AntipatternKind.READS_EVERY_COLUMN:
        table = inputs.schema.tables.get(antipattern.table)
        columns = [c.name for c in table.columns] if table is not None else []
        fix = "Select only the columns the code uses (`columns: {...}` in relational queries)."
        return fix, narrow_columns_code(names, columns, antipattern.columns), "ts"
    if kind is AntipatternKind.UNINDEXED_FOREIGN_KEY and antipattern.fix_index is not None:
        if antipattern.recommendation is not None:
            return f"The recommended index `{antipattern.recommendation}` covers it.", "", ""
        code = index_code(antipattern.fix_index, names)
        sql = code.design.create_sql() + ";"
        fix = "Index the foreign key (same migration path as the recommendations):"
        return fix, f"{code.code},\n// {sql}", "ts"
    if antipattern.recommendation is not None:
        return f"The recommended index `{antipattern.recommendation}` serves them.", "", ""
    fix = (
        "None of the indexes the advisor tried makes these statements cheaper: they read most "
        "of the table. Check whether they need every row (a narrower filter, a LIMIT, a "
        "summary table)."
    )
    return fix, "", ""


# ------------------------------------------------------------------ rendering


def _flat(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def cell(text: object) -> str:
    """Text for a GitHub table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def text(value: object) -> str:
    """Plain text from the database (a name) inside markdown: one line, and nothing in it
    read as markup (emphasis, code, links, tables, HTML)."""
    flat = " ".join(str(value).split())
    return _MARKUP.sub(r"\\\1", flat).replace("<", "&lt;")


# Underscores and hashes are left: inside one line of text they start no markup.
_MARKUP = re.compile(r"([\\`*\[\]|])")


def code(text: str, width: int | None = 100) -> str:
    """An inline code span for a table cell, whatever backticks or pipes the text holds;
    flattened to one line, and cut at `width` (None: whole, for what people copy)."""
    flat = " ".join(text.split()) if width is None else _flat(text, width)
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}".replace("|", "\\|")


def fence(text: str, language: str = "") -> str:
    """A fenced code block longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text}\n{ticks}"


def sentence(text: str) -> str:
    """`text` as a sentence: a capital first letter, a full stop."""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def trend(statement: StatementTrend) -> str:
    """The change of a statement's total time from the window before."""
    previous = statement.previous_total_ms
    if previous is None or previous <= 0:
        return "new"
    change = (statement.total_ms - previous) / previous
    if abs(change) < 0.05:
        return "="
    return f"{change:+.0%}".replace("-", "−")


_ENVIRONMENT = Environment(
    loader=PackageLoader("advisor.export", "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # markdown, not HTML
)
_ENVIRONMENT.globals.update(
    fmt_ms=human_ms,
    fmt_bytes=human_bytes,
    cell=cell,
    code=code,
    text=text,
    fence=fence,
    trend=trend,
    sentence=sentence,
)


def _context(inputs: ReportInputs) -> dict[str, Any]:
    views = index_views(inputs)
    return {
        "inputs": inputs,
        "analysis": inputs.analysis,
        "views": views,
        "changes_by_table": table_changes(views),
        "antipatterns": antipattern_views(inputs),
        "imports": imports_needed([v.drizzle for v in views]),
        "concurrent_script": concurrent_script(views),
        "migration_script": migration_script(views),
        "invalid_check": invalid_check_sql(views),
        "partitioned": sorted({str(v.design.table) for v in views if v.recommendation.partitions}),
        "query_changes": [
            view
            for view in antipattern_views(inputs)
            if view.antipattern.kind in _QUERY_CHANGES and view.code
        ],
        "schema_path": inputs.drizzle.path if inputs.drizzle is not None else None,
        "total_saved": sum(v.recommendation.estimated_ms_saved_per_day for v in views),
        "total_size": sum(v.recommendation.estimated_size_bytes for v in views),
        "drops": proposed_drops(inputs),
        "pools": inputs.pools,
        "pool_findings": pool_finding_views(inputs.pools),
        "pool_duration": duration,
    }


def render_report(inputs: ReportInputs, changes: Changes) -> str:
    """The dated report's markdown; the same inputs always give the same text."""
    template = _ENVIRONMENT.get_template("report.md.j2")
    return template.render(**_context(inputs), changes=changes)


def render_handoff(inputs: ReportInputs, changes: Changes | None = None) -> str:
    """The handoff's markdown: Schema changes, New queries available, Migration
    instructions, Decisions and pending items."""
    return render_handoff_markdown(handoff_model(inputs, changes or Changes(None)))


def render_handoff_markdown(handoff: Handoff) -> str:
    """The markdown of a handoff model (its JSON twin is `handoff_json` of the same one)."""
    return _ENVIRONMENT.get_template("handoff.md.j2").render(handoff=handoff)


def handoff_model(inputs: ReportInputs, changes: Changes) -> Handoff:
    """The handoff's one model, with the anti-patterns' fixes as this module writes them."""
    antipatterns = [_antipattern_item(view) for view in antipattern_views(inputs)]
    return build_handoff(inputs, changes, antipatterns)


def _antipattern_item(view: AntipatternView) -> AntipatternItem:
    antipattern = view.antipattern
    return AntipatternItem(
        key=antipattern.key(),
        kind=antipattern.kind.value,
        title=view.title,
        table=str(antipattern.table),
        evidence=antipattern.evidence,
        queryids=list(antipattern.queryids),
        statements=list(view.statements),
        columns=list(antipattern.columns),
        query_change=antipattern.kind in _QUERY_CHANGES and bool(view.code),
        fix=view.fix,
        code=view.code,
        code_language=view.language,
    )


# ---------------------------------------------------------------------- writing


@dataclass(frozen=True)
class ReportPaths:
    """Where one database's report and the handoff go."""

    report: Path
    handoff: Path

    @property
    def handoff_json(self) -> Path:
        """The handoff's JSON twin: the same path, ending in `.json`."""
        return self.handoff.with_suffix(".json")


def report_paths(
    out: Path, handoff_path: Path | None, database: str, day: date, per_database: bool
) -> ReportPaths:
    """`<out>/<date>.md` and `<out>/role-comm-database.md` for one database;
    `<out>/<database>/...` when several are reported. A configured handoff path may hold
    `{database}`, and must when several databases are reported."""
    directory = out / database if per_database else out
    if handoff_path is None:
        handoff = directory / HANDOFF_FILE_NAME
    elif "{database}" in str(handoff_path):
        handoff = Path(str(handoff_path).replace("{database}", database))
    elif per_database:
        raise UsageError(
            f"handoff_path {handoff_path} must contain {{database}} when several databases "
            "are reported (each gets its own handoff)"
        )
    else:
        handoff = handoff_path
    if handoff.suffix == ".json":
        raise UsageError(
            f"handoff_path {handoff_path} ends in .json: that name is its JSON twin's "
            "(give the markdown's, e.g. role-comm-database.md)"
        )
    return ReportPaths(directory / f"{day.isoformat()}.md", handoff)


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def comparable(entry: Mapping[str, Any]) -> bool:
    """Whether a stored history entry is one this version compares with."""
    return entry.get("format") == HISTORY_FORMAT


def write_report(
    inputs: ReportInputs, paths: ReportPaths, previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Write the report (compared with `previous`, the newest older history entry), the
    handoff and its JSON twin, each atomically; returns this report's history entry, for
    the caller to keep."""
    current = history_entry(inputs)
    changes = diff(previous, current, inputs.existing_indexes, inputs.regression_ratio)
    handoff = handoff_model(inputs, changes)
    write_atomically(paths.report, render_report(inputs, changes))
    write_atomically(paths.handoff, render_handoff_markdown(handoff))
    write_atomically(paths.handoff_json, handoff_json(handoff))
    return current
