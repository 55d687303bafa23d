"""Running sweeps: the same table serially and on Ray with one or two workers, resumed runs,
time budgets, failed points and the per-point overhead."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import EXAMPLES
from tests.sweep.conftest import SHORT, WriteSweep

import megapod.sweep
from megapod.sweep import SweepProgress
from megapod.sweep.store import PointStore

#: A 12-point sweep of one-day twin runs: policies, failure rates and two seeds.
SMALL = f"""name: small
{SHORT}
axes:
  - {{path: policies.queue, name: queue, values: [fifo, sjf, easy-backfill]}}
  - {{path: failures.rate_scale, name: rate, values: [1, 8]}}
seeds: [1, 2]
"""


@pytest.fixture
def small(write_sweep: WriteSweep) -> Path:
    return write_sweep(SMALL)


def test_same_table_serially_and_on_one_or_two_ray_workers(small: Path, ray_cluster: None) -> None:
    serial = megapod.sweep.run(small, backend="serial")
    one = megapod.sweep.run(small, workers=1)
    two = megapod.sweep.run(small, workers=2)
    assert (serial["status"] == "ok").all()
    assert len(serial) == 12
    pd.testing.assert_frame_equal(serial, one)
    pd.testing.assert_frame_equal(serial, two)
    assert serial["goodput"].nunique() > 1  # the axes and seeds do move the outputs
    assert list(serial.columns[:5]) == ["point", "key", "queue", "rate", "seed"]


def test_an_interrupted_sweep_resumes_and_a_rerun_skips(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    calls: list[SweepProgress] = []
    first = megapod.sweep.run(small, out=out, max_points=5, backend="serial", progress=calls.append)
    assert first.attrs["stats"]["ran"] == 5
    assert len(PointStore(out / "points").keys()) == 5
    assert calls[-1].done == calls[-1].total == 5
    assert [c.done for c in calls] == sorted(c.done for c in calls)
    whole = megapod.sweep.run(small, out=out, backend="serial")
    assert whole.attrs["stats"]["ran"] == 7
    assert whole.attrs["stats"]["cached"] == 5
    again = megapod.sweep.run(small, out=out, backend="serial")
    assert again.attrs["stats"]["ran"] == 0
    pd.testing.assert_frame_equal(whole, again)
    pd.testing.assert_frame_equal(whole, megapod.sweep.run(small, backend="serial"))
    stored = pd.read_parquet(out / "points")  # the store is a Parquet dataset keyed by the hash
    assert sorted(stored["key"]) == sorted(whole["key"])


def test_points_finished_before_an_interrupt_are_stored(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"

    def stop_after_three(p: SweepProgress) -> None:
        if p.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        megapod.sweep.run(small, out=out, backend="serial", progress=stop_after_three)
    assert len(PointStore(out / "points").keys()) == 3  # written together, but not lost
    again = megapod.sweep.run(small, out=out, backend="serial")
    assert again.attrs["stats"]["cached"] == 3


def test_a_time_budget_leaves_points_pending_and_stores_whole_ones(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    frame = megapod.sweep.run(small, out=out, backend="serial", time_budget_s=1e-6)
    assert frame.attrs["stats"]["pending"] == 12 - frame.attrs["stats"]["ran"]
    assert (frame["status"] == "pending").sum() >= 11
    assert len(PointStore(out / "points").keys()) == frame.attrs["stats"]["ran"]
    assert not list((out / "points").glob(".*")) if (out / "points").exists() else True


@pytest.mark.slow  # the planner's first call costs seconds
def test_an_infeasible_point_is_a_failed_result(write_sweep: WriteSweep, tmp_path: Path) -> None:
    path = write_sweep(
        f"name: plan\nplan:\n  site: {EXAMPLES / 'megapod.yaml'}\n"
        "  goal:\n    tokens: 1G\n"
        "    model: {name: tiny, layers: 2, hidden: 256, heads: 4, vocab: 1000, seq_len: 512}\n"
        "axes:\n  - {path: goal.gpu, name: gpu, values: [h100-sxm, gb200]}\n"
    )
    frame = megapod.sweep.run(path, out=tmp_path / "out", backend="serial")
    assert list(frame["status"]) == ["failed", "ok"]  # the site has no H100 pod
    assert "InfeasibleError" in frame["error"].iloc[0]
    assert frame["time_to_train_s"].iloc[1] > 0
    assert frame["cost_per_run_usd"].iloc[1] > 0
    again = megapod.sweep.run(path, out=tmp_path / "out", backend="serial")
    assert again.attrs["stats"]["ran"] == 0  # a refusal is a result: not run again
    assert megapod.sweep.pareto_front(again)["point"].tolist() == [1]


def test_per_point_overhead_is_small(small: Path, tmp_path: Path) -> None:
    frame = megapod.sweep.run(small, out=tmp_path / "out", backend="serial")
    stats = frame.attrs["stats"]
    overhead_s = (stats["execute_s"] - stats["run_s"]) / stats["ran"]
    assert overhead_s < 0.05, stats


def test_batches_grow_to_the_task_length_and_leave_every_task_a_share() -> None:
    from megapod.sweep.runner import MIN_TASK_S, TASK_S, batch_size

    assert batch_size(None, 100, 4) == 1  # nothing timed yet: one point
    assert batch_size(0.02, 1000, 4) == int(TASK_S / 0.02)
    assert batch_size(0.02, 20, 4) == 5  # the tail is shared out
    assert batch_size(0.01, 8, 4) == int(MIN_TASK_S / 0.01)  # but no task is too short to pay
    assert batch_size(10.0, 1000, 4) == 1  # long points go alone


def test_a_batch_records_a_crash_and_starts_nothing_past_its_stop_time() -> None:
    import time

    from megapod.sweep.worker import run_points

    crashed = run_points("scenario", [None])  # not a scenario: a bug, recorded
    assert crashed[0]["status"] == "error" and "AttributeError" in crashed[0]["error"]
    assert run_points("scenario", [None, None], stop_at=time.time() - 1) == []


def test_a_ray_sweep_of_short_points_batches_them_and_keeps_the_table(
    write_sweep: WriteSweep, ray_cluster: None, tmp_path: Path
) -> None:
    path = write_sweep(SMALL.replace("seeds: [1, 2]", "seeds: [1, 2, 3, 4]"))
    serial = megapod.sweep.run(path, backend="serial")
    out = tmp_path / "out"
    two = megapod.sweep.run(path, out=out, workers=2)
    pd.testing.assert_frame_equal(serial, two)
    assert two.attrs["stats"]["tasks"] < two.attrs["stats"]["ran"]
    files = list((out / "points").glob("*.parquet"))  # points written together
    assert 1 <= len(files) <= two.attrs["stats"]["tasks"] < len(two)
    assert PointStore(out / "points").keys() == set(two["key"])
    again = megapod.sweep.run(path, out=out, backend="serial")
    assert again.attrs["stats"]["ran"] == 0 and again.attrs["stats"]["cached"] == len(two)
    pd.testing.assert_frame_equal(two, again)


def test_a_store_file_keeps_each_points_own_outputs(tmp_path: Path) -> None:
    store = PointStore(tmp_path)
    ok = {"status": "ok", "error": "", "elapsed_s": 0.5, "outputs": {"cost_usd": 3.0}}
    failed = {"status": "failed", "error": "no fit", "elapsed_s": 0.1, "outputs": {}}
    store.write([("a", ok, '{"x":1}'), ("b", failed, '{"x":2}')])
    assert store.keys() == {"a", "b"}
    back = store.read({"a", "b", "c"})
    assert back["a"]["outputs"] == {"cost_usd": 3.0}
    assert back["b"] == {"status": "failed", "error": "no fit", "elapsed_s": 0.1, "outputs": {}}
