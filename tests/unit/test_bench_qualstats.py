"""The pg_qualstats cost section's arithmetic and report."""

from __future__ import annotations

import pytest

from bench.qualstats import QualstatsResult, RateResult, micros_per_statement, report_qualstats


def test_cost_per_statement_from_two_tps_figures() -> None:
    # 2 clients: 100,000 tps is 20 µs of a client per statement, 80,000 tps 25 µs.
    assert micros_per_statement(100_000, 80_000, 2) == pytest.approx(5.0)
    assert micros_per_statement(0, 80_000, 2) == 0.0


def test_report_shows_medians_losses_and_the_noise() -> None:
    result = QualstatsResult(
        10,
        2,
        10,
        [RateResult(0.0, [100_000, 90_000, 110_000]), RateResult(1.0, [80_000, 79_000, 81_000])],
    )
    text = report_qualstats(result)
    assert "100,000" in text and "80,000" in text
    assert "+20.0%" in text  # TPS lost at rate 1 against rate 0
    assert "spread by 20%" in text
    assert result.to_json()["rates"][1]["median_tps"] == 80_000
