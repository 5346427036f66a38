"""Targets: each team's quotas and the shared targets, pacing, and the reverse waterfall planner.

Layout only: what is drawn comes from ui/targets_view.py (the numbers from queries/targets.py,
cached, and the plan arithmetic from queries/plan.py, so moving a what-if slider recomputes
without a query), the figures from ui/charts.py and the tables' headings from
ui/targets_tables.py. Edits go through ui/targets_edit.py to data/targets.py, which validates
them before anything is written.
"""

from __future__ import annotations

import streamlit as st

from data import targets as targets_mod
from queries import cache, contracts, executor, funnel, options
from queries import targets as qt
from ui import charts, tables
from ui import targets_edit as edit
from ui import targets_tables as tt
from ui import targets_view as tv
from ui.sections import section
from ui.state import current_filters, run_in_frame

run_in_frame()  # a link opened first on a freshly started server still runs in the frame

contract = contracts.current().effective()
filters = current_filters()
# Each section below is drawn once per (as-of date, choices, what-if values, store version and
# targets' version: a saved target is drawn at once, a saved note changes nothing here) and
# replayed for everyone else (ui/sections.py). The sidebar filters do not apply on this page: the
# targets are set for the whole company, so only the as-of date is read from them.
version = executor.store_version(edits=("targets",))
as_of = filters.as_of or cache.call(funnel.latest_event_at)
# Amounts carry their currency in their headings: " (USD)" when the store's won amounts are in one.
currencies = cache.call(options.currencies)
CURRENCY = tv.currency_suffix(currencies)

# Three lines of text, drawn directly: a section's lookup and replay would cost more than they do.
st.title("Targets")
st.caption(tv.title_caption(as_of))

# --- period and options -------------------------------------------------------------------------
months = list(cache.call(qt.periods)["period"])
if not months:
    st.info("No targets are set yet. Add the first one under **Edit targets** below, or import a CSV.")
# The period and look-back the page opens on (ui/targets_view.py, which the warm-up runs).
default_month, default_lookback = tv.defaults(months, as_of)
months = months or [default_month]

c1, c2, c3 = st.columns([2, 2, 3])
period = c1.selectbox(
    "Period",
    months,
    index=months.index(default_month),
    format_func=lambda d: f"{d:%B %Y}",
    key="targets-period",
)
lookback_months = c2.selectbox(
    "Learn rates from (look-back)",
    qt.LOOKBACK_MONTHS,
    index=qt.LOOKBACK_MONTHS.index(default_lookback),
    format_func=lambda m: f"{m} months of leads",
    key="targets-lookback",
    help="The plan uses the step rates, lags and deal size of the leads that started in these "
    "months, ending one conversion window before the as-of date so every lead has had its full "
    "window to convert.",
)
profile_name = c3.radio(
    "Pace within the month",
    tuple(tv.PROFILES),
    index=tuple(tv.PROFILES).index(tv.DEFAULT_PROFILE),
    horizontal=True,
    key="targets-profile",
)

lookback = qt.lookback(as_of, contract.horizon_days, lookback_months)
inputs = cache.call(qt.plan_inputs, lookback)
deal = cache.call(qt.deal_size, lookback)
controls = tv.controls(inputs, deal, CURRENCY)

# --- what-if state: one slider per step rate and lag, one for deal size ---------------------
# Keys carry the look-back so a different window starts from its own observed values.
sig = f"{lookback.start:%Y%m%d}-{lookback.end:%Y%m%d}"
rate_keys = {s.stage: f"wf-rate-{s.stage}-{sig}" for s in controls.steps}
lag_keys = {s.stage: f"wf-lag-{s.stage}-{sig}" for s in controls.steps}
deal_key = f"wf-deal-{sig}"


def observed_values() -> dict[str, float]:
    deal_size, rates, lags = qt.observed_what_if(inputs, deal)
    return {
        deal_key: deal_size,
        **{rate_keys[k]: v for k, v in rates},
        **{lag_keys[k]: v for k, v in lags},
    }


def reset_to_observed() -> None:
    st.session_state.update(observed_values())


for key, value in observed_values().items():
    st.session_state.setdefault(key, value)

# The what-if values the plan is drawn from (the sliders further down write them): part of the
# keys of the sections that draw the plan.
what_if = (
    st.session_state[deal_key],
    tuple((k, st.session_state[v]) for k, v in rate_keys.items()),
    tuple((k, st.session_state[v]) for k, v in lag_keys.items()),
)
_views: dict = {}


def page_view(period, as_of, profile_name, lookback, what_if) -> tv.TargetsView:
    """The view for these choices, gathered once per run (only a section that is drawn asks)."""
    key = (period, as_of, profile_name, repr(lookback), what_if)
    if key not in _views:
        _views[key] = tv.view(period, as_of, profile_name, lookback, what_if, contract, run=cache.call)
    return _views[key]


def figures(items: list[tv.Figure]) -> None:
    """Headline figures side by side, one column each."""
    for col, f in zip(st.columns(len(items)), items, strict=True):
        col.metric(f.label, f.value, delta=f.delta, help=f.help)


# --- attainment and pacing ------------------------------------------------------------------
@section
def attainment(period, as_of, profile_name, lookback, what_if, version):
    """Pacing of every target of the month: headline figures, chart and table; returns the table."""
    v = page_view(period, as_of, profile_name, lookback, what_if)
    st.header(v.pacing_heading)
    figures(v.pacing_figures)
    if v.currency_warning:
        st.warning(v.currency_warning, icon=":material/currency_exchange:")
    st.caption(v.pacing_caption)
    st.plotly_chart(
        charts.attainment_figure(v.pacing_chart, v.share, f"Attainment against pace, {period:%B %Y}"),
        width="stretch",
    )
    tables.show(
        v.pacing_table,
        hide_index=True,
        fit=True,
        raw=True,  # formatted by the view: every count and amount localized, missing gaps blank
        column_order=tt.PACING_ORDER,
        column_config=tt.pacing_config(currencies[0] if CURRENCY else ""),
    )
    return v.pacing


pacing = attainment(period, as_of, profile_name, lookback, what_if, version)
tables.download(pacing, f"pacing-{period:%Y-%m}.csv")


# --- reverse waterfall ------------------------------------------------------------------------
@section
def waterfall_intro(lookback, version) -> None:
    """What the plan learns from (the look-back cohort), warned when it has few won deals."""
    # Its parts depend on the look-back alone: the other choices are read as they stand.
    v = page_view(period, as_of, profile_name, lookback, what_if)
    st.header(v.intro_heading)
    st.caption(v.intro_caption)
    if v.small_deals_warning:
        st.warning(v.small_deals_warning)


waterfall_intro(lookback, version)

with st.expander("What-if: step rates, deal size and lags (start at the observed values)", expanded=True):
    st.button("Reset to observed", on_click=reset_to_observed, key="wf-reset", icon=":material/restart_alt:")
    st.slider(
        controls.deal_label,
        0.0,
        controls.deal_max,
        step=100.0,
        format=tt.NUMBER,
        key=deal_key,
        help=controls.deal_help,
    )
    st.caption(controls.deal_help)
    for s in controls.steps:
        rc, lc = st.columns(2)
        rc.slider(s.rate_label, 0.0, 100.0, step=0.1, format="%.1f%%", key=rate_keys[s.stage])
        rc.caption(s.rate_help)
        lc.slider(s.lag_label, 0.0, qt.MAX_LAG_DAYS, step=0.5, format="%.1f days", key=lag_keys[s.stage])
        lc.caption(s.lag_help)


@section
def waterfall(period, lookback, what_if, version):
    """The plan: its figures, each team's verdict, the gap chart and the stage table; returns the
    table for the download (None when the plan cannot be computed, with the reason shown)."""
    # The plan's parts do not depend on the pace profile, and the as-of is the look-back's.
    v = page_view(period, as_of, profile_name, lookback, what_if)
    if v.plan_error:
        st.warning(f"The plan cannot be computed: {v.plan_error}", icon=":material/error:")
        return None
    figures(v.plan_figures)
    for m in v.verdicts:
        (st.warning if m.kind == "warning" else st.success)(m.text, icon=m.icon)
    figures(v.gap_figures)
    st.plotly_chart(charts.entries_figure(v.waterfall_chart, v.waterfall_title), width="stretch")
    if v.early_info:
        st.info(v.early_info)
    st.dataframe(
        v.waterfall_table,
        hide_index=True,
        width="stretch",
        column_order=tt.WATERFALL_ORDER,
        column_config=tt.waterfall_config(),
    )
    return v.waterfall


@section
def quota_check(period, lookback, what_if, version):
    """Each quota against what the shared revenue target needs of it; returns the table."""
    v = page_view(period, as_of, profile_name, lookback, what_if)
    st.subheader("Quotas against the shared revenue target")
    st.dataframe(
        v.checks_table,
        hide_index=True,
        width="stretch",
        column_order=tt.CHECKS_ORDER,
        column_config=tt.checks_config(),
    )
    st.caption(v.checks_caption)
    return v.checks


wf = waterfall(period, lookback, what_if, version)
if wf is not None:
    tables.download(wf, f"reverse-waterfall-{period:%Y-%m}.csv")
    ct = quota_check(period, lookback, what_if, version)
    tables.download(ct, f"quota-check-{period:%Y-%m}.csv")

# --- edit targets -----------------------------------------------------------------------------
st.header("Edit targets")
form_months = qt.edit_months(months, as_of)

message = st.session_state.pop(edit.MESSAGE_KEY, None)
if message:
    (st.error if message[0] == "error" else st.success)(message[1])
    if len(message) > 2:
        st.text(message[2])

fc, ic = st.columns(2)
with fc, st.form("target-form"):
    st.markdown("**Set one target**")
    st.selectbox(
        "Month",
        form_months,
        index=form_months.index(period),
        format_func=lambda d: f"{d:%B %Y}",
        key="tf-period",
    )
    st.selectbox("Target", tv.target_choices(), format_func=lambda c: tv.target_name(*c), key="tf-choice")
    st.number_input("Value", value=0.0, step=1.0, format="%.0f", key="tf-value")
    st.text_input("Your name (recorded in the history)", max_chars=targets_mod.MAX_NAME, key="tf-by")
    st.form_submit_button("Save target", on_click=edit.save_target)
with ic, st.form("target-import"):
    st.markdown("**Import targets from CSV**")
    st.caption(
        "Columns period,team,metric,value; period as 2026-10 or 2026-10-01. Every row is checked "
        "first: one bad row refuses the whole file and nothing is written."
    )
    st.file_uploader("CSV file", type=["csv"], key="tf-csv")
    st.text_input("Your name (recorded in the history)", max_chars=targets_mod.MAX_NAME, key="tf-csv-by")
    st.form_submit_button("Import", on_click=edit.import_targets)
with ic:
    # This month's targets in the import format: a template to edit and upload again.
    tables.download(
        lambda period=period: cache.call(qt.targets_for, period)[["period", "team", "metric", "value"]],
        f"targets-{period:%Y-%m}.csv",
        label="Download this month's targets as a CSV template",
        key="targets-template",
    )


@section
def history(period, version) -> bool:
    """Target changes of the month (every month when `period` is None); returns whether any."""
    hist = cache.call(qt.history, period)
    if hist.empty:
        st.caption("No changes recorded for this month.")
    else:
        st.dataframe(
            tv.history_table(hist), hide_index=True, width="stretch", column_config=tt.history_config()
        )
    return not hist.empty


st.subheader("History of target changes")
all_periods = st.toggle("All months", value=False, key="targets-history-all")
history_period = None if all_periods else period
if history(history_period, version):
    tables.download(lambda p=history_period: cache.call(qt.history, p), "target-history.csv")
