"""A training job's timeline: iterations, checkpoint pauses, failures, restarts and ramps.

Event bookkeeping over a handful of events (not per sample). All lengths are whole samples
of the waveform's resolution so the pieces tile the window exactly.

* A synchronous checkpoint pauses training for ``checkpoint_s`` every ``checkpoint_every_s``
  of training, at an iteration boundary (Mohan et al., "CheckFreq", FAST 2021).
* A failure anywhere stops the whole job (synchronous training cannot continue without the
  lost rank); the site sits at idle for ``restart_s`` (detection, rescheduling, reloading the
  last checkpoint), then ramps back over ``ramp_s`` as groups rejoin (Meta's Llama 3 report,
  Dubey et al. 2024, §3.3.4: 466 interruptions in 54 days, and power swings of tens of MW
  across the site when all GPUs wait or restart together).
* Failure instants are given, or drawn from a Poisson process with mean time between
  failures ``mtbf_s`` with the run's generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

SegmentKind = Literal["training", "checkpoint", "down", "ramp"]


@dataclass(frozen=True)
class Segment:
    """A stretch of the timeline: what the job does and for how many samples.

    ``interrupted`` marks a training or ramp stretch cut short by a failure.
    """

    kind: SegmentKind
    samples: int
    interrupted: bool = False


def failure_times_s(duration_s: float, mtbf_s: float | None, rng: np.random.Generator) -> tuple[float, ...]:
    """Failure instants in ``[0, duration_s)`` of a Poisson process with mean gap ``mtbf_s`` [s]."""
    if mtbf_s is None or mtbf_s <= 0:
        return ()
    times: list[float] = []
    t = float(rng.exponential(mtbf_s))
    while t < duration_s:
        times.append(t)
        t += float(rng.exponential(mtbf_s))
    return tuple(times)


def job_segments(
    duration_s: float,
    resolution_s: float,
    step_samples: int,
    checkpoint_every_s: float | None = None,
    checkpoint_s: float = 0.0,
    failures_s: tuple[float, ...] = (),
    restart_s: float = 0.0,
    ramp_s: float = 0.0,
) -> list[Segment]:
    """The timeline of a job over ``duration_s``, in samples of ``resolution_s``.

    Checkpoints come after the first whole iteration at or past each ``checkpoint_every_s``
    of training; a failure during a checkpoint or a restart also restarts the job.
    """
    total = max(1, round(duration_s / resolution_s))
    ckpt_every = (
        None if not checkpoint_every_s else max(step_samples, round(checkpoint_every_s / resolution_s))
    )
    ckpt_len = round(checkpoint_s / resolution_s)
    restart_len = round(restart_s / resolution_s)
    ramp_len = round(ramp_s / resolution_s)
    fails = sorted(round(f / resolution_s) for f in failures_s if 0 <= f < duration_s)
    segments: list[Segment] = []
    pos = 0
    since_ckpt = 0

    def next_fail(after: int) -> int:
        return next((f for f in fails if f >= after), total)

    def add(kind: SegmentKind, length: int) -> bool:
        """Append up to ``length`` samples of ``kind``; True when a failure cut it."""
        nonlocal pos
        stop = min(pos + length, total, next_fail(pos + 1) if kind != "down" else total)
        cut = stop < pos + length and stop < total
        if stop > pos:
            segments.append(Segment(kind, stop - pos, interrupted=cut))
        pos = stop
        return cut

    def fail() -> None:
        nonlocal since_ckpt
        while pos < total:
            add("down", restart_len)
            if pos >= total or not add("ramp", ramp_len):
                break
        since_ckpt = 0

    if next_fail(0) == 0:
        fail()
    while pos < total:
        if ckpt_every is None or ckpt_len <= 0:
            run = total - pos
        else:
            run = -(-max(ckpt_every - since_ckpt, 1) // step_samples) * step_samples
        if add("training", run):
            fail()
            continue
        since_ckpt += run
        if ckpt_every is not None and ckpt_len > 0 and pos < total:
            if add("checkpoint", ckpt_len):
                fail()
                continue
            since_ckpt = 0
    return segments
