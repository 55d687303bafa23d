"""What a run returns: the per-job table, the binned time series and the summary.

Step functions recorded at events (GPU counts, weather, SoC) are integrated exactly into bins
of the chosen resolution by interpolating their running integrals at the bin edges.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from megapod.physics.carbon import emissions_t
from megapod.sim.twin.grid_profile import hour_index
from megapod.spec.scenario import Scenario
from megapod.units import HOUR_S, KILO, MEGA

if TYPE_CHECKING:
    from megapod.sim.twin.grid_profile import GridProfile
    from megapod.sim.twin.jobs import JobSet
    from megapod.sim.twin.ledger import JobLedger
    from megapod.sim.twin.tiers import Tier

FloatArray = npt.NDArray[np.float64]


class Recorder:
    """Appends state changes to flat typed arrays (8 bytes a value, no per-event objects), and
    keeps the run's event counters.

    Args:
        designs: power groups recorded (busy, failed and down GPUs of each).
        outdoor_c: outdoor temperature before the first weather record [°C].
    """

    def __init__(self, designs: int, outdoor_c: float = 20.0) -> None:
        self.designs = designs
        self.outdoor_c = outdoor_c
        self.counters = {
            "failures": 0,
            "failures_idle": 0,
            "blackouts": 0,
            "grid_events": 0,
            "outage_checkpoints": 0,
            "events": 0,
        }
        self.t = array("d")
        self.values = array("d")  # busy, failed, down per design, per record
        self.w_t = array("d")
        self.w_temp = array("d")
        self.w_speed = array("d")
        self.w_cap = array("d")
        self.s_t = array("d")
        self.s_wh = array("d")

    def state(self, t: float, busy: list[int], failed: list[int], down: list[int]) -> None:
        """Counts in force from ``t`` on."""
        self.t.append(t)
        self.values.extend(busy)
        self.values.extend(failed)
        self.values.extend(down)

    def weather(self, t: float, outdoor_c: float, speed: float, gpu_cap_w: float | None = None) -> None:
        """Outdoor temperature, job speed and the enforced GPU cap (``None``: none) from ``t`` on."""
        self.w_t.append(t)
        self.w_temp.append(outdoor_c)
        self.w_speed.append(speed)
        self.w_cap.append(math.inf if gpu_cap_w is None else gpu_cap_w)

    def soc(self, t: float, soc_wh: float) -> None:
        """Battery energy at ``t`` (linear between records)."""
        self.s_t.append(t)
        self.s_wh.append(soc_wh)


def bin_step_means(t: FloatArray, v: FloatArray, edges: FloatArray, v0: float = 0.0) -> FloatArray:
    """Mean over each bin of the step function that is ``v0`` before ``t[0]`` and ``v[i]`` on
    ``[t[i], t[i+1])`` (exact: interpolation of the running integral at the edges)."""
    if len(t) == 0:
        return np.full(len(edges) - 1, v0)
    tt = np.concatenate(([edges[0]], t, [edges[-1]]))
    vv = np.concatenate(([v0], v))
    area = np.concatenate(([0.0], np.cumsum(vv * np.diff(tt))))
    at = np.interp(edges, tt, area)
    return np.asarray(np.diff(at) / np.diff(edges), dtype=np.float64)


@dataclass(frozen=True)
class SimResult:
    """Tables of one run: ``jobs`` (one row a job), ``series`` (one row a bin), ``summary``,
    ``pods`` (one row a power group of a compute tier, e.g. a pod design: its GPU-hours, energy
    and PUE) and ``tiers`` (the same summed per compute tier)."""

    jobs: pd.DataFrame
    series: pd.DataFrame
    summary: dict[str, Any]
    pods: pd.DataFrame = field(default_factory=pd.DataFrame)
    tiers: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Trace rows and jobs not replayed, by reason (:data:`megapod.traces.SKIP_REASONS`).
    not_replayed: dict[str, int] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The per-job table (``jobs``); ``series``, ``pods`` and ``tiers`` are the other frames."""
        return self.jobs

    def to_json(self, indent: int | None = None) -> str:
        """The summary as one JSON document (a missing statistic, NaN, is written as null), with
        the ``not_replayed`` counts by reason when any row was left out."""
        import json

        clean = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in self.summary.items()
        }
        if self.not_replayed:  # rows of the trace left out, by reason
            clean["not_replayed"] = dict(self.not_replayed)
        return json.dumps(clean, default=str, indent=indent)


def build_result(
    scenario: Scenario,
    ledger: JobLedger,
    rec: Recorder,
    tiers: Sequence[Tier],
    grid: GridProfile,
    battery_wh: float,
    end_s: float,
) -> SimResult:
    """Assemble the tables of a run up to ``end_s`` from its job ledger and its recorder
    (``tiers``: the compute tiers, in the order of their power groups; ``battery_wh``: the
    site's battery energy)."""
    sc = scenario
    horizon = end_s
    res = sc.output.resolution_s
    edges = np.arange(0.0, horizon, res)
    edges = np.append(edges, horizon)
    width = np.diff(edges)
    nd = rec.designs
    t = np.frombuffer(rec.t, dtype=np.float64)
    vals = (
        np.frombuffer(rec.values, dtype=np.float64).reshape(-1, 3 * nd) if len(t) else np.zeros((0, 3 * nd))
    )
    # Power is evaluated on a fine grid: the output bins split at every hour boundary, so each
    # fine segment lies inside one hour of the price and carbon profiles, and cost and CO2
    # integrate power x hourly price exactly; then segments are summed back into output bins.
    # and at every change of the enforced GPU cap, so that each segment has one cap in force
    wt = np.frombuffer(rec.w_t, dtype=np.float64)
    w_cap = np.frombuffer(rec.w_cap, dtype=np.float64)
    cap_changes = wt[1:][w_cap[1:] != w_cap[:-1]]
    if len(w_cap) and np.isfinite(w_cap[0]):
        cap_changes = np.concatenate(([wt[0]], cap_changes))
    cap_changes = cap_changes[(cap_changes > 0) & (cap_changes < horizon)]
    fine = np.union1d(np.union1d(edges, np.arange(0.0, horizon, HOUR_S)), cap_changes)
    wf = np.diff(fine)
    to_bins = _binner(np.searchsorted(fine, edges[:-1]), wf, width, len(fine) == len(edges))
    # weather per segment (step function), job speed and GPU cap approximated per segment
    if len(rec.w_t):
        temp = bin_step_means(wt, np.frombuffer(rec.w_temp, dtype=np.float64), fine, float(rec.w_temp[0]))
        speed = bin_step_means(wt, np.frombuffer(rec.w_speed, dtype=np.float64), fine, 1.0)
        at = np.searchsorted(wt, fine[:-1], side="right") - 1  # the cap in force on each segment
        cap = np.where(at >= 0, w_cap[np.maximum(at, 0)], math.inf)
    else:
        temp = np.full(len(wf), rec.outdoor_c)
        speed = np.ones(len(wf))
        cap = np.full(len(wf), math.inf)
    cols: dict[str, FloatArray] = {"t_start_s": edges[:-1], "t_end_s": edges[1:]}
    it_total = np.zeros(len(wf))
    fac_total = np.zeros(len(wf))
    cooling_total = np.zeros(len(wf))
    loss_total = np.zeros(len(wf))
    busy_total = np.zeros(len(wf))
    failed_total = np.zeros(len(wf))
    down_total = np.zeros(len(wf))
    per_pod: list[dict[str, Any]] = []
    site_gpus = 0.0
    off_parts: set[str] = set()  # partitions of tiers off the site's supply (a vehicle fleet)
    d = 0
    for tier in tiers:
        off_site = bool(getattr(tier, "off_site_supply", False))
        if off_site:
            off_parts.update(tier.nodes.partition_names)
        for g, row in enumerate(tier.group_rows()):
            busy = bin_step_means(t, vals[:, d], fine)
            failed = bin_step_means(t, vals[:, nd + d], fine)
            down = bin_step_means(t, vals[:, 2 * nd + d], fine)
            d += 1
            up = row["gpus"] - failed - down
            flow = tier.power_flow(g, busy, up, temp, cap)
            it_mwh = float((flow.it_w * wf).sum()) / HOUR_S / MEGA
            fac_mwh = float((flow.facility_w * wf).sum()) / HOUR_S / MEGA
            gpu_h = row["gpus"] * float(wf.sum()) / HOUR_S
            per_pod.append(
                {
                    **row,
                    "busy_gpu_h": float((busy * wf).sum()) / HOUR_S,
                    "failed_gpu_h": float((failed * wf).sum()) / HOUR_S,
                    "down_gpu_h": float((down * wf).sum()) / HOUR_S,
                    "utilization": float((busy * wf).sum()) / HOUR_S / gpu_h if gpu_h > 0 else math.nan,
                    "it_energy_mwh": it_mwh,
                    "facility_energy_mwh": fac_mwh,
                    "mean_pue": fac_mwh / it_mwh if it_mwh > 0 else math.nan,
                }
            )
            if off_site:  # in its own rows, not in the site's totals
                continue
            site_gpus += row["gpus"]
            it_total += flow.it_w
            fac_total += flow.facility_w
            cooling_total += flow.cooling_w
            loss_total += flow.electrical_loss_w
            busy_total += busy
            failed_total += failed
            down_total += down
    pods_table = pd.DataFrame(per_pod)
    hours = hour_index(fine[:-1])
    price = grid.price_at(hours)
    carbon = grid.carbon_at(hours)
    seg_wh = fac_total * wf / HOUR_S
    gpus = site_gpus
    busy_bins = to_bins(busy_total)
    failed_bins = to_bins(failed_total)
    down_bins = to_bins(down_total)
    it_bins = to_bins(it_total)
    fac_bins = to_bins(fac_total)
    cooling_bins = to_bins(cooling_total)
    cols["allocated_gpus"] = busy_bins
    cols["failed_gpus"] = failed_bins
    cols["down_gpus"] = down_bins
    cols["idle_gpus"] = gpus - busy_bins - failed_bins - down_bins
    cols["it_power_w"] = it_bins
    cols["facility_power_w"] = fac_bins
    cols["cooling_power_w"] = cooling_bins
    cols["pue"] = np.divide(fac_bins, it_bins, out=np.ones_like(it_bins), where=it_bins > 0)
    cols["outdoor_temp_c"] = to_bins(temp)
    cols["job_speed"] = to_bins(speed)
    st = np.frombuffer(rec.s_t, dtype=np.float64)
    cap_wh = battery_wh
    soc = (
        np.interp(edges[1:], st, np.frombuffer(rec.s_wh, dtype=np.float64))
        if len(st)
        else np.full(len(width), cap_wh)
    )
    cols["battery_soc"] = soc / cap_wh if cap_wh > 0 else np.zeros(len(width))
    # time-mean price and intensity over each bin; cost and CO2 of the bin's own energy
    cols["price_usd_per_mwh"] = to_bins(price) * MEGA
    cols["carbon_kg_per_mwh"] = to_bins(carbon) * KILO
    cols["energy_cost_usd"] = to_bins(seg_wh * price / wf) * width
    cols["co2_kg"] = to_bins(seg_wh * carbon / wf) * width / KILO
    series = pd.DataFrame(cols)

    job_set = ledger.job_table()
    jobs = _jobs_table(ledger, job_set)
    fac_wh = float(seg_wh.sum())
    it_wh = float((it_total * wf).sum() / HOUR_S)
    cool_wh = float((cooling_total * wf).sum() / HOUR_S)
    loss_wh = float((loss_total * wf).sum() / HOUR_S)
    gpu_s = gpus * horizon
    busy_gpu_s = float((busy_total * wf).sum())
    on_site = jobs[~jobs["partition"].isin(off_parts)] if off_parts else jobs  # GPU figures: the site's
    useful = float(on_site["useful_gpu_h"].sum() * HOUR_S)
    done = jobs[jobs["state"] == "done"]
    started = jobs[jobs["start_s"].notna()]
    summary: dict[str, Any] = {
        "scenario": sc.name,
        "horizon_s": horizon,
        "seed": sc.seed,
        "gpus": int(gpus),
        "jobs": len(jobs),
        "jobs_dropped": job_set.dropped,
        "jobs_done": len(done),
        "jobs_running_at_end": int((jobs["state"] == "running").sum()),
        "jobs_queued_at_end": int((jobs["state"] == "queued").sum()),
        "jobs_cancelled": int((jobs["state"] == "cancelled").sum()),
        "utilization": busy_gpu_s / gpu_s if gpu_s > 0 else math.nan,
        "goodput": useful / gpu_s if gpu_s > 0 else math.nan,
        "busy_gpu_h": busy_gpu_s / HOUR_S,
        "idle_gpu_h": float((series["idle_gpus"] * width).sum() / HOUR_S),
        "failed_gpu_h": float((failed_total * wf).sum() / HOUR_S),
        "down_gpu_h": float((down_total * wf).sum() / HOUR_S),
        "useful_gpu_h": useful / HOUR_S,
        "lost_gpu_h": float(on_site["lost_gpu_h"].sum()),
        "checkpoint_gpu_h": float(on_site["checkpoint_gpu_h"].sum()),
        "jct_mean_s": _stat(done["jct_s"], "mean"),
        "jct_p50_s": _stat(done["jct_s"], 0.5),
        "jct_p99_s": _stat(done["jct_s"], 0.99),
        "queue_mean_s": _stat(started["queue_s"], "mean"),
        "queue_p99_s": _stat(started["queue_s"], 0.99),
        "it_energy_mwh": it_wh / MEGA,
        "facility_energy_mwh": fac_wh / MEGA,
        "cooling_energy_mwh": cool_wh / MEGA,
        "electrical_loss_mwh": loss_wh / MEGA,
        "energy_balance_error": abs(fac_wh - (it_wh + cool_wh + loss_wh)) / fac_wh if fac_wh > 0 else 0.0,
        "mean_pue": fac_wh / it_wh if it_wh > 0 else math.nan,
        "energy_cost_usd": float(np.sum(seg_wh * price)),
        "tco2": emissions_t(seg_wh, carbon),
        "mean_price_usd_per_mwh": float(np.sum(seg_wh * price)) / fac_wh * MEGA if fac_wh > 0 else math.nan,
        "mean_carbon_kg_per_mwh": float(np.sum(seg_wh * carbon)) / fac_wh * KILO if fac_wh > 0 else math.nan,
        "price_from": grid.price_from,
        "carbon_from": grid.carbon_from,
        "interruptions": int(jobs["interruptions"].sum()),
        "preemptions": int(jobs["preemptions"].sum()),
        **rec.counters,
        "min_battery_soc": float(np.min(np.frombuffer(rec.s_wh, dtype=np.float64)) / cap_wh)
        if cap_wh > 0 and len(st)
        else math.nan,
    }
    return SimResult(
        jobs=jobs,
        series=series,
        summary=summary,
        pods=pods_table,
        tiers=_tiers_table(pods_table, float(wf.sum()) / HOUR_S),
        not_replayed=dict(job_set.not_replayed),
    )


#: Columns of the per-group table that add up over a tier's groups.
_SUMMED = ("gpus", "busy_gpu_h", "failed_gpu_h", "down_gpu_h", "it_energy_mwh", "facility_energy_mwh")


def _tiers_table(groups: pd.DataFrame, hours: float) -> pd.DataFrame:
    """One row a compute tier: its groups' GPUs, GPU-hours and energy summed over ``hours``."""
    if groups.empty:
        return pd.DataFrame(columns=["tier", *_SUMMED, "utilization", "mean_pue"])
    out = groups.groupby("tier", sort=False)[list(_SUMMED)].sum().reset_index()
    gpu_h = out["gpus"] * hours
    out["utilization"] = (out["busy_gpu_h"] / gpu_h).where(gpu_h > 0)
    out["mean_pue"] = (out["facility_energy_mwh"] / out["it_energy_mwh"]).where(out["it_energy_mwh"] > 0)
    return out


def _binner(
    starts: npt.NDArray[np.intp], wf: FloatArray, width: FloatArray, identity: bool
) -> Callable[[FloatArray], FloatArray]:
    """Time-mean over each output bin of values given per fine segment (``starts``: index of
    each bin's first segment; ``wf``, ``width``: segment and bin widths [s])."""

    def to_bins(x: FloatArray) -> FloatArray:
        if identity:
            return np.asarray(x, dtype=np.float64)
        return np.asarray(np.add.reduceat(x * wf, starts) / width, dtype=np.float64)

    return to_bins


def _stat(col: pd.Series, how: str | float) -> float:
    if len(col) == 0:
        return math.nan
    return float(col.mean()) if how == "mean" else float(col.quantile(float(how)))


_STATE_NAMES = np.array(["waiting", "queued", "running", "done", "cancelled"], dtype=object)
_KIND_NAMES = np.array(["batch", "pretraining", "inference", "batch-inference"], dtype=object)


def _column(values: list[float] | list[int], dtype: type = np.float64) -> npt.NDArray[Any]:
    """One per-job list of the ledger as an array (``fromiter`` with the count and type known
    skips the type discovery of ``asarray``: about half the time on 80k jobs)."""
    return np.fromiter(values, dtype=dtype, count=len(values))


def _jobs_table(led: JobLedger, js: JobSet) -> pd.DataFrame:
    start = _column(led.start_s)
    end = _column(led.end_s)
    names = [p.name for p in led.cluster.partitions]
    # a GPU-sharing job's accounts count its share of the GPU (the ledger counts the GPU)
    share = np.where(js.gpu_milli > 0, js.gpu_milli / 1000.0, 1.0) if js.gpu_milli is not None else 1.0
    table = pd.DataFrame(
        {
            "job_id": js.job_id.astype(str),
            "kind": _KIND_NAMES[js.kind],
            "partition": np.asarray(names, dtype=object)[js.partition] if len(js) else [],
            "gpus": js.gpus,
            "submit_s": js.submit_s,
            "start_s": start,
            "end_s": end,
            "queue_s": _column(led.queue_s),
            "jct_s": end - js.submit_s,
            "work_s": js.work_s,
            "interruptions": _column(led.interruptions, np.int64),
            "preemptions": _column(led.preemptions, np.int64),
            "busy_gpu_h": _column(led.busy_gpu_s) * share / HOUR_S,
            "useful_gpu_h": _column(led.useful_gpu_s) * share / HOUR_S,
            "lost_gpu_h": _column(led.lost_gpu_s) * share / HOUR_S,
            "checkpoint_gpu_h": _column(led.ckpt_gpu_s) * share / HOUR_S,
            "state": _STATE_NAMES[_column(led.state, np.int64)] if len(js) else [],
        }
    )
    if js.gpu_milli is not None:  # what the jobs of a mixed cluster asked for beside GPUs
        assert js.cpu_milli is not None and js.memory_mib is not None and js.gpu_type is not None
        table["gpu_milli"] = js.gpu_milli
        table["cpu_milli"] = js.cpu_milli
        table["memory_mib"] = js.memory_mib
        table["gpu_type"] = js.gpu_type.astype(str)
    return table
