"""The one-page weekly report: one self-contained HTML file (plotly.js inline, no network
reference) that opens in headless Chromium with its charts, Markdown with the same numbers,
CRM text escaped in both, spreadsheet-safe CSV, and the command line for a scheduled job."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from data import contract as contract_mod
from queries import weekly
from reports import charts, html, markdown, tables
from reports import format as f
from reports import weekly as cli
from tests import stories
from tests.test_weekly import STORY, W01
from ui import tables as ui_tables

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EVIL_OWNER = "<img src=x onerror=alert(1)>"
EVIL_COMPANY = "</script><script>alert(1)</script>"
EVIL_LEAD = '=HYPERLINK("http://evil.example","x")'

# The year-boundary story, with hostile CRM text on Dana's leads (names, company, owner).
OWNERS = [(o, EVIL_OWNER if o == "S2" else name, team) for o, name, team in stories.OWNERS]
EVIL_STORY = {
    lead: ({**body, "name": EVIL_LEAD, "company": EVIL_COMPANY} if body.get("owner") == "S2" else body)
    for lead, body in STORY.items()
}


@pytest.fixture(scope="module")
def story_db(tmp_path_factory):
    return stories.build(tmp_path_factory.mktemp("report") / "story.duckdb", EVIL_STORY, owners=OWNERS)


@pytest.fixture(scope="module")
def built(story_db):
    return cli.build(W01, db=story_db)


@pytest.fixture(scope="module")
def html_file(built, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(built[1], encoding="utf-8")
    return path


# --- HTML: one file, nothing fetched -------------------------------------------------------


def test_html_is_one_self_contained_file(built):
    _, page, _ = built
    # No script, stylesheet, image or font is fetched from anywhere: no script with a src, no
    # link, and outside the inline scripts no src/href to a URL (http, https or
    # protocol-relative), no CSS url() or @import. (plotly.js's own code contains links such as
    # its logo's; the browser test checks that nothing is requested.)
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    assert not re.search(r"<link\b", page, re.I)
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", page, flags=re.S | re.I)
    assert not re.search(r"\b(src|href)\s*=\s*[\"']?\s*(https?:)?//", markup, re.I)
    assert not re.search(r"url\(|@import", markup, re.I)
    assert len(markup) < 200_000  # the rest is the report itself
    # plotly.js itself is inside (megabytes of it), once, and the five charts use it.
    assert len(page) > 3_000_000
    assert page.count("Plotly.newPlot(") == 5
    assert len(re.findall(r"plotly\.js v\d", page)) == 1


def test_html_escapes_crm_text(built):
    _, page, _ = built
    for raw in (EVIL_OWNER, EVIL_COMPANY, "<script>alert(1)"):
        assert raw not in page
    assert f.esc(EVIL_OWNER) in page  # Dana's name in the owner table, as text
    assert f.esc(EVIL_COMPANY) in page  # her leads' company in the action detail
    assert f.esc(EVIL_LEAD) in page


def test_markdown_escapes_crm_text(built):
    _, _, md = built
    assert "<img" not in md and "<script" not in md and "</script" not in md
    assert "&lt;img src=x onerror=alert(1)&gt;" in md


def test_markdown_numbers_are_the_report_numbers(built):
    """Every headline and conversion row of the Markdown is the report's own number."""
    report, _, md = built
    rows = {}
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("| Stage |"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows.setdefault(cells[0], cells)
    for r in report.headline.itertuples(index=False):
        label = markdown.text(r.label)
        # Stage, This week, Change, Noise check, Last week, 4-week avg, vs 4-week avg
        assert (rows[label][1], rows[label][4]) == (f.count(r.this_week), f.count(r.last_week)), label
        assert rows[label][5] == f.count(r.avg_4w)
    lead = rows[markdown.text("Lead (inquiry)")]
    # The hand-computed story: 3 against 2 is well within the noise.
    assert lead[1:7] == ["3", "+1 (+50.0%)", "within the noise", "2", "1.5", "+100.0%"]
    step = rows[markdown.text("Marketing qualified → Sales accepted")]
    # Step, Rate, Change, Noise check, Decided, Moved on, Window ran out, ...
    assert [step[1], step[4], step[5], step[6]] == ["50.0%", "2", "1", "0"]
    # The shipped contract's later changes are listed as dated since this week.
    assert "> **Definition changed 2025-06-02** (since this week): MQL now requires" in md


def test_a_small_base_is_flagged_in_the_report_and_its_csv(built):
    # The story's MQL -> SAL step rests on 2 decided leads this week: its rate, interval and
    # change are flagged in the page's table, the Markdown, the HTML and the CSV download.
    report, html_text, md = built
    step = next(
        line
        for line in md.splitlines()
        if line.startswith("| " + markdown.text("Marketing qualified → Sales accepted"))
    )
    assert step.rstrip(" |").endswith(markdown.text("small n (<30)"))  # reads "small n (<30)"
    assert "<td>small n (&lt;30)</td>" in html_text
    table = tables.conversions_table(report)
    assert set(table["Small n"]) == {"small n (<30)"}
    csv_text = ui_tables.safe_csv(report.conversions).decode("utf-8-sig")
    assert "small n (<30)" in csv_text and "True" not in csv_text.split("\r\n")[1]


@pytest.mark.parametrize(
    ("now", "before", "verdict"),
    [
        # 150 against 100 entries: z = 50 / sqrt(250) = 3.16, p = 0.0016: a real change.
        (150, 100, "CHANGED: outside the noise"),
        # 105 against 100: z = 5 / sqrt(205) = 0.35, p = 0.73: noise.
        (105, 100, "within the noise"),
        (0, 0, "no entries"),
    ],
)
def test_entry_changes_are_called_out_only_outside_the_noise(built, now, before, verdict):
    report = built[0]
    h = report.headline.copy()
    h.loc[0, ["this_week", "last_week"]] = [now, before]
    table = tables.headline_table(dataclasses.replace(report, headline=h))
    assert table.loc[0, "Noise check"] == verdict


def test_definition_changes_come_first_in_both_exports(story_db):
    raw = tomllib.loads(contract_mod.DEFAULT_PATH.read_text(encoding="utf-8"))
    raw["changelog"].append({"date": dt.date(2025, 1, 2), "change": "SAL now needs a logged first call."})
    report = weekly.week_report(W01, db=story_db, contract=contract_mod.parse(raw))
    notes = weekly.meeting_notes(W01, db=story_db)
    md = markdown.render(report, notes)
    page = html.render(report, notes)
    assert "**Definition changed 2025-01-02** (in this week): SAL now needs a logged first call." in md
    assert md.index("Definition changed 2025-01-02") < md.index("## Headline")
    assert "Definition changed 2025-01-02</strong> (in this week)" in page
    assert page.index("Definition changed 2025-01-02") < page.index("Headline: stage entries")


def test_trend_charts_mark_each_change_date():
    contract = contract_mod.load()
    # 2025-06-02's stricter MQL rule falls inside the 26 weeks up to 2025-W30.
    week = weekly.parse_week("2025-W30")
    _, every = weekly.definition_changes(week, contract)
    report = weekly.WeeklyReport(
        week_start=week,
        label="2025-W30",
        as_of=dt.datetime(2025, 7, 28),
        latest_event_at=None,
        headline=pd.DataFrame(),
        conversions=pd.DataFrame(),
        pace=pd.DataFrame(),
        entries_trend=pd.DataFrame(
            {
                "week_start": [week - dt.timedelta(days=7 * 25), week],
                "week": ["a", "b"],
                "label": ["Lead"] * 2,
            }
            | {"n_entries": [1, 2]}
        ),
        conversion_trend=pd.DataFrame(
            {
                "week_start": [week - dt.timedelta(days=7 * 25), week],
                "week": ["a", "b"],
                "label": ["Lead"] * 2,
            }
            | {"rate": [0.5, 0.6], "n_moved": [1, 3], "n_decided": [2, 5]}
        ),
        movements=pd.DataFrame(),
        exits=pd.DataFrame(),
        actions=pd.DataFrame(),
        actions_by_owner=pd.DataFrame(),
        changes=pd.DataFrame(),
        all_changes=every,
    )
    for fig in (charts.entries_trend_figure(report), charts.conversion_trend_figure(report)):
        lines = [s for s in fig.layout.shapes if s.type == "line"]
        assert [str(s.x0) for s in lines] == ["2025-06-02"]  # the only change inside the range
        marker = [t for t in fig.data if t.name == charts.CHANGE_TRACE]
        assert "MQL now requires an engagement score of 60" in marker[0].hovertext[0]
        assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


# --- the browser --------------------------------------------------------------------------


@pytest.mark.browser
def test_html_opens_offline_in_headless_chromium_with_its_charts(html_file):
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)  # a network request would fail loudly
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html_file.as_uri())
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
            n_charts = page.locator(".js-plotly-plot").count()
            n_bars = page.locator(".js-plotly-plot .bars path").count()
            title = page.title()
        finally:
            browser.close()
    assert n_charts == 5
    assert n_bars > 0  # the funnel and action bars were drawn, not just empty frames
    assert "2025-W01" in title
    assert errors == []
    assert [u for u in requests if not u.startswith("file://")] == []


# --- CSV downloads --------------------------------------------------------------------------


def test_csv_download_neutralises_formulas(built):
    report = built[0]
    actions = report.actions.copy()
    actions.loc[0, "company"] = "+cmd|' /C calc'!A0"
    actions.loc[1, "company"] = "-2+3"
    actions.loc[2, "company"] = "@SUM(A1:A9)"
    actions.loc[3, "company"] = "\tTAB"
    actions["n"] = -5  # numbers stay numbers
    text = ui_tables.safe_csv(actions).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["company"] == "'+cmd|' /C calc'!A0"
    assert rows[1]["company"] == "'-2+3"
    assert rows[2]["company"] == "'@SUM(A1:A9)"
    assert rows[3]["company"] == "'\tTAB"
    dana = [r for r in rows if r["lead_id"] in ("A1", "A2", "F1", "H1")]
    assert {r["lead_name"] for r in dana} == {"'" + EVIL_LEAD}  # =HYPERLINK(...) is text now
    assert {r["n"] for r in rows} == {"-5"}


# --- the command line ------------------------------------------------------------------------


def test_cli_writes_both_files_for_a_week(story_db, tmp_path, capsys):
    assert cli.main(["--week", "2025-W01", "--db", str(story_db), "--out", str(tmp_path / "out")]) == 0
    page = (tmp_path / "out" / "handoff-weekly-2025-W01.html").read_text(encoding="utf-8")
    md = (tmp_path / "out" / "handoff-weekly-2025-W01.md").read_text(encoding="utf-8")
    assert page.count("Plotly.newPlot(") == 5
    assert md.startswith("# Weekly alignment: 2025-W01 (Mon 2024-12-30 to Sun 2025-01-05)")
    assert "wrote" in capsys.readouterr().out


def test_cli_defaults_to_the_last_complete_week(story_db, tmp_path):
    # The story's latest event is Monday 2025-01-06 00:00: 2025-W01 is the last complete week.
    assert cli.main(["--db", str(story_db), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "handoff-weekly-2025-W01.md").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2025-53"], "expected an ISO week such as 2026-W43"),
        (["--week", "2025-W53"], "has no week 53"),
        (["--week", "2025-W01", "--db", "/nonexistent/x.duckdb"], "No store at"),
    ],
)
def test_cli_errors_say_what_to_do(story_db, tmp_path, capsys, args, message):
    argv = ["--db", str(story_db), *args] if "--db" not in args else args
    assert cli.main([*argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.glob("*.html"))


def test_exports_list_every_breach_first_and_cap_stalled_leads_per_owner(built):
    report = built[0]
    breaches, stalled, left_out = tables.detail_actions(report, per_owner=1)
    # Every SLA breach, whatever the cap: Dana's A1 (waiting), A2 (late), Priya's B3.
    assert breaches["Lead id"].tolist() == ["A1", "A2", "B3"]
    # Stalled during the week: only Jonas's E1, under the cap.
    assert (stalled["Lead id"].tolist(), left_out) == (["E1"], 0)
    # The page's list (all stalled leads) capped at one per owner: Dana's H1 (F1 is left out:
    # less overdue), Jonas's E1, Maya's D1.
    all_stalled = report.actions[report.actions["kind"] == "stalled"]
    shown, hidden = tables.cap_per_owner(all_stalled, 1)
    assert (shown["lead_id"].tolist(), hidden) == (["H1", "E1", "D1"], 1)


def test_markdown_lists_breaches_before_stalled_leads(built):
    _, _, md = built
    breaches = md.index("### SLA breaches (all owners)")
    stalled = md.index("### Leads that stalled this week")
    assert breaches < stalled
    # Each breach is listed under the breaches heading, E1 under the stalled one.
    for lead in ("A1", "A2", "B3"):
        assert breaches < md.index(f", {lead})") < stalled, lead
    assert md.index(", E1)") > stalled


@pytest.mark.browser
@pytest.mark.slow
def test_the_page_download_button_gives_the_same_offline_report(tmp_path):
    """Run the dashboard, open the Weekly page, click "Download report (HTML)", then open the
    downloaded file offline: one file, five charts, no error."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    from data import store
    from tests import test_browser as tb

    url_path = dict((file, path) for path, file in tb.PAGES).get("pages/weekly.py")
    if url_path is None:
        pytest.skip("the frame does not list pages/weekly.py yet")
    db = store.build_sample(tmp_path / "sample.duckdb", n_leads=3000)
    errors: list[str] = []
    with tb.streamlit_server(db) as url, tb.chromium() as browser:
        page = browser.new_page(accept_downloads=True)
        tb.open_page(page, f"{url}/{url_path}")
        assert page.locator('[data-testid="stException"]').count() == 0
        with page.expect_download(timeout=120_000) as info:
            page.get_by_role("button", name="Download report (HTML)").click()
        saved = tmp_path / info.value.suggested_filename
        info.value.save_as(saved)

        offline = browser.new_context(offline=True).new_page()
        offline.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        offline.on("pageerror", lambda e: errors.append(str(e)))
        offline.goto(saved.as_uri())
        offline.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        n_charts = offline.locator(".js-plotly-plot").count()
    assert saved.name.startswith("handoff-weekly-") and saved.suffix == ".html"
    assert n_charts == 5
    assert errors == []


def test_tables_show_labels_not_keys_and_put_key_columns_first(tmp_path):
    story = {
        # Rejected with a code funnel.toml does not define, and recycled with no code at all.
        "U1": {
            "events": [
                ("lead", "2024-12-30 09:00"),
                ("mql", "2024-12-30 10:00"),
                ("rejected", "2024-12-31 09:00", "mystery_code"),
            ]
        },
        "U2": {"events": [("lead", "2024-12-30 09:00"), ("recycled", "2024-12-31 09:00")]},
        # A known code: its label from funnel.toml, charged to Marketing, recorded by Sales.
        "U3": {
            "events": [
                ("lead", "2024-12-30 09:00"),
                ("mql", "2024-12-30 10:00"),
                ("rejected", "2024-12-31 10:00", "not_a_fit"),
            ]
        },
    }
    db = stories.build(tmp_path / "labels.duckdb", story)
    report = weekly.week_report(dt.date(2024, 12, 30), db=db)
    exits = tables.exits_table(report).set_index("Reason")
    assert exits.at["unknown code: mystery_code", "Charged to"] == "not in funnel.toml"
    assert "no reason code" in exits.index
    assert exits.at["Not a fit (outside the ideal customer profile)", "Charged to"] == "Marketing"
    assert set(exits["Recorded by"]) == {"Sales"}  # the story's events are by Sales owners
    assert set(tables.movements_table(report)["Team"]) == {"Sales"}
    # The columns a meeting reads first come first, where a 1400 px screen shows them.
    assert list(tables.headline_table(report).columns[:4]) == ["Stage", "This week", "Change", "Noise check"]
    assert list(tables.conversions_table(report).columns[:4]) == ["Step", "Rate", "Change", "Noise check"]
    assert list(tables.exits_table(report).columns[:3]) == ["Exit", "Reason", "Charged to"]
    assert list(tables.owners_table(report).columns[:2]) == ["Owner", "Due this week"]
    actions = tables.actions_table(report.actions)
    assert list(actions.columns[:3]) == ["Owner", "What", "Next action"]
    assert tables.column_config(actions)["Next action"] == {"label": "Next action", "width": 420}
