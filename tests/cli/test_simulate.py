"""``megapod simulate``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from megapod.cli.simulate import save
from megapod.sim.twin import simulate
from megapod.spec.scenario import load_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
WEEK = EXAMPLES / "scenarios" / "megapod_week.yaml"


def test_simulate_writes_tables_and_report(cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    code, out, err = cli("simulate", WEEK, "--out", tmp_path / "run")
    assert code == 0, err
    assert "utilization" in out and "JCT mean [s]" in out
    jobs = pd.read_parquet(tmp_path / "run" / "jobs.parquet")
    series = pd.read_parquet(tmp_path / "run" / "series.parquet")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    pods = pd.read_parquet(tmp_path / "run" / "pods.parquet")
    assert pods["busy_gpu_h"].sum() == pytest.approx(summary["busy_gpu_h"], rel=1e-9)
    assert {"submit_s", "start_s", "end_s", "queue_s", "jct_s", "interruptions", "lost_gpu_h"} <= set(
        jobs.columns
    )
    assert {
        "allocated_gpus",
        "it_power_w",
        "facility_power_w",
        "pue",
        "battery_soc",
        "price_usd_per_mwh",
        "carbon_kg_per_mwh",
    } <= set(series.columns)
    assert summary["jobs"] == len(jobs)
    html = (tmp_path / "run" / "report.html").read_text()
    assert html.count('class="mp-chart"') == 4 and "Plotly.newPlot" in html and "megapod-week" in html


def test_json_matches_the_library(cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _ = cli("simulate", WEEK, "--json", "--seed", "9")
    assert code == 0
    doc = json.loads(out)
    lib = simulate(load_scenario(WEEK).model_copy(update={"seed": 9})).summary
    assert doc["jobs"] == lib["jobs"] and doc["utilization"] == lib["utilization"]


def test_bad_scenario_is_one_line_exit_2(cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nsite: missing.yaml\nhorizon_s: 1 d\nworkload: {}\n")
    code, _, err = cli("simulate", p)
    assert code == 2 and err.count("\n") == 1 and "site" in err


def test_library_call_writes_nothing(tmp_path: Path) -> None:
    before = set(tmp_path.iterdir())
    res = simulate(load_scenario(WEEK))
    assert set(tmp_path.iterdir()) == before
    save(res, tmp_path / "out")
    assert (tmp_path / "out" / "summary.json").exists()
