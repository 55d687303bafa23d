"""Hourly energy price and grid carbon in the twin: region default, overrides, errors, exact sums."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from megapod import catalog
from megapod.catalog.price import GridRegionEntry
from megapod.errors import SpecError
from megapod.physics.carbon import hourly_intensity_g_per_wh
from megapod.physics.cost import hourly_price_usd_per_wh
from megapod.sim.twin import simulate
from megapod.sim.twin.grid_profile import GridProfile, grid_profile
from megapod.sim.twin.simulator import Twin
from megapod.spec import load_site
from megapod.spec.scenario import Scenario

from .scenario_factory import EXAMPLES, small_scenario


def _region(name: str) -> GridRegionEntry:
    entry = catalog.get("grid-region", name)
    assert isinstance(entry, GridRegionEntry)
    return entry


def constant_load(
    horizon_s: float, resolution_s: float, energy: dict[str, Any], grid_region: str = "ercot"
) -> Scenario:
    """The bundled 576-GPU pod, all GPUs held by one job for the whole horizon, no weather
    and no failures: facility power is one constant."""
    site = load_site(EXAMPLES / "megapod.yaml")
    site = site.model_copy(update={"location": site.location.model_copy(update={"grid_region": grid_region})})
    return Scenario.model_validate(
        {
            "name": "constant",
            "site": site,
            "horizon_s": horizon_s,
            "workload": {"pretraining": [{"name": "all", "gpus": 576, "work_s": 30 * 86400}]},
            "failures": {"enabled": False},
            "weather": {"enabled": False},
            "energy": energy,
            "output": {"resolution_s": resolution_s},
        }
    )


def _run_with(sc: Scenario, profile: GridProfile) -> Any:
    twin = Twin(sc)
    twin.grid = profile  # a two-hour tariff the catalog does not hold
    return twin.run()


@pytest.mark.parametrize("resolution_s", [900.0, 3600.0, 7200.0])
def test_constant_load_over_two_hours_with_two_prices(resolution_s: float) -> None:
    # Hand calculation: constant facility power P for 1 h at 40 $/MWh, then 1 h at 100 $/MWh:
    # cost = P·1h·(40 + 100) $/MWh; CO2 = P·1h·(300 + 500) kg/MWh. The bin width must not
    # matter: a 2-hour bin is split at the hour for the sums.
    sc = constant_load(7200.0, resolution_s, {})
    profile = GridProfile(np.array([40e-6, 100e-6]), np.array([0.3, 0.5]), "two-hour", "two-hour")
    res = _run_with(sc, profile)
    fac_w = res.series["facility_power_w"].to_numpy()
    assert np.allclose(fac_w, fac_w[0], rtol=1e-12)  # constant load indeed
    p_mw = fac_w[0] / 1e6
    assert p_mw > 0.5  # 576 busy GB200s draw more than half a megawatt
    s = res.summary
    assert s["facility_energy_mwh"] == pytest.approx(2 * p_mw, rel=1e-12)
    assert s["energy_cost_usd"] == pytest.approx(p_mw * (40 + 100), rel=1e-12)
    assert s["tco2"] == pytest.approx(p_mw * (300 + 500) / 1000, rel=1e-12)
    assert s["mean_price_usd_per_mwh"] == pytest.approx(70.0, rel=1e-12)  # equal energy each hour
    assert s["mean_carbon_kg_per_mwh"] == pytest.approx(400.0, rel=1e-12)
    assert res.series["energy_cost_usd"].sum() == pytest.approx(s["energy_cost_usd"], rel=1e-12)
    assert res.series["co2_kg"].sum() / 1000 == pytest.approx(s["tco2"], rel=1e-12)
    # the bin columns are time means of the hourly signal
    price = res.series["price_usd_per_mwh"].to_numpy()
    if resolution_s == 7200.0:
        assert price.tolist() == pytest.approx([70.0])
    else:
        per_hour = int(3600 / resolution_s)
        assert price.tolist() == pytest.approx([40.0] * per_hour + [100.0] * per_hour)


def test_default_is_the_site_region_hourly_profile() -> None:
    sc = small_scenario(horizon_s=2 * 86400.0)
    sc = sc.model_copy(
        update={
            "energy": sc.energy.model_validate({}),
            "output": sc.output.model_validate({"resolution_s": 3600}),
        }
    )
    res = simulate(sc)
    s = res.summary
    assert (s["price_from"], s["carbon_from"]) == ("ercot", "ercot")
    region = _region("ercot")
    price = hourly_price_usd_per_wh(region)[:48]
    carbon = hourly_intensity_g_per_wh(region)[:48]
    ser = res.series
    assert np.allclose(ser["price_usd_per_mwh"], price * 1e6)
    assert np.allclose(ser["carbon_kg_per_mwh"], carbon * 1e3)
    assert ser["price_usd_per_mwh"].max() > 1.5 * ser["price_usd_per_mwh"].min()  # time of use
    # cost integrates hourly power x hourly price (1-hour bins: one price a bin)
    fac_wh = ser["facility_power_w"].to_numpy() * 1.0
    assert s["energy_cost_usd"] == pytest.approx(float(np.sum(fac_wh * price)), rel=1e-9)
    assert s["tco2"] == pytest.approx(float(np.sum(fac_wh * carbon)) / 1e6, rel=1e-9)


def test_totals_do_not_depend_on_coarser_bins() -> None:
    base = small_scenario(horizon_s=2 * 86400.0)
    base = base.model_copy(update={"energy": base.energy.model_validate({})})
    runs = [
        simulate(base.model_copy(update={"output": base.output.model_validate({"resolution_s": r})}))
        for r in (3600, 3 * 3600, 86400)
    ]
    for key in ("energy_cost_usd", "tco2", "facility_energy_mwh"):
        values = [r.summary[key] for r in runs]
        assert values == pytest.approx([values[0]] * 3, rel=1e-9), key


def test_profile_repeats_the_typical_year() -> None:
    sc = constant_load(3600.0, 3600.0, {})
    prof = grid_profile(sc)
    assert len(prof.price_usd_per_wh) == 8760
    hours = np.array([0, 17, 8760, 8760 + 17, 3 * 8760 + 5000], dtype=np.int64)
    assert np.array_equal(prof.price_at(hours), prof.price_usd_per_wh[[0, 17, 0, 17, 5000]])
    assert np.array_equal(prof.carbon_at(hours), prof.carbon_g_per_wh[[0, 17, 0, 17, 5000]])


def test_overrides_flat_value_and_other_region() -> None:
    sc = constant_load(86400.0, 3600.0, {"price_usd_per_mwh": 55, "grid_region": "nordic-se1"})
    prof = grid_profile(sc)
    assert (prof.price_from, prof.carbon_from) == ("flat", "nordic-se1")
    assert np.allclose(prof.carbon_g_per_wh, hourly_intensity_g_per_wh(_region("nordic-se1")))
    res = simulate(sc)
    assert np.allclose(res.series["price_usd_per_mwh"], 55.0)
    s = res.summary
    assert s["energy_cost_usd"] == pytest.approx(s["facility_energy_mwh"] * 55, rel=1e-12)
    both = grid_profile(
        constant_load(3600.0, 3600.0, {"price_usd_per_mwh": 0, "carbon_kg_per_mwh": 20}, grid_region="")
    )
    assert both.price_usd_per_wh.tolist() == [0.0] and both.carbon_g_per_wh.tolist() == [0.02]


@pytest.mark.parametrize(
    ("energy", "region", "field"),
    [
        ({}, "", "energy.price_usd_per_mwh"),
        ({"price_usd_per_mwh": 50}, "", "energy.carbon_kg_per_mwh"),
        ({"grid_region": "mars"}, "ercot", "energy.grid_region"),
        ({}, "atlantis", "site.location.grid_region"),
    ],
)
def test_missing_or_unknown_region_is_a_spec_error(energy: dict[str, Any], region: str, field: str) -> None:
    sc = constant_load(3600.0, 3600.0, energy, grid_region=region)
    with pytest.raises(SpecError) as err:
        Twin(sc)
    assert err.value.path == field
