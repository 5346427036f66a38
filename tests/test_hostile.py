"""Hostile input everywhere: URL parameters, CRM text in the store, exports, and the readers'
database connection.

- Every URL parameter the app reads, fed SQL fragments, HTML and script tags, Markdown links and
  images, over-long strings and impossible dates: no exception, the default view (no extra data),
  and the text never echoed into anything Streamlit renders as Markdown.
- A store whose owner, lead, company, campaign and content names carry `<script>`, Markdown links
  and images and spreadsheet formulas: every page draws them only as plain text (tables, st.text,
  widget options), never inside Markdown-rendered text; every CSV a page offers and the weekly
  HTML and Markdown reports keep them inert.
- The readers' connection (queries.executor) cannot read, write or attach any other file, nor
  install extensions or switch that off again.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import pytest

from data import contract as contract_mod
from data import edits, notes, store
from queries import executor, funnel, weekly
from tests import stories
from ui import tables

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["health", "teams", "targets", "weekly", "pipeline", "content", "data_admin", "definitions"]

SCRIPT = "<script>alert('owned')</script>"
LINK = "[x](https://evil.example)"
IMAGE = "![i](https://evil.example/i.png)"
FORMULA = '=HYPERLINK("https://evil.example","x")'
# Text that would do something if rendered as Markdown/HTML: an element of this kind must not
# contain it verbatim. (Escaped forms such as `\[x\]` or `&lt;script` do not match.)
MARKUP = re.compile(r"<script|<img|\]\(https://evil|<b>", re.IGNORECASE)

URL_PAYLOADS = [
    "x' or 1=1 --",
    "'; drop table leads; --",
    "web') union select * from owners --",
    SCRIPT,
    "<img src=x onerror=alert(1)>",
    LINK,
    IMAGE,
    "a" * 100_000,
    "2025-02-30",
    "2025-13-01",
    "9999-12-31",
    "0001-01-01",
    "-2025-01-01",
    "2025-01-01T00:00:00'--",
    "\x00\u202e<b>x</b>",
]
URL_PARAMS = ["preset", "start", "end", "view", "channel", "region", "segment", "owner", "week", "page", "x"]


# --- the hostile store ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> Path:
    """A 2,000-lead sample whose CRM text is hostile, journeys rebuilt, one hostile meeting note."""
    path = store.build_sample(tmp_path_factory.mktemp("hostile") / "hostile.duckdb", n_leads=2000)
    payloads = [SCRIPT, LINK, IMAGE, FORMULA, "+1-555 call", "@SUM(A1)", "-2+3"]
    con = duckdb.connect(str(path))
    try:
        owners = [r[0] for r in con.execute("select owner_id from owners order by owner_id").fetchall()]
        for i, owner_id in enumerate(owners):
            con.execute(
                "update owners set owner_name = $name || ' ' || owner_name where owner_id = $id",
                {"name": payloads[i % len(payloads)], "id": owner_id},
            )
        con.execute(
            "update leads set lead_name = $a || ' ' || coalesce(lead_name, ''), "
            "company = case when hash(lead_id) % 2 = 0 then $b else $c end",
            {"a": SCRIPT, "b": LINK + " Inc", "c": FORMULA},
        )
        first_campaign = con.execute("select min(campaign) from leads").fetchone()[0]
        con.execute(
            "update leads set campaign = $new where campaign = $old",
            {"new": IMAGE + " spring", "old": first_campaign},
        )
        con.execute(
            "update touches set campaign = $new where campaign = $old",
            {"new": IMAGE + " spring", "old": first_campaign},
        )
        con.execute(
            "update content set title = case when hash(content_id) % 2 = 0 then $a else $b end",
            {"a": FORMULA, "b": SCRIPT},
        )
        store.rebuild_journey(con, contract_mod.load())
    finally:
        con.close()
    monday = weekly.default_week(funnel.latest_event_at(path))
    notes.add_note(monday, SCRIPT, f"{LINK} {IMAGE} {FORMULA}", db=path)
    return path


@pytest.fixture
def hostile_db(hostile_store, use_store) -> Path:
    return use_store(hostile_store)


# --- what a page renders as Markdown -------------------------------------------------------------

# Elements whose strings Streamlit draws as plain text (or as data): CRM text belongs here.
PLAIN_ELEMENTS = {
    "text",
    "code",
    "dataframe",
    "arrow_data_frame",
    "table",
    "plotly_chart",
    "json",
    "download_button",
}
# Widget fields that are options or values, drawn as plain text in the widget.
PLAIN_FIELDS = {
    "options",
    "default",
    "raw_value",
    "value",
    "set_value",
    "id",
    "form_id",
    "spec",
    "data",
    "url",
}


def _strings(message, path=""):
    """(field path, text) for every string inside a protobuf message."""
    for field, value in message.ListFields():
        if field.name in PLAIN_FIELDS:
            continue
        values = value if field.is_repeated else [value]
        for v in values:
            if isinstance(v, str):
                yield f"{path}{field.name}", v
            elif hasattr(v, "ListFields"):
                yield from _strings(v, f"{path}{field.name}.")


def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


def markdown_strings(at) -> list[tuple[str, str]]:
    """Every string the app sent to be drawn as Markdown (labels, captions, alerts, metrics...)."""
    out = []
    for node in _nodes(at._tree):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if proto is None or kind in PLAIN_ELEMENTS or not hasattr(proto, "ListFields"):
            continue
        out.extend((f"{kind}.{name}", text) for name, text in _strings(proto))
    return out


def plain_strings(at) -> str:
    """All text drawn as plain text: tables and st.text."""
    parts = [t.value for t in at.text]
    for df in at.dataframe:
        parts.append(df.value.to_csv(index=False))
    return "\n".join(parts)


@pytest.fixture
def csv_exports(monkeypatch):
    """Every CSV a page offers for download (ui.tables.download and download_all, both built
    on click), as text."""
    made: list[str] = []
    real, real_all = tables.download, tables.download_all

    def record(df, *args, **kwargs):
        frame = df() if callable(df) else df  # a frame, or a function building it at the click
        made.append(tables.safe_csv(frame).decode("utf-8-sig"))
        return real(df, *args, **kwargs)

    def record_all(fn, *args, filename, key, **kwargs):
        made.append(tables.safe_csv(fn(*args, limit=tables.CSV_ROWS, **kwargs)).decode("utf-8-sig"))
        return real_all(fn, *args, filename=filename, key=key, **kwargs)

    monkeypatch.setattr(tables, "download", record)
    monkeypatch.setattr(tables, "download_all", record_all)
    return made


def formula_cells(csv_text: str) -> list[str]:
    bad = []
    for row in csv.reader(io.StringIO(csv_text, newline="")):
        bad.extend(c for c in row if c[:1] in tables.FORMULA_PREFIXES and not _is_number(c))
    return bad


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("page", PAGES)
def test_crm_text_is_plain_text_on_every_page(page, hostile_db, page_app, csv_exports):
    at = page_app(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    rendered = [(where, text) for where, text in markdown_strings(at) if MARKUP.search(text)]
    assert rendered == [], f"CRM text reached Markdown on {page}: {rendered[:3]}"
    bad = [cell for text in csv_exports for cell in formula_cells(text)]
    assert bad == [], f"formula cells in a CSV download on {page}: {bad[:3]}"
    if page in ("teams", "weekly"):  # pages with owner and lead names in their tables
        assert any("'=HYPERLINK(" in text for text in csv_exports), "no hostile name was exported"


def test_the_hostile_names_are_really_shown(hostile_db, page_app):
    # The check above would pass on pages that show no names at all: the Teams page must show
    # the hostile owner names, literally, in its tables.
    at = page_app("pages/teams.py").run()
    shown = plain_strings(at)
    assert SCRIPT in shown and LINK in shown


def test_hostile_owner_names_in_the_sidebar_filter(hostile_db, page_app):
    # The frame's owner filter lists names as widget options (plain text), never in a label.
    at = page_app("dashboard.py").run()
    assert not at.exception
    owners = next(m for m in at.sidebar.multiselect if m.label == "Owner")
    assert any(SCRIPT in o for o in owners.options)
    assert not [s for s in markdown_strings(at) if MARKUP.search(s[1])]


# --- URL parameters ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_view(hostile_store):
    """What the dashboard shows with no URL parameters: the filters and the Leads figure."""
    import os

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    old = os.environ.get(store.ENV_DB)
    os.environ[store.ENV_DB] = str(hostile_store)
    try:
        st.cache_data.clear()
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
        return at.session_state["filters"], leads_figure(at)
    finally:
        if old is None:
            del os.environ[store.ENV_DB]
        else:
            os.environ[store.ENV_DB] = old


def leads_figure(at) -> str:
    return next(m.value for m in at.metric if m.label == "Leads")


@pytest.mark.parametrize("payload", URL_PAYLOADS, ids=lambda p: repr(p[:24]))
def test_every_url_parameter_refuses_hostile_values(payload, hostile_db, page_app, default_view):
    at = page_app("dashboard.py")
    at.query_params = {name: payload for name in URL_PARAMS}
    at.run()
    assert not at.exception, at.exception
    filters, leads = default_view
    # No extra data: the default view, the same Leads figure as without parameters.
    assert at.session_state["filters"] == filters
    assert leads_figure(at) == leads
    # Nothing echoed where it would be rendered.
    echoed = [s for s in markdown_strings(at) if payload[:40] in s[1]]
    assert echoed == []


@pytest.mark.parametrize("payload", URL_PAYLOADS, ids=lambda p: repr(p[:24]))
def test_weekly_week_parameter_refuses_hostile_values(payload, hostile_db, page_app):
    at = page_app("pages/weekly.py")
    at.query_params = {"week": payload}
    at.run()
    assert not at.exception, at.exception
    assert [s for s in markdown_strings(at) if payload[:40] in s[1]] == []
    # The page falls back to a real week and writes it back.
    assert re.fullmatch(
        r"\d{4}-W\d{2}",
        at.query_params["week"][0] if isinstance(at.query_params["week"], list) else at.query_params["week"],
    )


def test_a_list_parameter_with_many_values_is_ignored(hostile_db, page_app, default_view):
    at = page_app("dashboard.py")
    at.query_params = {"channel": [f"c{i}" for i in range(5000)]}
    at.run()
    assert not at.exception
    assert at.session_state["filters"] == default_view[0]


# --- exports -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def weekly_exports(hostile_store):
    from reports import weekly as weekly_report

    monday = weekly.default_week(funnel.latest_event_at(hostile_store))
    report, html_text, md_text = weekly_report.build(monday, db=hostile_store)
    return report, html_text, md_text


def test_weekly_html_report_escapes_crm_text(weekly_exports):
    _, html_text, _ = weekly_exports
    # Names reach the report (escaped), and never as live markup. plotly.js brings its own
    # <script> tags, so look for the payload itself, not for "<script".
    assert "&lt;script&gt;alert(" in html_text
    assert SCRIPT not in html_text
    assert "<img src" not in html_text.lower()
    assert '<a href="https://evil' not in html_text


def test_weekly_html_charts_cannot_close_their_script_tag(hostile_store):
    # A name like `</script><script>...` inside a chart's JSON would end plotly's <script> block.
    from reports import html
    from reports import weekly as weekly_report

    con = duckdb.connect(str(hostile_store), read_only=True)
    con.close()
    monday = weekly.default_week(funnel.latest_event_at(hostile_store))
    report, _, _ = weekly_report.build(monday, db=hostile_store)
    text = html.render(report, weekly.meeting_notes(monday, db=hostile_store))
    assert "</script><script>alert" not in text


def test_weekly_markdown_report_escapes_crm_text(weekly_exports):
    _, _, md_text = weekly_exports
    assert SCRIPT not in md_text and LINK not in md_text and IMAGE not in md_text
    assert "&lt;script&gt;" in md_text  # the note's author is there, as inert text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("https://evil")', '\'=HYPERLINK("https://evil")'),
        ("+1-555", "'+1-555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        # Some spreadsheets drop a leading NUL on import, leaving the formula behind it.
        ("\x00=1+1", "'\x00=1+1"),
        ("plain", "plain"),
        # A line break inside a cell stays inside it (quoted): a spreadsheet must not start a
        # new row at "=..." (pandas left a bare carriage return unquoted with "\n" line ends).
        ("a\r=HYPERLINK(1)", "a\r=HYPERLINK(1)"),
        ("b\n=2", "b\n=2"),
    ],
)
def test_csv_cells_are_neutralised(value, expected):
    import pandas as pd

    text = tables.safe_csv(pd.DataFrame({"name": [value], "n": [-5]})).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1] == [expected, "-5"]  # numbers stay numbers


# --- the readers' connection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/passwd')",
        "select * from read_parquet('/tmp/anything.parquet')",
        "copy (select 1) to '{out}'",
        "copy leads to '{out}'",
        "attach '{other}' as other",
        "install httpfs",
        "load httpfs",
        "set enable_external_access = true",
        "reset enable_external_access",
        "set lock_configuration = false",
        "set temp_directory = '{dir}'",
        "insert into owners values ('x', 'x', 'sales')",
        "create table stolen as select 1",
        "export database '{dir}'",
    ],
)
def test_the_readers_connection_cannot_leave_the_store(sql, hostile_store, tmp_path):
    out, other, export_dir = tmp_path / "out.csv", tmp_path / "other.duckdb", tmp_path / "export"
    con = executor.connect(hostile_store)
    try:
        with pytest.raises(duckdb.Error):
            con.execute(sql.format(out=out, other=other, dir=export_dir)).fetchall()
        # Still locked down afterwards.
        assert con.execute("select current_setting('enable_external_access')").fetchone()[0] is False
    finally:
        con.close()
    assert not out.exists() and not other.exists() and not export_dir.exists()


def test_the_readers_connection_cannot_write_its_temp_directory(hostile_store, tmp_path, monkeypatch):
    # DuckDB lets a connection write its temp directory even with external access off; the
    # default is `<cwd>/.tmp`, so `COPY ... TO '<cwd>/.tmp/x.csv'` wrote a file. The readers
    # spill nowhere: there is no such directory to write.
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".tmp").mkdir()
    con = executor.connect(hostile_store)
    try:
        assert con.execute("select current_setting('temp_directory')").fetchone()[0] == ""
        for target in (tmp_path / ".tmp" / "x.csv", Path(".tmp") / "y.csv"):
            with pytest.raises(duckdb.Error):
                con.execute(f"copy (select 1) to '{target}'")
    finally:
        con.close()
    assert list((tmp_path / ".tmp").iterdir()) == []


def test_the_store_is_still_readable(hostile_store):
    # The control for the refusals above: the same connection does read the store.
    con = executor.connect(hostile_store)
    try:
        assert con.execute("select count(*) from leads").fetchone()[0] == 2000
    finally:
        con.close()


# --- one rendered check in a real browser ---------------------------------------------------------


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Chromium not found: `make browser`")
def test_hostile_text_in_a_real_browser(hostile_store):
    """Teams page (owner names in tables) and Weekly (names, notes) opened in headless Chromium
    with hostile URL parameters: no script runs (no dialog, no injected element), no link or
    image to the attacker's site, and the names read literally on the page."""
    from tests.test_browser import chromium, open_page, streamlit_server

    query = "?owner=%3Cscript%3Ealert(1)%3C%2Fscript%3E&start=2025-02-30&channel=x%27%20or%201%3D1%20--"
    with streamlit_server(hostile_store) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        seen = ""
        for path in ("teams", "weekly"):
            open_page(page, f"{url}/{path}{query}")
            page.wait_for_timeout(1500)  # tables and charts draw after the script finished
            assert page.locator('[data-testid="stException"]').count() == 0
            injected = page.evaluate(
                """() => ({
                    scripts: [...document.scripts].filter(s => s.textContent.includes('owned')).length,
                    links: document.querySelectorAll('a[href*="evil.example"]').length,
                    images: document.querySelectorAll('img[src*="evil.example"]').length,
                })"""
            )
            assert injected == {"scripts": 0, "links": 0, "images": 0}
            seen += page.locator('[data-testid="stMain"]').inner_text()
        assert dialogs == []
        # Plain text on the page itself: Weekly's action list and notes are st.text/tables
        # drawn on a canvas (dataframes), so look for the notes' literal text.
        assert SCRIPT in seen or "alert('owned')" in seen
        page.close()


# --- free-text forms ------------------------------------------------------------------------------


@pytest.fixture
def writable_hostile(hostile_store, tmp_path, use_store) -> Path:
    return use_store(stories.copy_store(hostile_store, tmp_path / "writable.duckdb"))


def test_weekly_note_form_keeps_hostile_text_literal(writable_hostile, page_app):
    at = page_app("pages/weekly.py").run()
    at.text_input(key="weekly_note_author").input(SCRIPT)
    at.text_area(key="weekly_note_text").input(f"{LINK} {IMAGE}\n{FORMULA}")
    next(b for b in at.button if b.label == "Save note").click().run()
    assert not at.exception
    # Stored as typed (in the team's edits file), drawn with st.text only.
    stored = edits.read(
        writable_hostile, "select author, note from meeting_notes where author = $a", {"a": SCRIPT}
    )
    assert (SCRIPT, f"{LINK} {IMAGE}\n{FORMULA}") in stored
    assert any(FORMULA in t.value and SCRIPT in t.value for t in at.text)
    assert not [s for s in markdown_strings(at) if MARKUP.search(s[1])]


@pytest.mark.parametrize("value", [1e308, -5.0, float("nan")])
def test_target_form_with_hostile_name_and_odd_values(value, writable_hostile, page_app):
    at = page_app("pages/targets.py").run()
    at.number_input(key="tf-value").set_value(value)
    at.text_input(key="tf-by").input(f"{SCRIPT} {LINK}")
    next(b for b in at.button if b.label == "Save target").click().run()
    assert not at.exception
    # Saved or refused with a message; either way the name is never rendered as Markdown.
    assert not [s for s in markdown_strings(at) if MARKUP.search(s[1])]
