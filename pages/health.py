"""Funnel health: the leadership view (placeholder while the page is built)."""

import streamlit as st

st.title("Funnel health")
