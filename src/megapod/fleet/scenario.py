"""The fleet engine over a twin's run: the work units, validation and money of what the twin
sent to the fleet.

The twin schedules jobs on the fleet's cars as slots that come and go with the cars
(:mod:`megapod.fleet.tier`); it does not split the work into units, replicate them, check them
by quorum or pay owners. For those, the fleet engine (:class:`~megapod.fleet.engine.FleetRun`)
runs over the same horizon with the twin's demand: each job the twin ran on the fleet brings
its tokens,

    T_j = cars_j · work_j · r_car / k        [token]

(its car slots, its failure-free run time, the car's decode rate and the replicas per unit
``k`` that the slots included), as work units spread evenly over ``[submit_j, submit_j +
work_j]``: the rate the job asked for. The engine's own cars then take, validate and pay for
them as in a plain ``megapod fleet`` run. Both runs follow the same mobility model with the
fleet's seed, but they are two simulations: the twin moves cars in buckets
(``fleet.simulated`` nodes), the engine car by car, so the twin's busy car-hours and the
engine's accepted work agree in expectation, not step by step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from megapod.errors import SpecError
from megapod.fleet.engine import FleetRun
from megapod.fleet.results import FleetResult, summarize
from megapod.fleet.work import check_work
from megapod.sim.twin import SimResult
from megapod.sim.twin.dispatch import (
    car_decode_tokens_per_s,
    cars_per_gpu,
    gpu_decode_tokens_per_s,
    pod_usd_per_mtok,
)
from megapod.spec.fleet import Fleet
from megapod.spec.scenario import Scenario
from megapod.units import HOUR_S

IntArray = npt.NDArray[np.int64]


def fleet_jobs(jobs: pd.DataFrame, partition: str = "fleet") -> pd.DataFrame:
    """The rows of a twin's job table that ran on the fleet's partition."""
    return jobs[jobs["partition"] == partition]


def demand_units(fleet: Fleet, jobs: pd.DataFrame, horizon_s: float) -> IntArray:
    """Units submitted at each of the engine's steps for the fleet jobs ``jobs`` of a twin's
    table (columns ``gpus`` = car slots, ``work_s``, ``submit_s``), for the engine's sample of
    ``fleet.simulated`` cars (module docstring)."""
    cost = check_work(fleet)
    steps = math.ceil(horizon_s / fleet.step_s)
    edges = np.arange(steps + 1, dtype=np.float64) * fleet.step_s
    cars = jobs["gpus"].to_numpy(dtype=np.float64)
    work = np.maximum(jobs["work_s"].to_numpy(dtype=np.float64), 1e-9)
    start = jobs["submit_s"].to_numpy(dtype=np.float64)
    tokens = cars * work * cost.tokens_per_s / fleet.validation.replicas_per_unit
    sample = fleet.simulated / fleet.vehicles
    cum = np.zeros(steps + 1)
    for lo in range(0, len(cars), 4096):  # bounded memory: 4,096 jobs × steps at a time
        sl = slice(lo, lo + 4096)
        share = np.clip((edges[None, :] - start[sl, None]) / work[sl, None], 0.0, 1.0)
        cum += (tokens[sl, None] * share).sum(axis=0)
    units = np.floor(cum * sample / fleet.work.tokens_per_unit + 1e-9).astype(np.int64)
    return np.diff(units)


def run_for_twin(fleet: Fleet, jobs: pd.DataFrame, horizon_s: float, partition: str = "fleet") -> FleetResult:
    """The fleet engine over ``horizon_s`` with the demand of the twin's fleet jobs (rows of
    ``jobs`` on ``partition``): units, quorum, availability and each payout scheme's money."""
    run_fleet = fleet.model_copy(update={"horizon_s": horizon_s})
    arrivals = demand_units(run_fleet, fleet_jobs(jobs, partition), horizon_s)
    run = FleetRun(run_fleet, check_work(run_fleet, "site.fleet."), arrivals=arrivals)
    run.run()
    return summarize(run)


@dataclass(frozen=True)
class TierFigures:
    """One compute tier in a twin's run (the fleet's slots are cars, the pods' GPUs)."""

    tier: str
    slots: int
    jobs: int
    jobs_done: int
    jct_mean_s: float
    busy_slot_h: float
    lost_slot_h: float
    utilization: float
    batch_inference_tokens_per_s: float
    energy_mwh: float
    usd_per_mtok: float


@dataclass(frozen=True)
class FleetInRun:
    """What the fleet did in a twin's run, next to the pods: the twin's per-tier figures, the
    fleet engine over the same demand (:func:`run_for_twin`), and a million tokens' cost."""

    dispatch: str
    cars_per_gpu: float
    pods: TierFigures
    fleet: TierFigures
    engine: FleetResult
    pod_usd_per_gpu_h: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (a figure that is not a finite number is None)."""
        doc = {
            "dispatch": self.dispatch,
            "cars_per_gpu": self.cars_per_gpu,
            "pod_usd_per_gpu_h": self.pod_usd_per_gpu_h,
            "tiers": [asdict(self.pods), asdict(self.fleet)],
            "engine": self.engine.to_dict(),
        }
        return {str(k): v for k, v in json_ready(doc).items()}


def json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities as None and numpy scalars as Python numbers, through
    dicts, lists and tuples (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _tier_figures(
    name: str,
    rows: pd.DataFrame,
    tier_row: dict[str, Any],
    tokens_per_slot_h: float,
    usd_per_mtok: float,
    horizon_h: float,
) -> TierFigures:
    done = rows[rows["state"] == "done"]
    bi = rows[rows["kind"] == "batch-inference"]
    return TierFigures(
        tier=name,
        slots=int(tier_row["gpus"]),
        jobs=len(rows),
        jobs_done=len(done),
        jct_mean_s=float(done["jct_s"].mean()) if len(done) else math.nan,
        busy_slot_h=float(tier_row["busy_gpu_h"]),
        lost_slot_h=float(rows["lost_gpu_h"].sum()),
        utilization=float(tier_row["utilization"]),
        batch_inference_tokens_per_s=float(bi["useful_gpu_h"].sum())
        * tokens_per_slot_h
        / (horizon_h * HOUR_S),
        energy_mwh=float(tier_row["facility_energy_mwh"]),
        usd_per_mtok=usd_per_mtok,
    )


def fleet_in_run(
    scenario: Scenario, result: SimResult, pod_usd_per_gpu_h: float | None = None, partition: str = "fleet"
) -> FleetInRun:
    """The fleet beside the pods in a twin's ``result`` of ``scenario`` (a site with a fleet):
    jobs, busy slot-hours, batch-inference tokens and energy of each tier; the fleet engine over
    the same demand (units, availability, money per scheme); and each tier's cost of a million
    tokens: the fleet's price, the pods' ``pod_usd_per_gpu_h / (3600 s · r_gpu) · 10^6`` (NaN
    when the pods' cost is not given). Batch-inference tokens are useful slot-hours × the
    tier's decode rate (the fleet's divided by the replicas per unit)."""
    fleet = scenario.site.fleet
    if fleet is None:
        raise SpecError("site.fleet", "the scenario's site has no fleet: section")
    gpu = scenario.site.pods[0].racks[0].server.gpu
    r_gpu = gpu_decode_tokens_per_s(fleet, gpu)
    r_car = car_decode_tokens_per_s(fleet) / fleet.validation.replicas_per_unit
    jobs = result.jobs
    on_fleet = jobs["partition"] == partition
    tiers = {str(row["tier"]): {str(k): v for k, v in row.items()} for row in result.tiers.to_dict("records")}
    horizon_s = float(result.summary["horizon_s"])
    horizon_h = horizon_s / HOUR_S
    pods_mtok = pod_usd_per_mtok(pod_usd_per_gpu_h, r_gpu) if pod_usd_per_gpu_h is not None else math.nan
    return FleetInRun(
        dispatch=scenario.policies.dispatch,
        cars_per_gpu=cars_per_gpu(fleet, gpu),
        pods=_tier_figures("pods", jobs[~on_fleet], tiers["pods"], r_gpu * HOUR_S, pods_mtok, horizon_h),
        fleet=_tier_figures(
            "fleet",
            jobs[on_fleet],
            tiers["vehicles"],
            r_car * HOUR_S,
            fleet.economics.price_usd_per_mtok,
            horizon_h,
        ),
        engine=run_for_twin(fleet, jobs, horizon_s, partition),
        pod_usd_per_gpu_h=pod_usd_per_gpu_h,
    )
