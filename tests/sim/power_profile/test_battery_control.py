"""Battery ramp control: energy balance with losses, SoC bounds, monotone smoothing."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from megapod.physics.battery import BatteryParams
from megapod.physics.power_dynamics import iteration_profile_w, max_ramp_w_per_s
from megapod.sim.power_profile import smooth_with_battery
from megapod.units import HOUR_S

DT = 0.001


def training_like_load(n_steps: int = 20) -> np.ndarray:
    """A 100 MW site swinging to 35 MW for 0.4 s of every 2 s step (H100-like swing)."""
    p = iteration_profile_w([1.6, 0.4], [100e6, 35e6], DT)
    return np.tile(p, n_steps)


def test_energy_conserved_through_the_battery_with_losses() -> None:
    load = training_like_load()
    bank = BatteryParams(energy_wh=2e6, power_w=60e6, round_trip_efficiency=0.9)
    tr = smooth_with_battery(load, DT, bank, ramp_limit_w_per_s=5e6, soc_time_constant_s=60.0)
    # the site always gets its load: grid + battery = load, sample by sample
    np.testing.assert_allclose(tr.grid_w + tr.battery_w, load, rtol=0, atol=1e-6)
    # cells: Δ stored = η_c · charged - discharged / η_d
    charged_wh = -tr.battery_w[tr.battery_w < 0].sum() * DT / HOUR_S
    discharged_wh = tr.battery_w[tr.battery_w > 0].sum() * DT / HOUR_S
    eta = np.sqrt(0.9)
    stored_wh = (tr.soc_frac[-1] - tr.soc_frac[0]) * bank.energy_wh
    assert abs(stored_wh - (eta * charged_wh - discharged_wh / eta)) < 1e-6 * bank.energy_wh
    # grid energy = load energy + losses + what is left stored
    grid_wh = tr.grid_w.sum() * DT / HOUR_S
    load_wh = load.sum() * DT / HOUR_S
    assert tr.losses_wh > 0
    assert abs(grid_wh - (load_wh + tr.losses_wh + stored_wh)) < 1e-6 * load_wh


@settings(max_examples=40, deadline=None)
@given(
    energy_wh=st.floats(1.0, 1e6),
    power_w=st.floats(1.0, 2e8),
    eta=st.floats(0.5, 1.0),
    soc0=st.floats(0.0, 1.0),
    soc_min=st.floats(0.0, 0.4),
    soc_max=st.floats(0.6, 1.0),
    ramp=st.floats(1.0, 1e9),
    tau=st.floats(0.0, 1000.0),
    seed=st.integers(0, 2**16),
)
def test_soc_and_power_stay_within_bounds(
    energy_wh: float,
    power_w: float,
    eta: float,
    soc0: float,
    soc_min: float,
    soc_max: float,
    ramp: float,
    tau: float,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    load = rng.uniform(0.0, 1e8, 3000)
    bank = BatteryParams(energy_wh, power_w, eta, soc_min, soc_max)
    tr = smooth_with_battery(load, DT, bank, ramp, soc_initial=soc0, soc_time_constant_s=tau)
    start = min(soc_max, max(soc_min, soc0))
    assert tr.soc_frac[0] == start
    assert np.all(tr.soc_frac >= soc_min) and np.all(tr.soc_frac <= soc_max)
    assert np.all(np.abs(tr.battery_w) <= power_w * (1 + 1e-12))


def test_smoothing_reduces_max_ramp_monotonically_with_battery_power() -> None:
    load = training_like_load()
    ramps = []
    for power_mw in (0, 5, 10, 20, 30, 45, 65, 100):
        bank = BatteryParams(energy_wh=5e6, power_w=power_mw * 1e6, round_trip_efficiency=0.92)
        tr = smooth_with_battery(load, DT, bank, ramp_limit_w_per_s=2e6)
        ramps.append(max_ramp_w_per_s(tr.grid_w, DT, 1.0))
    assert all(b <= a + 1e-6 for a, b in itertools.pairwise(ramps)), ramps
    assert ramps[0] > 50e6 and ramps[-1] <= 2e6 * (1 + 1e-9)


def test_an_empty_bank_passes_the_load_through() -> None:
    load = training_like_load(2)
    tr = smooth_with_battery(load, DT, BatteryParams(0.0, 0.0, 0.9), 1e6)
    assert np.array_equal(tr.grid_w, load) and not tr.battery_w.any()
