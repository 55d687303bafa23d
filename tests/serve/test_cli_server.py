"""``megapod serve SITE`` as a real server on loopback: first admin token, REST, the stream."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from tests.serve.conftest import SITE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_command(tmp_path: Path) -> None:
    port = free_port()
    err = (tmp_path / "stderr").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "megapod", "serve", str(SITE), "--db", f"sqlite:///{tmp_path / 's.db'}",
         "--port", str(port), "--speed", "100"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "stderr").read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).json()["status"] == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "server did not start within 60 s"
            time.sleep(0.2)
        found = re.search(r"first admin token \(shown once\): (\S+)", (tmp_path / "stderr").read_text())
        assert found, "no first admin token on stderr"
        h = {"Authorization": f"Bearer {found.group(1)}"}
        r = httpx.post(
            f"{base}/api/v1/jobs", json={"idempotency_key": "cli", "gpus": 72, "work_s": 600.0}, headers=h
        )
        assert r.status_code == 201, r.text
        states = []
        with httpx.stream("GET", f"{base}/api/v1/stream?interval_s=0.3", headers=h, timeout=10) as s:
            for line in s.iter_lines():
                if line.startswith("data: "):
                    states.append(json.loads(line[6:]))
                    if len(states) == 2:
                        break
        assert states[1]["t_s"] > states[0]["t_s"]
        assert "openapi" in httpx.get(f"{base}/openapi.json").json()
        assert "megapod_it_power_watts" in httpx.get(f"{base}/metrics").text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        err.close()
    # uvicorn stops gracefully, then re-raises the signal: the exit status is -SIGTERM
    assert proc.returncode in (0, -signal.SIGTERM), (tmp_path / "stderr").read_text()
    assert "Traceback" not in (tmp_path / "stderr").read_text()
