from __future__ import annotations

import pytest
from tests.conftest import EXAMPLES

from megapod.physics.inventory import ride_through_minutes, site_inventory
from megapod.spec import load_site


def test_bundled_pod_by_hand() -> None:
    inv = site_inventory(load_site(EXAMPLES / "megapod.yaml"))
    assert inv.gpus == 576
    # 576 GB200 x 2.5 PFLOP/s dense BF16 (NVL72 datasheet: 360 PFLOPS sparse per 72 GPUs)
    assert inv.peak_bf16_flops == pytest.approx(576 * 2.5e15)
    # 8 racks x 132 kW + 27 switches x 1.7 kW (576 NICs: 18 leaves + 9 spines of 64 ports)
    assert inv.pods[0].switches == 27
    assert inv.it_peak_w == pytest.approx(8 * 132e3 + 27 * 1.7e3)
    assert inv.facility_peak_w == pytest.approx(inv.it_peak_w * 1.12)
    # usable energy x discharge efficiency (sqrt of the 92.5 % round trip) / facility peak
    assert inv.battery_minutes_at_full_load == pytest.approx(3854e3 * 0.925**0.5 / inv.facility_peak_w * 60)


def test_colossus_totals() -> None:
    inv = site_inventory(load_site(EXAMPLES / "colossus.yaml"))
    assert inv.gpus == 300_032
    assert inv.pod_count == 293
    assert inv.hbm_bytes == pytest.approx(300_032 * 180e9)


def test_cortex_mixes_accelerators() -> None:
    inv = site_inventory(load_site(EXAMPLES / "cortex.yaml"))
    assert inv.gpu_types == {"h100-sxm": 50_176, "tesla-d1": 20_000}


def test_fleet_availability() -> None:
    inv = site_inventory(load_site(EXAMPLES / "fleet.yaml"))
    assert inv.fleet_vehicles == 50_000
    assert 0.2 * 50_000 < inv.fleet_mean_available < 0.75 * 50_000


def test_ride_through() -> None:
    assert ride_through_minutes(1000.0, 2000.0, 1000.0) == pytest.approx(60.0)
    assert ride_through_minutes(1000.0, 500.0, 1000.0) == 0.0
    assert ride_through_minutes(1000.0, 2000.0, 1000.0, 0.81) == pytest.approx(54.0)
