"""Chart specs, page building and the dashboard's routes, without a browser."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest
from tests.conftest import REPO

from megapod import web
from megapod.report.format import number


def test_line_chart_spec_rounds_and_gaps() -> None:
    chart = web.line_chart(
        "Power",
        np.array([0.0, 1.0, 2.0]),
        {"facility": np.array([1.23456789, math.nan, math.inf])},
        x_axis=web.Axis("time", "h"),
        y_axis=web.Axis("power", "MW", decimals=2),
        y2={"outdoor": [10, 11, 12]},
        y2_axis=web.Axis("outdoor", "°C"),
    )
    spec = chart.to_spec()
    assert spec["kind"] == "line" and spec["y"] == {
        "title": "power",
        "unit": "MW",
        "log": False,
        "decimals": 2,
    }
    facility, outdoor = spec["series"]
    assert facility["x"] == [0, 1, 2] and facility["y"] == [1.23457, None, None]
    assert outdoor["axis"] == "y2" and spec["y2"]["unit"] == "°C"
    json.dumps(spec, allow_nan=False)  # always valid JSON


def test_series_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="3 x values but 2 y values"):
        web.Series("s", [1, 2, 3], [1, 2]).to_spec()
    with pytest.raises(ValueError, match="y2_axis"):
        web.line_chart("c", [1], {"a": [1]}, x_axis=web.Axis("x"), y_axis=web.Axis("y"), y2={"b": [2]})


def test_bar_and_scatter_specs() -> None:
    bars = web.bar_chart(
        "Cost", ["GPUs", "network"], {"cost": [25.9, 2.7]}, value_axis=web.Axis("cost", "USD M")
    )
    spec = bars.to_spec()
    assert spec["kind"] == "hbar" and spec["series"][0]["y"] == ["GPUs", "network"]
    assert spec["x"]["unit"] == "USD M"
    points = web.scatter_chart(
        "Front",
        {"designs": ([1, 2], [3, 4])},
        x_axis=web.Axis("cost"),
        y_axis=web.Axis("days"),
        labels={"designs": ["a", "b"]},
    )
    assert points.to_spec()["series"][0]["text"] == ["a", "b"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.25e9, "1,250,000,000"),
        (3.5, "3.5"),
        (0.000123456, "0.0001235"),
        (1234.5678, "1,235"),
        (0.0, "0"),
        (-0.5, "-0.5"),
        (math.inf, "∞"),
    ],
)
def test_numbers_have_no_exponent(value: float, text: str) -> None:
    assert number(value) == text


def test_report_page_for_other_reports() -> None:
    chart = web.scatter_chart(
        "Front </script>", {"d": ([1], [2])}, x_axis=web.Axis("x"), y_axis=web.Axis("y")
    )
    html = web.report_page(
        "Sweep <1>",
        {"Results": ["A paragraph.", chart, web.table(["design", "cost"], [["a", 1.5e9]])]},
        subtitle="3 axes",
    )
    assert html.startswith("<!doctype html>") and "Sweep &lt;1&gt;" in html
    assert "1,500,000,000" in html and "A paragraph." in html
    data = re.search(r'<script type="application/json" id="mp-chart-data">(.*?)</script>', html, re.S)
    assert data is not None
    (spec,) = json.loads(data.group(1))
    assert spec["title"] == "Front </script>"  # kept as data, and cannot close the script element


def test_importing_the_web_package_is_cheap() -> None:
    code = (
        "import sys, megapod.web, megapod.web.page\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'plotly', 'matplotlib', 'fastapi') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_dashboard_routes() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from megapod.web import assets, dashboard

    app = FastAPI()
    dashboard.mount(app)
    client = TestClient(app)
    page = client.get("/")
    assert page.status_code == 200 and 'data-session="none"' in page.text
    assert 'data-static="/ui"' in page.text and "megapodCharts" in page.text and "{{" not in page.text
    client.cookies.set(dashboard.SESSION_COOKIE, "x")
    assert 'data-session="cookie"' in client.get("/").text
    js = client.get("/ui/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "max-age" in js.headers["cache-control"] and len(js.content) > 1_000_000
    assert client.get("/ui/dashboard.css").headers["content-type"].startswith("text/css")
    # the dashboard's scripts, each served as a file and inlined in the page in the order they run
    starts = []
    for name in assets.DASHBOARD_SCRIPTS:
        script = client.get(f"/ui/{name}")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        starts.append(page.text.index(script.text[:200]))
    assert starts == sorted(starts)
    assert client.get("/ui/secret.txt").status_code == 404
    assert client.get("/ui/..%2Fassets.py").status_code == 404
    assert "/ui/plotly.min.js" not in json.dumps(app.openapi())
