"""Helpers shared by the daemon benchmarks: progress lines, tables, JSON results, statistics
and the process facts (RSS, CPU time) they report."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.demo.sandbox import find_bindir


def say(message: str) -> None:
    """A progress line on stdout."""
    print(f"bench: {message}", flush=True)


def environment(postgres_major: int | None = None) -> dict[str, Any]:
    """What every JSON result records about the machine and the run."""
    if postgres_major is None:
        bindir = find_bindir()
        name = bindir.parent.name
        postgres_major = int(name) if name.isdigit() else 0
    return {
        "postgres_major": postgres_major,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_json(out: Path, section: str, payload: Mapping[str, Any]) -> Path:
    """`<out>/<section>.json`, pretty-printed."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{section}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain, left-aligned text table."""
    cells = [list(headers)] + [[cell(value) for value in row] for row in rows]
    widths = [max(len(line[i]) for line in cells) + 2 for i in range(len(headers))]
    return "\n".join(
        "".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def cell(value: object) -> str:
    """One value as table text: '-' for None, floats with sensible precision."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def median(values: Sequence[float]) -> float:
    """The median (0.0 of nothing)."""
    return float(statistics.median(values)) if values else 0.0


def verdict(met: bool) -> str:
    """`met` or `MISSED`, for the target lines."""
    return "met" if met else "MISSED"


def peak_rss_kib() -> int:
    """This process's peak resident set size (KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def status_kib(field: str, pid: int | str = "self") -> int | None:
    """A `kB` line of /proc/<pid>/status (VmRSS, VmHWM ...), or None when unreadable."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    return None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far, from /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; the fields after it are fixed.
    fields = stat.rpartition(")")[2].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return ticks / os.sysconf("SC_CLK_TCK")
