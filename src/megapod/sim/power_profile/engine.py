"""Run a ``power_profile`` scenario: the job's waveform, each mitigation, metrics and costs.

The engine builds the :class:`JobModel` from the site and the spec (per-phase durations from
the performance model unless phases are given), synthesizes the baseline waveform, applies
each mitigation (its job-side hooks, then its grid-side hooks, in order), and measures every
run with the same grid metrics. It returns values; it prints and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from megapod import catalog
from megapod.catalog.power import BatteryEntry
from megapod.errors import SpecError
from megapod.physics.battery import BatteryParams
from megapod.physics.power_dynamics import (
    BandContent,
    band_content,
    energy_wh,
    equivalent_full_cycles_per_day,
    failure_times_s,
    max_ramp_w_per_s,
    nvml_reading_w,
    spectrum,
    swing_w,
)
from megapod.physics.power_dynamics.battery_control import BatteryTrace
from megapod.physics.power_dynamics.battery_sizing import BatterySizing, size_battery
from megapod.physics.power_dynamics.job import JobModel, Timeline, Waveform, pod_job, synthesize
from megapod.sim.power_profile.strategies import BatterySmoothing, Strategy, build_strategy
from megapod.spec.power_profile import JobSpec, LimitsSpec, PowerProfileSpec
from megapod.spec.site import Pod, Site

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class GridMetrics:
    """How a grid draw looks to the utility."""

    mean_w: float
    peak_w: float
    trough_w: float
    max_ramp_w_per_s: float
    swing_w: float
    band: BandContent
    energy_wh: float


@dataclass(frozen=True)
class MitigationCost:
    """What a mitigation costs against the baseline.

    ``energy_overhead_wh`` is extra grid energy (burn fill, battery losses) less the energy
    left stored in the battery at the end of the window; ``energy_overhead_fraction`` is the
    change of energy per unit of training work (per step), so a cap that lengthens the step
    is charged for the longer run;
    ``throughput_loss_fraction`` is ``1 - T_step,0 / T_step``.
    """

    energy_overhead_wh: float
    energy_overhead_fraction: float
    throughput_loss_fraction: float
    battery_units: int
    battery_power_w: float
    battery_energy_wh: float
    battery_losses_wh: float
    battery_cycles_per_day: float


@dataclass(frozen=True)
class ProfileRun:
    """One waveform (baseline or mitigated), its metrics and, for mitigations, its cost."""

    name: str
    strategies: tuple[str, ...]
    job: JobModel
    waveform: Waveform
    grid_w: FloatArray
    battery: BatteryTrace | None
    metrics: GridMetrics
    cost: MitigationCost | None
    meets_limits: bool | None

    def as_dict(self) -> dict[str, Any]:
        """The run's metrics and cost as plain values, units in the keys."""
        m = self.metrics
        out: dict[str, Any] = {
            "name": self.name,
            "strategies": list(self.strategies),
            "step_time_s": self.job.step_time_s,
            "mean_w": m.mean_w,
            "peak_w": m.peak_w,
            "trough_w": m.trough_w,
            "max_ramp_w_per_s": m.max_ramp_w_per_s,
            "swing_w": m.swing_w,
            "band_0p1_20hz_rms_w": m.band.rms_w,
            "band_peak_w": m.band.peak_w,
            "band_peak_hz": m.band.peak_hz,
            "energy_wh": m.energy_wh,
            "meets_limits": self.meets_limits,
        }
        if self.cost is not None:
            out["cost"] = dict(vars(self.cost))
        return out


@dataclass(frozen=True)
class PowerProfileResult:
    """Everything a power-profile run found: :meth:`to_json` for the figures, :meth:`to_frame`
    for the waveforms."""

    name: str
    resolution_s: float
    failures_s: tuple[float, ...]
    baseline: ProfileRun
    mitigations: tuple[ProfileRun, ...]
    limits: LimitsSpec
    sizing: BatterySizing | None
    gpu_true_w: FloatArray
    gpu_nvml_w: FloatArray

    def as_dict(self) -> dict[str, Any]:
        """The whole result as one JSON-ready document (no sample arrays)."""
        job = self.baseline.job
        return {
            "name": self.name,
            "resolution_s": self.resolution_s,
            "duration_s": self.baseline.grid_w.size * self.resolution_s,
            "failures_s": list(self.failures_s),
            "job": {
                "gpus": job.gpus,
                "group_gpus": job.group_gpus,
                "groups": job.groups,
                "step_time_s": job.step_time_s,
                "pue": job.pue,
                "phases": [
                    {
                        "name": p.name,
                        "duration_s": p.duration_s,
                        "utilization": p.utilization,
                        "gpu_power_w": p.power_w,
                    }
                    for p in job.phases
                ],
            },
            "limits": self.limits.model_dump(),
            "baseline": self.baseline.as_dict(),
            "mitigations": [r.as_dict() for r in self.mitigations],
            "battery_sizing": None if self.sizing is None else dict(vars(self.sizing)),
        }

    def to_json(self) -> str:
        """:meth:`as_dict` as one JSON document."""
        return json.dumps(self.as_dict())

    def to_frame(self) -> pd.DataFrame:
        """The synthesized draw, one row a sample: ``time_s``, one GPU's board power as it is and
        as NVML would report it [W] (``gpu_board_w``, ``gpu_nvml_w``: over the first steps only,
        empty after), and per run the grid draw ``<run>_grid_w`` [W], with the battery's power
        ``<run>_battery_w`` (+ discharge) and state of charge ``<run>_soc`` where the run has a
        battery."""
        import pandas as pd

        n = self.baseline.grid_w.size
        columns: dict[str, FloatArray] = {"time_s": np.arange(n, dtype=np.float64) * self.resolution_s}
        for name, trace in (("gpu_board_w", self.gpu_true_w), ("gpu_nvml_w", self.gpu_nvml_w)):
            padded = np.full(n, np.nan)
            padded[: min(n, trace.size)] = trace[:n]
            columns[name] = padded
        for run in (self.baseline, *self.mitigations):
            columns[f"{run.name}_grid_w"] = run.grid_w
            if run.battery is not None:
                columns[f"{run.name}_battery_w"] = run.battery.battery_w
                columns[f"{run.name}_soc"] = run.battery.soc_frac[1:]
        return pd.DataFrame(columns)


def _pod(site: Site, name: str | None) -> Pod:
    if name is None:
        return site.pods[0]
    for pod in site.pods:
        if pod.name == name:
            return pod
    raise SpecError("power_profile.job.pod", f"no pod {name!r}; pods: {', '.join(p.name for p in site.pods)}")


def _phases_from_model(
    spec: JobSpec, pod: Pod, gpus_hint: int | None
) -> tuple[list[tuple[str, float, float]], int, int]:
    """(phases, gpus, lockstep group size) from the performance model."""
    from megapod.physics.perf import Hardware, Layout, model_preset, search_layouts, train_step

    assert spec.model is not None
    try:
        model = model_preset(spec.model)
    except (KeyError, ValueError) as exc:
        raise SpecError("power_profile.job.model", str(exc)) from None
    hw = Hardware.from_pod(pod)
    if spec.layout is not None:
        layout = Layout(**spec.layout.model_dump())
        try:
            step = train_step(model, hw, layout)
        except ValueError as exc:
            raise SpecError("power_profile.job.layout", str(exc)) from None
    else:
        gpus = gpus_hint or pod.gpus * pod.count
        found = search_layouts(model, hw, gpus, spec.global_batch or 1, top=1)
        if not found:
            raise SpecError("power_profile.job", f"no valid layout of {spec.model} on {gpus} GPUs")
        step = found[0]
    lay = step.layout
    phases = [(p.name, p.duration_s, p.gpu_utilization) for p in step.phases]
    return phases, lay.gpus, lay.tp * lay.pp * lay.cp


def build_job(site: Site, spec: PowerProfileSpec) -> JobModel:
    """The :class:`JobModel` of the scenario's job on its pod."""
    js = spec.job
    pod = _pod(site, js.pod)
    system = pod.racks[0].server.system
    if js.phases is not None:
        raw = [(p.name, p.duration_s, p.utilization) for p in js.phases]
        gpus = js.gpus or pod.gpus * pod.count
        group = js.group_gpus or system.gpus
    else:
        raw, layout_gpus, layout_group = _phases_from_model(js, pod, js.gpus)
        gpus = js.gpus or layout_gpus
        group = js.group_gpus or layout_group
    if sum(d for _, d, _ in raw) <= 0:
        raise SpecError("power_profile.job.phases", "the step has zero length")
    unknown = set(js.phase_power_w) - {name for name, _, _ in raw}
    if unknown:
        raise SpecError(
            "power_profile.job.phase_power_w",
            f"no phase named {', '.join(sorted(unknown))}; phases: {', '.join(n for n, _, _ in raw)}",
        )
    return pod_job(
        pod,
        raw,
        gpus,
        group,
        phase_power_w=js.phase_power_w,
        checkpoint_utilization=js.checkpoint_utilization,
        pue=spec.facility.pue,
        cooling_time_constant_s=spec.facility.cooling_time_constant_s,
        jitter_s=js.jitter_s,
    )


def grid_metrics(grid_w: FloatArray, resolution_s: float, limits: LimitsSpec) -> GridMetrics:
    """The grid metrics of one draw, windows taken from ``limits``."""
    return GridMetrics(
        mean_w=float(np.mean(grid_w)),
        peak_w=float(np.max(grid_w)),
        trough_w=float(np.min(grid_w)),
        max_ramp_w_per_s=max_ramp_w_per_s(grid_w, resolution_s, limits.ramp_window_s),
        swing_w=swing_w(grid_w, resolution_s, limits.swing_window_s),
        band=band_content(spectrum(grid_w, resolution_s)),
        energy_wh=energy_wh(grid_w, resolution_s),
    )


def _meets(m: GridMetrics, limits: LimitsSpec) -> bool | None:
    if limits.max_ramp_w_per_s is None and limits.max_swing_w is None:
        return None
    ramp_ok = limits.max_ramp_w_per_s is None or m.max_ramp_w_per_s <= limits.max_ramp_w_per_s * 1.000001
    swing_ok = limits.max_swing_w is None or m.swing_w <= limits.max_swing_w * 1.000001
    return ramp_ok and swing_ok


def _size_for(
    strategy: BatterySmoothing, load_w: FloatArray, dt: float, limits: LimitsSpec
) -> BatterySmoothing:
    """Fill in the unit count of a battery left unsized, from the limits (or its ramp target)."""
    sizing = size_battery(
        load_w,
        dt,
        strategy.unit,
        unit_name=strategy.unit.name,
        max_ramp_w_per_s_limit=limits.max_ramp_w_per_s or strategy.ramp_limit_w_per_s,
        max_swing_w_limit=limits.max_swing_w,
        ramp_window_s=limits.ramp_window_s,
        swing_window_s=limits.swing_window_s,
        soc_target=strategy.soc_target,
        soc_time_constant_s=strategy.soc_time_constant_s,
    )
    return replace(strategy.with_units(sizing.units), ramp_limit_w_per_s=sizing.control_ramp_w_per_s)


def run_power_profile(
    site: Site,
    spec: PowerProfileSpec,
    seed: int = 0,
    name: str = "power-profile",
    progress: Callable[[int, int], None] | None = None,
) -> PowerProfileResult:
    """Run the scenario's job, its mitigations and the battery sizing; see the module docs.

    One ``SeedSequence(seed)`` feeds the failure draws and the jitter draws (the same jitter
    draws for every mitigation, so differences come from the mitigation only).
    ``progress(done, total)`` is called after the baseline and after each mitigation, if given.
    """
    total = 1 + len(spec.mitigations)
    tl = spec.timeline
    dt = tl.resolution_s
    fail_seq, jitter_seq = np.random.SeedSequence(seed).spawn(2)
    drawn = failure_times_s(tl.duration_s, tl.mtbf_s, np.random.default_rng(fail_seq))
    failures = tuple(sorted({*tl.failures_at_s, *drawn}))
    timeline = Timeline(
        tl.duration_s, dt, tl.checkpoint_every_s, tl.checkpoint_s, failures, tl.restart_s, tl.restart_ramp_s
    )
    job = build_job(site, spec)
    base_wave = synthesize(job, timeline, jitter_seq)
    base_metrics = grid_metrics(base_wave.grid_w, dt, spec.limits)
    baseline = ProfileRun(
        "baseline",
        (),
        job,
        base_wave,
        base_wave.grid_w,
        None,
        base_metrics,
        None,
        _meets(base_metrics, spec.limits),
    )
    if progress is not None:
        progress(1, total)
    runs = []
    for i, mit in enumerate(spec.mitigations):
        strategies: list[Strategy] = [
            build_strategy(st.strategy, st.params, f"power_profile.mitigations[{i}].steps[{j}].params")
            for j, st in enumerate(mit.steps)
        ]
        mjob = job
        for s in strategies:
            mjob = s.adjust_job(mjob)
        wave = base_wave if mjob == job else synthesize(mjob, timeline, jitter_seq)
        grid = wave.grid_w
        trace: BatteryTrace | None = None
        units = 0
        for s in strategies:
            if isinstance(s, BatterySmoothing):
                if s.battery is None:
                    s = _size_for(s, grid, dt, spec.limits)
                units += s.units or 0
            t = s.adjust_grid(grid, dt)
            if t is not None:
                trace, grid = t, t.grid_w
        metrics = grid_metrics(grid, dt, spec.limits)
        runs.append(
            ProfileRun(
                mit.name,
                tuple(s.name for s in strategies),
                mjob,
                wave,
                grid,
                trace,
                metrics,
                _cost(job, mjob, base_metrics, metrics, trace, units, dt),
                _meets(metrics, spec.limits),
            )
        )
        if progress is not None:
            progress(2 + i, total)
    sizing = None
    if spec.limits.max_ramp_w_per_s is not None or spec.limits.max_swing_w is not None:
        unit_name = _battery_unit_name(site, spec)
        unit = catalog.typed("battery", unit_name, BatteryEntry)
        sizing = size_battery(
            base_wave.grid_w,
            dt,
            unit,
            unit_name=unit_name,
            max_ramp_w_per_s_limit=spec.limits.max_ramp_w_per_s,
            max_swing_w_limit=spec.limits.max_swing_w,
            ramp_window_s=spec.limits.ramp_window_s,
            swing_window_s=spec.limits.swing_window_s,
        )
    n_show = min(base_wave.grid_w.size, max(base_wave.iteration_gpu_w.size * 4, round(10.0 / dt)))
    gpu_true = np.tile(base_wave.iteration_gpu_w, -(-n_show // base_wave.iteration_gpu_w.size))[:n_show]
    gpu_nvml = nvml_reading_w(gpu_true, dt, spec.sensor.window_s, spec.sensor.update_period_s)
    return PowerProfileResult(
        name, dt, failures, baseline, tuple(runs), spec.limits, sizing, gpu_true, gpu_nvml
    )


def _battery_unit_name(site: Site, spec: PowerProfileSpec) -> str:
    """The unit named by the first battery mitigation, else the pod's battery, else a Megapack."""
    for mit in spec.mitigations:
        for st in mit.steps:
            if st.strategy == "battery_smoothing" and isinstance(st.params.get("unit"), str):
                return str(st.params["unit"])
    pod = _pod(site, spec.job.pod)
    battery = pod.power.battery
    if battery is not None:
        for name in catalog.names("battery"):
            if catalog.get("battery", name) == battery.unit:
                return name
    return "megapack-2xl-2h"


def _cost(
    job: JobModel,
    mjob: JobModel,
    base: GridMetrics,
    m: GridMetrics,
    trace: BatteryTrace | None,
    units: int,
    dt: float,
) -> MitigationCost:
    # energy left in the battery at the end is not spent: count only what is lost or burnt
    stored_wh = (
        0.0 if trace is None else float(trace.soc_frac[-1] - trace.soc_frac[0]) * trace.params.energy_wh
    )
    overhead = m.energy_wh - base.energy_wh - stored_wh
    bank = trace.params if trace is not None else BatteryParams(0.0, 0.0, 1.0)
    return MitigationCost(
        energy_overhead_wh=overhead,
        energy_overhead_fraction=(
            (base.energy_wh + overhead) * mjob.step_time_s / (base.energy_wh * job.step_time_s) - 1.0
            if base.energy_wh > 0
            else 0.0
        ),
        throughput_loss_fraction=1.0 - job.step_time_s / mjob.step_time_s,
        battery_units=units,
        battery_power_w=bank.power_w,
        battery_energy_wh=bank.energy_wh,
        battery_losses_wh=0.0 if trace is None else trace.losses_wh,
        battery_cycles_per_day=0.0
        if trace is None
        else equivalent_full_cycles_per_day(trace.battery_w, dt, bank.energy_wh),
    )
