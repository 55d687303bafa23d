"""Policy sanity on the shared Philly trace, replayed on its VC layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from megapod.sim.twin import simulate
from megapod.spec.scenario import Scenario, load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "philly_replay.yaml"


@pytest.fixture(scope="module")
def heavy(request: pytest.FixtureRequest) -> Scenario:
    """First 20 days at 4x the recorded arrival rate (the rows under-represent Philly's load)."""
    if not (SCENARIO.parents[3] / "shared").is_dir():
        pytest.skip("../shared (the Philly trace) is not beside this checkout")
    sc = load_scenario(SCENARIO)
    assert sc.workload.trace is not None
    wl = sc.workload.model_copy(update={"trace": sc.workload.trace.model_copy(update={"time_scale": 0.25})})
    return sc.model_copy(update={"workload": wl, "horizon_s": 20 * 86400.0})


def _with(sc: Scenario, queue: str) -> dict[str, float]:
    return simulate(
        sc.model_copy(update={"policies": sc.policies.model_copy(update={"queue": queue})})
    ).summary


def test_full_replay_respects_vc_layout(shared_dir: Path) -> None:
    res = simulate(load_scenario(SCENARIO))
    s = res.summary
    assert s["jobs"] == 82247 - 18 and s["jobs_dropped"] == 18  # 4 VCs missing from the layout
    assert s["jobs_done"] == s["jobs"]
    assert res.jobs.groupby("partition")["gpus"].max().max() <= 64 * 8


def test_sjf_and_backfill_lower_queue_time_and_backfill_raises_utilization(heavy: Scenario) -> None:
    fifo = _with(heavy, "fifo")
    assert _with(heavy, "sjf")["queue_mean_s"] < fifo["queue_mean_s"]
    easy = _with(heavy, "easy-backfill")
    assert easy["utilization"] > fifo["utilization"]
    assert easy["queue_mean_s"] < fifo["queue_mean_s"]
