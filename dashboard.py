"""Handoff: the frame around every page. `streamlit run dashboard.py`.

Page config, first-start sample build, st.navigation over the planned pages (each one only
once its file exists, so a new page appears without editing this file), the global filters the
chosen page uses in the sidebar, then the chosen page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from queries import executor
from ui import auth, filters, frame, warm

HERE = Path(__file__).parent

# (file, title, icon) in menu order; the first existing one is the default page.
PLANNED_PAGES = (
    ("pages/health.py", "Funnel health", ":material/monitor_heart:"),
    ("pages/teams.py", "Teams and handoff", ":material/handshake:"),
    ("pages/targets.py", "Targets", ":material/flag:"),
    ("pages/weekly.py", "Weekly meeting", ":material/event_note:"),
    ("pages/pipeline.py", "Pipeline", ":material/waterfall_chart:"),
    ("pages/content.py", "Content", ":material/article:"),
    # Not pages/data.py: a page file named like the `data` package could shadow it on import.
    ("pages/data_admin.py", "Data", ":material/upload_file:"),
    ("pages/definitions.py", "Definitions", ":material/menu_book:"),
)

st.set_page_config(page_title="Handoff", page_icon=":material/filter_alt:", layout="wide")
# Once per server process: compute the meeting pages' date presets in the background now and
# after every import (ui/warm.py). Nothing is shown, so it need not wait for sign-in.
warm.start()

existing = [p for p in PLANNED_PAGES if (HERE / p[0]).exists()]
pages = [
    st.Page(path, title=title, icon=icon, default=(i == 0)) for i, (path, title, icon) in enumerate(existing)
]
files = {p.url_path: path for p, (path, _, _) in zip(pages, existing, strict=True)}
if not pages:
    st.error("No pages found in pages/: the installation is incomplete.")
    st.stop()
# With sign-in configured (ui/auth.py), the menu is hidden and the run stops here, before any
# query, until an allowed user has signed in.
page = st.navigation(pages, position="sidebar" if auth.signed_in() else "hidden")
auth.require_sign_in()

with frame.friendly_errors():
    frame.ensure_store()
    # Every query of this run reads the store version that is live now, even if an import
    # swaps in a new one halfway: a page never shows numbers from two versions.
    executor.pin()
    # Only the filters this page uses are drawn (ui/filters.PAGE_FILTERS); the rest keep their
    # values for the pages that use them, and the sidebar says so once.
    filters.render(*filters.page_filters(files.get(page.url_path)))
    frame.sample_note()
    page.run()
