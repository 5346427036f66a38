"""The dashboard with HANDOFF_ENGINE=clickhouse (embedded chdb), in headless Chromium: every page
renders with no error box, and shows the same text and figures as the same page on DuckDB over the
same store (two servers side by side). Screenshots: tests/artifacts/clickhouse-<page>-<width>.png."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_browser import (
    ARTIFACTS,
    ERRORS,
    FUNNEL_CHART,
    PAGES,
    chromium,
    full_screenshot,
    needs_chromium,
    open_page,
    settle,
    streamlit_server,
)

pytest.importorskip("chdb")
pytest.importorskip("sqlglot")
pytestmark = [pytest.mark.browser, needs_chromium]

# The Data page says which engine answers; everything else must read the same on both.
ENGINE_LINE = "Queries run on "


@pytest.fixture(scope="module")
def servers(sample_store):
    with (
        streamlit_server(sample_store, env={"HANDOFF_ENGINE": "clickhouse"}) as on_clickhouse,
        streamlit_server(sample_store, env={"HANDOFF_ENGINE": "duckdb"}) as on_duckdb,
    ):
        yield on_clickhouse, on_duckdb


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def page_text(page) -> list[str]:
    """The main block's text, line by line, without the engine's own line."""
    text = page.locator('[data-testid="stMain"]').inner_text()
    return [line for line in text.splitlines() if not line.startswith(ENGINE_LINE)]


def engine_line(page) -> str:
    lines = page.locator('[data-testid="stMain"]').inner_text().splitlines()
    return next((line for line in lines if line.startswith(ENGINE_LINE)), "")


def opened(browser, url: str, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    open_page(page, url)
    settle(page)
    return page


@pytest.mark.parametrize(("url_path", "file"), PAGES, ids=[f for _, f in PAGES])
def test_every_page_on_clickhouse_renders_and_reads_as_on_duckdb(servers, browser, url_path, file):
    on_clickhouse, on_duckdb = servers
    name = Path(file).stem
    page = opened(browser, f"{on_clickhouse}/{url_path}", 1440, 900)
    try:
        errors = page.locator(ERRORS)
        assert errors.count() == 0, f"{file} on clickhouse: {errors.first.inner_text()[:500]}"
        if name == "health":
            page.wait_for_selector(FUNNEL_CHART, timeout=30_000)
            assert page.locator('[data-testid="stPlotlyChart"]').count() >= 3
        if name == "data_admin":
            assert engine_line(page).startswith("Queries run on ClickHouse (embedded chdb)")
        on_ch = page_text(page)
        full_screenshot(page, ARTIFACTS / f"clickhouse-{name}-1440.png", width=1440)
    finally:
        page.close()

    reference = opened(browser, f"{on_duckdb}/{url_path}", 1440, 900)
    try:
        if name == "data_admin":
            assert engine_line(reference) == "Queries run on DuckDB, on the store file."
        on_db = page_text(reference)
    finally:
        reference.close()
    assert on_ch == on_db, f"{file}: the page reads differently on clickhouse"

    page = opened(browser, f"{on_clickhouse}/{url_path}", 1280, 800)
    try:
        assert page.locator(ERRORS).count() == 0
        full_screenshot(page, ARTIFACTS / f"clickhouse-{name}-1280.png", width=1280)
    finally:
        page.close()
