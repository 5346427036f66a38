"""Headline figures: formatting and the noise test for counts. Pure functions (no Streamlit).

compare_periods (queries/funnel.py) tests rates with a two-proportion test; counts (leads, MQLs,
won deals) are tested here the usual way for two counts over periods of equal length: if both
periods had the same underlying rate, the current count would be Binomial(x1 + x2, 1/2).
"""

from __future__ import annotations

import math

ALPHA = 0.05


def count_change_p(current: float, previous: float) -> float:
    """Two-sided p-value that two counts over equal-length periods share one rate (normal
    approximation to the conditional binomial test); nan when both are zero."""
    total = current + previous
    if total <= 0:
        return math.nan
    z = (current - previous) / math.sqrt(total)
    return math.erfc(abs(z) / math.sqrt(2))


def noise_verdict(kind: str, p_value: float, is_small: bool) -> str:
    """A short phrase for a change: outside / inside the noise, or why it is not tested."""
    if kind == "amount":
        return "amount: no noise test (deal sizes vary)"
    if math.isnan(p_value):
        return "no comparison"
    verdict = "outside the noise" if p_value < ALPHA else "within the noise"
    return verdict + (" · small group" if is_small else "")


def fmt_value(value: float, kind: str, currency: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "rate":
        return f"{value:.1%}"
    if kind == "amount":
        return fmt_amount(value, currency)
    return f"{int(round(value)):,}"


def fmt_amounts(amounts: dict[str, float]) -> str:
    """{'EUR': 1200, 'USD': 50000} -> 'USD 50.0 k · EUR 1,200': one figure per currency."""
    if not amounts:
        return fmt_amount(0)
    return " · ".join(fmt_amount(v, c or "(no currency)") for c, v in amounts.items())


def fmt_amount(value: float, currency: str = "") -> str:
    """1234567 -> '1.23 M' ('USD 1.23 M' with a currency code)."""
    if currency:
        return f"{currency} {fmt_amount(value)}"
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:.2f} B"
    if size >= 1e6:
        return f"{value / 1e6:.2f} M"
    if size >= 1e4:
        return f"{value / 1e3:.1f} k"
    return f"{value:,.0f}"


def fmt_change(change: float, change_pct: float, kind: str) -> str | None:
    """The delta text st.metric shows: points for rates, percent for counts and amounts."""
    if change is None or math.isnan(change):
        return None
    if kind == "rate":
        return f"{change * 100:+.1f} pts"
    if change_pct is None or math.isnan(change_pct):
        return f"{change:+,.0f}"
    return f"{change_pct:+.1%}"
