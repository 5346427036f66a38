"""How every number and key reads, on the pages and in every export: one module, so the page,
the CSV downloads, the weekly report (HTML and Markdown) and the summary print the same number
the same way. Pure functions, no Streamlit.

- Missing is "—", never "None" or "nan".
- Counts are whole numbers with thousands separators; an average or an expected volume keeps
  one decimal and says so in its heading ("Expected", "avg").
- Rates are percentages with one decimal, "69.8%", everywhere (one format per table); changes
  of a rate are in points, "+5.3 pts"; changes of a count or amount in percent, "+8.2%".
- Amounts carry their currency: "USD 1.23 M"; amounts in different currencies are never summed.
- Durations: hours under two days ("36.0 h"), days from there on ("115.6 days").
- Keys read as the contract's labels (stages, exits, reasons, channels; teams capitalised).
- A rate, interval or percentile over fewer than SMALL_N records is flagged (small_flag).

Also the noise test for two counts (count_change_p), which compare_periods leaves to the page.
"""

from __future__ import annotations

import datetime as dt
import html
import math
import string

import pandas as pd

from data.contract import Contract
from data.contract import team_label as _team_label

DASH = "—"
SMALL_N = 30  # queries.stats.SMALL_GROUP: fewer than this in a denominator is a small group
SMALL_TEXT = f"small n (<{SMALL_N})"
ALPHA = 0.05
HOURS_AS_DAYS = 48  # a duration of this many hours or more reads in days


def missing(x) -> bool:
    """None, NaN, NaT or pandas' NA."""
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):  # a list or an array is a value, not a missing one
        return False


# --- numbers ------------------------------------------------------------------------------------


def count(n) -> str:
    """1234 -> "1,234"; an average or expected volume keeps one decimal: 556.75 -> "556.8"."""
    if missing(n):
        return DASH
    return f"{int(n):,}" if float(n).is_integer() else f"{float(n):,.1f}"


def whole(n) -> str:
    """A count, always whole: 134.2 -> "134" (a volume derived from rates rounds)."""
    return DASH if missing(n) else f"{int(round(float(n))):,}"


def pct(x) -> str:
    """0.6983 -> "69.8%"."""
    return DASH if missing(x) else f"{x * 100:.1f}%"


def signed_pct(x) -> str:
    """Relative change: 0.0824 -> "+8.2%"."""
    return DASH if missing(x) else f"{x * 100:+.1f}%"


def points(x) -> str:
    """A change between two rates in percentage points: -0.053 -> "-5.3 pts"."""
    return DASH if missing(x) else f"{x * 100:+.1f} pts"


def signed(n) -> str:
    return DASH if missing(n) else f"{int(n):+,}"


def money(x, currency: str = "") -> str:
    """12345.6 -> "12,346" ("USD 12,346" with a currency code)."""
    if missing(x):
        return DASH
    return f"{currency} {x:,.0f}" if currency else f"{x:,.0f}"


def amount(value, currency: str = "") -> str:
    """1234567 -> "1.23 M" ("USD 1.23 M" with a currency code): a headline amount."""
    if missing(value):
        return DASH
    if currency:
        return f"{currency} {amount(value)}"
    size = abs(value)
    if size >= 1e9:
        return f"{value / 1e9:.2f} B"
    if size >= 1e6:
        return f"{value / 1e6:.2f} M"
    if size >= 1e4:
        return f"{value / 1e3:.1f} k"
    return f"{value:,.0f}"


def amounts(by_currency: dict[str, float]) -> str:
    """{'EUR': 1200, 'USD': 50000} -> 'USD 50.0 k · EUR 1,200': one figure per currency."""
    if not by_currency:
        return amount(0)
    return " · ".join(amount(v, c or "(no currency)") for c, v in by_currency.items())


def days(x) -> str:
    """A duration in days: 115.56 -> "115.6 days"."""
    return DASH if missing(x) else f"{x:,.1f} days"


def duration_hours(h) -> str:
    """A duration given in hours, in the unit people read: "36.0 h" under two days, "115.6 days"
    from there on (2774.8 hours reads as days)."""
    if missing(h):
        return DASH
    return f"{h / 24:,.1f} days" if h >= HOURS_AS_DAYS else f"{h:,.1f} h"


def when(t) -> str:
    """A timestamp to the minute, UTC."""
    if t is None or (not isinstance(t, dt.date) and missing(t)):
        return DASH
    try:
        return t.strftime("%Y-%m-%d %H:%M")
    except (AttributeError, ValueError):
        return DASH


def day(t) -> str:
    """A date: "2025-06-02"."""
    if t is None or (not isinstance(t, dt.date) and missing(t)):
        return DASH
    try:
        return t.strftime("%Y-%m-%d")
    except (AttributeError, ValueError):
        return DASH


def window_phrase(days: int | None) -> str:
    """A view's conversion window in words: 'a 180-day conversion window', or 'no conversion
    window (all time)' for none."""
    return "no conversion window (all time)" if days is None else f"a {days}-day conversion window"


# --- the headline figures ---------------------------------------------------------------------


def value(x, kind: str, currency: str = "") -> str:
    """A headline figure by its kind: count, rate or amount."""
    if missing(x):
        return DASH
    if kind == "rate":
        return pct(x)
    if kind == "amount":
        return amount(x, currency)
    return whole(x)


def change(delta, delta_pct, kind: str) -> str | None:
    """The delta text st.metric shows: points for rates, percent for counts and amounts."""
    if missing(delta):
        return None
    if kind == "rate":
        return points(delta)
    if missing(delta_pct):
        return f"{delta:+,.0f}"
    return signed_pct(delta_pct)


def count_change_p(current: float, previous: float) -> float:
    """Two-sided p-value that two counts over equal-length periods share one rate: if they did,
    the current count would be Binomial(x1 + x2, 1/2) (normal approximation); nan when both are
    zero."""
    total = current + previous
    if total <= 0:
        return math.nan
    z = (current - previous) / math.sqrt(total)
    return math.erfc(abs(z) / math.sqrt(2))


def noise_verdict(kind: str, p_value: float, is_small: bool) -> str:
    """A short phrase for a change: outside / inside the noise, or why it is not tested."""
    if kind == "amount":
        return "amount: no noise test (deal sizes vary)"
    if missing(p_value):
        return "no comparison"
    verdict = "outside the noise" if p_value < ALPHA else "within the noise"
    return verdict + (f" · {SMALL_TEXT}" if is_small else "")


# --- small groups -------------------------------------------------------------------------------


def is_small(n) -> bool:
    """Fewer than SMALL_N in a denominator (no denominator at all counts as small)."""
    return missing(n) or int(n) < SMALL_N


def small_flag(n) -> str:
    """The flag a table or export shows next to a rate, interval or percentile: "small n (<30)"
    when its denominator is under SMALL_N, else ""."""
    return SMALL_TEXT if is_small(n) else ""


def with_n(rate, n) -> str:
    """A rate with its base: "62.5% of 8 · small n (<30)"."""
    if missing(rate):
        return DASH
    text = f"{pct(rate)} of {whole(n)}"
    return text + (f" · {SMALL_TEXT}" if is_small(n) else "")


# --- keys as people read them -------------------------------------------------------------------


def team(key) -> str:
    """A team key as people read it: "marketing" -> "Marketing"; no team -> "Unassigned"."""
    return _team_label(key)


def possessive(name: str) -> str:
    """ "Sales" -> "Sales'", "Marketing" -> "Marketing's"."""
    return name + ("'" if name.endswith("s") else "'s")


def stage(contract: Contract, key) -> str:
    """A stage key by its contract label; an unknown key as it is; none as "—"."""
    if missing(key) or key == "":
        return DASH
    return next((s.label for s in contract.stages if s.key == key), str(key))


def exit_label(contract: Contract, key) -> str:
    if missing(key) or key == "":
        return DASH
    found = contract.exit(key)
    return found.label if found else stage(contract, key)


def reason(contract: Contract, key) -> str:
    if missing(key) or key == "":
        return DASH
    found = contract.reason(key)
    return found.label if found else str(key)


def channel(contract: Contract, value) -> str:
    """A channel value by the contract's label ("organic_search" -> "Organic search" when the
    contract names it; otherwise the value with its underscores read as spaces)."""
    if missing(value) or value == "":
        return DASH
    label = contract.channel_label(value)
    return label if label != value else str(value).replace("_", " ").capitalize()


def charged_line(split) -> str:
    """queries.teams.charged_split as the line Teams leads with:
    "charged to Marketing: 120 (40.0%) · charged to Sales: 180 (60.0%)"."""
    return " · ".join(
        f"charged to {r.label}: {whole(r.n_dropped)} ({pct(r.share)})" for r in split.itertuples()
    )


_PUNCTUATION = set(string.punctuation)


def md(value) -> str:
    """Text from the contract, a CRM or an upload placed inside our own Markdown (a caption, a
    help text): every ASCII punctuation mark backslash-escaped (CommonMark reads an escaped
    character as itself) and line breaks folded, so no link, image, emphasis, icon code or
    formula can come of it."""
    text = " ".join(("" if value is None else str(value)).splitlines())
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in text)


def esc(value) -> str:
    """HTML-escape any value (CRM text is never trusted as markup)."""
    return html.escape("" if value is None else str(value), quote=True)
