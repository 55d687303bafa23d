"""The fast queueing paths give the schedule of the straightforward ones; fair-share weights."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from megapod.errors import SpecError
from megapod.sim.twin import Twin
from megapod.sim.twin.queueing import QUEUE_POLICIES, FairShare, QueueDiscipline, QueuePolicy
from megapod.spec import load_site
from megapod.spec.scenario import Scenario

from .scenario_factory import EXAMPLES, small_scenario


def _schedule(sc: Scenario, policy: QueuePolicy | None = None) -> pd.DataFrame:
    twin = Twin(sc)
    if policy is not None:
        twin.queue_policy = policy
    jobs = twin.run().jobs
    return jobs[["job_id", "start_s", "end_s", "queue_s", "preemptions", "busy_gpu_h"]]


@pytest.mark.parametrize("name", ["fair-share", "srtf", "las"])
@pytest.mark.parametrize("seed", [1, 2])
def test_fast_path_matches_straightforward(name: str, seed: int) -> None:
    """Per-queue heaps (fair-share) and the kept set of outranking running jobs (SRTF, LAS)
    against re-sorting every waiting job and every running job on every pass."""
    fast = QUEUE_POLICIES[name]
    plain: QueuePolicy
    if fast is FairShare:  # one heap re-sorted before every start
        plain = type("plain", (QueueDiscipline,), {"order": staticmethod(FairShare.order), "dynamic": True})
    else:  # every running job sorted on every pass
        plain = type("plain", (fast,), {"keys_fall": False, "watch_rise": False})
    sc = small_scenario(queue=name, seed=seed, horizon_s=6 * 86400.0, rate_per_s=0.006, jobs=900)
    a, b = _schedule(sc), _schedule(sc, plain)
    pd.testing.assert_frame_equal(a, b)
    if name != "fair-share":
        assert a["preemptions"].sum() > 0  # the preemption path was exercised


def _user_scenario(tmp_path: Path, weights: dict[str, float]) -> Scenario:
    """576 GPUs (8 nodes of 72). User A holds 288 GPUs, B 144, C 144 for one hour; when C's job
    ends, A's waiting job (submitted first) and B's compete for the 144 free GPUs."""
    rows = [
        ("a0", 0.0, 86400.0, 288, "a"),
        ("b0", 0.0, 86400.0, 144, "b"),
        ("c0", 0.0, 3600.0, 144, "c"),
        ("a1", 10.0, 3600.0, 144, "a"),
        ("b1", 20.0, 3600.0, 144, "b"),
    ]
    frame = pd.DataFrame(rows, columns=["job_id", "submit_time_s", "duration_s", "num_gpus", "user"])
    frame["status"] = "Pass"
    frame.to_csv(tmp_path / "jobs.csv", index=False)
    doc: dict[str, object] = {
        "name": "users",
        "site": load_site(EXAMPLES / "megapod.yaml"),
        "horizon_s": 2 * 86400.0,
        "seed": 1,
        "workload": {"trace": {"path": str(tmp_path / "jobs.csv"), "queue_column": "user"}},
        "policies": {"queue": "fair-share", "queue_weights": weights},
        "failures": {"enabled": False},
        "output": {"resolution_s": 900},
    }
    return Scenario.model_validate(doc)


def test_fair_share_heavy_user_waits_behind_light_user(tmp_path: Path) -> None:
    jobs = Twin(_user_scenario(tmp_path, {})).run().jobs.set_index("job_id")
    # equal shares: A holds 288 GPUs > B's 144, so B's later job goes first
    assert jobs.loc["b1", "start_s"] == pytest.approx(3600.0)
    assert jobs.loc["a1", "start_s"] == pytest.approx(7200.0)
    sc = _user_scenario(tmp_path, {})
    fifo_sc = sc.model_copy(update={"policies": sc.policies.model_copy(update={"queue": "fifo"})})
    fifo = Twin(fifo_sc).run().jobs.set_index("job_id")
    assert fifo.loc["a1", "start_s"] == pytest.approx(3600.0)  # FIFO: submit order


def test_fair_share_weights_scale_usage(tmp_path: Path) -> None:
    # A weighs 4: its weighted usage 288/4 = 72 < B's 144/1, so A's job goes first
    jobs = Twin(_user_scenario(tmp_path, {"a": 4.0})).run().jobs.set_index("job_id")
    assert jobs.loc["a1", "start_s"] == pytest.approx(3600.0)
    assert jobs.loc["b1", "start_s"] == pytest.approx(7200.0)
    # B weighs 3: 288/1 > 144/3 — B first, as with equal shares
    jobs = Twin(_user_scenario(tmp_path, {"b": 3.0})).run().jobs.set_index("job_id")
    assert jobs.loc["b1", "start_s"] == pytest.approx(3600.0)


def test_queue_weights_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises((SpecError, ValueError), match="positive"):
        _user_scenario(tmp_path, {"a": 0.0})
