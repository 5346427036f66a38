"""Where fired alerts go, and the check after every import.

The webhook URL is configuration, never in the repository: the environment variable
HANDOFF_ALERT_WEBHOOK, else `webhook_url` under `[alerts]` in `.streamlit/secrets.toml` (the
working directory's, then the one beside this checkout). The check itself is
`python -m reports.alerts --db PATH --post` (reports/alerts.py); after an import that changed the
store, `after_import()` starts it as a process of its own and returns at once, so a webhook that
is slow, failing or unreachable never holds up an import (that process retries and logs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ENV_URL = "HANDOFF_ALERT_WEBHOOK"
ROOT = Path(__file__).resolve().parents[1]


def secrets_files() -> list[Path]:
    return [Path.cwd() / ".streamlit" / "secrets.toml", ROOT / ".streamlit" / "secrets.toml"]


def webhook_url() -> str | None:
    """The configured webhook (http or https), or None when alerts go nowhere but the pages."""
    url = os.environ.get(ENV_URL, "").strip()
    if not url:
        for path in secrets_files():
            try:
                section = tomllib.loads(path.read_text(encoding="utf-8")).get("alerts", {})
            except (OSError, tomllib.TOMLDecodeError):
                continue
            if isinstance(section, dict) and isinstance(section.get("webhook_url"), str):
                url = section["webhook_url"].strip()
                break
    return url if url.startswith(("http://", "https://")) else None


def log_path(db: Path) -> Path:
    """The alerts' log beside the store: one JSON line per check, post attempt and failure."""
    db = Path(db)
    return db.with_name(f"{db.stem}.alerts.log")


def after_import(db: Path) -> subprocess.Popen | None:
    """Start the alert check for the store at `db` in its own process, when a webhook is
    configured (without one the pages show the alerts and nothing needs posting). Never waits
    for it and never raises: an import is done whatever the webhook does."""
    if webhook_url() is None:
        return None
    try:
        with log_path(db).open("a", encoding="utf-8") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "reports.alerts", "--db", str(db), "--post", "--quiet"],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
    except OSError:
        return None
