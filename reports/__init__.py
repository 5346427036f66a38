"""The weekly one-page report: charts, HTML (self-contained, plotly.js inline) and Markdown.

No streamlit here: the page and the command line (`python -m reports.weekly`) both use it.
"""
