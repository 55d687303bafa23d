"""One run of ``megapod serve --backend local`` on this machine's real devices, recorded.

On a GPU machine this is the real NVML run of the ``local`` backend: power, temperature,
utilization, clocks and the enforced power limit read through the API and ``/metrics`` while
a job loads a GPU, a power cap set and read back, then lifted. Without a GPU the same run
reads the CPUs (psutil) and checks that a cap is refused with a 409. Run::

    python benchmarks/measure_serve_local.py --out serve_local/

It starts the server as a process on loopback (``--insecure-local``, an SQLite file under
``--out``, a local Ray), and:

1. reads the live state, the power settings and the telemetry scopes;
2. GPUs: sets every GPU's cap to ``--cap-share`` of its enforced limit and reads the enforced
   value back, then lifts the cap and reads it back again; CPUs: a cap must be refused (409);
3. submits a job (``command``): a bf16 matrix-product loop on its GPU when PyTorch has CUDA,
   else a busy loop on one CPU, for ``--load-s`` seconds, sampling the state meanwhile;
4. waits for the job to end, reads its logs, the events, the audit log and ``/metrics``.

Written under ``--out``: ``summary.json`` (the checks, each passed or not, and the figures:
idle and loaded power and utilization, cap requested and enforced) and ``samples.csv`` (the
state every ``--every-s`` seconds). It exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from bench_serve import free_port, stop

from megapod.client import ApiError, Client, wait_until_up

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "examples" / "megapod.yaml"

GPU_LOAD = """
import time, torch
n, t0 = 8192, time.monotonic()
a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
steps = 0
while time.monotonic() - t0 < {seconds}:
    for _ in range(20):
        a @ b
    torch.cuda.synchronize()
    steps += 20
print(f"{{steps}} products of {{n}}^2 bf16 in {{time.monotonic() - t0:.1f}} s", flush=True)
"""
CPU_LOAD = """
import time
t0, n = time.monotonic(), 0
while time.monotonic() - t0 < {seconds}:
    n += 1
print(f"{{n}} turns of a busy loop in {{time.monotonic() - t0:.1f}} s", flush=True)
"""
SAMPLED = ("it_power_w", "slots_busy", "gpu_cap_w", "utilization", "temperature_c")


def torch_has_cuda() -> bool:
    """Whether this Python's PyTorch (not a megapod dependency) sees a CUDA device."""
    probe = "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, check=False).returncode == 0


def sample(c: Client) -> dict[str, Any]:
    """The live state's fields this run follows, stamped with the wall clock."""
    st = dict(c.state())
    temps = [d["temperature_c"] for d in st.get("devices") or [] if d.get("temperature_c") is not None]
    st["temperature_c"] = max(temps) if temps else None
    return {"t_s": round(time.monotonic(), 3), **{k: st.get(k) for k in SAMPLED}}


def mean_of(rows: list[dict[str, Any]], key: str) -> float | None:
    """Mean of the numeric values of ``key`` in ``rows`` (None without any)."""
    values = [float(r[key]) for r in rows if isinstance(r.get(key), int | float)]
    return round(statistics.fmean(values), 2) if values else None


def run(c: Client, base: str, args: argparse.Namespace, checks: dict[str, bool]) -> dict[str, Any]:
    """Steps 1–4 of the module's docstring against the server at ``base``."""
    out: dict[str, Any] = {"state_at_start": dict(c.state()), "power_at_start": dict(c.power())}
    gpus = int(out["state_at_start"].get("gpus") or 0)
    out["devices"] = "gpu" if gpus else "cpu"
    idle: list[dict[str, Any]] = []
    for _ in range(int(args.idle_s / args.every_s)):
        idle.append(sample(c))
        time.sleep(args.every_s)
    if gpus:
        enforced = float(out["state_at_start"]["gpu_cap_w"])
        cap = round(enforced * args.cap_share)
        capped = c.set_cap(cap)
        out["cap"] = {"requested_w": cap, "enforced_before_w": enforced, "answer": dict(capped)}
        read_back = c.power().get("gpu_cap_w_enforced")
        out["cap"]["enforced_read_back_w"] = read_back
        checks["cap enforced as set (within 1 W)"] = (
            read_back is not None and abs(float(read_back) - cap) <= 1.0
        )
        lifted = c.set_cap(None)
        out["cap"]["after_lift"] = dict(lifted)
        checks["cap lifted back to the default"] = (
            abs(float(lifted.get("gpu_cap_w_enforced") or 0) - enforced) <= 1.0
        )
    else:
        try:
            c.set_cap(300.0)
            checks["cap refused without a GPU"] = False
        except ApiError as exc:
            out["cap"] = {"status": exc.status, "message": exc.message}
            checks["cap refused without a GPU"] = exc.status == 409
    load = (GPU_LOAD if gpus and torch_has_cuda() else CPU_LOAD).format(seconds=args.load_s)
    out["load"] = "bf16 matmul on 1 GPU" if load.startswith("\nimport time, torch") else "busy loop on 1 CPU"
    job = c.submit_job(command=[sys.executable, "-c", load], gpus=1, name="measure-local")
    c.wait_job(job["id"], until={"running", "done", "failed", "cancelled"}, timeout_s=120.0)
    loaded: list[dict[str, Any]] = []
    deadline = time.monotonic() + args.load_s + 60.0
    while c.job(job["id"])["state"] == "running" and time.monotonic() < deadline:
        loaded.append(sample(c))
        time.sleep(args.every_s)
    done = c.wait_job(job["id"], timeout_s=60.0)
    out["job"] = {k: v for k, v in done.items() if k != "command"}  # it names this machine's Python
    out["job_log"] = [line["line"] for line in c.job_logs(job["id"])["items"]]
    checks["job ran to done"] = done["state"] == "done" and done.get("exit_code") == 0
    checks["job log streamed"] = any("in " in line for line in out["job_log"])
    out["telemetry_scopes"] = c.telemetry_scopes()
    device = "gpu:0" if gpus else "cpu"
    series = c.telemetry(device, "utilization")
    out["telemetry_points"] = len(series["points"])
    checks["device telemetry stored"] = device in out["telemetry_scopes"] and out["telemetry_points"] > 0
    checks["utilization rises under the load"] = (mean_of(loaded, "utilization") or 0) > (
        mean_of(idle, "utilization") or 0
    )
    metrics = httpx.get(f"{base}/metrics", timeout=10.0).text
    ours = sorted(
        {line.split("{")[0].split(" ")[0] for line in metrics.splitlines() if line.startswith("megapod_")}
    )
    out["metrics"] = ours
    checks["energy counter on /metrics"] = any(
        m.startswith("megapod_energy") and m.endswith("_total") for m in ours
    )
    actions = [a["action"] for a in c.audit(limit=100)]
    out["audit_actions"] = actions
    checks["submit audited"] = "job.submit" in actions
    if gpus:
        checks["cap actions audited"] = actions.count("power.cap") >= 2
        checks["load raises GPU power"] = (mean_of(loaded, "it_power_w") or 0) > (
            mean_of(idle, "it_power_w") or 0
        )
    out["figures"] = {
        phase: {k: mean_of(rows, k) for k in ("it_power_w", "utilization", "temperature_c", "slots_busy")}
        | {"samples": len(rows)}
        for phase, rows in (("idle", idle), ("loaded", loaded))
    }
    out["samples"] = [{"phase": "idle", **r} for r in idle] + [{"phase": "loaded", **r} for r in loaded]
    return out


def main() -> None:
    """Start the server, run the steps, write the record, exit 1 when a check failed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("serve_local"))
    ap.add_argument("--load-s", type=float, default=20.0, help="seconds the job loads its device")
    ap.add_argument("--idle-s", type=float, default=3.0, help="seconds sampled before the job")
    ap.add_argument("--every-s", type=float, default=0.5, help="seconds between two samples")
    ap.add_argument("--cap-share", type=float, default=0.8, help="cap as a share of the enforced limit")
    args = ap.parse_args()
    if not (1 <= args.load_s <= 600 and 0 <= args.idle_s <= 60 and 0.1 <= args.every_s <= 10):
        raise SystemExit("--load-s must be in [1, 600], --idle-s in [0, 60], --every-s in [0.1, 10]")
    if not 0.3 <= args.cap_share <= 1.0:
        raise SystemExit("--cap-share must be in [0.3, 1]")
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{(args.out / 'serve.db').resolve()}"
    cmd = [sys.executable, "-m", "megapod", "serve", str(SITE), "--backend", "local", "--insecure-local",
           "--db", db, "--port", str(port), "--ray-cpus", str(max(2, os.cpu_count() or 2))]  # fmt: skip
    checks: dict[str, bool] = {}
    with (args.out / "serve.stderr").open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=args.out)
        try:
            wait_until_up(base, 180.0, lambda: proc.poll() is None)
            with Client(base, None, timeout_s=30.0) as c:
                record = run(c, base, args, checks)
        finally:
            stop(proc, timeout_s=60.0)
    samples = record.pop("samples")
    with (args.out / "samples.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["phase", "t_s", *SAMPLED])
        w.writeheader()
        w.writerows(samples)
    summary = {"benchmark": "measure_serve_local", "checks": checks, **record}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    print(json.dumps(record["figures"]))
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
