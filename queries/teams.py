"""Teams and handoff: every drop-off charged to the team that owns it, and the handoff SLA.

Readers over queries/sql/teams_*.sql. Counts and percentiles come from DuckDB; shares, labels,
categories and Wilson intervals are computed here on the few aggregated rows.
Definitions (docs/design.md "Drop-off and who owns it", written out in docs/teams.md):

- A cohort lead that last reached stage k in time (cohort_funnel's sense) and then exited, or
  outlived its window, dropped at k -> k+1. An MQL Sales never acted on within the SLA (and did
  not exit itself) is charged to Sales first, whatever its reason code. Any other drop is charged
  to the owner of that transition in funnel.toml, unless the reason code on its exit is charged
  to the other team.
- Loss kinds (first match wins) and the two categories the teams argue about:
  quality = rejected or disqualified for a reason charged to Marketing, split at the handoff
  into before (lead -> MQL: Marketing's own filtering) and after (MQL onward: what Sales turned
  down);
  follow-through = charged to Sales and one of: no Sales action within the handoff SLA,
  stalled past the stage's expected days, exited for a reason charged to Sales.
  Everything else is `other` (leads that never qualified, nurture, unknown reasons).

"Marketing" and "Sales" are read from the contract: Marketing is the team that owns the move into
the handoff stage, Sales the team that owns the move out of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pandas as pd

from data.contract import Contract
from data.contract import team_label as format_team
from queries import contracts, cube, executor, funnel, stats
from queries.filters import MAX_TEXT, FilterError, Filters, attribute_column

# Exit kinds the definitions name (docs/design.md "Exits"); the contract says which of its exits
# is of which kind.
QUALITY_EXITS = ("rejected", "disqualified")
REJECT_EXIT = "rejected"

# Loss kinds in the order the SQL applies them: key -> (label, definition).
LOSS_KINDS = {
    "quality": (
        "Lead quality",
        "Rejected or disqualified for a reason charged to Marketing (for example not_a_fit).",
    ),
    "no_action_in_sla": (
        "No action within the SLA",
        "Dropped at the handoff stage with no Sales action within the SLA (checked before any "
        "reason code: Marketing later recycling or disqualifying it does not move the charge), "
        "or Sales' own exit came later than the SLA (under the contract's \"breach\" rule whatever "
        'its reason; under "reason" one without a reason charged to Marketing).',
    ),
    "late_rejection": (
        "Rejected after the SLA",
        "Sales rejected or disqualified a handed-over lead for a reason charged to Marketing, but "
        "later than the SLA: both an SLA breach and a quality signal. The contract's blame rule "
        '(sla_rule) says which team it is charged to: Sales under "breach" (the default), '
        'Marketing under "reason".',
    ),
    "sales_reason": (
        "Exit charged to Sales",
        "Charged to Sales and exited for a reason charged to Sales (lost to a competitor, price, "
        "no decision, no follow-up).",
    ),
    "stalled": (
        "Stalled",
        "No exit: the lead sat in the stage longer than its expected days until its window ran out.",
    ),
    "window_ended": (
        "Window ended",
        "No exit: the window ran out before the stage's expected days had passed.",
    ),
    "other_exit": (
        "Other exit",
        "Any other exit: a reason charged to the other team outside the two categories (such as "
        "recycled as not_ready), an unknown or a missing reason code.",
    ),
}
FOLLOW_THROUGH_KINDS = ("no_action_in_sla", "late_rejection", "sales_reason", "stalled")
# Loss kinds that only happen at the handoff, and only where the SLA is measured.
HANDOFF_KINDS = ("no_action_in_sla", "late_rejection")
# Quality losses split at the handoff: before it, Marketing filtering its own leads (lead -> MQL);
# from the handoff stage on, MQLs (or later) rejected or disqualified for a reason charged to
# Marketing, which is what "Sales says the leads are bad" is about.
CATEGORIES = {
    "quality_after": "Quality loss after handoff (Marketing)",
    "quality_before": "Quality loss before handoff (Marketing)",
    "follow_through": "Follow-through loss (Sales)",
    "other": "Other drop",
}
MAX_ROWS = 50_000  # drill-down and stalled lists: more than this is not a list to read


@dataclasses.dataclass(frozen=True)
class Teams:
    """Which contract team plays which part in the definitions."""

    quality: str  # owns the move into the handoff stage (Marketing)
    follow: str  # owns the move out of the handoff stage (Sales)


def teams(contract: Contract) -> Teams:
    handoff = contract.handoff
    if handoff is None:
        # No handoff in this journey (or not recorded): the team owning the later moves follows
        # through, the other one answers for quality.
        follow = next((s.owner for s in reversed(contract.stages[:-1]) if s.owner), contract.teams[-1])
        quality = next((t for t in contract.teams if t != follow), follow)
        return Teams(quality=quality, follow=follow)
    follow = handoff.owner
    if handoff.order > 1:
        quality = contract.stages[handoff.order - 2].owner
    else:  # handoff at the first stage: nobody hands over, so "the other team"
        quality = next((t for t in contract.teams if t != follow), follow)
    return Teams(quality=quality, follow=follow)


def blame_rule(contract: Contract) -> str:
    """The blame rule as the Teams page states it, generated from the contract (its handoff, SLA,
    sla_rule and teams), so the words cannot disagree with the numbers teams_drops.sql computes."""
    roles = teams(contract)
    quality, follow = team_label(roles.quality), team_label(roles.follow)
    handoff = contract.handoff
    general = (
        "Any other drop is charged to the team that owns the move it did not make, unless the "
        "reason code on its exit is charged to the other team."
    )
    if handoff is None and contract.sla_recorded is None:
        return (
            f"This funnel has no stage where {quality} hands leads to {follow}, so there is no handoff "
            f"SLA: every drop is charged by the owner of its move and its reason code. {general}"
        )
    if handoff is None or not contract.sla_measured:
        where = f"after {handoff.label}" if handoff else "after the handoff"
        return (
            f"The handoff SLA is not measured: the data does not record the first action {where}, "
            f"so no drop is charged for the SLA. {general}"
        )
    sla = f"{contract.handoff_sla_hours:g}-hour SLA"
    unanswered = (
        f"A lead handed over at {handoff.label} that {follow} did not act on within the {sla} is "
        f"charged to {follow} first, whatever reason it later got."
    )
    if contract.sla_rule == "breach":
        late = (
            f'The contract puts the breach first (sla_rule = "breach"): when {follow} rejected or '
            f"disqualified it only after the SLA, the drop counts as an SLA breach by {follow} and is "
            f"charged to {follow} even if its reason is charged to {quality}; it is listed as "
            '"Rejected after the SLA", a quality signal too.'
        )
    else:
        late = (
            f'The contract lets the reason decide (sla_rule = "reason"): when {follow} rejected or '
            f"disqualified it only after the SLA, its reason code decides, so a reason charged to "
            f'{quality} charges {quality}; it is listed as "Rejected after the SLA" and still counts '
            "as an SLA breach in the handoff numbers."
        )
    return f"{unanswered} {late} {general}"


def charged_split(leak: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Drops per charged team for the view, from leakage() (or leakage_by_owner()): one row per
    team of the contract, in its order. Columns: team, label, n_dropped, share (of all drops;
    NaN when there are none); reports.format.charged_line() writes it as the line the Teams page
    leads with ("charged to Marketing: n (x%) · charged to Sales: m (y%)")."""
    sums = leak.groupby("charged_team")["n_dropped"].sum() if len(leak) else pd.Series(dtype="int64")
    total = int(sums.sum())
    rows = [
        {
            "team": t,
            "label": team_label(t),
            "n_dropped": int(sums.get(t, 0)),
            "share": int(sums.get(t, 0)) / total if total else math.nan,
        }
        for t in contract.teams
    ]
    df = pd.DataFrame(rows, columns=["team", "label", "n_dropped", "share"])
    df.attrs["n_total"] = total
    return df


QUALITY_CATEGORIES = ("quality_after", "quality_before")


def category(charged_team: str, loss_kind: str, stage_order: int, contract: Contract) -> str:
    """quality_after, quality_before, follow_through or other for a drop at stage_order ->
    stage_order + 1 charged to `charged_team` of `loss_kind`. A quality loss is "after handoff"
    from the handoff stage on, "before handoff" below it (Marketing's own filtering)."""
    if loss_kind == "quality":
        handoff_order = contract.handoff.order if contract.handoff else 1
        return "quality_after" if stage_order >= handoff_order else "quality_before"
    if loss_kind == "late_rejection":  # charged by the blame rule: a breach, or a quality loss
        return "follow_through" if charged_team == teams(contract).follow else "quality_after"
    if charged_team == teams(contract).follow and loss_kind in FOLLOW_THROUGH_KINDS:
        return "follow_through"
    return "other"


def contract_params(contract: Contract) -> dict:
    """The contract's mappings as bound parameters (no per-stage SQL text). The stages and the
    reason codes are small tables, bound as lists of rows that the SQL unnests once:
    $stage_rows (contracts.stage_rows) and $reason_rows, one row per reason code with the team
    it is charged to."""
    handoff = contract.handoff
    roles = teams(contract)
    return {
        "n_stages": len(contract.stages),
        "stage_keys": contract.stage_keys,
        "stage_rows": contracts.stage_rows(contract),
        # Never an empty list, which ClickHouse could not type: without reason codes, one row of
        # nulls, which no exit's reason matches.
        "reason_rows": [{"reason_code": r.key, "reason_team": r.charged_to} for r in contract.reason_codes]
        or [{"reason_code": None, "reason_team": None}],
        "exit_keys": contract.exit_keys,
        # The handoff whose SLA the data lets us measure (Contract.sla_measured); 0 when none, so
        # no stage matches and nothing is charged for the SLA or listed as a breach.
        "handoff_order": handoff.order if handoff and contract.sla_measured else 0,
        "handoff_key": handoff.key if handoff else "",
        "sla_hours": float(contract.handoff_sla_hours),
        "sla": dt.timedelta(hours=float(contract.handoff_sla_hours)),  # the same, as an interval
        # The blame rule: a late decision by Sales is charged to Sales first ("breach") or by
        # its reason code ("reason").
        "is_breach_first": contract.sla_rule == "breach",
        # Exits by their kind in the contract (its own keys and words); a kind the contract does
        # not have can never match: '' is no exit key, and the list keeps SQL valid.
        "quality_exits": contract.exit_keys_of(*QUALITY_EXITS) or [""],
        "reject_exit": next(iter(contract.exit_keys_of(REJECT_EXIT)), ""),
        "recycle_exit": contract.recycle_exit,
        "quality_team": roles.quality,
        "follow_team": roles.follow,
    }


# Queries that read a lead-level query: name -> the lead-level query it selects from. One file
# defines the rows (who dropped, charged to whom, why); the counts and the lists select from it.
LEAD_LEVEL = {
    "teams_leakage": "teams_drops",
    "teams_drop_leads": "teams_drops",
    "teams_handoff": "teams_handoffs",
    "teams_handoff_leads": "teams_handoffs",
    "teams_stalled": "teams_stalled_rows",
}


def _run(
    name: str, filters: Filters, contract: Contract, as_of: dt.datetime, db: Path | None, **extra
) -> pd.DataFrame:
    available = filters.params(contract, as_of)
    available.update(contract_params(contract), by=None, is_past=as_of < funnel.latest_event_at(db))
    available.update(extra)
    # A view at the latest date with the contract's window is answered from what is kept per
    # store version (queries/cube.py: the leakage and owner rollups, the kept handoff, drop and
    # stalled rows), without reading the journeys again.
    summed = cube.answer(name, available, filters.window(contract) == contract.conversion_window_days, db)
    if summed is not None:
        return summed
    # LEAD_LEVEL's queries read their base with {{ ref() }} in their SQL.
    return executor.run(name, executor.bind(name, available), db=db)


def _transition_frame(contract: Contract) -> pd.DataFrame:
    """One row per transition k -> k+1: stage_order, from_stage, to_stage, transition, owner."""
    s = contract.stages
    return pd.DataFrame(
        {
            "stage_order": [x.order for x in s[:-1]],
            "from_stage": [x.key for x in s[:-1]],
            "to_stage": [x.key for x in s[1:]],
            "transition": [f"{a.label} → {b.label}" for a, b in zip(s[:-1], s[1:], strict=True)],
            "transition_team": [x.owner for x in s[:-1]],
        }
    )


def _check_stage(contract: Contract, stage: str | None) -> int | None:
    if stage is None:
        return None
    keys = contract.stage_keys[:-1]
    if stage not in keys:
        raise FilterError(f"transition: expected the key of its first stage, one of {keys}; got {stage!r}")
    return contract.stage(stage).order


def _check_team(contract: Contract, team: str | None) -> str | None:
    if team is not None and team not in contract.teams:
        raise FilterError(f"team: expected one of {list(contract.teams)}, got {team!r}")
    return team


def _check_owner(owner_id: str | None) -> str | None:
    if owner_id is not None and (not isinstance(owner_id, str) or len(owner_id) > MAX_TEXT):
        raise FilterError(f"owner: expected an owner id of at most {MAX_TEXT} characters")
    return owner_id


def _check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ROWS:
        raise FilterError(f"rows: expected a whole number from 1 to {MAX_ROWS:,}, got {limit!r}")
    return limit


def _attrs(df: pd.DataFrame, filters: Filters, contract: Contract, as_of: dt.datetime) -> pd.DataFrame:
    df.attrs.update(
        as_of=as_of,
        window_days=filters.window(contract),
        skip_policy=filters.policy(contract),
        is_mature=funnel.is_mature(filters, contract, as_of),
    )
    return df


# --- leakage ------------------------------------------------------------------------------


def leakage_by_owner(
    filters: Filters, by: str | None = None, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Dropped cohort leads: one row per (transition, charged team, loss kind, drop owner),
    and per group of the lead attribute `by` when set (queries.filters.ATTRIBUTES).

    Columns: group_value (when `by` is set; "(none)" for a missing value), stage_order, from_stage, to_stage, transition, transition_team, charged_team,
    loss_kind, category, owner_id (null: unassigned), owner_name, n_dropped.
    The drop owner is the charged team's owner of the lead (its first event by that team).
    Summed per stage, n_dropped equals cohort_funnel's n_dropped for the same filters.
    """
    contract = contract or contracts.current(db).effective()
    if by is not None:
        attribute_column(by)  # refuses anything outside the allow-list before SQL runs
    as_of = funnel.resolve_as_of(filters, db)
    raw = _run("teams_leakage", filters, contract, as_of, db, by=by)
    df = _transition_frame(contract).merge(raw, on="stage_order", how="inner")
    df["category"] = [
        category(t, k, int(o), contract)
        for t, k, o in zip(df["charged_team"], df["loss_kind"], df["stage_order"], strict=True)
    ]
    df["n_dropped"] = df["n_dropped"].astype("int64")
    cols = [*_transition_frame(contract).columns, "charged_team", "loss_kind", "category"]
    cols += ["owner_id", "owner_name", "n_dropped"]
    if by is not None:
        df["group_value"] = df["group_value"].fillna("(none)")
        cols.insert(0, "group_value")
    return _attrs(df[cols].reset_index(drop=True), filters, contract, as_of)


def ungroup(by_owner: pd.DataFrame) -> pd.DataFrame:
    """leakage_by_owner(filters, by=...)'s rows summed over the groups: the same frame as
    leakage_by_owner(filters) (one row per transition, charged team, loss kind and drop owner),
    so a page that shows both the totals and a grouping runs the query once."""
    if "group_value" not in by_owner.columns:
        return by_owner
    keys = [c for c in by_owner.columns if c not in ("group_value", "n_dropped")]
    df = by_owner.groupby(keys, as_index=False, sort=False, dropna=False)["n_dropped"].sum()
    df = df.sort_values(["stage_order", "charged_team", "loss_kind", "owner_id"], na_position="last")
    df = df[keys + ["n_dropped"]].reset_index(drop=True)
    df.attrs.update(by_owner.attrs)
    return df


def leakage(
    filters: Filters, by: str | None = None, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Leakage by team: one row per (transition, charged team, loss kind) with drops, and per
    group of the lead attribute `by` when set. See summarise() for the columns."""
    contract = contract or contracts.current(db).effective()
    return summarise(leakage_by_owner(filters, by=by, db=db, contract=contract))


def summarise(by_owner: pd.DataFrame) -> pd.DataFrame:
    """leakage_by_owner's rows summed over owners: one row per (transition, charged team, loss
    kind), and per group_value when present.

    Columns: group_value (when grouped), stage_order, from_stage, to_stage, transition,
    transition_team, charged_team, loss_kind, loss_label, category, category_label, n_dropped,
    share_of_transition (of the transition's drops), share_of_all (of all drops; per group
    when grouped). attrs as leakage_by_owner's.
    """
    keys = ["stage_order", "from_stage", "to_stage", "transition", "transition_team"]
    keys += ["charged_team", "loss_kind", "category"]
    groups = ["group_value"] if "group_value" in by_owner.columns else []
    df = by_owner.groupby([*groups, *keys], as_index=False, sort=False)["n_dropped"].sum()
    df = df.sort_values([*groups, "stage_order", "charged_team", "loss_kind"]).reset_index(drop=True)
    df.insert(df.columns.get_loc("loss_kind") + 1, "loss_label", df["loss_kind"].map(_loss_label))
    df.insert(df.columns.get_loc("category") + 1, "category_label", df["category"].map(CATEGORIES))
    per_stage = df.groupby([*groups, "stage_order"])["n_dropped"].transform("sum")
    df["share_of_transition"] = df["n_dropped"] / per_stage
    total = df.groupby(groups)["n_dropped"].transform("sum") if groups else df["n_dropped"].sum()
    df["share_of_all"] = df["n_dropped"] / total
    df.attrs.update(by_owner.attrs)
    return df


def _loss_label(kind: str) -> str:
    return LOSS_KINDS.get(kind, (kind, ""))[0]


def by_team(leak: pd.DataFrame, contract: Contract | None = None) -> pd.DataFrame:
    """The leakage summed per charged team and category: one row per (team, category) that can
    apply to the team (applicable_categories), zeros included, teams in contract order.

    Columns: charged_team, category, category_label, n_dropped, share_of_team, share_of_all.
    """
    contract = contract or contracts.current().effective()
    grid = pd.DataFrame(
        [(t, c) for t in contract.teams for c in applicable_categories(t, contract)],
        columns=["charged_team", "category"],
    )
    sums = leak.groupby(["charged_team", "category"], as_index=False)["n_dropped"].sum()
    df = grid.merge(sums, on=["charged_team", "category"], how="left")
    df["n_dropped"] = df["n_dropped"].fillna(0).astype("int64")
    df.insert(2, "category_label", df["category"].map(CATEGORIES))
    team_total = df.groupby("charged_team")["n_dropped"].transform("sum")
    df["share_of_team"] = [n / t if t else math.nan for n, t in zip(df["n_dropped"], team_total, strict=True)]
    total = int(df["n_dropped"].sum())
    df["share_of_all"] = df["n_dropped"] / total if total else math.nan
    return df


def applicable_categories(team: str, contract: Contract) -> list[str]:
    """The categories a drop charged to `team` can fall in, in CATEGORIES order: quality losses
    are always Marketing's, follow-through losses always Sales', other drops either's."""
    roles = teams(contract)
    out = [c for c in QUALITY_CATEGORIES if team == roles.quality]
    out += ["follow_through"] if team == roles.follow else []
    return [c for c in CATEGORIES if c in out or c == "other"]


def categories_by_group(leak: pd.DataFrame) -> pd.DataFrame:
    """Drops per lead-attribute group and category, from `leakage(filters, by=...)`.

    One row per group_value, largest after-handoff quality signal first. Columns: group_value,
    n_quality_after, n_quality_before, n_follow_through, n_other, n_dropped,
    n_late_rejection (rejected after the SLA, whichever team the blame rule charged),
    n_rejected_for_quality (the after-handoff quality signal: quality losses after the handoff
    plus late rejections, each lead once), quality_after_share and follow_through_share (of the
    group's drops).
    """
    counts = [f"n_{c}" for c in CATEGORIES]
    extra = ["n_late_rejection", "n_rejected_for_quality"]
    if leak.empty:
        cols = ["group_value", *counts, "n_dropped", *extra]
        return pd.DataFrame(columns=[*cols, "quality_after_share", "follow_through_share"])
    wide = leak.pivot_table(
        index="group_value", columns="category", values="n_dropped", aggfunc="sum", fill_value=0
    )
    wide = wide.reindex(columns=list(CATEGORIES), fill_value=0).astype("int64")
    df = wide.rename(columns={c: f"n_{c}" for c in CATEGORIES}).reset_index()
    df.columns.name = None
    df["n_dropped"] = df[counts].sum(axis=1)
    late = leak["loss_kind"] == "late_rejection"
    signal = late | (leak["category"] == "quality_after")
    for col, rows in (("n_late_rejection", late), ("n_rejected_for_quality", signal)):
        per = leak[rows].groupby("group_value")["n_dropped"].sum()
        df[col] = df["group_value"].map(per).fillna(0).astype("int64")
    df["quality_after_share"] = df["n_quality_after"] / df["n_dropped"]
    df["follow_through_share"] = df["n_follow_through"] / df["n_dropped"]
    return df.sort_values(["n_rejected_for_quality", "group_value"], ascending=[False, True]).reset_index(
        drop=True
    )


def quality_per_handoff(grouped: pd.DataFrame, breakdown: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """categories_by_group's rows with the group's handoffs and its after-handoff quality signal
    per handoff: the share of leads handed over that were later rejected or disqualified for a
    reason charged to Marketing, in time or after the SLA (the "Sales says the leads are bad"
    number, comparable across channels of different sizes; a late rejection counts here whichever
    team the blame rule charged it to, since it is both a breach and a quality signal).

    `breakdown` is funnel.breakdown(filters, by) for the same filters and `by` (cohort view).
    Adds n_handoffs (the group's cohort leads that reached the handoff stage in time, the
    cohort funnel's n_reached) and quality_after_per_handoff (NaN without handoffs); sorted by
    that rate, highest first.
    """
    handoff_key = contract.handoff.key if contract.handoff else None
    mqls = breakdown[breakdown["stage"] == handoff_key]
    # breakdown() keeps a missing value as None; the Teams frames call it "(none)".
    mqls = mqls.assign(group_value=mqls["group_value"].map(lambda g: "(none)" if g is None else g))
    mqls = mqls.set_index("group_value")["n_reached"].astype("int64")
    df = grouped.copy()
    df["n_handoffs"] = df["group_value"].map(mqls).fillna(0).astype("int64")
    df["quality_after_per_handoff"] = [
        stats.rate(q, n) for q, n in zip(df["n_rejected_for_quality"], df["n_handoffs"], strict=True)
    ]
    df["is_small"] = df["n_handoffs"] < stats.SMALL_GROUP
    df = df.sort_values(
        ["quality_after_per_handoff", "group_value"], ascending=[False, True], na_position="last"
    )
    return df.reset_index(drop=True)


def category_keys(contract: Contract, wanted: str) -> list[str]:
    """The (transition, charged team, loss kind) combinations that fall in category `wanted`,
    as "stage_order:team:loss_kind" keys: how a drill-down selects a category in SQL while the
    category stays defined once, in category()."""
    if wanted not in CATEGORIES:
        raise FilterError(f"category: expected one of {list(CATEGORIES)}, got {wanted!r}")
    return [
        f"{s.order}:{t}:{k}"
        for s in contract.stages[:-1]
        for t in contract.teams
        for k in LOSS_KINDS
        if category(t, k, s.order, contract) == wanted
    ]


def drop_leads(
    filters: Filters,
    stage: str | None = None,
    team: str | None = None,
    loss_kind: str | None = None,
    owner_id: str | None = None,
    limit: int = 1000,
    db: Path | None = None,
    contract: Contract | None = None,
    category_key: str | None = None,
    by: str | None = None,
    group: str | None = None,
) -> pd.DataFrame:
    """The leads behind a leakage number: one row per dropped lead, oldest first.

    Selection (None = any): `stage` is the key of the transition's first stage, `team` the
    charged team, `loss_kind` a LOSS_KINDS key, `owner_id` the drop owner, `category_key` a
    CATEGORIES key, and `group` a value of the lead attribute `by` (queries.filters.ATTRIBUTES;
    "(none)" for leads without one: a cell of the losses-by-attribute table). Columns: lead_id,
    lead_name, company, channel, from_stage, to_stage, transition_team, charged_team, loss_kind,
    category, owner_id, owner_name, start_at, stage_reached_at, first_action_at (Sales' first
    action, handoff drops only), exit_at, exit_type, exit_reason, days_in_stage.
    attrs["n_total"]: all matching leads (at most `limit` rows are returned).
    """
    contract = contract or contracts.current(db).effective()
    if loss_kind is not None and loss_kind not in LOSS_KINDS:
        raise FilterError(f"loss kind: expected one of {list(LOSS_KINDS)}, got {loss_kind!r}")
    if by is not None:
        attribute_column(by)
    if group is not None and (by is None or not isinstance(group, str) or len(group) > MAX_TEXT):
        raise FilterError(f"group: expected a value of at most {MAX_TEXT} characters of an attribute")
    sel = dict(
        sel_stage_order=_check_stage(contract, stage),
        sel_team=_check_team(contract, team),
        sel_loss_kind=loss_kind,
        sel_owner_id=_check_owner(owner_id),
        # A category picked: its keys (an empty list matches nothing); none: every key.
        sel_keys=category_keys(contract, category_key) if category_key else [],
        all_sel_keys=not category_key,
        sel_group=group,
        limit_rows=_check_limit(limit),
    )
    as_of = funnel.resolve_as_of(filters, db)
    raw = _run("teams_drop_leads", filters, contract, as_of, db, by=by, **sel)
    n_total = int(raw["n_total"].iloc[0]) if len(raw) else 0
    keys = contract.stage_keys
    raw["from_stage"] = [keys[int(k) - 1] for k in raw["stage_order"]]
    raw["to_stage"] = [keys[int(k)] for k in raw["stage_order"]]
    raw["category"] = [
        category(t, k, int(o), contract)
        for t, k, o in zip(raw["charged_team"], raw["loss_kind"], raw["stage_order"], strict=True)
    ]
    cols = ["lead_id", "lead_name", "company", "channel", "from_stage", "to_stage", "transition_team"]
    cols += ["charged_team", "loss_kind", "category", "owner_id", "owner_name", "start_at"]
    cols += ["stage_reached_at", "first_action_at", "exit_at", "exit_type", "exit_reason", "days_in_stage"]
    df = raw[cols].reset_index(drop=True)
    df = _attrs(df, filters, contract, as_of)
    df.attrs["n_total"] = n_total
    return df


# --- handoff --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class HandoffHealth:
    """Handoff health at the handoff stage for the filtered cohort.

    summary    one row: n_handoffs, n_acted, median_hours, p75_hours, p90_hours (response
               time of leads with an action), n_within, n_breached, n_breached_no_action,
               n_pending, sla_within_rate (within / (within + breached)) with 95% Wilson
               sla_low / sla_high, n_accepted, n_rejected, n_other_action, n_no_action,
               acceptance_rate, rejection_rate (of all handoffs), sla_hours.
    by_owner   one row per Sales owner (owner_id null: unassigned), same columns, sorted by
               n_breached descending, plus is_small (fewer than 30 handoffs).
    reasons    one row per rejection reason: rejection_reason, reason_label, charged_to,
               n_rejected, share (of rejections).
    """

    summary: pd.DataFrame
    by_owner: pd.DataFrame
    reasons: pd.DataFrame
    as_of: dt.datetime


HANDOFF_COUNTS = (
    "n_handoffs",
    "n_acted",
    "n_within",
    "n_breached",
    "n_breached_no_action",
    "n_pending",
    "n_accepted",
    "n_rejected",
    "n_other_action",
    "n_no_action",
)


def _handoff_rates(df: pd.DataFrame, sla_hours: float) -> pd.DataFrame:
    df = df.copy()
    for c in HANDOFF_COUNTS:
        df[c] = df[c].astype("int64")
    decided = df["n_within"] + df["n_breached"]
    df["sla_within_rate"] = [stats.rate(w, d) for w, d in zip(df["n_within"], decided, strict=True)]
    bounds = [stats.wilson(w, d) for w, d in zip(df["n_within"], decided, strict=True)]
    df["sla_low"] = [b[0] for b in bounds]
    df["sla_high"] = [b[1] for b in bounds]
    df["acceptance_rate"] = [
        stats.rate(a, n) for a, n in zip(df["n_accepted"], df["n_handoffs"], strict=True)
    ]
    df["rejection_rate"] = [stats.rate(r, n) for r, n in zip(df["n_rejected"], df["n_handoffs"], strict=True)]
    df["sla_hours"] = sla_hours
    return df


def handoff_health(
    filters: Filters, db: Path | None = None, contract: Contract | None = None
) -> HandoffHealth:
    """Time from handoff entry to Sales' first action, the SLA, accept/reject, per owner.

    See HandoffHealth for the frames and queries/sql/teams_handoff.sql for the exact rules
    (a first action exactly at the SLA limit is within it).
    """
    contract = contract or contracts.current(db).effective()
    as_of = funnel.resolve_as_of(filters, db)
    raw = _run("teams_handoff", filters, contract, as_of, db)
    sla = float(contract.handoff_sla_hours)
    metric_cols = ["n_handoffs", "n_acted", "median_hours", "p75_hours", "p90_hours", *HANDOFF_COUNTS[2:]]
    total = raw[raw["grain"] == "total"][metric_cols]
    if total.empty:  # no handoffs at all: one row of zeros, percentiles unknown
        total = pd.DataFrame([{c: (math.nan if c.endswith("_hours") else 0) for c in metric_cols}])
    summary = _handoff_rates(total.reset_index(drop=True), sla)

    owners = raw[raw["grain"] == "owner"][["owner_id", "owner_name", *metric_cols]]
    owners = _handoff_rates(owners.reset_index(drop=True), sla)
    owners["owner_name"] = owners["owner_name"].fillna("(unassigned)")
    owners["is_small"] = owners["n_handoffs"] < stats.SMALL_GROUP
    owners = owners.sort_values(["n_breached", "owner_name"], ascending=[False, True]).reset_index(drop=True)

    rej = raw[(raw["grain"] == "reason") & raw["rejection_reason"].notna()]
    reasons = rej[["rejection_reason", "n_rejected"]].copy()
    reasons["n_rejected"] = reasons["n_rejected"].astype("int64")
    reasons.insert(1, "reason_label", [_reason_label(contract, r) for r in reasons["rejection_reason"]])
    reasons.insert(2, "charged_to", [_reason_team(contract, r) for r in reasons["rejection_reason"]])
    n_rej = int(reasons["n_rejected"].sum())
    reasons["share"] = reasons["n_rejected"] / n_rej if n_rej else math.nan
    reasons = reasons.sort_values(["n_rejected", "rejection_reason"], ascending=[False, True])
    return HandoffHealth(summary, owners, reasons.reset_index(drop=True), as_of)


SLA_STATUSES = ("within", "breached", "pending")


def handoff_leads(
    filters: Filters,
    owner_id: str | None = None,
    status: str | None = None,
    limit: int = 1000,
    db: Path | None = None,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """The leads behind the handoff numbers: one row per handed-over lead, slowest first (never
    acted on first of all).

    Selection (None = any): `owner_id` (the Sales owner), `status` (one of SLA_STATUSES).
    Columns: lead_id, lead_name, company, channel, owner_id, owner_name, handoff_at (first entry into the handoff
    stage), first_action_at, first_action_type, first_action_reason, response_hours,
    hours_open (handoff to the as-of date), sla_status, action_kind (accepted, rejected, other,
    none). attrs["n_total"]: all matching leads (at most `limit` rows are returned).
    """
    contract = contract or contracts.current(db).effective()
    if status is not None and status not in SLA_STATUSES:
        raise FilterError(f"SLA status: expected one of {list(SLA_STATUSES)}, got {status!r}")
    sel = dict(sel_owner_id=_check_owner(owner_id), sel_status=status, limit_rows=_check_limit(limit))
    as_of = funnel.resolve_as_of(filters, db)
    raw = _run("teams_handoff_leads", filters, contract, as_of, db, **sel)
    n_total = int(raw["n_total"].iloc[0]) if len(raw) else 0
    df = _attrs(raw.drop(columns="n_total"), filters, contract, as_of)
    df.attrs["n_total"] = n_total
    return df


NO_REASON = "(no reason)"  # what the SQL writes for an exit without a reason code


def _reason_label(contract: Contract, key: str) -> str:
    if key == NO_REASON:
        return "No reason code given"
    r = contract.reason(key)
    return r.label if r else f"{key} (not in funnel.toml)"


def _reason_team(contract: Contract, key: str) -> str | None:
    r = contract.reason(key)
    return r.charged_to if r else None


def recycled(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Recycled cohort leads and what happened after: one row per recycle reason, then a total.

    Columns: reason_code (None on the total row), reason_label, is_total, n_recycled,
    n_came_back (a stage event after its first recycle), n_converted (then entered a stage
    beyond the furthest it had entered before the recycle), n_won (then entered the last stage),
    came_back_rate, converted_rate (both of n_recycled). Returns are counted up to the as-of
    date, not bounded by the conversion window.
    """
    contract = contract or contracts.current(db).effective()
    as_of = funnel.resolve_as_of(filters, db)
    raw = _run("teams_recycled", filters, contract, as_of, db)
    raw["is_total"] = raw["grain"] == "total"
    if not raw["is_total"].any():
        raw = pd.concat(
            [
                raw,
                pd.DataFrame(
                    [
                        {
                            "grain": "total",
                            "is_total": True,
                            "n_recycled": 0,
                            "n_came_back": 0,
                            "n_converted": 0,
                            "n_won": 0,
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
    raw["reason_code"] = raw["reason_code"].where(~raw["is_total"], None)
    raw["reason_label"] = [
        "All recycled leads" if t else _reason_label(contract, r)
        for r, t in zip(raw["reason_code"], raw["is_total"], strict=True)
    ]
    for c in ("n_recycled", "n_came_back", "n_converted", "n_won"):
        raw[c] = raw[c].fillna(0).astype("int64")
    raw["came_back_rate"] = [
        stats.rate(b, n) for b, n in zip(raw["n_came_back"], raw["n_recycled"], strict=True)
    ]
    raw["converted_rate"] = [
        stats.rate(c, n) for c, n in zip(raw["n_converted"], raw["n_recycled"], strict=True)
    ]
    cols = ["reason_code", "reason_label", "is_total", "n_recycled", "n_came_back", "n_converted"]
    cols += ["n_won", "came_back_rate", "converted_rate"]
    df = raw.sort_values(["is_total", "n_recycled"], ascending=[True, False])[cols].reset_index(drop=True)
    return _attrs(df, filters, contract, as_of)


# --- per owner --------------------------------------------------------------------------------


def owner_conversion(
    filters: Filters, db: Path | None = None, contract: Contract | None = None
) -> pd.DataFrame:
    """Each owner's conversion over the span of moves their team owns: one row per (owner, team).

    Columns: owner_id (null: the team never had the lead), owner_name, team, from_stage,
    to_stage (Marketing lead -> mql, Sales mql -> won by default), n_handled (the owner's
    cohort leads with an entry of their own into from_stage in time; skipped stages do not count), n_converted (of those, reached to_stage in
    time), conversion_rate, conversion_low, conversion_high (95% Wilson), is_small (n_handled
    below 30). A lead's owner for a team is the owner on that team's first event for the lead,
    else its current owner when on that team.
    """
    contract = contract or contracts.current(db).effective()
    as_of = funnel.resolve_as_of(filters, db)
    df = _run("teams_owners", filters, contract, as_of, db)
    keys = contract.stage_keys
    df["owner_name"] = df["owner_name"].where(df["owner_id"].notna(), "(unassigned)")
    df["from_stage"] = [keys[int(k) - 1] for k in df["first_order"]]
    df["to_stage"] = [keys[int(k)] for k in df["last_order"]]
    for c in ("n_handled", "n_converted"):
        df[c] = df[c].astype("int64")
    bounds = [stats.wilson(c, n) for c, n in zip(df["n_converted"], df["n_handled"], strict=True)]
    df["conversion_rate"] = [
        stats.rate(c, n) for c, n in zip(df["n_converted"], df["n_handled"], strict=True)
    ]
    df["conversion_low"] = [b[0] for b in bounds]
    df["conversion_high"] = [b[1] for b in bounds]
    df["is_small"] = df["n_handled"] < stats.SMALL_GROUP
    cols = ["owner_id", "owner_name", "team", "from_stage", "to_stage", "n_handled", "n_converted"]
    cols += ["conversion_rate", "conversion_low", "conversion_high", "is_small"]
    return _attrs(df[cols].reset_index(drop=True), filters, contract, as_of)


def owner_view(
    conversion: pd.DataFrame,
    drops_by_owner: pd.DataFrame,
    handoff_by_owner: pd.DataFrame,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """The per-owner view from the three per-owner results (owner_conversion, leakage_by_owner,
    HandoffHealth.by_owner) of the same filters: one row per owner, teams in contract order,
    most leads first.

    Columns: owner_conversion's, then n_dropped_charged (drops charged to the owner's team with
    this owner), n_quality_after, n_quality_before, n_follow_through (of those),
    median_response_hours, n_sla_breaches,
    sla_within_rate (the handoff team's owners only; NaN for the other team).
    """
    contract = contract or contracts.current().effective()
    df = conversion.copy()
    df["owner_key"] = df["owner_id"].fillna("")
    drops = drops_by_owner.assign(owner_key=drops_by_owner["owner_id"].fillna(""))
    drops = drops.assign(
        n_quality_after=drops["n_dropped"].where(drops["category"] == "quality_after", 0),
        n_quality_before=drops["n_dropped"].where(drops["category"] == "quality_before", 0),
        n_follow_through=drops["n_dropped"].where(drops["category"] == "follow_through", 0),
    )
    per = drops.groupby(["owner_key", "charged_team"], as_index=False)[
        ["n_dropped", "n_quality_after", "n_quality_before", "n_follow_through"]
    ].sum()
    per = per.rename(columns={"charged_team": "team", "n_dropped": "n_dropped_charged"})
    df = df.merge(per, on=["owner_key", "team"], how="left")
    for c in ("n_dropped_charged", "n_quality_after", "n_quality_before", "n_follow_through"):
        df[c] = df[c].fillna(0).astype("int64")
    follow = teams(contract).follow
    h = handoff_by_owner.assign(owner_key=handoff_by_owner["owner_id"].fillna(""), team=follow)
    h = h[["owner_key", "team", "median_hours", "n_breached", "sla_within_rate"]].rename(
        columns={"median_hours": "median_response_hours", "n_breached": "n_sla_breaches"}
    )
    df = df.merge(h, on=["owner_key", "team"], how="left")
    is_follow = df["team"] == follow
    df["n_sla_breaches"] = df["n_sla_breaches"].where(~is_follow, df["n_sla_breaches"].fillna(0))
    order = {t: i for i, t in enumerate(contract.teams)}
    df["team_order"] = df["team"].map(order)
    df = df.sort_values(["team_order", "n_handled", "owner_name"], ascending=[True, False, True])
    out = df.drop(columns=["owner_key", "team_order"]).reset_index(drop=True)
    out.attrs.update(conversion.attrs)
    return out


# Columns the per-owner view may be sorted by (an allow-list: the choice comes from a widget).
OWNER_SORTS = {
    "n_handled": ("Leads handled", False),
    "conversion_rate": ("Conversion", False),
    "n_dropped_charged": ("Drops charged", False),
    "n_quality_after": ("Quality losses after handoff", False),
    "n_quality_before": ("Quality losses before handoff", False),
    "n_follow_through": ("Follow-through losses", False),
    "n_sla_breaches": ("SLA breaches", False),
    "median_response_hours": ("Median response time", False),
    "owner_name": ("Name", True),
}


def sort_owners(view: pd.DataFrame, by: str, descending: bool | None = None) -> pd.DataFrame:
    """owner_view's rows sorted by an OWNER_SORTS column (its natural direction by default),
    missing values last, then by name."""
    if by not in OWNER_SORTS:
        raise FilterError(f"sort: expected one of {list(OWNER_SORTS)}, got {by!r}")
    ascending = OWNER_SORTS[by][1] if descending is None else not descending
    keys = [by] if by == "owner_name" else [by, "owner_name"]
    out = view.sort_values(keys, ascending=[ascending] + [True] * (len(keys) - 1), na_position="last")
    out = out.reset_index(drop=True)
    out.attrs.update(view.attrs)
    return out


def owners(filters: Filters, db: Path | None = None, contract: Contract | None = None) -> pd.DataFrame:
    """Per-owner view for both teams: one row per owner (and one unassigned row per team).
    See owner_conversion() and owner_view() for the columns."""
    contract = contract or contracts.current(db).effective()
    return owner_view(
        owner_conversion(filters, db=db, contract=contract),
        leakage_by_owner(filters, db=db, contract=contract),
        handoff_health(filters, db=db, contract=contract).by_owner,
        contract,
    )


# --- stalled right now -------------------------------------------------------------------------


def stalled_filters(filters: Filters, as_of: dt.datetime) -> Filters:
    """`filters` as stalled_leads reads them: its date range does not apply, so it is set to the
    as-of day. A page that passes these instead of its own filters asks for one list of stalled
    leads whatever range it shows, and a cache keyed on the arguments keeps one."""
    day = as_of.date()
    return dataclasses.replace(filters, start=day, end=day)


def stalled_leads(
    as_of: dt.datetime,
    filters: Filters | None = None,
    stage: str | None = None,
    team: str | None = None,
    owner_id: str | None = None,
    limit: int = 5000,
    db: Path | None = None,
    contract: Contract | None = None,
) -> pd.DataFrame:
    """Leads stalled right now, the meeting's action list: one row per lead, most overdue first.

    A lead is stalled as of `as_of` when it sits in a stage (that of its latest stage event)
    longer than the stage's expected days in funnel.toml, with no exit since, and is still in
    play (start + window on or after `as_of`; past the window it has dropped and is counted in
    the leakage instead). Only the attribute filters of `filters` apply (channel, region,
    segment, owner), not its date range; its window applies. Selection: `stage` (the stage the
    lead sits in), `team` (the team owning its next move), `owner_id`.
    Columns: lead_id, lead_name, company, channel, stage, stage_label, team, owner_id, owner_name, start_at,
    stage_since, expected_days, days_in_stage, days_over (days beyond the expectation).
    attrs["n_total"]: all stalled leads matching (at most `limit` rows are returned).
    """
    contract = contract or contracts.current(db).effective()
    if not isinstance(as_of, dt.datetime):
        if isinstance(as_of, dt.date):
            as_of = dt.datetime.combine(as_of, dt.time.max)
        else:
            raise FilterError(f"as of: expected a date or a date and time, got {as_of!r}")
    filters = filters or Filters(start=as_of.date(), end=as_of.date())
    sel = dict(
        sel_stage_order=_check_stage(contract, stage),
        sel_team=_check_team(contract, team),
        sel_owner_id=_check_owner(owner_id),
        limit_rows=_check_limit(limit),
    )
    raw = _run("teams_stalled", filters, contract, as_of, db, **sel)
    n_total = int(raw["n_total"].iloc[0]) if len(raw) else 0
    raw = raw.rename(columns={"stage_key": "stage"})
    raw.insert(
        raw.columns.get_loc("stage") + 1, "stage_label", [contract.stage(k).label for k in raw["stage"]]
    )
    cols = ["lead_id", "lead_name", "company", "channel", "stage", "stage_label", "team", "owner_id"]
    cols += ["owner_name", "start_at"]
    cols += ["stage_since", "expected_days", "days_in_stage", "days_over"]
    df = raw[cols].reset_index(drop=True)
    df.attrs.update(as_of=as_of, n_total=n_total, window_days=filters.window(contract))
    return df


# --- for people ----------------------------------------------------------------------------------

TEAM_COLUMNS = ("team", "charged_team", "transition_team", "charged_to")
STAGE_COLUMNS = ("stage", "from_stage", "to_stage")
CODE_COLUMNS = ("exit_type", "first_action_type")  # an exit key or a stage key
REASON_COLUMNS = ("exit_reason", "first_action_reason")
WORD_COLUMNS = ("sla_status", "action_kind")


def team_label(key) -> str:
    """A team key as people read it ("sales" -> "Sales"; none -> "Unassigned")."""
    return format_team(key)


def with_labels(df: pd.DataFrame, contract: Contract | None = None) -> pd.DataFrame:
    """A copy of a Teams frame for people: codes replaced by their funnel.toml labels (teams
    capitalised, stages, exits and reason codes by label, loss kinds and categories by their
    labels here; an unknown code is kept as it is), timestamps as "YYYY-MM-DD HH:MM", and
    missing text or times as blanks instead of None. Same rows and columns; attrs dropped.
    CSV downloads keep the codes (the frame itself is not changed)."""
    contract = contract or contracts.current().effective()
    stages = {x.key: x.label for x in contract.stages}
    exits = {x.key: x.label for x in contract.exits}
    reasons = {r.key: r.label for r in contract.reason_codes}
    reasons[NO_REASON] = "No reason code given"

    def code(mapping):
        return lambda v: "" if _missing(v) else mapping.get(v, str(v))

    out = df.copy()
    out.attrs = {}
    for c in out.columns:
        if c in TEAM_COLUMNS:
            out[c] = [team_label(v) for v in out[c]]
        elif c in STAGE_COLUMNS:
            out[c] = out[c].map(code(stages))
        elif c in CODE_COLUMNS:
            out[c] = out[c].map(code({**stages, **exits}))
        elif c in REASON_COLUMNS:
            out[c] = out[c].map(code(reasons))
        elif c == "loss_kind":
            out[c] = out[c].map(code({k: v[0] for k, v in LOSS_KINDS.items()}))
        elif c == "category":
            out[c] = out[c].map(code(CATEGORIES))
        elif c in WORD_COLUMNS:
            out[c] = out[c].map(lambda v: "" if _missing(v) else str(v).replace("_", " ").capitalize())
        elif pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = [("" if _missing(v) else v.strftime("%Y-%m-%d %H:%M")) for v in out[c]]
        elif out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(lambda v: "" if _missing(v) else v)
    return out


def _missing(v) -> bool:
    return v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def why_no_match(
    contract: Contract,
    stage: str | None = None,
    team: str | None = None,
    loss_kind: str | None = None,
    owner_team: str | None = None,
) -> str | None:
    """Why a drill-down selection can never list a lead, by definition (None when it can).

    `owner_team` is the team of the selected owner. The rules: quality losses are charged to
    Marketing and no-action / Sales-reason losses to Sales; a late rejection to the team the
    contract's blame rule names; no action within the SLA and late rejections happen only at
    the handoff transition; a drop owner is on the charged team."""
    roles = teams(contract)
    q, f = team_label(roles.quality), team_label(roles.follow)
    kind = LOSS_KINDS[loss_kind][0] if loss_kind in LOSS_KINDS else None
    late_team = roles.follow if contract.sla_rule == "breach" else roles.quality
    only = {
        "quality": roles.quality,
        "no_action_in_sla": roles.follow,
        "late_rejection": late_team,
        "sales_reason": roles.follow,
    }
    for chosen, what in ((team, "charged to"), (owner_team, "an owner on")):
        if chosen and loss_kind in only and only[loss_kind] != chosen:
            who = q if only[loss_kind] == roles.quality else f
            return (
                f"{kind} losses are always charged to {who}, so none are {what} "
                f"{team_label(chosen)}: choose {who} or another loss kind."
            )
    if team and owner_team and team != owner_team:
        return (
            f"A drop's owner is on the team it is charged to: a {team_label(owner_team)} owner has no "
            f"drops charged to {team_label(team)}. Choose the owner's team or another owner."
        )
    if loss_kind in HANDOFF_KINDS and stage and contract.handoff and stage != contract.handoff.key:
        return (
            f"{kind} only happens at the handoff ({contract.handoff.label} → "
            f"{contract.stages[contract.handoff.order].label}): choose that transition or another "
            "loss kind."
        )
    return None
