"""Run one point and reduce its result to the key outputs (this runs in a Ray worker).

The outputs of each kind are named in :data:`megapod.spec.sweep.OUTPUTS`. A point that the
library refuses on purpose (an infeasible goal, a design that fails its physical checks) is a
``failed`` outcome with the reason; it is a result of the sweep like any other. Anything else
is a bug and propagates.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from megapod.errors import MegapodError
from megapod.units import MEGA

if TYPE_CHECKING:
    from megapod.planner.plan import Plan
    from megapod.sim.twin import SimResult
    from megapod.spec.goal import ServingGoal, TrainingGoal
    from megapod.spec.scenario import Scenario
    from megapod.spec.site import Site


def run_point(kind: str, inputs: Any) -> dict[str, Any]:
    """Run one point; return ``status`` (``ok``/``failed``), ``error``, ``outputs`` (name ->
    float) and ``elapsed_s``, the point's own run time (validation done, results reduced)."""
    start = time.perf_counter()
    try:
        outputs = scenario_outputs(inputs) if kind == "scenario" else plan_outputs(*inputs)
    except MegapodError as exc:
        return {
            "status": "failed",
            "error": f"{type(exc).__name__}: {exc}",
            "outputs": {},
            "elapsed_s": time.perf_counter() - start,
        }
    return {"status": "ok", "error": "", "outputs": outputs, "elapsed_s": time.perf_counter() - start}


def run_points(kind: str, batch: list[Any], stop_at: float | None = None) -> list[dict[str, Any]]:
    """Run a batch of points in one call (one Ray task), each as :func:`run_point` does.

    A point that crashes (a bug) is a ``status: error`` outcome with the exception, and the
    batch goes on. No point is started once the wall clock (``time.time()``) passes
    ``stop_at``: the outcomes returned are those of the points run, in batch order.
    """
    outcomes: list[dict[str, Any]] = []
    for inputs in batch:
        if stop_at is not None and time.time() >= stop_at:
            break
        try:
            outcomes.append(run_point(kind, inputs))
        except Exception as exc:  # a bug in one point: recorded, the sweep goes on
            outcomes.append(crash(exc))
    return outcomes


def crash(exc: BaseException) -> dict[str, Any]:
    """The outcome of a point whose run raised ``exc`` (a bug, or a lost Ray worker)."""
    return {"status": "error", "error": f"{type(exc).__name__}: {exc}", "outputs": {}, "elapsed_s": 0.0}


def scenario_outputs(scenario: Scenario) -> dict[str, float]:
    """Run the scenario through the twin; the key outputs of :data:`OUTPUTS` ``["scenario"]``."""
    from megapod.sim.twin import simulate

    return _from_sim(simulate(scenario), scenario)


def _from_sim(result: SimResult, scenario: Scenario) -> dict[str, float]:
    s = result.summary
    jobs = result.jobs
    pre = jobs[jobs["kind"] == "pretraining"]
    if len(pre) and bool((pre["state"] == "done").all()):
        time_to_train = float((pre["end_s"] - pre["submit_s"]).max())
    else:
        time_to_train = math.nan
    useful = float(s["useful_gpu_h"])
    battery_wh = sum(
        p.count * p.power.battery.energy_wh for p in scenario.site.pods if p.power.battery is not None
    )
    peak = float(result.series["facility_power_w"].max()) if len(result.series) else math.nan
    return {
        "goodput": float(s["goodput"]),
        "utilization": float(s["utilization"]),
        "useful_gpu_h": useful,
        "time_to_train_s": time_to_train,
        "energy_mwh": float(s["facility_energy_mwh"]),
        "energy_cost_usd": float(s["energy_cost_usd"]),
        "energy_usd_per_useful_gpu_h": float(s["energy_cost_usd"]) / useful if useful > 0 else math.nan,
        "pue": float(s["mean_pue"]),
        "co2_t": float(s["tco2"]),
        "peak_mw": peak / MEGA,
        "battery_mwh": battery_wh / MEGA,
        "jct_p50_s": float(s["jct_p50_s"]),
        "queue_mean_s": float(s["queue_mean_s"]),
    }


def plan_outputs(site: Site, goal: TrainingGoal | ServingGoal) -> dict[str, float]:
    """Check the site as ``megapod plan`` does, plan the goal; the key outputs of its kind."""
    from megapod import plan
    from megapod.planner.checks import check_site, raise_on_errors

    raise_on_errors(check_site(site))
    return _from_plan(plan(site, goal))


def _from_plan(p: Plan) -> dict[str, float]:
    f = p.facility
    common = {
        "usd_per_gpu_h": f.cost_per_gpu_hour_usd,
        "pue": f.annual_pue,
        "peak_mw": f.facility_peak_w / MEGA,
        "battery_mwh": max(f.battery_energy_wh, p.grid.energy_wh if p.grid else 0.0) / MEGA,
        "gpus": float(f.gpus),
        "tco_usd": f.tco_usd,
    }
    if p.training is not None:
        t = p.training
        return {
            "time_to_train_s": t.wall_s,
            "cost_per_run_usd": t.run_cost_usd,
            "goodput": t.failure_free_s / t.wall_s if t.wall_s > 0 else math.nan,
            "energy_mwh": t.run_energy_wh / MEGA,
            "co2_t": t.run_co2_t,
            "mfu": t.mfu,
            **common,
        }
    assert p.serving is not None
    return {
        "usd_per_million_tokens": p.serving.cost_per_million_tokens_usd,
        "tokens_per_s": p.serving.tokens_per_s_capacity,
        "energy_mwh": f.annual_facility_energy_wh / MEGA,
        "co2_t": f.annual_co2_t,
        **common,
    }
