"""Replay the full shared Philly trace (82k jobs) on its VC layout under every queueing policy;
prints wall time (trace read and simulation apart), events/s, and the policy figures, then the
same under a 4x arrival rate (the trace under-represents Philly's load, see its README).

Run: .venv/bin/python benchmarks/bench_sim_philly.py
"""

from __future__ import annotations

import time
from pathlib import Path

from megapod.sim.twin import Twin
from megapod.sim.twin.queueing import QUEUE_POLICIES
from megapod.spec.scenario import Scenario, load_scenario
from megapod.units import DAY_S

SCENARIO = Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "philly_replay.yaml"


def run(sc: Scenario, label: str) -> None:
    t0 = time.perf_counter()
    twin = Twin(sc)
    t1 = time.perf_counter()
    res = twin.run()
    t2 = time.perf_counter()
    s = res.summary
    rate = s["events"] / (t2 - t1)
    print(
        f"{label:<28} read+build={t1 - t0:5.2f} s  simulate={t2 - t1:5.2f} s  events/s={rate:>9,.0f}  "
        f"jobs={s['jobs']:,}  util={s['utilization']:.4f}  queue_mean={s['queue_mean_s']:>8,.0f} s  "
        f"jct_mean={s['jct_mean_s']:>8,.0f} s  preemptions={s['preemptions']:,}"
    )


def main() -> None:
    base = load_scenario(SCENARIO)
    print("full trace, 110 days, as recorded:")
    for q in QUEUE_POLICIES:
        run(base.model_copy(update={"policies": base.policies.model_copy(update={"queue": q})}), f"  {q}")
    trace = base.workload.trace
    assert trace is not None
    heavy = base.workload.model_copy(update={"trace": trace.model_copy(update={"time_scale": 0.25})})
    print("arrivals 4x faster, first 20 days:")
    for q in QUEUE_POLICIES:
        sc = base.model_copy(
            update={
                "workload": heavy,
                "horizon_s": 20 * DAY_S,
                "policies": base.policies.model_copy(update={"queue": q}),
            }
        )
        run(sc, f"  {q}")


if __name__ == "__main__":
    main()
