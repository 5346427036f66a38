"""Shared page parts: filter state and downloads. Lives outside pages/ so Streamlit does not
list it as a page; pages and dashboard.py import it, queries/ never does."""
