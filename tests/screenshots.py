"""Screenshots of every page at the two widths people use (1440×900 and 1280×800), for looking at.

    .venv/bin/python -m tests.screenshots --db /tmp/sample.duckdb --out tests/artifacts/after

Each page is opened on a fresh server (so the first request of each is a cold one, as a shared
link would be), waited for until its script finished, and saved as <page>-<width>.png (the whole
page: Streamlit scrolls inside its main block, so the viewport is grown to the content first).
The browser test (tests/test_browser.py) takes the same screenshots and checks the tables.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests import test_browser as tb

WIDTHS = ((1440, 900), (1280, 800))


def shoot(db: Path, out: Path, pages: list[tuple[str, str]] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tb.streamlit_server(db, timeout=120) as url, tb.chromium() as browser:
        for url_path, file in pages or tb.PAGES:
            name = Path(file).stem
            for width, height in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": height})
                try:
                    tb.open_page(page, f"{url}/{url_path}")
                    path = out / f"{name}-{width}.png"
                    tb.full_screenshot(page, path, width=width)
                    written.append(path)
                finally:
                    page.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.screenshots", description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=tb.ARTIFACTS / "screens")
    args = parser.parse_args(argv)
    for path in shoot(args.db, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
