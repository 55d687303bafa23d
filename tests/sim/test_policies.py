"""Registries, and the shared contract every registered policy passes."""

from __future__ import annotations

import math

import pytest

from megapod.sim.twin import simulate
from megapod.sim.twin.policies import CHECKPOINT_POLICIES, OUTAGE_RESPONSES, PLACEMENTS
from megapod.sim.twin.queueing import QUEUE_POLICIES

from .scenario_factory import small_scenario


@pytest.mark.parametrize("queue", sorted(QUEUE_POLICIES))
@pytest.mark.parametrize("placement", sorted(PLACEMENTS))
def test_queue_and_placement_contract(queue: str, placement: str) -> None:
    """Every job ends, GPU-seconds are conserved, nothing runs twice."""
    sc = small_scenario(queue=queue, placement=placement, horizon_s=30 * 86400.0, jobs=600)
    res = simulate(sc)
    jobs = res.jobs
    assert (jobs["state"] == "done").all(), queue
    split = jobs["useful_gpu_h"] + jobs["checkpoint_gpu_h"] + jobs["lost_gpu_h"]
    assert split.to_numpy() == pytest.approx(jobs["busy_gpu_h"].to_numpy(), rel=1e-9, abs=1e-6)
    # per-job accounting and the time-series integral agree
    assert jobs["busy_gpu_h"].sum() == pytest.approx(res.summary["busy_gpu_h"], rel=1e-9)
    # useful work equals the work asked for
    assert jobs["useful_gpu_h"].sum() == pytest.approx((jobs["work_s"] * jobs["gpus"]).sum() / 3600, rel=1e-9)
    assert (jobs["start_s"] >= jobs["submit_s"]).all()
    assert (jobs["end_s"] > jobs["start_s"]).all()


@pytest.mark.parametrize("name", sorted(CHECKPOINT_POLICIES))
def test_checkpoint_contract(name: str) -> None:
    fn = CHECKPOINT_POLICIES[name]
    tau = fn(3600.0, 60.0, 10_000.0)
    assert tau > 0 and math.isfinite(tau)
    no_failures = fn(3600.0, 60.0, math.inf)
    # without failures a fixed policy keeps its interval; Young/Daly writes no checkpoint at all
    assert no_failures == (3600.0 if name == "fixed" else math.inf)


def test_young_daly_hand_value() -> None:
    # Young 1974: tau = sqrt(2 C M) = sqrt(2 * 60 s * 30,000 s) = 1,897.4 s
    assert CHECKPOINT_POLICIES["young-daly"](3600.0, 60.0, 30_000.0) == pytest.approx(1897.37, rel=1e-4)


@pytest.mark.parametrize("name", sorted(OUTAGE_RESPONSES))
def test_outage_response_contract(name: str) -> None:
    sc = small_scenario(outage=name, horizon_s=10 * 86400.0, outage_at_s=3 * 86400.0, outage_s=4 * 3600.0)
    res = simulate(sc)
    s = res.summary
    total = s["busy_gpu_h"] + s["idle_gpu_h"] + s["failed_gpu_h"] + s["down_gpu_h"]
    assert total == pytest.approx(s["gpus"] * sc.horizon_s / 3600, rel=1e-9)
    assert s["energy_balance_error"] < 1e-9
