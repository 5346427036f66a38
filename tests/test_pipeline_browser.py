"""The Pipeline page in a real browser (headless Chromium, see tests/test_browser.py): the Spanish
Salesforce export with a dated rate, opened from a link that names the dates, at 1440 and 1280
pixels wide; the waterfall is drawn, nothing shows an error, a click on a bar lists its
opportunities and reaches the URL. Screenshots go to tests/artifacts/ (ignored by git)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from data import importer, rates
from tests.test_browser import ARTIFACTS, DONE, ERRORS, chromium, needs_chromium, open_page, streamlit_server
from tests.test_pipeline_shapes import SPANISH

pytestmark = [pytest.mark.browser, needs_chromium]
WATERFALL = '[data-testid="stPlotlyChart"] .js-plotly-plot .waterfalllayer .point'
LINK = "/pipeline?t1=2025-02-15&t2=2025-03-15"


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def server(tmp_path_factory, browser) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("pipeline_browser")
    db = folder / "store.duckdb"
    args = [
        *(str(f) for f in SPANISH),
        "--mapping",
        "salesforce_opportunities",
        "--db",
        str(db),
        "--accept-proposal",
    ]
    assert importer.main(args) == 0
    path = folder / "rates.csv"
    path.write_text("currency,date,rate\nUSD,2025-01-01,0.92\n", encoding="utf-8")
    assert rates.main([str(path), "--base", "EUR", "--db", str(db)]) == 0
    with streamlit_server(db) as url:
        # The first visit of a fresh server goes to the default page: a first request straight to
        # a page's path runs it outside the frame (Streamlit's own page list, narrow layout).
        first = browser.new_page()
        open_page(first, url)
        first.close()
        yield url


def screenshot(page, name: str) -> None:
    """The whole page at the viewport's own width (Streamlit scrolls inside its main block)."""
    height = page.evaluate(
        '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
        '[data-testid="stAppViewContainer"]\')].map(e => e.scrollHeight), document.body.scrollHeight)'
    )
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(int(height) + 40, 12000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.mark.parametrize("width", [1440, 1280])
def test_the_pipeline_page_from_a_link(server, browser, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        open_page(page, server + LINK)
        page.wait_for_selector(WATERFALL, timeout=30_000)
        errors = page.locator(ERRORS)
        assert errors.count() == 0, errors.first.inner_text()[:500]
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert "Open pipeline on 15 Mar 2025" in main and "What moved from 15 Feb 2025 to 15 Mar 2025" in main
        # Eleven buckets and the two pipelines, in EUR at the dated rate.
        assert page.locator(WATERFALL).count() == 13
        assert "EUR 28.4 k" in main
        # Every metric's label and value is whole at this width (nothing cut off with an ellipsis).
        for metric in page.locator('[data-testid="stMetric"]').all():
            box = metric.evaluate("e => [e.scrollWidth, e.clientWidth]")
            assert box[0] <= box[1] + 1, metric.inner_text()
        screenshot(page, f"pipeline_{width}.png")
    finally:
        page.close()


def test_a_click_on_a_bar_lists_its_opportunities(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    try:
        open_page(page, server + LINK)
        page.wait_for_selector(WATERFALL, timeout=30_000)
        # The bars sit under plotly's drag layer: click where the "Won" bar is drawn.
        won = page.locator(WATERFALL).nth(3)  # start, new, re-opened, won
        won.scroll_into_view_if_needed()
        box = won.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_url(lambda u: "bar=won" in u, timeout=30_000)
        page.wait_for_selector(DONE, timeout=60_000)
        assert "bar=new" not in page.url
        assert page.locator(ERRORS).count() == 0
    finally:
        page.close()
