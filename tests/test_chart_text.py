"""Chart text from the data (stage names an export brings) is escaped wherever plotly draws it:
axis labels and hover text read as text, never as markup."""

from __future__ import annotations

import pandas as pd

from reports.format import esc
from ui import charts

HOSTILE = "<img src=x onerror=alert(1)>Propuesta"


def test_days_in_stage_chart_escapes_stage_names():
    df = pd.DataFrame(
        [
            # One stage with ended visits: median 4, p75 6, p90 9 days; 5 visits, 1 still open.
            {
                "label": HOSTILE,
                "median_days": 4.0,
                "p75_days": 6.0,
                "p90_days": 9.0,
                "n_visits": 5,
                "n_current": 1,
            }
        ]
    )
    fig = charts.stage_days_figure(df, "Days in each stage")
    band, median = fig.data
    assert list(band.y) == list(median.y) == [esc(HOSTILE)]
    assert "<img" not in band.hovertext[0] and "<img" not in median.hovertext[0]
    assert median.hovertext[0].endswith("Median: 4.0 days<br>Visits ended: 4")  # 5 visits - 1 open
    assert list(band.x) == [3.0] and list(band.base) == [6.0]  # the p75–p90 band: 9 - 6 from 6
