"""A statement's execution time over a window of stored counters: its mean and variance.

pg_stat_statements keeps, per entry, `calls` (n), `mean_exec_time` (m) and
`stddev_exec_time` (s), the *population* standard deviation: the extension keeps Welford's
running sum of squared deviations M2 = Σ(x − m)² and reports s = √(M2 / n). Neither m nor
s can be subtracted between two snapshots, but two sums can:

    S = Σx  = n·m                     (total_exec_time)
    Q = Σx² = M2 + n·m² = n·(s² + m²)

The collector stores Q beside S for every statement (summed over the entries of one
queryid: users, nesting levels), and deltas and merges treat it as any other counter.
For the calls made in a window (a delta of two snapshots, or a merge of deltas) with
n calls, sum S and sum of squares Q:

    mean     = S / n
    M2       = Q − S² / n
    variance = M2 / (n − 1)           (the sample variance of the window's calls)

This is the parallel (Chan, Golub, LeVeque) combination of Welford's accumulators read
the other way: for two sets a and b with n = na + nb and δ = mean_b − mean_a,
M2 = M2a + M2b + δ²·na·nb / n, which is exactly what Q = Qa + Qb and S = Sa + Sb give
through M2 = Q − S²/n. Keeping (n, S, Q) makes windows additive (a merge sums them) and
subtractable (a delta subtracts them), which (n, mean, M2) are not without the correction
term.

The price is precision: M2 is a difference of two large numbers. In float64 the relative
error of the variance is about 1e-16 · Q / M2, i.e. 1e-16 · (1 + mean² / variance) times
how much larger the cumulative Q is than the window's: negligible for timings whose
spread is more than a thousandth of their mean. A difference below zero by more than a
rounding error cannot come from real calls; it means the squares are missing (counters
stored before the collector read them, a server without the stddev column) and the
variance is then unknown, never zero. Where only some buckets of a window lack the
squares, the variance is underestimated: that can only happen across an upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.history import StatementCounters

# How far below zero M2 may fall, relative to Q, and still be a rounding error.
ROUNDING = 1e-9


def sum_of_squares(calls: int, mean_ms: float, stddev_ms: float) -> float:
    """Σx² of `calls` execution times with that mean and population stddev: what the
    collector's SQL computes per pg_stat_statements entry."""
    return calls * (stddev_ms * stddev_ms + mean_ms * mean_ms)


@dataclass(frozen=True)
class TimingWindow:
    """A statement's calls in a window: how many, their summed execution time and their
    summed squared execution time."""

    calls: int
    total_ms: float
    sum_of_squares: float

    @classmethod
    def of(cls, counters: StatementCounters) -> TimingWindow:
        return cls(counters.calls, counters.total_exec_ms, counters.exec_ms_sum_of_squares)

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls > 0 else 0.0

    @property
    def variance_ms2(self) -> float | None:
        """The sample variance of one call's time; None when it cannot be known (fewer
        than two calls, or squares missing from the counters)."""
        if self.calls < 2:
            return None
        squared_sum = self.total_ms * self.total_ms / self.calls
        m2 = self.sum_of_squares - squared_sum
        if m2 < -ROUNDING * squared_sum:  # no squares (0), or not those of these calls
            return None
        return max(m2, 0.0) / (self.calls - 1)

    def __add__(self, other: TimingWindow) -> TimingWindow:
        return TimingWindow(
            self.calls + other.calls,
            self.total_ms + other.total_ms,
            self.sum_of_squares + other.sum_of_squares,
        )
