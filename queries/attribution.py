"""Revenue attribution across touches: six models side by side, and sourced vs influenced deals.

Weights are computed in DuckDB (queries/sql/attribution_credits.sql, window functions); only
the aggregated rows (one per channel, campaign or content) reach pandas. Every model's credits
for a deal sum to the deal's amount, and deals without a counted touch credit "(no touch)", so
each model's column sums to the same total as the deals' amounts (see docs/content.md).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd

from data import contract as contract_mod
from data.contract import Contract
from queries import contracts, cube, executor, funnel
from queries.filters import FilterError, Filters

# (key, label): the order in which models are shown.
MODELS = (
    ("first_touch", "First touch"),
    ("last_touch", "Last touch"),
    ("linear", "Linear"),
    ("u_shaped", "U-shaped (40/20/40)"),
    ("w_shaped", "W-shaped (30/30/30 + 10)"),
    ("time_decay", "Time decay"),
)
CREDIT_COLUMNS = [f"credit_{key}" for key, _ in MODELS]

# What credits can be grouped by. Keys reach SQL only as a bound value compared in a `case`;
# anything else is refused here first.
DIMENSIONS = {
    "channel": "Channel (the lead's)",
    "campaign": "Campaign",
    "content": "Content",
    "content_kind": "Content kind",
    "touch_team": "Team that made the touch",
    "deal": "Deal",
    "touch": "Touch",
}
BASES = {
    "revenue": "Revenue: deals won in the range",
    "pipeline": "Pipeline: opportunities opened in the range",
}
DEFAULT_HALF_LIFE_DAYS = 7.0
MAX_HALF_LIFE_DAYS = 3650.0
NO_TOUCH = "(no touch)"
# Team names as written in touches.team and content.team (the schema's vocabulary).
MARKETING = "marketing"
SALES = "sales"
AMOUNT_EVENT = "amount"


def deal_params(contract: Contract) -> dict:
    """Bound parameters that identify deals from the contract: never hard-coded stage keys.

    The opportunity stage is the one before the last (won) stage; an exit event that carries
    a deal id closes the deal lost.
    """
    for team in (MARKETING, SALES):
        if team not in contract.teams:
            raise contract_mod.ContractError(
                f"teams: touches and content name the team {team!r}, which funnel.toml does not list"
            )
    return {
        "opportunity_stage": contract.stage_keys[-2],
        "won_stage": contract.stage_keys[-1],
        "exit_keys": contract.exit_keys,
        "amount_event": AMOUNT_EVENT,
        "marketing_team": MARKETING,
        "sales_team": SALES,
        "n_stages": len(contract.stages),
        "stage_keys": contract.stage_keys,
    }


DEAL_QUERIES = ("attribution_credits", "attribution_deal_outcomes")


def run(
    name: str, filters: Filters, contract: Contract, as_of: dt.datetime, db: Path | None, **extra
) -> pd.DataFrame:
    """Run one content or attribution query with the shared filter and deal parameters."""
    available = filters.params(contract, as_of)
    available.update(deal_params(contract))
    available.update(extra)
    available["is_past"] = as_of < funnel.latest_event_at(db)
    # At the latest date every deal's facts are the same whatever the view: DEAL_QUERIES read
    # them from the rows kept per store version (queries/cube.py DEALS) once they are built.
    if name in cube.DEALS:
        summed = cube.deals(name, available, db)
        if summed is not None:
            return summed
    # Likewise every counted touch on content (cube.ROWS): a view takes those of its range.
    if name in cube.ROWS:
        summed = cube.answer(name, available, True, db)
        if summed is not None:
            return summed
    # DEAL_QUERIES read the deals defined once in attribution_deals.sql: {{ ref() }} in their SQL.
    return executor.run(name, executor.bind(name, available), db=db)


def check_basis(basis: str) -> str:
    if basis not in BASES:
        raise FilterError(f"attribution basis: expected one of {list(BASES)}, got {basis!r}")
    return basis


def check_half_life(half_life_days) -> float:
    if (
        isinstance(half_life_days, bool)
        or not isinstance(half_life_days, int | float)
        or not (0 < half_life_days <= MAX_HALF_LIFE_DAYS)
        or math.isnan(half_life_days)
    ):
        raise FilterError(
            f"time-decay half-life: expected a number of days above 0 and at most "
            f"{MAX_HALF_LIFE_DAYS:.0f}, got {half_life_days!r}"
        )
    return float(half_life_days)


def credits(
    filters: Filters,
    by: str = "content",
    basis: str = "revenue",
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    sourced_by: str | None = None,
    db: Path | None = None,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """Credit per group under each model: one row per group, largest linear credit first.

    `sourced_by` (None = all deals, or a team of funnel.toml) keeps the deals that team sourced
    (see sourcing()), so Marketing-sourced and Sales-sourced revenue can be attributed apart.

    Columns: group_key (channel, campaign, content_id, content kind, touch team, deal_id or
    touch_id; "(no touch)" for deals without a counted touch), label (the content title for
    content, else the key), n_deals (deals with a touch in the group), n_touches, and
    credit_first_touch, credit_last_touch, credit_linear, credit_u_shaped, credit_w_shaped,
    credit_time_decay (currency). Each credit column sums to the total amount of the deals.
    attrs: as_of, basis, half_life_days, by, sourced_by, total_amount (sum of the deals'
    amounts).
    """
    if by not in DIMENSIONS:
        raise FilterError(f"cannot attribute by {by!r}; choose one of {sorted(DIMENSIONS)}")
    basis = check_basis(basis)
    half_life_days = check_half_life(half_life_days)
    contract = contract or contracts.current(db).effective()
    if sourced_by is not None and sourced_by not in contract.teams:
        raise FilterError(f"sourced by: expected one of {list(contract.teams)} or all, got {sourced_by!r}")
    as_of = funnel.resolve_as_of(filters, db)
    df = run(
        "attribution_credits",
        filters,
        contract,
        as_of,
        db,
        by=by,
        basis=basis,
        half_life_days=half_life_days,
        sourced_by=sourced_by,
        deal_by=None,
    )
    df.insert(1, "label", df["content_title"].fillna(df["group_key"]))
    df = df.drop(columns="content_title")
    df[["n_deals", "n_touches"]] = df[["n_deals", "n_touches"]].astype("int64")
    df[CREDIT_COLUMNS] = df[CREDIT_COLUMNS].astype(float)
    df.attrs.update(
        as_of=as_of,
        basis=basis,
        half_life_days=half_life_days,
        by=by,
        sourced_by=sourced_by,
        total_amount=float(df["credit_linear"].sum()) if len(df) else 0.0,
    )
    return df


def models_agree(df: pd.DataFrame, tolerance: float = 0.01) -> bool:
    """True when every model gives every group of credits() the same credit (within
    `tolerance`, in currency): the grouping cannot tell the models apart.

    Always so per channel (a touch has no channel of its own, so a deal's whole amount stays in
    its lead's channel), and per campaign when no touch carries a campaign of its own.
    """
    if df.empty:
        return False
    values = df[CREDIT_COLUMNS]
    return bool(((values.max(axis=1) - values.min(axis=1)) <= tolerance).all())


def credits_long(df: pd.DataFrame) -> pd.DataFrame:
    """credits() reshaped for a chart: one row per (group, model).

    Columns: group_key, label, model, model_label, credit, share (of the model's total, 0-1).
    """
    if df.empty:
        return pd.DataFrame(columns=["group_key", "label", "model", "model_label", "credit", "share"])
    long = df.melt(
        id_vars=["group_key", "label"], value_vars=CREDIT_COLUMNS, var_name="model", value_name="credit"
    )
    long["model"] = long["model"].str.removeprefix("credit_")
    long["model_label"] = long["model"].map(dict(MODELS))
    totals = long.groupby("model")["credit"].transform("sum")
    long["share"] = long["credit"] / totals.where(totals != 0)
    return long


def deal_outcomes(
    filters: Filters,
    contract: Contract,
    as_of: dt.datetime,
    db: Path | None,
    basis: str,
    deal_by: str | None = None,
) -> pd.DataFrame:
    """Deal counts and amounts by outcome flags: one row per (group_value, sourced_by,
    is_influenced, is_shared), from attribution_deal_outcomes.sql (the deals of credits()).

    `deal_by` must already be checked against queries.filters.ATTRIBUTES. Columns:
    group_value (None without deal_by), sourced_by, is_influenced, is_shared, n_deals, n_won,
    n_closed (won or lost), amount. sourcing() and content.sales_content_use() sum these few
    rows further.
    """
    df = run(
        "attribution_deal_outcomes",
        filters,
        contract,
        as_of,
        db,
        basis=basis,
        deal_by=deal_by,
        sourced_by=None,
    )
    df[["n_deals", "n_won", "n_closed"]] = df[["n_deals", "n_won", "n_closed"]].astype("int64")
    df["amount"] = df["amount"].astype(float)
    return df


def sourcing(
    filters: Filters,
    basis: str = "revenue",
    db: Path | None = None,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """Sourced and influenced deals: one row per (sourced_by, is_influenced).

    Columns: sourced_by (the team named on the lead's first stage event, "marketing" when it
    names none), is_influenced (a Marketing touch or a touch on Marketing content
    before the deal closed), n_deals, n_won, amount (currency), share_of_amount (0-1).
    attrs: as_of, basis, total_amount (equals every credit column's total in credits()).
    """
    basis = check_basis(basis)
    contract = contract or contracts.current(db).effective()
    as_of = funnel.resolve_as_of(filters, db)
    outcomes = deal_outcomes(filters, contract, as_of, db, basis)
    df = (
        outcomes.groupby(["sourced_by", "is_influenced"], as_index=False)[["n_deals", "n_won", "amount"]]
        .sum()
        .sort_values(["sourced_by", "is_influenced"], ascending=[True, False], ignore_index=True)
    )
    total = float(df["amount"].sum()) if len(df) else 0.0
    df["share_of_amount"] = df["amount"] / total if total else math.nan
    df.attrs.update(as_of=as_of, basis=basis, total_amount=total)
    return df


def sourcing_summary(df: pd.DataFrame) -> pd.DataFrame:
    """sourcing() per sourcing team: one row per sourced_by.

    Columns: sourced_by, n_deals, amount, n_influenced, influenced_amount, influenced_share
    (share of the amount with a Marketing touch before close, 0-1).
    """
    if df.empty:
        return pd.DataFrame(
            columns=[
                "sourced_by",
                "n_deals",
                "amount",
                "n_influenced",
                "influenced_amount",
                "influenced_share",
            ]
        )
    infl = df[df["is_influenced"]]
    out = df.groupby("sourced_by", as_index=False)[["n_deals", "amount"]].sum()
    out = out.merge(
        infl.groupby("sourced_by", as_index=False)[["n_deals", "amount"]].sum(),
        on="sourced_by",
        how="left",
        suffixes=("", "_infl"),
    ).fillna({"n_deals_infl": 0, "amount_infl": 0.0})
    out = out.rename(columns={"n_deals_infl": "n_influenced", "amount_infl": "influenced_amount"})
    out["n_influenced"] = out["n_influenced"].astype("int64")
    out["influenced_share"] = out["influenced_amount"] / out["amount"].where(out["amount"] != 0)
    return out
