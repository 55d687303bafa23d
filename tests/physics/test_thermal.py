"""Cooling plant COP, free cooling, derating, pumps and hourly PUE; climate profiles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from megapod import catalog
from megapod.catalog.cooling import CoolingPlantEntry
from megapod.physics import climate, thermal
from megapod.physics.power_chain import ChainCurves
from megapod.spec import PowerChain


def plant(name: str) -> CoolingPlantEntry:
    entry = catalog.get("cooling", name)
    assert isinstance(entry, CoolingPlantEntry)
    return entry


def test_cop_interpolation_and_cooling_power() -> None:
    air = plant("air-chiller")  # points (20, 4.5), (30, 3.3)
    assert thermal.plant_cop(air, 25.0) == pytest.approx(3.9)
    assert thermal.cooling_power_w(1e6, 4.0) == pytest.approx(250e3)


def test_derating_hand_calculation() -> None:
    dlc = plant("direct-liquid")  # design 38 °C, 2 %/°C
    assert thermal.derated_capacity_w(dlc, 1e6, 30.0) == pytest.approx(1e6)
    assert thermal.derated_capacity_w(dlc, 1e6, 43.0) == pytest.approx(0.9e6)
    assert thermal.capacity_for_design_w(dlc, 0.9e6, 43.0) == pytest.approx(1e6)


def test_flow_and_pump_hand_calculation() -> None:
    # 1 MW at ΔT = 10 K: 1e6 / (995.7 * 4178 * 10) = 0.02404 m³/s; 200 kPa at 70 %: 6.87 kW
    flow = thermal.coolant_flow_m3_per_s(1e6, 10.0)
    assert flow == pytest.approx(1e6 / (995.7 * 4178 * 10))
    assert thermal.pump_power_w(flow, 200e3, 0.7) == pytest.approx(flow * 200e3 / 0.7)


@pytest.mark.parametrize("name", ["austin-tx", "memphis-tn", "lulea-se"])
def test_profiles_are_hourly_years(name: str) -> None:
    p = climate.load_profile(name)
    assert p.dry_bulb_c.shape == (8760,)
    assert np.all(p.wet_bulb_c <= p.dry_bulb_c + 1e-9)
    assert np.all(p.dew_point_c <= p.wet_bulb_c + 1e-9)
    assert p.source


def test_austin_profile_matches_its_normals() -> None:
    p = climate.load_profile("austin-tx")
    # the hottest hour is the mid-August normal daily max (36.3 °C), at 15:00
    assert p.dry_bulb_c.max() == pytest.approx(36.3, abs=0.05)
    assert int(np.argmax(p.dry_bulb_c)) % 24 == 15
    # the annual mean of (max+min)/2 of the monthly normals, weighted by days: ~21 °C
    assert 20.5 < p.dry_bulb_c.mean() < 21.8


def test_stull_reference_point() -> None:
    # Stull (2011): T = 20 °C, RH = 50 % gives Tw = 13.7 °C
    assert climate.stull_wet_bulb_c(20.0, 50.0) == pytest.approx(13.7, abs=0.1)


def test_unknown_profile_is_a_spec_error() -> None:
    from megapod.errors import SpecError

    with pytest.raises(SpecError, match="known: austin-tx"):
        climate.load_profile("atlantis")


def _annual_pue(plant_name: str, climate_name: str) -> float:
    curves = ChainCurves.from_entries(PowerChain())
    prof = climate.load_profile(climate_name)
    return thermal.hourly_facility(0.8e6, 1e6, curves, plant(plant_name), 1.2e6, prof.dry_bulb_c).annual_pue


def test_pue_anchors() -> None:
    # Issue anchors: liquid-cooled AI halls ~1.1-1.2, air-cooled 1.3-1.6 (Uptime Institute 2023)
    assert 1.07 <= _annual_pue("direct-liquid", "austin-tx") <= 1.2
    assert 1.28 <= _annual_pue("air-chiller", "austin-tx") <= 1.6
    assert _annual_pue("air-chiller", "lulea-se") < _annual_pue("air-chiller", "austin-tx")


def test_free_cooling_hours_order() -> None:
    dlc = plant("direct-liquid")
    hours = {n: thermal.free_cooling_hours(dlc, climate.load_profile(n).dry_bulb_c) for n in climate.names()}
    assert hours["lulea-se"] == 8760
    assert hours["austin-tx"] < hours["memphis-tn"] < hours["lulea-se"]


def test_hourly_pue_energy_weighted() -> None:
    curves = ChainCurves.from_entries(PowerChain())
    t = np.array([0.0, 40.0])
    h = thermal.hourly_facility(np.array([1e6, 0.2e6]), 1e6, curves, plant("air-chiller"), 2e6, t)
    assert h.annual_pue == pytest.approx(float(h.flow.facility_w.sum() / h.flow.it_w.sum()))


def test_wet_bulb_basis_for_evaporative_plants() -> None:
    prof = climate.load_profile("memphis-tn")
    dry = plant("air-chiller")
    wet = dry.model_copy(update={"temperature_basis": "wet-bulb"})
    np.testing.assert_array_equal(
        thermal.plant_outdoor_c(dry, prof.dry_bulb_c, prof.wet_bulb_c), prof.dry_bulb_c
    )
    t_wet = thermal.plant_outdoor_c(wet, prof.dry_bulb_c, prof.wet_bulb_c)
    np.testing.assert_array_equal(t_wet, prof.wet_bulb_c)
    # towers see the cooler wet-bulb, so more free-cooling hours and a better COP
    assert thermal.free_cooling_hours(wet, t_wet) > thermal.free_cooling_hours(dry, prof.dry_bulb_c)


@settings(max_examples=100, deadline=None)
@given(
    name=st.sampled_from(["air-chiller", "rear-door", "direct-liquid"]),
    t1=st.floats(-40, 55),
    t2=st.floats(-40, 55),
)
def test_cop_and_capacity_fall_with_heat(name: str, t1: float, t2: float) -> None:
    p = plant(name)
    lo, hi = sorted((t1, t2))
    assert thermal.plant_cop(p, hi) <= thermal.plant_cop(p, lo) + 1e-12
    assert thermal.derated_capacity_w(p, 1e6, hi) <= thermal.derated_capacity_w(p, 1e6, lo) + 1e-6
    assert thermal.plant_cop(p, hi) > 0


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(["air-chiller", "rear-door", "direct-liquid"]),
    it=st.floats(0, 2e7),
    rated=st.floats(1e5, 2e7),
    temps=st.lists(st.floats(-30, 50), min_size=1, max_size=48),
)
def test_hourly_energy_balance(name: str, it: float, rated: float, temps: list[float]) -> None:
    curves = ChainCurves.from_entries(PowerChain())
    h = thermal.hourly_facility(it, rated, curves, plant(name), rated, np.array(temps))
    f = h.flow
    np.testing.assert_allclose(
        f.facility_w, f.it_w + f.electrical_loss_w + f.cooling_w, rtol=1e-12, atol=1e-6
    )
    assert np.all(h.pue >= 1.0)
