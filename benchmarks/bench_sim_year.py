"""One simulated year of the ~300,000-GPU colossus site with >= 1,000,000 jobs, failures, grid
outages and hourly weather; prints wall time, events/s and peak memory, then how the run time
grows with jobs and GPUs (scaled-down variants of the same scenario).

Run: .venv/bin/python benchmarks/bench_sim_year.py [--quick]
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

from megapod.sim.twin import simulate
from megapod.spec.scenario import Scenario, load_scenario
from megapod.units import GIB, KIB

SCENARIO = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "colossus_year.yaml"


def variant(base: Scenario, job_fraction: float, pod_fraction: float) -> Scenario:
    """The scenario with fewer jobs (same rate per GPU) and fewer pods."""
    pods = [p.model_copy(update={"count": max(1, round(p.count * pod_fraction))}) for p in base.site.pods]
    site = base.site.model_copy(update={"pods": pods})
    syn = base.workload.synthetic
    assert syn is not None and syn.jobs is not None and syn.arrival_rate_per_s is not None
    syn = syn.model_copy(
        update={
            "jobs": int(syn.jobs * job_fraction),
            "arrival_rate_per_s": syn.arrival_rate_per_s * pod_fraction,
        }
    )
    horizon = base.horizon_s * job_fraction / pod_fraction if job_fraction < pod_fraction else base.horizon_s
    wl = base.workload.model_copy(update={"synthetic": syn})
    return base.model_copy(update={"site": site, "workload": wl, "horizon_s": min(horizon, base.horizon_s)})


def run(sc: Scenario, label: str) -> float:
    t0 = time.perf_counter()
    res = simulate(sc)
    wall = time.perf_counter() - t0
    s = res.summary
    print(
        f"{label:<34} gpus={s['gpus']:>7,} jobs={s['jobs']:>9,} events={s['events']:>9,} "
        f"wall={wall:6.1f} s  events/s={s['events'] / wall:>9,.0f}  util={s['utilization']:.3f} "
        f"goodput={s['goodput']:.3f} interruptions={s['interruptions']:,} blackouts={s['blackouts']}"
    )
    return wall


def main() -> None:
    base = load_scenario(SCENARIO)
    if "--quick" not in sys.argv:
        run(base, "full year (colossus_year.yaml)")
        peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB / GIB
        print(f"peak resident memory: {peak_gib:.2f} GiB")
    print("scaling with GPUs (jobs per GPU fixed, one year):")
    for f in (0.125, 0.25, 0.5):
        v = variant(base, f, f)
        run(v, f"  pods x{f}")


if __name__ == "__main__":
    main()
