"""Workload section of a scenario: trace replay, synthetic jobs, pretraining runs, inference."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from megapod.quantities import DurationS
from megapod.registry import require
from megapod.spec.base import SpecModel


class TraceReplay(SpecModel):
    """Replay a job trace: the normalized CSV format (``job_id, submit_time_s, duration_s,
    num_gpus, status`` and optional queue columns) or another registered ``format`` (such as
    ``alibaba-gpu-2023``, whose pods ask for CPU, memory and GPU shares).

    ``nodes_csv`` names the traced cluster's node table (``sn, cpu_milli, memory_mib, gpu,
    model``, one row a node): its nodes replace the site's as the twin's cluster, one pool of
    mixed sizes and types, powered like the site's first pod design's GPUs.
    """

    path: str = Field(min_length=1, description="CSV file, relative to the scenario file")
    format: str = Field("normalized", description="trace format registry name")
    _format = field_validator("format")(lambda v: require("trace format", v))
    nodes_csv: str | None = Field(
        None, min_length=1, description="node table of the traced cluster, relative to the scenario"
    )
    partition_column: str | None = Field(None, description="column naming the job's partition (VC)")
    queue_column: str | None = Field(None, description="column naming the job's queue (fair share)")
    time_scale: float = Field(1.0, gt=0, le=1000, description="multiplies inter-arrival times")
    start_s: DurationS = Field(0.0, description="replay jobs submitted at or after this trace time")
    end_s: DurationS | None = Field(None, description="replay jobs submitted before this trace time")
    max_jobs: int | None = Field(None, ge=1, le=50_000_000)

    @model_validator(mode="after")
    def _window(self) -> TraceReplay:
        if self.end_s is not None and not self.end_s > self.start_s:
            raise ValueError(f"end_s = {self.end_s:g} s must be after start_s = {self.start_s:g} s")
        return self


#: Largest value a distribution may give (GPUs or seconds: far above any real job).
MAX_SAMPLE = 1e10
Sample = Annotated[float, Field(gt=0, le=MAX_SAMPLE)]
Weight = Annotated[float, Field(ge=0, le=1e12)]


class Distribution(SpecModel):
    """A positive random quantity: lognormal by median and sigma, or discrete values/weights."""

    kind: Literal["lognormal", "discrete", "constant"] = "lognormal"
    median: float | None = Field(None, gt=0, le=MAX_SAMPLE)
    sigma: float = Field(1.0, ge=0, le=10)
    values: list[Annotated[float, Field(gt=0, le=MAX_SAMPLE)]] = Field(
        default_factory=list, max_length=10_000
    )
    weights: list[Annotated[float, Field(ge=0, le=1e12)]] = Field(default_factory=list, max_length=10_000)
    maximum: float | None = Field(None, gt=0, le=MAX_SAMPLE, description="samples are clipped to this")

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        if self.kind in ("lognormal", "constant") and self.median is None:
            raise ValueError(f"a {self.kind} distribution needs 'median'")
        if self.kind == "discrete":
            if not self.values:
                raise ValueError("a discrete distribution needs 'values'")
            if self.weights and len(self.weights) != len(self.values):
                raise ValueError("'weights' must have one entry per value")
            if any(w < 0 for w in self.weights) or (self.weights and sum(self.weights) <= 0):
                raise ValueError("'weights' must be >= 0 and not all zero")
        return self


class SyntheticJobs(SpecModel):
    """Jobs drawn from an arrival process and size/duration distributions.

    ``fit_to`` names a normalized trace CSV: the arrival rate, size and duration distributions
    are fitted to it, and any of them given here overrides the fit.
    """

    jobs: int | None = Field(None, ge=1, le=50_000_000, description="number of jobs; else until horizon")
    arrival_rate_per_s: float | None = Field(None, gt=0)
    diurnal_amplitude: float = Field(0.0, ge=0, lt=1, description="relative day/night swing of arrivals")
    gpus: Distribution | None = None
    duration_s: Distribution | None = None
    fit_to: str | None = Field(None, description="normalized trace CSV to fit, relative to the scenario")
    queues: int = Field(1, ge=1, le=10_000, description="jobs are spread evenly over this many queues")
    fleet_share: float = Field(
        0.0,
        ge=0,
        le=1,
        description="share of the jobs that are batch inference a vehicle fleet may run",
    )

    @model_validator(mode="after")
    def _enough(self) -> SyntheticJobs:
        if self.fit_to is None and (
            self.arrival_rate_per_s is None or self.gpus is None or self.duration_s is None
        ):
            raise ValueError("give 'fit_to' or all of 'arrival_rate_per_s', 'gpus' and 'duration_s'")
        return self


class PretrainingJob(SpecModel):
    """A large training run that holds ``gpus`` until it has done ``work_s`` of useful steps.

    When ``model`` names a performance-model preset, ``work_s`` may be replaced by
    ``iterations``: the step time then comes from the performance model on the pod hardware.
    """

    name: str = Field(min_length=1)
    gpus: int = Field(ge=1, le=10_000_000)
    submit_s: DurationS = 0.0
    work_s: DurationS | None = Field(None, gt=0, description="failure-free run time")
    model: str | None = Field(None, description="performance-model preset name")
    iterations: int | None = Field(None, ge=1)
    global_batch: int = Field(1024, ge=1, description="sequences per step, for the performance model")
    priority: int = Field(10, description="higher runs first under every queueing policy")

    @model_validator(mode="after")
    def _length(self) -> PretrainingJob:
        if self.work_s is None and (self.model is None or self.iterations is None):
            raise ValueError("give 'work_s', or 'model' with 'iterations'")
        return self


class InferenceService(SpecModel):
    """A serving fleet whose GPU demand follows a daily curve between a trough and a peak."""

    name: str = Field(min_length=1)
    peak_gpus: int = Field(ge=1, le=10_000_000)
    trough_fraction: float = Field(0.4, ge=0, le=1, description="night demand / peak demand")
    peak_hour: float = Field(15.0, ge=0, lt=24, description="local hour of peak demand")
    step_s: DurationS = Field(3600.0, gt=0, description="how often the replica count changes")


class Workload(SpecModel):
    """Everything that asks for GPUs in a scenario; at least one part must be given."""

    trace: TraceReplay | None = None
    synthetic: SyntheticJobs | None = None
    pretraining: list[PretrainingJob] = Field(default_factory=list)
    inference: list[InferenceService] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something(self) -> Workload:
        if not (self.trace or self.synthetic or self.pretraining or self.inference):
            raise ValueError("the workload is empty: give trace, synthetic, pretraining or inference")
        return self
