"""Power actions: a cap and the power settings are operator actions, audited and recorded."""

from __future__ import annotations

import pytest
from tests.serve.conftest import Api
from tests.serve.helpers import wait_for


def test_cap_is_an_audited_operator_action(api: Api) -> None:
    c = api.client
    before = c.get("/api/v1/power", headers=api.viewer).json()
    assert before["budget_w"] == 1.6e6 and before["gpu_cap_w_requested"] is None
    r = c.put("/api/v1/power/cap", json={"gpu_cap_w": 700.0}, headers=api.operator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["gpu_cap_w_requested"] == 700.0
    assert "gpu_cap_w_enforced" in body  # read back from the backend
    audit = c.get("/api/v1/audit", headers=api.viewer).json()["items"]
    cap = [a for a in audit if a["action"] == "power.cap"]
    assert cap and cap[-1]["actor"] == "t-operator" and cap[-1]["detail"]["gpu_cap_w"] == 700.0
    events = c.get("/api/v1/events?kind=operator_action", headers=api.viewer).json()["items"]
    assert events and "700 W" in events[-1]["message"] and events[-1]["data"]["by"] == "t-operator"
    assert (
        c.put("/api/v1/power/cap", json={"gpu_cap_w": None}, headers=api.operator).json()[
            "gpu_cap_w_requested"
        ]
        is None
    )


def test_settings_change_the_budget_and_breaches_are_events(api: Api) -> None:
    c = api.client
    r = c.put(
        "/api/v1/power/settings", json={"grid_limit_w": 1e5, "battery_reserve_soc": 0.3}, headers=api.operator
    )
    assert r.status_code == 200, r.text
    assert r.json()["budget_w"] == 1e5 and r.json()["battery_reserve_soc"] == 0.3
    wait_for(lambda: api.plane.latest["budget_w"] == 1e5)
    breach = wait_for(
        lambda: c.get("/api/v1/events?kind=limit_breach", headers=api.viewer).json()["items"], timeout_s=5
    )
    assert breach[0]["severity"] == "critical" and breach[0]["data"]["limit"] == "power"
    assert c.put("/api/v1/power/settings", json={}, headers=api.operator).status_code == 422


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_cap_is_refused_where_there_is_no_gpu(start_api: object, db_url: str) -> None:
    from tests.serve.conftest import settings_for

    from megapod.serve.backends.devices import CpuDevices
    from megapod.serve.backends.local import LocalBackend

    class NoRay(LocalBackend):  # the CPU path without starting Ray
        def start(self, clock_s: float = 0.0) -> None:
            self.devices = CpuDevices()
            self._readings = self.devices.sample()

        def stop(self) -> None:
            pass

    backend = NoRay(settings_for(db_url, backend="local"), devices=None)
    api = start_api(db_url, backend_obj=backend, backend="local")  # type: ignore[operator]
    r = api.client.put("/api/v1/power/cap", json={"gpu_cap_w": 300.0}, headers=api.operator)
    assert r.status_code == 409 and "no GPU" in r.json()["detail"]
    assert not [
        a
        for a in api.client.get("/api/v1/audit", headers=api.viewer).json()["items"]
        if a["action"] == "power.cap"
    ]
