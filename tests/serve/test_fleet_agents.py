"""The coordinator with real agents: ``megapod agent`` processes on loopback, some lying, one
killed mid-unit, against a live server on SQLite and on PostgreSQL.

Checked against an independent reference: every accepted result equals the kernel run here,
so the liar's minority never wins; the killed car's lease is lost and its unit re-issued;
the ledger balances; each owner is paid what revenue share says, computed here by hand.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.serve.conftest import ADMIN, settings_for

from megapod.fleet.kernels import run_unit
from megapod.fleet.rules import revenue_micro_usd

HONEST, LIAR, LEAVER = ("honest-1", "honest-2", "honest-3"), "liar", "leaver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live(db_url: str) -> Iterator[str]:
    """A control plane served by uvicorn on loopback, in a thread of this process."""
    import uvicorn

    from megapod.serve import create_app

    port = _free_port()
    app = create_app(settings_for(db_url, port=port, log_tokens=False))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).json()["status"] == "ok":
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "server did not start within 60 s"
        time.sleep(0.1)
    yield base
    server.should_exit = True
    thread.join(timeout=20)


def _agent(
    base: str, token: str, tmp: Path, name: str, corrupt: bool, report_batch: int
) -> subprocess.Popen[str]:
    env = {**os.environ, "MEGAPOD_AGENT_CORRUPT": "1" if corrupt else "0"}
    cmd = [
        sys.executable, "-m", "megapod", "agent", "--server", base, "--token", token,
        "--state-dir", str(tmp / name), "--poll", "0.2", "--idle-exit", "20", "--max-units", "2",
        "--report-batch", str(report_batch), "--simulated-battery", "--hour", "12", "--checkpoint-steps", "8",
    ]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_agents_with_a_liar_and_a_departure(live: str, tmp_path: Path) -> None:
    admin = httpx.Client(base_url=live, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)
    tokens: dict[str, str] = {}
    owner_of: dict[str, int] = {}
    for name in (*HONEST, LIAR, LEAVER):
        r = admin.post("/api/v1/fleet/owners", json={"name": f"owner-{name}"})
        assert r.status_code == 201, r.text
        owner_of[name] = r.json()["id"]
        r = httpx.post(
            f"{live}/api/v1/fleet/vehicles",
            json={"name": name},
            headers={"Authorization": f"Bearer {r.json()['token']}"},
        )
        assert r.status_code == 201, r.text
        tokens[name] = r.json()["token"]
    units, price = 14, 1000.0
    params = {"batch": 16, "new_tokens": 48}
    r = admin.post(
        "/api/v1/fleet/batches",
        json={
            "idempotency_key": "agents-1",
            "units": units,
            "params": params,
            "seed": 11,
            "validation": {"replicas": 2, "quorum": 2, "max_replicas": 6, "timeout_s": 6.0},
            "economics": {"price_usd_per_mtok": price, "owner_share": 0.7},
            "scheme": "revenue-share",
            "deadline_s": 600,
        },
    )
    assert r.status_code == 201, r.text
    batch = r.json()
    procs = {
        name: _agent(live, tokens[name], tmp_path, name, corrupt=name == LIAR, report_batch=1 + i % 2)
        for i, name in enumerate((LEAVER, *HONEST, LIAR))
    }
    try:
        # the leaver vanishes (SIGKILL) while it holds a lease: mid-unit
        leaver_id = _vehicle_ids(admin)[LEAVER]
        deadline = time.monotonic() + 30
        while not _leased_to(admin, batch["id"], leaver_id):
            assert time.monotonic() < deadline, "the leaving car never got a unit"
            time.sleep(0.01)
        procs[LEAVER].send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 60
        while admin.get(f"/api/v1/fleet/batches/{batch['id']}").json()["state"] == "open":
            assert time.monotonic() < deadline, "the batch did not finish within 60 s"
            time.sleep(0.2)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
    for name in (*HONEST, LIAR):
        assert "Traceback" not in procs[name].stderr.read(), name  # type: ignore[union-attr]
    done = admin.get(f"/api/v1/fleet/batches/{batch['id']}").json()
    assert done["state"] == "done" and done["accepted"] == units and done["failed"] == 0
    ids = _vehicle_ids(admin)
    items = admin.get(f"/api/v1/fleet/batches/{batch['id']}/units").json()["items"]
    checked = dict(params, vocab=256, d_model=64, layers=2, prompt_tokens=8, model_seed=0)
    lost_units = 0
    for u in items:
        # the accepted result is the kernel's own result, run here: a wrong minority never won
        assert u["result"] == run_unit("tiny-lm", checked, u["seed"]), u
        for rep in u["replicas"]:
            if rep["vehicle_id"] == ids[LIAR] and rep["state"] == "reported":
                assert rep["valid"] is False
        lost_units += any(r["vehicle_id"] == ids[LEAVER] and r["state"] == "lost" for r in u["replicas"])
    assert lost_units >= 1  # the leaver's lease ran out, and its unit was accepted all the same
    cars = {v["name"]: v for v in admin.get("/api/v1/fleet/vehicles").json()["items"]}
    assert cars[LIAR]["results_valid"] == 0 and cars[LIAR]["reputation"] == 0
    assert sum(c["results_valid"] for c in cars.values()) == 2 * units  # quorum 2: two valid per unit
    # the books: balanced, revenue for every unit, owners paid revenue share, computed here
    bal = admin.get("/api/v1/fleet/ledger/balances").json()
    acc = bal["accounts_micro_usd"]
    assert bal["total_micro_usd"] == 0 == sum(acc.values())
    revenue = revenue_micro_usd(batch["tokens_per_unit"], price)
    assert acc["customer"] == -units * revenue
    expected = dict.fromkeys(owner_of.values(), 0.0)
    by_vehicle = {v: owner_of[n] for n, v in ids.items()}
    for u in items:
        valid = [r["vehicle_id"] for r in u["replicas"] if r["valid"]]
        for vid in valid:
            expected[by_vehicle[vid]] += 0.7 * revenue / len(valid)
    for name, oid in owner_of.items():
        paid = acc.get(f"owner:{oid}", 0)
        assert paid == int(expected[oid]) or abs(paid - expected[oid]) <= 1, name
    assert acc.get(f"owner:{owner_of[LIAR]}", 0) == 0
    assert acc["operator"] == units * revenue - sum(v for k, v in acc.items() if k.startswith("owner:"))
    month = datetime.now(UTC).strftime("%Y-%m")
    st = admin.get(f"/api/v1/fleet/owners/{owner_of[HONEST[0]]}/statement", params={"month": month}).json()
    assert st["closing_micro_usd"] == acc[f"owner:{owner_of[HONEST[0]]}"] > 0


def _vehicle_ids(admin: httpx.Client) -> dict[str, int]:
    return {v["name"]: v["id"] for v in admin.get("/api/v1/fleet/vehicles").json()["items"]}


def _leased_to(admin: httpx.Client, batch_id: int, vehicle_id: int) -> bool:
    items: list[dict[str, Any]] = admin.get(f"/api/v1/fleet/batches/{batch_id}/units").json()["items"]
    return any(r["vehicle_id"] == vehicle_id and r["state"] == "leased" for u in items for r in u["replicas"])
