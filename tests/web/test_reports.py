"""Every static report opens offline in a real browser with its charts drawn and no errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.conftest import EXAMPLES

#: Reads each chart element: traces, points per trace, drawn SVG and the axes' tick labels.
PROBE = """() => Array.from(document.querySelectorAll('.mp-chart')).map(el => ({
    traces: (el.data || []).length,
    points: (el.data || []).map(t => (t.x || []).length),
    svg: el.querySelectorAll('svg.main-svg').length,
    paths: el.querySelectorAll('g.trace path, g.trace rect, g.points path').length,
    ticks: Array.from(el.querySelectorAll('.xtick text, .ytick text, .y2tick text')).map(t => t.textContent),
    width: el.getBoundingClientRect().width,
    legendTop: el.querySelector('g.legend') ? el.querySelector('g.legend').getBoundingClientRect().bottom : null,
    plotTop: el.querySelector('.draglayer .nsewdrag') ? el.querySelector('.draglayer .nsewdrag').getBoundingClientRect().top : null,
}))"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """The three static reports written to files: name → (path, number of charts expected)."""
    from megapod.planner.plan import plan_training
    from megapod.report.plan_report import html_report
    from megapod.report.power_profile_report import render_html
    from megapod.report.sim_report import render_sim_report
    from megapod.sim.power_profile import run_power_profile
    from megapod.sim.twin import Twin
    from megapod.spec import load_site
    from megapod.spec.goal import TrainingGoal
    from megapod.spec.scenario import load_scenario

    out = tmp_path_factory.mktemp("reports")
    plan = plan_training(load_site(EXAMPLES / "megapod.yaml"), TrainingGoal(model="llama3-8b", tokens=1e12))
    power = load_scenario(EXAMPLES / "scenarios" / "megapod_power.yaml")
    assert power.power_profile is not None
    profile = run_power_profile(power.site, power.power_profile, power.seed, power.name)
    week = Twin(load_scenario(EXAMPLES / "scenarios" / "megapod_week.yaml")).run()
    pages = {
        "plan": (html_report(plan), 4),
        "power-profile": (render_html(profile), 6),
        "simulate": (render_sim_report(week), 4),
    }
    files = {}
    for name, (html, charts) in pages.items():
        path = out / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        files[name] = (path, charts)
    return files


def settle(page: Any) -> None:
    """Wait until the browser has laid the page out (two animation frames after the charts)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(200)


def check_hover_with_units(page: Any, chart: int, words: tuple[str, ...]) -> None:
    """Hovering the middle of ``chart`` shows its series' values with their unit."""
    target = page.locator(f"[data-chart='{chart}'] .nsewdrag").first
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    layer = f"[data-chart='{chart}'] .hoverlayer"
    page.wait_for_selector(f"{layer} .legend text, {layer} .hovertext", timeout=5_000)
    hover = page.locator(layer).text_content() or ""
    for word in words:
        assert word in hover, (word, hover)


def check_drag_zooms(page: Any, chart: int) -> None:
    """Dragging across ``chart`` zooms its x axis in."""
    sel = f"[data-chart='{chart}']"
    before = page.evaluate(f'() => document.querySelector("{sel}")._fullLayout.xaxis.range.slice()')
    target = page.locator(f"{sel} .nsewdrag").first
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    page.mouse.up()
    page.wait_for_function(
        f'w => {{ const r = document.querySelector("{sel}")._fullLayout.xaxis.range; return r[1] - r[0] < w; }}',
        arg=(before[1] - before[0]) * 0.5,
        timeout=5_000,
    )


@pytest.mark.parametrize("name", ["plan", "power-profile", "simulate"])
def test_report_draws_its_charts_offline(
    name: str, watched_page: Any, reports: dict[str, tuple[Path, int]]
) -> None:
    path, expected = reports[name]
    watched_page.block_network()
    page = watched_page.page
    page.goto(path.as_uri())
    page.wait_for_function(
        "n => document.querySelectorAll('.mp-chart svg.main-svg').length >= n", arg=expected, timeout=20_000
    )
    settle(page)
    charts = page.evaluate(PROBE)
    assert len(charts) == expected
    for i, chart in enumerate(charts):
        assert chart["svg"] >= 1, (i, chart)
        assert chart["traces"] >= 1 and max(chart["points"]) >= 1, (i, chart)
        assert chart["paths"] >= 1, (i, chart)  # the traces were drawn, not only the axes
        assert chart["width"] > 300, (i, chart)  # not clipped to nothing
        assert chart["ticks"], (i, chart)
        for tick in chart["ticks"]:  # no scientific notation where people read numbers
            assert "e+" not in tick and "e-" not in tick and "×10" not in tick, (i, tick)
        if chart["legendTop"] is not None and chart["plotTop"] is not None:
            assert chart["legendTop"] <= chart["plotTop"] + 1, (i, chart)  # the legend sits above the data
    if name == "simulate":
        check_hover_with_units(page, 1, ("facility", " MW"))
    if name == "plan":
        check_hover_with_units(page, 0, ("facility", " MW"))
        check_drag_zooms(page, 0)
    assert watched_page.errors == []
    assert watched_page.external == []  # nothing was asked of the network


def test_a_series_flat_to_within_rounding_gets_an_axis_about_its_value(
    watched_page: Any, reports: dict[str, tuple[Path, int]], tmp_path: Path
) -> None:
    """Values a few ulps apart (a PUE of successive live states) are drawn on an axis about
    their value, with finite tick labels and no browser error; plotly's own range was ~1e-16
    wide and put the labels at Infinity."""
    path, _ = reports["plan"]  # any page that loads plotly and the house chart code
    watched_page.block_network()
    page = watched_page.page
    page.goto(path.as_uri())
    page.wait_for_function("() => window.Plotly && window.megapodCharts")
    box = page.evaluate(
        """() => {
            const el = document.createElement('div');
            el.style.width = '600px';
            document.body.appendChild(el);
            megapodCharts.render(el, { kind: 'line', title: 'PUE', height: 260,
                x: { title: 'sim time', unit: 'h' }, y: { title: 'PUE', unit: '' },
                series: [{ name: 'PUE', x: [0, 1, 2, 3], y: [1.132909214449416, 1.1329092144494157,
                                                       1.1329092144494157, 1.132909214449416] }] });
            return { range: el._fullLayout.yaxis.range,
                     ticks: Array.from(el.querySelectorAll('.ytick text')).map(t => t.textContent) };
        }"""
    )
    low, high = box["range"]
    assert low < 1.1329 < high and high - low > 0.1
    assert box["ticks"] and all(t.strip() for t in box["ticks"])
    assert watched_page.errors == []
