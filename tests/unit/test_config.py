"""Settings: file, environment and flags, in that order of precedence, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.config import load_settings
from advisor.errors import UsageError

EXAMPLE = Path(__file__).parents[2] / "config" / "advisor.toml"


def test_example_configuration_file_is_valid() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.dsn.startswith("postgresql://")
    assert settings.min_calls == 5


def test_flags_win_over_environment_which_wins_over_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "a.toml"
    config.write_text(
        'min_calls = 3\nmax_key_columns = 2\nbudget_mb = 10\ndsn = "postgresql://file/db"\n'
    )
    monkeypatch.setenv("ADVISOR_MAX_KEY_COLUMNS", "3")
    monkeypatch.setenv("ADVISOR_BUDGET_MB", "20")
    settings = load_settings(config, budget_mb=30)
    assert (settings.min_calls, settings.max_key_columns, settings.budget_mb) == (3, 3, 30)
    assert settings.dsn == "postgresql://file/db"


def test_dsn_falls_back_to_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://env/db")
    assert load_settings(None).dsn == "postgresql://env/db"
    assert load_settings(None, dsn="postgresql://flag/db").dsn == "postgresql://flag/db"


def test_databases_from_the_environment_are_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADVISOR_DATABASES", "app, reporting")
    assert load_settings(None).databases == ["app", "reporting"]


def test_unknown_key_in_the_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("min_cals = 3\n")
    with pytest.raises(UsageError, match="min_cals: unknown setting"):
        load_settings(config)


def test_invalid_value_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="min_calls"):
        load_settings(None, min_calls=0)


def test_broken_toml_and_missing_file_are_usage_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("min_calls = = 3")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_settings(broken)
    with pytest.raises(UsageError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_the_deprecated_analyse_interval_spelling_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "old.toml"
    config.write_text("analyse_interval = 120\n")
    assert load_settings(config).analyze_interval == 120
    monkeypatch.setenv("ADVISOR_ANALYSE_INTERVAL", "60")
    assert load_settings().analyze_interval == 60
    monkeypatch.setenv("ADVISOR_ANALYZE_INTERVAL", "30")
    assert load_settings().analyze_interval == 30
    assert load_settings(analyze_interval=10).analyze_interval == 10


@pytest.mark.parametrize("value", ["inf", "nan", "-inf"])
def test_an_infinite_budget_is_a_clear_error(value: str) -> None:
    with pytest.raises(UsageError, match="budget_mb: Input should be a finite number"):
        load_settings(None, budget_mb=value)
    with pytest.raises(UsageError, match="min_saved_ms_per_day"):
        load_settings(None, min_saved_ms_per_day=value)
