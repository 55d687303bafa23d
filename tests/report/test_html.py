"""The self-contained HTML report builder."""

from __future__ import annotations

import json
import re

import pandas as pd

from megapod.web import Axis, Page, line_chart


def build() -> str:
    report = Page("Plan <test>", subtitle="austin-tx")
    s = report.section("Summary", "First paragraph & more.")
    s.highlight("GPUs", "16,384")
    s.table(["item", "USD", "count"], [["GPUs", 1.25e9, 16384], ["<script>", 3.5, 2]], title="Capex")
    s.dataframe(pd.DataFrame({"a_w": [1.0, 2.5], "b": ["x", "y"]}), title="Frame")
    s.chart(
        line_chart(
            "A line",
            [0, 1, 2],
            {"y": [1, 3, 2]},
            x_axis=Axis("t", "s"),
            y_axis=Axis("power", "W"),
            caption="three points",
        )
    )
    s.note("source: test")
    return report.render()


def chart_specs(page: str) -> list[dict]:  # type: ignore[type-arg]
    match = re.search(r'<script type="application/json" id="mp-chart-data">(.*?)</script>', page, re.S)
    assert match is not None
    specs: list[dict] = json.loads(match.group(1))  # type: ignore[type-arg]
    return specs


def test_render_is_self_contained_and_escaped() -> None:
    page = build()
    assert page.startswith("<!doctype html>")
    assert "Plan &lt;test&gt;" in page
    assert "&lt;script&gt;" in page and "<script>&lt;" not in page
    markup = re.sub(r"<script[^>]*>.*?</script>", "<script></script>", page, flags=re.S)
    assert "http://" not in markup and "https://" not in markup  # no external resources
    assert "<script src" not in page and "<link" not in page
    assert "1,250,000,000" in page and "16,384" in page and "e+09" not in page
    assert "Plotly.newPlot" in page  # plotly.js is inlined
    (spec,) = chart_specs(page)
    assert spec["title"] == "A line" and spec["y"]["unit"] == "W"
    assert spec["series"][0]["y"] == [1, 3, 2]
    assert page.count('class="mp-chart"') == 1 and "three points" in page
    assert "<caption>Frame</caption>" in page and "2.5" in page


def test_render_is_deterministic() -> None:
    a = Page("x")
    a.section("s").table(["k"], [[1]])
    b = Page("x")
    b.section("s").table(["k"], [[1]])
    assert a.render() == b.render()
    assert "Plotly" not in a.render()  # a page without charts carries no chart library
