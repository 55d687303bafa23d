"""A training job as plain numbers, and its site power waveform.

:class:`JobModel` holds what the waveform depends on; strategies that act on the GPUs
(power floor, power cap, staggering) return a changed copy. :func:`synthesize` lays the
iteration profile, group offsets and timeline onto the sample grid and adds the facility
overhead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from megapod.physics.gpu_power import board_power_w
from megapod.physics.inventory import pod_inventory
from megapod.physics.power_dynamics import (
    first_order_lowpass_w,
    iteration_profile_w,
    job_segments,
    job_waveform_w,
    training_waveform_w,
)

if TYPE_CHECKING:
    from megapod.spec.site import Pod

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PhasePower:
    """One phase of a step on one GPU: length [s], utilization and board power [W]."""

    name: str
    duration_s: float
    utilization: float
    power_w: float


@dataclass(frozen=True)
class Timeline:
    """The window and its events (see :func:`megapod.physics.power_dynamics.job_segments`)."""

    duration_s: float
    resolution_s: float
    checkpoint_every_s: float | None = None
    checkpoint_s: float = 0.0
    failures_s: tuple[float, ...] = ()
    restart_s: float = 60.0
    ramp_s: float = 10.0


@dataclass(frozen=True)
class JobModel:
    """Everything the site waveform of one training job depends on.

    Attributes:
        phases: the step on one GPU.
        gpus: GPUs in the job; ``gpus // group_gpus`` groups of ``group_gpus``.
        gpu_idle_w, gpu_tdp_w: board idle and maximum power [W].
        checkpoint_gpu_w: board power while a checkpoint is written [W].
        static_w: power that does not follow the step (hosts, network) [W].
        pue: facility power / IT power at design.
        cooling_time_constant_s: lag of the cooling overhead behind IT power [s].
        jitter_s: σ of each group's per-step offset [s].
        group_offsets_fraction: fixed offset of each cohort, as a fraction of the step;
            group ``g`` belongs to cohort ``g mod len(...)``. ``(0.0,)`` is lockstep.
        floor_gpu_w: lowest board power any phase is held at (power floor) [W].
    """

    phases: tuple[PhasePower, ...]
    gpus: int
    group_gpus: int
    gpu_idle_w: float
    gpu_tdp_w: float
    checkpoint_gpu_w: float
    static_w: float
    pue: float
    cooling_time_constant_s: float = 30.0
    jitter_s: float = 0.0
    group_offsets_fraction: tuple[float, ...] = (0.0,)
    floor_gpu_w: float = 0.0

    @property
    def groups(self) -> int:
        """Number of lockstep groups."""
        return max(1, self.gpus // self.group_gpus)

    @property
    def step_time_s(self) -> float:
        """Length of one step [s]."""
        return float(sum(p.duration_s for p in self.phases))

    def phase_power_w(self) -> FloatArray:
        """Board power of each phase after the power floor [W]."""
        p = np.array([ph.power_w for ph in self.phases], dtype=np.float64)
        return np.maximum(p, self.floor_gpu_w)

    def with_changes(self, **changes: object) -> JobModel:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Waveform:
    """A job's power over the window: IT power and grid power (IT + facility overhead) [W]."""

    it_w: FloatArray
    grid_w: FloatArray
    resolution_s: float
    iteration_gpu_w: FloatArray


def synthesize(job: JobModel, timeline: Timeline, jitter_seed: np.random.SeedSequence) -> Waveform:
    """Site power of ``job`` over ``timeline`` [W].

    ``P_IT = N_gpu/group·Σ_groups P_gpu(t - o_g) + P_static`` and
    ``P_grid = P_IT + (PUE - 1)·LP_τ(P_IT)`` with ``LP_τ`` a first-order lag (cooling plant
    inertia; pumps, fans and chillers follow IT heat on a time scale of tens of seconds).
    The jitter generator is built from ``jitter_seed`` so runs that compare mitigations
    see the same draws.
    """
    dt = timeline.resolution_s
    durations = np.array([p.duration_s for p in job.phases], dtype=np.float64)
    profile = iteration_profile_w(durations, job.phase_power_w(), dt)
    n = profile.size
    segments = job_segments(
        timeline.duration_s,
        dt,
        n,
        timeline.checkpoint_every_s,
        timeline.checkpoint_s,
        timeline.failures_s,
        timeline.restart_s,
        timeline.ramp_s,
    )
    needed = sum(s.samples for s in segments if s.kind in ("training", "ramp"))
    iterations = -(-needed // n) + sum(1 for s in segments if s.interrupted) + 1
    cohorts = np.asarray(job.group_offsets_fraction, dtype=np.float64)
    offsets = cohorts[np.arange(job.groups) % cohorts.size] * n * dt
    rng = np.random.default_rng(jitter_seed)
    train = training_waveform_w(profile, dt, iterations, job.group_gpus, offsets, job.jitter_s, rng)
    scale = job.gpus / (job.groups * job.group_gpus)  # GPUs left over after whole groups
    floor_idle = max(job.gpu_idle_w, job.floor_gpu_w)
    gpu_w = job_waveform_w(
        segments,
        train * scale,
        n,
        checkpoint_w=max(job.checkpoint_gpu_w, job.floor_gpu_w) * job.gpus,
        down_w=floor_idle * job.gpus,
    )
    it_w = gpu_w + job.static_w
    overhead_w = (job.pue - 1.0) * first_order_lowpass_w(it_w, dt, job.cooling_time_constant_s)
    return Waveform(it_w, it_w + overhead_w, dt, profile)


def pod_job(
    pod: Pod,
    phases: Sequence[tuple[str, float, float]],
    gpus: int,
    group_gpus: int,
    *,
    phase_power_w: Mapping[str, float] | None = None,
    checkpoint_utilization: float = 0.05,
    pue: float | None = None,
    cooling_time_constant_s: float = 30.0,
    jitter_s: float = 0.0,
) -> JobModel:
    """The :class:`JobModel` of a job of ``gpus`` GPUs on ``pod``'s servers.

    ``phases`` are ``(name, duration [s], GPU utilization)`` of one step; a phase's board power
    is ``phase_power_w[name]`` when given, else :func:`~megapod.physics.gpu_power.board_power_w`
    of its utilization. The static draw is each GPU's share of its server's host power and of
    the pod's switches; ``pue`` defaults to the pod's design PUE.
    """
    server = pod.racks[0].server
    gpu, system = server.gpu, server.system
    given = phase_power_w or {}
    inv = pod_inventory(pod)
    return JobModel(
        phases=tuple(
            PhasePower(n, d, u, given.get(n, float(board_power_w(u, gpu.idle_w, gpu.tdp_w))))
            for n, d, u in phases
        ),
        gpus=gpus,
        group_gpus=min(group_gpus, gpus),
        gpu_idle_w=gpu.idle_w,
        gpu_tdp_w=gpu.tdp_w,
        checkpoint_gpu_w=float(board_power_w(checkpoint_utilization, gpu.idle_w, gpu.tdp_w)),
        static_w=gpus * (system.host_power_w / system.gpus + inv.switch_power_w / max(inv.gpus, 1)),
        pue=pue or pod.cooling.design_pue,
        cooling_time_constant_s=cooling_time_constant_s,
        jitter_s=jitter_s,
    )
