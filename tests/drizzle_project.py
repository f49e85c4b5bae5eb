"""The TypeScript project in tests/drizzle (drizzle-orm, drizzle-kit, typescript, pg): copy
it, insert generated index code into its schema.ts, run tsc and drizzle-kit on it.

node_modules is installed once by scripts/setup.sh (`npm ci --prefix tests/drizzle`); the
tests that need node skip only when node itself is absent."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from advisor.export.drizzle import (
    Casing,
    DrizzleIndex,
    callback_entries,
    imports_needed,
    read_drizzle_schema,
)
from advisor.model import TableName

PROJECT = Path(__file__).parent / "drizzle"
NODE_MODULES = PROJECT / "node_modules"
SCHEMA = PROJECT / "schema.ts"
CASING: Casing = "snake_case"  # as drizzle.config.ts says
PROJECT_FILES = ("schema.ts", "drizzle.config.ts", "tsconfig.json", "package.json")


def require_node() -> None:
    """Skip when node is absent; fail (setup is missing) when its packages are."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: scripts/setup.sh installs Debian's nodejs and npm")
    if not (NODE_MODULES / ".bin" / "drizzle-kit").exists():
        pytest.fail("tests/drizzle/node_modules is missing: run `make setup` (npm ci)")


def copy_project(target: Path) -> Path:
    """A scratch copy of the project (its node_modules linked, not copied)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy(PROJECT / name, target / name)
    (target / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    return target


def insert_indexes(source: str, changes: Mapping[TableName, Sequence[DrizzleIndex]]) -> str:
    """schema.ts with each table's new index code where a developer puts it: into the
    callback's array when there is one, else as a new third argument of `pgTable`, with
    the imports the code needs."""
    schema = read_drizzle_schema(source, CASING)
    edits: list[tuple[int, str]] = []
    for table, indexes in changes.items():
        names = schema.table(table)
        assert names is not None, f"{table} is not declared in schema.ts"
        entries = callback_entries(names, indexes)
        if names.callback_insert is not None:
            edits.append((names.callback_insert, "\n" + entries + "\n"))
        else:
            assert names.call_close is not None
            comma = "" if source[: names.call_close].rstrip().endswith(",") else ", "
            edits.append((names.call_close, f"{comma}({names.parameter}) => [\n{entries}\n]"))
    for offset, text in sorted(edits, reverse=True):
        source = source[:offset] + text + source[offset:]
    wanted = imports_needed([i for indexes in changes.values() for i in indexes])
    extra = [line for line in wanted if "{ sql }" in line and line not in source]
    return "\n".join([*extra, source])


def run_node_tool(
    project: Path, tool: str, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool of node_modules/.bin in the project directory."""
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [str(NODE_MODULES / ".bin" / tool), *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def tsc(project: Path) -> subprocess.CompletedProcess[str]:
    return run_node_tool(project, "tsc", "-p", "tsconfig.json")
