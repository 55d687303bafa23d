"""The open twin: stepped, fed and cancelled while it runs, with the same answers as one run."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from megapod.errors import SpecError
from megapod.sim.engine import EventKernel
from megapod.sim.twin import JobRequest, Twin
from megapod.sim.twin.layout import build_layout
from megapod.spec.scenario import Scenario

from .scenario_factory import small_scenario

HORIZON = 5 * 86400.0


def _extra_jobs(n: int = 40) -> list[JobRequest]:
    rng = np.random.default_rng(11)
    times = np.sort(rng.uniform(0.0, 0.9 * HORIZON, n))
    return [
        JobRequest(
            job_id=f"live-{i}",
            gpus=int(rng.choice([1, 8, 72])),
            work_s=float(rng.uniform(600, 20_000)),
            submit_s=float(t),
        )
        for i, t in enumerate(times)
    ]


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.sort_values("job_id").reset_index(drop=True), b.sort_values("job_id").reset_index(drop=True)
    )


def test_stepping_in_100_slices_with_submits_gives_the_same_result_as_one_run() -> None:
    sc = small_scenario(horizon_s=HORIZON, failures=True, seed=4)
    extra = _extra_jobs()
    whole = Twin(sc)
    for job in extra:  # all known up front: arrivals at their submit times
        whole.submit(job)
    ref = whole.run()

    stepped = Twin(sc)
    todo = list(extra)
    for t in np.linspace(0.0, HORIZON, 101)[1:]:
        while todo and todo[0].submit_s is not None and todo[0].submit_s < t:
            stepped.submit(todo.pop(0))  # submitted while the twin runs, before its time comes
        stepped.advance_to(float(t))
    res = stepped.result()
    _same(ref.jobs, res.jobs)
    assert res.summary == pytest.approx(ref.summary, nan_ok=True)
    assert (res.jobs["job_id"].str.startswith("live-")).sum() == len(extra)
    assert res.summary["jobs_done"] > len(extra) // 2


def test_run_equals_advance_in_slices_without_submits() -> None:
    sc = small_scenario(horizon_s=HORIZON, failures=True, seed=9)
    ref = Twin(sc).run()
    tw = Twin(sc)
    for t in np.linspace(0.0, HORIZON, 100):
        tw.advance_to(float(t))
    tw.advance_to(HORIZON)
    _same(ref.jobs, tw.result().jobs)
    with pytest.raises(RuntimeError, match="finished"):
        tw.advance_to(HORIZON)


def test_snapshot_is_json_able_and_moves_with_the_clock() -> None:
    tw = Twin(small_scenario(horizon_s=HORIZON))
    tw.advance_to(86400.0)
    snap = tw.snapshot()
    assert snap.t_s == 86400.0 and snap.gpus == 576
    assert 0 < snap.gpus_busy <= snap.gpus
    assert snap.jobs_running == len(snap.running) > 0
    assert snap.it_power_w > 0 and snap.facility_power_w >= snap.it_power_w
    d = snap.to_dict()
    assert set(d) >= {"queue", "running", "battery_soc", "outdoor_c"}
    tw.advance_to(2 * 86400.0)
    assert tw.snapshot().events > snap.events


def test_cancel_frees_the_gpus_and_is_reported() -> None:
    tw = Twin(small_scenario(horizon_s=HORIZON, jobs=5))
    tw.submit(JobRequest("hog", gpus=576, work_s=4 * 86400.0, submit_s=0.0))
    tw.advance_to(3600.0)
    assert "hog" in tw.snapshot().running
    assert tw.cancel("hog")
    tw.advance_to(7200.0)
    snap = tw.snapshot()
    assert "hog" not in snap.running and snap.jobs_cancelled == 1
    assert not tw.cancel("hog")  # already ended
    res = tw.result()
    row = res.jobs.set_index("job_id").loc["hog"]
    assert row["state"] == "cancelled" and row["end_s"] == 3600.0
    assert row["busy_gpu_h"] == pytest.approx(576.0)  # one hour on 576 GPUs
    assert res.summary["jobs_cancelled"] == 1


@pytest.mark.parametrize(
    ("job", "field"),
    [
        ({"job_id": "a", "gpus": 0, "work_s": 10.0}, "gpus"),
        ({"job_id": "a", "gpus": 1, "work_s": math.nan}, "work_s"),
        ({"job_id": "a", "gpus": 1, "work_s": math.inf}, "work_s"),
        ({"job_id": "a", "gpus": 1, "work_s": 10.0, "submit_s": -1.0}, "submit_s"),
        ({"job_id": "", "gpus": 1, "work_s": 10.0}, "job_id"),
    ],
)
def test_bad_job_requests_name_the_field(job: dict[str, object], field: str) -> None:
    with pytest.raises(SpecError) as e:
        JobRequest(**job)  # type: ignore[arg-type]
    assert e.value.path == field


def test_submit_refuses_oversized_and_duplicate_jobs() -> None:
    tw = Twin(small_scenario(horizon_s=HORIZON, jobs=3))
    with pytest.raises(SpecError, match="more than the 576"):
        tw.submit(JobRequest("big", gpus=577, work_s=10.0))
    tw.submit(JobRequest("x", gpus=1, work_s=10.0))
    with pytest.raises(SpecError, match="already"):
        tw.submit(JobRequest("x", gpus=1, work_s=10.0))
    with pytest.raises(SpecError, match="no job"):
        tw.cancel("nope")


def test_hot_spares_come_back_after_repair() -> None:
    """A 60-day run with 2 hot spares per pod: repaired nodes return to the spare pool."""
    sc = small_scenario(horizon_s=60 * 86400.0, failures=True, jobs=50)
    sc = sc.model_copy(
        update={"failures": sc.failures.model_copy(update={"hot_spares": 2, "rate_scale": 5.0})}
    )
    tw = Twin(sc)
    seen = []
    for t in np.arange(0.0, 60 * 86400.0, 3 * 3600.0):
        tw.advance_to(float(t))
        seen.append(tw.snapshot().hot_spares)
    assert tw.result().summary["failures"] > 10
    assert min(seen) < 2  # spares were used
    assert any(b > a for a, b in itertools.pairwise(seen))  # and came back


def test_kernel_len_never_negative() -> None:
    k = EventKernel()
    h = k.schedule(1.0, 0)
    k.pop()
    k.cancel(h)
    assert len(k) == 0


def test_site_battery_efficiency_weights_every_pod_not_pod_zero() -> None:
    sc = small_scenario()
    pod = sc.site.pods[0]
    no_battery = pod.model_copy(
        update={"name": "bare", "power": pod.power.model_copy(update={"battery": None})}
    )
    site = sc.site.model_copy(update={"pods": [no_battery, pod]})
    lay = build_layout(Scenario.model_validate({**sc.model_dump(), "site": site}))
    assert pod.power.battery is not None
    assert lay.battery_charge_efficiency == pytest.approx(pod.power.battery.unit.round_trip_efficiency)


def test_no_checkpoint_writes_without_failures_and_none_with_zero_write_time() -> None:
    """Young/Daly without failures writes no periodic checkpoint; ``write_s: 0`` never makes a NaN."""
    for write_s in (60.0, 0.0):
        sc = small_scenario(horizon_s=HORIZON, queue="srtf")
        pol = sc.policies.model_copy(
            update={"checkpoint": sc.policies.checkpoint.model_copy(update={"write_s": write_s})}
        )
        res = Twin(sc.model_copy(update={"policies": pol})).run()
        j = res.jobs
        assert not j[["busy_gpu_h", "useful_gpu_h", "lost_gpu_h", "checkpoint_gpu_h"]].isna().any().any()
        assert res.summary["checkpoint_gpu_h"] == 0.0
        assert j["useful_gpu_h"].sum() == pytest.approx(
            (j["work_s"] * j["gpus"])[j["state"] == "done"].sum() / 3600
            + j.loc[j["state"] != "done", "useful_gpu_h"].sum()
        )


def test_real_time_driver_follows_the_wall_clock_times_the_speed() -> None:
    from megapod.sim.twin import RealTimeDriver

    wall = [100.0]
    tw = Twin(small_scenario(horizon_s=HORIZON, jobs=20))
    drv = RealTimeDriver(tw, speed=3600.0, wall=lambda: wall[0])
    assert drv.step() == 0.0
    wall[0] += 2.0  # two wall seconds = two simulated hours
    assert drv.step() == pytest.approx(7200.0)
    wall[0] += 1e6
    assert drv.step() == HORIZON and drv.finished
    with pytest.raises(ValueError, match="speed"):
        RealTimeDriver(Twin(small_scenario()), speed=0.0)


def test_events_of_one_instant_are_all_seen_before_the_scheduler_runs() -> None:
    """A completion and an arrival in the same second: SJF starts the short arrival, not the
    long job that was waiting (the scheduler runs once per instant, after all its events)."""
    sc = small_scenario(queue="sjf", horizon_s=86400.0)
    tw = Twin(sc.model_copy(update={"workload": sc.workload.model_copy(update={"synthetic": None})}))
    tw.submit(JobRequest("first", gpus=576, work_s=100.0, submit_s=0.0))
    tw.submit(JobRequest("long", gpus=576, work_s=10_000.0, submit_s=50.0))
    tw.submit(JobRequest("short", gpus=576, work_s=10.0, submit_s=100.0))
    jobs = tw.run().jobs.set_index("job_id")
    assert jobs.loc["first", "end_s"] == 100.0
    assert jobs.loc["short", "start_s"] == 100.0
    assert jobs.loc["long", "start_s"] == 110.0


def test_per_pod_table_adds_up_to_the_site() -> None:
    """A site of two pod designs: each pod's own GPU-hours and energy, summing to the site's."""
    from megapod.spec import load_site

    from .scenario_factory import EXAMPLES

    site = load_site(EXAMPLES / "cortex.yaml")
    sc = small_scenario(horizon_s=2 * 86400.0, failures=True)
    site = site.model_copy(update={"pods": [p.model_copy(update={"count": 1}) for p in site.pods]})
    sc = Scenario.model_validate({**sc.model_dump(), "site": site, "workload": sc.workload.model_dump()})
    res = Twin(sc).run()
    pods = res.pods
    assert list(pods["pod"]) == [p.name for p in site.pods] and (pods["tier"] == "pods").all()
    s = res.summary
    assert pods["busy_gpu_h"].sum() == pytest.approx(s["busy_gpu_h"], rel=1e-9)
    assert pods["facility_energy_mwh"].sum() == pytest.approx(s["facility_energy_mwh"], rel=1e-9)
    assert pods["gpus"].sum() == s["gpus"]
    assert (pods["busy_gpu_h"] > 0).all()


def test_partition_csv_errors_never_echo_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "nodes.csv"
    bad.write_text("partition,num_nodes\nsecret-token-123,abc\n")
    sc = small_scenario()
    sc = Scenario.model_validate({**sc.model_dump(), "partitions": {"nodes_csv": str(bad)}})
    with pytest.raises(SpecError) as e:
        build_layout(sc)
    assert "line 2" in str(e.value) and "secret-token-123" not in str(e.value)
    sc = Scenario.model_validate({**sc.model_dump(), "partitions": {"nodes_csv": str(tmp_path)}})
    with pytest.raises(SpecError, match="not a partition layout CSV"):
        build_layout(sc)


def test_restart_cost_grows_with_job_size() -> None:
    sc = small_scenario(queue="srtf", horizon_s=HORIZON, failures=True, seed=2)
    sc = sc.model_copy(update={"failures": sc.failures.model_copy(update={"rate_scale": 50.0})})
    ck = sc.policies.checkpoint.model_copy(update={"restart_per_gpu_s": 1.0})
    slow = sc.model_copy(update={"policies": sc.policies.model_copy(update={"checkpoint": ck})})
    base, big = Twin(sc).run().summary, Twin(slow).run().summary
    assert base["interruptions"] > 0
    assert big["lost_gpu_h"] > base["lost_gpu_h"]
