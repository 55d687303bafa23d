"""Megapod against an independent simulator: the Helios QSSF service (SC '21 artifact).

``benchmarks/peer_helios.py`` ran the peer on the Philly window it replays (2017-10-01 to
2017-11-30, 11 VCs, consolidated placement, no failures) and committed its mean JCT and queue
delay; issue 10 asks megapod to give the same means under FIFO on
``examples/scenarios/helios_philly.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from megapod.sim.twin import simulate
from megapod.spec.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "examples" / "scenarios" / "helios_philly.yaml"
PEER = REPO / "benchmarks" / "data" / "helios_philly_peer.json"


def test_fifo_means_equal_the_helios_simulator(shared_dir: Path) -> None:
    peer = json.loads(PEER.read_text())
    s = simulate(load_scenario(SCENARIO)).summary  # the scenario's queue is fifo
    assert s["jobs_done"] == s["jobs"] == peer["jobs"]
    fifo = peer["policies"]["fifo"]
    # "equal": both are means of whole seconds over the same jobs, so only float rounding remains
    assert s["jct_mean_s"] == pytest.approx(fifo["jct_mean_s"], rel=1e-9)
    assert s["queue_mean_s"] == pytest.approx(fifo["queue_mean_s"], rel=1e-9)
