"""What the Teams and handoff page shows, as plain data: every number, label, caption and table
for one set of filters and choices, worked out here so pages/teams.py only lays it out. No
Streamlit: a test builds a view from a hand-computed story and reads its values.

view() gathers the whole page. The page asks for each part inside the section that draws it
(ui/sections.py: a part is computed once per filters and choices, then replayed), through the
same functions: words(), cohort(), drops(), groups(), handoff(), reasons(), recycled(),
owners(), stalled(), drill_choices(), drill().

Every part takes `call`, how a query is run: the page passes queries.cache.call, and so does
the cache warm-up (ui/warm.py runs `view()` on the page's defaults); by default the query runs
directly on `db`.
Frames ending in `_shown` are for the screen (the contract's labels, durations in the unit
people read, missing text blank); the others keep the codes, for the CSV and for clicks.
Definitions: docs/teams.md; computation: queries/teams.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from data.contract import Contract
from queries import contracts, funnel, teams
from queries.filters import MAX_TEXT, Filters
from reports import format as fmt

ALL = ""  # the "All" choice of a box (None would read as "nothing selected")
GROUP_CHOICES = {"channel": "Channel", "campaign": "Campaign", "region": "Region", "segment": "Segment"}
# Durations in hours: shown in the unit people read (hours under two days, days from there on).
HOURS_COLUMNS = (
    "response_hours",
    "hours_open",
    "median_hours",
    "p75_hours",
    "p90_hours",
    "median_response_hours",
)
# Short metric labels (long ones were cut off); the team is in each help text.
METRIC_LABELS = {
    "quality_after": "Quality after handoff",
    "quality_before": "Quality before handoff",
    "follow_through": "Follow-through",
    "other": "Other drops",
}
# A clicked count of the losses-by-attribute table: which drops it counts.
GROUP_CELLS = {
    "n_quality_after": {"category": "quality_after"},
    "n_quality_before": {"category": "quality_before"},
    "n_follow_through": {"category": "follow_through"},
    "n_other": {"category": "other"},
    "n_late_rejection": {"kind": "late_rejection"},
    "n_dropped": {},
}
# The losses-by-attribute columns shown (whole at 1280 px); the rest are in the CSV.
GROUP_ORDER = (
    "group_value",
    "n_handoffs",
    "quality_after_per_handoff",
    "n_rejected_for_quality",
    "n_late_rejection",
    "n_follow_through",
    "n_dropped",
    "is_small",
)

Call = Callable[..., object]


def direct(db: Path | None = None) -> Call:
    """Run a query straight on `db` (the default `call`: tests, scripts)."""
    return lambda fn, *args, **kwargs: fn(*args, db=db, **kwargs)


def _contract(contract: Contract | None, db: Path | None = None) -> Contract:
    return contract or contracts.current(db).effective()


@dataclasses.dataclass(frozen=True)
class Metric:
    """One figure: its label, its value as shown, and its help text."""

    label: str
    value: str
    help: str


# ---- the contract in words ---------------------------------------------------------------------


@dataclasses.dataclass
class Words:
    """The page's text that follows from the contract alone.

    quality, follow       the team keys answering for lead quality and for follow-through
    quality_label,        the same as people read them ("Marketing", "Sales")
      follow_label
    handoff_label         the handoff stage's label ("the handoff" when there is none)
    sla_hours             the handoff SLA in hours
    sla_measured          whether the data lets the SLA be measured
    sla_not_measured      why no SLA is shown ("" when it is measured)
    blame_rule            the blame rule as a sentence (queries.teams.blame_rule)
    drop_definition       the drop-off rule beside the numbers (Markdown: CRM text escaped)
    category_help         category key -> its definition
    transitions           first stage key of each transition -> "Lead → Marketing qualified"
    immature              the warning over an immature cohort
    owners_caption        how the per-owner figures are counted
    recycled_caption      what "came back" and "converted" mean for a recycled lead
    """

    quality: str
    follow: str
    quality_label: str
    follow_label: str
    handoff_label: str
    sla_hours: float
    sla_measured: bool
    sla_not_measured: str
    blame_rule: str
    drop_definition: str
    category_help: dict[str, str]
    transitions: dict[str, str]
    immature: str = (
        "Immature cohort: some windows are still open on the as-of date, so leads still in "
        "progress are not counted as drops yet. These numbers can still change."
    )
    owners_caption: str = (
        "Each owner's cohort leads for the span of moves their team owns. A lead's owner for a team "
        "is the owner on that team's first event for it (else its current owner on that team). "
        "Conversion carries its 95% Wilson interval; fewer than 30 leads is flagged. Click a "
        "column header to sort."
    )
    recycled_caption: str = (
        "Sent back to nurture by the as-of date. Came back: a stage event after the recycle. "
        "Converted: then went beyond the furthest stage it had reached before."
    )


def words(contract: Contract) -> Words:
    roles = teams.teams(contract)
    handoff = contract.handoff
    handoff_label = handoff.label if handoff else "the handoff"
    # Every text below is Markdown (a caption, a help, a message): labels from the contract,
    # which an import may have taken from a CRM's stage names, are escaped (reports.format.md).
    q, f, at = fmt.md(fmt.team(roles.quality)), fmt.md(fmt.team(roles.follow)), fmt.md(handoff_label)
    sla = contract.handoff_sla_hours
    rule = teams.blame_rule(contract)
    if contract.sla_measured:
        not_measured = ""
    elif handoff:
        not_measured = (
            f"The handoff SLA is not measured: the data does not record {f}' first action after "
            f"{at} (the stage after it is not recorded), so no drop is charged for the SLA "
            "and no response times are shown."
        )
    else:
        not_measured = (
            "This funnel has no stage where Marketing hands leads to Sales, so there is no handoff "
            "SLA to measure; every drop is charged by the owner of its move and its reason code."
        )
    category_help = {
        "quality_after": f"Rejected or disqualified at {at} or later for a reason charged to "
        f"{q} (such as not_a_fit): the leads {f} turned down.",
        "quality_before": f"Rejected or disqualified before {at} for a reason charged to "
        f"{q}: {q} filtering its own leads.",
        "follow_through": f"Charged to {f}: "
        + (f"no action within the {sla:g}-hour SLA, " if contract.sla_measured else "")
        + f"stalled past the stage's expected days, or an exit for a reason charged to {f}.",
        "other": "Any other drop, on either team: mostly leads that never qualified and outlived their "
        "window, nurture recycles and window edges.",
    }
    stages = contract.stages
    return Words(
        quality=roles.quality,
        follow=roles.follow,
        quality_label=fmt.team(roles.quality),
        follow_label=fmt.team(roles.follow),
        handoff_label=handoff_label,
        sla_hours=sla,
        sla_measured=contract.sla_measured,
        sla_not_measured=not_measured,
        blame_rule=rule,
        drop_definition=(
            "**Drop-off and who owns it.** A lead that last reached stage *k* in time and then exited, "
            f"or outlived its window, dropped at *k → k+1*. {fmt.md(rule)} Leads still in progress "
            "are never drops."
        ),
        category_help=category_help,
        transitions={s.key: f"{s.label} → {stages[s.order].label}" for s in stages[:-1]},
    )


# ---- frames as people read them ---------------------------------------------------------------


def readable(df, contract: Contract) -> pd.DataFrame:
    """A Teams frame for the screen: codes as the contract's labels (queries.teams.with_labels),
    channel values by their labels, durations in hours as text in the unit people read."""
    if not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(df)
    plain = teams.with_labels(df, contract)
    if "channel" in plain.columns:
        plain["channel"] = [fmt.channel(contract, v) if v else v for v in plain["channel"]]
    for col in HOURS_COLUMNS:
        if col in plain.columns:
            plain[col] = [fmt.duration_hours(v) for v in df[col]]
    return plain


def leakage(filters: Filters, by: str, call: Call | None = None, db=None) -> pd.DataFrame:
    """The cohort's drops, one row per (transition, charged team, loss kind): one query, grouped
    by the attribute the losses table shows (its totals are the sums)."""
    call = call or direct(db)
    return teams.summarise(teams.ungroup(call(teams.leakage_by_owner, filters, by=by)))


# ---- the cohort line ---------------------------------------------------------------------------


@dataclasses.dataclass
class Cohort:
    """caption       the cohort, its as-of moment, window and skip policy
    headline       every drop by the team it is charged to, capitalised (the page's lead line)
    drops_caption  how many drops that line splits
    is_mature      False while some windows are still open on the as-of date
    as_of          the as-of moment the numbers are for
    """

    caption: str
    headline: str
    drops_caption: str
    is_mature: bool
    as_of: dt.datetime


def cohort(
    filters: Filters, by: str, call: Call | None = None, contract: Contract | None = None, db=None
) -> Cohort:
    contract, call = _contract(contract, db), call or direct(db)
    leak = leakage(filters, by, call)
    a = leak.attrs
    line = fmt.charged_line(teams.charged_split(leak, contract))
    return Cohort(
        caption=(
            f"Cohort: leads that started {filters.start:%d %b %Y} – {filters.end:%d %b %Y} · as of "
            f"{a['as_of']:%d %b %Y %H:%M} UTC · {fmt.window_phrase(a['window_days'])} · skip "
            f"policy {a['skip_policy']}"
        ),
        headline=line[:1].upper() + line[1:],
        drops_caption=(
            f"All {fmt.whole(leak['n_dropped'].sum())} drops of this view, each charged to one team by "
            "the contract's blame rule (below)."
        ),
        is_mature=bool(a["is_mature"]),
        as_of=a["as_of"],
    )


# ---- 1. where leads drop ------------------------------------------------------------------------


@dataclasses.dataclass
class Drops:
    """metrics          the four categories, all drops and (SLA measured) rejected after the SLA
    loss_kinds        the loss kinds and their definitions (columns "Loss kind", "Definition")
    by_team           per charged team and category: by_team()'s columns and "Small n (<30)"
    by_team_shown     the same with teams and categories by their labels
    leak              per (transition, charged team, loss kind): queries.teams.summarise's columns
    leak_shown        the same as people read it: Transition, Charged to, Loss kind, Dropped
                      leads, Share of the transition's drops, Small n (<30)
    """

    metrics: list[Metric]
    loss_kinds: pd.DataFrame
    by_team: pd.DataFrame
    by_team_shown: pd.DataFrame
    leak: pd.DataFrame
    leak_shown: pd.DataFrame


def _leak_shown(leak: pd.DataFrame) -> pd.DataFrame:
    """What, whose, how many, what share (the category is the chart's colour and in the CSV)."""
    per_transition = leak.groupby("stage_order")["n_dropped"].transform("sum")
    return pd.DataFrame(
        {
            "Transition": leak["transition"],
            "Charged to": [fmt.team(t) for t in leak["charged_team"]],
            "Loss kind": leak["loss_label"],
            "Dropped leads": leak["n_dropped"],
            "Share of the transition's drops": leak["share_of_transition"],
            "Small n (<30)": [fmt.small_flag(n) for n in per_transition],
        }
    )


def drops(
    filters: Filters, by: str, call: Call | None = None, contract: Contract | None = None, db=None
) -> Drops:
    contract, call = _contract(contract, db), call or direct(db)
    w = words(contract)
    leak = leakage(filters, by, call)
    summary = teams.by_team(leak, contract)
    totals = summary.groupby("category")["n_dropped"].sum()
    all_drops = int(summary["n_dropped"].sum())
    metrics = []
    for cat, team in (
        ("quality_after", w.quality),
        ("quality_before", w.quality),
        ("follow_through", w.follow),
        ("other", None),
    ):
        n = int(totals.get(cat, 0))
        share = fmt.pct(n / all_drops if all_drops else math.nan)
        metrics.append(
            Metric(
                METRIC_LABELS[cat],
                f"{n:,}",
                f"{w.category_help[cat]} {share} of all drops"
                + (f"; always charged to {fmt.md(fmt.team(team))}." if team else "; charged to either team."),
            )
        )
    metrics.append(
        Metric(
            "All drops",
            f"{all_drops:,}",
            "Cohort leads that exited, or outlived their window, before reaching the last stage. "
            "Equals the funnel's dropped count for the same filters.",
        )
    )
    if contract.sla_measured:
        n_late = int(leak.loc[leak["loss_kind"] == "late_rejection", "n_dropped"].sum())
        charged_to = w.follow if contract.sla_rule == "breach" else w.quality
        metrics.append(
            Metric(
                "Rejected after the SLA",
                f"{n_late:,}",
                f"{teams.LOSS_KINDS['late_rejection'][1]} Here they are charged to "
                f"{fmt.md(fmt.team(charged_to))} and counted in its "
                + ("follow-through" if charged_to == w.follow else "quality after handoff")
                + f' losses (sla_rule = "{contract.sla_rule}"); they are a quality signal either way and '
                "count in the quality per lead handed over below.",
            )
        )
    summary["Small n (<30)"] = [
        fmt.small_flag(n) for n in summary.groupby("charged_team")["n_dropped"].transform("sum")
    ]
    return Drops(
        metrics=metrics,
        loss_kinds=pd.DataFrame(
            [{"Loss kind": label, "Definition": text} for label, text in teams.LOSS_KINDS.values()]
        ),
        by_team=summary,
        by_team_shown=teams.with_labels(summary, contract),
        leak=leak,
        leak_shown=_leak_shown(leak),
    )


@dataclasses.dataclass
class Groups:
    """by           the lead attribute (a GROUP_CHOICES key)
    grouped       per group value: queries.teams.quality_per_handoff's columns (values stored)
    shown         GROUP_ORDER's columns, group values by their labels (channels)
    """

    by: str
    grouped: pd.DataFrame
    shown: pd.DataFrame


def groups(
    filters: Filters, by: str, call: Call | None = None, contract: Contract | None = None, db=None
) -> Groups:
    """Quality and follow-through losses per channel (or other attribute), the comparable number
    first."""
    contract, call = _contract(contract, db), call or direct(db)
    drops_grouped = call(teams.leakage_by_owner, filters, by=by)
    grouped = teams.quality_per_handoff(
        teams.categories_by_group(teams.summarise(drops_grouped)),
        call(funnel.breakdown, filters, by),
        contract,
    )
    shown = grouped.assign(
        group_value=[fmt.channel(contract, g) if by == "channel" else g for g in grouped["group_value"]]
    )
    return Groups(by=by, grouped=grouped, shown=shown[[c for c in GROUP_ORDER if c in shown.columns]])


# ---- 2. handoff health ------------------------------------------------------------------------------


@dataclasses.dataclass
class Handoff:
    """header        "Handoff health: <handoff stage> → <follow team>"
    caption        how response time and the SLA are measured
    metrics        handed over, median response, within the SLA, accepted, rejected
    percentiles    "p75 … · p90 …"
    by_owner       per follow-team owner: HandoffHealth.by_owner (for the chart and the CSV)
    by_owner_shown its table, breaches and the SLA rate first
    owners         the owner box's choices: ALL -> "All", then owner id -> name
    """

    header: str
    caption: str
    metrics: list[Metric]
    percentiles: str
    by_owner: pd.DataFrame
    by_owner_shown: pd.DataFrame
    owners: dict[str, str]


def handoff(filters: Filters, call: Call | None = None, contract: Contract | None = None, db=None) -> Handoff:
    contract, call = _contract(contract, db), call or direct(db)
    w = words(contract)
    health = call(teams.handoff_health, filters)
    # Header, caption and helps are Markdown: the contract's labels in them are escaped.
    label, follow, sla, hours = (
        fmt.md(w.handoff_label),
        fmt.md(w.follow_label),
        w.sla_hours,
        fmt.duration_hours,
    )
    s = health.summary.iloc[0]
    metrics = [
        Metric("Handed over", f"{int(s['n_handoffs']):,}", f"Cohort leads that entered {label} in time."),
        Metric(
            "Median response",
            hours(s["median_hours"]),
            f"p75 {hours(s['p75_hours'])} · p90 {hours(s['p90_hours'])} · {int(s['n_acted']):,} leads with an action",
        ),
        Metric(
            f"Within the {sla:g} h SLA",
            fmt.pct(s["sla_within_rate"]),
            f"{int(s['n_within']):,} within, {int(s['n_breached']):,} breached "
            f"({int(s['n_breached_no_action']):,} with no action at all), {int(s['n_pending']):,} pending. "
            f"95% CI {fmt.pct(s['sla_low'])}–{fmt.pct(s['sla_high'])}.",
        ),
        Metric(
            "Accepted", fmt.pct(s["acceptance_rate"]), f"{int(s['n_accepted']):,} of the handed-over leads."
        ),
        Metric(
            "Rejected", fmt.pct(s["rejection_rate"]), f"{int(s['n_rejected']):,} of the handed-over leads."
        ),
    ]
    by_owner = health.by_owner
    # Whole at 1280 px, the breaches and the SLA rate first; p75 and p90 are in the CSV.
    shown = by_owner[
        ["owner_name", "n_breached", "sla_within_rate", "n_handoffs", "median_hours"]
        + ["n_breached_no_action", "acceptance_rate", "rejection_rate", "is_small"]
    ]
    return Handoff(
        header=f"Handoff health: {label} → {follow}",
        caption=(
            f"Response time = from a lead's first {label} entry to {follow}' first action (accept, "
            f"reject or any stage move: the next event of any kind by {follow}). SLA {sla:g} hours: a "
            f"first action at exactly {sla:g} h is within it; no action after {sla:g} h is a breach; no "
            f"action yet and under {sla:g} h is pending. Percentiles are over leads with an action."
        ),
        metrics=metrics,
        percentiles=f"p75 {hours(s['p75_hours'])} · p90 {hours(s['p90_hours'])}",
        by_owner=by_owner,
        by_owner_shown=readable(shown, contract),
        owners={
            ALL: "All",
            **dict(by_owner.dropna(subset=["owner_id"])[["owner_id", "owner_name"]].itertuples(index=False)),
        },
    )


@dataclasses.dataclass
class Table:
    """rows: the frame as computed (for the CSV); shown: the same for the screen."""

    rows: pd.DataFrame
    shown: pd.DataFrame


def reasons(filters: Filters, call: Call | None = None, contract: Contract | None = None, db=None) -> Table:
    """Why the follow team rejected handed-over leads (HandoffHealth.reasons)."""
    contract, call = _contract(contract, db), call or direct(db)
    rows = call(teams.handoff_health, filters).reasons
    return Table(rows=rows, shown=readable(rows, contract))


def recycled(filters: Filters, call: Call | None = None, contract: Contract | None = None, db=None) -> Table:
    """Leads sent back to nurture and what became of them (queries.teams.recycled)."""
    contract, call = _contract(contract, db), call or direct(db)
    rows = call(teams.recycled, filters)
    return Table(rows=rows, shown=readable(rows.drop(columns=["reason_code", "is_total"]), contract))


# ---- 3. per owner ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Owners:
    """rows      one row per owner, sorted: queries.teams.owner_view's columns
    shown      the same for the screen, with conversion_ci ("30.2%–37.0%")
    caption    the span of moves each team's conversion is over
    names      owner id -> name; teams: owner id -> team key (owners with an id)
    """

    rows: pd.DataFrame
    shown: pd.DataFrame
    caption: str
    names: dict[str, str]
    teams: dict[str, str]


def owners(
    filters: Filters,
    by: str,
    sort_by: str,
    call: Call | None = None,
    contract: Contract | None = None,
    db=None,
) -> Owners:
    """Each owner's conversion, drops charged and handoff figures, sorted by `sort_by`."""
    contract, call = _contract(contract, db), call or direct(db)
    per_owner = teams.owner_view(
        call(teams.owner_conversion, filters),
        teams.ungroup(call(teams.leakage_by_owner, filters, by=by)),
        call(teams.handoff_health, filters).by_owner,
        contract,
    )
    per_owner = teams.sort_owners(per_owner, sort_by)
    spans = ", ".join(
        fmt.md(f"{fmt.team(t)} {contract.stage(a).label}") + " → " + fmt.md(contract.stage(b).label)
        for t, a, b in per_owner[["team", "from_stage", "to_stage"]].drop_duplicates().itertuples(index=False)
    )
    shown = per_owner.assign(
        conversion_ci=[
            fmt.interval(lo, hi)
            for lo, hi in zip(per_owner["conversion_low"], per_owner["conversion_high"], strict=True)
        ]
    )
    known = per_owner.dropna(subset=["owner_id"]).drop_duplicates("owner_id")
    return Owners(
        rows=per_owner,
        shown=readable(shown, contract),
        caption=f"Conversion over the moves each team owns: {spans}.",
        names=dict(known[["owner_id", "owner_name"]].itertuples(index=False)),
        teams=dict(known[["owner_id", "team"]].itertuples(index=False)),
    )


# ---- lead lists -------------------------------------------------------------------------------------


@dataclasses.dataclass
class LeadList:
    """shown     the listed leads for the screen (at most the limit asked for)
    n_total    every lead matching (the CSV has them all)
    caption    how many match and how many are listed
    message    why none is listed ("" when some are; then the page shows `caption`)
    blocked    the selection can match no lead by definition (`message` says why)
    """

    shown: pd.DataFrame
    n_total: int
    caption: str
    message: str = ""
    blocked: bool = False


def handoff_list(
    filters: Filters, owner_id, status, limit: int, call: Call | None = None, contract=None, db=None
) -> LeadList:
    """The handed-over leads matching the owner and SLA status boxes, slowest first."""
    contract, call = _contract(contract, db), call or direct(db)
    rows = call(teams.handoff_leads, filters, owner_id=owner_id, status=status, limit=limit)
    n = rows.attrs["n_total"]
    return LeadList(
        shown=readable(rows, contract),
        n_total=n,
        caption=f"{n:,} handoffs match, slowest first (never acted on at the top)"
        + (f"; the first {len(rows):,} are listed, the CSV has them all" if n > len(rows) else ""),
    )


def stalled(
    as_of,
    filters: Filters,
    limit: int,
    team=None,
    owner_id=None,
    call: Call | None = None,
    contract=None,
    db=None,
) -> LeadList:
    """Leads stalled past their stage's expected days, most overdue first (one team's, one
    owner's or all)."""
    contract, call = _contract(contract, db), call or direct(db)
    filters = teams.stalled_filters(filters, as_of)  # one list whatever the range
    if owner_id is None:
        rows = call(teams.stalled_leads, as_of, filters, team=team, limit=limit)
    else:
        rows = call(teams.stalled_leads, as_of, filters, owner_id=owner_id, limit=limit)
    n = rows.attrs["n_total"]
    return LeadList(
        shown=readable(rows, contract),
        n_total=n,
        caption=f"{n:,} stalled leads"
        + (f"; the {len(rows):,} most overdue are listed, the CSV has them all" if n > len(rows) else ""),
    )


def stalled_caption(as_of: dt.datetime) -> str:
    return (
        f"As of {as_of:%d %b %Y}: leads in a stage longer than its expected days (the contract) with "
        "no exit, still inside their window, most overdue first. The sidebar's channel, region, "
        "segment and owner filters apply; its date range does not."
    )


# ---- 5. the leads behind a number -----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Selection:
    """The drill-down boxes: ALL ("") is any. `by` and `group` narrow to one group of a lead
    attribute (a click in the losses-by-attribute table)."""

    stage: str = ALL
    team: str = ALL
    kind: str = ALL
    owner: str = ALL
    category: str = ALL
    by: str = ALL
    group: str = ALL

    def query(self) -> dict:
        """The selection as queries.teams.drop_leads's keyword arguments (None: any)."""
        return {
            "stage": self.stage or None,
            "team": self.team or None,
            "loss_kind": self.kind or None,
            "owner_id": self.owner or None,
            "category_key": self.category or None,
            "by": self.by or None,
            "group": self.group or None,
        }


@dataclasses.dataclass
class DrillChoices:
    """options: box -> the values offered (ALL first); labels: box -> value -> what it reads."""

    options: dict[str, list[str]]
    labels: dict[str, dict[str, str]]


# The SLA status box's choices.
STATUS_CHOICES = {ALL: "All", **{x: x.capitalize() for x in teams.SLA_STATUSES}}


def link_checks(contract: Contract) -> dict:
    """What a drill-down link (?drill=part:value) may say, part by part (ui/filters.read_drill)."""
    return {
        "stage": [s.key for s in contract.stages[:-1]],
        "team": list(contract.teams),
        "kind": list(teams.LOSS_KINDS),
        "category": list(teams.CATEGORIES),
        "owner": lambda v: 0 < len(v) <= MAX_TEXT,
        "by": list(GROUP_CHOICES),
        "group": lambda v: 0 < len(v) <= MAX_TEXT,
    }


def team_choices(contract: Contract) -> dict[str, str]:
    """The team boxes' choices: "Both", then each team by its label."""
    return {ALL: "Both", **{t: fmt.team(t) for t in contract.teams}}


def drill_choices(
    contract: Contract, owner_names: dict[str, str], owner_teams: dict[str, str]
) -> DrillChoices:
    w = words(contract)
    labels = {
        "stage": {ALL: "All", **w.transitions},
        "team": team_choices(contract),
        "category": {ALL: "All", **teams.CATEGORIES},
        "kind": {ALL: "All", **{k: v[0] for k, v in teams.LOSS_KINDS.items()}},
        "owner": {ALL: "All", **{o: f"{n} ({fmt.team(owner_teams[o])})" for o, n in owner_names.items()}},
    }
    return DrillChoices(options={k: list(v) for k, v in labels.items()}, labels=labels)


# The drill-down's boxes, in the order drawn: part -> label.
DRILL_BOXES = {
    "stage": "Transition",
    "team": "Charged to",
    "category": "Category",
    "kind": "Loss kind",
    "owner": "Owner",
}


def group_of(by, group) -> tuple[str, str]:
    """The drill-down's (attribute, group) from the boxes' state: both set and the attribute
    allowed, else (ALL, ALL)."""
    by = by if by in GROUP_CHOICES else ALL
    group = (group or ALL) if by else ALL
    return (by, group) if group else (ALL, ALL)


def group_button(contract: Contract, by: str, group: str) -> str:
    """The button that clears a group selection: "Only channel Webinar · show every lead"."""
    shown = fmt.channel(contract, group) if by == "channel" else group
    return f"Only {GROUP_CHOICES[by].lower()} {fmt.md(shown)} · show every lead"  # a label is Markdown


def drill(
    filters: Filters,
    selection: Selection,
    owner_team: str | None,
    limit: int,
    call: Call | None = None,
    contract: Contract | None = None,
    db=None,
) -> LeadList:
    """The dropped leads behind the boxes' selection, and why none can match when none can."""
    contract, call = _contract(contract, db), call or direct(db)
    q = selection.query()
    leads = call(
        teams.drop_leads,
        filters,
        stage=q["stage"],
        team=q["team"],
        loss_kind=q["loss_kind"],
        owner_id=q["owner_id"],
        limit=limit,
        category_key=q["category_key"],
        by=q["by"],
        group=q["group"],
    )
    n = leads.attrs["n_total"]
    impossible = teams.why_no_match(
        contract, stage=q["stage"], team=q["team"], loss_kind=q["loss_kind"], owner_team=owner_team
    )
    if impossible:
        message = f"No lead can match this selection. {fmt.md(impossible)}"  # it names stages
    elif n == 0:
        message = (
            "No dropped leads in this cohort match this selection. Choose “All” in one of the boxes, "
            "or widen the date range in the sidebar."
        )
    else:
        message = ""
    return LeadList(
        shown=readable(leads, contract),
        n_total=n,
        caption=f"**{n:,}** dropped leads match"
        + (f"; the first {len(leads):,} are listed, the CSV has them all" if n > len(leads) else ""),
        message=message,
        blocked=bool(impossible),
    )


# ---- the whole page ---------------------------------------------------------------------------------


@dataclasses.dataclass
class View:
    """Everything the Teams page shows for one set of filters and choices (see each part's
    fields). handoff, handoff_list and reasons are None where the SLA is not measured;
    owner_stalled is None unless an owner is chosen in the drill-down."""

    words: Words
    cohort: Cohort
    drops: Drops
    groups: Groups
    handoff: Handoff | None
    handoff_list: LeadList | None
    reasons: Table | None
    recycled: Table
    owners: Owners
    stalled: LeadList
    drill_choices: DrillChoices
    drill: LeadList
    owner_stalled: LeadList | None


def view(
    filters: Filters,
    by: str = "channel",
    sort_by: str = "n_handled",
    stalled_team: str | None = None,
    handoff_owner: str | None = None,
    handoff_status: str | None = None,
    selection: Selection = Selection(),  # noqa: B008 (frozen: one shared default is safe)
    limit: int = 500,
    call: Call | None = None,
    contract: Contract | None = None,
    db: Path | None = None,
) -> View:
    """The whole Teams page for `filters` and the boxes' choices, as plain data."""
    contract, call = _contract(contract, db), call or direct(db)
    kw = {"call": call, "contract": contract}
    head = cohort(filters, by, **kw)
    measured = contract.sla_measured
    per_owner = owners(filters, by, sort_by, **kw)
    return View(
        words=words(contract),
        cohort=head,
        drops=drops(filters, by, **kw),
        groups=groups(filters, by, **kw),
        handoff=handoff(filters, **kw) if measured else None,
        handoff_list=handoff_list(filters, handoff_owner, handoff_status, limit, **kw) if measured else None,
        reasons=reasons(filters, **kw) if measured else None,
        recycled=recycled(filters, **kw),
        owners=per_owner,
        stalled=stalled(head.as_of, filters, limit, team=stalled_team, **kw),
        drill_choices=drill_choices(contract, per_owner.names, per_owner.teams),
        drill=drill(filters, selection, per_owner.teams.get(selection.owner), limit, **kw),
        owner_stalled=stalled(head.as_of, filters, limit, owner_id=selection.owner, **kw)
        if selection.owner
        else None,
    )
