"""The bridge between the grains: MQLs that led to an opportunity and how long it took,
Sales-sourced opportunities, buying groups and how leads were given their account.

Readers over queries/sql/bridge_*.sql and the tables data/bridge.py and data/accounts.py build
with the journeys; view() puts them together for Funnel health's Bridge section and the
summary's `bridge`. Definitions: docs/design.md "The bridge between the grains" and "Account
matching"; the page shows them in words (ui/glossary.py).

A bridge view counts by the date things happened in the range, whatever the sidebar's grain:
the MQLs whose handoff entry falls in it, the opportunities created in it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import contracts, cube, executor, funnel, stats
from queries.filters import Filters

MAX_ROWS = 1_000  # matched leads listed; the count is always exact
CONTACT_BUCKETS = ("0", "1", "2", "3", "4+")
# account_matches' rules and statuses (data/accounts.py), in the order they are shown.
MATCH_KINDS = (
    ("record", "their own record names it"),
    ("converted_account", "the account they were converted into"),
    ("converted_opportunity", "the account of the opportunity they were converted into"),
    ("domain", "matched by email domain"),
    ("name", "matched by company name"),
    ("domain_and_name", "matched by email domain and company name"),
    ("ambiguous", "ambiguous: several accounts (not matched)"),
    ("conflict", "conflicting: domain and name disagree (not matched)"),
    ("none", "no account"),
)


def _run(name: str, available: dict, db: Path | None, standard_window: bool = True) -> pd.DataFrame:
    """Query `name` for the view: at the latest date from the rows kept whole for it
    (queries/cube.py ROWS: the MQLs, the opportunities), which a view takes by its range and
    list filters; else over the layouts. The opportunities of a view are defined once, in
    bridge_opportunity_rows.sql, which these files read with {{ ref() }}."""
    available = {**available, "is_past": available["as_of"] < funnel.latest_event_at(db)}
    kept = cube.answer(name, available, standard_window, db)
    if kept is not None:
        return kept
    return executor.run(name, executor.bind(name, available), db=db)


def handoff_order(contract: Contract) -> int | None:
    """The handoff stage's position among the lead grain's tracked stages (its journey_stages
    stage_order); None when the contract has no handoff or the data does not record it."""
    lead = contract.effective()
    if not lead.handoff_stage or not contract.is_tracked(lead.handoff_stage):
        return None
    return lead.stage(lead.handoff_stage).order


def _params(filters: Filters, contract: Contract, db: Path | None) -> dict:
    return filters.params(contract, funnel.resolve_as_of(filters, db))


def facts(db: Path | None = None) -> dict[str, int]:
    """{n_opportunities, n_linked, n_contact_roles}: what the store holds to bridge (bridge_facts.sql)."""
    row = executor.run("bridge_facts", db=db).iloc[0]
    return {k: int(row[k]) for k in ("n_opportunities", "n_linked", "n_contact_roles")}


def mqls_to_opportunities(
    filters: Filters, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """MQLs of the range and the opportunities they led to: one row.

    Columns: n_mqls, n_to_opportunity, median_days, p75_days, p90_days (MQL entry → creation
    of the first opportunity it led to), n_to_account_opportunity (see bridge_mqls.sql).
    Empty when the data does not record the handoff stage.
    """
    contract = contract or contracts.current(db)
    order = handoff_order(contract)
    if order is None:
        return pd.DataFrame()
    params = _params(filters, contract, db) | {"handoff_order": order}
    return _run("bridge_mqls", params, db, filters.window(contract) == contract.conversion_window_days)


def opportunities(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Sourcing and buying groups of the opportunities created in the range: one row.

    Columns: n_opportunities, n_marketing_touched, n_sales_sourced, n_without_contacts,
    n_contacts_0 … n_contacts_4_plus, mean_contacts, median_contacts, n_with_role
    (bridge_opportunities.sql).
    """
    contract = contract or contracts.current(db)
    return _run("bridge_opportunities", _params(filters, contract, db), db)


def roles(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Buying-group coverage: one row per contact role on the opportunities created in the range,
    most covered first. Columns: role_key, role, n_opportunities, n_contacts (bridge_roles.sql)."""
    contract = contract or contracts.current(db)
    return _run("bridge_roles", _params(filters, contract, db), db)


_ACCOUNTS: dict[tuple[str, str], pd.DataFrame] = {}  # (store, version) -> account_matches()
_ACCOUNTS_LOCK = threading.Lock()


def account_matches(db: Path | None = None) -> pd.DataFrame:
    """How the store's leads got their account: one row per (status, rule). Columns: status,
    rule, n_leads (bridge_accounts.sql).

    It counts the whole store, whatever the view, so it is worked out once per store version
    (100 ms at 1M leads, which every new set of filters on Funnel health paid again); a copy is
    returned, so no caller can change the kept frame."""
    key = (str(db), executor.store_version(db))
    with _ACCOUNTS_LOCK:
        found = _ACCOUNTS.get(key)
    if found is None:
        found = executor.run("bridge_accounts", db=db)
        with _ACCOUNTS_LOCK:
            if len(_ACCOUNTS) > 16:  # a few store versions at a time are enough
                _ACCOUNTS.clear()
            _ACCOUNTS[key] = found
    return found.copy()


def matched_leads(db: Path | None = None) -> pd.DataFrame:
    """Leads given an account by matching, with the rule (at most MAX_ROWS; n_total counts
    all). Columns: lead_id, lead_name, company, email_domain, company_key, account_id,
    account_name, rule, n_total (bridge_matched_leads.sql)."""
    return executor.run("bridge_matched_leads", {"max_rows": MAX_ROWS}, db=db)


def account_counts(df: pd.DataFrame) -> dict[str, int]:
    """account_matches() as {kind: leads} for every kind of MATCH_KINDS (zeros included):
    matched leads by rule, unresolved ones by status, and leads with no account."""
    out = dict.fromkeys((k for k, _ in MATCH_KINDS), 0)
    for r in df.itertuples():
        key = r.rule if r.status == "matched" else r.status
        out[key] = out.get(key, 0) + int(r.n_leads)
    return out


def _int(value) -> int:
    return 0 if value is None or pd.isna(value) else int(value)


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def view(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> dict:
    """The Bridge of one view, as plain values (the page and the summary show the same):

    has_opportunities   the store holds opportunities of their own (deal ids); without them
                        there is nothing to bridge and `mqls` and `opportunities` are None
    window_days         the window an MQL has to lead to an opportunity (None: no window)
    mqls                None when the handoff stage is not recorded; else n, n_to_opportunity,
                        rate (n_to_opportunity / n) with rate_low, rate_high (95% Wilson),
                        days {median, p75, p90, n}, n_to_account_opportunity, account_rate
    opportunities       n, n_marketing_touched, n_sales_sourced, sales_sourced_share (0-1),
                        n_without_contacts, contacts {mean, median, distribution
                        {"0", "1", "2", "3", "4+": opportunities}}, n_with_role, roles [{role,
                        n_opportunities, share (of n), n_contacts}], most covered first
    accounts            {record, converted_account, converted_opportunity, domain, name,
                        domain_and_name, ambiguous, conflict, none}:
                        leads of the whole store by how they got their account
    """
    contract = contract or contracts.current(db)
    held = facts(db)
    out: dict = {
        "has_opportunities": held["n_opportunities"] > 0,
        "window_days": filters.window(contract),
        "mqls": None,
        "opportunities": None,
        "accounts": account_counts(account_matches(db)),
    }
    if not out["has_opportunities"]:
        return out
    m = mqls_to_opportunities(filters, db=db, contract=contract)
    if len(m):
        r = m.iloc[0]
        n, led = _int(r["n_mqls"]), _int(r["n_to_opportunity"])
        low, high = stats.wilson(led, n)
        to_account = _int(r["n_to_account_opportunity"])
        out["mqls"] = {
            "n": n,
            "n_to_opportunity": led,
            "rate": stats.rate(led, n) if n else None,
            "rate_low": low if n else None,
            "rate_high": high if n else None,
            "days": {
                "median": _float(r["median_days"]),
                "p75": _float(r["p75_days"]),
                "p90": _float(r["p90_days"]),
                "n": led,
            },
            "n_to_account_opportunity": to_account,
            "account_rate": stats.rate(to_account, n) if n else None,
        }
    o = opportunities(filters, db=db, contract=contract).iloc[0]
    n = _int(o["n_opportunities"])
    role_rows = roles(filters, db=db, contract=contract)
    out["opportunities"] = {
        "n": n,
        "n_marketing_touched": _int(o["n_marketing_touched"]),
        "n_sales_sourced": _int(o["n_sales_sourced"]),
        "sales_sourced_share": stats.rate(_int(o["n_sales_sourced"]), n) if n else None,
        "n_without_contacts": _int(o["n_without_contacts"]),
        "contacts": {
            "mean": _float(o["mean_contacts"]),
            "median": _float(o["median_contacts"]),
            "distribution": {
                bucket: _int(o[f"n_contacts_{bucket.replace('+', '_plus')}"]) for bucket in CONTACT_BUCKETS
            },
        },
        "n_with_role": _int(o["n_with_role"]),
        "roles": [
            {
                "role": r.role,
                "n_opportunities": int(r.n_opportunities),
                "share": int(r.n_opportunities) / n if n else None,
                "n_contacts": int(r.n_contacts),
            }
            for r in role_rows.itertuples()
        ],
    }
    return out
