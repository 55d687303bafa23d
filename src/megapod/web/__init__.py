"""The browser face of megapod: one look and one set of charts for reports and the dashboard.

Static reports are single self-contained HTML files (plotly.js inlined, no network needed);
the live dashboard (:mod:`megapod.web.dashboard`) is mounted on the control plane's app.

Build a page of charts and tables::

    from megapod import web

    chart = web.line_chart("Site power", t_h, {"facility": p_mw}, x=web.Axis("time", "h"),
                           y=web.Axis("power", "MW"))
    html = web.report_page("Sweep", {"Results": [chart, web.table(["run", "cost"], rows)]})

Importing this package is cheap: it pulls no numpy, pandas or plotly Python code.
"""

from __future__ import annotations

from megapod.web.charts import Axis, Chart, Series, bar_chart, line_chart, scatter_chart
from megapod.web.page import Page, Section, Table, report_page, table

__all__ = [
    "Axis",
    "Chart",
    "Page",
    "Section",
    "Series",
    "Table",
    "bar_chart",
    "line_chart",
    "report_page",
    "scatter_chart",
    "table",
]
