"""Battery SoC, ride-through and dispatch policies: hand calculations, SoC bounds, contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from megapod.physics import battery as bt

# Tesla Megapack 2 XL, 2-hour: 3,854 kWh / 1,927 kW, 92.5 % round trip (catalog batteries.yaml)
MEGAPACK = bt.BatteryParams(3.854e6, 1.927e6, 0.925)


def test_discharge_hand_calculation() -> None:
    # 1 MW for 1 h draws 1 MWh / sqrt(0.925) = 1.03975 MWh from the cells
    step = bt.step_soc(MEGAPACK, 1.0, 1e6, 3600.0)
    assert step.power_w == pytest.approx(1e6)
    assert step.soc == pytest.approx(1.0 - 1e6 / math.sqrt(0.925) / 3.854e6)


def test_charge_hand_calculation() -> None:
    step = bt.step_soc(MEGAPACK, 0.5, -1e6, 3600.0)
    assert step.soc == pytest.approx(0.5 + 1e6 * math.sqrt(0.925) / 3.854e6)


def test_power_and_energy_limits() -> None:
    step = bt.step_soc(MEGAPACK, 1.0, 5e6, 3600.0)
    assert step.power_w == pytest.approx(1.927e6)
    empty = bt.step_soc(MEGAPACK, 0.1, 1.927e6, 3600.0)
    assert empty.soc == pytest.approx(0.0, abs=1e-12)
    assert empty.power_w == pytest.approx(0.1 * 3.854e6 * math.sqrt(0.925))


def test_round_trip_loses_eta() -> None:
    half = bt.step_soc(MEGAPACK, 0.2, -1e6, 3600.0)
    stored_wh = (half.soc - 0.2) * 3.854e6
    assert stored_wh * math.sqrt(0.925) == pytest.approx(1e6 * 0.925)


def test_ride_through_hand_calculation() -> None:
    # megapod example: 3.854 MWh at ~1.2 MW facility -> 3.854/1.2*sqrt(.925) h = 3.706 h
    t = bt.ride_through_s(3.854e6, 1.927e6, 1.2e6, 0.925)
    assert t == pytest.approx(3.854 / 1.2 * math.sqrt(0.925) * 3600)
    assert bt.ride_through_s(3.854e6, 1.927e6, 2.5e6) == 0.0  # power short
    assert bt.bridges_to_generator(t, 10.0)
    assert bt.energy_for_ride_through_wh(1.2e6, t, 0.925) == pytest.approx(3.854e6)


def test_registry_refuses_duplicates() -> None:
    with pytest.raises(ValueError, match="already registered"):
        bt.DISPATCH_POLICIES.register("peak-shaving")(bt.peak_shaving)


@pytest.mark.parametrize("name", sorted(bt.DISPATCH_POLICIES))
@settings(max_examples=40, deadline=None)
@given(
    loads=st.lists(st.floats(0, 4e6), min_size=24, max_size=72),
    soc0=st.floats(0, 1),
    reserve=st.floats(0, 0.5),
    limit=st.floats(5e5, 4e6),
    outage=st.integers(0, 23),
)
def test_dispatch_contract(
    name: str, loads: list[float], soc0: float, reserve: float, limit: float, outage: int
) -> None:
    """Every policy: SoC within limits, power within rating, grid within its limit, balance holds."""
    battery = bt.BatteryParams(3.854e6, 1.927e6, 0.925, soc_min=0.05, soc_max=0.95, reserve_soc=reserve)
    soc0 = min(max(soc0, 0.05), 0.95)
    n = len(loads)
    prices = 1e-4 * (1 + np.sin(np.arange(n) / 24 * 2 * np.pi))
    up = np.ones(n, dtype=bool)
    up[outage] = False
    res = bt.simulate_dispatch(name, battery, loads, prices, limit, soc0=soc0, grid_available=up)
    assert np.all(res.soc >= 0.05 - 1e-9) and np.all(res.soc <= 0.95 + 1e-9)
    assert np.all(np.abs(res.battery_w) <= battery.power_w + 1e-6)
    assert np.all(res.grid_w <= limit + 1e-6) and np.all(res.grid_w >= 0)
    assert res.grid_w[outage] == 0.0
    np.testing.assert_allclose(
        res.grid_w + res.battery_w + res.unserved_w, np.maximum(loads, res.grid_w + res.battery_w), atol=1e-3
    )


@settings(max_examples=200, deadline=None)
@given(soc=st.floats(0.1, 0.9), power=st.floats(-1e7, 1e7), dt=st.floats(1, 1e5))
def test_soc_bounds_property(soc: float, power: float, dt: float) -> None:
    battery = bt.BatteryParams(1e6, 5e5, 0.9, soc_min=0.1, soc_max=0.9)
    step = bt.step_soc(battery, soc, power, dt)
    assert 0.1 - 1e-12 <= step.soc <= 0.9 + 1e-12
    assert abs(step.power_w) <= 5e5 + 1e-9
    assert math.copysign(1, step.power_w) == math.copysign(1, power) or step.power_w == 0


def test_peak_shaving_holds_grid_limit() -> None:
    load = np.array([1.0e6] * 6 + [2.5e6] * 2 + [1.0e6] * 16)
    res = bt.simulate_dispatch("peak-shaving", MEGAPACK, load, 1e-4, grid_limit_w=2.0e6)
    assert res.grid_w.max() <= 2.0e6 + 1e-6
    assert np.all(res.unserved_w < 1e-6)
    assert res.battery_w[6] == pytest.approx(0.5e6)


def test_tou_arbitrage_charges_cheap_discharges_dear() -> None:
    price = np.array([0.05] * 8 + [0.10] * 8 + [0.20] * 8) / 1000
    res = bt.simulate_dispatch("tou-arbitrage", MEGAPACK, np.full(24, 1e6), price, 3e6, soc0=0.5)
    assert res.battery_w[0] < 0 and res.battery_w[16] == pytest.approx(1e6)
    assert np.all(res.battery_w[8:16] == 0.0)
