"""Synthetic jobs: a Poisson arrival process (optionally diurnal) with size and duration
distributions, given or fitted to a normalized trace."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from megapod.spec.workload import Distribution, SyntheticJobs
from megapod.traces.normalized import JobTable
from megapod.units import DAY_S


@dataclass(frozen=True)
class TraceFit:
    """Arrival rate, GPU-count histogram and lognormal duration fitted to a trace."""

    arrival_rate_per_s: float
    gpus: Distribution
    duration_s: Distribution


def fit_trace(table: JobTable) -> TraceFit:
    """Fit a trace: rate = jobs / span [1/s]; sizes as their empirical histogram; durations as a
    lognormal by maximum likelihood (median = exp(mean ln d), sigma = std ln d)."""
    if len(table) < 2:
        raise ValueError("fitting needs at least two jobs")
    span_s = float(table.submit_s[-1] - table.submit_s[0]) or 1.0
    values, counts = np.unique(table.gpus, return_counts=True)
    logs = np.log(table.duration_s)
    return TraceFit(
        arrival_rate_per_s=(len(table) - 1) / span_s,
        gpus=Distribution(
            kind="discrete", values=[float(v) for v in values], weights=[float(c) for c in counts]
        ),
        duration_s=Distribution(
            kind="lognormal",
            median=float(math.exp(logs.mean())),
            sigma=float(logs.std()),
            maximum=float(table.duration_s.max()),
        ),
    )


def sample_distribution(dist: Distribution, n: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """``n`` samples of ``dist``, clipped to its maximum."""
    if dist.kind == "constant":
        out = np.full(n, float(dist.median or 0.0))
    elif dist.kind == "lognormal":
        out = float(dist.median or 1.0) * np.exp(dist.sigma * rng.standard_normal(n))
    else:
        w = np.asarray(dist.weights or [1.0] * len(dist.values), dtype=np.float64)
        out = rng.choice(np.asarray(dist.values, dtype=np.float64), size=n, p=w / w.sum())
    if dist.maximum is not None:
        out = np.minimum(out, dist.maximum)
    return np.asarray(out, dtype=np.float64)


def generate_jobs(
    spec: SyntheticJobs,
    horizon_s: float,
    rng: np.random.Generator,
    fit: TraceFit | None = None,
) -> JobTable:
    """Draw jobs: Poisson arrivals at ``rate·(1 + a·sin(2π t/day))`` (thinning, Lewis & Shedler
    1979) until ``spec.jobs`` or the horizon, with sizes and durations from the distributions."""
    rate = spec.arrival_rate_per_s or (fit.arrival_rate_per_s if fit else None)
    gpus = spec.gpus or (fit.gpus if fit else None)
    duration = spec.duration_s or (fit.duration_s if fit else None)
    if rate is None or gpus is None or duration is None:
        raise ValueError("synthetic jobs need a rate, a size and a duration distribution (or a fit)")
    peak = rate * (1.0 + spec.diurnal_amplitude)
    expected = int(spec.jobs if spec.jobs is not None else peak * horizon_s)
    # thinning keeps 1 / (1 + a) of the draws on average
    n_draw = int(expected * (1.0 + spec.diurnal_amplitude) * 1.1 + 10 * math.sqrt(expected + 1) + 10)
    t = np.cumsum(rng.exponential(1.0 / peak, size=n_draw))
    if spec.diurnal_amplitude > 0:
        keep = rng.random(n_draw) * (1.0 + spec.diurnal_amplitude) < (
            1.0 + spec.diurnal_amplitude * np.sin(2.0 * np.pi * t / DAY_S)
        )
        t = t[keep]
    t = t[t < horizon_s] if spec.jobs is None else t[: spec.jobs]
    n = len(t)
    sizes = np.maximum(np.rint(sample_distribution(gpus, n, rng)), 1).astype(np.int64)
    durations = np.maximum(sample_distribution(duration, n, rng), 1.0)
    queues = (np.arange(n) % spec.queues).astype(str).astype(object)
    return JobTable(
        job_id=np.array([f"syn-{i:08d}" for i in range(n)], dtype=object),
        submit_s=t,
        duration_s=durations,
        gpus=sizes,
        partition=np.full(n, "", dtype=object),
        queue=queues,
    )
