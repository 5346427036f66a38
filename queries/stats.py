"""Small-sample statistics for rates: Wilson intervals and the two-proportion z-test.

Pure functions on counts (no pandas, no SQL), so each is tested against hand computations.
`rates` and `wilson_bounds` are the same formulas over arrays, operation for operation, so they
give the same floating-point results as `rate` and `wilson` for every pair of counts.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054  # two-sided 95%
SMALL_GROUP = 30  # fewer leads than this: flagged as a small group


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval for successes/trials; (nan, nan) when there are no trials."""
    if trials <= 0:
        return (math.nan, math.nan)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test; nan when it cannot be computed."""
    if n1 <= 0 or n2 <= 0:
        return math.nan
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0 if x1 / n1 == x2 / n2 else 0.0
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def is_significant(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> bool:
    """True when the change between two rates is outside the noise at level alpha."""
    p = two_proportion_p(x1, n1, x2, n2)
    return not math.isnan(p) and p < alpha


def rate(successes: int, trials: int) -> float:
    return successes / trials if trials > 0 else math.nan


def rates(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """rate() for arrays of counts (as float64): nan where there are no trials."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(trials > 0, successes / trials, math.nan)


def wilson_bounds(successes: np.ndarray, trials: np.ndarray, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """wilson() for arrays of counts (as float64): (low, high), nan where there are no trials."""
    with np.errstate(divide="ignore", invalid="ignore"):
        p = successes / trials
        denom = 1 + z * z / trials
        centre = (p + z * z / (2 * trials)) / denom
        half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
        some = trials > 0
        return (
            np.where(some, np.maximum(0.0, centre - half), math.nan),
            np.where(some, np.minimum(1.0, centre + half), math.nan),
        )
