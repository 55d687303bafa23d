"""SRTF walks every waiting and running job of a partition in remaining-time order: a job that
does not fit what is left of the partition is passed over, not a stop (issue 10)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from megapod.sim.twin import Twin
from megapod.sim.twin.ledger import QUEUED, RUNNING
from megapod.sim.twin.queueing import Entry, ShortestRemainingFirst
from megapod.spec import load_site
from megapod.spec.scenario import Scenario

from .scenario_factory import EXAMPLES, small_scenario

HOUR_S = 3600.0


def _scenario(tmp_path: Path, rows: list[tuple[str, float, float, int]]) -> Scenario:
    """The 576-GPU site (8 nodes of 72) under SRTF, replaying ``rows`` (id, submit, run, GPUs)."""
    frame = pd.DataFrame(rows, columns=["job_id", "submit_time_s", "duration_s", "num_gpus"])
    frame["status"] = "Pass"
    frame.to_csv(tmp_path / "jobs.csv", index=False)
    doc: dict[str, object] = {
        "name": "srtf-walk",
        "site": load_site(EXAMPLES / "megapod.yaml"),
        "horizon_s": 2 * 86400.0,
        "seed": 1,
        "workload": {"trace": {"path": str(tmp_path / "jobs.csv")}},
        "policies": {"queue": "srtf", "checkpoint": {"write_s": 0.0, "restart_s": 60.0}},
        "failures": {"enabled": False},
        "output": {"resolution_s": 900},
    }
    return Scenario.model_validate(doc)


def test_blocked_large_job_does_not_stop_a_small_one(tmp_path: Path) -> None:
    """``a`` (1 h, 432 GPUs) runs; ``b`` (2 h, 288 GPUs) is the shortest waiting job but only
    144 GPUs are free and ``a`` outranks it; ``c`` (3 h, 72 GPUs) fits the 144 and starts at
    once. Head of line, ``c`` would wait behind ``b`` until ``a`` ends."""
    rows = [("a", 0.0, HOUR_S, 432), ("b", 10.0, 2 * HOUR_S, 288), ("c", 20.0, 3 * HOUR_S, 72)]
    jobs = Twin(_scenario(tmp_path, rows)).run().jobs.set_index("job_id")
    assert jobs.loc["c", "start_s"] == pytest.approx(20.0)
    assert jobs.loc["b", "start_s"] == pytest.approx(HOUR_S)
    assert jobs["preemptions"].sum() == 0


def test_running_job_outside_the_budget_is_preempted(tmp_path: Path) -> None:
    """Walk order ``a`` (432), ``b`` (288, passed over), ``c`` (144), ``long`` (144): ``c``
    takes the last 144 GPUs of the budget, so ``long``, running, is preempted for it, though
    preempting ``long`` alone could never make room for the blocked ``b``."""
    rows = [
        ("long", 0.0, 10 * HOUR_S, 144),
        ("a", 0.0, HOUR_S, 432),
        ("b", 10.0, 2 * HOUR_S, 288),
        ("c", 20.0, 3 * HOUR_S, 144),
    ]
    jobs = Twin(_scenario(tmp_path, rows)).run().jobs.set_index("job_id")
    assert jobs.loc["c", "start_s"] == pytest.approx(20.0)
    assert jobs.loc["long", "preemptions"] == 1
    assert jobs.loc["b", "start_s"] == pytest.approx(HOUR_S)
    assert jobs.loc["b", "preemptions"] == 0


class _EveryJobEveryPass(ShortestRemainingFirst):
    """The pass as its docstring states it: sort every waiting and running job of the
    partition, walk them all against the partition's GPUs, no shortcut."""

    keys_fall = False  # running jobs sorted on every pass too

    def schedule(self, p: int) -> None:
        led = self.led
        now = led.v_now
        items: list[tuple[tuple[object, ...], Entry | None, int]] = []
        for heap in self.waiting[p].values():
            for e in heap:
                j = e[1]
                if led.state[j] == QUEUED and led.q_token[j] == e[2]:
                    k = e[0]
                    items.append(((k[0], k[1] + now, 0, k[3], k[4]), e, j))
        for r in self._running(p):
            if led.state[r[4]] == RUNNING and led.run_token[r[4]] == r[5]:
                items.append((r[:5], None, r[4]))
        items.sort(key=lambda it: it[0])
        budget = self.cluster.partitions[p].up_gpus
        chosen: list[Entry] = []
        preempt: list[int] = []
        for _, e, j in items:
            if led.gpus[j] <= budget:
                budget -= led.gpus[j]
                if e is not None:
                    chosen.append(e)
            elif e is None:
                preempt.append(j)
        for j in preempt:
            led.stop(j, save=True, count_interrupt=False)
        for e in chosen:
            alloc = self.cluster.place(p, led.gpus[e[1]], self.placement)
            if alloc is not None and self.admissible(e[1]):
                self.start(e[1], alloc)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pass_matches_walking_every_job(seed: int) -> None:
    """The size heaps, the slack shortcut and the kept running order give the schedule of
    sorting and walking every job of the partition on every pass."""
    sc = small_scenario(queue="srtf", seed=seed, horizon_s=6 * 86400.0, rate_per_s=0.006, jobs=900)
    cols = ["job_id", "start_s", "end_s", "queue_s", "preemptions", "busy_gpu_h"]
    fast = Twin(sc).run().jobs[cols]
    twin = Twin(sc)
    twin.queue_policy = _EveryJobEveryPass
    plain = twin.run().jobs[cols]
    pd.testing.assert_frame_equal(fast, plain)
    assert fast["preemptions"].sum() > 0
