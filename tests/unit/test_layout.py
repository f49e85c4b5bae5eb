"""The shape of the house: no module grows past a readable size, and the algorithm in
`analyze/` stays pure (it imports only the nouns and itself)."""

from __future__ import annotations

import ast
from pathlib import Path

ADVISOR = Path(__file__).resolve().parents[2] / "advisor"
MAX_LINES = 900
# What analyze/ may import from the advisor: the plain dataclasses and its own modules.
PURE = ("advisor.model", "advisor.names", "advisor.knowledge", "advisor.history", "advisor.analyze")


def _advisor_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {n for n in names if n == "advisor" or n.startswith("advisor.")}


def test_no_module_is_over_900_lines() -> None:
    long = {
        str(p.relative_to(ADVISOR)): n
        for p in ADVISOR.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_analyze_imports_only_the_nouns_and_itself() -> None:
    impure = {
        str(p.relative_to(ADVISOR)): sorted(
            m for m in _advisor_imports(p) if not m.startswith(PURE)
        )
        for p in (ADVISOR / "analyze").glob("*.py")
    }
    assert {k: v for k, v in impure.items() if v} == {}


def test_the_import_check_sees_an_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nfrom advisor.pg import session\nfrom advisor import model\n")
    assert _advisor_imports(module) == {"advisor.pg", "advisor"}
