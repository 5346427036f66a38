"""Definitions in words, for the help tooltip next to every figure and for the Definitions page.

Each text follows ../shared/DESIGN.md "Definitions that must be exact" and reads its numbers
(window, skip policy, SLA) from the contract, so the words never drift from what is computed.
"""

from __future__ import annotations

from data.contract import Contract


def cohort(contract: Contract, window_days: int | None = None) -> str:
    w = window_days or contract.conversion_window_days
    return (
        "Cohort: the leads whose journey started in the chosen date range (start = their first "
        "Lead entry, or their earliest entry if they began at a later stage). A stage counts as "
        f"reached when the lead got there within {w} days of its start, even after the range ended."
    )


def reached(contract: Contract, policy: str | None = None) -> str:
    policy = policy or contract.skip_policy
    if policy == "strict":
        return (
            "Reached (strict): only leads with a Lead entry are counted, and a stage counts only "
            "when the lead entered every stage before it, in order."
        )
    return (
        "Reached (implied): a lead reached a stage if it got to that stage or any later one in "
        "time. Passing a stage without an event of its own counts as a skip, shown separately."
    )


def step_rate() -> str:
    return "Step rate: reached this stage ÷ reached the stage before, for the same leads."


def overall_rate(contract: Contract) -> str:
    first = contract.stages[0].label
    return f"Overall rate: reached this stage ÷ reached the first stage ({first}), for the same leads."


def wilson() -> str:
    return (
        "Every rate has a 95% Wilson interval: the range the true rate plausibly lies in given "
        "how few leads it rests on. Groups under 30 leads are flagged as small."
    )


def immature(contract: Contract, window_days: int | None = None) -> str:
    w = window_days or contract.conversion_window_days
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


def dropped(contract: Contract, window_days: int | None = None) -> str:
    w = window_days or contract.conversion_window_days
    return (
        "Dropped: the lead did not reach the next stage and either left the journey (an exit) or "
        f"its {w}-day window is over. In progress: neither yet; never counted as dropped."
    )


def revenue(contract: Contract) -> str:
    last = contract.stages[-1].label
    return f"Revenue: the deal amounts at '{last}' of the cohort's leads that won within the window."
