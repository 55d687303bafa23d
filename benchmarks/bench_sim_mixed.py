"""Replay speed of a mixed GPU-sharing cluster at the size of Alibaba's 2023 trace (1,523 nodes,
8,152 pods), on synthetic tables in that format drawn here with a fixed seed (not trace data):
nodes of 0/1/2/4/8 GPUs of six types with CPU and memory, pods asking for GPU shares, whole
GPUs, CPU-only slots and GPU types. Prints the time to build and run the twin per queueing
policy, and the rows not replayed.

Run: .venv/bin/python benchmarks/bench_sim_mixed.py [--pods N] [--nodes N] [--gap-s S] [--median-s S]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from megapod.sim.twin import Twin
from megapod.spec.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "scenarios" / "alibaba_mixed.yaml"
#: (GPUs, type, CPU milli, memory MiB, weight) of the node shapes drawn.
SHAPES = [
    (0, "", 32_000, 131_072, 20),
    (8, "V100M32", 96_000, 786_432, 20),
    (8, "V100M16", 96_000, 393_216, 10),
    (8, "G3", 128_000, 786_432, 15),
    (4, "P100", 64_000, 262_144, 10),
    (2, "T4", 32_000, 131_072, 15),
    (1, "A10", 16_000, 65_536, 10),
]


def write_tables(
    folder: Path, nodes: int, pods: int, gap_s: float, median_s: float, rng: np.random.Generator
) -> tuple[Path, Path]:
    """Synthetic node and pod tables in the 2023 format; their paths."""
    w = np.array([s[4] for s in SHAPES], dtype=float)
    pick = rng.choice(len(SHAPES), size=nodes, p=w / w.sum())
    node_csv = folder / "nodes.csv"
    with node_csv.open("w") as fh:
        fh.write("sn,cpu_milli,memory_mib,gpu,model\n")
        for i, k in enumerate(pick):
            g, model, cpu, mem, _ = SHAPES[k]
            fh.write(f"n{i:05d},{cpu},{mem},{g},{model}\n")
    pod_csv = folder / "pods.csv"
    t = np.cumsum(rng.exponential(gap_s, size=pods))
    with pod_csv.open("w") as fh:
        fh.write(
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
            "creation_time,deletion_time,scheduled_time\n"
        )
        for i in range(pods):
            u = rng.random()
            if u < 0.35:
                g, milli = 1, int(rng.choice([100, 250, 300, 500, 700]))
            elif u < 0.55:
                g, milli = 0, 0
            else:
                g, milli = int(rng.choice([1, 2, 4, 8], p=[0.5, 0.2, 0.15, 0.15])), 1000
            spec = rng.choice(["", "", "", "V100M16|V100M32", "T4", "G3"]) if g else ""
            cpu, mem = int(rng.choice([2000, 4000, 8000, 16000])), int(rng.choice([8192, 16384, 32768]))
            dur = float(rng.lognormal(np.log(median_s), 1.2))
            times = f"{t[i]:.0f},{t[i] + dur:.0f},{t[i]:.0f}"
            fh.write(f"p{i:05d},{cpu},{mem},{g},{milli},{spec},LS,Succeeded,{times}\n")
    return node_csv, pod_csv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=1523)
    ap.add_argument("--pods", type=int, default=8152)
    ap.add_argument("--gap-s", type=float, default=4.0, help="mean time between pod creations")
    ap.add_argument("--median-s", type=float, default=4 * 3600.0, help="median pod run time")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        node_csv, pod_csv = write_tables(
            folder, args.nodes, args.pods, args.gap_s, args.median_s, np.random.default_rng(2023)
        )
        doc = yaml.safe_load(EXAMPLE.read_text())
        doc["workload"]["trace"].update(path=str(pod_csv), nodes_csv=str(node_csv), end_s=None)
        doc["horizon_s"] = "14 d"
        print(
            f"{args.nodes:,} nodes, {args.pods:,} pods (synthetic, 2023 format), one every "
            f"{args.gap_s:g} s, median run {args.median_s:,.0f} s"
        )
        for queue in ("fifo", "easy-backfill", "sjf", "fair-share"):
            doc["policies"]["queue"] = queue
            p = folder / "s.yaml"
            p.write_text(yaml.safe_dump(doc))
            t0 = time.perf_counter()
            twin = Twin(load_scenario(p))
            t1 = time.perf_counter()
            res = twin.run()
            t2 = time.perf_counter()
            s = res.summary
            print(
                f"{queue:<14} build {t1 - t0:5.2f} s  simulate {t2 - t1:5.2f} s  "
                f"events {s['events']:,}  done {s['jobs_done']:,}  mean queue {s['queue_mean_s']:,.0f} s  "
                f"utilization {s['utilization']:.3f}  not replayed {res.not_replayed}"
            )


if __name__ == "__main__":
    main()
