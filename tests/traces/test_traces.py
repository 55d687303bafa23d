"""Trace reader and synthetic generators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from megapod.errors import SpecError
from megapod.spec.workload import Distribution, SyntheticJobs
from megapod.traces import fit_trace, generate_jobs, read_trace, sample_distribution

CSV = """job_id,submit_time_s,duration_s,num_gpus,status,user
a,0,100,1,ok,u1
b,10,,2,failed,u2
c,20,400,8,ok,u1
d,30,50,0,ok,u2
e,40,1000,4,ok,u3
"""


def test_reads_any_normalized_csv(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(CSV)
    t = read_trace(p, queue_column="user")
    assert list(t.job_id) == ["a", "c", "e"]  # never-ran and zero-GPU rows skipped
    assert list(t.queue) == ["u1", "u1", "u3"]
    assert t.gpus.tolist() == [1, 8, 4]
    s = read_trace(p, start_s=15, time_scale=2.0)
    assert s.submit_s.tolist() == [10.0, 50.0]


def test_missing_column_is_a_spec_error(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("job_id,submit_time_s\nx,1\n")
    with pytest.raises(SpecError, match="missing column"):
        read_trace(p)


def test_fit_and_generate_reproduce_the_trace_shape(shared_dir: Path) -> None:
    t = read_trace(shared_dir / "data" / "traces" / "philly_2017_jobs.csv", "vc")
    assert len(t) == 82247
    fit = fit_trace(t)
    # README: median duration 1,144 s; 76,627 of 82,247 jobs use 1 GPU
    assert fit.gpus.weights[0] == 76627
    spec = SyntheticJobs(fit_to="x", jobs=50_000)
    g = generate_jobs(spec, 1e9, np.random.default_rng(0), fit)
    assert len(g) == 50_000
    assert np.mean(g.gpus == 1) == pytest.approx(76627 / 82247, abs=0.01)
    assert np.median(g.duration_s) == pytest.approx(fit.duration_s.median, rel=0.05)
    assert (len(g) - 1) / (g.submit_s[-1] - g.submit_s[0]) == pytest.approx(fit.arrival_rate_per_s, rel=0.03)


def test_same_seed_same_jobs_and_diurnal_thinning() -> None:
    spec = SyntheticJobs(
        arrival_rate_per_s=0.01,
        diurnal_amplitude=0.8,
        gpus=Distribution(kind="discrete", values=[1, 8]),
        duration_s=Distribution(median=600, sigma=1.0),
    )
    a = generate_jobs(spec, 20 * 86400, np.random.default_rng(4))
    b = generate_jobs(spec, 20 * 86400, np.random.default_rng(4))
    assert np.array_equal(a.submit_s, b.submit_s) and np.array_equal(a.gpus, b.gpus)
    assert len(a) == pytest.approx(0.01 * 20 * 86400, rel=0.05)
    phase = (a.submit_s % 86400) / 86400
    assert np.mean(phase < 0.5) > 0.6  # sin > 0 in the first half of each day


def test_distribution_clip_and_constant() -> None:
    rng = np.random.default_rng(1)
    d = Distribution(median=100, sigma=3, maximum=150)
    assert sample_distribution(d, 1000, rng).max() <= 150
    assert (sample_distribution(Distribution(kind="constant", median=7), 5, rng) == 7).all()
