"""Generate 1M-row files of four preset shapes, for the first-import measurements in
docs/import.md ("First imports per shape at 1M rows"): invented rows only.

    python tests/bench_shapes.py /tmp/shapes
    /usr/bin/time -v python -m data.importer /tmp/shapes/hs_contacts.csv --mapping hubspot_contacts \
        --db /tmp/shapes/contacts.duckdb --accept-proposal
    (hs_deals.csv: hubspot_deals; OpportunityHistory.csv Opportunity.csv: salesforce_objects;
    deal_stage.csv: hubspot_fivetran)
"""

import datetime as dt
import random
import sys
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/shapes")
OUT.mkdir(parents=True, exist_ok=True)
random.seed(1)
D = dt.datetime(2025, 1, 1, 9)


def t(days, fmt="%Y-%m-%dT%H:%M:%SZ"):
    return (D + dt.timedelta(days=days)).strftime(fmt)


N = 1_000_000
# HubSpot contacts, internal names, v2 dates: 1M contacts
stages = ["lead", "marketingqualifiedlead", "3206386937", "salesqualifiedlead", "opportunity", "customer"]
with open(f"{OUT}/hs_contacts.csv", "w") as f:
    f.write(
        "hs_object_id,firstname,lastname,email,createdate,hs_analytics_source,hubspot_owner_id,lifecyclestage,"
        + ",".join(f"hs_v2_date_entered_{s}" for s in stages)
        + "\n"
    )
    for i in range(N):
        start = random.random() * 300
        k = random.choice([1, 1, 1, 2, 2, 3, 4, 5, 6])
        dates = [t(start + 3 * j) if j < k else "" for j in range(6)]
        f.write(
            f"{i + 1},F{i},L{i},p{i}@x.example,{t(start)},ORGANIC_SEARCH,{81000 + i % 40},{stages[k - 1]},"
            + ",".join(dates)
            + "\n"
        )
# HubSpot deals UI export: 1M deals
ds = [
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
    "Closed Won",
]
with open(f"{OUT}/hs_deals.csv", "w") as f:
    f.write(
        "Record ID,Deal Name,Deal Stage,Create Date,Amount,Currency,Deal owner,"
        + ",".join(f'"Date entered ""{s} (Sales Pipeline)"""' for s in ds)
        + ',"Date entered ""Closed Lost (Sales Pipeline)""",Associated Contact IDs\n'
    )
    fmt = "%Y-%m-%d %H:%M"
    for i in range(N):
        start = random.random() * 300
        k = random.randint(1, 6)
        lost = k < 6 and random.random() < 0.5
        dates = [t(start + 4 * j, fmt) if j < k else "" for j in range(6)]
        stage = "Closed Lost" if lost else ds[k - 1]
        f.write(
            f"{i + 1},Deal {i},{stage},{t(start, fmt)},{1000 + i % 9000}.00,USD,Rep {i % 30},"
            + ",".join(dates)
            + f",{t(start + 4 * k, fmt) if lost else ''},{i * 2 + 1};{i * 2 + 2}\n"
        )
# Salesforce Opportunity (250k) + OpportunityHistory (~1M rows)
sf = ["Prospecting", "Qualification", "Proposal/Price Quote", "Negotiation/Review", "Closed Won"]
M = 250_000
with open(f"{OUT}/Opportunity.csv", "w") as fo, open(f"{OUT}/OpportunityHistory.csv", "w") as fh:
    fo.write(
        "Id,Name,AccountId,StageName,Amount,CurrencyIsoCode,CloseDate,IsClosed,IsWon,LeadSource,OwnerId,CreatedDate,Type\n"
    )
    fh.write("OpportunityId,StageName,Amount,CloseDate,Probability,ForecastCategory,CreatedDate,IsDeleted\n")
    n = 0
    for i in range(M):
        start = random.random() * 300
        oid = f"006{i:015d}"
        k = random.randint(2, 5)
        path = sf[: k - 1] + [sf[4] if random.random() < 0.5 else "Closed Lost"] if k > 2 else sf[:2]
        while n < (i + 1) * 4 and len(path) < 4:
            path = sf[: len(path)] + path[-1:]
        last = path[-1]
        closed = last in ("Closed Won", "Closed Lost")
        fo.write(
            f"{oid},Opp {i},001{i:015d},{last},{1000 + i % 9000},USD,{t(start + 40, '%Y-%m-%d')},{str(closed).lower()},{str(last == 'Closed Won').lower()},Web,005{i % 40:015d},{t(start, '%Y-%m-%dT%H:%M:%S.000Z')},New Business\n"
        )
        for j, s in enumerate(path):
            fh.write(
                f"{oid},{s},{1000 + i % 9000},{t(start + 40, '%Y-%m-%d')},10,Pipeline,{t(start + 7 * j, '%Y-%m-%dT%H:%M:%S.000Z')},false\n"
            )
            n += 1
# Fivetran deal_stage: 1M rows over 250k deals
with open(f"{OUT}/deal_stage.csv", "w") as f:
    f.write("deal_id,value,date_entered,source,source_id,_fivetran_start,_fivetran_end,_fivetran_active\n")
    ids = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "closedwon"]
    for i in range(250_000):
        start = random.random() * 300
        last = "closedwon" if random.random() < 0.5 else "closedlost"
        for j, s in enumerate(ids[:3] + [last]):
            f.write(
                f"{9000000 + i},{s},{t(start + 5 * j, '%Y-%m-%d %H:%M:%S')},CRM_UI,u1,{t(start + 5 * j, '%Y-%m-%d %H:%M:%S')},9999-12-31 23:59:59,true\n"
            )
