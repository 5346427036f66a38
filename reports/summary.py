"""The machine-readable summary: what the pages show for one view, as JSON, through the same
query functions the pages call.

    python -m reports.summary --db PATH --json [--start D --end D] [--window DAYS|none]
        [--skip implied|strict] [--as-of D] [--by ATTR]

Without dates it summarises the store's default range (the one Funnel health opens on). Scripts,
alerts and tests rely on these names (docs/summary.md lists every field):

    store            path, contract (name, version, hash), grains, tracked and untracked stages
    view             the grain (lead or opportunity), the resolved range, window (days, or null
                     for none), skip policy, as-of
    funnel           one entry per stage of the contract: stage, label, tracked, n_reached,
                     n_skipped, n_in_progress, n_dropped, step_rate, overall_rate (+ bounds);
                     counts and rates are null for a stage the data does not record
    outcomes         won, lost, open, decided, win_rate (+ bounds, null where outcomes are not
                     recorded), other_exit, after_window, revenue {currency: amount}, revenue_in
                     (with --in: in that currency at dated rates, or what rates are missing), and for
                     the whole store undated_open (open records with no date, in no cohort)
    time_to_win_days median, p75, p90, n (null when the data does not record winning)
    breakdown        {attribute: [{value, n_start, n_won, n_lost, conversion, win_rate}]} for
                     every allow-listed attribute (or --by); a missing value is null, kept apart
                     from a literal value such as "unknown"
    monthly_cohorts  one entry per month of start: n_start, n_won, n_lost, win_rate, conversion,
                     is_mature
    stage_history    n_stage_events, backward_moves, moved_back, reopened
    owners           one entry per owner: owner_id, owner_name, role (null: the record's own
                     owner; else the role counted, --owner-role), n_start, n_won, n_lost,
                     conversion, win_rate
    drops            total and per charged team, with the rule that charged them
    bridge           between the grains (queries/bridge.py view()): MQLs of the range that led
                     to an opportunity and the days it took, Sales-sourced opportunities,
                     contacts per opportunity and roles covered, leads by how they got their
                     account
    data_quality     one entry per check: key, title, n_failing
    pipeline         the open opportunities at the view's as-of day, by stage: count, sourced
                     by team, amount per currency (and in --in's currency where every amount
                     has a dated rate); null when the data records no opportunity stage
    movement         from --from to --to (default: the as-of day a week back, and the as-of
                     day): per bucket, in the order they apply, count, sourced by team, open at
                     each end and the change to the open pipeline per currency; the pipelines
                     at both ends

Exit codes: 0 written; 2 bad arguments or no store.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import sys
from pathlib import Path

import pandas as pd

from data.contract import GRAINS, SKIP_POLICIES
from queries import (
    bridge,
    contracts,
    currency,
    data_quality,
    executor,
    funnel,
    options,
    pipeline,
    ranges,
    teams,
)
from queries.filters import ATTRIBUTES, NO_WINDOW, FilterError, Filters
from reports import health_view


def _num(value):
    """A JSON-safe number: NaN and NA become null, numpy scalars plain Python."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | int) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            return None
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return _num(value.item())
    return value


def _rows(df: pd.DataFrame, columns: dict[str, str]) -> list[dict]:
    """Records of `df` with columns renamed as `columns` says (source -> name)."""
    return [{name: _num(row[src]) for src, name in columns.items()} for _, row in df.iterrows()]


def _funnel(df: pd.DataFrame) -> list[dict]:
    out = []
    for _, r in df.iterrows():
        tracked = bool(r["tracked"])
        entry = {"stage": r["stage"], "label": r["label"], "tracked": tracked}
        for col in (
            "n_reached",
            "n_skipped",
            "n_in_progress",
            "n_dropped",
            "step_rate",
            "step_low",
            "step_high",
            "overall_rate",
            "overall_low",
            "overall_high",
        ):
            entry[col] = _num(r[col]) if tracked else None
        out.append(entry)
    return out


def _outcome(o: dict, recorded: bool) -> dict:
    return {
        "won": int(o["n_won"]),
        "lost": int(o["n_lost"]) if recorded else None,
        "open": int(o["n_open"]),
        "open_past_window": int(o["n_open_past_window"]),
        "other_exit": int(o["n_other_exit"]),
        "after_window": int(o["n_after_window"]),
        "decided": int(o["n_decided"]) if recorded else None,
        "win_rate": _num(o["win_rate"]),
        "win_rate_low": _num(o["win_low"]),
        "win_rate_high": _num(o["win_high"]),
        "is_small": bool(o["is_small"]),
    }


def _groups(breakdown: pd.DataFrame, outcome: pd.DataFrame, contract) -> list[dict]:
    """One entry per group of funnel.breakdown + funnel.outcomes (same attribute)."""
    if breakdown.empty:
        return []
    tracked = breakdown[breakdown["tracked"]]
    first_key = tracked["stage"].iloc[0]
    last_key = contract.stages[-1].key
    won_tracked = contract.is_tracked(last_key)
    last_tracked_key = tracked["stage"].iloc[-1]
    by_group = {
        None if pd.isna(g) else g: r
        for g, r in zip(outcome["group_value"], outcome.itertuples(), strict=True)
    }
    recorded = bool(outcome.attrs.get("is_recorded"))
    out = []
    for g, part in tracked.groupby("group_value", sort=False, dropna=False):
        g = None if pd.isna(g) else g
        n = dict(zip(part["stage"], part["n_reached"], strict=True))
        o = by_group.get(g)
        n_start = int(n[first_key])
        n_last = int(n[last_tracked_key])
        out.append(
            {
                "value": g,
                "n_start": n_start,
                "n_won": int(n[last_key]) if won_tracked else None,
                "n_lost": (int(o.n_lost) if o is not None else 0) if recorded else None,
                "conversion": n_last / n_start if n_start and last_tracked_key != first_key else None,
                "win_rate": _num(o.win_rate) if o is not None and recorded else None,
                "is_small": bool(n_start < 30),
            }
        )
    return out


def _amounts(amounts: dict[str, float]) -> dict[str, float]:
    return {c: float(a) for c, a in amounts.items()}


def _sourced(row) -> dict[str, int]:
    return {s: int(row[f"n_{s}"]) for s in pipeline.SOURCES}


def _missing(v) -> list[dict]:
    return [{"currency": m.currency, "since": m.since.isoformat()} for m in v.missing_rates]


def _revenue_in(filters, base, db, contract) -> dict | None:
    if base is None:
        return None
    money = currency.revenue_in(filters, base, db=db, contract=contract)
    missing = [{"currency": m.currency, "since": m.since.isoformat()} for m in money["missing"]]
    return {"currency": base, "amount": money["total"], "missing_rates": missing}


def _pipeline(v) -> dict:
    """The open pipeline at the view's T2, from pipeline.view (as the Pipeline page shows it)."""
    codes = [c for c in v.stages.columns if c.startswith("amount:")]
    return {
        "at": v.t2.isoformat(),
        "in": v.base,
        "stages": [
            {
                "stage": r["stage"],
                "label": r["label"],
                "n_opportunities": int(r["n_opportunities"]),
                "n_with_amount": int(r["n_with_amount"]),
                "sourced": _sourced(r),
                "amount": {c.removeprefix("amount:"): float(r[c]) for c in codes},
                "amount_in": _num(r["amount_base"]) if v.converted else None,
            }
            for _, r in v.stages.iterrows()
        ],
        "total": {
            "n_opportunities": v.end["n"],
            "amount": _amounts(v.end["amounts"]),
            "amount_in": v.end["converted"],
        },
        "missing_rates": _missing(v),
    }


def _movement(v) -> dict:
    """The movement from T1 to T2, from pipeline.view (as the Pipeline page shows it)."""
    codes = [c for c in v.buckets.columns if c.startswith("change:")]
    return {
        "from": v.t1.isoformat(),
        "to": v.t2.isoformat(),
        "in": v.base,
        "buckets": [
            {
                "bucket": r["bucket"],
                "label": r["label"],
                "n_opportunities": int(r["n_opportunities"]),
                "sourced": _sourced(r),
                "n_open_from": int(r["n_open_t1"]),
                "n_open_to": int(r["n_open_t2"]),
                "change": {c.removeprefix("change:"): float(r[c]) for c in codes},
                "change_in": _num(r["change_base"]) if v.converted else None,
            }
            for _, r in v.buckets.iterrows()
        ],
        "start": {
            "n_opportunities": v.start["n"],
            "amount": _amounts(v.start["amounts"]),
            "amount_in": v.start["converted"],
        },
        "end": {
            "n_opportunities": v.end["n"],
            "amount": _amounts(v.end["amounts"]),
            "amount_in": v.end["converted"],
        },
        "missing_rates": _missing(v),
    }


def summary(
    db: Path,
    filters: Filters | None = None,
    by: list[str] | None = None,
    movement: tuple[dt.date, dt.date] | None = None,
    base: str | None = None,
) -> dict:
    """The summary of one view of the store at `db` (its default range when filters is None).

    `movement`: (from, to) days of the pipeline's movement (default: a week to the as-of day);
    `base`: a currency the pipeline's amounts are also given in, where dated rates convert
    every one of them."""
    contract = contracts.current(db)
    grain = filters.grain_of(contract) if filters is not None else contract.default_grain
    chosen = ranges.default_range(db, contract, grain)
    if filters is None:
        if chosen is None:
            latest = funnel.latest_event_at(db).date()
            filters = Filters(start=latest, end=latest)
        else:
            filters = Filters(start=chosen.start, end=chosen.end)
    as_of = funnel.resolve_as_of(filters, db)
    fixed = dataclasses.replace(filters, as_of=as_of)
    facts = funnel.store_facts(db)
    cohort = funnel.cohort_funnel(fixed, db=db, contract=contract)
    # The outcomes, revenue, undated pipeline and time to win as Funnel health's headline reads them.
    got = health_view.outcomes(fixed, health_view.on(db))
    recorded = got.is_recorded
    months = funnel.breakdown(fixed, funnel.MONTH, db=db, contract=contract)
    months_outcome = funnel.outcomes(fixed, funnel.MONTH, db=db, contract=contract)
    window = filters.window(contract)

    breakdown = {}
    for attribute in by or list(ATTRIBUTES):
        b = funnel.breakdown(fixed, attribute, db=db, contract=contract)
        o = funnel.outcomes(fixed, attribute, db=db, contract=contract)
        breakdown[attribute] = _groups(b, o, contract)
    monthly = _groups(months, months_outcome, contract)
    for entry in monthly:
        month = dt.date.fromisoformat(f"{entry['value']}-01")
        end = (pd.Timestamp(month) + pd.offsets.MonthEnd(1)).date()
        entry["month"] = entry.pop("value")
        entry["is_mature"] = funnel.period_is_mature(end, window, as_of)
    monthly.sort(key=lambda e: e["month"])  # in time order, not by size
    names = options.choices(options.filter_options(db), "owner")
    owners = breakdown.get("owner") or _groups(
        funnel.breakdown(fixed, "owner", db=db, contract=contract),
        funnel.outcomes(fixed, "owner", db=db, contract=contract),
        contract,
    )
    owners = [
        {
            "owner_id": e["value"],
            "owner_name": names.get(e["value"]) if e["value"] else None,
            "role": fixed.owner_role,
            **e,
        }
        for e in owners
    ]
    for e in owners:
        e.pop("value")

    computing = contract.effective()
    leak = teams.leakage(fixed, db=db, contract=computing)
    charged = leak.groupby("charged_team")["n_dropped"].sum().to_dict() if len(leak) else {}
    drops = {
        "total": int(sum(charged.values())),
        "charged_to": {str(k): int(v) for k, v in charged.items()},
        "sla_measured": contract.sla_measured,
    }
    quality = data_quality.summary(db)
    opportunity_views = None
    if pipeline.has_opportunities(contract):
        moment = pipeline.moment_filters(fixed)
        t1, t2 = pipeline.default_dates(fixed, db)
        at = pipeline.view(moment, t1, t2, base=base, db=db, contract=contract)
        moved = (
            at if movement is None else pipeline.view(moment, *movement, base=base, db=db, contract=contract)
        )
        opportunity_views = (_pipeline(at), _movement(moved))
    shown = funnel.grain_view(filters, contract)
    tracked = [s.key for s in shown.stages if shown.is_tracked(s.key)]
    return {
        "store": {
            "path": str(db),
            "is_sample": facts.get("is_sample") == "true",
            "latest_event_at": facts.get("latest_event_at") or None,
            "contract": {
                "name": contract.name,
                "version": int(facts["contract_version"]) if facts.get("contract_version") else None,
                "hash": facts.get("contract_hash"),
            },
            "grains": list(contract.grains),
            "tracked_stages": tracked,
            "untracked_stages": [s.key for s in shown.stages if s.key not in tracked],
            "outcomes_recorded": recorded,
            # Roles per-owner views may count instead of the record's own owner (--owner-role).
            "owner_roles": options.owner_roles(db),
        },
        "view": {
            "grain": grain,
            "start": filters.start.isoformat(),
            "end": filters.end.isoformat(),
            "is_default_range": chosen is not None
            and (filters.start, filters.end) == (chosen.start, chosen.end),
            "window_days": window,
            "skip_policy": filters.policy(contract),
            "as_of": as_of.isoformat(sep=" "),
            "is_mature": bool(cohort.attrs.get("is_mature")),
            "owner_role": filters.owner_role,
        },
        "funnel": _funnel(cohort),
        "outcomes": {
            **_outcome(got.row, recorded),
            "revenue": got.revenue,
            # Open records the source gave no date: in no range, counted here for the store.
            "undated_open": got.n_undated,
            # With --in: the revenue in that currency at the rates valid on the days it was won
            # (null amount, with the rates missing, unless every amount has one).
            "revenue_in": _revenue_in(fixed, base, db, contract),
            "undated_open_by_status": got.undated_by_status,
        },
        "time_to_win_days": {k: _num(v) for k, v in got.time_to_win.items()} if got.time_to_win else None,
        "breakdown": breakdown,
        "monthly_cohorts": monthly,
        "stage_history": funnel.stage_history(fixed, db=db, contract=contract),
        "owners": owners,
        "drops": drops,
        "bridge": bridge.view(fixed, db=db, contract=contract),
        "data_quality": _rows(quality, {"key": "key", "title": "title", "n_failing": "n_failing"}),
        "pipeline": opportunity_views[0] if opportunity_views else None,
        "movement": opportunity_views[1] if opportunity_views else None,
    }


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2025-03-31") from None


def _currency(text: str) -> str:
    try:
        return currency.check_base(text.upper())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a three-letter currency code such as EUR"
        ) from None


def _window(text: str) -> int:
    if text == "none":
        return NO_WINDOW
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r}: give a number of days or 'none'")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports.summary", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    parser.add_argument("--db", type=Path, default=None, help="the store (default: $HANDOFF_DB)")
    parser.add_argument("--json", action="store_true", help="print JSON (the only format; kept for scripts)")
    parser.add_argument("--start", type=_date, help="first day of the range (default: the store's default)")
    parser.add_argument("--end", type=_date, help="last day of the range")
    parser.add_argument("--window", type=_window, help="conversion window in days, or 'none'")
    parser.add_argument("--skip", choices=SKIP_POLICIES, help="skip policy (default: the contract's)")
    parser.add_argument(
        "--as-of", type=_date, dest="as_of", help="count what was known by the end of this day"
    )
    parser.add_argument("--by", action="append", choices=list(ATTRIBUTES), help="breakdown attribute(s)")
    parser.add_argument(
        "--grain", choices=GRAINS, help="count leads or opportunities (default: the store's first grain)"
    )
    parser.add_argument(
        "--from",
        type=_date,
        dest="moved_from",
        help="first day of the pipeline's movement (default: a week before --to)",
    )
    parser.add_argument(
        "--to",
        type=_date,
        dest="moved_to",
        help="last day of the pipeline's movement (default: the as-of day)",
    )
    parser.add_argument(
        "--in",
        dest="base",
        type=_currency,
        help="also give pipeline amounts in this currency, at dated rates",
    )
    parser.add_argument(
        "--owner-role",
        dest="owner_role",
        default=None,
        help="count owners in this role (an SDR, a closing rep) in the owner breakdown and `owners`; "
        "default: the record's own owner",
    )
    args = parser.parse_args(argv)
    db = Path(args.db) if args.db else executor.current_path()
    if not db.exists():
        print(f"error: no store at {db}", file=sys.stderr)
        return 2
    if bool(args.start) != bool(args.end):
        parser.error("give both --start and --end, or neither (the store's default range)")
    try:
        if args.start:
            filters = Filters(
                args.start,
                args.end,
                window_days=args.window,
                skip_policy=args.skip,
                as_of=args.as_of,
                owner_role=args.owner_role,
                grain=args.grain,
            )
        else:
            chosen = ranges.default_range(db, grain=args.grain)
            start, end = (chosen.start, chosen.end) if chosen else (dt.date.today(), dt.date.today())
            filters = Filters(
                start,
                end,
                window_days=args.window,
                skip_policy=args.skip,
                as_of=args.as_of,
                owner_role=args.owner_role,
                grain=args.grain,
            )
    except FilterError as exc:
        parser.error(str(exc))
    movement = None
    if args.moved_from or args.moved_to:
        last = funnel.resolve_as_of(filters, db).date()
        moved_to = args.moved_to or last
        moved_from = args.moved_from or moved_to - dt.timedelta(days=pipeline.DEFAULT_DAYS)
        if moved_from >= moved_to:
            parser.error(f"--from {moved_from} must be before --to {moved_to}")
        if moved_to > last:
            parser.error(
                f"--to {moved_to} is after the view's as-of day ({last}): nothing is known of it yet"
            )
        movement = (moved_from, moved_to)
    json.dump(
        summary(db, filters, args.by, movement, args.base),
        sys.stdout,
        indent=2,
        ensure_ascii=False,
        default=str,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
