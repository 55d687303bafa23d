"""The ``power_profile:`` section of a scenario: a training job's grid-facing power dynamics.

Describes the job (a performance-model preset with a layout, or explicit step phases), the
timeline (window, resolution, checkpoints, failures, restarts), the sensor model, the
facility overhead, the mitigations to compare and the grid limits to meet. Values only; the
engine in :mod:`megapod.sim.power_profile` turns them into waveforms.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from megapod.quantities import DurationS, Fraction, PowerW
from megapod.spec.base import SpecModel
from megapod.units import parse_quantity


def _ramp(value: Any) -> Any:
    """Accept ``5e6`` [W/s] or ``"5 MW/s"`` (a power per second)."""
    if isinstance(value, str) and value.strip().endswith("/s"):
        return parse_quantity(value.strip()[:-2], "power")
    return value


#: Fewest samples a timeline may hold: below it the spectrum's window and the ramp are undefined.
MIN_SAMPLES = 10

#: A ramp rate [W/s]; strings like ``"10 MW/s"`` are accepted.
RampWPerS = Annotated[float, BeforeValidator(_ramp), Field(gt=0)]


class PhaseSpec(SpecModel):
    """One phase of a training step on every GPU: its length and GPU utilization."""

    name: str = Field(min_length=1)
    duration_s: DurationS = Field(description="phase length [s]")
    utilization: Fraction = Field(description="busy fraction of the GPU in [0, 1]")


class LayoutSpec(SpecModel):
    """Parallel layout of the job (performance-model ``Layout`` fields)."""

    tp: int = Field(1, ge=1)
    pp: int = Field(1, ge=1)
    dp: int = Field(1, ge=1)
    cp: int = Field(1, ge=1)
    ep: int = Field(1, ge=1)
    micro_batch: int = Field(1, ge=1)
    global_batch: int = Field(1, ge=1)
    interleave: int = Field(1, ge=1)
    recompute: str = "none"
    zero_stage: int = Field(1, ge=0, le=3)
    dtype: str = "bf16"


class JobSpec(SpecModel):
    """The training job whose power is profiled.

    Give ``phases`` explicitly, or ``model`` (a performance-model preset) with a ``layout``
    (or ``global_batch`` to let the layout search pick the fastest one).
    """

    pod: str | None = Field(None, description="pod the job runs on; default the first")
    gpus: int | None = Field(
        None, ge=1, le=10_000_000, description="default: the layout's GPUs or all the pod type's"
    )
    model: str | None = None
    layout: LayoutSpec | None = None
    global_batch: int | None = Field(None, ge=1)
    phases: list[PhaseSpec] | None = Field(None, min_length=1)
    group_gpus: int | None = Field(
        None, ge=1, description="GPUs that move in lockstep; default tp·pp·cp or 8"
    )
    jitter_s: DurationS = Field(0.0, description="σ of each group's per-step offset [s]")
    phase_power_w: dict[str, PowerW] = Field(
        default_factory=dict, description="measured board power per phase name, overriding the model"
    )
    checkpoint_utilization: Fraction = 0.05

    @model_validator(mode="after")
    def _source(self) -> JobSpec:
        if self.phases is None and self.model is None:
            raise ValueError("give 'phases', or 'model' with 'layout' or 'global_batch'")
        if self.phases is None and self.layout is None and self.global_batch is None:
            raise ValueError("with 'model', give 'layout' or 'global_batch'")
        return self


class TimelineSpec(SpecModel):
    """Window, resolution and the events inside it."""

    duration_s: DurationS = Field(600.0, gt=0, le=86_400.0)
    resolution_s: DurationS = Field(0.001, gt=0, le=10.0)
    checkpoint_every_s: DurationS | None = Field(None, gt=0)
    checkpoint_s: DurationS = 0.0
    failures_at_s: list[DurationS] = Field(default_factory=list)
    mtbf_s: DurationS | None = Field(None, gt=0)
    restart_s: DurationS = 60.0
    restart_ramp_s: DurationS = 10.0

    @model_validator(mode="after")
    def _samples(self) -> TimelineSpec:
        n = self.duration_s / self.resolution_s
        if n > 50_000_000:
            raise ValueError(f"duration_s / resolution_s = {n:,.0f} samples; at most 50,000,000")
        if n < MIN_SAMPLES:
            raise ValueError(
                f"duration_s / resolution_s = {n:,.1f} samples; at least {MIN_SAMPLES} "
                "(a spectrum or a ramp needs a window of several samples)"
            )
        return self


class SensorSpec(SpecModel):
    """NVML averaging model used for the per-GPU sensor view."""

    window_s: DurationS = Field(1.0, gt=0)
    update_period_s: DurationS = Field(0.1, gt=0)


class FacilitySpec(SpecModel):
    """Facility overhead on top of IT power."""

    pue: float | None = Field(None, ge=1, le=3, description="default: the pod's design PUE")
    cooling_time_constant_s: DurationS = Field(30.0, description="lag of cooling power behind IT power")


class StepSpec(SpecModel):
    """One mitigation strategy (a registry name) with its parameters."""

    strategy: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)


class MitigationSpec(SpecModel):
    """A named mitigation: one strategy, or several combined in order."""

    name: str = Field(min_length=1)
    steps: list[StepSpec] = Field(min_length=1)


class LimitsSpec(SpecModel):
    """Grid limits the site must meet, and the windows they are measured over."""

    max_ramp_w_per_s: RampWPerS | None = None
    max_swing_w: PowerW | None = None
    ramp_window_s: DurationS = Field(1.0, gt=0)
    swing_window_s: DurationS | None = Field(None, gt=0)


class PowerProfileSpec(SpecModel):
    """The ``power_profile:`` section of a scenario."""

    job: JobSpec
    timeline: TimelineSpec = TimelineSpec()
    sensor: SensorSpec = SensorSpec()
    facility: FacilitySpec = FacilitySpec()
    mitigations: list[MitigationSpec] = Field(default_factory=list)
    limits: LimitsSpec = LimitsSpec()
