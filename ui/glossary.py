"""Definitions in words, for the help tooltip next to every figure and for the Definitions page.

Each text follows docs/design.md "Definitions" and reads its numbers (window, skip policy,
SLA) and stage names from the store's contract, so the words never drift from what is computed.
A `window_days` argument is the view's window: a number of days, None for no window, or left
out for the contract's own.
"""

from __future__ import annotations

from data.contract import Contract
from reports.format import window_phrase  # noqa: F401  (one definition, shared with reports)

CONTRACT = object()  # "the contract's own window" (a view may set another, or none)


def _window(contract: Contract, window_days) -> int | None:
    return contract.conversion_window_days if window_days is CONTRACT else window_days


def cohort(contract: Contract, window_days=CONTRACT) -> str:
    w = _window(contract, window_days)
    first = (contract.tracked_stages or contract.stages)[0].label
    when = (
        f"within {w} days of its start, even after the range ended"
        if w is not None
        else "at any time by the as-of date (no conversion window)"
    )
    return (
        "Cohort: the leads whose journey started in the chosen date range (start = their first "
        f"{first} entry, or their earliest entry if they began at a later stage). A stage counts "
        f"as reached when the lead got there {when}."
    )


def reached(contract: Contract, policy: str | None = None) -> str:
    policy = policy or contract.skip_policy
    if policy == "strict":
        first = (contract.tracked_stages or contract.stages)[0].label
        return (
            f"Reached (strict): only leads with a {first} entry are counted, and a stage counts "
            "only when the lead entered every recorded stage before it, in order."
        )
    return (
        "Reached (implied): a lead reached a stage if it got to that stage or any later one in "
        "time. Passing a stage without an event of its own counts as a skip, shown separately."
    )


def step_rate() -> str:
    return "Step rate: reached this stage ÷ reached the stage before, for the same leads."


def overall_rate(contract: Contract) -> str:
    first = (contract.tracked_stages or contract.stages)[0].label
    return f"Overall rate: reached this stage ÷ reached the first stage ({first}), for the same leads."


def wilson() -> str:
    return (
        "Every rate has a 95% Wilson interval: the range the true rate plausibly lies in given "
        "how few leads it rests on. A rate, interval or percentile over fewer than 30 is flagged "
        "“small n (<30)”."
    )


def immature(contract: Contract, window_days=CONTRACT) -> str:
    w = _window(contract, window_days)
    if w is None:
        return (
            "Open: with no conversion window a cohort is never final by time alone; leads still "
            "in progress may yet convert, so its rates can still rise."
        )
    return (
        f"Immature: the cohort's {w}-day window is still open on the as-of date (end of range + "
        f"{w} days is later), so leads still in progress may yet convert. Its rates can still "
        "rise and are not final."
    )


def noise() -> str:
    return (
        "Change vs the previous period of equal length. Rates are compared with a two-proportion "
        "test and counts with a test on the two counts; 'outside the noise' means p < 0.05. A "
        "change inside the noise can be chance."
    )


def fair_comparison() -> str:
    return (
        "Fair comparison: the two periods are compared at equal age, each one's conversion within "
        "the same number of days since each lead's start (the window once this period is mature, "
        "else the age of its youngest lead). A figure whose period is still immature, or whose "
        "previous period begins before the store's first data, is marked and gets no noise verdict."
    )


def flow() -> str:
    return (
        "Flow: entries into each stage during the date range, whoever the leads are. A ratio "
        "between two stages compares different leads, so it is not a conversion rate. "
        "Re-entries (recycled leads coming back) are counted apart, never as new conversions."
    )


def stage_time() -> str:
    return (
        "Days from a lead's entry into a stage until it reached the next one, over the cohort's "
        "leads that made the move in time: median, with the p75–p90 range (a quarter of the "
        "leads are slower than p75, a tenth slower than p90). The total lead-to-won time is its "
        "own median, not a sum of the steps."
    )


def dropped(contract: Contract, window_days=CONTRACT) -> str:
    w = _window(contract, window_days)
    over = f" or its {w}-day window is over" if w is not None else ""
    return (
        "Dropped: the lead did not reach the next stage and left the journey (an exit)"
        f"{over}. In progress: neither yet; never counted as dropped."
    )


def win_rate(contract: Contract) -> str:
    won = contract.stages[-1].label
    lost = ", ".join(e.label for e in contract.exits if e.kind == "lost") or "a lost exit"
    return (
        f"Win rate: {won} ÷ ({won} + {lost}) among the cohort's leads with an outcome in time. "
        "Open leads and other exits (rejected, disqualified, recycled) are not outcomes and are "
        "left out; lost is an outcome, not an 'other drop'."
    )


def not_recorded(label: str) -> str:
    return (
        f"{label}: not recorded in this data. No event in the store records this stage, so it is "
        "never counted and never filled in by the skip policy; rates run between the stages "
        "that are recorded."
    )


def revenue(contract: Contract) -> str:
    last = contract.stages[-1].label
    return (
        f"Revenue: the deal amounts at '{last}' of the cohort's leads that won in time, per "
        "currency: amounts in different currencies are never added up."
    )


# --- the bridge between the grains (docs/design.md "The bridge between the grains") ------------


def mql_to_opportunity(contract: Contract, window_days=CONTRACT) -> str:
    w = _window(contract, window_days)
    handoff = contract.handoff.label if contract.handoff else "the handoff stage"
    span = f"within {w} days of it" if w is not None else "at any time (no conversion window)"
    return (
        f"MQL → opportunity: of the leads whose own entry into {handoff} falls in the range "
        "(the MQLs of the range; a skipped stage never counts), those that led to an opportunity "
        "as the lead it was converted from or as one of its contacts, the opportunity created on "
        f"or after the MQL entry, {span} and by the as-of date. An opportunity is created at the "
        "earlier of its record's created date and its first stage."
    )


def mql_to_opportunity_days() -> str:
    return (
        "Days to opportunity: days from the MQL entry to the creation of the first opportunity it led to, over the MQLs "
        "that led to one: median, with the p75–p90 range (a quarter took longer than p75, a "
        "tenth longer than p90)."
    )


def account_opportunity() -> str:
    return (
        "MQLs with an opportunity on their account: MQLs whose account (their record's, or the one "
        "their email domain or company name matched) had an opportunity created in the same span, "
        "whoever is on it."
    )


def sales_sourced() -> str:
    return (
        "Sales-sourced: an opportunity created in the range with no Marketing-touched contact. A "
        "contact (the lead it was converted from, or a contact role) is Marketing-touched when it "
        "has an event or a touch made by Marketing on or before the opportunity's creation. An "
        "opportunity with no contact known at all counts as Sales-sourced and is counted apart."
    )


def buying_group() -> str:
    return (
        "Buying group size: the mean number of contacts per opportunity created in the range "
        "(its contacts: the lead it was converted from and its contact roles, each person once, "
        "as the CRM lists them now). Role coverage: the share of those opportunities with at "
        "least one contact in a role, "
        "for every role the data names (compared ignoring case): the CRM's contact roles or "
        "association labels only; the lead an opportunity was converted from is a person on it, "
        "not a role."
    )


def account_matching() -> str:
    return (
        "A lead's account: the one its record names; else the account it was converted into (or "
        "that of the opportunity it was converted into); else the one account its email domain (never "
        "a free-mail domain such as gmail.com) or its company name points to, the name compared "
        "without case, punctuation or legal forms (Inc, Ltd, GmbH, S.A., ...). Accounts are those "
        "of the accounts list and those other leads already name. When the evidence points to "
        "several accounts, or the domain to one and the name to another, the lead gets none: it is "
        "listed on the Data page under data quality, never guessed."
    )
