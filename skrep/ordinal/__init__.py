"""Ordinal regression: proportional odds and PRESTO."""

from skrep.utils._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "_brant": ["brant_test"],
        "_cumulative": ["CrossingWarning", "PerfectSeparationWarning"],
        "_proportional_odds": ["ProportionalOdds"],
        "_presto": ["PRESTO", "PRESTOCV"],
    },
)
