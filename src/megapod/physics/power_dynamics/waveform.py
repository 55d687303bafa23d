"""Synthesis of a training job's power waveform from its iteration structure.

Model (``docs/power-dynamics.md``):

* One GPU's power over an iteration is piecewise constant: phase ``i`` lasts ``d_i`` [s] at
  board power ``P_i`` [W] (forward/backward compute, exposed communication, pipeline bubble,
  optimizer step; durations from the performance model's ``StepBreakdown.phases``).
  Sampled at ``Δt`` each sample holds the *mean* power over its interval, so the sampled
  energy equals the phase energy exactly. The step is stretched to a whole number of
  samples ``n = round(T/Δt)`` (an error ≤ Δt/2 per step, 0.025 % at 1 ms on a 2 s step).
* Data-parallel groups run the same profile. Group ``g`` is shifted by an offset ``o_g``
  [s]: a fixed stagger plus, per iteration, a jitter drawn from N(0, σ²). The site's GPU
  power is the sum over groups, i.e. the circular convolution of the per-GPU profile with
  the histogram of offsets (computed with the FFT, one row per iteration). Lockstep is the
  histogram with every group at offset 0.
* Synchronous data parallelism re-aligns the groups at every gradient all-reduce, so jitter
  does not accumulate from one iteration to the next; this is why offsets are redrawn per
  iteration around the fixed stagger (Narayanan et al., "Efficient Large-Scale Language
  Model Training on GPU Clusters Using Megatron-LM", SC 2021, for the step structure).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from megapod.physics.power_dynamics.timeline import Segment

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def iteration_profile_w(
    durations_s: npt.ArrayLike, power_w: npt.ArrayLike, resolution_s: float
) -> FloatArray:
    """Power of one GPU over one iteration, sampled at ``resolution_s`` [W].

    Each sample is the mean of the piecewise-constant phase power over its interval
    (energy-exact); the iteration is stretched to ``n = max(1, round(T/Δt))`` samples.

    Args:
        durations_s: phase durations [s], each ≥ 0, sum > 0.
        power_w: board power of each phase [W].
        resolution_s: sample interval Δt [s].
    """
    d = np.asarray(durations_s, dtype=np.float64)
    p = np.asarray(power_w, dtype=np.float64)
    if d.shape != p.shape or d.ndim != 1 or d.size == 0:
        raise ValueError("need one power per phase duration")
    if np.any(d < 0) or d.sum() <= 0 or resolution_s <= 0:
        raise ValueError("phase durations must be ≥ 0 with a positive sum, Δt > 0")
    total = float(d.sum())
    n = max(1, round(total / resolution_s))
    scale = n * resolution_s / total
    edges_s = np.concatenate(([0.0], np.cumsum(d * scale)))
    energy_j = np.concatenate(([0.0], np.cumsum(d * scale * p)))
    t = np.arange(n + 1) * resolution_s
    e = np.interp(t, edges_s, energy_j)
    return np.asarray(np.diff(e) / resolution_s, dtype=np.float64)


def offset_counts(offsets_s: npt.ArrayLike, period_samples: int, resolution_s: float) -> IntArray:
    """Histogram of group offsets on the sample grid, wrapped to one period.

    ``offsets_s`` has shape ``(iterations, groups)`` (or ``(groups,)``); returns counts of
    shape ``(iterations, period_samples)`` with ``Σ counts[i] = groups``.
    """
    o = np.atleast_2d(np.asarray(offsets_s, dtype=np.float64))
    k = np.mod(np.rint(o / resolution_s).astype(np.int64), period_samples)
    rows = np.arange(o.shape[0], dtype=np.int64)[:, None] * period_samples
    flat = np.bincount((rows + k).ravel(), minlength=o.shape[0] * period_samples)
    return np.asarray(flat.reshape(o.shape[0], period_samples), dtype=np.int64)


def group_sum_w(profile_w: npt.ArrayLike, counts: npt.ArrayLike) -> FloatArray:
    """Sum of the per-GPU ``profile_w`` shifted by each counted offset, per iteration [W].

    Circular convolution ``y_i[k] = Σ_j counts[i, j]·p[(k - j) mod n]`` by FFT; returns
    shape ``(iterations, n)``. Multiply by GPUs per group for site power.
    """
    p = np.asarray(profile_w, dtype=np.float64)
    c = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    n = p.size
    y = np.fft.irfft(np.fft.rfft(c, axis=1) * np.fft.rfft(p)[None, :], n=n, axis=1)
    return np.asarray(y, dtype=np.float64)


def training_waveform_w(
    profile_w: npt.ArrayLike,
    resolution_s: float,
    iterations: int,
    gpus_per_group: int,
    static_offsets_s: npt.ArrayLike,
    jitter_s: float = 0.0,
    rng: np.random.Generator | None = None,
) -> FloatArray:
    """GPU power of all groups over ``iterations`` back-to-back iterations [W].

    Args:
        profile_w: one GPU's power over one iteration at ``resolution_s`` [W].
        iterations: number of iterations to synthesize.
        gpus_per_group: GPUs that move together (one data-parallel replica).
        static_offsets_s: fixed offset of each group [s] (zeros = lockstep).
        jitter_s: standard deviation of the per-iteration offset noise [s].
        rng: the run's generator; needed when ``jitter_s > 0``.
    """
    p = np.asarray(profile_w, dtype=np.float64)
    offsets = np.asarray(static_offsets_s, dtype=np.float64)
    n = p.size
    if iterations <= 0:
        return np.zeros(0)
    lockstep = jitter_s <= 0 and not np.any(np.rint(offsets / resolution_s) % n)
    if lockstep:
        return np.asarray(np.tile(p * (offsets.size * gpus_per_group), iterations), dtype=np.float64)
    if jitter_s > 0:
        if rng is None:
            raise ValueError("jitter needs the run's random generator")
        draws = offsets[None, :] + rng.normal(0.0, jitter_s, size=(iterations, offsets.size))
    else:
        draws = np.broadcast_to(offsets, (iterations, offsets.size))
    counts = offset_counts(draws, n, resolution_s)
    if not jitter_s > 0:
        counts = counts[:1]
    rows = group_sum_w(p, counts) * gpus_per_group
    if rows.shape[0] == 1 and iterations > 1:
        rows = np.broadcast_to(rows, (iterations, n))
    return np.asarray(rows.reshape(-1), dtype=np.float64)


def job_waveform_w(
    segments: Sequence[Segment],
    training_w: npt.ArrayLike,
    period_samples: int,
    checkpoint_w: float,
    down_w: float,
) -> FloatArray:
    """Lay a job's timeline onto the sample grid [W].

    ``training`` segments consume ``training_w`` from the start of an iteration; ``ramp``
    segments consume it too, scaled by a linear envelope from ``down_w`` (groups rejoin one
    after another after a restart); ``checkpoint`` and ``down`` segments hold constant power.
    After a failure the job resumes at the next iteration boundary of ``training_w``.
    """
    train = np.asarray(training_w, dtype=np.float64)
    total = sum(s.samples for s in segments)
    out = np.empty(total)
    pos = 0  # position in the output
    cursor = 0  # position in the training waveform
    for seg in segments:
        end = pos + seg.samples
        if seg.kind in ("training", "ramp"):
            if cursor + seg.samples > train.size:
                raise ValueError("training waveform too short for the timeline")
            chunk = train[cursor : cursor + seg.samples]
            if seg.kind == "ramp":
                env = (np.arange(seg.samples) + 1.0) / seg.samples
                chunk = down_w + env * (chunk - down_w)
            out[pos:end] = chunk
            cursor += seg.samples
            if seg.interrupted:  # work since the last iteration boundary is lost
                cursor = -(-cursor // period_samples) * period_samples
        elif seg.kind == "checkpoint":
            out[pos:end] = checkpoint_w
        else:
            out[pos:end] = down_w
        pos = end
    return out
