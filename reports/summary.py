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
                     recorded), other_exit, after_window, revenue {currency: amount}, and for
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
    data_quality     one entry per check: key, title, n_failing

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
from queries import contracts, data_quality, executor, funnel, options, ranges, teams
from queries.filters import ATTRIBUTES, NO_WINDOW, FilterError, Filters


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


def _outcome(o: pd.Series, recorded: bool) -> dict:
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


def summary(
    db: Path,
    filters: Filters | None = None,
    by: list[str] | None = None,
) -> dict:
    """The summary of one view of the store at `db` (its default range when filters is None)."""
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
    outcome = funnel.outcomes(fixed, db=db, contract=contract)
    recorded = bool(outcome.attrs.get("is_recorded"))
    money = funnel.revenue(fixed, db=db, contract=contract)
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
    times = funnel.time_to_win(fixed, db=db, contract=contract)
    undated = funnel.undated_open(db)
    quality = data_quality.summary(db)
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
            **_outcome(outcome.iloc[0], recorded),
            "revenue": funnel.revenue_by_currency(money),
            # Open records the source gave no date: in no range, counted here for the store.
            "undated_open": int(undated["n_records"].sum()),
            "undated_open_by_status": {
                (s if isinstance(s, str) else ""): int(n)
                for s, n in zip(undated["status"], undated["n_records"], strict=True)
            },
        },
        "time_to_win_days": {k: _num(v) for k, v in times.items()} if times else None,
        "breakdown": breakdown,
        "monthly_cohorts": monthly,
        "stage_history": funnel.stage_history(fixed, db=db, contract=contract),
        "owners": owners,
        "drops": drops,
        "data_quality": _rows(quality, {"key": "key", "title": "title", "n_failing": "n_failing"}),
    }


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date such as 2025-03-31") from None


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
    json.dump(summary(db, filters, args.by), sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
