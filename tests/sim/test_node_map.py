"""The twin's node map: one state code per pod node, and per-design rows that agree with the
snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from megapod.sim.twin import JobRequest, NodeMap, Snapshot, Twin
from megapod.spec import load_site
from megapod.spec.scenario import Scenario

from .forced import force_failure
from .scenario_factory import small_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HOUR = 3600.0


def _open(site: str, **extra: Any) -> Twin:
    """An open twin of an example site with one placeholder job and failures on (a rate too
    small to fire by itself within the tests' few hours)."""
    doc: dict[str, Any] = {
        "name": "map",
        "site": load_site(EXAMPLES / site),
        "horizon_s": 30 * 86_400.0,
        "seed": 5,
        "workload": {"pretraining": [{"name": "warmup", "gpus": 1, "work_s": 1.0}]},
        "failures": {"enabled": True, "rate_scale": 1e-6},
        "weather": {"enabled": False},
        "output": {"resolution_s": 86_400.0, "jobs_table": False},
    }
    doc.update(extra)
    twin = Twin(Scenario.model_validate(doc))
    twin.advance_to(10.0)
    return twin


def _agrees(m: NodeMap, s: Snapshot) -> None:
    """The map's counts are the snapshot's (a site of pods only)."""
    rows = m.designs
    assert len(m.states) == m.nodes == sum(r.nodes for r in rows)
    for r in rows:
        assert r.nodes_running + r.nodes_capped + r.nodes_idle + r.nodes_failed + r.nodes_down == r.nodes
        part = m.states[r.first_node : r.first_node + r.nodes]
        assert part.count("r") == r.nodes_running and part.count("f") == r.nodes_failed
    assert sum(r.nodes_failed for r in rows) == s.nodes_failed == m.states.count("f")
    assert sum(r.nodes_down for r in rows) == s.nodes_down == m.states.count("d")
    assert sum(r.nodes_running + r.nodes_capped + r.nodes_idle for r in rows) == s.nodes_up
    assert sum(r.gpus_busy for r in rows) == s.gpus_busy
    assert sum(r.gpus_failed for r in rows) == s.gpus_failed
    assert sum(r.gpus_down for r in rows) == s.gpus_down
    assert sum(r.it_power_w for r in rows) == pytest.approx(s.it_power_w, rel=1e-12)
    assert sum(r.facility_power_w for r in rows) == pytest.approx(s.facility_power_w, rel=1e-12)
    assert m.battery_soc == pytest.approx(s.battery_soc)
    assert m.gpu_cap_w == s.gpu_cap_w


def test_a_fresh_site_is_idle_and_in_node_order() -> None:
    twin = _open("cortex.yaml")
    m = twin.node_map()
    h100, dojo = m.designs
    assert (h100.name, h100.first_node, h100.nodes, h100.replicas) == ("h100-pod", 0, 49 * 128, 49)
    assert (dojo.name, dojo.first_node, dojo.nodes, dojo.replicas) == ("dojo-pod", 49 * 128, 8 * 100, 8)
    assert [(g.name, g.count, g.servers) for g in dojo.racks] == [("dojo-cabinet", 20, 5)]
    assert set(m.states) == {"i"}
    assert h100.nodes_idle == h100.nodes and h100.gpus_busy == 0
    _agrees(m, twin.snapshot())
    # JSON-able as it is
    assert json.loads(json.dumps(m.to_dict()))["designs"][1]["racks"][0]["servers"] == 5


def test_a_node_held_by_a_job_shows_running() -> None:
    twin = _open("cortex.yaml")
    twin.submit(JobRequest("two-nodes", gpus=16, work_s=HOUR, partition="h100-pod"))
    twin.advance_to(20.0)
    m = twin.node_map()
    held = [i for i, c in enumerate(m.states) if c == "r"]
    assert len(held) == 2
    whole, partial = twin.ledger.alloc[twin.ledger.ids()["two-nodes"]]  # type: ignore[misc]
    assert sorted(whole + [n for n, _ in partial]) == held
    assert m.designs[0].nodes_running == 2 and m.designs[1].nodes_running == 0
    _agrees(m, twin.snapshot())
    twin.advance_to(20.0 + 2 * HOUR)  # the job is done: its nodes are idle again
    assert set(twin.node_map().states) == {"i"}


def test_a_forced_failure_shows_the_node_failed_until_its_repair() -> None:
    twin = _open("megapod.yaml")
    twin.submit(JobRequest("on-3", gpus=8 * 72, work_s=10 * HOUR))
    twin.advance_to(30.0)
    assert twin.node_map().states == "rrrrrrrr"
    force_failure(twin, 3, repair_s=HOUR)
    m = twin.node_map()
    assert m.states[3] == "f"
    assert m.states.count("f") == 1 and m.designs[0].nodes_failed == 1
    assert m.designs[0].gpus_failed == 72
    assert "r" not in m.states  # the gang lost a node: it waits for the whole pod again
    _agrees(m, twin.snapshot())
    twin.advance_to(twin.clock + HOUR + 1.0)
    m = twin.node_map()
    assert m.states == "rrrrrrrr"  # repaired, and the job runs again
    _agrees(m, twin.snapshot())


def test_running_nodes_are_capped_while_a_cap_below_tdp_is_in_force() -> None:
    twin = _open("megapod.yaml")
    tdp = twin.layout.designs[0].gpu_tdp_w
    twin.submit(JobRequest("half", gpus=4 * 72, work_s=10 * HOUR))
    twin.advance_to(30.0)
    assert twin.node_map().states.count("r") == 4
    twin.set_gpu_cap(0.6 * tdp)
    m = twin.node_map()
    assert m.states.count("c") == 4 and m.states.count("r") == 0 and m.states.count("i") == 4
    assert m.designs[0].nodes_capped == 4 and m.gpu_cap_w == pytest.approx(0.6 * tdp)
    _agrees(m, twin.snapshot())
    twin.set_gpu_cap(tdp)  # a cap at the TDP holds nothing back
    assert twin.node_map().states.count("r") == 4
    twin.set_gpu_cap(None)
    assert twin.node_map().states.count("c") == 0


def test_a_blackout_takes_every_node_down() -> None:
    sc = small_scenario(outage_at_s=HOUR, outage_s=10 * 86_400.0, rate_per_s=0.01, failures=True)
    twin = Twin(sc)
    twin.advance_to(0.5 * HOUR)
    _agrees(twin.node_map(), twin.snapshot())
    twin.advance_to(3 * 86_400.0)
    s = twin.snapshot()
    assert s.blackout
    m = twin.node_map()
    assert m.states.count("d") + m.states.count("f") == m.nodes
    assert m.battery_soc == 0.0
    _agrees(m, s)


def test_counts_agree_with_the_snapshot_through_a_busy_run() -> None:
    twin = Twin(small_scenario(failures=True, rate_per_s=0.02, horizon_s=3 * 86_400.0))
    rng = np.random.default_rng(7)
    for t in np.sort(rng.uniform(0, 3 * 86_400.0, 12)):
        twin.advance_to(float(t))
        m = twin.node_map()
        _agrees(m, twin.snapshot())
        gpus = np.asarray(twin.cluster.node_gpus)
        free = twin.cluster.node_free
        codes = np.frombuffer(m.states.encode(), dtype=np.uint8)
        held = (gpus - free)[(codes == ord("r")) | (codes == ord("c"))]
        assert held.sum() == m.designs[0].gpus_busy  # busy GPUs sit on running nodes only
        assert np.all(held > 0)
