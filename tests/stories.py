"""Build tiny stores from hand-written stories, for tests whose numbers are computed by hand.

    story = {
        "A1": {"channel": "web", "events": [("lead", "2025-01-02"), ("mql", "2025-01-05")]},
        "A2": {"events": [("lead", "2025-01-03"), ("rejected", "2025-01-05", "not_a_fit")]},
    }
    path = build(tmp_path / "story.duckdb", story)

A record with "opportunity": True is an opportunity known only as itself (its events name the
deal). An event is (type, time) or (type, time, reason) or (type, time, reason, amount), then
optionally its owner and its amount's currency; times are UTC. A lead's "owner" may be None
(the lead record names nobody). Event ids are "<lead>-<n>" in the order written, so a story is
stable across runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from data import contract as contract_mod
from data import contract_store, store

OWNERS = [
    ("M1", "Maya Patel", "marketing"),
    ("M2", "Jonas Berg", "marketing"),
    ("S1", "Priya Nair", "sales"),
    ("S2", "Dana Reyes", "sales"),
]


def ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def build(
    path: Path, story: dict[str, dict], contract=None, owners=OWNERS, recorded="all", opportunities=False
) -> Path:
    """Write `story` into a new store at `path` with journeys rebuilt; returns the path.

    opportunities=True: each record is an opportunity known only as itself (an export of
    opportunities, no lead): its events name the deal and no lead, its record is an opportunity.

    recorded="all": the story is part of a CRM that records every stage of the contract (as a
    real team's export declares its stage columns), so a stage no lead of the story reached is
    still tracked. recorded=None: only the stages the story's events enter are tracked."""
    contract = contract or contract_mod.load()
    with store.replacing(Path(path)) as con:
        store.create_schema(con)
        con.executemany("insert into owners values (?, ?, ?)", owners)
        for lead_id, lead in story.items():
            events = lead.get("events", [])
            created = lead.get("created") or (min(e[1] for e in events) if events else "2025-01-01")
            # "opportunity": True (or opportunities=True for all): the record is an opportunity
            # known only as itself (its events name the deal, no lead), like an export of them.
            is_deal = opportunities or lead.get("opportunity", False)
            if is_deal:
                con.execute(
                    "insert into opportunities (opportunity_id, name, created_at, owner_id, channel, campaign, "
                    "region, segment, source) values (?, ?, ?, ?, ?, ?, ?, ?, 'story')",
                    [
                        lead_id,
                        lead.get("name", f"Opportunity {lead_id}"),
                        ts(created),
                        lead.get("owner", "S1"),
                        lead.get("channel", "web"),
                        lead.get("campaign", "spring"),
                        lead.get("region", "EMEA"),
                        lead.get("segment", "SMB"),
                    ],
                )
            else:
                con.execute(
                    "insert into leads (lead_id, created_at, lead_name, company, account_id, channel, campaign, "
                    "region, segment, owner_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        lead_id,
                        ts(created),
                        lead.get("name", f"Contact {lead_id}"),
                        lead.get("company", f"Company {lead_id}"),
                        None,
                        lead.get("channel", "web"),
                        lead.get("campaign", "spring"),
                        lead.get("region", "EMEA"),
                        lead.get("segment", "SMB"),
                        lead.get("owner", "S1"),  # None: the record names no owner
                    ],
                )
            for n, event in enumerate(events, start=1):
                kind, when = event[0], event[1]
                reason = event[2] if len(event) > 2 else None
                amount = event[3] if len(event) > 3 else None
                owner = event[4] if len(event) > 4 else lead.get("owner", "S1")
                currency = event[5] if len(event) > 5 else None
                team = None if owner is None else "marketing" if owner.startswith("M") else "sales"
                con.execute(
                    "insert into events (event_id, lead_id, deal_id, event_type, occurred_at, owner_id, team, "
                    "reason_code, amount, source, currency) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'story', ?)",
                    [
                        f"{lead_id}-{n}",
                        None if is_deal else lead_id,
                        lead_id if is_deal else None,
                        kind,
                        ts(when),
                        owner,
                        team,
                        reason,
                        amount,
                        currency,
                    ],
                )
        if recorded == "all":
            contract_store.declare(con, contract.stage_keys)
        store.rebuild_journey(con, contract)
    return Path(path)


def copy_store(source: Path, target: Path) -> Path:
    """Copy a store and the team's edits file beside it (data/edits.py) to `target`: a copy of
    the store alone would have no targets and no notes."""
    import shutil

    from data import edits

    shutil.copyfile(source, target)
    if edits.path_for(source).exists():
        shutil.copyfile(edits.path_for(source), edits.path_for(target))
    return Path(target)


def build_events(
    path: Path,
    events: list[dict],
    contract: str | None = None,
    leads: dict[str, dict] | None = None,
    contacts: list[tuple[str, str, str | None]] = (),
    opportunities: dict[str, dict] | None = None,
    owners=OWNERS,
) -> Path:
    """Write events as given (deal events included) into a new store at `path`, with journeys
    rebuilt under `contract` (a contract's TOML text; default: data/funnel.toml) and every stage
    of it declared recorded; returns the path.

    An event is a dict: type, at (UTC), and any of deal (the opportunity), lead, owner (its
    team follows the owner: M* marketing, S* sales), amount, currency, close (a date), reason.
    Event ids are "e<n>" in the order written. `leads`: {lead_id: {created, channel, ...}};
    `contacts`: (opportunity, lead, role); `opportunities`: {id: {name, currency, account}}."""
    text = contract or contract_mod.default_text()
    parsed = contract_mod.loads(text)
    with store.replacing(Path(path)) as con:
        store.create_schema(con)
        con.executemany("insert into owners values (?, ?, ?)", owners)
        for lead_id, lead in (leads or {}).items():
            con.execute(
                "insert into leads (lead_id, created_at, lead_name, channel, region, segment, owner_id) "
                "values (?, ?, ?, ?, ?, ?, ?)",
                [
                    lead_id,
                    ts(lead.get("created", "2025-01-01")),
                    lead.get("name", f"Contact {lead_id}"),
                    lead.get("channel", "web"),
                    lead.get("region", "EMEA"),
                    lead.get("segment", "SMB"),
                    lead.get("owner", "M1"),
                ],
            )
        for n, e in enumerate(events, start=1):
            owner = e.get("owner", "S1")
            team = None if owner is None else "marketing" if owner.startswith("M") else "sales"
            con.execute(
                "insert into events (event_id, lead_id, deal_id, event_type, occurred_at, owner_id, team, "
                "reason_code, amount, source, currency, close_date) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'story', ?, ?)",
                [
                    f"e{n}",
                    e.get("lead"),
                    e.get("deal"),
                    e["type"],
                    ts(e["at"]),
                    owner,
                    team,
                    e.get("reason"),
                    e.get("amount"),
                    e.get("currency"),
                    dt.date.fromisoformat(e["close"]) if e.get("close") else None,
                ],
            )
        for deal, lead, role in contacts:
            con.execute(
                "insert into opportunity_contacts values (?, ?, ?, false, 'story')", [deal, lead, role]
            )
        for deal, record in (opportunities or {}).items():
            con.execute(
                "insert into opportunities (opportunity_id, name, account_id, currency, source) "
                "values (?, ?, ?, ?, 'story')",
                [deal, record.get("name", f"Deal {deal}"), record.get("account"), record.get("currency")],
            )
        contract_store.declare(con, parsed.stage_keys)
        store.rebuild_journey(con, text)
    return Path(path)
