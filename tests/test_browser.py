"""Real-browser tests: `streamlit run dashboard.py` headless, driven by Debian's Chromium.

Every page in the navigation is opened in headless Chromium; the test waits until the script
has finished and fails on any Streamlit exception or error box. Screenshots go to
tests/artifacts/ (ignored by git; tests never write a tracked file).

Page load times in the browser (cold: first visit after the server started; warm: a reload),
and the README's picture (docs/screenshots/health.png) with --readme-screenshot:

    .venv/bin/python -m tests.test_browser --db /tmp/s1m.duckdb [--readme-screenshot]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
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
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]'
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
FUNNEL_CHART = '[data-testid="stPlotlyChart"] .js-plotly-plot .funnellayer .trace'


def planned_pages() -> list[tuple[str, str]]:
    """(url path, file) for each planned page whose file exists; the default page is at /."""
    sys.path.insert(0, str(ROOT))
    source = (ROOT / "dashboard.py").read_text(encoding="utf-8")
    # Read the list from dashboard.py without running it (it needs a Streamlit runtime).
    namespace: dict = {}
    start = source.index("PLANNED_PAGES = (")
    end = source.index("\n)\n", start) + 3
    exec(source[start:end], namespace)  # noqa: S102 - our own literal tuple
    files = [p for p, _, _ in namespace["PLANNED_PAGES"] if (ROOT / p).exists()]
    return [("" if i == 0 else Path(f).stem, f) for i, f in enumerate(files)]


PAGES = planned_pages()

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Chromium not found at /usr/bin/chromium: install it with `apt-get install chromium` "
    "(or `make browser`) to run the browser tests",
)
pytestmark = [pytest.mark.browser, needs_chromium]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(db: Path, timeout: float = 60, env: dict | None = None) -> Iterator[str]:
    """Run the dashboard on a free port with HANDOFF_DB=db (and `env` set); yields its base URL."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "HANDOFF_DB": str(db), "PYTHONPATH": str(ROOT), **(env or {})}
    log = (ARTIFACTS / f"server-{port}.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard.py",
            "--server.headless=true",
            "--server.address=127.0.0.1",
            f"--server.port={port}",
            "--browser.gatherUsageStats=false",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r,
            ):
                if r.read() == b"ok":
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start on {url} (exit code {proc.poll()})")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_page(page, url: str, timeout_ms: float = 120_000) -> float:
    """Load `url` and wait until the script finished; returns seconds from navigation."""
    started = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    # The page's own content first (the script has started), then the finished state.
    page.wait_for_selector('[data-testid="stMain"] h1', timeout=timeout_ms)
    page.wait_for_selector(DONE, timeout=timeout_ms)
    return time.perf_counter() - started


SKELETONS = '[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]'


def settle(page, timeout_ms: float = 60_000) -> None:
    """Wait until every element has drawn: Streamlit shows a grey skeleton while an element's
    code loads in the browser (the first time a page shows a chart or a table)."""
    page.wait_for_function(f"() => document.querySelectorAll('{SKELETONS}').length === 0", timeout=timeout_ms)


def _content_height(page) -> int:
    return int(
        page.evaluate(
            '() => Math.max(...[...document.querySelectorAll(\'[data-testid="stMain"], '
            '[data-testid="stAppViewContainer"], [data-testid="stSidebarContent"]\')]'
            ".map(e => e.scrollHeight), "
            "document.body.scrollHeight)"
        )
    )


def full_screenshot(page, path: Path, width: int = 1400) -> None:
    """Streamlit scrolls inside its main block, so grow the viewport to the content first (again
    while the content grows: elements below the first screen draw once they are in view)."""
    height = 0
    for _ in range(6):
        measured = _content_height(page)
        if measured <= height:
            break
        height = measured
        page.set_viewport_size({"width": width, "height": min(height + 40, 16000)})
        settle(page)
        page.wait_for_timeout(800)  # charts re-lay out to the new size
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)


@pytest.fixture(scope="module")
def server(sample_store) -> Iterator[str]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(sample_store) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


# A page's main tables (ui/tables.show(fit=True), in a container with this class): how much
# of each one's grid scrolls sideways, i.e. is cut off at the right edge.
MAIN_TABLES_CUT = """() => [...document.querySelectorAll('[class*="st-key-main-table"]')].map(box => {
  const grid = box.querySelector('[data-testid="stDataFrame"] .dvn-scroller');
  return {table: [...box.classList].find(c => c.startsWith('st-key-')),
          cut: grid ? grid.scrollWidth - grid.clientWidth : 0};
})"""
WIDTHS = ((1440, 900), (1280, 800))


@pytest.mark.parametrize(("width", "height"), WIDTHS, ids=[f"{w}px" for w, _ in WIDTHS])
@pytest.mark.parametrize(("url_path", "file"), PAGES, ids=[f for _, f in PAGES])
def test_page_renders_without_error_and_its_main_tables_are_whole(
    server, browser, url_path, file, width, height
):
    page = browser.new_page(viewport={"width": width, "height": height})
    try:
        open_page(page, f"{server}/{url_path}")
        errors = page.locator(ERRORS)
        assert errors.count() == 0, f"{file}: error on the page: {errors.first.inner_text()[:500]}"
        name = Path(file).stem
        if name == "health":
            page.wait_for_selector(FUNNEL_CHART, timeout=30_000)
            assert page.locator('[data-testid="stPlotlyChart"]').count() >= 3  # funnel, trend, times
        full_screenshot(page, ARTIFACTS / f"{name}-{width}.png", width=width)
        tables = page.evaluate(MAIN_TABLES_CUT)
        if name != "data_admin":  # (its tables are the import's, narrow)
            assert tables, f"{file}: no main table found"
        cut = [t for t in tables if t["cut"] > 1]
        assert not cut, f"{file} at {width} px: main tables cut off at the right edge: {cut}"
    finally:
        page.close()


def test_health_in_the_dark_theme(server, browser):
    """Streamlit follows the system's colour scheme: the page and its charts render on dark."""
    page = browser.new_page(viewport={"width": 1400, "height": 900}, color_scheme="dark")
    try:
        open_page(page, server)
        page.wait_for_selector(FUNNEL_CHART, timeout=30_000)
        assert page.locator(ERRORS).count() == 0
        background = page.evaluate(
            "() => getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor"
        )
        red, green, blue = (int(v) for v in background[background.index("(") + 1 : -1].split(",")[:3])
        assert red + green + blue < 150, f"expected a dark background, got {background}"
        full_screenshot(page, ARTIFACTS / "health_dark.png")
    finally:
        page.close()


def test_filters_survive_moving_between_pages_and_reach_the_url(server, browser):
    """A filter set in the URL shows on the page, stays when moving to another page through the
    menu, and is written back to the URL there; a filter that page does not use (Teams has no
    flow view) is neither drawn there nor in its link."""
    if len(PAGES) < 2:
        pytest.skip("only one page exists yet")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        open_page(page, f"{server}/?region=EMEA&view=flow")
        assert "region=EMEA" in page.url
        other_title = page.locator('[data-testid="stSidebarNav"] a').nth(1)
        other_title.click()
        page.wait_for_url(lambda u: "region=EMEA" in u and "view=flow" not in u, timeout=30_000)
        page.wait_for_selector(DONE, timeout=60_000)
        assert page.locator(ERRORS).count() == 0
        region = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').nth(1)
        assert "EMEA" in region.inner_text()
    finally:
        page.close()


def test_changing_the_period_in_the_sidebar_reruns_the_page_and_updates_the_url(server, browser):
    """The frame's widgets in a real session (AppTest cannot rerun the frame of a navigation app)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        open_page(page, server)
        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
        page.get_by_role("option", name="Year to date").click()
        page.wait_for_url(lambda u: "preset=ytd" in u, timeout=30_000)
        page.wait_for_selector(DONE, timeout=60_000)
        page.wait_for_selector(FUNNEL_CHART, timeout=30_000)
        assert page.locator(ERRORS).count() == 0
        assert "start=2026-01-01" in page.url  # the sample's latest event is in 2026
    finally:
        page.close()


def test_first_start_builds_the_sample_and_shows_the_funnel(tmp_path, browser):
    """A fresh install: no store file. The app builds the sample with a progress bar, then shows
    the funnel with the sample-data note."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "fresh" / "handoff.duckdb"
    assert not db.exists()
    with streamlit_server(db) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            open_page(page, url, timeout_ms=240_000)
            assert db.exists()
            assert page.locator(ERRORS).count() == 0
            page.wait_for_selector(FUNNEL_CHART, timeout=60_000)
            assert "sample data" in page.locator('[data-testid="stAlertContentInfo"]').first.inner_text()
            full_screenshot(page, ARTIFACTS / "first_start.png")
        finally:
            page.close()


def test_a_page_link_opened_first_on_a_fresh_server_runs_inside_the_frame(sample_store, browser):
    """The first request a freshly started server gets is a shared link to /teams: it used to
    run pages/teams.py alone (Streamlit's old pages-folder mode until the frame had once called
    st.navigation): no sidebar filters, a narrow layout, the menu listing file names."""
    with streamlit_server(sample_store) as url:
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        try:
            open_page(page, f"{url}/teams?region=EMEA")
            page.wait_for_selector('[data-testid="stMain"] h1:has-text("Teams and handoff")', timeout=60_000)
            assert page.locator(ERRORS).count() == 0
            nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
            assert "Teams and handoff" in nav and "Funnel health" in nav, nav
            assert "teams" not in nav.split() and "dashboard" not in nav.lower(), nav
            # The multiselect's chips can draw a moment after the script has finished (the
            # element's code loads in the browser on a fresh server): wait for them.
            settle(page)
            page.wait_for_function(
                "() => document.querySelector('[data-testid=\"stSidebar\"]').innerText.includes('EMEA')",
                timeout=30_000,
            )  # the link's filter reached the frame's sidebar
            sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
            assert "Filters" in sidebar and "Counting rules" in sidebar
            width = page.evaluate(
                "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]').clientWidth"
            )
            assert width > 900, f"narrow layout: the main block is {width} px wide"
            full_screenshot(page, ARTIFACTS / "teams-first-request.png", width=1440)
        finally:
            page.close()


def measure(db: Path, rounds: int = 2) -> list[tuple[str, float, float]]:
    """(page, cold seconds, warm seconds) for each page on a fresh server over `db`.

    Cold: the first visit after the server started (nothing cached). Warm: the best of
    `rounds` reloads (results cached for these filters)."""
    out = []
    with streamlit_server(db, timeout=120) as url, chromium() as browser:
        for url_path, file in PAGES:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            cold = open_page(page, f"{url}/{url_path}")
            warm = min(open_page(page, f"{url}/{url_path}") for _ in range(rounds))
            if page.locator(ERRORS).count():
                print(f"warning: {file} shows an error", file=sys.stderr)
            page.close()
            out.append((file, cold, warm))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.test_browser", description="Page load times")
    parser.add_argument("--db", type=Path, required=True, help="store to serve (opened read-only)")
    parser.add_argument(
        "--readme-screenshot",
        action="store_true",
        help="also write docs/screenshots/health.png (the README's picture) from this store",
    )
    args = parser.parse_args(argv)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if args.readme_screenshot:
        # Tests never write tracked files: the README's picture is made on purpose, here.
        with streamlit_server(args.db) as url, chromium() as browser:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            open_page(page, url)
            page.wait_for_selector(FUNNEL_CHART, timeout=30_000)
            full_screenshot(page, ARTIFACTS / "health.png")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / "health.png", SCREENSHOTS / "health.png")
    print(f"store: {args.db}")
    print(f"{'page':28} {'cold s':>7} {'warm s':>7}")
    for file, cold, warm in measure(args.db):
        print(f"{file:28} {cold:7.2f} {warm:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
