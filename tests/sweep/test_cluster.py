"""A sweep on a two-node Ray cluster on one machine: ``ray start --head``, a second node
joining it, and ``megapod sweep --ray-address``. Starting two nodes takes tens of seconds, so the test
runs only when ``MEGAPOD_TEST_RAY_CLUSTER=1``.

Each node runs ``ray start --block`` as a child of the test; the test stops them by their own
process ids (``ray stop`` would stop every Ray on the machine).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conftest import REPO
from tests.sweep.conftest import SHORT

pytestmark = pytest.mark.skipif(
    os.environ.get("MEGAPOD_TEST_RAY_CLUSTER") != "1", reason="set MEGAPOD_TEST_RAY_CLUSTER=1 (two Ray nodes)"
)

RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


#: The nodes and the sweep run without Ray's token authentication: a cluster on one machine.
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture
def cluster() -> Iterator[str]:
    """A head node and a worker node, one CPU each, on this machine; yields the head's address.

    The nodes keep their files (and the "current cluster" address file) in a folder of their
    own, so no other Ray on the machine is disturbed.
    """
    import ray.util

    port = free_port()
    address = f"{ray.util.get_node_ip_address()}:{port}"
    temp = Path(tempfile.mkdtemp(prefix="mpray", dir="/tmp"))  # short: it holds unix sockets
    common = ["--block", "--num-cpus=1", "--disable-usage-stats", f"--temp-dir={temp}"]
    env = ENV
    nodes = [
        subprocess.Popen(
            [RAY, "start", "--head", f"--port={port}", "--include-dashboard=false", *common],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    ]
    try:
        _wait_for(address, nodes=1)
        nodes.append(
            subprocess.Popen(
                [RAY, "start", f"--address={address}", *common],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        )
        _wait_for(address, nodes=2)
        yield address
    finally:
        for node in reversed(nodes):  # each node's process group: the node and what it started
            os.killpg(node.pid, signal.SIGTERM)
        for node in nodes:
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def _wait_for(address: str, nodes: int, timeout_s: float = 180.0) -> None:
    probe = (
        "import ray, logging\n"
        f"ray.init(address={address!r}, logging_level=logging.ERROR, log_to_driver=False)\n"
        "print(sum(n['Alive'] for n in ray.nodes()))\n"
    )
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        proc = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, check=False
        )
        if proc.returncode == 0 and int(proc.stdout.strip().splitlines()[-1]) >= nodes:
            return
        time.sleep(2)
    raise TimeoutError(f"the Ray cluster at {address} did not reach {nodes} nodes")


def test_sweep_on_two_nodes(cluster: str, tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        f"name: cluster\n{SHORT}\naxes:\n  - {{path: policies.queue, values: [fifo, sjf]}}\nseeds: [1, 2, 3]\n",
        encoding="utf-8",
    )
    run = [sys.executable, "-m", "megapod", "sweep", str(path), "--json"]
    on_cluster = subprocess.run(
        [*run, "--ray-address", cluster, "--out", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert on_cluster.returncode == 0, on_cluster.stderr
    serial = subprocess.run([*run, "--serial"], capture_output=True, text=True, cwd=REPO, check=False)
    assert serial.returncode == 0, serial.stderr
    a, b = json.loads(on_cluster.stdout), json.loads(serial.stdout)
    assert a["status"] == {"ok": 6}
    assert a["pareto"] == b["pareto"]
