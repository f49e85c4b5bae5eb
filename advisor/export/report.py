"""The periodic markdown report, written atomically (never a half-written file)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from advisor.export.console import human_bytes, human_ms
from advisor.model import Analysis, Finding


def _short(text: str, width: int = 100) -> str:
    flat = " ".join(text.split()).replace("|", "\\|").replace("`", "'")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


_ENVIRONMENT = Environment(
    loader=PackageLoader("advisor.export", "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # markdown, not HTML
)
_ENVIRONMENT.globals.update(fmt_ms=human_ms, fmt_bytes=human_bytes, short=_short)


def render_report(
    database: str,
    analysis: Analysis | None,
    findings: Sequence[Finding],
    realized: Sequence[Any],
    now: datetime,
) -> str:
    """The report's markdown; the same inputs always give the same text."""
    total = sum(r.estimated_ms_saved_per_day for r in analysis.recommendations) if analysis else 0
    return _ENVIRONMENT.get_template("report.md.j2").render(
        database=database,
        day=now.date().isoformat(),
        analysis=analysis,
        findings=list(findings),
        realized=list(realized),
        total_saved=total,
    )


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


def write_report(
    out_dir: Path,
    database: str,
    analysis: Analysis | None,
    findings: Sequence[Finding],
    realized: Sequence[Any],
    now: datetime,
) -> Path:
    """Write `<out_dir>/<database>/<YYYY-MM-DD>.md` and return its path."""
    path = out_dir / database / f"{now.date().isoformat()}.md"
    write_atomically(path, render_report(database, analysis, findings, realized, now))
    return path
