"""The self-contained HTML report builder."""

from __future__ import annotations

import base64

import pandas as pd

from megapod.report.html import HtmlReport, new_figure


def build() -> str:
    report = HtmlReport("Plan <test>", subtitle="austin-tx")
    s = report.section("Summary", "First paragraph & more.")
    s.highlight("GPUs", "16,384")
    s.table(["item", "USD", "count"], [["GPUs", 1.25e9, 16384], ["<script>", 3.5, 2]], title="Capex")
    s.dataframe(pd.DataFrame({"a_w": [1.0, 2.5], "b": ["x", "y"]}), title="Frame")
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 3, 2])
    s.figure("A line", fig, caption="three points")
    s.note("source: test")
    return report.render()


def test_render_is_self_contained_and_escaped() -> None:
    page = build()
    assert page.startswith("<!DOCTYPE html>")
    assert "Plan &lt;test&gt;" in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "http://" not in page and "https://" not in page  # no external resources
    assert "1.25e+09" in page and "16,384" in page
    start = page.index("data:image/png;base64,") + len("data:image/png;base64,")
    png = base64.b64decode(page[start:page.index('"', start)])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<caption>Frame</caption>" in page and "2.5" in page


def test_render_is_deterministic_without_figures() -> None:
    a = HtmlReport("x")
    a.section("s").table(["k"], [[1]])
    b = HtmlReport("x")
    b.section("s").table(["k"], [[1]])
    assert a.render() == b.render()
