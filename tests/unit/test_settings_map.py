"""One settings map: the README's settings table is the code's, and every stage takes its
thresholds from Settings under the same names, with no defaults of its own."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from advisor import config
from advisor.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
_ROW = re.compile(r"^\| `(?P<name>[a-z_]+)` \| (?P<default>[^|]*) \|")
_NUMBER = re.compile(r"^-?[\d,]*\.?\d+$")

STAGES: dict[str, Callable[[Settings], Any]] = {
    "parse": config.parse_settings,
    "candidates": config.candidate_settings,
    "brin": config.brin_settings,
    "selection": lambda s: config.selection_settings(s, 1),
    "write cost": config.write_cost_settings,
    "values": config.value_settings,
    "health": config.health_settings,
    "anti-patterns": config.antipattern_settings,
    "regression guard": config.regression_settings,
    "pools": config.pool_settings,
}


def readme_settings(text: str) -> dict[str, str]:
    """`name -> default` of the Configuration section's table."""
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = (_ROW.match(line) for line in section.splitlines())
    return {m["name"]: m["default"].strip() for m in rows if m}


def agrees(documented: str, default: Any) -> bool:
    """Whether the README's default cell states the code's default."""
    cell = documented.strip("`")
    if default in (None, "", []):  # described in words ("none", "the DSN's", ...)
        return not _NUMBER.match(cell)
    if isinstance(default, bool):
        return cell == str(default).lower()
    if isinstance(default, int | float):
        return bool(_NUMBER.match(cell)) and float(cell.replace(",", "")) == float(default)
    return cell == str(default)


def test_the_readme_lists_every_setting_with_its_default() -> None:
    documented = readme_settings(README.read_text())
    fields = Settings.model_fields
    assert set(documented) == set(fields)
    wrong = {
        name: (cell, fields[name].get_default(call_default_factory=True))
        for name, cell in documented.items()
        if not agrees(cell, fields[name].get_default(call_default_factory=True))
    }
    assert wrong == {}


def test_the_table_check_would_catch_a_drifted_default() -> None:
    assert agrees("0.10", 0.1) and agrees("1000", 1_000.0) and agrees("`0 6 * * *`", "0 6 * * *")
    assert not agrees("0.2", 0.25)
    assert not agrees("true", False)
    assert not agrees("20", None)
    assert readme_settings("## Configuration\n| `a_b` | 3 | x |\n## Next\n| `c` | 1 | y |") == {
        "a_b": "3"
    }


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_stage_takes_its_thresholds_from_settings_by_name(stage: str) -> None:
    built = STAGES[stage](Settings())
    for field in dataclasses.fields(built):
        assert field.default is dataclasses.MISSING, f"{field.name} has a default of its own"
        assert field.default_factory is dataclasses.MISSING
        name = field.name.removesuffix("_bytes") + "_mb" if field.name.endswith("_bytes") else None
        assert (
            field.name in Settings.model_fields
            or name in Settings.model_fields
            or (field.name == "budget_bytes")
        ), f"{stage}: {field.name} is no setting"


def test_a_changed_setting_reaches_its_stage() -> None:
    changed = Settings(max_value_scenarios=7, unused_min_size_mb=2, brin_min_table_mb=1)
    assert config.value_settings(changed).max_value_scenarios == 7
    assert config.health_settings(changed).unused_min_size_bytes == 2 * 1024 * 1024
    assert config.brin_settings(changed).brin_min_table_bytes == 1024 * 1024
