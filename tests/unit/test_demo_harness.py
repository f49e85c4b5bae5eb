"""The demo and test harness (`advisor/demo/`) stays apart from what runs in production: no
production module imports it, so the daemon's image and `pg-advisor` never load a throwaway
cluster or the sample application."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import advisor

PACKAGE = Path(advisor.__file__).resolve().parent
HARNESS = "advisor.demo"

# In a fresh interpreter: import every module named on stdin, print the advisor modules
# that ended up loaded.
IMPORT_ALL = """
import importlib, json, sys
for name in json.load(sys.stdin):
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "advisor")))
"""


def production_modules() -> list[str]:
    """Every module of the package, from its files (importing packages to walk them would
    load the harness's `__init__`), except the harness."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if name != HARNESS and not name.startswith(HARNESS + "."):
            names.append(name)
    return names


def test_the_production_modules_are_found() -> None:
    modules = production_modules()
    for expected in ("advisor.cli", "advisor.daemon", "advisor.jobs.recommend", "advisor.store"):
        assert expected in modules
    assert not [m for m in modules if m.startswith(HARNESS)]


def test_no_production_module_imports_the_demo_harness() -> None:
    modules = production_modules()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE.parent), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        input=json.dumps(modules),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert set(modules) <= set(loaded)
    assert [m for m in loaded if m == HARNESS or m.startswith(HARNESS + ".")] == []
