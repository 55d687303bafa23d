"""Planner and facility-model figures: run time per bundled example and the sanity anchors.

Run: ``python benchmarks/plan_facility.py``. Prints, does not assert.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from megapod import catalog
from megapod.catalog.cooling import CoolingPlantEntry
from megapod.physics import climate, gpu_power, thermal
from megapod.physics.perf import Hardware, model_preset, search_layouts
from megapod.physics.power_chain import ChainCurves
from megapod.planner.grid_limits import size_for_grid_limits
from megapod.planner.plan import pick_pod, plan_serving, plan_training
from megapod.spec import PowerChain, load_site
from megapod.spec.goal import ServingGoal, TrainingGoal

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def main() -> None:
    print("== planner wall time per bundled example ==")
    for path in sorted(EXAMPLES.glob("*.yaml")):
        site = load_site(path)
        t0 = time.perf_counter()
        tr = plan_training(site, TrainingGoal(model="llama3-70b", tokens=15e12, deadline_s=60 * 86400))
        t1 = time.perf_counter()
        sv = plan_serving(site, ServingGoal(model="llama3-70b", tokens_per_s=1e6, latency_per_token_s=0.05))
        t2 = time.perf_counter()
        assert tr.training is not None and sv.serving is not None
        print(
            f"{path.name:16s} training {t1 - t0:5.2f} s: {tr.facility.pods:4d} pods, "
            f"{tr.training.wall_s / 86400:5.1f} d, PUE {tr.facility.annual_pue:.3f}, "
            f"capex ${tr.facility.capex.total_usd / 1e6:,.0f} M | serving {t2 - t1:5.2f} s: "
            f"{sv.facility.pods} pods, ${sv.serving.cost_per_million_tokens_usd:.3f}/M tokens"
        )

    print("\n== grid ramp limit: training goal with --max-ramp 1 MW/s (planner wall time; grid part) ==")
    for path in sorted(EXAMPLES.glob("*.yaml")):
        site = load_site(path)
        t0 = time.perf_counter()
        goal = TrainingGoal(model="llama3-70b", tokens=15e12, deadline_s=60 * 86400, max_ramp_w_per_s=1e6)
        plan = plan_training(site, goal)
        t1 = time.perf_counter()
        g = plan.grid
        assert g is not None and plan.training is not None
        pod = pick_pod(site, None)
        step = search_layouts(
            model_preset("llama3-70b"),
            Hardware.from_pod(pod),
            plan.training.gpus_used,
            plan.training.layout["global_batch"],
            plan.training.layout["dtype"],
            1,
        )[0]
        t2 = time.perf_counter()
        size_for_grid_limits(site, pod, step, g.unit, g.ride_through_units, 1e6)
        grid_s = time.perf_counter() - t2
        mw, mwh = g.power_w / 1e6, g.energy_wh / 1e6
        bank = f"{g.units} units, {mw:,.1f} MW / {mwh:,.1f} MWh" if g.feasible else "none"
        print(
            f"{path.name:16s} {t1 - t0:5.2f} s (grid {grid_s:4.2f} s): "
            f"baseline ramp {g.baseline_max_ramp_w_per_s / 1e6:8.2f} MW/s, "
            f"swing {g.baseline_swing_w / 1e6:8.2f} MW -> {bank}, {g.cycles_per_day:.2f} cycles/day, "
            f"ride-through {g.ride_through_units} units {'covers' if g.ride_through_covers else 'short'}"
        )

    print("\n== anchor: Llama 3 405B on 16,384 H100 (reported ~30.8 M GPU-hours) ==")
    site = load_site(EXAMPLES / "cortex.yaml")
    plan = plan_training(site, TrainingGoal(model="llama3-405b", tokens=15.6e12, gpu_budget=16384))
    t = plan.training
    assert t is not None
    err = (t.gpu_hours - 30.8e6) / 30.8e6
    print(
        f"predicted {t.gpu_hours / 1e6:.2f} M GPU-hours ({err:+.1%}), {t.wall_s / 86400:.1f} days, "
        f"MFU {t.mfu:.1%}, failure/checkpoint waste {t.failures.waste_fraction:.1%}, "
        f"{t.failures.expected_interruptions:.0f} interruptions"
    )

    print("\n== anchor: HGX H100 server at full load (reported ~10 kW) ==")
    p = float(gpu_power.server_power_w(catalog.system("hgx-h100-8gpu"), catalog.gpu("h100-sxm"), 1.0))
    print(f"{p / 1e3:.2f} kW")

    print("\n== anchor: annual PUE by plant and climate (liquid ~1.1-1.2, air 1.3-1.6) ==")
    curves = ChainCurves.from_entries(PowerChain())
    print(f"{'':14s}" + "".join(f"{n:>14s}" for n in catalog.names("cooling")))
    for name in climate.names():
        prof = climate.load_profile(name)
        row = []
        for plant_name in catalog.names("cooling"):
            plant = catalog.get("cooling", plant_name)
            assert isinstance(plant, CoolingPlantEntry)
            h = thermal.hourly_facility(0.8e6, 1e6, curves, plant, 1.3e6, prof.dry_bulb_c)
            row.append(f"{h.annual_pue:14.3f}")
        print(f"{name:14s}" + "".join(row))

    print("\n== physics throughput ==")
    u = np.random.default_rng(0).uniform(0, 1, 1_000_000)
    t0 = time.perf_counter()
    gpu_power.speed_fraction(u, 70.0, 700.0, 500.0, 0.3)
    print(f"speed_fraction over 1e6 samples: {(time.perf_counter() - t0) * 1e3:.1f} ms")
    prof = climate.load_profile("austin-tx")
    plant = catalog.get("cooling", "direct-liquid")
    assert isinstance(plant, CoolingPlantEntry)
    t0 = time.perf_counter()
    for _ in range(100):
        thermal.hourly_facility(0.8e6, 1e6, curves, plant, 1.3e6, prof.dry_bulb_c)
    print(f"hourly facility year (8,760 h): {(time.perf_counter() - t0) * 10:.2f} ms each")


if __name__ == "__main__":
    main()
