"""The Data page in a real browser: upload the HubSpot example, see its preview, import it, see
the report, and find the new data in the store; its tables offer no download of their own.
Uses the browser test's server and Chromium."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from data import store
from tests.import_helpers import query, run
from tests.test_browser import (
    ARTIFACTS,
    DONE,
    ERRORS,
    FUNNEL_CHART,
    chromium,
    full_screenshot,
    needs_chromium,
    open_page,
    settle,
    streamlit_server,
)

pytestmark = [pytest.mark.browser, needs_chromium]
EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def test_upload_and_import_in_the_browser(tmp_path):
    db = tmp_path / "live.duckdb"
    run(tmp_path, EXAMPLES / "event_log.csv", "event_log", db=db)  # 23 events
    with streamlit_server(db) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        # Through the frame's navigation, as a user gets there (a typed /data URL can bypass it).
        open_page(page, url)
        page.locator('[data-testid="stSidebarNav"] a', has_text="Data").click()
        page.get_by_text("Mapping (what kind of export this is)").wait_for(timeout=60_000)
        page.wait_for_selector(DONE, timeout=60_000)
        page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.click()
        page.get_by_role("option", name="hubspot_contacts", exact=False).click()
        page.wait_for_selector(DONE, timeout=60_000)
        page.set_input_files('input[type="file"]', str(EXAMPLES / "hubspot_contacts.csv"))
        page.get_by_text("Preview of file 1").wait_for(timeout=60_000)
        # The upload's name, as plain text under the heading, then the shape its header fits.
        page.locator('[data-testid="stText"]').get_by_text("hubspot_contacts.csv", exact=True).wait_for(
            timeout=60_000
        )
        page.locator(
            '[data-testid="stText"]', has_text="preset hubspot_contacts (file role 'contacts'"
        ).wait_for(timeout=60_000)
        page.get_by_text("What the import would add, per stage").wait_for(timeout=60_000)
        page.wait_for_selector(DONE, timeout=60_000)
        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("Imported in").wait_for(timeout=120_000)
        page.wait_for_selector(DONE, timeout=60_000)
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "rows in 6 = accepted 6 + rejected 0 + duplicate 0 (holds)" in text
        assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
        full_screenshot(page, ARTIFACTS / "data-import.png")
    assert query(db, "select count(*) from events") == [(23 + 17,)]


def test_tables_offer_no_download_of_their_own(tmp_path):
    # Streamlit's own "Download as CSV" in a table's toolbar writes =HYPERLINK(...) cells as they
    # are; client.disableDataExport hides it (the page's own CSV buttons neutralise them).
    db = tmp_path / "live.duckdb"
    run(tmp_path, EXAMPLES / "event_log.csv", "event_log", db=db)
    with streamlit_server(db) as url, chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        open_page(page, url)
        page.locator('[data-testid="stSidebarNav"] a', has_text="Data").click()
        page.get_by_text("History and rollback").click()
        table = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]:visible').first
        table.wait_for(timeout=60_000)
        page.wait_for_selector(DONE, timeout=60_000)
        table.hover()
        toolbar = page.locator('[data-testid="stElementToolbar"]:visible').first
        toolbar.wait_for(timeout=30_000)
        labels = [b.get_attribute("aria-label") for b in toolbar.locator("button").all()]
        assert labels, "the table's toolbar did not show"
        assert "Download as CSV" not in labels, labels
        assert page.get_by_role("button", name="Download history").count() == 1  # ours stays


GUIDED = Path(__file__).resolve().parent / "fixtures" / "guided_opportunities.csv"


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def grid(page, column: str) -> list[list[str]]:
    """The cells of the table with this column header, row by row (the grid's accessible table)."""
    table = page.locator(
        '[data-testid="stMain"] [data-testid="stDataFrame"]',
        has=page.locator('[role="columnheader"]', has_text=column),
    ).first
    table.wait_for(timeout=60_000)
    rows = table.locator('[role="row"]').all()
    return [[c.strip() for c in r.locator('[role="gridcell"]').all_inner_texts()] for r in rows[1:]]


METRICS = """() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]')].map(m =>
  [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
   m.querySelector('[data-testid="stMetricValue"]').innerText.trim()])"""


def metrics(page) -> dict[str, str]:
    """Each metric's label and value; a label's icon (drawn from its name, in lower case: the
    mark of a figure with no comparison) left out."""
    return {re.sub(r"^[a-z_]+\s+(?=[A-Z])", "", k): v for k, v in page.evaluate(METRICS)}


def grid_becomes(page, column: str, expected: list, timeout_s: float = 60) -> None:
    """Wait until the table with this column shows `expected` (it redraws after a rerun)."""
    deadline = time.monotonic() + timeout_s
    while (rows := grid(page, column)) != expected and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert rows == expected


def upload_guided(page, url: str) -> None:
    open_page(page, url)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Data").click()
    page.get_by_text("Mapping (what kind of export this is)").wait_for(timeout=60_000)
    page.wait_for_selector(DONE, timeout=60_000)
    # A rerun that was still drawing the page can replace the file input under the upload; the
    # file's chip in the uploader shows that the upload reached the server, so set it again if not.
    # (the chip shortens a long name in the middle: "guided_...nities.csv").
    chip = page.locator('[data-testid="stFileChip"]', has_text=".csv").first
    for _ in range(3):
        page.set_input_files('input[type="file"]', str(GUIDED))
        try:
            chip.wait_for(timeout=20_000)
            break
        except PlaywrightTimeout:
            page.wait_for_selector(DONE, timeout=60_000)
    page.get_by_text("How to read your file").wait_for(timeout=120_000)
    page.get_by_text("What the import would add, per stage").wait_for(timeout=60_000)
    page.wait_for_selector(DONE, timeout=60_000)
    settle(page)


def test_a_file_of_its_own_shape_is_imported_through_its_choices_in_the_browser(tmp_path):
    # A first start: the generated sample, which an import replaces (the page starts from an
    # empty store for it). The file is an opportunity list no preset knows (tests/fixtures).
    db = store.build_sample(tmp_path / "live.duckdb", n_leads=200)
    with streamlit_server(db) as url, chromium() as browser:
        # At 1280 px: the choices, the proposed funnel, the preview and the counts, whole.
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        upload_guided(page, url)
        assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
        full_screenshot(page, ARTIFACTS / "guided-import-1280.png", width=1280)
        page.close()

        page = browser.new_page(viewport={"width": 1440, "height": 900})
        upload_guided(page, url)
        text = main_text(page)
        assert "guided_opportunities.csv: unknown shape" in text
        assert page.get_by_role("button", name="Download this mapping (.toml)").count() == 1
        # The preview: Q-01's two events, as they will be stored.
        preview = grid(page, "event_type")
        assert preview[:2] == [
            ["2", "ok", "guided:Q-01:created", "Q-01", "created", "2025-01-06 00:00:00", "sales", ""],
            ["2", "ok", "guided:Q-01:won", "Q-01", "won", "2025-02-20 00:00:00", "sales", "12000.00"],
        ]
        # Hand-counted: 9 opportunities opened (Q-10 has no date), won, lost Q-02
        # and Q-09.
        assert grid(page, "records entering it") == [
            ["Created", "stage", "9"],
            ["Won", "stage", "2"],
            ["Lost", "exit", "2"],
        ]
        # One choice changed: Abandoned is lost too. The proposed funnel and the
        # counts follow before anything is written.
        lost = page.locator('[data-testid="stMultiSelect"]', has_text="Status values that are lost")
        lost.locator("input").click()
        page.keyboard.type("Aband")  # the list opens on typing
        page.get_by_role("option", name="Abandoned", exact=True).click()
        page.keyboard.press("Escape")
        page.wait_for_selector(DONE, timeout=60_000)
        grid_becomes(
            page,
            "records entering it",
            [
                ["Created", "stage", "9"],
                ["Won", "stage", "2"],
                ["Abandoned", "exit", "2"],
                ["Lost", "exit", "2"],
            ],
        )
        page.wait_for_selector(DONE, timeout=60_000)
        # The funnel proposed from the file: asked to confirm, its rows are as proposed.
        assert [r[:4] for r in grid(page, "Name in your data")] == [
            ["1", "Created", "Created", "a stage"],
            ["2", "Won", "Won", "won (the last stage)"],
            ["3", "Abandoned", "Abandoned", "an exit: lost (an outcome)"],
            ["4", "Lost", "Lost", "an exit: lost (an outcome)"],
        ]
        assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
        full_screenshot(page, ARTIFACTS / "guided-import-1440.png", width=1440)

        page.get_by_role("button", name="Import", exact=True).click()
        page.get_by_text("Imported in").wait_for(timeout=120_000)
        page.wait_for_selector(DONE, timeout=60_000)
        assert "rows in 10 = accepted 10 + rejected 0 + duplicate 0 (holds)" in main_text(page)
        assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
        page.close()

        # The default page (Funnel health) shows the new funnel, at both widths. Its default
        # range is Q1 2025: Q-01..Q-09 started in it; won Q-01, Q-03 (12,000 + 5,000); lost
        # and abandoned; open. Win rate 2 / 6.
        for width, height in ((1440, 900), (1280, 800)):
            page = browser.new_page(viewport={"width": width, "height": height})
            open_page(page, url)
            page.wait_for_selector(FUNNEL_CHART, timeout=60_000)
            settle(page)
            text = main_text(page)
            assert "Funnel health" in text and "sample data" not in text
            assert "Outcomes of this cohort: 2 won, 4 lost" in text and "3 still open" in text
            assert "Created → Won" in text
            shown_metrics = metrics(page)
            shown = {k: shown_metrics.get(k) for k in ("Opportunities", "Won", "Win rate", "Created → Won")}
            assert shown == {
                "Opportunities": "9",
                "Won": "2",
                "Win rate": "33.3%",
                "Created → Won": "22.2%",
            }, shown_metrics
            assert [r[:2] for r in grid(page, "Reached")] == [["Created", "9"], ["Won", "2"]]
            assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
            full_screenshot(page, ARTIFACTS / f"guided-health-{width}.png", width=width)
            page.close()
    # The store holds the file's events: 9 created, 2 won, 2 lost, 2 abandoned.
    assert query(db, "select event_type, count(*) from events group by 1 order by 1") == [
        ("abandoned", 2),
        ("created", 9),
        ("lost", 2),
        ("won", 2),
    ]
