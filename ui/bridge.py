"""The Bridge section's drawing: MQLs to opportunities, Sales-sourced opportunities, buying
groups and leads' accounts, from queries.bridge.view(). Layout only: every number comes from the
view, every definition from ui/glossary.py. CRM text (roles, names) is shown as table cells,
never as Markdown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from data.contract import Contract
from queries.bridge import MATCH_KINDS
from reports import format as fmt
from ui import glossary

SMALL = 30


def _days(value) -> str:
    return "–" if value is None else f"{value:.1f}"


MATCHED_COLUMNS = {
    "lead_id": "Lead",
    "lead_name": "Name",
    "company": "Company",
    "email_domain": "Email domain matched",
    "company_key": "Company name matched",
    "account_id": "Account",
    "account_name": "Account name",
    "rule": "Rule",
}


def draw(
    view: dict, matched: pd.DataFrame, contract: Contract, range_text: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw the section; `matched` is queries.bridge.matched_leads(). Returns (roles table,
    matched leads table) for their downloads (empty when not shown)."""
    st.subheader(
        "Bridge: from leads to opportunities",
        help=glossary.mql_to_opportunity(contract, view["window_days"])
        + "\n\n"
        + glossary.sales_sourced()
        + "\n\n"
        + glossary.buying_group(),
    )
    accounts = _accounts_table(view["accounts"])
    if not view["has_opportunities"]:
        st.info(
            "This data names no opportunity of its own (no deal ids): its opportunities are stages "
            "of their leads, so the funnel above already follows them. Import opportunities (with "
            "their contact roles) to see which MQLs led to one and which were Sales-sourced.",
            icon=":material/link_off:",
        )
        return pd.DataFrame(), _accounts(view["accounts"], accounts, matched)
    handoff = contract.handoff.label if contract.handoff else "MQL"
    st.caption(
        f"MQLs: leads whose own {handoff} entry falls in {range_text}; opportunities: those "
        f"created in {range_text}. Counted the same whether the sidebar counts leads or "
        "opportunities."
    )
    m, o = view["mqls"], view["opportunities"]
    columns = st.columns(4)
    with columns[0]:
        if m is None:
            st.metric("MQL → opportunity", "–", help=glossary.mql_to_opportunity(contract), border=True)
            st.caption("the data does not record this stage")
        else:
            st.metric(
                "MQL → opportunity",
                fmt.value(m["rate"] if m["rate"] is not None else float("nan"), "rate"),
                help=glossary.mql_to_opportunity(contract, view["window_days"]) + " " + glossary.wilson(),
                border=True,
            )
            ci = f" · 95% CI {m['rate_low']:.1%}–{m['rate_high']:.1%}" if m["rate_low"] is not None else ""
            st.caption(
                f"{m['n_to_opportunity']:,} of {m['n']:,} MQLs{ci}"
                + (" · small group" if m["n"] < SMALL else "")
            )
    with columns[1]:
        days = m["days"] if m else {"median": None, "p75": None, "p90": None, "n": 0}
        st.metric(
            "Days to opportunity",
            _days(days["median"]),
            help=glossary.mql_to_opportunity_days(),
            border=True,
        )
        st.caption(
            f"median days from MQL · p75 {_days(days['p75'])} · p90 {_days(days['p90'])} days · {days['n']:,} MQLs"
            + (" · small group" if days["n"] < SMALL else "")
        )
    with columns[2]:
        share = o["sales_sourced_share"]
        st.metric(
            "Sales-sourced",
            fmt.value(share if share is not None else float("nan"), "rate"),
            help=glossary.sales_sourced(),
            border=True,
        )
        st.caption(
            f"{o['n_sales_sourced']:,} of {o['n']:,} with no Marketing-touched contact"
            + (f" · {o['n_without_contacts']:,} with no contact known" if o["n_without_contacts"] else "")
        )
    with columns[3]:
        contacts = o["contacts"]
        st.metric(
            "Buying group size",
            _days(contacts["mean"]),
            help=glossary.buying_group(),
            border=True,
        )
        st.caption(
            f"contacts per opportunity, median {_days(contacts['median'])} · "
            f"{o['n_with_role']:,} with a contact role"
        )
    if m is not None and m["n"]:
        st.caption(
            f"{m['n_to_account_opportunity']:,} of {m['n']:,} MQLs had an opportunity created on "
            "their account (their own or the one matched) in the same span, whoever is on it."
        )
    roles = pd.DataFrame(
        [
            {
                "Role": r["role"],
                "Opportunities with one": r["n_opportunities"],
                "Share of opportunities": r["share"],
                "Contacts in the role": r["n_contacts"],
            }
            for r in o["roles"]
        ]
    )
    distribution = ", ".join(f"{n:,} with {k}" for k, n in contacts["distribution"].items())
    st.markdown("**Buying groups: roles covered**", help=glossary.buying_group())
    st.caption(f"Contacts per opportunity: {distribution}.")
    if roles.empty:
        st.text("No contact roles in this data for these opportunities.")
    else:
        st.dataframe(
            roles,
            hide_index=True,
            column_config={
                "Share of opportunities": st.column_config.NumberColumn(format="percent"),
                "Role": st.column_config.TextColumn(),
            },
        )
    return roles, _accounts(view["accounts"], accounts, matched)


def _accounts_table(counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"How the lead got its account": label, "Leads": counts[k]} for k, label in MATCH_KINDS]
    )


def _accounts(counts: dict[str, int], table: pd.DataFrame, matched: pd.DataFrame) -> pd.DataFrame:
    """The accounts caption and table, and the leads matched with their rule; returns those."""
    n_matched = counts["domain"] + counts["name"] + counts["domain_and_name"]
    n_converted = counts["converted_account"] + counts["converted_opportunity"]
    unresolved = counts["ambiguous"] + counts["conflict"]
    st.markdown("**Leads' accounts (the whole store)**", help=glossary.account_matching())
    st.caption(
        f"{counts['record']:,} named by their own record, {n_converted:,} by the account or opportunity "
        f"they were converted into, {n_matched:,} matched by email domain or company "
        f"name, {unresolved:,} left unmatched because the evidence is ambiguous or conflicting "
        "(listed under data quality on the Data page), "
        f"{counts['none']:,} with no account."
    )
    st.dataframe(table, hide_index=True)
    rules = {k: label for k, label in MATCH_KINDS}
    shown = matched.drop(columns="n_total").rename(columns=MATCHED_COLUMNS)
    shown["Rule"] = shown["Rule"].map(rules)
    if len(matched):
        total = int(matched["n_total"].iloc[0])
        with st.expander(f"Leads matched to an account: {total:,}"):
            st.caption(
                "Each lead with the rule that matched it and what it matched on"
                + (f" (first {len(matched):,} shown)." if total > len(matched) else ".")
            )
            st.dataframe(shown, hide_index=True)
    return shown
