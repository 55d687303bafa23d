"""Cost and carbon: hand calculations on the cited price table and grid profiles."""

from __future__ import annotations

import numpy as np
import pytest

from megapod import catalog
from megapod.catalog.price import GridRegionEntry, PriceTableEntry
from megapod.errors import CatalogError
from megapod.physics import carbon, cost


def prices() -> PriceTableEntry:
    entry = catalog.get("prices", "us-2025")
    assert isinstance(entry, PriceTableEntry)
    return entry


def region(name: str) -> GridRegionEntry:
    entry = catalog.get("grid-region", name)
    assert isinstance(entry, GridRegionEntry)
    return entry


@pytest.mark.parametrize("name", ["ercot", "tva", "nordic-se1"])
def test_profiles_keep_cited_means(name: str) -> None:
    r = region(name)
    i = carbon.hourly_intensity_g_per_wh(r)
    p = cost.hourly_price_usd_per_wh(r)
    assert i.shape == p.shape == (8760,)
    assert i.mean() == pytest.approx(r.carbon_g_per_kwh / 1000)
    assert p.mean() == pytest.approx(r.price_usd_per_kwh / 1000)


def test_tou_peak_hours_are_dearer() -> None:
    p = cost.hourly_price_usd_per_wh(region("ercot")).reshape(365, 24)
    assert np.all(p[:, 17] > p[:, 3])


def test_emissions_hand_calculation() -> None:
    # 1 MW for a year at a flat 371 g/kWh: 8,760 MWh x 0.371 t/MWh = 3,249.96 t
    assert carbon.emissions_t(np.full(8760, 1e6), 0.371) == pytest.approx(3249.96)


def test_capex_and_opex_hand_calculation() -> None:
    pt = prices()
    cap = cost.capex(
        pt,
        gpus_by_type={"h100-sxm": 1024},
        switches=48,
        nic_ports=1024,
        it_design_w=1.5e6,
        cooling_plant="direct-liquid",
        cooling_capacity_w=1.5e6,
        battery_energy_wh=3.854e6,
        generator_w=0.0,
    )
    assert cap.gpus_usd == pytest.approx(1024 * 35000)
    assert cap.network_usd == pytest.approx(48 * 35000 + 1024 * 3000)
    assert cap.electrical_usd == pytest.approx(1.5e6 * 4.5)
    assert cap.cooling_usd == pytest.approx(1.5e6 * 3.0)
    assert cap.battery_usd == pytest.approx(3.854e6 * 0.30)
    assert cap.total_usd == pytest.approx(cap.it_usd + cap.facility_usd)
    opex = cost.annual_opex(pt, cap, energy_usd_per_year=1e6, it_design_w=1.5e6)
    assert opex.staff_usd == pytest.approx(1.5e6 * 0.075)
    assert cost.tco_usd(cap, opex, 3) == pytest.approx(cap.total_usd + 3 * opex.total_usd)
    assert cost.tco_usd(cap, opex, 1, 0.1) == pytest.approx(cap.total_usd + opex.total_usd / 1.1)
    annual = cost.annualized_cost_usd(pt, cap, opex)
    assert annual == pytest.approx(cap.it_usd / 5 + cap.facility_usd / 15 + opex.total_usd)
    assert cost.cost_per_gpu_hour_usd(annual, 1024) == pytest.approx(annual / 1024 / 8760)
    assert cost.run_cost_usd(annual, 86400 * 365) == pytest.approx(annual)
    # 1,000 tokens/s for a year is 31.536e9 tokens
    assert cost.cost_per_million_tokens_usd(annual, 1000) == pytest.approx(annual / 31536.0)


def test_energy_cost() -> None:
    assert cost.energy_cost_usd([1e6, 2e6], [1e-4, 5e-5]) == pytest.approx(200.0)


def test_unknown_gpu_price_says_what_to_add() -> None:
    with pytest.raises(CatalogError, match=r"gpu_installed_usd\.nope"):
        cost.gpu_price_usd(prices(), "nope")


def test_every_cooling_plant_and_gpu_is_priced() -> None:
    pt = prices()
    assert set(catalog.names("cooling")) <= set(pt.gpu_installed_usd) | set(pt.cooling_usd_per_w)
    assert set(catalog.names("gpu")) <= set(pt.gpu_installed_usd)
