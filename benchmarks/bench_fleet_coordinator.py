"""Fleet coordinator throughput: accepted results per second on PostgreSQL, over HTTP.

A control plane (uvicorn, one process) on a private PostgreSQL server (started from the
installed binaries with its default, durable settings, unless ``--db`` names one) serves one
work batch; ``--clients`` load processes, each driving ``--cars`` enrolled cars, loop: lease
``--batch`` units (``POST /api/v1/fleet/work``), report their results (``POST
/api/v1/fleet/results/batch``, or one ``POST /api/v1/fleet/results`` each at ``--batch 1``).
Units are replicated twice with a quorum of 2, so every unit is judged, accepted, booked and
its replicas' reputations updated. The cars report a digest derived from the unit's seed
instead of running the kernel: this measures the coordinator, not the cars.

Reported: results recorded per second (the figure the issue asks for), units accepted per
second, and the median request time, each for the batch sizes asked. Nothing is asserted (the
machine is shared; its load average is recorded with the figures). The anchor: BOINC's
single-server task distribution, ~8.8 million tasks a day (~100/s; Anderson, Korpela and
Walton, "High-performance task distribution for volunteer computing", e-Science 2005).

Run: .venv/bin/python benchmarks/bench_fleet_coordinator.py [--batches 1,50,200]
     [--clients 2] [--cars 2] [--seconds 20] [--db URL] [--json benchmarks/data/fleet_coordinator.json]
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import multiprocessing as mp
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from megapod.client import wait_until_up

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "examples" / "megapod.yaml"
ADMIN = "bench-admin-token-0123456789"
ANCHOR_PER_S = 8.8e6 / 86400


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_postgres(folder: Path) -> tuple[str, list[str]]:
    """A private PostgreSQL server in ``folder``; its URL and the command that stops it."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not found:
        raise SystemExit("no PostgreSQL binaries under /usr/lib/postgresql; pass --db URL")
    pg_bin = Path(found[-1])
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder.chmod(0o755)
    if as_pg:
        shutil.chown(folder, user="postgres")
    data = folder / "data"
    subprocess.run(
        [*as_pg, str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    subprocess.run(
        [
            *as_pg,
            str(pg_bin / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-o",
            opts,
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    stop = [*as_pg, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop


def serve(db_url: str, port: int) -> None:
    """Run the control plane (in a child process)."""
    import uvicorn

    from megapod.serve import Settings, create_app

    settings = Settings(
        site=SITE,
        db_url=db_url,
        port=port,
        initial_admin_token=ADMIN,
        log_tokens=False,
        rate_per_s=1e6,
        rate_burst=10**6,
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def digest(seed: int) -> str:
    """The result every honest car reports for the unit seeded ``seed`` (a stand-in)."""
    return hashlib.sha256(str(seed).encode()).hexdigest()


def drive(base: str, tokens: list[str], batch: int, seconds: float, out: Any) -> None:
    """Lease and report for ``tokens``' cars for ``seconds``; put (results, accepted, times)."""
    clients = [
        httpx.Client(base_url=base, headers={"Authorization": f"Bearer {t}"}, timeout=60) for t in tokens
    ]
    state = {"plugged_in": True, "soc": 0.8, "latch": True, "hour": 12}
    recorded, times = 0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for c in clients:
            t0 = time.perf_counter()
            items = c.post("/api/v1/fleet/work", json={"state": state, "max_units": batch}).json()["items"]
            times.append(time.perf_counter() - t0)
            if not items:
                continue
            results = [{"replica_id": i["replica_id"], "result": digest(i["seed"])} for i in items]
            t0 = time.perf_counter()
            if batch == 1:
                answers = [c.post("/api/v1/fleet/results", json=results[0]).json()]
            else:
                answers = c.post("/api/v1/fleet/results/batch", json={"items": results}).json()["items"]
            times.append(time.perf_counter() - t0)
            recorded += sum(a["status"] == "recorded" for a in answers)
    out.put((recorded, times))


def run_once(
    base: str, admin: httpx.Client, key: str, batch: int, clients: int, cars: int, seconds: float, units: int
) -> dict[str, Any]:
    """One measurement: a fresh batch, ``clients`` processes of ``cars`` cars each."""
    r = admin.post("/api/v1/fleet/owners", json={"name": f"owner-{key}"})
    owner_h = {"Authorization": f"Bearer {r.json()['token']}"}
    tokens = []
    for i in range(clients * cars):
        v = httpx.post(f"{base}/api/v1/fleet/vehicles", json={"name": f"car-{i}"}, headers=owner_h)
        tokens.append(v.json()["token"])
    body = {
        "idempotency_key": key,
        "units": units,
        "params": {"batch": 1, "new_tokens": 1},
        "validation": {"replicas": 2, "quorum": 2, "timeout_s": 600},
        "deadline_s": 3600,
        "economics": {"price_usd_per_mtok": 1000.0},
    }
    admin.post("/api/v1/fleet/batches", json=body).raise_for_status()
    before = _accepted(admin)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [
        ctx.Process(target=drive, args=(base, tokens[i * cars : (i + 1) * cars], batch, seconds, q))
        for i in range(clients)
    ]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    got = [q.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    accepted = _accepted(admin) - before
    recorded = sum(g[0] for g in got)
    times = [t for g in got for t in g[1]]
    bal = admin.get("/api/v1/fleet/ledger/balances").json()
    return {
        "report_batch": batch,
        "clients": clients,
        "cars": clients * cars,
        "wall_s": round(wall, 2),
        "results_recorded": recorded,
        "units_accepted": accepted,
        "results_per_s": round(recorded / wall, 1),
        "units_accepted_per_s": round(accepted / wall, 1),
        "median_request_ms": round(1000 * statistics.median(times), 1) if times else None,
        "ledger_total_micro_usd": bal["total_micro_usd"],
    }


def _accepted(admin: httpx.Client) -> int:
    """Units accepted so far, every batch (the oldest open batch's units are leased first, so
    a measurement may finish units of the one before)."""
    return sum(
        b["accepted"] for b in admin.get("/api/v1/fleet/batches", params={"limit": 1000}).json()["items"]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="1,50,200", help="report batch sizes to measure")
    ap.add_argument("--clients", type=int, default=2, help="load processes")
    ap.add_argument("--cars", type=int, default=2, help="cars per load process")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each measurement")
    ap.add_argument("--db", default=None, help="database URL (default: a private PostgreSQL)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mp-bench-fleet-"))
    stop: list[str] | None = None
    db_url = args.db
    if db_url is None:
        db_url, stop = start_postgres(folder)
    port = _free_port()
    server = mp.get_context("spawn").Process(target=serve, args=(db_url, port), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, 120.0, server.is_alive)
        admin = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60)
        runs = []
        for n in (int(x) for x in args.batches.split(",")):
            units = max(2000, int(args.seconds * 3000))
            res = run_once(
                base, admin, f"bench-{n}-{time.time_ns()}", n, args.clients, args.cars, args.seconds, units
            )
            runs.append(res)
            print(json.dumps(res))
        doc = {
            "benchmark": "fleet coordinator: accepted results per second",
            "database": db_url.split("://")[0] + (" (private server, default settings)" if stop else ""),
            "machine": {
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "load_average_1m_after": round(os.getloadavg()[0], 2),
                "note": "shared machine: other work ran at the same time",
            },
            "anchor": {
                "boinc_tasks_per_s": round(ANCHOR_PER_S, 1),
                "source": "Anderson, Korpela, Walton, e-Science 2005: ~8.8 million tasks/day",
            },
            "runs": runs,
        }
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(doc, indent=2) + "\n")
    finally:
        server.terminate()
        server.join(timeout=20)
        if stop is not None:
            subprocess.run(stop, check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
