"""Mixed clusters in the twin: a pool of several node sizes from a site spec, and the replay of
a GPU-sharing trace (a synthetic fixture in Alibaba's 2023 format) on its own node table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from megapod.errors import SpecError
from megapod.sim.twin import Twin
from megapod.spec.scenario import load_scenario
from megapod.traces import SKIP_REASONS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "scenarios" / "alibaba_mixed.yaml"
DATA = ROOT / "tests" / "traces" / "data"

MIXED_SIZES = """
name: mixed-sizes
site:
  name: mixed
  location: {climate: austin-tx, grid_region: ercot}
  grid: {feed_w: 2 MW}
  pods:
    - name: mixed
      count: 1
      racks:
        - {name: nvl72, count: 1, server: gb200-nvl72, servers: 1, cooling_capacity_w: 140 kW}
        - {name: dgx, count: 2, server: dgx-b200, servers: 4, cooling_capacity_w: 60 kW}
      fabric: {scale_up: nvlink5}
      power: {feed_w: 2 MW}
      cooling: {plant: air-chiller, capacity_w: 1 MW}
horizon_s: 1 d
seed: 5
workload:
  synthetic:
    arrival_rate_per_s: 0.002
    gpus: {kind: discrete, values: [1, 4, 8, 16, 64, 128], weights: [40, 20, 20, 10, 5, 5]}
    duration_s: {kind: lognormal, median: 3600, sigma: 1.0, maximum: 86400}
policies: {queue: fifo, placement: consolidated}
failures: {enabled: false}
weather: {enabled: false}
output: {resolution_s: 1 h}
"""


def _example(tmp_path: Path, **trace: Any) -> Path:
    """The bundled mixed-cluster example with its trace section changed, written in tmp_path."""
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["workload"]["trace"].update(
        path=str(DATA / "synthetic_alibaba_gpu_pods.csv"),
        nodes_csv=str(DATA / "synthetic_alibaba_gpu_nodes.csv"),
        **trace,
    )
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def _check_invariants(twin: Twin) -> None:
    """No GPU share, CPU or memory over-allocated; busy GPUs are those holding a share; every
    running job sits on nodes of its GPU types."""
    mx = twin.cluster.mixed
    assert mx is not None
    for n, used in enumerate(mx.used):
        assert all(0 <= u <= 1000 for u in used)
        assert mx.cpu_free[n] >= -1e-9 and mx.mem_free[n] >= -1e-9
    assert sum(twin.ledger.busy_d) == sum(1 for used in mx.used for u in used if u > 0)
    for j, (grants, _) in mx.grants.items():
        allowed = mx.req.types[j]
        nodes = {g[0] for g in grants}
        if twin.ledger.gpus[j] > 0:
            assert all(allowed is None or mx.gpu_type[n] in allowed for n in nodes)
            assert all(twin.cluster.node_gpus[n] > 0 for n in nodes)
        if twin.ledger.gpus[j] <= 8:
            assert len(nodes) == 1  # the trace's pods each fit one node: never split


def test_pool_of_mixed_node_sizes_runs_and_places_up_to_the_largest_node(tmp_path: Path) -> None:
    p = tmp_path / "mixed.yaml"
    p.write_text(MIXED_SIZES)
    twin = Twin(load_scenario(p))  # one pool of a 72-GPU and eight 8-GPU nodes
    part = twin.cluster.partitions[0]
    assert part.mixed and part.size_gpus == 72 + 8 * 8
    res = twin.run()
    j = res.jobs
    assert set(j["gpus"]) == {1, 4, 8, 16, 64}  # 128 > 72 + 56 on another node: dropped
    assert res.not_replayed == {"larger_than_any_pool": res.summary["jobs_dropped"]}
    assert res.summary["jobs_dropped"] > 0
    assert (j.loc[j["gpus"] >= 16, "state"] == "done").any()  # a 16/64-GPU job fits the NVL72 alone
    assert 0 < res.summary["utilization"] <= 1


def test_gpu_sharing_trace_replays_on_its_node_table(tmp_path: Path) -> None:
    twin = Twin(load_scenario(_example(tmp_path)))
    assert twin.cluster.partitions[0].mixed and twin.cluster.total_gpus == 46
    for t in np.linspace(0.0, 86_400.0, 97):
        twin.advance_to(float(t))
        _check_invariants(twin)
    res = twin.result()
    # 37 pod rows: 2 never scheduled, 1 asks more CPU than any node, 1 asks four 1-GPU A10s,
    # 1 asks an H800 no node carries
    assert res.not_replayed == {"never_scheduled": 2, "larger_than_any_pool": 2, "no_node_of_type": 1}
    assert set(res.not_replayed) <= set(SKIP_REASONS)
    j = res.jobs
    assert len(j) == 32 and (j["state"] == "done").all()
    assert (j["gpus"] == 0).sum() == 5  # the CPU-only pods ran
    shared = j[j["gpu_milli"] > 0]
    assert len(shared) == 13
    # a share's accounts count its share of one GPU
    assert shared["useful_gpu_h"].to_numpy() == pytest.approx(
        (shared["gpu_milli"] / 1000 * shared["work_s"] / 3600).to_numpy()
    )
    s = res.summary
    assert s["busy_gpu_h"] + s["idle_gpu_h"] == pytest.approx(46 * 24.0)
    assert s["useful_gpu_h"] <= s["busy_gpu_h"] + 1e-9  # shares on one GPU: busy once


def test_trace_window_end_leaves_later_rows_out_and_counts_them(tmp_path: Path) -> None:
    full = Twin(load_scenario(_example(tmp_path, start_s=0, end_s=None))).run()
    early = Twin(load_scenario(_example(tmp_path, start_s=0, end_s=10_000))).run()
    assert "outside_window" not in full.not_replayed
    created = {
        r.split(",")[0]: float(r.split(",")[8])
        for r in (DATA / "synthetic_alibaba_gpu_pods.csv").read_text().splitlines()[1:]
    }
    assert (early.jobs["job_id"].map(created) < 10_000).all()
    later = sum(1 for t in created.values() if t >= 10_000)
    assert early.not_replayed["outside_window"] == later
    assert len(early.jobs) < len(full.jobs)


def test_node_table_needs_one_pod_design_and_no_partition_layout(tmp_path: Path) -> None:
    doc = yaml.safe_load(_example(tmp_path).read_text())
    doc["partitions"] = {"nodes_csv": str(DATA / "synthetic_alibaba_gpu_nodes.csv")}
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(SpecError, match=r"either a partition layout or workload\.trace\.nodes_csv"):
        Twin(load_scenario(p))
    del doc["partitions"]
    doc["site"]["pods"].append({**doc["site"]["pods"][0], "name": "second"})
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(SpecError, match="one pod design"):
        Twin(load_scenario(p))


def test_window_end_before_start_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="end_s"):
        load_scenario(_example(tmp_path, start_s=5000, end_s=100))


def test_easy_backfill_in_a_mixed_pool_keeps_the_heads_reservation(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes.csv"
    nodes.write_text(
        "sn,cpu_milli,memory_mib,gpu,model\ncpu,8000,16384,0,\nt4,64000,262144,4,T4\na10,16000,65536,1,A10\n"
    )
    pods = tmp_path / "pods.csv"
    rows = [  # name, GPUs, type, created, run [s]
        ("a", 2, "T4", 0, 1000),  # ends at 1000: 3 T4s free, the head still waits
        ("b", 1, "T4", 0, 5000),  # ends at 5000: the head's reservation
        ("head", 4, "T4", 10, 100),
        ("short", 1, "T4", 20, 2000),  # ends at 2020, before the reservation: backfills
        ("long", 1, "", 30, 9000),  # runs past it, on the A10 the head cannot use: backfills
        ("long_t4", 1, "T4", 1100, 9000),  # would hold a T4 past it: waits for the head
    ]
    pods.write_text(
        "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
        "creation_time,deletion_time,scheduled_time\n"
        + "".join(f"{n},1000,1024,{g},1000,{t},LS,Succeeded,{c},{c + d},{c}\n" for n, g, t, c, d in rows)
    )
    p = _example(tmp_path, end_s=None)
    doc = yaml.safe_load(p.read_text())
    doc["workload"]["trace"].update(path=str(pods), nodes_csv=str(nodes))
    p.write_text(yaml.safe_dump(doc))
    res = Twin(load_scenario(p)).run()
    start = dict(zip(res.jobs["job_id"], res.jobs["start_s"], strict=True))
    assert start["short"] == 20.0
    assert start["long"] == 30.0
    assert start["head"] == 5000.0  # not delayed by either backfilled job
    assert start["long_t4"] == 5100.0  # after the head, not before it


def test_simulate_shows_rows_not_replayed_by_reason(cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _ = cli("simulate", EXAMPLE)
    assert code == 0
    assert "not replayed: never scheduled" in out and "not replayed: no node of type" in out
    code, out, _ = cli("simulate", EXAMPLE, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["not_replayed"] == {"larger_than_any_pool": 2, "never_scheduled": 2, "no_node_of_type": 1}


@pytest.mark.parametrize("queue", ["fifo", "easy-backfill", "sjf", "srtf", "las", "fair-share"])
def test_every_queueing_policy_keeps_mixed_limits_through_failures_and_an_outage(
    tmp_path: Path, queue: str
) -> None:
    p = _example(tmp_path, end_s=None, time_scale=0.05)  # the whole fixture within ~20 min
    doc = yaml.safe_load(p.read_text())
    doc["failures"] = {"enabled": True, "rate_scale": 1000}
    doc["grid"] = {"events": [{"start_s": 1800, "duration_s": 3600}]}  # no battery: a blackout
    doc["policies"] = {"queue": queue, "placement": "spread", "outage": "outage-aware"}
    p.write_text(yaml.safe_dump(doc))
    twin = Twin(load_scenario(p))
    for t in np.linspace(0.0, 86_400.0, 121):
        twin.advance_to(float(t))
        _check_invariants(twin)
    res = twin.result()
    assert res.summary["blackouts"] == 1 and res.summary["preemptions"] > 0
    assert (res.jobs["state"] == "done").all()  # every job ran to the end after the outage
