"""``megapod.client``: the docs' walk-through against a real server, every method in process,
and ``--insecure-local``."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import REPO
from tests.serve.conftest import ADMIN, SITE, Api
from tests.serve.process import ServeProcess

from megapod.client import ApiError, Client

DOCS = REPO / "docs" / "serve.md"


def walkthrough_code() -> str:
    """The first ``python`` block under "From Python" in docs/serve.md."""
    text = DOCS.read_text()
    section = text[text.index("### From Python") :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "no python block under 'From Python'"
    return found.group(1)


def test_docs_walkthrough_against_a_server_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk-through runs as written; what it leaves behind is what the server did."""
    with ServeProcess(
        tmp_path, f"sqlite:///{tmp_path / 's.db'}", "--speed", "600", "--telemetry-every", "0.2"
    ) as srv:
        monkeypatch.setenv("MEGAPOD_URL", srv.base_url)
        monkeypatch.setenv("MEGAPOD_TOKEN", srv.admin_token())
        ns: dict[str, Any] = {}
        exec(compile(walkthrough_code(), str(DOCS), "exec"), ns)
        job, done, power = ns["job"], ns["done"], ns["power"]
        assert job["state"] in ("pending", "queued", "running") and job["gpus"] == 72
        assert job["submitted_by"] == "ops"
        assert ns["running"]["state"] in ("running", "done") and ns["running"]["sim_start_s"] is not None
        # start and end are the clock at the loop step that saw them: 0.25 s wall = 150 s here,
        # more on a busy machine
        assert done["state"] == "done" and done["sim_end_s"] - done["sim_start_s"] == pytest.approx(
            3600, abs=600
        )
        assert ns["series"]["points"] and all(p["metric"] == "it_power_w" for p in ns["series"]["points"])
        assert max(p["max"] for p in ns["series"]["points"]) > 0
        assert power["gpu_cap_w_requested"] == 800
        assert isinstance(ns["refused"], ApiError) and ns["refused"].status == 422
        assert "gpus" in ns["refused"].message
        actions = [(a["actor"], a["action"]) for a in ns["audit"]]
        assert ("admin", "token.create") in actions
        assert actions.count(("ops", "job.submit")) == 1  # the repeat made no second job
        assert ("ops", "power.cap") in actions
        ops: Client = ns["ops"]
        assert ops.jobs()["total"] == 1
        with pytest.raises(ApiError) as refused:
            ops.tokens()
        assert refused.value.status == 403 and "admin" in refused.value.message
    assert srv.stop() in (0, -15)
    assert "Traceback" not in srv.stderr()


def test_every_method_in_process(api: Api) -> None:
    """Each method against the app (both databases), through the app's TestClient."""
    admin = Client(http=api.client, token=ADMIN)
    assert admin.health()["status"] == "ok"
    assert admin.whoami() == {"name": "admin", "role": "admin"}
    assert admin.site()["inventory"]["gpus"] == admin.state()["gpus"] > 0
    site_map = admin.site_map()
    pods = admin.pods()
    assert [p["name"] for p in pods] == [p["name"] for p in site_map["pods"]]
    assert admin.pod(pods[0]["name"])["gpus"] == pods[0]["gpus"]
    with pytest.raises(ApiError) as missing:
        admin.pod("no such pod")
    assert missing.value.status == 404 and "no such pod" in missing.value.message
    nodes = admin.nodes(limit=2)
    assert len(nodes["items"]) == 2 and nodes["total"] >= 2

    new = admin.create_token("bob", "operator")
    bob = Client(http=api.client, token=new["token"])
    long = bob.submit_job("long", gpus=8, work_s=1e7, queue="q1")
    short = bob.submit_job(gpus=8, work_s=50.0)
    assert short["idempotency_key"].startswith("py-") and short["id"] != long["id"]
    assert bob.submit_job("long", gpus=8, work_s=1e7, queue="q1")["id"] == long["id"]
    with pytest.raises(ApiError) as clash:
        bob.submit_job("long", gpus=16, work_s=1e7, queue="q1")
    assert clash.value.status == 409 and "idempotency_key" in clash.value.message
    assert bob.wait_job(short["id"], timeout_s=30)["state"] == "done"
    assert [j["id"] for j in bob.jobs(queue="q1")["items"]] == [long["id"]]
    assert bob.jobs(state="done")["total"] == 1
    bob.wait_job(long["id"], until={"running"}, timeout_s=30)
    cancelled = bob.cancel_job(long["id"])
    assert cancelled["state"] == "cancelled" and cancelled["message"] == "cancelled by bob"
    with pytest.raises(ApiError) as again:
        bob.cancel_job(long["id"])
    assert again.value.status == 409
    with pytest.raises(ApiError) as ended:
        bob.preempt_job(long["id"])
    assert ended.value.status == 409 and "not running" in ended.value.message
    assert bob.job_logs(long["id"]) == {"items": [], "next_offset": 0}
    assert list(bob.follow_logs(long["id"], poll_s=0.05)) == []  # the twin's jobs print nothing
    assert any(e["data"].get("job_id") == long["id"] for e in bob.events(kind="job_cancelled"))

    with_reserve = bob.set_power_settings(battery_reserve_soc=0.4)
    assert with_reserve["battery_reserve_soc"] == 0.4
    assert bob.set_power_settings(grid_limit_w=1e6)["budget_w"] == min(1e6, with_reserve["feed_w"])
    assert bob.set_cap(700)["gpu_cap_w_requested"] == 700
    assert bob.set_cap(None)["gpu_cap_w_requested"] is None
    assert bob.power()["gpu_cap_w_requested"] is None
    states = list(bob.stream(interval_s=0.05, max_events=3))
    assert len(states) == 3 and states[-1]["t_s"] >= states[0]["t_s"]
    assert "site" in bob.telemetry_scopes() or bob.telemetry()["points"] == []

    assert [t["name"] for t in admin.tokens()][-1] == "bob"
    admin.revoke_token(new["id"])
    with pytest.raises(ApiError) as revoked:
        bob.state()
    assert revoked.value.status == 401 and "revoked" in revoked.value.message
    actions = {a["action"] for a in admin.audit(limit=1000)}
    assert {
        "token.create",
        "job.submit",
        "job.cancel",
        "power.settings",
        "power.cap",
        "token.revoke",
    } <= actions


def test_insecure_local_in_process(start_api: Callable[..., Api], sqlite_url: str) -> None:
    """Auth off: no token needed, everything acts as admin ``local``, in the audit log too."""
    api = start_api(sqlite_url, insecure_local=True)
    local = Client(http=api.client)
    assert local.whoami() == {"name": "local", "role": "admin"}
    job = local.submit_job("demo", gpus=8, work_s=10.0)
    assert job["submitted_by"] == "local"
    made = local.create_token("x", "viewer")
    assert made["role"] == "viewer"
    actors = {(a["actor"], a["role"], a["action"]) for a in local.audit()}
    assert {("local", "admin", "job.submit"), ("local", "admin", "token.create")} <= actors


def test_insecure_local_refused_off_loopback(tmp_path: Path) -> None:
    """``--insecure-local --host 0.0.0.0``: exit 2, one line, nothing started or written."""
    r = subprocess.run(
        [sys.executable, "-m", "megapod", "serve", str(SITE), "--insecure-local", "--host", "0.0.0.0",
         "--db", f"sqlite:///{tmp_path / 's.db'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--insecure-local" in lines[0] and "0.0.0.0" in lines[0]
    assert not (tmp_path / "s.db").exists()


def test_insecure_local_server_process(tmp_path: Path) -> None:
    """A real ``--insecure-local`` server: no token printed, a tokenless client is admin ``local``."""
    with ServeProcess(
        tmp_path, f"sqlite:///{tmp_path / 's.db'}", "--insecure-local", "--speed", "100"
    ) as srv:
        local = Client(srv.base_url)
        assert local.whoami()["name"] == "local"
        assert local.submit_job("k", gpus=8, work_s=5.0)["submitted_by"] == "local"
        assert [a["actor"] for a in local.audit()] == ["local"]
        local.close()
    assert "first admin token" not in srv.stderr()
    assert "--insecure-local" in srv.stderr()
