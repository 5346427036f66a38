"""Number and text formatting shared by the page and both exports, so they print the same
numbers the same way."""

from __future__ import annotations

import datetime as dt
import html
import math

DASH = "–"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def count(n) -> str:
    """1234 -> "1,234"; an average keeps one decimal: 556.75 -> "556.8"."""
    if _missing(n):
        return DASH
    return f"{int(n):,}" if float(n).is_integer() else f"{float(n):,.1f}"


def pct(x) -> str:
    """0.6983 -> "69.8%"."""
    return DASH if _missing(x) else f"{x * 100:.1f}%"


def signed_pct(x) -> str:
    """Relative change: 0.0824 -> "+8.2%"."""
    return DASH if _missing(x) else f"{x * 100:+.1f}%"


def points(x) -> str:
    """A change between two rates in percentage points: -0.053 -> "-5.3 pts"."""
    return DASH if _missing(x) else f"{x * 100:+.1f} pts"


def signed(n) -> str:
    return DASH if _missing(n) else f"{int(n):+,}"


def money(x) -> str:
    return DASH if _missing(x) else f"{x:,.0f}"


def when(t) -> str:
    """A timestamp to the minute, UTC."""
    if t is None or (not isinstance(t, dt.date) and _missing(t)):
        return DASH
    try:
        return t.strftime("%Y-%m-%d %H:%M")
    except (AttributeError, ValueError):
        return DASH


def team(key) -> str:
    """A team key as people read it: "marketing" -> "Marketing"; no team -> "Unassigned"."""
    if _missing(key) or key in ("", "unassigned"):
        return "Unassigned"
    return str(key).replace("_", " ").capitalize()


def esc(value) -> str:
    """HTML-escape any value (CRM text is never trusted as markup)."""
    return html.escape("" if value is None else str(value), quote=True)
