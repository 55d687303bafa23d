"""The contract every registered mitigation passes, and each one's own effect."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from megapod.errors import SpecError
from megapod.physics.battery import Registry
from megapod.sim.power_profile import STRATEGIES, JobModel, PhasePower, Timeline, build_strategy, synthesize

#: Parameters that build each registered strategy (a new strategy adds its line here).
PARAMS: dict[str, dict[str, Any]] = {
    "battery_smoothing": {"units": 2, "ramp_limit_w_per_s": "200 kW/s"},
    "power_floor": {"floor_fraction": 0.7},
    "power_cap": {"cap_fraction": 0.8},
    "stagger": {"cohorts": 2, "spread_fraction": 0.5},
}

TIMELINE = Timeline(duration_s=30.0, resolution_s=0.001)


def job() -> JobModel:
    """1,024 H100-like GPUs: 1.6 s at 700 W, 0.4 s of exposed communication at 180 W."""
    phases = (PhasePower("compute", 1.6, 1.0, 700.0), PhasePower("exposed_comm", 0.4, 0.15, 180.0))
    return JobModel(
        phases,
        gpus=1024,
        group_gpus=64,
        gpu_idle_w=75.0,
        gpu_tdp_w=700.0,
        checkpoint_gpu_w=106.0,
        static_w=200e3,
        pue=1.2,
    )


def test_every_strategy_has_contract_params() -> None:
    assert set(PARAMS) == set(STRATEGIES)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_contract(name: str) -> None:
    s = build_strategy(name, PARAMS[name], "params")
    assert s.name == name
    base = job()
    adjusted = s.adjust_job(base)
    # a strategy never loses GPUs nor shortens the step
    assert adjusted.gpus == base.gpus and adjusted.step_time_s >= base.step_time_s - 1e-12
    seq = np.random.SeedSequence(1)
    wave = synthesize(adjusted, TIMELINE, seq)
    trace = s.adjust_grid(wave.grid_w, TIMELINE.resolution_s)
    grid = wave.grid_w if trace is None else trace.grid_w
    assert grid.shape == wave.grid_w.shape and np.all(np.isfinite(grid)) and np.all(grid >= 0)
    if trace is not None:  # the battery always serves the site's load
        np.testing.assert_allclose(trace.grid_w + trace.battery_w, wave.grid_w, atol=1e-6)
    # deterministic: same inputs, same output
    again = s.adjust_job(base)
    assert again == adjusted
    # and bad parameters are a SpecError naming the field
    with pytest.raises(SpecError, match="params"):
        build_strategy(name, {**PARAMS[name], "no_such_parameter": 1}, "params")


def test_registry_refuses_duplicates_and_unknown_names() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("a")(1)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(2)
    with pytest.raises(SpecError, match="unknown mitigation strategy"):
        build_strategy("flywheel", {}, "x")


def test_floor_lifts_low_phases_only() -> None:
    j = build_strategy("power_floor", {"floor_fraction": 0.5}, "").adjust_job(job())
    assert j.phase_power_w().tolist() == [700.0, 350.0]


def test_cap_slows_the_capped_phase_by_the_dvfs_law() -> None:
    j = build_strategy("power_cap", {"cap_fraction": 0.8}, "").adjust_job(job())
    # cap 560 W: clock (485/625)^(1/3) = 0.9189, compute 1.6 s -> 1.741 s; comm phase untouched
    assert j.phases[0].power_w == 560.0
    assert abs(j.phases[0].duration_s - 1.6 / ((560 - 75) / (700 - 75)) ** (1 / 3)) < 1e-9
    assert j.phases[1] == job().phases[1]


def test_stagger_costs_a_wait_when_synchronous() -> None:
    sync = build_strategy("stagger", {"cohorts": 2, "spread_fraction": 0.5}, "").adjust_job(job())
    free = build_strategy(
        "stagger", {"cohorts": 2, "spread_fraction": 0.5, "synchronous": False}, ""
    ).adjust_job(job())
    assert abs(sync.step_time_s - 2.5) < 1e-12  # waits for the cohort 0.25 · 2 s behind
    assert free.step_time_s == job().step_time_s and free.group_offsets_fraction == (0.0, 0.25)
