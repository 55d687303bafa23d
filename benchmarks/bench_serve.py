"""Load on ``megapod serve``: job submissions per second and read latency, on SQLite and PostgreSQL.

Goal (issue): on a 2-core machine, >= 500 submits/s and >= 2,000 reads/s sustained, with p99
latency <= 50 ms. The server runs as its own process (twin backend, ``--speed 100``) on
loopback; this process is the load: ``--connections`` keep-alive HTTP/1.1 connections on one
event loop, each with a token of its own (the rate limit is per token), for ``--seconds`` per
phase.

Phases: *submit* (``POST /api/v1/jobs``, a new idempotency key each, 1 GPU for 10 simulated
seconds, so jobs keep starting and ending), then *read* (each thread in turn ``GET`` a job,
the first page of 20 jobs, and the live state). Latency is per request, from send to the end
of the answer, so it includes this process's own time on the shared CPUs.

Run: ``.venv/bin/python benchmarks/bench_serve.py`` (SQLite in a temporary folder, and a
private PostgreSQL started from the installed binaries when there are any); ``--db URL`` to
load a database of your own instead (empty: the first admin token is read from the server);
``--repeat N`` runs per database; ``--baseline REV`` runs a worktree of that revision side by
side, alternating with this checkout, and prints the ratios of the median rates; ``--out FILE``
for the JSON (default ``benchmarks/data/serve.json``). The figures in docs/serve.md come from
``--repeat 3``.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httptools
import httpx
import psutil
import uvloop
from checkout import revision_src

from megapod.client import wait_until_up

REPO = Path(__file__).resolve().parents[1]
SITE = REPO / "examples" / "megapod.yaml"
GOAL = {"submits_per_s": 500.0, "reads_per_s": 2000.0, "p99_ms": 50.0}


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def private_postgres(folder: Path) -> Iterator[tuple[Callable[[str], str], psutil.Process]]:
    """A PostgreSQL server of its own in ``folder`` (default durability settings); yields a
    function that makes an empty database and answers its URL, and the server's main process
    (whose children are the backends serving each connection)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [shutil.which("pg_ctl") or ""]
    pg_ctl = Path(found[-1]) if found[-1] else None
    if pg_ctl is None:
        raise SystemExit("no PostgreSQL binaries (pg_ctl) found: give --db URL")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run as the postgres user
        as_user = ["runuser", "-u", "postgres", "--"]
        folder.chmod(0o755)
        shutil.chown(folder, user="postgres")
    data, port = folder / "data", free_port()
    initdb = [*as_user, str(pg_ctl.with_name("initdb")), "-D", str(data), "-U", "postgres", "--auth=trust"]
    subprocess.run(initdb, check=True, capture_output=True)
    opts = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=100"
    start = [*as_user, str(pg_ctl), "start", "-w", "-D", str(data), "-l", str(folder / "log"), "-o", opts]
    subprocess.run(start, check=True, capture_output=True)

    def new_database(name: str) -> str:
        createdb = [*as_user, str(pg_ctl.with_name("createdb")), "-h", "127.0.0.1", "-p", str(port)]
        subprocess.run([*createdb, "-U", "postgres", name], check=True, capture_output=True)
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

    postmaster = psutil.Process(int((data / "postmaster.pid").read_text().split()[0]))
    try:
        yield new_database, postmaster
    finally:
        stop = [*as_user, str(pg_ctl), "stop", "-m", "fast", "-D", str(data)]
        subprocess.run(stop, capture_output=True, check=False)


@contextmanager
def server(db_url: str, folder: Path, src: Path | None = None) -> Iterator[tuple[str, str, psutil.Process]]:
    """``megapod serve`` on ``db_url`` as a process (of the package in ``src``, default this
    checkout's); its base URL, first admin token and process."""
    port = free_port()
    err_path = folder / f"serve-{port}.stderr"
    env = {**os.environ, "PYTHONPATH": str(src or REPO / "src")}
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "megapod", "serve", str(SITE), "--db", db_url, "--port", str(port),
             "--speed", "100"],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=err, env=env,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_up(base, 90.0, lambda: proc.poll() is None)
        except RuntimeError:
            raise SystemExit(f"server exited:\n{err_path.read_text()}") from None
        found = re.search(r"first admin token \(shown once\): (\S+)", err_path.read_text())
        if not found:
            raise SystemExit("no first admin token: give an empty database")
        yield base, found.group(1), psutil.Process(proc.pid)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[Any], timeout_s: float = 30.0) -> None:
    """End a server process: SIGTERM (it shuts down cleanly), SIGKILL after ``timeout_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def percentiles(latencies_s: list[float]) -> dict[str, float]:
    """p50 and p99 [ms] of a list of latencies [s]."""
    if len(latencies_s) < 2:
        return {"p50_ms": float("nan"), "p99_ms": float("nan")}
    q = statistics.quantiles(latencies_s, n=100, method="inclusive")
    return {"p50_ms": round(q[49] * 1e3, 2), "p99_ms": round(q[98] * 1e3, 2)}


def _tree_cpu_s(root: psutil.Process) -> dict[int, float]:
    """CPU time [s] (user + system) of ``root`` and of each of its children, by process id."""
    out: dict[int, float] = {}
    for p in [root, *root.children(recursive=True)]:
        try:
            out[p.pid] = sum(p.cpu_times()[:2])
        except psutil.NoSuchProcess:
            continue
    return out


def cpu_meter(
    proc: psutil.Process, database: psutil.Process | None = None
) -> Callable[[int], dict[str, float]]:
    """Start counting CPU time; the callable gives the server's and this process's CPU time
    per request [ms] since (user + system: a figure the other load on the machine disturbs
    less), and the database server's (its processes alive at the end) when ``database`` is
    given."""
    server0, client0 = sum(proc.cpu_times()[:2]), time.process_time()
    db0 = _tree_cpu_s(database) if database is not None else {}

    def per_request(n: int) -> dict[str, float]:
        server_s = sum(proc.cpu_times()[:2]) - server0
        client_s = time.process_time() - client0
        out = {
            "server_cpu_ms_per_request": round(server_s / max(n, 1) * 1e3, 3),
            "client_cpu_ms_per_request": round(client_s / max(n, 1) * 1e3, 3),
        }
        if database is not None:
            db_s = sum(t - db0.get(pid, 0.0) for pid, t in _tree_cpu_s(database).items())
            out["database_cpu_ms_per_request"] = round(db_s / max(n, 1) * 1e3, 3)
        return out

    return per_request


class Connection:
    """One keep-alive HTTP/1.1 connection with a token of its own: send a request, await the
    whole answer (parsed by httptools, uvicorn's own parser). A load generator this thin
    (about 0.1 ms of CPU a request, against 0.6-0.8 ms for httpx's threads) leaves the shared
    cores to the server being measured."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, token: str
    ) -> None:
        self.reader, self.writer = reader, writer
        self.head = f"Host: {host}\r\nAuthorization: Bearer {token}\r\n"
        self.body: list[bytes] = []
        self.complete = False

    @classmethod
    async def open(cls, base: str, token: str) -> Connection:
        """Connect to ``base`` (``http://host:port``)."""
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer, f"{host}:{port}", token)

    async def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        """The status and body of one request."""
        data = b"" if body is None else json.dumps(body).encode()
        extra = "" if body is None else f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        self.writer.write(f"{method} {path} HTTP/1.1\r\n{self.head}{extra}\r\n".encode() + data)
        parser = httptools.HttpResponseParser(self)
        self.body, self.complete = [], False
        while not self.complete:
            chunk = await self.reader.read(1 << 16)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            parser.feed_data(chunk)
        return parser.get_status_code(), b"".join(self.body)

    def on_body(self, chunk: bytes) -> None:  # httptools callback
        self.body.append(chunk)

    def on_message_complete(self) -> None:  # httptools callback
        self.complete = True

    def close(self) -> None:
        """Close the connection."""
        self.writer.close()


Step = Callable[[Connection, int, int], Awaitable[tuple[str, bool]]]


def drive(
    base: str, tokens: list[str], seconds: float, step: Step
) -> tuple[float, dict[str, list[float]], int]:
    """Run ``await step(connection, i, n)`` in a loop on one connection per token for
    ``seconds``, all on one uvloop event loop; returns the wall time, the latencies [s] by
    request kind, and the failed requests."""
    lat: list[dict[str, list[float]]] = [{} for _ in tokens]
    failed = [0] * len(tokens)

    async def run(i: int, stop: float) -> None:
        c = await Connection.open(base, tokens[i])
        try:
            n = 0
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                kind, ok = await step(c, i, n)
                lat[i].setdefault(kind, []).append(time.perf_counter() - t0)
                failed[i] += not ok
                n += 1
        finally:
            c.close()

    async def every() -> float:
        t0 = time.monotonic()
        await asyncio.gather(*(run(i, t0 + seconds) for i in range(len(tokens))))
        return time.monotonic() - t0

    wall = uvloop.run(every())
    merged: dict[str, list[float]] = {}
    for d in lat:
        for k, v in d.items():
            merged.setdefault(k, []).extend(v)
    return wall, merged, sum(failed)


def measure(
    db_url: str,
    label: str,
    seconds: float,
    connections: int,
    folder: Path,
    database: psutil.Process | None = None,
    src: Path | None = None,
) -> dict[str, Any]:
    """Both phases against a fresh server on ``db_url`` (an empty database); ``database``: the
    database server's main process, whose CPU time is counted too; ``src``: the package folder
    the server runs from (default this checkout's)."""
    with server(db_url, folder, src) as (base, admin, proc):
        h = {"Authorization": f"Bearer {admin}"}
        made = [
            httpx.post(f"{base}/api/v1/tokens", json={"name": f"load-{i}", "role": "operator"}, headers=h)
            for i in range(connections)
        ]
        tokens = [r.json()["token"] for r in made]
        ids: list[list[str]] = [[] for _ in tokens]

        async def submit(c: Connection, i: int, n: int) -> tuple[str, bool]:
            job = {"idempotency_key": f"{label}-{i}-{n}", "gpus": 1, "work_s": 10.0}
            status, body = await c.request("POST", "/api/v1/jobs", job)
            if status == 201:
                ids[i].append(json.loads(body)["id"])
            return "submit", status == 201

        cpu = cpu_meter(proc, database)
        wall, lat, failed = drive(base, tokens, seconds, submit)
        n_submit = len(lat.get("submit", []))
        out: dict[str, Any] = {
            "db": label,
            "connections": connections,
            "seconds": round(wall, 2),
            "submit": {"requests": n_submit, "per_s": round(n_submit / wall, 1), "failed": failed,
                       **percentiles(lat.get("submit", [])), **cpu(n_submit)},
        }  # fmt: skip
        reads = ("get_job", "list_jobs", "get_state")

        async def read(c: Connection, i: int, n: int) -> tuple[str, bool]:
            kind = reads[n % 3]
            if kind == "get_job":
                mine = ids[i] or ids[0]
                status, _ = await c.request("GET", f"/api/v1/jobs/{mine[n % len(mine)]}")
            elif kind == "list_jobs":
                status, _ = await c.request("GET", "/api/v1/jobs?limit=20")
            else:
                status, _ = await c.request("GET", "/api/v1/site/state")
            return kind, status == 200

        cpu = cpu_meter(proc, database)
        cached0 = job_reads(base)
        wall, lat, failed = drive(base, tokens, seconds, read)
        cached = {k: v - cached0.get(k, 0) for k, v in job_reads(base).items()}
        every = [x for k in reads for x in lat.get(k, [])]
        out["read"] = {
            "requests": len(every),
            "per_s": round(len(every) / wall, 1),
            "failed": failed,
            **percentiles(every),
            **cpu(len(every)),
            # job reads answered from memory: a baseline without the cache reports none
            "job_reads_from_memory": round(cached["hit"] / max(cached["hit"] + cached["miss"], 1), 4)
            if cached
            else None,
            **{k: {"requests": len(lat.get(k, [])), **percentiles(lat.get(k, []))} for k in reads},
        }
        out["jobs_stored"] = httpx.get(f"{base}/api/v1/jobs", params={"limit": 1}, headers=h).json()["total"]
    s, r = out["submit"], out["read"]
    out["goal_met"] = {
        "submits_per_s": s["per_s"] >= GOAL["submits_per_s"],
        "reads_per_s": r["per_s"] >= GOAL["reads_per_s"],
        "submit_p99": s["p99_ms"] <= GOAL["p99_ms"],
        "read_p99": r["p99_ms"] <= GOAL["p99_ms"],
    }
    return out


def job_reads(base: str) -> dict[str, float]:
    """The server's counts of job reads answered from memory (``hit``) and from the database
    (``miss``), from ``/metrics``; empty for a server without them."""
    found = re.findall(
        r'^megapod_job_reads_total\{cache="(\w+)"\} (\S+)$', httpx.get(f"{base}/metrics").text, re.M
    )
    return {k: float(v) for k, v in found}


@contextmanager
def baseline_checkout(rev: str | None) -> Iterator[Path | None]:
    """The package folder of a worktree of ``rev`` (see ``checkout.py``); None without one."""
    if rev is None:
        yield None
        return
    with revision_src(rev) as src:
        yield src


def main() -> None:
    """Parse the options, run the phases on each database, print and write the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each phase [s]")
    ap.add_argument("--connections", type=int, default=8, help="concurrent client connections")
    ap.add_argument("--db", action="append", help="database URL (repeatable; default: SQLite and PostgreSQL)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "data" / "serve.json")
    ap.add_argument("--repeat", type=int, default=1, help="runs per database (a busy machine varies)")
    ap.add_argument("--baseline", help="git revision to run side by side (alternating) with this checkout")
    args = ap.parse_args()
    if not (0 < args.seconds <= 600 and 1 <= args.connections <= 256 and 1 <= args.repeat <= 10):
        raise SystemExit("--seconds must be in (0, 600], --connections in [1, 256], --repeat in [1, 10]")
    runs: list[dict[str, Any]] = []
    load_at_start = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp, baseline_checkout(args.baseline) as old:
        folder = Path(tmp)
        n, each = args.connections, args.seconds
        # (label, package folder): alternating, so that drift of the machine hits both alike
        sides: list[tuple[str, Path | None]] = (
            [("this", None)] if old is None else [("baseline", old), ("this", None)]
        )
        if args.db:
            for i, url in enumerate(args.db):
                runs.append(measure(url, url.split(":", 1)[0] + f"-{i}", each, n, folder))
        else:
            for k in range(args.repeat):
                for side, src in sides:
                    url = f"sqlite:///{folder / f'bench-{side}-{k}.db'}"
                    runs.append({"side": side, **measure(url, "sqlite", each, n, folder, src=src)})
            pg_folder = Path(tempfile.mkdtemp(prefix="bench-serve-pg-"))  # reachable by the postgres user
            try:
                with private_postgres(pg_folder) as (new_database, postmaster):
                    for k in range(args.repeat):
                        for side, src in sides:
                            url = new_database(f"bench_{side}_{k}")
                            runs.append(
                                {"side": side, **measure(url, "postgresql", each, n, folder, postmaster, src)}
                            )
            except (SystemExit, subprocess.CalledProcessError) as exc:
                print(f"PostgreSQL skipped: {exc}", file=sys.stderr)
            finally:
                shutil.rmtree(pg_folder, ignore_errors=True)
    result = {
        "benchmark": "bench_serve",
        "baseline": args.baseline,
        "goal": GOAL,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1min_at_start": load_at_start,
                    "load_avg_1min_at_end": round(os.getloadavg()[0], 2)},
        "runs": runs,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for run in runs:
        s, r = run["submit"], run["read"]
        print(
            f"{run.get('side', ''):>8} {run['db']:>10}: submit {s['per_s']:7.1f}/s"
            f" p50 {s['p50_ms']:6.1f} ms p99 {s['p99_ms']:6.1f} ms"
            f" | read {r['per_s']:7.1f}/s p50 {r['p50_ms']:6.1f} ms p99 {r['p99_ms']:6.1f} ms"
            f" | failed {s['failed']}+{r['failed']}"
        )
    if args.baseline:
        for db in ("sqlite", "postgresql"):
            for phase in ("submit", "read"):
                rate = {
                    side: statistics.median(
                        r[phase]["per_s"] for r in runs if r["db"] == db and r["side"] == side
                    )
                    for side in ("baseline", "this")
                    if any(r["db"] == db and r["side"] == side for r in runs)
                }
                if len(rate) == 2:
                    print(
                        f"{db:>10} {phase}s/s: this / {args.baseline} = {rate['this'] / rate['baseline']:.3f}"
                    )
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
