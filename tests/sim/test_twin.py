"""The twin end to end: determinism, conservation, Llama 3 failure statistics, outages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from megapod.sim.twin import simulate
from megapod.spec import load_site
from megapod.spec.scenario import Scenario, load_scenario

from .scenario_factory import small_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_same_seed_identical_results_other_seed_differs() -> None:
    a = simulate(small_scenario(failures=True, seed=5))
    b = simulate(small_scenario(failures=True, seed=5))
    c = simulate(small_scenario(failures=True, seed=6))
    pd.testing.assert_frame_equal(a.jobs, b.jobs)
    pd.testing.assert_frame_equal(a.series, b.series)
    assert a.summary == b.summary
    assert not a.jobs["submit_s"].equals(c.jobs["submit_s"])


def test_gpu_seconds_and_energy_are_conserved_under_failures_and_outage() -> None:
    sc = small_scenario(failures=True, outage_at_s=2 * 86400.0, outage_s=6 * 3600.0, pretrain_gpus=288)
    res = simulate(sc)
    s = res.summary
    total_h = s["gpus"] * sc.horizon_s / 3600
    assert s["busy_gpu_h"] + s["idle_gpu_h"] + s["failed_gpu_h"] + s["down_gpu_h"] == pytest.approx(
        total_h, rel=1e-9
    )
    assert s["down_gpu_h"] > 0  # a 6 h outage outlasts the 3.85 MWh battery at this load
    assert s["blackouts"] == 1
    j = res.jobs
    assert (j["useful_gpu_h"] + j["checkpoint_gpu_h"] + j["lost_gpu_h"]).sum() == pytest.approx(
        j["busy_gpu_h"].sum()
    )
    assert j["busy_gpu_h"].sum() == pytest.approx(s["busy_gpu_h"], rel=1e-9)
    # facility energy = IT + electrical losses + cooling (bin by bin)
    ts = res.series
    assert s["energy_balance_error"] < 1e-12
    assert (ts["facility_power_w"] >= ts["it_power_w"]).all()
    assert ts["battery_soc"].between(0, 1).all()


def test_llama3_interruptions_and_effective_training_time() -> None:
    """Meta, Llama 3 (arXiv:2407.21783) §3.3.4: 419 unexpected interruptions in 54 days on
    16,384 H100, effective training time above 90%."""
    site = load_site(EXAMPLES / "cortex.yaml")
    site = site.model_copy(update={"pods": [site.pods[0].model_copy(update={"count": 17})]})
    sc = Scenario.model_validate(
        {
            "name": "llama3",
            "site": site,
            "horizon_s": 54 * 86400.0,
            "seed": 1,
            "workload": {"pretraining": [{"name": "llama3-405b", "gpus": 16384, "work_s": 100 * 86400}]},
            "policies": {"checkpoint": {"policy": "young-daly", "write_s": 30, "restart_s": 300}},
            "weather": {"enabled": False},
        }
    )
    job = simulate(sc).jobs.iloc[0]
    assert 419 * 0.85 < job["interruptions"] < 419 * 1.15
    effective = job["useful_gpu_h"] / (16384 * 54 * 24)
    assert 0.88 < effective < 0.95


def test_outage_aware_saves_goodput() -> None:
    """A 6 h outage the battery cannot carry: checkpointing and shedding at once keeps the work
    that doing nothing loses when the battery runs out."""
    kw = {
        "outage_at_s": 1.5 * 86400.0,
        "outage_s": 6 * 3600.0,
        "pretrain_gpus": 432,
        "horizon_s": 2.5 * 86400.0,
    }
    none = simulate(small_scenario(outage="none", **kw)).summary
    aware = simulate(small_scenario(outage="outage-aware", **kw)).summary
    assert none["blackouts"] == 1
    assert aware["lost_gpu_h"] < none["lost_gpu_h"]
    assert aware["goodput"] > none["goodput"]


def test_power_cap_limits_admission() -> None:
    base = small_scenario(rate_per_s=0.01)
    capped = base.model_copy(update={"policies": base.policies.model_copy(update={"power_cap_w": 500_000.0})})
    a, b = simulate(base).summary, simulate(capped).summary
    assert b["utilization"] < a["utilization"]
    assert b["queue_mean_s"] > a["queue_mean_s"]


def test_example_scenarios_load() -> None:
    for path in sorted((EXAMPLES / "scenarios").glob("*.yaml")):
        if "philly" in path.name and not (EXAMPLES.parents[1] / "shared").is_dir():
            continue
        assert load_scenario(path).horizon_s > 0


def test_megapod_week_runs() -> None:
    res = simulate(load_scenario(EXAMPLES / "scenarios" / "megapod_week.yaml"))
    s = res.summary
    assert s["grid_events"] == 1 and s["blackouts"] == 0  # 45 min on one Megapack: carried
    assert 0.3 < s["utilization"] <= 1.0
    assert 1.0 < s["mean_pue"] < 1.5
    assert len(res.series) == 7 * 96
