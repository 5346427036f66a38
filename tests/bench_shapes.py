"""First imports per export shape: generate files of each shape a preset (or a shipped example
mapping) reads, and time the first import of each into a new store (docs/import.md, "First
imports per shape at 1M rows"). Invented rows only.

    python -m tests.bench_shapes --out /tmp/shapes                 write the files, print the commands
    python -m tests.bench_shapes --out /tmp/shapes --run           ... and import each (make bench-shapes)
    python -m tests.bench_shapes --out /tmp/s --rows 2000 --shapes sf_objects,lookups --run

Each shape's files carry the header names its mapping expects and a realistic mix of stages and
dates; `--rows` is the size of the shape's largest file (the Salesforce objects and the sync's
contact tables: the rows of all files together), 1,000,000 by default. With `--run` each shape is
imported into a new store (DIR/stores/SHAPE.duckdb) in its own process, with the command a user
types (printed), under /usr/bin/time -v when it is there (else the child's own rusage, from
os.wait4): wall time and peak memory (max RSS). The lookup files are imported into a copy of the
status list's store, since a lookup only joins to what the store knows.

The generator counts the events the import must store (worked out from the rows it wrote, rule
by rule: see each generator), and after each import the store is read back: the last lines are
one `check SHAPE: ...` line per shape, `ok` when the events stored are the ones expected, no row
was rejected and the import succeeded. The exit status is 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "data" / "examples"
TIME_BIN = Path("/usr/bin/time")
D = dt.datetime(2025, 1, 1)
ISO_Z = "%Y-%m-%dT%H:%M:%S.000Z"  # Salesforce's API times, UTC
FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dev",
    "Eva",
    "Femi",
    "José",
    "Zoë",
    "Björn",
    "Renée",
    "François",
    "Mia",
    "Omar",
]
LAST = ["Silva", "Okoro", "Martin", "Patel", "Novak", "Adeyemi", "Müller", "Núñez", "García", "Berg", "Lind"]
WORDS = [
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Litware",
    "Adatum",
    "Café Lumière",
    "Globex",
    "Initech",
]


@dataclasses.dataclass
class Shape:
    """Files of one shape as generated: what to import, and what the import must store."""

    files: list[Path]
    rows: int  # data rows in all files
    events: int  # events the store must hold after the import
    mapping: str  # preset name or path, as typed
    flags: tuple[str, ...] = ("--accept-proposal",)
    joined: int | None = None  # lookup rows the import must join (lookup files only)
    setup: Shape | None = None  # what the store must hold first (lookup files only)


def at(rng: random.Random, day: float) -> dt.datetime:
    """A moment on `day` (days after 2025-01-01) in office hours: never in the hour a daylight
    saving change skips or repeats, so no local time is rejected or flagged."""
    return D + dt.timedelta(days=int(day), hours=rng.randint(8, 17), minutes=rng.randint(0, 59))


def _open(path: Path, encoding: str = "utf-8", newline: str = "\n"):
    return open(path, "w", encoding=encoding, newline=newline)


# --- HubSpot contacts, internal names, hs_v2_date_entered_* with a custom stage ------------------


def hs_contacts(out: Path, n: int, rng: random.Random) -> Shape:
    """One row per contact; k of its 6 stage columns dated (k mostly 1 or 2), 3 days apart, in
    UTC (`Z`). Each dated stage cell is one event."""
    stages = ["lead", "marketingqualifiedlead", "3206386937", "salesqualifiedlead", "opportunity", "customer"]
    events = 0
    path = out / "hs_contacts.csv"
    with _open(path) as f:
        f.write(
            "hs_object_id,firstname,lastname,email,createdate,hs_analytics_source,hubspot_owner_id,lifecyclestage,"
            + ",".join(f"hs_v2_date_entered_{s}" for s in stages)
            + "\n"
        )
        for i in range(n):
            start = rng.random() * 300
            k = rng.choice([1, 1, 1, 2, 2, 3, 4, 5, 6])
            z = "%Y-%m-%dT%H:%M:%SZ"
            dates = [(D + dt.timedelta(days=start + 3 * j)).strftime(z) if j < k else "" for j in range(6)]
            events += k
            f.write(
                f"{i + 1},F{i},L{i},p{i}@x.example,{dates[0]},ORGANIC_SEARCH,{81000 + i % 40},{stages[k - 1]},"
                + ",".join(dates)
                + "\n"
            )
    return Shape([path], n, events, "hubspot_contacts")


# --- HubSpot contacts, UI labels, first generation ("Became a … Date") ---------------------------


def hs_contacts_v1(out: Path, n: int, rng: random.Random) -> Shape:
    """The UI export of the first generation: a `Became a … Date` column per default stage (the
    Sales Accepted one a portal's own property), blanks for stages never reached, local New York
    times. Each dated stage cell is an event; so is each Disqualified Date (a contact that stopped
    at lead or MQL, with a reason). Only default stages: it imports under the default funnel."""
    labels = ["Lead", "Marketing Qualified Lead", "Sales Accepted Lead", "Sales Qualified Lead"]
    cols = [f"Became a {s} Date" for s in labels] + ["Became an Opportunity Date", "Became a Customer Date"]
    sources = ["Organic Search", "Paid Social", "Events", "Referrals", "Direct Traffic"]
    owners = [f"{a} {b}" for a in FIRST[:8] for b in LAST[:5]]
    events = 0
    path = out / "hs_contacts_v1.csv"
    fmt = "%Y-%m-%d %H:%M"
    with _open(path) as f:
        f.write(
            "Record ID,First Name,Last Name,Company Name,Create Date,Original Source,Country/Region,Company size,"
            "Contact owner,"
            + ",".join(cols)
            + ",Disqualified Date,Disqualification Reason,Recent Deal Amount\n"
        )
        for i in range(n):
            day = rng.random() * 300
            k = rng.choice([1, 1, 2, 2, 2, 3, 4, 5, 6])
            dates, moment = [], at(rng, day)
            for j in range(6):
                dates.append(moment.strftime(fmt) if j < k else "")
                moment += dt.timedelta(days=rng.randint(1, 6))
            disq = reason = amount = ""
            if k <= 2 and rng.random() < 0.3:
                disq, reason = moment.strftime(fmt), "Not a fit"
                events += 1
            if k == 6:
                amount = f'"{rng.randint(1, 90):,},000.00"'
            events += k
            owner = owners[i % len(owners)] if i % 7 else ""
            f.write(
                f"{51000000 + i},{rng.choice(FIRST)},{rng.choice(LAST)},{rng.choice(WORDS)} {i % 5000},{dates[0]},"
                f"{rng.choice(sources)},Portugal,SMB,{owner},"
                + ",".join(dates)
                + f",{disq},{reason},{amount}\n"
            )
    return Shape([path], n, events, "hubspot_contacts", flags=())


# --- HubSpot deals, UI labels, associated contacts ----------------------------------------------


def hs_deals(out: Path, n: int, rng: random.Random) -> Shape:
    """One row per deal; k of 6 date-entered columns (4 days apart), half of the unwon ones
    Closed Lost on a 7th; two associated contacts each. Each dated cell is an event."""
    ds = [
        "Appointment Scheduled",
        "Qualified To Buy",
        "Presentation Scheduled",
        "Decision Maker Bought-In",
        "Contract Sent",
        "Closed Won",
    ]
    fmt = "%Y-%m-%d %H:%M"
    events = 0
    path = out / "hs_deals.csv"
    with _open(path) as f:
        f.write(
            "Record ID,Deal Name,Deal Stage,Create Date,Amount,Currency,Deal owner,"
            + ",".join(f'"Date entered ""{s} (Sales Pipeline)"""' for s in ds)
            + ',"Date entered ""Closed Lost (Sales Pipeline)""",Associated Contact IDs\n'
        )
        for i in range(n):
            start = at(rng, rng.random() * 300)
            k = rng.randint(1, 6)
            lost = k < 6 and rng.random() < 0.5
            dates = [(start + dt.timedelta(days=4 * j)).strftime(fmt) if j < k else "" for j in range(6)]
            lost_at = (start + dt.timedelta(days=4 * k)).strftime(fmt) if lost else ""
            events += k + lost
            stage = "Closed Lost" if lost else ds[k - 1]
            f.write(
                f"{i + 1},Deal {i},{stage},{dates[0]},{1000 + i % 9000}.00,USD,Rep {i % 30},"
                + ",".join(dates)
                + f",{lost_at},{i * 2 + 1};{i * 2 + 2}\n"
            )
    return Shape([path], n, events, "hubspot_deals")


# --- HubSpot deals, internal property names ------------------------------------------------------

# The default sales pipeline's stage ids (hubspot_deals' stage_aliases read them as labels), with
# one stage of the portal's own, a numeric id, between Bought-In and Contract Sent.
HS_DEAL_STAGE_IDS = [
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "1276930481",
    "contractsent",
    "closedwon",
]


def hs_deals_api(out: Path, n: int, rng: random.Random) -> Shape:
    """The deals export with HubSpot's internal property names (an API or warehouse export):
    `hs_object_id`, `dealname`, `dealstage` (the stage id), `pipeline`, `createdate`, `closedate`,
    `amount`, `deal_currency_code`, `hs_is_closed_won`, `hs_is_closed`, `associated_contact_ids`
    and an `hs_v2_date_entered_<stage id>` column per stage of the default pipeline (one a custom
    stage with a numeric id) and `closedlost`, in UTC (`…Z`), plus `hs_v2_date_entered_current_stage`
    (no move: the preset ignores it). k of the 7 stages dated (3 days apart), half of the unwon
    deals lost on the next day; two associated contacts each. Each dated stage cell is one event
    (current_stage never is)."""
    z = "%Y-%m-%dT%H:%M:%S.000Z"
    events = 0
    path = out / "hs_deals_api.csv"
    with _open(path) as f:
        f.write(
            "hs_object_id,dealname,dealstage,pipeline,createdate,closedate,amount,deal_currency_code,"
            "hubspot_owner_id,hs_is_closed_won,hs_is_closed,associated_contact_ids,"
            + ",".join(f"hs_v2_date_entered_{s}" for s in HS_DEAL_STAGE_IDS)
            + ",hs_v2_date_entered_closedlost,hs_v2_date_entered_current_stage\n"
        )
        for i in range(n):
            start = at(rng, rng.random() * 300)
            k = rng.randint(1, len(HS_DEAL_STAGE_IDS))
            won = k == len(HS_DEAL_STAGE_IDS)
            lost = not won and rng.random() < 0.5
            dates = [(start + dt.timedelta(days=3 * j)).strftime(z) if j < k else "" for j in range(7)]
            lost_at = (start + dt.timedelta(days=3 * k - 2)).strftime(z) if lost else ""
            events += k + lost
            stage = "closedlost" if lost else HS_DEAL_STAGE_IDS[k - 1]
            closed = won or lost
            current = lost_at or dates[k - 1]
            close = (start + dt.timedelta(days=30)).strftime("%Y-%m-%d")
            f.write(
                f"{i + 1},Deal {i},{stage},default,{dates[0]},{close},{1000 + i % 9000}.00,"
                f"{['USD', 'EUR'][i % 2]},{82000 + i % 30},{str(won).lower()},{str(closed).lower()},"
                f"{i * 2 + 1};{i * 2 + 2}," + ",".join(dates) + f",{lost_at},{current}\n"
            )
    return Shape([path], n, events, "hubspot_deals")


# --- Salesforce Opportunity + OpportunityHistory ------------------------------------------------

SF_STAGES = ["Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review", "Closed Won"]
OPP_HEADER = (
    "Id,Name,AccountId,StageName,Amount,CurrencyIsoCode,CloseDate,IsClosed,IsWon,ForecastCategoryName,LeadSource,"
    "OwnerId,CreatedDate,Type\n"
)
HIST_HEADER = (
    "OpportunityId,StageName,Amount,PrevAmount,CloseDate,PrevCloseDate,Probability,ForecastCategory,CreatedDate,"
    "IsDeleted\n"
)


def _opportunity(fo, fh, rng: random.Random, oid: str, i: int, start: dt.datetime, path: list[str]) -> int:
    """Write one Opportunity and its OpportunityHistory rows (one per stage of `path`, 7 days
    apart; the first has no previous amount or close date). Returns the rows written."""
    last = path[-1]
    closed = last in ("Closed Won", "Closed Lost")
    close = (start + dt.timedelta(days=40)).strftime("%Y-%m-%d")
    amount = 1000 + i % 9000
    forecast = {"Closed Won": "Closed", "Closed Lost": "Omitted"}.get(last, "Pipeline")
    fo.write(
        f"{oid},Opp {i},001{i % 60000:015d},{last},{amount},{'EUR' if i % 5 == 0 else 'USD'},{close},"
        f"{str(closed).lower()},{str(last == 'Closed Won').lower()},{forecast},Web,005{i % 40:015d},"
        f"{start.strftime(ISO_Z)},New Business\n"
    )
    for j, s in enumerate(path):
        prev = "" if j == 0 else f"{amount}"
        prev_close = "" if j == 0 else close
        fh.write(
            f"{oid},{s},{amount},{prev},{close},{prev_close},{10 + 20 * min(j, 4)},Pipeline,"
            f"{(start + dt.timedelta(days=7 * j)).strftime(ISO_Z)},false\n"
        )
    return len(path)


def sf_opportunities(out: Path, n: int, rng: random.Random) -> Shape:
    """n/4 opportunities, about 4 history rows each (2 to 5 stages, half of the closed ones won;
    some repeat a stage, a re-entry). Each history row is one event."""
    m = max(n // 4, 1)
    hist = 0
    fo_path, fh_path = out / "Opportunity.csv", out / "OpportunityHistory.csv"
    with _open(fo_path) as fo, _open(fh_path) as fh:
        fo.write(OPP_HEADER)
        fh.write(HIST_HEADER)
        for i in range(m):
            start = at(rng, rng.random() * 300)
            k = rng.randint(2, 5)
            path = (
                SF_STAGES[: k - 1] + [SF_STAGES[4] if rng.random() < 0.5 else "Closed Lost"]
                if k > 2
                else SF_STAGES[:2]
            )
            while hist < (i + 1) * 4 and len(path) < 4:
                path = SF_STAGES[: len(path)] + path[-1:]
            hist += _opportunity(fo, fh, rng, f"006{i:015d}", i, start, path)
    return Shape([fh_path, fo_path], m + hist, hist, "salesforce_objects")


# --- Salesforce Lead + LeadHistory + Opportunity + OpportunityHistory + contact roles + campaigns -


def sf_objects(out: Path, n: int, rng: random.Random) -> Shape:
    """The standard objects together, about n rows in all: n/8 leads (Lead.csv in cp1252, CRLF,
    accented names), their LeadHistory (a `created` row, one or two Status changes, sometimes an
    Owner change), half of them converted to an Opportunity with its history (one deal in 50
    with a deleted row too), 1 to 3 contact roles per opportunity (the primary is the converted
    lead's contact), about one CampaignMember row per lead (60% responded; a converted lead's
    membership sometimes by its contact only), each opportunity's OpportunityFieldHistory (its
    StageName changes, the same moves as OpportunityHistory; for one in three an Amount change
    and for one in five a CloseDate change, 3 days after it opened) and one or two
    CampaignInfluence rows per opportunity (its primary contact, under one or two models).

    Events: each lead's `Lead created`; a converted lead's status, dated by ConvertedDate; each
    Status row of LeadHistory, except the converting one, which is the same move on the same day
    as ConvertedDate (counted once); each OpportunityHistory row not deleted; each Amount and
    CloseDate change of the field history (its StageName rows are OpportunityHistory's moves,
    counted once). Contact roles, campaign responses and influence are no events."""
    leads = max(n // 8, 1)
    events = rows = 0
    p = {name: out / f"{name}.csv" for name in ("Lead", "LeadHistory", "Opportunity", "OpportunityHistory")}
    p["OpportunityContactRole"] = out / "OpportunityContactRole.csv"
    p["CampaignMember"] = out / "CampaignMember.csv"
    p["OpportunityFieldHistory"] = out / "OpportunityFieldHistory.csv"
    p["CampaignInfluence"] = out / "CampaignInfluence.csv"
    sources = ["Web", "Trade Show", "Partner", "Paid Social", "Webinar"]
    roles = ["Decision Maker", "Economic Buyer", "Technical Buyer", "Influencer"]
    with (
        _open(p["Lead"], "cp1252", "\r\n") as fl,
        _open(p["LeadHistory"]) as flh,
        _open(p["Opportunity"]) as fo,
        _open(p["OpportunityHistory"]) as fh,
        _open(p["OpportunityContactRole"]) as fr,
        _open(p["CampaignMember"]) as fc,
        _open(p["OpportunityFieldHistory"]) as ff,
        _open(p["CampaignInfluence"]) as fi,
    ):
        fl.write(
            "Id,FirstName,LastName,Company,Email,LeadSource,Country,Industry,OwnerId,CreatedDate,Status,IsConverted,"
            "ConvertedDate,ConvertedOpportunityId,ConvertedContactId\n"
        )
        flh.write("LeadId,Field,OldValue,NewValue,CreatedDate,IsDeleted\n")
        fo.write(OPP_HEADER)
        fh.write(HIST_HEADER)
        fr.write("Id,OpportunityId,ContactId,Role,IsPrimary,CreatedDate,IsDeleted\n")
        fc.write("Id,CampaignId,LeadId,ContactId,Status,HasResponded,FirstRespondedDate,CreatedDate\n")
        ff.write("Id,OpportunityId,Field,OldValue,NewValue,CreatedDate,IsDeleted\n")
        fi.write("Id,CampaignId,OpportunityId,ContactId,ModelId,Influence,RevenueShare,CreatedDate\n")
        n_opps = n_roles = n_changes = n_influence = 0
        for i in range(leads):
            lid, cid = f"00Q{i:015d}", f"003{i:015d}"
            created = at(rng, rng.random() * 300)
            owner = f"005{i % 40:015d}"
            events += 1  # Lead created
            # LeadHistory: the created row, then the status changes
            flh.write(f"{lid},created,,,{created.strftime(ISO_Z)},false\n")
            rows += 1
            r = rng.random()
            final = (
                "Closed - Converted"
                if r < 0.5
                else "Closed - Not Converted"
                if r < 0.7
                else "Working - Contacted"
                if r < 0.9
                else "Open - Not Contacted"
            )
            moment, old = created, "Open - Not Contacted"
            steps = [] if final == "Open - Not Contacted" else ["Working - Contacted"]
            if final.startswith("Closed"):
                steps.append(final)
            for new in steps:
                moment = at(rng, (moment - D).days + rng.randint(1, 8))
                flh.write(f"{lid},Status,{old},{new},{moment.strftime(ISO_Z)},false\n")
                rows += 1
                events += new != "Closed - Converted"
                old = new
            if rng.random() < 0.5:
                flh.write(f"{lid},Owner,005{(i + 7) % 40:015d},{owner},{created.strftime(ISO_Z)},false\n")
                rows += 1
            converted = final == "Closed - Converted"
            oid = f"006{n_opps:015d}" if converted else ""
            name = f"{rng.choice(FIRST)},{rng.choice(LAST)}"
            fl.write(
                f"{lid},{name},{rng.choice(WORDS)} {i % 9000},lead{i}@x.example,{rng.choice(sources)},"
                f"{rng.choice(['France', 'Deutschland', 'España', 'Portugal'])},Software,{owner},"
                f"{created.strftime(ISO_Z)},{final},{str(converted).lower()},"
                f"{moment.strftime('%Y-%m-%d') if converted else ''},{oid},{cid if converted else ''}\n"
            )
            rows += 1
            if converted:
                events += 1  # the converted status, dated by ConvertedDate
                start = moment + dt.timedelta(hours=1)
                k = rng.randint(1, 4)
                path = SF_STAGES[:k]
                if k >= 3 and rng.random() < 0.15:  # back a stage, then on again
                    path = path + [SF_STAGES[k - 2], SF_STAGES[k - 1]]
                if rng.random() < 0.7:
                    path.append("Closed Won" if rng.random() < 0.5 else "Closed Lost")
                h = _opportunity(fo, fh, rng, oid, n_opps, start, path)
                events += h
                rows += 1 + h
                # The field history: the same stage moves, then an amount or close date change.
                for j in range(1, len(path)):
                    moved = (start + dt.timedelta(days=7 * j)).strftime(ISO_Z)
                    ff.write(f"017{n_changes:015d},{oid},StageName,{path[j - 1]},{path[j]},{moved},false\n")
                    n_changes += 1
                    rows += 1
                changed = (start + dt.timedelta(days=3)).strftime(ISO_Z)
                if rng.random() < 1 / 3:
                    ff.write(
                        f"017{n_changes:015d},{oid},Amount,1000,{500 + n_opps % 20000},{changed},false\n"
                    )
                    n_changes += 1
                    rows += 1
                    events += 1
                if rng.random() < 0.2:
                    later = (start + dt.timedelta(days=70)).strftime("%Y-%m-%d")
                    ff.write(f"017{n_changes:015d},{oid},CloseDate,,{later},{changed},false\n")
                    n_changes += 1
                    rows += 1
                    events += 1
                for model in range(rng.randint(1, 2)):
                    fi.write(
                        f"071{n_influence:015d},701{i % 50:015d},{oid},{cid},03M{model:015d},100,"
                        f"{1000 + n_opps % 9000},{start.strftime(ISO_Z)}\n"
                    )
                    n_influence += 1
                    rows += 1
                if rng.random() < 0.02:  # a deleted history row: no move
                    fh.write(f"{oid},Qualification,1000,,,,20,Pipeline,{start.strftime(ISO_Z)},true\n")
                    rows += 1
                for j in range(rng.randint(1, 3)):
                    contact = cid if j == 0 else f"003{leads + n_roles:015d}"
                    fr.write(
                        f"00K{n_roles:015d},{oid},{contact},{roles[j]},{str(j == 0).lower()},"
                        f"{start.strftime(ISO_Z)},false\n"
                    )
                    n_roles += 1
                    rows += 1
                n_opps += 1
            responded = rng.random() < 0.6
            by_contact = converted and rng.random() < 0.3
            fc.write(
                f"00v{i:015d},701{i % 50:015d},{'' if by_contact else lid},{cid if by_contact else ''},"
                f"{'Responded' if responded else 'Sent'},{str(responded).lower()},"
                f"{(created - dt.timedelta(days=2)).strftime('%Y-%m-%d') if responded else ''},"
                f"{(created - dt.timedelta(days=4)).strftime(ISO_Z)}\n"
            )
            rows += 1
    order = [
        "CampaignInfluence",
        "CampaignMember",
        "OpportunityFieldHistory",
        "OpportunityContactRole",
        "Opportunity",
        "LeadHistory",
        "Lead",
        "OpportunityHistory",
    ]
    return Shape([p[k] for k in order], rows, events, "salesforce_objects")


# --- A sync's deal_stage, history mode ------------------------------------------------------------


def fivetran_deal_stage(out: Path, n: int, rng: random.Random) -> Shape:
    """n/4 deals, 4 deal_stage rows each (3 open stages, then won or lost). Each row is one event."""
    ids = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled"]
    deals = max(n // 4, 1)
    fmt = "%Y-%m-%d %H:%M:%S"
    path = out / "deal_stage.csv"
    with _open(path) as f:
        f.write(
            "deal_id,value,date_entered,source,source_id,_fivetran_start,_fivetran_end,_fivetran_active\n"
        )
        for i in range(deals):
            start = at(rng, rng.random() * 300)
            last = "closedwon" if rng.random() < 0.5 else "closedlost"
            for j, s in enumerate([*ids, last]):
                when = (start + dt.timedelta(days=5 * j)).strftime(fmt)
                f.write(f"{9000000 + i},{s},{when},CRM_UI,u1,{when},9999-12-31 23:59:59,true\n")
    return Shape([path], deals * 4, deals * 4, "hubspot_fivetran")


def fivetran_deals(out: Path, n: int, rng: random.Random) -> Shape:
    """A sync's deal + deal_property_history, history mode, about n rows: n/6 deals (their
    current version), each with 4 dealstage changes (3 open stages, then won or lost, 5 days
    apart), its amount set at creation, for one deal in three changed 3 days later, and for one
    in five a closedate change. Each property row is one event (a stage entry, or an amount or
    close-date change); the deal rows carry no stage date, so they add none."""
    ids = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled"]
    deals = max(n // 6, 1)
    fmt = "%Y-%m-%d %H:%M:%S"
    p_deal, p_hist = out / "deal.csv", out / "deal_property_history.csv"
    rows = events = 0
    with _open(p_deal) as fd, _open(p_hist) as fh:
        fd.write(
            "deal_id,deal_pipeline_id,deal_pipeline_stage_id,owner_id,property_dealname,property_amount,"
            "property_deal_currency_code,property_createdate,property_closedate,"
            "_fivetran_start,_fivetran_end,_fivetran_active\n"
        )
        fh.write("deal_id,name,value,source,source_id,timestamp,_fivetran_synced\n")
        for i in range(deals):
            deal = 9000000 + i
            start = at(rng, rng.random() * 300)
            last = "closedwon" if rng.random() < 0.5 else "closedlost"
            amount = 1000 + i % 9000
            close = (start + dt.timedelta(days=40)).strftime("%Y-%m-%d")
            synced = (start + dt.timedelta(days=30)).strftime(fmt)
            fd.write(
                f"{deal},default,{last},{81000 + i % 40},Deal {i},{amount},USD,{start.strftime(fmt)},{close},"
                f"{synced},9999-12-31 23:59:59,true\n"
            )
            rows += 1
            for j, stage in enumerate([*ids, last]):
                when = (start + dt.timedelta(days=5 * j)).strftime(fmt)
                fh.write(f"{deal},dealstage,{stage},CRM_UI,u1,{when},{synced}\n")
            fh.write(f"{deal},amount,{amount},CRM_UI,u1,{start.strftime(fmt)},{synced}\n")
            rows += 5
            events += 5
            changed = (start + dt.timedelta(days=3)).strftime(fmt)
            if rng.random() < 1 / 3:
                fh.write(f"{deal},amount,{amount + 500},CRM_UI,u1,{changed},{synced}\n")
                rows += 1
                events += 1
            if rng.random() < 0.2:
                later = (start + dt.timedelta(days=70)).strftime("%Y-%m-%d")
                fh.write(f"{deal},closedate,{later},CRM_UI,u1,{changed},{synced}\n")
                rows += 1
                events += 1
    return Shape([p_deal, p_hist], rows, events, "hubspot_fivetran")


# --- A sync's contact tables: contact + contact_property_history, history mode --------------------


def fivetran_contacts(out: Path, n: int, rng: random.Random) -> Shape:
    """About n rows in all: n/6 contacts (one in five with an older, inactive version, as history
    mode keeps it) and their contact_property_history: 1 to 5 lifecyclestage changes each, and
    about 3 changes of other properties (no move). Each lifecyclestage row is one event; the
    contact table holds no stage date, so it adds leads and no event."""
    stages = ["lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"]
    other = ["email", "hs_analytics_source", "hubspot_owner_id", "company", "phone"]
    contacts = max(n // 6, 1)
    fmt = "%Y-%m-%d %H:%M:%S"
    end = "9999-12-31 23:59:59"
    synced = "2025-12-01 00:00:00"
    events = rows = 0
    pc, ph = out / "contact.csv", out / "contact_property_history.csv"
    with _open(pc) as fc, _open(ph) as fh:
        fc.write(
            "id,property_email,property_firstname,property_lastname,property_company,property_createdate,"
            "property_hs_analytics_source,property_hubspot_owner_id,property_lifecyclestage,"
            "_fivetran_start,_fivetran_end,_fivetran_active,_fivetran_synced\n"
        )
        fh.write(
            "contact_id,name,value,source,source_id,timestamp,_fivetran_start,_fivetran_end,_fivetran_active,_fivetran_synced\n"
        )
        for i in range(contacts):
            cid = 7000000 + i
            created = at(rng, rng.random() * 300)
            k = rng.choice([1, 1, 2, 2, 3, 4, 5])
            moment, changes = created, []
            for j in range(k):
                changes.append((moment, "lifecyclestage", stages[j], "FORM" if j == 0 else "WORKFLOWS"))
                moment = at(rng, (moment - D).days + rng.randint(1, 10))
            for _ in range(rng.randint(2, 4)):
                changes.append(
                    (created + dt.timedelta(minutes=rng.randint(1, 600)), rng.choice(other), "x", "CRM_UI")
                )
            for when, name, value, source in changes:
                w = when.strftime(fmt)
                fh.write(f"{cid},{name},{value},{source},,{w},{w},{end},true,{synced}\n")
            events += k
            rows += len(changes)
            row = (
                f"{cid},c{i}@x.example,{rng.choice(FIRST)},{rng.choice(LAST)},{rng.choice(WORDS)},"
                f"{created.strftime(fmt)},ORGANIC_SEARCH,{81000 + i % 40}"
            )
            last_change = changes[k - 1][0].strftime(fmt)
            if k > 1 and rng.random() < 0.2:  # the version before the last stage change
                fc.write(f"{row},{stages[k - 2]},{created.strftime(fmt)},{last_change},false,{synced}\n")
                rows += 1
            fc.write(f"{row},{stages[k - 1]},{last_change},{end},true,{synced}\n")
            rows += 1
    return Shape([pc, ph], rows, events, "hubspot_fivetran")


# --- Our own event log ----------------------------------------------------------------------------


def event_log(out: Path, n: int, rng: random.Random) -> Shape:
    """n events over about n/4 leads: lead, MQL, then on towards won, or an exit with its reason
    (rejected, disqualified, recycled, lost); Sales-sourced leads start at SQL; won carries the
    amount. Each row is one event (its own event_id)."""
    fmt = "%Y-%m-%d %H:%M:%S"
    path = out / "event_log.csv"
    written = lead = 0
    with _open(path) as f:
        f.write("event_id,lead_id,deal_id,event_type,occurred_at,owner_id,team,reason_code,amount\n")
        while written < n:
            moment = at(rng, rng.random() * 300)
            sales_sourced = rng.random() < 0.1
            path_ = ["sql"] if sales_sourced else ["lead"]
            if not sales_sourced and rng.random() < 0.7:
                path_.append("mql")
                r = rng.random()
                if r < 0.15:
                    path_.append(rng.choice(["rejected", "recycled"]))
                elif r < 0.7:
                    path_ += ["sal", "sql"]
            elif not sales_sourced and rng.random() < 0.3:
                path_.append("disqualified")
            if path_[-1] == "sql" and rng.random() < 0.6:
                path_.append("opportunity")
                path_.append(rng.choice(["won", "lost", "opportunity"]))
                if path_[-1] == "opportunity":
                    path_.pop()
            deal = f"D-{lead}" if "opportunity" in path_ else ""
            for stage in path_:
                if written == n:
                    break
                team = "marketing" if stage in ("lead", "mql", "disqualified") else "sales"
                reason = {
                    "rejected": "not_a_fit",
                    "recycled": "not_ready",
                    "disqualified": "bad_contact_data",
                    "lost": rng.choice(["price", "lost_to_competitor", "no_decision"]),
                }.get(stage, "")
                amount = f"{rng.randint(2, 90) * 500}" if stage == "won" else ""
                d = deal if stage in ("opportunity", "won", "lost") else ""
                owner = f"O-M{lead % 8}" if team == "marketing" else f"O-S{lead % 20}"
                f.write(
                    f"E-{written},L-{lead},{d},{stage},{moment.strftime(fmt)},{owner},{team},{reason},{amount}\n"
                )
                written += 1
                moment = at(rng, (moment - D).days + rng.randint(1, 9))
            lead += 1
    return Shape([path], n, n, "event_log", flags=())


# --- A list of MQLs and a list of won deals keyed by the MQL's id --------------------------------


def mql_wins(out: Path, n: int, rng: random.Random) -> Shape:
    """n MQLs (32-hex ids, a date, a source), and a won deal for about one in five of them, 20 to
    120 days later, with its amount ("12,000.00") and rep. Each MQL row is one event (MQL) and
    each won row another (won)."""
    pm, pw = out / "mql_list.csv", out / "won_deals.csv"
    wins = 0
    reps = [f"{a} {b}" for a in FIRST[:6] for b in LAST[:4]]
    with _open(pm) as fm, _open(pw) as fw:
        fm.write("MQL ID,Name,Company,MQL Date,Source,Segment\n")
        fw.write("Deal ID,MQL ID,Won Date,Amount,Currency,Rep\n")
        for i in range(n):
            mid = f"{rng.getrandbits(64):016x}{i:016x}"
            day = rng.random() * 300
            fm.write(
                f"{mid},{rng.choice(FIRST)} {rng.choice(LAST)},{rng.choice(WORDS)} {i % 5000},"
                f"{(D + dt.timedelta(days=int(day))).strftime('%Y-%m-%d')},"
                f"{rng.choice(['Web', 'Events', 'Paid', 'Partner'])},{rng.choice(['SMB', 'Mid-market', 'Enterprise'])}\n"
            )
            if rng.random() < 0.2:
                won = D + dt.timedelta(days=int(day) + rng.randint(20, 120))
                fw.write(
                    f'D-{wins},{mid},{won.strftime("%Y-%m-%d")},"{rng.randint(1, 90):,},000.00",USD,{rng.choice(reps)}\n'
                )
                wins += 1
    return Shape([pm, pw], n + wins, n + wins, str(EXAMPLES / "mql_and_wins.toml"), flags=())


# --- One row per opportunity with a status; lookup files of reps and accounts --------------------

REPS = [
    f"{a} {b}"
    for a in ("Ana", "Ben", "Cara", "Dario", "Elif", "Finn", "Gül", "Hana")
    for b in ("Ruiz", "Ode", "Lind", "Brandão", "Kaya")
]
OPEN_STATUSES = ["Discovery", "Proposal", "Negotiation"]


def _account(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]} {i:05d} {['Ltd', 'GmbH', 'S.A.', 'Inc.'][i % 4]}"


def opportunities_status(out: Path, n: int, rng: random.Random, products: list[str] | None = None) -> Shape:
    """n opportunities over n/4 accounts and 40 reps: 30% Won, 30% Lost, 40% open (Discovery,
    Proposal, Negotiation), of which one in eight has no date at all (undated open pipeline).
    Events: the `Created` of each dated row, and the outcome of each won or lost one (dated by its
    Close Date); an open status is where the opportunity stands, no event. With `products`, a
    Product column too (opportunity i sells products[i % len(products)]), in
    opportunities_products.csv."""
    path = out / ("opportunities_products.csv" if products else "opportunities_status.csv")
    events = 0
    accounts = max(n // 4, 1)
    with _open(path) as f:
        f.write(
            "Opportunity ID,Opportunity Name,Account,Owner,Lead Source,Status,Created,Close Date,Amount,Currency"
            + (",Product\n" if products else "\n")
        )
        for i in range(n):
            r = rng.random()
            status = "Won" if r < 0.3 else "Lost" if r < 0.6 else rng.choice(OPEN_STATUSES)
            account = _account(i % accounts)
            created = D + dt.timedelta(days=rng.randint(0, 300))
            close = created + dt.timedelta(days=rng.randint(10, 90))
            amount = rng.randint(2, 60) * 500
            if status in OPEN_STATUSES and rng.random() < 0.125:
                created_s = close_s = amount_s = currency = ""
            else:
                created_s, amount_s, currency = (
                    created.strftime("%Y-%m-%d"),
                    f"{amount}",
                    rng.choice(["EUR", "USD"]),
                )
                close_s = (
                    close.strftime("%Y-%m-%d") if status in ("Won", "Lost") or rng.random() < 0.5 else ""
                )
                events += 1 + (status in ("Won", "Lost"))
            f.write(
                f'O-{i},"{account.split()[0]} deal {i}","{account}",{REPS[i % len(REPS)]},'
                f"{rng.choice(['Web', 'Events', 'Partner'])},{status},{created_s},{close_s},{amount_s},{currency}"
                + (f',"{products[i % len(products)]}"\n' if products else "\n")
            )
    return Shape([path], n, events, str(EXAMPLES / "opportunities_status.toml"))


LOOKUP_MAPPING = """\
name = "Reps and accounts"
description = "Reps with their managers and offices, and accounts with domain, sector and size, joined by name."

[[files]]
role = "reps"
shape = "lookup"
target = "owners"
name = "Rep"

[files.lookup]
manager = "Manager"
office = "Office"

[[files]]
role = "accounts"
shape = "lookup"
target = "accounts"
name = "Account"

[files.lookup]
domain = "Domain"
sector = "Sector"
size = "Size"
"""


def _variant(name: str, i: int) -> str:
    """A name as another file spells it: other case, doubled spaces, a stray point, no accents."""
    plain = name.translate(str.maketrans("éèçãâüöñğ", "eecaauong"))
    return [name.lower(), name.replace(" ", "  "), name + ".", plain.upper()][i % 4]


def lookups(out: Path, n: int, rng: random.Random) -> Shape:
    """Two lookup files, imported into the status list's store: the 40 reps (manager, office) and
    the n/4 accounts (domain, sector, size), named as the opportunities name them, except one rep
    in four and one account in ten spelt otherwise (case, spaces, punctuation, accents), which
    join after normalising. Every row joins; no event is added (the store keeps the status
    list's)."""
    status = opportunities_status(out, n, random.Random(seed("opportunities_status")))
    accounts = max(n // 4, 1)
    pr, pa, pm = out / "reps.csv", out / "accounts.csv", out / "reps_and_accounts.toml"
    pm.write_text(LOOKUP_MAPPING, encoding="utf-8")
    with _open(pr) as f:
        f.write("Rep,Manager,Office\n")
        for i, rep in enumerate(REPS):
            f.write(
                f'"{_variant(rep, i // 4) if i % 4 == 0 else rep}",{REPS[i // 8 * 8]},{["Lisbon", "Madrid", "Berlin"][i % 3]}\n'
            )
    with _open(pa) as f:
        f.write("Account,Domain,Sector,Size\n")
        for i in range(accounts):
            name = _account(i)
            name = _variant(name, i // 10) if i % 10 == 0 else name
            f.write(
                f'"{name}",acct{i}.example,{rng.choice(["Retail", "Software", "Energy"])},{rng.choice(["SMB", "Enterprise"])}\n'
            )
    joined = len(REPS) + accounts
    return Shape([pr, pa], joined, status.events, str(pm), flags=(), joined=joined, setup=status)


def _product(i: int) -> str:
    return f"{WORDS[i % len(WORDS)]} {['Platform', 'Analytics', 'Support', 'Licence'][i // len(WORDS) % 4]} {i:04d}"


def products(out: Path, n: int, rng: random.Random) -> Shape:
    """A products lookup joined to deals, in one import with the deals it describes: the status
    list of opportunities_status with a Product column (n opportunities over P = n / 500
    products, at least 20, at most 2,000), and products.csv, the P products (name, family),
    named as the deals name them except one in five spelt otherwise (case, spaces, a point,
    accents), which joins after normalising. Events: the status list's (the lookup adds none);
    every product row joins."""
    catalogue = [_product(i) for i in range(min(max(n // 500, 20), 2000))]
    status = opportunities_status(out, n, rng, products=catalogue)
    pp, pm = out / "products.csv", out / "opportunities_products.toml"
    mapping = (EXAMPLES / "opportunities_status.toml").read_text(encoding="utf-8")
    mapping = mapping.replace('channel = "Lead Source"\n', 'channel = "Lead Source"\nproduct = "Product"\n')
    pm.write_text(mapping + PRODUCTS_MAPPING, encoding="utf-8")
    with _open(pp) as f:
        f.write("Product,Family\n")
        for i, name in enumerate(catalogue):
            shown = _variant(name, i // 5) if i % 5 == 0 else name
            f.write(f'"{shown}",{["Core", "Add-on", "Services"][i % 3]}\n')
    return Shape(
        [status.files[0], pp],
        status.rows + len(catalogue),
        status.events,
        str(pm),
        joined=len(catalogue),
    )


PRODUCTS_MAPPING = """
[[files]]
role = "products"
shape = "lookup"
target = "products"
name = "Product"

[files.lookup]
family = "Family"
"""


GENERATORS: dict[str, tuple[str, Callable[[Path, int, random.Random], Shape]]] = {
    "hs_contacts": (
        "HubSpot contacts, internal names, hs_v2_date_entered_* with a custom stage",
        hs_contacts,
    ),
    "hs_contacts_v1": ("HubSpot contacts, UI labels, first generation (Became a … Date)", hs_contacts_v1),
    "hs_deals": ("HubSpot deals, UI labels, date-entered columns, 2 contacts each", hs_deals),
    "hs_deals_api": (
        "HubSpot deals, internal names (dealstage, hs_v2_date_entered_<stage id>), 2 contacts each",
        hs_deals_api,
    ),
    "sf_opportunities": ("Salesforce Opportunity + OpportunityHistory", sf_opportunities),
    "sf_objects": (
        "Salesforce Lead (cp1252) + LeadHistory + Opportunity + OpportunityHistory + OpportunityFieldHistory"
        " + OpportunityContactRole + CampaignMember + CampaignInfluence",
        sf_objects,
    ),
    "fivetran_deal_stage": ("a sync's deal_stage, history mode", fivetran_deal_stage),
    "fivetran_deals": (
        "a sync's deal + deal_property_history (stages, amounts, close dates)",
        fivetran_deals,
    ),
    "fivetran_contacts": ("a sync's contact + contact_property_history, history mode", fivetran_contacts),
    "event_log": ("our event log", event_log),
    "mql_wins": ("a list of MQLs and a list of won deals (mql_and_wins.toml)", mql_wins),
    "opportunities_status": (
        "one row per opportunity with a status (opportunities_status.toml)",
        opportunities_status,
    ),
    "lookups": ("lookup files of reps and accounts, joined by name, into the status list's store", lookups),
    "products": ("a products lookup joined by name to the deals of a status list, in one import", products),
}


def seed(name: str) -> int:
    """Each shape's own seed, so a shape's files are the same whichever others are generated."""
    return sum((i + 1) * ord(c) for i, c in enumerate(name))


@dataclasses.dataclass
class Result:
    name: str
    shape: Shape
    command: list[str]
    code: int | None = None
    seconds: float | None = None
    peak_gb: float | None = None
    stored: int | None = None
    rejected: int | None = None
    joined: int | None = None
    output: str = ""

    def problems(self) -> list[str]:
        if self.code is None:
            return []
        found = []
        if self.code != 0:
            found.append(f"the import exited with {self.code}")
        if self.rejected:
            found.append(f"{self.rejected:,} rows rejected")
        if self.stored != self.shape.events:
            found.append(f"{self.stored} events stored, {self.shape.events:,} expected")
        if self.shape.joined is not None and self.joined != self.shape.joined:
            found.append(f"{self.joined} lookup rows joined, {self.shape.joined:,} expected")
        return found

    def check(self) -> str:
        s = self.shape
        line = f"check {self.name}: rows {s.rows:,}, events expected {s.events:,}"
        if s.joined is not None:
            line += f", lookup rows joined expected {s.joined:,}"
        if self.code is None:
            return line + " (not imported: add --run)"
        line += f"; stored {self.stored:,}" if self.stored is not None else "; stored ?"
        if s.joined is not None:
            line += f", joined {self.joined if self.joined is not None else '?'}"
        line += f", rejected {self.rejected if self.rejected is not None else '?'}"
        problems = self.problems()
        return line + (": ok" if not problems else ": FAILED (" + "; ".join(problems) + ")")


def importer_command(shape: Shape, db: Path) -> list[str]:
    """The importer's command line, as a user types it (`python` for this interpreter)."""
    return [
        "python",
        "-m",
        "data.importer",
        *(str(f) for f in shape.files),
        "--mapping",
        shape.mapping,
        "--db",
        str(db),
        *shape.flags,
    ]


def measure(command: list[str]) -> tuple[int, float, float, str]:
    """Run the command in its own process from the checkout: exit code, wall seconds, peak RSS
    in GB (from /usr/bin/time -v, else the child's rusage) and its standard output."""
    argv = [sys.executable, *command[1:]]
    timing = None
    if TIME_BIN.exists():
        handle, name = tempfile.mkstemp(prefix="bench_shapes_time_", suffix=".txt")
        os.close(handle)
        timing = Path(name)
        argv = [str(TIME_BIN), "-v", "-o", str(timing), *argv]
    t0 = time.perf_counter()
    # Its error output goes to a file (a pipe could fill and stall it); on failure its end is
    # kept with the output, so a failed import says why.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as errors:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=errors, text=True)
        out = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        errors.seek(0)
        error_text = errors.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    peak_kb = usage.ru_maxrss  # kilobytes on Linux
    if timing is not None:
        text = timing.read_text()
        timing.unlink()
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        peak_kb = int(found.group(1)) if found else peak_kb
        code = re.search(r"Exit status: (\d+)", text)
        rc = int(code.group(1)) if code else proc.returncode
    else:
        rc = proc.returncode
    if rc != 0:
        # Progress bars redraw with carriage returns: keep the last lines of real text.
        lines = [
            line for line in error_text.replace("\r", "\n").splitlines() if line.strip() and "%" not in line
        ]
        out += "\n" + "\n".join(lines[-15:])
    return rc, seconds, peak_kb / 1024 / 1024, out


def stored_events(db: Path) -> int | None:
    import duckdb

    if not db.exists():
        return None
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select count(*) from events").fetchone()[0]
    finally:
        con.close()


def _count(pattern: str, text: str) -> int | None:
    found = re.findall(pattern, text)
    return sum(int(v.replace(",", "")) for v in found) if found else None


def fresh_store(stores: Path, name: str) -> Path:
    """A path for a new store: the one a previous run left there (and its kept versions) removed."""
    for old in stores.glob(f"{name}.*"):
        if old.is_file():
            old.unlink()
    return stores / f"{name}.duckdb"


def run(result: Result, stores: Path, done: dict[str, Result]) -> None:
    db = Path(result.command[result.command.index("--db") + 1])
    setup = result.shape.setup
    if setup is not None:
        # A lookup joins to what the store holds: start from the status list's store, copied
        # from this run when it imported it, else imported now (not timed).
        before = done.get("opportunities_status")
        if before is not None and before.code == 0 and not before.problems():
            shutil.copyfile(stores / "opportunities_status.duckdb", db)
        else:
            first = subprocess.run(
                [sys.executable, *importer_command(setup, db)[1:]], cwd=REPO, capture_output=True, text=True
            )
            if first.returncode != 0:
                result.code, result.output = (
                    first.returncode,
                    "the status list's import failed:\n" + first.stdout,
                )
                return
    result.code, result.seconds, result.peak_gb, result.output = measure(result.command)
    result.stored = stored_events(db)
    result.rejected = _count(r"\+ rejected ([\d,]+) \+", result.output)
    result.joined = _count(r"([\d,]+) lookup rows joined", result.output)


def _mb(files: list[Path]) -> str:
    return f"{len(files)} CSV, {sum(f.stat().st_size for f in files) / 1e6:,.1f} MB"


def table(results: list[Result]) -> str:
    lines = [
        "| shape | files | rows | seconds | peak GB | events stored | rejected |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        sec = f"{r.seconds:,.1f}" if r.seconds is not None else "-"
        peak = f"{r.peak_gb:.2f}" if r.peak_gb is not None else "-"
        stored = f"{r.stored:,}" if r.stored is not None else "-"
        rejected = f"{r.rejected:,}" if r.rejected is not None else "-"
        lines.append(
            f"| {r.name} | {_mb(r.shape.files)} | {r.shape.rows:,} | {sec} | {peak} | {stored} | {rejected} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench_shapes", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", type=Path, required=True, help="directory for the files and the stores")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of each shape (default 1,000,000)")
    parser.add_argument(
        "--shapes", default=",".join(GENERATORS), help=f"comma-separated, from: {', '.join(GENERATORS)}"
    )
    parser.add_argument("--run", action="store_true", help="import each shape into a new store, timed")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="imports run at once (default 1; more makes the times contend: for checking, not measuring)",
    )
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [s for s in names if s not in GENERATORS]
    if unknown:
        parser.error(f"unknown shape(s) {', '.join(unknown)}; choose from {', '.join(GENERATORS)}")
    if args.rows < 1 or args.jobs < 1:
        parser.error("--rows and --jobs must be at least 1")
    stores = args.out / "stores"
    stores.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    for name in names:
        title, generate = GENERATORS[name]
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        shape = generate(folder, args.rows, random.Random(seed(name)))
        results.append(Result(name, shape, importer_command(shape, fresh_store(stores, name))))
        print(
            f"{name}: {title}: {_mb(shape.files)}, {shape.rows:,} rows, written in {time.perf_counter() - t0:.1f} s"
        )
        print("  " + " ".join(results[-1].command), flush=True)
    if args.run:
        done = {r.name: r for r in results}

        def one(result: Result) -> None:
            run(result, stores, done)
            if result.seconds is not None:
                print(
                    f"{result.name}: {result.seconds:.1f} s, peak {result.peak_gb:.2f} GB, exit {result.code}",
                    flush=True,
                )
            if result.problems():
                print("  " + result.output.strip().replace("\n", "\n  "), flush=True)

        # A lookup file starts from the status list's store: it runs once that one is done.
        first = [r for r in results if r.shape.setup is None]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(one, first))
        for r in results:
            if r.shape.setup is not None:
                one(r)
    print()
    print(table(results))
    print()
    for r in results:
        print(r.check())
    return 1 if any(r.problems() for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
