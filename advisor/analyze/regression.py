"""The regression guard: which statements on a new index's table run slower since it
appeared, with confidence.

An index can make a statement it was never meant for slower: under a LIMIT the planner
may walk the new index in ORDER BY order, filtering, where it used to fetch a few rows by
another index and sort them. So every statement that reads the index's table is compared,
not only those the index was recommended for: its calls before the index appeared
against its calls since (windows of stored counters, see analyze/timing.py).

The question is the one an operator asks: "is it slower by more than the threshold θ?",
not "is it slower at all?". A plain Welch t-test of μ_since > μ_before answers the second:
with thousands of calls it is confident of a 1 % slowdown, and pairing it with a point
estimate above 1 + θ would flag a ratio of 1.11 whose lower bound is 1.01. So the test
is of the margin itself, one-sided:

    H0: μ_since ≤ (1 + θ)·μ_before     against     H1: μ_since > (1 + θ)·μ_before

    D = x̄_since − (1 + θ)·x̄_before
    z = D / √(s²_since / n_since + (1 + θ)²·s²_before / n_before)

and a statement is flagged when z exceeds the normal quantile of the confidence level.
This is Welch's statistic for the scaled difference; inverting it over the ratio gives
Fieller's lower confidence bound of μ_since / μ_before, so "flagged" is the same as "the
one-sided lower bound of the ratio is above 1 + θ". The normal quantile rather than
Student's t: each side needs `regression_min_calls` calls (30 by default), where the two
differ by a few per cent (2.46 against 2.33 at 99 %), and where the mean of skewed call
times is near enough to normal. Calls are not truly independent (a busy hour slows every
statement at once): the threshold is the margin that absorbs such drift, the confidence
only guards against too few calls. A window whose variance is unknown (squares not
collected) is never flagged.

The margin must also hold in milliseconds: the same test of H0: μ_since ≤ μ_before + Δ
with Δ = `regression_min_ms`. A statement of a tenth of a millisecond moves by tens of
per cent with the machine's load and its caches (seen on a shared test machine: 0.10 →
0.13 ms, 0.18 → 0.29 ms, confidently, with no change of plan), while an index that
changes a plan for the worse costs milliseconds a call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

from advisor.analyze.timing import TimingWindow
from advisor.history import Delta
from advisor.model import ParsedStatement, TableName


@dataclass(frozen=True)
class RegressionSettings:
    """A statement is slower when its mean grew by more than `regression_threshold` (a
    share) and by more than `regression_min_ms` per call, both at the one-sided
    `regression_confidence`, with at least `regression_min_calls` calls on each side."""

    regression_threshold: float
    regression_confidence: float
    regression_min_calls: int
    regression_min_ms: float


@dataclass(frozen=True)
class Slowdown:
    """One statement slower since an index appeared: its two windows and the test's z."""

    queryid: int
    before: TimingWindow
    since: TimingWindow
    z: float

    @property
    def extra_ms(self) -> float:
        """The time the slowdown cost the calls made since."""
        return (self.since.mean_ms - self.before.mean_ms) * self.since.calls


def margin_z(
    before: TimingWindow, since: TimingWindow, threshold: float, min_ms: float = 0.0
) -> float | None:
    """The statistic of the one-sided test that `since`'s mean exceeds (1 + threshold)
    times `before`'s plus `min_ms` (see the module's docstring); None when a variance is
    unknown."""
    before_variance, since_variance = before.variance_ms2, since.variance_ms2
    if before_variance is None or since_variance is None:
        return None
    factor = 1.0 + threshold
    difference = since.mean_ms - factor * before.mean_ms - min_ms
    spread = since_variance / since.calls + factor * factor * before_variance / before.calls
    if spread <= 0.0:  # every call took the same time, to the microsecond
        return math.inf if difference > 0 else -math.inf
    return difference / math.sqrt(spread)


def confident_slowdown(
    before: TimingWindow, since: TimingWindow, settings: RegressionSettings
) -> float | None:
    """The test's z when `since` is slower than `before` by more than the threshold with
    confidence, else None (too few calls on a side, an unknown variance, no such margin)."""
    if min(before.calls, since.calls) < settings.regression_min_calls or before.mean_ms <= 0:
        return None
    share = margin_z(before, since, settings.regression_threshold)
    absolute = margin_z(before, since, 0.0, settings.regression_min_ms)
    if share is None or absolute is None:
        return None
    z = min(share, absolute)
    return z if z > NormalDist().inv_cdf(settings.regression_confidence) else None


def slower_statements(
    table: TableName,
    statements: Mapping[int, ParsedStatement],
    before: Delta,
    since: Delta,
    settings: RegressionSettings,
) -> tuple[Slowdown, ...]:
    """The statements reading `table` (by the parser's tables, whatever index they were
    meant to use) that ran slower in `since` than in `before`, the costliest slowdown
    first."""
    on_table = {q for q, parsed in statements.items() if table in parsed.tables}
    earlier = {s.queryid: TimingWindow.of(s) for s in before.statements if s.queryid in on_table}
    found = []
    for counters in since.statements:
        was = earlier.get(counters.queryid)
        if was is None:
            continue
        now = TimingWindow.of(counters)
        z = confident_slowdown(was, now, settings)
        if z is not None:
            found.append(Slowdown(counters.queryid, was, now, z))
    return tuple(sorted(found, key=lambda s: (-s.extra_ms, s.queryid)))
