"""Megapod against the Helios QSSF-service simulator on the Philly window it replays.

Runs ``examples/scenarios/helios_philly.yaml`` (2017-10-01 to 2017-11-30, the 11 Philly VCs,
consolidated placement, no failures) under FIFO, SJF and SRTF and prints megapod's mean JCT and
mean queue delay beside the peer's, read from ``benchmarks/data/helios_philly_peer.json``
(written by ``benchmarks/peer_helios.py``), with the relative difference (megapod / peer - 1).
The issue's target: equal for FIFO and SJF, within 1 % for SRTF.

Run: .venv/bin/python benchmarks/bench_helios_peer.py [--policies fifo sjf srtf]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from megapod.sim.twin import Twin
from megapod.spec.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "examples" / "scenarios" / "helios_philly.yaml"
PEER = ROOT / "benchmarks" / "data" / "helios_philly_peer.json"
TOLERANCE = {"fifo": 0.0, "sjf": 0.0, "srtf": 0.01}  # issue 10, "Peer-equal"


def with_queue(sc: Scenario, queue: str) -> Scenario:
    return sc.model_copy(update={"policies": sc.policies.model_copy(update={"queue": queue})})


def megapod_means(queue: str) -> dict[str, float]:
    """Mean JCT and mean queue delay [s] of the scenario under ``queue``."""
    s = Twin(with_queue(load_scenario(SCENARIO), queue)).run().summary
    return {
        "jct_mean_s": float(s["jct_mean_s"]),
        "queue_mean_s": float(s["queue_mean_s"]),
        "jobs": int(s["jobs_done"]),
        "preemptions": int(s["preemptions"]),
    }


def rel(ours: float, theirs: float) -> float:
    return ours / theirs - 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--policies", nargs="+", default=["fifo", "sjf", "srtf"])
    args = ap.parse_args()
    peer = json.loads(PEER.read_text())["policies"]
    print(
        f"{'policy':<6} {'jobs':>7} {'JCT megapod':>12} {'JCT peer':>12} {'JCT diff':>9}  "
        f"{'queue megapod':>13} {'queue peer':>11} {'queue diff':>10}  {'target':>6} {'wall':>6}"
    )
    for q in args.policies:
        t0 = time.perf_counter()
        ours = megapod_means(q)
        wall = time.perf_counter() - t0
        theirs = peer.get(q)
        if theirs is None:
            print(f"{q:<6} {ours['jobs']:>7,} {ours['jct_mean_s']:>12,.2f} {'(no peer run)':>12}")
            continue
        dj = rel(ours["jct_mean_s"], theirs["jct_mean_s"])
        dq = rel(ours["queue_mean_s"], theirs["queue_mean_s"])
        print(
            f"{q:<6} {ours['jobs']:>7,} {ours['jct_mean_s']:>12,.2f} {theirs['jct_mean_s']:>12,.2f} "
            f"{dj:>+9.2%}  {ours['queue_mean_s']:>13,.2f} {theirs['queue_mean_s']:>11,.2f} "
            f"{dq:>+10.2%}  {TOLERANCE[q]:>6.0%} {wall:>5.1f}s"
        )


if __name__ == "__main__":
    main()
