"""Waveform synthesis: energy-exact sampling, lockstep and jittered groups, the job timeline."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from megapod.physics.power_dynamics import (
    Segment,
    failure_times_s,
    group_sum_w,
    iteration_profile_w,
    job_segments,
    job_waveform_w,
    offset_counts,
    training_waveform_w,
)

DT = 0.001


def test_profile_holds_phase_power_and_energy() -> None:
    # 1 s at 700 W, 0.3 s at 200 W, 0.2 s at 250 W: 700 + 60 + 50 = 810 J by hand
    p = iteration_profile_w([1.0, 0.3, 0.2], [700.0, 200.0, 250.0], DT)
    assert p.size == 1500
    assert abs(np.sum(p) * DT - 810.0) < 1e-9
    np.testing.assert_allclose(p, np.repeat([700.0, 200.0, 250.0], [1000, 300, 200]), rtol=1e-9)


def test_profile_averages_a_phase_inside_one_sample() -> None:
    # a 0.4 ms phase at 1000 W inside a 1 ms sample of otherwise 0 W: 400 W on average
    p = iteration_profile_w([0.0004, 0.0006, 0.001], [1000.0, 0.0, 0.0], DT)
    np.testing.assert_allclose(p, [400.0, 0.0], atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0.001, 2.0), st.floats(0.0, 1500.0)), min_size=1, max_size=6))
def test_profile_energy_is_exact_after_stretch(phases: list[tuple[float, float]]) -> None:
    d = np.array([a for a, _ in phases])
    w = np.array([b for _, b in phases])
    p = iteration_profile_w(d, w, DT)
    stretch = p.size * DT / d.sum()
    assert abs(np.sum(p) * DT - stretch * np.sum(d * w)) <= 1e-9 * max(1.0, np.sum(d * w))
    tol = 1e-9 * max(1.0, float(w.max()))
    assert p.min() >= w.min() - tol and p.max() <= w.max() + tol


def test_lockstep_is_the_profile_times_gpus() -> None:
    p = iteration_profile_w([0.5, 0.5], [600.0, 100.0], DT)
    w = training_waveform_w(p, DT, 3, 8, np.zeros(10))
    assert w.size == 3000
    np.testing.assert_allclose(w, np.tile(p, 3) * 80)


def test_group_sum_is_a_circular_shift() -> None:
    p = np.array([1.0, 2.0, 3.0, 4.0])
    counts = offset_counts([0.0, 0.001, 0.001], 4, DT)
    assert counts.tolist() == [[1, 2, 0, 0]]
    y = group_sum_w(p, counts)[0]
    np.testing.assert_allclose(y, p + 2 * np.roll(p, 1))


def test_jitter_keeps_energy_and_lowers_the_peak() -> None:
    p = iteration_profile_w([1.0, 0.2], [700.0, 150.0], DT)
    rng = np.random.default_rng(3)
    w = training_waveform_w(p, DT, 4, 8, np.zeros(500), jitter_s=0.05, rng=rng)
    lock = training_waveform_w(p, DT, 4, 8, np.zeros(500))
    assert abs(w.sum() - lock.sum()) < 1e-6 * lock.sum()
    assert np.max(np.abs(np.diff(w))) < np.max(np.abs(np.diff(lock)))


def test_same_seed_same_waveform() -> None:
    p = iteration_profile_w([1.0, 0.2], [700.0, 150.0], DT)
    a = training_waveform_w(p, DT, 3, 8, np.zeros(50), 0.02, np.random.default_rng(11))
    b = training_waveform_w(p, DT, 3, 8, np.zeros(50), 0.02, np.random.default_rng(11))
    assert np.array_equal(a, b)


def test_timeline_with_checkpoints_and_a_failure() -> None:
    segs = job_segments(
        60.0,
        DT,
        1500,
        checkpoint_every_s=20.0,
        checkpoint_s=2.0,
        failures_s=(33.3,),
        restart_s=5.0,
        ramp_s=3.0,
    )
    assert sum(s.samples for s in segs) == 60_000
    kinds = [s.kind for s in segs]
    assert kinds == ["training", "checkpoint", "training", "down", "ramp", "training"]
    assert segs[0].samples == 21_000  # 14 whole 1.5 s steps, the first past 20 s of training
    assert segs[2].interrupted and segs[2].samples == 33_300 - 23_000
    assert segs[3].samples == 5_000 and segs[4].samples == 3_000


def test_failure_during_a_restart_restarts_again() -> None:
    segs = job_segments(30.0, DT, 1000, failures_s=(5.0, 11.0), restart_s=4.0, ramp_s=4.0)
    kinds = [s.kind for s in segs]
    # the second failure hits the ramp (9-13 s): down again
    assert kinds == ["training", "down", "ramp", "down", "ramp", "training"]
    assert sum(s.samples for s in segs) == 30_000


def test_job_waveform_levels() -> None:
    train = np.full(10_000, 100.0)
    segs = [
        Segment("training", 1500, interrupted=True),
        Segment("down", 1000),
        Segment("ramp", 1000),
        Segment("checkpoint", 500),
    ]
    w = job_waveform_w(segs, train, 1000, checkpoint_w=30.0, down_w=10.0)
    assert np.all(w[:1500] == 100.0) and np.all(w[1500:2500] == 10.0)
    assert w[2500] > 10.0 and w[3499] == 100.0 and np.all(np.diff(w[2500:3500]) >= 0)
    assert np.all(w[3500:] == 30.0)


def test_poisson_failures_are_seeded() -> None:
    a = failure_times_s(86_400.0, 3600.0, np.random.default_rng(5))
    b = failure_times_s(86_400.0, 3600.0, np.random.default_rng(5))
    assert a == b and 10 < len(a) < 45  # 24 expected; Poisson 99.9 % range
    assert failure_times_s(100.0, None, np.random.default_rng(5)) == ()


@settings(max_examples=60, deadline=None)
@given(
    duration_s=st.floats(1.0, 120.0),
    step_samples=st.integers(50, 5000),
    ckpt_every=st.one_of(st.none(), st.floats(1.0, 60.0)),
    ckpt_s=st.floats(0.0, 10.0),
    fails=st.lists(st.floats(0.0, 120.0), max_size=5),
    restart_s=st.floats(0.0, 20.0),
    ramp_s=st.floats(0.0, 20.0),
)
def test_timeline_tiles_the_window(
    duration_s: float,
    step_samples: int,
    ckpt_every: float | None,
    ckpt_s: float,
    fails: list[float],
    restart_s: float,
    ramp_s: float,
) -> None:
    segs = job_segments(duration_s, 0.01, step_samples, ckpt_every, ckpt_s, tuple(fails), restart_s, ramp_s)
    assert sum(s.samples for s in segs) == max(1, round(duration_s / 0.01))
    assert all(s.samples > 0 for s in segs)
    # every failure inside the window that does not fall in a down stretch cuts a segment
    assert sum(1 for s in segs if s.kind == "down") <= len(fails)
