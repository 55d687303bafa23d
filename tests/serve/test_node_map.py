"""`GET /api/v1/site/map/nodes`: the site node by node, on the twin and on the local backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.serve.conftest import Api, settings_for
from tests.serve.helpers import CpuOnlyLocal, wait_for
from tests.sim.forced import force_failure

URL = "/api/v1/site/map/nodes"


def _map(api: Api) -> dict[str, Any]:
    r = api.client.get(URL, headers=api.viewer)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_viewers_read_every_node_in_spec_order(api: Api) -> None:
    c = api.client
    assert c.get(URL).status_code == 401
    assert c.get(URL, headers={"Authorization": "Bearer nope"}).status_code == 401
    m = wait_for(lambda: (lambda b: b if b["t_s"] > 2.0 else None)(_map(api)))  # the warm-up is done
    assert (m["site"], m["backend"], m["nodes"]) == ("megapod-1", "twin", 8)
    assert m["states"] == "i" * 8
    assert m["codes"] == {"r": "running", "c": "capped", "i": "idle", "f": "failed", "d": "down"}
    (pod,) = m["designs"]
    assert (pod["name"], pod["first_node"], pod["nodes"], pod["replicas"]) == ("nvl72-pod", 0, 8, 1)
    assert pod["racks"] == [{"name": "nvl72", "count": 8, "servers": 1}]
    assert pod["nodes_idle"] == 8 and pod["gpus"] == 576
    assert pod["it_power_w"] > 0 and pod["facility_power_w"] > pod["it_power_w"]
    assert 0 < pod["cooling_load"] < 1 and pod["thermal_speed"] == 1.0
    assert 0 <= m["battery_soc"] <= 1
    nodes = c.get("/api/v1/nodes?pod=nvl72-pod", headers=api.viewer).json()
    assert [n["index"] for n in nodes["items"]] == list(range(pod["first_node"], pod["nodes"]))
    assert c.get("/openapi.json").json()["paths"][URL]["get"]["responses"]["200"]["content"]


def test_a_held_node_runs_is_capped_and_a_failed_one_shows(api: Api) -> None:
    c = api.client
    job = {"idempotency_key": "map-2-nodes", "gpus": 144, "work_s": 1e7}
    assert c.post("/api/v1/jobs", json=job, headers=api.operator).status_code == 201
    m = wait_for(lambda: (lambda b: b if b["states"].count("r") == 2 else None)(_map(api)))
    st = c.get("/api/v1/site/state", headers=api.viewer).json()
    assert m["designs"][0]["gpus_busy"] == 144 == st["gpus_busy"]
    assert c.put("/api/v1/power/cap", json={"gpu_cap_w": 600.0}, headers=api.operator).status_code == 200
    m = _map(api)
    assert m["states"].count("c") == 2 and m["states"].count("r") == 0
    assert m["designs"][0]["nodes_capped"] == 2 and m["gpu_cap_w"] == 600.0
    idle = m["states"].index("i")
    plane = api.plane
    with plane.lock:
        force_failure(plane.backend.twin, idle, repair_s=1e6)
    m = _map(api)
    assert m["states"][idle] == "f" and m["designs"][0]["nodes_failed"] == 1
    assert m["designs"][0]["gpus_failed"] == 72
    wait_for(lambda: api.plane.latest["nodes_failed"] == 1)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_local_backend_is_one_node(start_api: Callable[..., Api], db_url: str) -> None:
    from megapod.serve.backends.local import LOCAL_NODE

    backend = CpuOnlyLocal(settings_for(db_url, backend="local"), devices=None)
    api = start_api(db_url, backend_obj=backend, backend="local")
    m = _map(api)
    assert (m["backend"], m["nodes"], m["states"]) == ("local", 1, "i")
    (row,) = m["designs"]
    assert (row["name"], row["nodes_idle"], row["nodes_running"], row["racks"]) == (LOCAL_NODE, 1, 0, [])
    assert m["battery_soc"] is None and row["facility_power_w"] is None
