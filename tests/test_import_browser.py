"""The Data page in a real browser: upload the HubSpot example, see its preview, import it, see
the report, and find the new data in the store; its tables offer no download of their own.
Uses the browser test's server and Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_helpers import query, run
from tests.test_browser import (
    ARTIFACTS,
    DONE,
    ERRORS,
    chromium,
    full_screenshot,
    needs_chromium,
    open_page,
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
