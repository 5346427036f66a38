"""Fired alerts at the top of Funnel health and Weekly (docs/design.md "Alerts").

The rules are the contract's ([[alerts]]); queries.alerts checks them on a week against the week
before; reports.alerts writes each as a sentence, the same words the webhook receives. Stage
labels come from the contract, so the sentences are shown as plain text.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from data.contract import Contract
from queries import cache
from reports import alerts as report


def show(contract: Contract, monday: dt.date | None = None) -> None:
    """The alerts fired for the week starting `monday` (default: the last complete week): a
    warning with one plain-text line per alert, or one quiet line saying none fired."""
    result = report.checked(contract, monday, cache.call)
    if result is None:
        return
    week = result["week"].iloc[0] if len(result) else ""
    fired = result[result["fired"]]
    if fired.empty:
        st.caption(
            f":material/notifications_none: No alert fired for {week} "
            f"({len(result)} rule{'s' if len(result) != 1 else ''} in the contract, checked against the week before)."
        )
        return
    with st.container(border=True, key="alerts-fired"):
        st.warning(
            f"**{len(fired)} alert{'s' if len(fired) != 1 else ''} fired for {week}**, against the week before "
            "(the contract's alert rules; the same message goes to the team's webhook when one is set).",
            icon=":material/notifications_active:",
        )
        for _, row in fired.iterrows():
            st.text(report.sentence(row, contract))
