"""``megapod power-profile``: table, JSON, HTML and PNG outputs; bad input exits 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import EXAMPLES

SCENARIO = EXAMPLES / "scenarios" / "megapod_power.yaml"
Cli = Callable[..., tuple[int, str, str]]


def test_json_document(cli: Cli) -> None:
    code, out, err = cli("power-profile", str(SCENARIO), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["job"]["gpus"] == 576 and doc["duration_s"] == 600.0
    names = [m["name"] for m in doc["mitigations"]]
    assert names == ["battery", "floor-80", "cap-80", "floor-60+battery"]
    base, battery = doc["baseline"], doc["mitigations"][0]
    assert battery["max_ramp_w_per_s"] <= 50e3 * (1 + 1e-6) < base["max_ramp_w_per_s"]
    assert battery["band_0p1_20hz_rms_w"] < base["band_0p1_20hz_rms_w"]
    assert doc["mitigations"][2]["cost"]["throughput_loss_fraction"] > 0  # the cap slows the step
    assert doc["battery_sizing"]["feasible"] is True


def test_table_html_and_png(cli: Cli, tmp_path: Path) -> None:
    html, png = tmp_path / "r.html", tmp_path / "r.png"
    code, out, err = cli("power-profile", str(SCENARIO), "--html", str(html), "--png", str(png))
    assert code == 0, err
    assert "baseline" in out and "Smallest battery" in out
    page = html.read_text()
    assert page.startswith("<!doctype html>") and page.count('class="mp-chart"') >= 5
    assert "Plotly.newPlot" in page and "Smallest battery" in page
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scenario_without_power_profile_exits_2(cli: Cli) -> None:
    code, _, err = cli("power-profile", str(EXAMPLES / "scenarios" / "megapod_week.yaml"))
    assert code == 2 and "power_profile" in err and "Traceback" not in err


def test_bad_strategy_parameter_exits_2(cli: Cli, tmp_path: Path) -> None:
    text = SCENARIO.read_text().replace("floor_fraction: 0.8", "floor_fraction: 1.8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("site: ../megapod.yaml", f"site: {EXAMPLES / 'megapod.yaml'}"))
    code, _, err = cli("power-profile", str(bad))
    assert code == 2 and "mitigations[1].steps[0].params" in err and "floor_fraction" in err
