"""Power actions: a cap and the power settings are operator actions, audited and recorded."""

from __future__ import annotations

import pytest
from tests.serve.conftest import Api
from tests.serve.helpers import CpuOnlyLocal, wait_for


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


def _running_job(api: Api, gpus: int = 288) -> dict[str, float]:
    """Submit a long job on the twin and wait until it runs; the power view then."""
    c = api.client
    job = {"idempotency_key": f"power-{gpus}", "gpus": gpus, "work_s": 1e7}
    assert c.post("/api/v1/jobs", json=job, headers=api.operator).status_code in (200, 201)
    wait_for(lambda: api.plane.latest.get("gpus_busy", 0) >= gpus)
    view: dict[str, float] = c.get("/api/v1/power", headers=api.viewer).json()
    return view


def test_a_cap_on_the_twin_lowers_it_power_and_is_read_back(api: Api) -> None:
    c = api.client
    before = _running_job(api)
    r = c.put("/api/v1/power/cap", json={"gpu_cap_w": 600.0}, headers=api.operator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["gpu_cap_w_enforced"] == 600.0  # the twin's own cap, read back
    # 288 busy GB200s from their 1,200 W TDP to 600 W
    assert before["it_power_w"] - body["it_power_w"] == pytest.approx(288 * 600.0)
    assert wait_for(lambda: api.plane.latest["job_speed"] < 1.0)
    metrics = c.get("/metrics").text
    assert "megapod_gpu_power_cap_watts 600.0" in metrics and "megapod_grid_import_watts" in metrics
    speed = next(line for line in metrics.splitlines() if line.startswith("megapod_job_speed_ratio "))
    assert 0.5 < float(speed.split()[1]) < 1.0
    lifted = c.put("/api/v1/power/cap", json={"gpu_cap_w": None}, headers=api.operator).json()
    assert lifted["gpu_cap_w_enforced"] is None and lifted["it_power_w"] == pytest.approx(
        before["it_power_w"]
    )
    bad = c.put("/api/v1/power/cap", json={"gpu_cap_w": 50.0}, headers=api.operator)
    assert bad.status_code == 422 and "gpu_cap_w" in bad.text and "150 W" in bad.text
    caps = [
        a for a in c.get("/api/v1/audit", headers=api.viewer).json()["items"] if a["action"] == "power.cap"
    ]
    assert len(caps) == 2  # the refused cap wrote nothing


def test_a_grid_limit_on_the_twin_caps_the_gpus_to_fit(api: Api) -> None:
    c = api.client
    before = _running_job(api)
    limit = 0.8 * before["facility_power_w"]
    # a full battery kept whole: nothing to discharge, so the twin caps the GPUs at once
    r = c.put(
        "/api/v1/power/settings",
        json={"grid_limit_w": limit, "battery_reserve_soc": 1.0},
        headers=api.operator,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["budget_w"] == limit
    assert body["facility_power_w"] == pytest.approx(limit, rel=1e-6)
    assert body["grid_import_w"] == pytest.approx(limit, rel=1e-6)
    assert body["gpu_cap_w_enforced"] is not None and body["gpu_cap_w_enforced"] < 1200.0
    # a job that does not fit the budget waits
    late = {"idempotency_key": "power-late", "gpus": 72, "work_s": 100.0}
    job_id = c.post("/api/v1/jobs", json=late, headers=api.operator).json()["id"]
    wait_for(lambda: c.get(f"/api/v1/jobs/{job_id}", headers=api.viewer).json()["state"] == "queued")
    lifted = c.put("/api/v1/power/settings", json={"grid_limit_w": None}, headers=api.operator).json()
    assert lifted["gpu_cap_w_enforced"] is None and lifted["budget_w"] == 1.6e6
    wait_for(
        lambda: c.get(f"/api/v1/jobs/{job_id}", headers=api.viewer).json()["state"] in ("running", "done")
    )


def test_settings_change_the_budget_and_breaches_are_events(api: Api) -> None:
    c = api.client
    # below the idle site's draw, with the battery kept whole: the grid import breaches it
    r = c.put(
        "/api/v1/power/settings", json={"grid_limit_w": 1e5, "battery_reserve_soc": 1.0}, headers=api.operator
    )
    assert r.status_code == 200, r.text
    assert r.json()["budget_w"] == 1e5 and r.json()["battery_reserve_soc"] == 1.0
    assert r.json()["grid_import_w"] > 1e5
    wait_for(lambda: api.plane.latest["budget_w"] == 1e5)
    breach = wait_for(
        lambda: c.get("/api/v1/events?kind=limit_breach", headers=api.viewer).json()["items"], timeout_s=5
    )
    assert breach[0]["severity"] == "critical" and breach[0]["data"]["limit"] == "power"
    assert c.put("/api/v1/power/settings", json={}, headers=api.operator).status_code == 422


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_cap_is_refused_where_there_is_no_gpu(start_api: object, db_url: str) -> None:
    from tests.serve.conftest import settings_for

    backend = CpuOnlyLocal(settings_for(db_url, backend="local"), devices=None)
    api = start_api(db_url, backend_obj=backend, backend="local")  # type: ignore[operator]
    r = api.client.put("/api/v1/power/cap", json={"gpu_cap_w": 300.0}, headers=api.operator)
    assert r.status_code == 409 and "no GPU" in r.json()["detail"]
    assert not [
        a
        for a in api.client.get("/api/v1/audit", headers=api.viewer).json()["items"]
        if a["action"] == "power.cap"
    ]
