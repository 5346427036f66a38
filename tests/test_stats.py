"""Wilson intervals and the two-proportion test against hand computations."""

from __future__ import annotations

import math

import pytest

from queries import stats


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        # 8/10: p = 0.8, z^2 = 3.841459; denominator 1.384146; centre (0.8 + 0.192073) / 1.384146
        # = 0.716740; half 1.959964 * sqrt(0.016 + 0.009604) / 1.384146
        # = 1.959964 * 0.160012 / 1.384146 = 0.226578.
        (8, 10, 0.490162, 0.943318),
        # 0/20: centre (0 + 0.096036) / 1.192073 = 0.080564, half the same: low 0.
        (0, 20, 0.0, 0.161125),
        # 20/20: mirror image of 0/20.
        (20, 20, 0.838875, 1.0),
    ],
)
def test_wilson(x, n, low, high):
    lo, hi = stats.wilson(x, n)
    assert (lo, hi) == pytest.approx((low, high), abs=1e-5)


def test_wilson_without_trials_is_undefined():
    assert all(math.isnan(v) for v in stats.wilson(0, 0))


def test_two_proportion():
    # 50/100 vs 20/100: z = 4.4475, p = 8.69e-6; 50/100 vs 45/100: z = 0.7080, p = 0.4790.
    assert stats.two_proportion_p(50, 100, 20, 100) == pytest.approx(8.69e-6, rel=0.01)
    assert stats.two_proportion_p(50, 100, 45, 100) == pytest.approx(0.4790, abs=1e-3)
    assert stats.is_significant(50, 100, 20, 100) and not stats.is_significant(50, 100, 45, 100)
    assert math.isnan(stats.two_proportion_p(1, 0, 1, 10))


def test_array_forms_give_the_same_floats_as_the_scalar_ones():
    # The funnel frames compute every group's rates at once with rates()/wilson_bounds(); they
    # must agree with rate()/wilson() to the last bit, including no trials (nan) and 0 of n.
    import numpy as np

    pairs = [
        (s, t)
        for t in (0, 1, 2, 3, 7, 29, 30, 31, 100, 977, 12_345, 1_000_000)
        for s in range(0, t + 1, max(1, t // 13))
    ]
    pairs += [(5, 0), (123_456, 999_983)]
    successes = np.array([s for s, _ in pairs], dtype=float)
    trials = np.array([t for _, t in pairs], dtype=float)
    low, high = stats.wilson_bounds(successes, trials)
    for i, (s, t) in enumerate(pairs):
        want = (stats.rate(s, t), *stats.wilson(s, t))
        got = (stats.rates(successes, trials)[i], low[i], high[i])
        for w, g in zip(want, got, strict=True):
            assert (math.isnan(w) and math.isnan(g)) or w == g, (s, t, want, got)
