"""The power-profile engine: scenario to waveforms, metrics and costs; seeded; sizing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.conftest import EXAMPLES

from megapod import catalog
from megapod.catalog.power import BatteryEntry
from megapod.errors import SpecError
from megapod.physics.battery import BatteryParams
from megapod.sim.power_profile import run_power_profile, size_battery, smooth_with_battery
from megapod.spec import load_site
from megapod.spec.loader import validate
from megapod.spec.power_profile import PowerProfileSpec
from megapod.spec.site import Site

PHASES = [
    {"name": "compute", "duration_s": 1.6, "utilization": 1.0},
    {"name": "exposed_comm", "duration_s": 0.4, "utilization": 0.15},
]


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(EXAMPLES / "megapod.yaml")


def spec(**over: Any) -> PowerProfileSpec:
    doc: dict[str, Any] = {
        "job": {"phases": PHASES, "jitter_s": 0.005},
        "timeline": {
            "duration_s": 60,
            "resolution_s": 0.001,
            "mtbf_s": 40,
            "restart_s": 5,
            "restart_ramp_s": 2,
        },
        "limits": {"max_ramp_w_per_s": "100 kW/s"},
        "mitigations": [
            {
                "name": "battery",
                "steps": [{"strategy": "battery_smoothing", "params": {"ramp_limit_w_per_s": "100 kW/s"}}],
            },
            {"name": "floor", "steps": [{"strategy": "power_floor", "params": {"floor_fraction": 0.9}}]},
        ],
    }
    for key, value in over.items():
        doc[key] = value
    return validate(PowerProfileSpec, doc, "power_profile")


def test_same_seed_same_result_other_seed_other(site: Site) -> None:
    a = run_power_profile(site, spec(), seed=4)
    b = run_power_profile(site, spec(), seed=4)
    c = run_power_profile(site, spec(), seed=5)
    assert a.failures_s == b.failures_s and np.array_equal(a.baseline.grid_w, b.baseline.grid_w)
    assert np.array_equal(a.mitigations[0].grid_w, b.mitigations[0].grid_w)
    assert a.failures_s != c.failures_s


def test_battery_meets_the_ramp_limit_and_is_the_smallest(site: Site) -> None:
    r = run_power_profile(site, spec(), seed=1)
    assert r.baseline.meets_limits is False
    bat = r.mitigations[0]
    assert bat.meets_limits and bat.metrics.max_ramp_w_per_s <= 100e3 * (1 + 1e-6)
    assert bat.cost is not None and bat.cost.battery_units >= 1 and bat.cost.battery_losses_wh > 0
    assert r.sizing is not None and r.sizing.feasible and r.sizing.units == bat.cost.battery_units
    # one unit fewer does not meet the limit
    unit = catalog.get("battery", r.sizing.unit)
    assert isinstance(unit, BatteryEntry)
    if r.sizing.units > 1:
        n = r.sizing.units - 1
        smaller = BatteryParams(unit.energy_wh * n, unit.power_w * n, unit.round_trip_efficiency)
        tr = smooth_with_battery(r.baseline.grid_w, 0.001, smaller, 100e3)
        from megapod.physics.power_dynamics import max_ramp_w_per_s

        assert max_ramp_w_per_s(tr.grid_w, 0.001, 1.0) > 100e3 * (1 + 1e-6)


def test_floor_energy_overhead_by_hand(site: Site) -> None:
    s = spec(
        job={"phases": PHASES},
        timeline={"duration_s": 60, "resolution_s": 0.001},
        facility={"cooling_time_constant_s": 0},
    )
    r = run_power_profile(site, s, seed=0)
    job = r.baseline.job
    floor = r.mitigations[1]
    assert floor.cost is not None
    low_w = job.phases[1].power_w
    # 30 steps of 2 s; in each, 0.4 s of every GPU lifted from P_comm to 0.9 TDP, times PUE
    by_hand_wh = 30 * job.gpus * (0.9 * job.gpu_tdp_w - low_w) * 0.4 * job.pue / 3600
    assert abs(floor.cost.energy_overhead_wh - by_hand_wh) < 0.01 * by_hand_wh
    assert floor.cost.throughput_loss_fraction == 0.0
    assert floor.metrics.swing_w < r.baseline.metrics.swing_w


def test_size_battery_for_a_swing_limit() -> None:
    # a 10 MW square wave of period 2 s around 50 MW; hold the swing to 2 MW
    t = np.arange(20_000) * 0.001
    load = 50e6 + 5e6 * np.sign(np.sin(2 * np.pi * 0.5 * t))
    unit = catalog.get("battery", "megapack-2xl-2h")
    assert isinstance(unit, BatteryEntry)
    s = size_battery(
        load, 0.001, unit, unit_name="megapack-2xl-2h", max_swing_w_limit=2e6, swing_window_s=4.0
    )
    assert s.feasible and s.swing_w <= 2e6 * (1 + 1e-6)
    # the battery must carry about half the square wave: ≥ 4 MW, so at least 3 units of 1.93 MW
    assert s.units >= 3 and s.power_w >= 4e6


def test_unknown_phase_power_override_is_a_spec_error(site: Site) -> None:
    s = spec(job={"phases": PHASES, "phase_power_w": {"fwd": "600 W"}})
    with pytest.raises(SpecError, match="phase_power_w"):
        run_power_profile(site, s)


def test_performance_model_phases(site: Site) -> None:
    s = spec(
        job={"model": "llama3-8b", "layout": {"tp": 1, "pp": 1, "dp": 576, "global_batch": 576}},
        mitigations=[],
        limits={},
    )
    r = run_power_profile(site, s)
    names = [p.name for p in r.baseline.job.phases]
    assert names[:2] == ["forward", "backward"] and r.baseline.job.gpus == 576
    assert r.sizing is None and r.baseline.meets_limits is None


def test_swing_limit_through_the_engine(site: Site) -> None:
    s = spec(
        timeline={"duration_s": 30, "resolution_s": 0.001},
        limits={"max_swing_w": "150 kW", "swing_window_s": 10},
        mitigations=[
            {
                "name": "battery",
                "steps": [{"strategy": "battery_smoothing", "params": {"ramp_limit_w_per_s": "1 MW/s"}}],
            }
        ],
    )
    r = run_power_profile(site, s, seed=2)
    assert r.baseline.metrics.swing_w > 150e3
    bat = r.mitigations[0]
    assert bat.meets_limits and bat.metrics.swing_w <= 150e3 * (1 + 1e-6)
    assert r.sizing is not None and r.sizing.control_ramp_w_per_s < 1e6
