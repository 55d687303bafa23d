"""Pretraining from the performance model, inference demand curves, thermal derating."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from megapod.physics.perf import Hardware, model_preset, search_layouts
from megapod.sim.twin import simulate
from megapod.sim.twin.jobs import inference_demand_gpus
from megapod.spec.scenario import load_scenario
from megapod.spec.workload import InferenceService

WEEK = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "megapod_week.yaml"


def test_pretraining_length_comes_from_the_performance_model() -> None:
    sc = load_scenario(WEEK)
    job = sc.workload.pretraining[0].model_copy(
        update={"work_s": None, "model": "llama3-8b", "iterations": 2000, "global_batch": 512}
    )
    sc = sc.model_copy(
        update={"workload": sc.workload.model_copy(update={"synthetic": None, "pretraining": [job]})}
    )
    res = simulate(sc)
    step = search_layouts(model_preset("llama3-8b"), Hardware.from_pod(sc.site.pods[0]), 288, 512, top=1)[0]
    assert res.jobs["work_s"].iloc[0] == pytest.approx(2000 * step.step_time_s)


def test_inference_demand_follows_the_day() -> None:
    svc = InferenceService(name="chat", peak_gpus=1000, trough_fraction=0.4, peak_hour=15)
    hours = np.arange(24) * 3600.0
    d = inference_demand_gpus(svc, hours)
    assert d.max() == 1000 and d[15] == 1000
    assert d.min() == 400 and d[3] == 400


def test_inference_replicas_run_ahead_of_batch() -> None:
    sc = load_scenario(WEEK)
    svc = InferenceService(name="chat", peak_gpus=144, trough_fraction=0.5)
    wl = sc.workload.model_copy(update={"inference": [svc], "pretraining": []})
    jobs = simulate(sc.model_copy(update={"workload": wl})).jobs
    inf = jobs[jobs["kind"] == "inference"]
    assert len(inf) == 7 * 24
    assert inf["start_s"].notna().all()
    # top priority, but not preemptive: most replicas start at once, a few wait for a whole node
    assert (inf["queue_s"] == 0).mean() > 0.5


def test_hot_weather_and_small_plant_slow_jobs_down() -> None:
    sc = load_scenario(WEEK)
    pod = sc.site.pods[0]
    small = pod.model_copy(update={"cooling": pod.cooling.model_copy(update={"capacity_w": 700_000.0})})
    hot = sc.model_copy(update={"site": sc.site.model_copy(update={"pods": [small]})})
    a, b = simulate(sc), simulate(hot)
    assert a.series["job_speed"].min() == pytest.approx(1.0)
    assert b.series["job_speed"].min() < 1.0
    ja, jb = a.jobs.set_index("job_id"), b.jobs.set_index("job_id")
    big = "llm-pretrain"
    assert jb.loc[big, "end_s"] > ja.loc[big, "end_s"] or jb.loc[big, "state"] != "done"
