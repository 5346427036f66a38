"""Seeded, deterministic sample data: about two years of a B2B funnel that tells real stories.

Same seed and size give the same rows, byte for byte in content. Vectorised with numpy (one
array per stage, never a Python loop over leads) so 1,000,000 leads build in seconds.

Stories planted for the pages to find:
- 8 channels of different quality; `content_syndication` makes many MQLs that Sales rejects as
  `not_a_fit` (a Marketing quality loss), `outbound` is Sales-sourced straight to SQL (skips).
- Sales owners with different follow-up speed: Dana Reyes and Victor Lindqvist often breach the
  48-hour handoff SLA, and some of their MQLs are never touched and recycled as `no_follow_up`.
- Inquiries that never qualify are mostly recycled to nurture or disqualified by Marketing.
- Seasonality (summer and December dips, a Q4 push), growth, recycled leads that come back,
  exits with reason codes, deal amounts by segment, a stricter MQL rule from 2025-06-02.
- Sales sharing Marketing content during an opportunity lifts its win rate.
- Monthly quotas: Marketing's MQL quota matches what it delivers, but at the real conversion
  rates it feeds only about three quarters of the shared revenue target.

Dirty rows (source = 'sample:dirty', listed by `DIRTY_DESCRIPTION`) are added on purpose so the
data-quality view has something to find; contract checks leave them out.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa

from data.contract import Contract

SAMPLE_START = dt.datetime(2024, 11, 1)
SAMPLE_DAYS = 730  # through 2026-10-31
DAY = 86400
CURRENCY = "USD"  # every sample amount is in US dollars

CHANNELS = [
    # name, share, p(mql), p(sales rejects the mql), not_a_fit share of rejections
    ("organic_search", 0.18, 0.34, 0.14, 0.45),
    ("paid_search", 0.16, 0.30, 0.22, 0.50),
    ("paid_social", 0.14, 0.24, 0.30, 0.55),
    ("webinar", 0.10, 0.42, 0.14, 0.40),
    ("content_syndication", 0.14, 0.55, 0.58, 0.85),
    ("events", 0.08, 0.38, 0.18, 0.45),
    ("referral", 0.08, 0.50, 0.08, 0.40),
    ("outbound", 0.12, 0.00, 0.00, 0.00),  # Sales-sourced: enters at SQL
]
REGIONS = [("North America", 0.45), ("EMEA", 0.33), ("APAC", 0.15), ("LATAM", 0.07)]
SEGMENTS = [
    # name, share, median deal amount, win rate
    ("SMB", 0.50, 9_000, 0.30),
    ("Mid-market", 0.35, 32_000, 0.25),
    ("Enterprise", 0.15, 110_000, 0.19),
]
MARKETING_OWNERS = ["Maya Patel", "Jonas Berg", "Ines Duarte", "Tom Okafor"]
SALES_OWNERS = [
    # name, median hours to act on an MQL, p(never acts), p(shares Marketing content on a deal)
    ("Priya Nair", 3, 0.01, 0.70),
    ("Lucas Moreau", 5, 0.01, 0.55),
    ("Aiko Tanaka", 8, 0.02, 0.60),
    ("Sam Whitfield", 12, 0.02, 0.35),
    ("Elena Petrova", 18, 0.03, 0.45),
    ("Marcus Cole", 26, 0.04, 0.20),
    ("Dana Reyes", 60, 0.12, 0.15),
    ("Victor Lindqvist", 85, 0.16, 0.10),
]
# Month-of-year volume multipliers: summer and December dips, a Q4 push.
SEASON = [1.05, 1.0, 1.1, 1.0, 1.0, 0.9, 0.78, 0.75, 1.05, 1.15, 1.2, 0.7]
CONTENT = [
    ("State of B2B Buying 2025", "ebook"),
    ("ROI calculator", "tool"),
    ("Customer story: Northwind", "case_study"),
    ("Customer story: Fabrikam", "case_study"),
    ("Security whitepaper", "whitepaper"),
    ("Pricing guide", "guide"),
    ("Product tour webinar", "webinar"),
    ("Implementation checklist", "guide"),
    ("Analyst report excerpt", "report"),
    ("Migration playbook", "ebook"),
    ("Competitive comparison", "battlecard"),
    ("Integration overview", "datasheet"),
]
DIRTY_DESCRIPTION = {
    "before_created": "a 'sal' event dated 5 days before its lead was created",
    "unknown_reason": "a 'disqualified' exit with reason code 'student_or_intern', not in funnel.toml",
}
N_DIRTY_EACH = 4


def _pick(rng: np.random.Generator, weights: list[float], n: int) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _exp(rng: np.random.Generator, mean_days: float, n: int) -> np.ndarray:
    return rng.exponential(mean_days, n)


class _Events:
    """Columns of the events table, appended one vectorised batch at a time."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, mask, lead, kind, t, owner=None, reason=None, amount=None, team=None):
        idx = np.flatnonzero(mask & ~np.isnan(t))
        n = len(idx)
        self.parts.append(
            {
                "lead": lead[idx],
                "kind": np.full(n, kind, dtype=object),
                "t": t[idx],
                "owner": (owner[idx] if owner is not None else np.full(n, -1)).astype(np.int64),
                "reason": np.asarray(
                    reason[idx] if isinstance(reason, np.ndarray) else np.full(n, reason), dtype=object
                ),
                "amount": (amount[idx] if amount is not None else np.full(n, np.nan)),
                "team": np.full(n, team, dtype=object),
            }
        )

    def table(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}


def generate(con: duckdb.DuckDBPyConnection, contract: Contract, n_leads: int = 50_000, seed: int = 7):
    """Write owners, leads, events, content and touches for a sample into `con`.

    The schema must already exist. Stage keys come from the contract; the story assumes the
    default six-stage funnel (lead, mql, sal, sql, opportunity, won) and the default exits. The
    sample's targets are team edits, not analytics data: target_rows() computes them from these
    events for the edits file (data/edits.py).
    """
    keys = contract.stage_keys
    if len(keys) != 6:
        raise ValueError("the sample generator tells its story on the default six-stage funnel")
    s_lead, s_mql, s_sal, s_sql, s_opp, s_won = keys
    rng = np.random.default_rng(seed)
    n = n_leads
    lead = np.arange(n, dtype=np.int64)
    end = float(SAMPLE_DAYS)

    # --- when leads arrive: seasonality, weekday pattern and 35% growth over the two years
    day = np.arange(SAMPLE_DAYS)
    dates = np.array([SAMPLE_START + dt.timedelta(days=int(d)) for d in day])
    w = np.array([SEASON[d.month - 1] * (0.35 if d.weekday() >= 5 else 1.0) for d in dates])
    w *= 1 + 0.35 * day / SAMPLE_DAYS
    created = np.sort(rng.choice(SAMPLE_DAYS, n, p=w / w.sum()) + rng.uniform(0.33, 0.8, n))

    ch = _pick(rng, [c[1] for c in CHANNELS], n)
    region = _pick(rng, [r[1] for r in REGIONS], n)
    seg = _pick(rng, [s[1] for s in SEGMENTS], n)
    p_mql = np.array([c[2] for c in CHANNELS])[ch]
    p_rej = np.array([c[3] for c in CHANNELS])[ch]
    p_fit = np.array([c[4] for c in CHANNELS])[ch]
    outbound = ch == len(CHANNELS) - 1
    mkt_owner = rng.integers(0, len(MARKETING_OWNERS), n)
    sales_owner = rng.integers(0, len(SALES_OWNERS), n)
    sales_owner_id = sales_owner + len(MARKETING_OWNERS)
    ev = _Events()

    # --- lead -> mql (the MQL bar rose on 2025-06-02: fewer, better MQLs after it)
    stricter = created >= (dt.datetime(2025, 6, 2) - SAMPLE_START).days
    t_lead = np.where(outbound, np.nan, created)
    is_mql = ~outbound & (rng.random(n) < p_mql * np.where(stricter, 0.85, 1.0))
    p_rej = np.where(stricter, p_rej * 0.85, p_rej)
    t_mql = np.where(is_mql, t_lead + 0.5 + _exp(rng, 9, n), np.nan)

    # --- Sales acts on the MQL (or never does)
    med_h = np.array([o[1] for o in SALES_OWNERS])[sales_owner]
    never = is_mql & (rng.random(n) < np.array([o[2] for o in SALES_OWNERS])[sales_owner])
    act = t_mql + med_h * np.exp(rng.normal(0, 0.7, n)) / 24
    rejected = is_mql & ~never & (rng.random(n) < p_rej)
    accepted = is_mql & ~never & ~rejected
    skip_sal = accepted & (rng.random(n) < 0.08)  # straight to SQL on the first call
    t_sal = np.where(accepted & ~skip_sal, act, np.nan)
    rej_reason = np.where(
        rng.random(n) < p_fit, "not_a_fit", np.where(rng.random(n) < 0.6, "bad_contact_data", "no_budget")
    )
    t_rej = np.where(rejected, act, np.nan)
    no_follow = never & (rng.random(n) < 0.7)
    t_nofollow = np.where(no_follow, t_mql + 30 + _exp(rng, 10, n), np.nan)

    # --- sal -> sql, with recycling to nurture and some coming back
    u = rng.random(n)
    from_sal = accepted & ~skip_sal
    to_sql = from_sal & (u < 0.58)
    recycled = from_sal & (u >= 0.58) & (u < 0.73)
    disq_sal = from_sal & (u >= 0.73) & (u < 0.88)  # the rest stall at SAL
    t_sql = np.where(to_sql, t_sal + 1 + _exp(rng, 10, n), np.nan)
    t_sql = np.where(skip_sal, act + 0.2, t_sql)
    t_recycle = np.where(recycled, t_sal + 10 + _exp(rng, 15, n), np.nan)
    comes_back = recycled & (rng.random(n) < 0.4)
    t_back = np.where(comes_back, t_recycle + 45 + _exp(rng, 40, n), np.nan)
    back_to_sql = comes_back & (rng.random(n) < 0.5)
    t_sql = np.where(back_to_sql, t_back + 3 + _exp(rng, 8, n), t_sql)
    t_disq_sal = np.where(disq_sal, t_sal + 5 + _exp(rng, 12, n), np.nan)
    disq_sal_reason = np.where(rng.random(n) < 0.5, "no_budget", "not_a_fit")

    # Sales-sourced leads enter at SQL on the day they are created.
    t_sql = np.where(outbound, created, t_sql)
    in_sql = ~np.isnan(t_sql)

    # --- sql -> opportunity
    u = rng.random(n)
    to_opp = in_sql & (u < np.where(outbound, 0.45, 0.62))
    disq_sql = in_sql & ~to_opp & (u < 0.85)
    t_opp = np.where(to_opp, t_sql + 2 + _exp(rng, 12, n), np.nan)
    t_disq_sql = np.where(disq_sql, t_sql + 7 + _exp(rng, 20, n), np.nan)
    disq_sql_reason = np.where(rng.random(n) < 0.55, "no_budget", "no_decision")
    # Sales sourced the outbound leads itself: when they fizzle it is a Sales loss, not Marketing's.
    disq_sql_reason = np.where(outbound, "no_decision", disq_sql_reason)

    # --- opportunity -> won / lost; Sales sharing Marketing content lifts the win rate
    med_amount = np.array([s[2] for s in SEGMENTS])[seg]
    amount = np.round(med_amount * np.exp(rng.normal(0, 0.45, n)), -2)
    p_share = np.array([o[3] for o in SALES_OWNERS])[sales_owner]
    shared_content = to_opp & (rng.random(n) < p_share)
    p_win = np.array([s[3] for s in SEGMENTS])[seg] + np.where(shared_content, 0.14, 0.0)
    u = rng.random(n)
    won = to_opp & (u < p_win)
    lost = to_opp & ~won & (u < p_win + 0.62)  # the rest are still open
    t_close = t_opp + 20 + _exp(rng, 35, n)
    t_won = np.where(won, t_close, np.nan)
    t_lost = np.where(lost, t_close, np.nan)
    lost_reason = np.where(
        rng.random(n) < 0.45, "lost_to_competitor", np.where(rng.random(n) < 0.6, "no_decision", "price")
    )

    owner_at_lead = mkt_owner
    ev.add(~outbound, lead, s_lead, t_lead, owner_at_lead, team="marketing")
    ev.add(is_mql, lead, s_mql, t_mql, owner_at_lead, team="marketing")
    ev.add(from_sal, lead, s_sal, t_sal, sales_owner_id, team="sales")
    ev.add(rejected, lead, "rejected", t_rej, sales_owner_id, rej_reason, team="sales")
    ev.add(no_follow, lead, "recycled", t_nofollow, owner_at_lead, "no_follow_up", team="marketing")
    ev.add(recycled, lead, "recycled", t_recycle, sales_owner_id, "not_ready", team="sales")
    # A recycled lead that returns re-enters MQL and SAL: recycling, not a second conversion.
    ev.add(comes_back, lead, s_mql, t_back, owner_at_lead, team="marketing")
    ev.add(comes_back, lead, s_sal, t_back + 1.5, sales_owner_id, team="sales")
    ev.add(disq_sal, lead, "disqualified", t_disq_sal, sales_owner_id, disq_sal_reason, team="sales")
    ev.add(in_sql, lead, s_sql, t_sql, sales_owner_id, team="sales")
    ev.add(disq_sql, lead, "disqualified", t_disq_sql, sales_owner_id, disq_sql_reason, team="sales")
    ev.add(to_opp, lead, s_opp, t_opp, sales_owner_id, team="sales")
    ev.add(to_opp, lead, "amount", t_opp + 0.01, sales_owner_id, amount=amount, team="sales")
    ev.add(won, lead, s_won, t_won, sales_owner_id, amount=amount, team="sales")
    ev.add(lost, lead, "lost", t_lost, sales_owner_id, lost_reason, team="sales")
    # Inquiries that never qualify are closed out by Marketing: most go back to nurture, some are
    # disqualified, a few are never touched again. A separate stream keeps every draw above as it was.
    nurture_rng = np.random.default_rng([seed, 1])
    unqualified = ~outbound & ~is_mql
    u = nurture_rng.random(n)
    to_nurture = unqualified & (u < 0.55)
    disq_lead = unqualified & (u >= 0.55) & (u < 0.80)
    t_nurture = np.where(to_nurture, t_lead + 10 + nurture_rng.exponential(12, n), np.nan)
    t_disq_lead = np.where(disq_lead, t_lead + 2 + nurture_rng.exponential(5, n), np.nan)
    disq_lead_reason = np.where(nurture_rng.random(n) < 0.5, "not_a_fit", "bad_contact_data")
    ev.add(to_nurture, lead, "recycled", t_nurture, owner_at_lead, "not_ready", team="marketing")
    ev.add(disq_lead, lead, "disqualified", t_disq_lead, owner_at_lead, disq_lead_reason, team="marketing")
    events = ev.table()
    keep = events["t"] <= end  # the sample ends on its last day: later events have not happened
    events = {k: v[keep] for k, v in events.items()}

    # --- touches: Marketing nurtures early; Sales shares Marketing content on opportunities
    n_mkt_content = len(CONTENT) - 2
    k = rng.poisson(1.2, n)
    t_lead_any = np.where(outbound, created, t_lead)
    touch_lead = np.repeat(lead, k)
    touch_t = t_lead_any[touch_lead] + rng.uniform(-10, 25, len(touch_lead))
    touch_content = rng.integers(0, n_mkt_content, len(touch_lead))
    touch_team = np.full(len(touch_lead), "marketing", dtype=object)
    touch_owner = mkt_owner[touch_lead]
    sh = np.flatnonzero(shared_content)
    sh_t = t_opp[sh] + rng.uniform(1, 15, len(sh))
    # Sales' own material (battlecard, datasheet) is used on many deals regardless of outcome.
    own = np.flatnonzero(to_opp & (rng.random(n) < 0.5))
    own_t = t_opp[own] + rng.uniform(1, 15, len(own))
    touch_lead = np.concatenate([touch_lead, sh, own])
    touch_t = np.concatenate([touch_t, sh_t, own_t])
    touch_content = np.concatenate(
        [
            touch_content,
            rng.integers(0, n_mkt_content, len(sh)),
            rng.integers(n_mkt_content, len(CONTENT), len(own)),
        ]
    )
    touch_team = np.concatenate([touch_team, np.full(len(sh) + len(own), "sales", dtype=object)])
    touch_owner = np.concatenate([touch_owner, sales_owner_id[sh], sales_owner_id[own]])
    keep = (touch_t <= end) & (touch_t >= 0)
    touches = pa.table(
        {
            "lead": touch_lead[keep],
            "t": touch_t[keep],
            "content": touch_content[keep],
            "team": touch_team[keep],
            "owner": touch_owner[keep],
        }
    )

    # --- write: small dimension tables in Python, big ones through Arrow and SQL
    owners = [(f"O{i + 1:03d}", name, "marketing") for i, name in enumerate(MARKETING_OWNERS)]
    owners += [(f"O{len(MARKETING_OWNERS) + i + 1:03d}", o[0], "sales") for i, o in enumerate(SALES_OWNERS)]
    con.executemany("insert into owners values (?, ?, ?)", owners)
    content_rows = []
    for i, (title, kind) in enumerate(CONTENT):
        team = "sales" if i >= n_mkt_content else "marketing"
        published = SAMPLE_START - dt.timedelta(days=30) + dt.timedelta(days=i * 55 % 400)
        content_rows.append((f"C{i + 1:03d}", title, kind, team, published))
    # Marketing keeps publishing: two pieces a month after the launch set.
    for m in range(SAMPLE_DAYS // 30):
        for j in range(2):
            published = SAMPLE_START + dt.timedelta(days=m * 30 + 5 + j * 12)
            content_rows.append(
                (
                    f"C{len(content_rows) + 1:03d}",
                    f"Blog post {m + 1}.{j + 1}",
                    "blog",
                    "marketing",
                    published,
                )
            )
    con.executemany("insert into content values (?, ?, ?, ?, ?)", content_rows)

    lead_owner = np.where(is_mql | outbound, sales_owner_id, mkt_owner)
    leads = pa.table(
        {
            "lead": lead,
            "created": created,
            "channel": np.array([c[0] for c in CHANNELS], dtype=object)[ch],
            "region": np.array([r[0] for r in REGIONS], dtype=object)[region],
            "segment": np.array([s[0] for s in SEGMENTS], dtype=object)[seg],
            "owner": lead_owner,
            "account": rng.integers(0, max(n // 3, 1), n),
        }
    )
    events_tbl = pa.table(events)
    con.register("sample_leads", leads)
    con.register("sample_events", events_tbl)
    con.register("sample_touches", touches)
    start = SAMPLE_START.isoformat(sep=" ")
    con.execute(
        """
        insert into leads (lead_id, created_at, lead_name, company, account_id, channel, campaign,
                           region, segment, owner_id, currency)
        select printf('L%08d', lead),
               $start::timestamp + to_microseconds(cast(created * 86400e6 as bigint)),
               printf('Contact %d', lead),
               printf('Account %d Ltd', account),
               printf('A%07d', account),
               channel,
               channel || ' ' || strftime($start::timestamp + to_days(cast(created as integer)), '%Y') || '-Q'
                 || cast(quarter($start::timestamp + to_days(cast(created as integer))) as varchar),
               region, segment,
               printf('O%03d', owner + 1),
               $currency
        from sample_leads
        order by lead
        """,
        {"start": start, "currency": CURRENCY},
    )
    con.execute(
        """
        insert into events (event_id, lead_id, deal_id, event_type, occurred_at, owner_id, team,
                            reason_code, amount, source, currency)
        select printf('E%08d-%02d', lead, row_number() over (partition by lead order by t, kind)),
               printf('L%08d', lead),
               case when kind in ($opp, $won, 'lost', 'amount') then printf('D%08d', lead) end,
               kind,
               $start::timestamp + to_microseconds(cast(t * 86400e6 as bigint)),
               case when owner >= 0 then printf('O%03d', owner + 1) end,
               team,
               reason,
               cast(case when isnan(amount) then null else amount end as decimal(14, 2)),
               'sample',
               case when not isnan(amount) then $currency end
        from sample_events
        order by lead, t, kind
        """,
        {"start": start, "opp": s_opp, "won": s_won, "currency": CURRENCY},
    )
    con.execute(
        """
        insert into touches
        select printf('T%09d', row_number() over (order by lead, t, content)),
               printf('L%08d', lead),
               printf('C%03d', content + 1),
               null,
               $start::timestamp + to_microseconds(cast(t * 86400e6 as bigint)),
               team,
               printf('O%03d', owner + 1)
        from sample_touches
        order by lead, t
        """,
        {"start": start},
    )
    for name in ("sample_leads", "sample_events", "sample_touches"):
        con.unregister(name)
    _plant_dirty_rows(con, rng, n, contract)


def _plant_dirty_rows(con, rng, n, contract: Contract) -> None:
    """A handful of clearly wrong events for the data-quality view (source = 'sample:dirty')."""
    picks = rng.choice(n, size=min(2 * N_DIRTY_EACH, n), replace=False)
    before, unknown = picks[:N_DIRTY_EACH], picks[N_DIRTY_EACH:]
    sal = contract.stage_keys[2]
    for i in before:
        con.execute(
            """
            insert into events (event_id, lead_id, deal_id, event_type, occurred_at, owner_id, team,
                                reason_code, amount, source)
            select printf('X%08d-before', $i), lead_id, null, $sal, created_at - interval 5 day,
                   owner_id, 'sales', null, null, 'sample:dirty'
            from leads where lead_id = printf('L%08d', $i)
            """,
            {"i": int(i), "sal": sal},
        )
    for i in unknown:
        con.execute(
            """
            insert into events (event_id, lead_id, deal_id, event_type, occurred_at, owner_id, team,
                                reason_code, amount, source)
            select printf('X%08d-reason', $i), lead_id, null, 'disqualified', created_at + interval 1 day,
                   owner_id, 'sales', 'student_or_intern', null, 'sample:dirty'
            from leads where lead_id = printf('L%08d', $i)
            """,
            {"i": int(i)},
        )


def target_rows(con: duckdb.DuckDBPyConnection, contract: Contract) -> list[tuple]:
    """Monthly quotas and shared targets for every sample month and the six months after it:
    one (period, team, metric, value, set_at, set_by) row per target, ordered by those columns.

    Set the way a planning team would: from the last twelve months' actuals of the sample's
    events in `con`. Marketing's MQL quota holds it to what it already delivers, while the
    shared revenue target asks for 35% more: at the real conversion rates, Marketing's quota
    cannot feed the shared target.
    """
    s_lead, s_mql, _, _, s_opp, s_won = contract.stage_keys
    return con.execute(
        """
        with
        last_year as (
            select
                count(*) filter (where event_type = $lead) / 12.0 as leads,
                count(distinct lead_id) filter (where event_type = $mql) / 12.0 as mqls,
                count(*) filter (where event_type = $opp) / 12.0 as opportunities,
                count(*) filter (where event_type = $won) / 12.0 as deals_won,
                coalesce(sum(amount) filter (where event_type = $won), 0) / 12.0 as revenue
            from events
            where source = 'sample'
              and occurred_at >= (select max(occurred_at) from events) - interval 365 day
        ),
        months as (
            select
                cast(m as date) as period,
                month(m) as month_of_year,
                month(m + interval 1 month) as month_ahead_1,
                month(m + interval 2 month) as month_ahead_2
            from range(date '2024-11-01', date '2027-05-01', interval 1 month) as t(m)
        ),
        season as (
            select * from (values (1, 1.05), (2, 1.0), (3, 1.1), (4, 1.0), (5, 1.0), (6, 0.9),
                                  (7, 0.78), (8, 0.75), (9, 1.05), (10, 1.15), (11, 1.2), (12, 0.7))
                as s(month_of_year, factor)
        ),
        -- Volume entering a stage now is revenue a month or two later, so the MQL and
        -- opportunity quotas follow the season of the month they feed, not their own.
        plan as (
            select m.period, s0.factor, s1.factor as factor_ahead_1, s2.factor as factor_ahead_2, l.*
            from months as m
            join season as s0 on s0.month_of_year = m.month_of_year
            join season as s1 on s1.month_of_year = m.month_ahead_1
            join season as s2 on s2.month_of_year = m.month_ahead_2
            cross join last_year as l
        ),
        rows as (
            select period, 'marketing' as team, 'content_published' as metric, 2.0 as value from plan
            union all select period, 'marketing', 'leads', round(leads * factor_ahead_2) from plan
            union all select period, 'marketing', 'mqls', round(mqls * factor_ahead_2) from plan
            union all select period, 'sales', 'opportunities', round(opportunities * factor_ahead_1 * 1.4) from plan
            union all select period, 'sales', 'deals_won', round(deals_won * factor * 1.35) from plan
            union all select period, 'sales', 'revenue', round(revenue * factor * 1.35, -3) from plan
            union all select period, 'shared', 'revenue', round(revenue * factor * 1.35, -3) from plan
            union all select period, 'shared', 'pipeline', round(revenue * factor * 1.35 * 3.5, -3) from plan
        )
        select period, team, metric, value, timestamp '2024-10-15 09:00:00', 'sample plan'
        from rows
        order by period, team, metric
        """,
        {"lead": s_lead, "mql": s_mql, "opp": s_opp, "won": s_won},
    ).fetchall()
