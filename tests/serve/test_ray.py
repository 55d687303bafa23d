"""Jobs on Ray (the local backend): commands and entry points as gangs, logs, cancel."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from tests.serve.conftest import Api
from tests.serve.helpers import wait_for


@pytest.fixture
def local_api(local_ray: None, start_api: Callable[..., Api], db_url: str) -> Api:
    """A local-backend app (CPUs, jobs on the session's Ray) on each database."""
    from tests.serve.conftest import settings_for

    from megapod.serve.backends.devices import CpuDevices
    from megapod.serve.backends.local import LocalBackend

    backend = LocalBackend(settings_for(db_url, backend="local"), devices=CpuDevices())
    return start_api(db_url, backend_obj=backend, backend="local")


def run_job(api: Api, key: str, **kw: Any) -> dict[str, Any]:
    r = api.client.post("/api/v1/jobs", json={"idempotency_key": key, **kw}, headers=api.operator)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def state(api: Api, job_id: str) -> str:
    s: str = api.client.get(f"/api/v1/jobs/{job_id}", headers=api.viewer).json()["state"]
    return s


def logs(api: Api, job_id: str) -> list[str]:
    return [
        i["line"] for i in api.client.get(f"/api/v1/jobs/{job_id}/logs", headers=api.viewer).json()["items"]
    ]


def test_a_gang_runs_with_logs(local_api: Api) -> None:
    code = "import os; print('rank', os.environ['MEGAPOD_RANK'], 'of', os.environ['MEGAPOD_WORLD_SIZE'])"
    job = run_job(local_api, "gang", gpus=2, command=[sys.executable, "-c", code])
    wait_for(lambda: state(local_api, job["id"]) == "done", timeout_s=120)
    assert sorted(logs(local_api, job["id"])) == ["[0] rank 0 of 2", "[1] rank 1 of 2"]
    done = local_api.client.get(f"/api/v1/jobs/{job['id']}", headers=local_api.viewer).json()
    assert done["exit_code"] == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the database path is the gang test's
def test_entrypoint_failure_and_cancel(local_api: Api) -> None:
    bad = run_job(local_api, "ep", entrypoint="json:loads", args=["not json"])
    wait_for(lambda: state(local_api, bad["id"]) in ("done", "failed"), timeout_s=120)
    assert state(local_api, bad["id"]) == "failed"
    assert any("JSONDecodeError" in line for line in logs(local_api, bad["id"]))
    slow = run_job(
        local_api,
        "slow",
        command=[sys.executable, "-u", "-c", "import time\nprint('started')\ntime.sleep(60)"],
    )
    wait_for(lambda: "started" in logs(local_api, slow["id"]), timeout_s=120)
    r = local_api.client.post(f"/api/v1/jobs/{slow['id']}/cancel", headers=local_api.operator)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    too_big = local_api.client.post(
        "/api/v1/jobs",
        json={"idempotency_key": "big", "gpus": 64, "command": ["true"]},
        headers=local_api.operator,
    )
    assert too_big.status_code == 422 and too_big.json()["detail"].startswith("gpus:")
