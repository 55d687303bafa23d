"""The issue's end to end from the command line: ``megapod serve`` as a process and several
``megapod agent`` processes (one of them lying) run a real batch to completion, with quorum,
the kernel's own results, a balanced ledger and the owners' pools paid out (PPLNS)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.serve.process import ServeProcess

from megapod.fleet.kernels import run_unit
from megapod.fleet.rules import revenue_micro_usd

CARS = ("honest-1", "honest-2", "honest-3", "liar")


def test_serve_and_agent_processes_run_a_batch(tmp_path: Path) -> None:
    with ServeProcess(tmp_path, f"sqlite:///{tmp_path / 'fleet.db'}") as server:
        base = server.base_url
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {server.admin_token()}"})
        tokens, owners = {}, {}
        for name in CARS:
            r = admin.post("/api/v1/fleet/owners", json={"name": f"owner-{name}"})
            assert r.status_code == 201, r.text
            owners[name] = r.json()["id"]
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            r = httpx.post(f"{base}/api/v1/fleet/vehicles", json={"name": name}, headers=headers)
            assert r.status_code == 201, r.text
            tokens[name] = r.json()["token"]
        units, price, params = 10, 1000.0, {"batch": 8, "new_tokens": 32}
        body = {
            "idempotency_key": "cli-e2e",
            "units": units,
            "params": params,
            "seed": 5,
            "validation": {"replicas": 2, "quorum": 2, "max_replicas": 6, "timeout_s": 30.0},
            "economics": {"price_usd_per_mtok": price, "owner_share": 0.7},
            "scheme": "pplns",
            "deadline_s": 600,
        }
        r = admin.post("/api/v1/fleet/batches", json=body)
        assert r.status_code == 201, r.text
        batch = r.json()
        procs = {}
        for name in CARS:
            env = {**os.environ, "MEGAPOD_AGENT_CORRUPT": "1" if name == "liar" else "0"}
            cmd = [
                sys.executable, "-m", "megapod", "agent", "--server", base, "--token", tokens[name],
                "--state-dir", str(tmp_path / name), "--poll", "0.2", "--idle-exit", "5",
                "--report-batch", "3", "--simulated-battery", "--hour", "12",
            ]  # fmt: skip
            procs[name] = subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        try:
            deadline = time.monotonic() + 90
            while admin.get(f"/api/v1/fleet/batches/{batch['id']}").json()["state"] == "open":
                assert time.monotonic() < deadline, "the batch did not finish within 90 s"
                time.sleep(0.2)
            for name, p in procs.items():
                out, err = p.communicate(timeout=60)
                assert p.returncode == 0 and "Traceback" not in err, (name, err)
                assert '"units_run"' in out.splitlines()[-1], name
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    p.wait(timeout=20)
        done = admin.get(f"/api/v1/fleet/batches/{batch['id']}").json()
        assert (done["state"], done["accepted"], done["failed"]) == ("done", units, 0)
        checked = dict(params, vocab=256, d_model=64, layers=2, prompt_tokens=8, model_seed=0)
        cars = {v["name"]: v for v in admin.get("/api/v1/fleet/vehicles").json()["items"]}
        items = admin.get(f"/api/v1/fleet/batches/{batch['id']}/units").json()["items"]
        for u in items:
            assert u["result"] == run_unit("tiny-lm", checked, u["seed"])  # the liar never won
            valid = [r for r in u["replicas"] if r["valid"]]
            assert len(valid) == 2 and cars["liar"]["id"] not in {r["vehicle_id"] for r in valid}
        bal = admin.get("/api/v1/fleet/ledger/balances").json()
        acc = bal["accounts_micro_usd"]
        assert bal["total_micro_usd"] == 0 == sum(acc.values())
        revenue = units * revenue_micro_usd(batch["tokens_per_unit"], price)
        assert acc["customer"] == -revenue
        paid = sum(acc.get(f"owner:{oid}", 0) for oid in owners.values())
        assert 0.7 * revenue - units * len(CARS) <= paid <= 0.7 * revenue  # whole pools, rounded down
        assert acc.get(f"owner:{owners['liar']}", 0) == 0
