"""Preemption and checkpoint/restart on Ray (the local backend), and the queue policy's order."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.serve.conftest import Api
from tests.serve.helpers import wait_for
from tests.serve.test_ray import logs, run_job, state

from megapod.serve.backends.base import JobSpec
from megapod.serve.executor import RayExecutor
from megapod.spec.scenario import Policies

#: A job that counts to 40 in steps of 0.1 s, saving its count in its checkpoint folder on
#: SIGTERM, and resuming from it.
COUNTER = """
import os, pathlib, signal, sys, time
ckpt = pathlib.Path(os.environ["MEGAPOD_CHECKPOINT_DIR"]) / "count"
n = int(ckpt.read_text()) if ckpt.exists() else 0
print("start at", n, "restart", os.environ["MEGAPOD_RESTART_COUNT"], flush=True)
def save(*_):
    ckpt.write_text(str(n))
    print("checkpoint at", n, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, save)
while n < 40:
    n += 1
    time.sleep(0.1)
print("finished at", n, flush=True)
"""


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_preempt_checkpoints_requeues_and_resumes(
    local_ray: None, start_api: Callable[..., Api], db_url: str, tmp_path: Path
) -> None:
    from tests.serve.conftest import settings_for

    from megapod.serve.backends.devices import CpuDevices
    from megapod.serve.backends.local import LocalBackend

    settings = settings_for(db_url, backend="local", checkpoint_dir=tmp_path / "ckpt")
    api = start_api(db_url, backend_obj=LocalBackend(settings, devices=CpuDevices()), backend="local")
    job = run_job(api, "counter", command=[sys.executable, "-u", "-c", COUNTER])
    wait_for(lambda: any("start at 0" in ln for ln in logs(api, job["id"])), timeout_s=120)
    time.sleep(0.5)
    r = api.client.post(f"/api/v1/jobs/{job['id']}/preempt", headers=api.operator)
    assert r.status_code == 200, r.text
    wait_for(lambda: state(api, job["id"]) == "done", timeout_s=120)
    lines = logs(api, job["id"])
    saved = int(next(ln for ln in lines if ln.startswith("checkpoint at")).split()[-1])
    assert 0 < saved < 40
    assert f"start at {saved} restart 1" in lines and lines[-1] == "finished at 40"
    events = api.client.get("/api/v1/events?kind=job_requeued", headers=api.viewer).json()["items"]
    assert [e["data"]["job_id"] for e in events] == [job["id"]]
    audit = api.client.get("/api/v1/audit", headers=api.viewer).json()["items"]
    assert any(a["action"] == "job.preempt" and a["target"] == job["id"] for a in audit)
    viewer = api.client.post(f"/api/v1/jobs/{job['id']}/preempt", headers=api.viewer)
    assert viewer.status_code == 403
    again = api.client.post(f"/api/v1/jobs/{job['id']}/preempt", headers=api.operator)
    assert again.status_code == 409 and "not running" in again.json()["detail"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_twin_preempts_through_its_own_checkpoint(api: Api) -> None:
    job = api.client.post(
        "/api/v1/jobs", json={"idempotency_key": "p", "gpus": 8, "work_s": 1e6}, headers=api.operator
    ).json()
    wait_for(lambda: state(api, job["id"]) == "running", timeout_s=30)
    r = api.client.post(f"/api/v1/jobs/{job['id']}/preempt", headers=api.operator)
    assert r.status_code == 200, r.text
    twin = api.plane.backend.twin
    wait_for(lambda: int(twin.ledger.preemptions[twin.ledger.ids()[job["id"]]]) == 1, timeout_s=30)
    audit = api.client.get("/api/v1/audit", headers=api.viewer).json()["items"]
    assert any(a["action"] == "job.preempt" for a in audit)


def _run(ex: RayExecutor, ids: list[str], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not all((st := ex.status(j)) is not None and st.state == "done" for j in ids):
        assert time.monotonic() < deadline, [ex.status(j) for j in ids]
        ex.poll()
        time.sleep(0.05)


def test_queue_policy_orders_the_ray_queue(local_ray: None, tmp_path: Path) -> None:
    """Behind a job holding both CPUs, a short job submitted after a long one starts first
    under ``sjf`` and second under ``fifo``: the order is the twin's policy's key."""
    sleep = [sys.executable, "-c", "import time; time.sleep(1.5)"]
    quick = [sys.executable, "-c", "pass"]
    starts = {}
    for queue in ("sjf", "fifo"):
        ex = RayExecutor(policies=Policies(queue=queue), checkpoint_root=tmp_path)
        ex.start()
        try:
            ex.submit(JobSpec(f"{queue}-block", gpus=2, command=sleep))
            ex.poll()
            ex.submit(JobSpec(f"{queue}-long", gpus=2, work_s=100.0, command=quick))
            ex.submit(JobSpec(f"{queue}-short", gpus=2, work_s=1.0, command=quick))
            _run(ex, [f"{queue}-block", f"{queue}-long", f"{queue}-short"])
            st = {k: ex.status(f"{queue}-{k}") for k in ("long", "short", "block")}
            starts[queue] = {k: s.sim_start_s for k, s in st.items() if s is not None}
        finally:
            ex.stop()
    assert starts["sjf"]["block"] < starts["sjf"]["short"] < starts["sjf"]["long"]
    assert starts["fifo"]["long"] < starts["fifo"]["short"]


def test_a_lost_rank_restarts_the_gang_until_the_limit(local_ray: None, tmp_path: Path) -> None:
    import ray

    ex = RayExecutor(checkpoint_root=tmp_path, max_restarts=1)
    ex.start()
    ex.submit(JobSpec("lossy", gpus=1, command=[sys.executable, "-c", "import time; time.sleep(30)"]))
    for attempt in (1, 2):
        wait_for(lambda: (ex.poll(), ex.status("lossy"))[1].state == "running", timeout_s=60)  # type: ignore[union-attr]
        ray.kill(ex._jobs["lossy"].actors[0], no_restart=True)
        wait_for(lambda: (ex.poll(), ex.status("lossy"))[1].state != "running", timeout_s=60)  # type: ignore[union-attr]
        st = ex.status("lossy")
        assert st is not None
        if attempt == 1:
            assert st.state == "queued" and "restarted from its checkpoint (1 of 1)" in st.message
        else:
            assert st.state == "failed" and "after 1 restarts" in st.message
    ex.stop()
