"""The twin's hourly price and carbon signals reach the live state and the telemetry."""

from __future__ import annotations

import pytest
from tests.serve.conftest import Api
from tests.serve.helpers import wait_for

from megapod.sim.twin.grid_profile import grid_profile, hour_index


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_state_and_telemetry_carry_price_and_carbon(api: Api) -> None:
    st = api.client.get("/api/v1/site/state", headers=api.viewer).json()
    backend = api.plane.backend
    grid = grid_profile(backend.scenario)
    import numpy as np

    hour = hour_index(np.array([st["t_s"]]))
    assert st["price_usd_per_mwh"] == pytest.approx(float(grid.price_at(hour)[0]) * 1e6)
    assert st["carbon_kg_per_mwh"] == pytest.approx(float(grid.carbon_at(hour)[0]) * 1e3)
    assert st["price_usd_per_mwh"] > 0 and st["carbon_kg_per_mwh"] > 0

    def metrics() -> set[str]:
        pts = api.client.get("/api/v1/telemetry?scope=site", headers=api.viewer).json()["points"]
        return {p["metric"] for p in pts}

    assert {"price_usd_per_mwh", "carbon_kg_per_mwh"} <= wait_for(metrics, timeout_s=20)
