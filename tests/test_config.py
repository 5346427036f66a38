"""The deployment defaults in .streamlit/config.toml stay safe: a change that weakens one fails.

Each setting below protects a shared deployment (docs/deploy.md): no tracebacks with file paths
in the browser, cross-site requests and websockets refused, uploads bounded, nothing reported
to Streamlit's usage statistics.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".streamlit" / "config.toml"
MAX_UPLOAD_MB = 200  # the largest CRM export the Data page accepts in one file


@pytest.fixture(scope="module")
def config() -> dict:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def test_error_details_hidden(config):
    # "none": the browser gets a short message; "full" (and true) show paths and source lines.
    assert config["client"]["showErrorDetails"] == "none"


def test_xsrf_protection_on(config):
    assert config["server"]["enableXsrfProtection"] is True


def test_cors_protection_on(config):
    # enableCORS = true is the protected setting: only same-origin requests are served.
    assert config["server"]["enableCORS"] is True


def test_no_origins_opened(config):
    # An allow-list of other origins would reopen what CORS protection closes.
    assert not config["server"].get("corsAllowedOrigins")


@pytest.mark.parametrize("key", ["maxUploadSize", "maxMessageSize"])
def test_sizes_bounded(config, key):
    # Streamlit's defaults are 200 MB each; larger values let one visitor exhaust the memory.
    assert 0 < config["server"].get(key, 200) <= MAX_UPLOAD_MB


def test_tables_offer_no_export_of_their_own(config):
    # Streamlit's "Download as CSV" on st.dataframe (and copying cells) writes a CRM name like
    # =HYPERLINK(...) as it is, a live formula in a spreadsheet. Hidden for every table; each
    # table's own download button neutralises such cells (ui/tables.py safe_csv).
    assert config["client"]["disableDataExport"] is True


def test_usage_statistics_off(config):
    assert config["browser"]["gatherUsageStats"] is False


def test_no_development_switches(config):
    # Reloading on file changes and the developer toolbar belong on a laptop, not a server.
    assert config["server"].get("runOnSave", False) is False
    assert config["client"].get("toolbarMode", "auto") in ("minimal", "viewer")
    assert config.get("global", {}).get("developmentMode", False) is False


def test_streamlit_reads_the_same_values(monkeypatch):
    # The file parses as Streamlit parses it: the values above are the ones the server uses.
    from streamlit import config as st_config

    monkeypatch.chdir(ROOT)
    st_config.get_config_options(force_reparse=True)
    try:
        assert st_config.get_option("client.showErrorDetails") == "none"
        assert st_config.get_option("server.enableXsrfProtection") is True
        assert st_config.get_option("server.enableCORS") is True
        assert st_config.get_option("browser.gatherUsageStats") is False
        assert st_config.get_option("server.maxUploadSize") <= MAX_UPLOAD_MB
        assert st_config.get_option("client.disableDataExport") is True
    finally:
        st_config.get_config_options(force_reparse=True)


def test_secrets_never_committed():
    # secrets.toml holds the sign-in client secret and cookie key.
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".streamlit/secrets.toml" in ignored


def test_no_full_garbage_collection_after_every_run(config):
    # Streamlit's default collects all garbage after each script run; with a million leads'
    # results in memory that was half the server's CPU when the team clicked at once
    # (docs/deploy.md, section 8). Python's own collector still runs.
    assert config["runner"]["postScriptGC"] is False


def test_script_health_check_on_for_the_warm_up(config):
    # deploy/handoff.service and the Containerfile call /_stcore/script-health-check at start:
    # it runs the app once, which starts the cache warm-up (ui/warm.py).
    assert config["server"]["scriptHealthCheckEnabled"] is True
