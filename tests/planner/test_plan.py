"""The planner: sanity anchors, sizing rules, infeasible goals with teaching messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.conftest import EXAMPLES

from megapod.errors import InfeasibleError, SpecError
from megapod.physics import battery, climate
from megapod.planner.failures import failure_allowance, interruption_rate_per_gpu_s, reliability_entry
from megapod.planner.plan import (
    global_batch_sequences,
    plan_serving,
    plan_training,
    site_capability,
)
from megapod.planner.sizing import pod_mean_it_w
from megapod.spec import load_site
from megapod.spec.goal import ServingGoal, TrainingGoal, goal_from_dict


@pytest.fixture(scope="module")
def megapod_site():  # type: ignore[no-untyped-def]
    return load_site(EXAMPLES / "megapod.yaml")


@pytest.fixture(scope="module")
def cortex():  # type: ignore[no-untyped-def]
    return load_site(EXAMPLES / "cortex.yaml")


def test_llama3_405b_anchor(cortex) -> None:  # type: ignore[no-untyped-def]
    # Llama 3 405B: ~30.8 M H100 GPU-hours on up to 16,384 GPUs (Meta 2024, model card / paper).
    plan = plan_training(cortex, TrainingGoal(model="llama3-405b", tokens=15.6e12, gpu_budget=16384))
    t = plan.training
    assert t is not None
    assert t.gpus_used == 16384
    assert 0.75 * 30.8e6 <= t.gpu_hours <= 1.25 * 30.8e6
    # failures: 419 interruptions in 54 days at this scale -> a job MTBI of ~3.1 h
    assert t.failures.job_mtbi_s == pytest.approx(54 * 86400 / 419, rel=1e-6)
    assert 0.05 < t.failures.waste_fraction < 0.3
    f = plan.facility
    assert f.pods == 16 and f.gpus == 16384
    # HGX H100 liquid-cooled servers at ~9.6 kW: 2,048 servers ~ 19.7 MW plus switches
    assert 19e6 < f.it_peak_w < 23e6
    assert 1.05 < f.annual_pue < 1.2  # liquid-cooled hall


def test_facility_sizing_rules(megapod_site) -> None:  # type: ignore[no-untyped-def]
    plan = plan_training(megapod_site, TrainingGoal(model="llama3-8b", tokens=1e11))
    f = plan.facility
    assert f.feed_w == pytest.approx(f.facility_peak_w)
    assert f.facility_peak_w > f.it_peak_w
    # the battery carries the facility peak for the 30-min target
    assert f.ride_through_s >= f.ride_through_target_s
    assert f.battery_power_w >= f.facility_peak_w
    assert battery.ride_through_s(3.854e6, 1.927e6, f.facility_peak_w, 0.925) == pytest.approx(f.ride_through_s)
    # cooling capacity covers the heat at the hottest hour after derating
    assert f.hottest_c == pytest.approx(climate.load_profile("austin-tx").dry_bulb_c.max())
    assert f.cooling_capacity_w >= f.it_peak_w
    assert f.annual_facility_energy_wh == pytest.approx(float(np.sum(f.hourly_facility_w)))
    assert f.tco_usd == pytest.approx(f.capex.total_usd + 5 * f.opex.total_usd)
    assert f.hourly_pue.shape == (8760,)
    # ERCOT's peak/off-peak spread (1.8/0.85) beats the 92.5 % round trip: arbitrage pays
    assert 0 < f.battery_tou_savings_usd < 0.2 * f.opex.energy_usd
    t = plan.training
    assert t is not None
    assert t.run_cost_usd == pytest.approx(f.annualized_cost_usd * t.wall_s / (365 * 86400))


def test_deadline_picks_fewest_pods(cortex) -> None:  # type: ignore[no-untyped-def]
    goal = TrainingGoal(model="llama3-70b", tokens=2e12, deadline_s=30 * 86400)
    plan = plan_training(cortex, goal)
    t = plan.training
    assert t is not None and t.wall_s <= goal.deadline_s
    assert plan.facility.pods >= 1
    fewer = plan.facility.pods - 1
    if fewer >= 1:
        smaller = plan_training(cortex, TrainingGoal(model="llama3-70b", tokens=2e12, gpu_budget=fewer * 1024))
        assert smaller.training is not None and smaller.training.wall_s > goal.deadline_s


def test_impossible_deadline_says_what_is_fastest(megapod_site) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InfeasibleError, match="fastest found"):
        plan_training(megapod_site, TrainingGoal(model="llama3-405b", tokens=15.6e12, deadline_s=86400))


def test_budget_below_one_pod_names_the_minimum(megapod_site) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InfeasibleError, match="≥ 576"):
        plan_training(megapod_site, TrainingGoal(model="llama3-8b", tokens=1e9, gpu_budget=10))


def test_budget_too_small_for_deadline_names_min_gpus(megapod_site) -> None:  # type: ignore[no-untyped-def]
    goal = TrainingGoal(model="llama3-70b", tokens=2e12, gpu_budget=576, deadline_s=5 * 86400)
    with pytest.raises(InfeasibleError, match=r"at least \d+ pods"):
        plan_training(megapod_site, goal)


def test_negative_tokens_is_a_spec_error() -> None:
    with pytest.raises(SpecError, match="tokens"):
        goal_from_dict({"model": "llama3-8b", "tokens": -5})


def test_model_that_fits_no_layout() -> None:
    site = load_site(EXAMPLES / "megapod.yaml")
    huge = {"name": "huge", "layers": 2, "hidden": 65536, "heads": 1, "vocab": 32000, "seq_len": 4096,
            "ffn_hidden": 4 * 65536 * 64}
    with pytest.raises(InfeasibleError, match="fits no layout"):
        plan_training(site, goal_from_dict({"model": huge, "tokens": 1e9}))


def test_serving_plan(megapod_site) -> None:  # type: ignore[no-untyped-def]
    goal = ServingGoal(model="llama3-70b", tokens_per_s=50_000, latency_per_token_s=0.05)
    plan = plan_serving(megapod_site, goal)
    s = plan.serving
    assert s is not None
    assert s.latency_per_token_s <= 0.05
    assert s.tokens_per_s_capacity >= 50_000
    assert s.gpus_used == s.replicas * s.replica["gpus"] <= plan.facility.gpus
    assert s.cost_per_million_tokens_usd == pytest.approx(
        plan.facility.annualized_cost_usd / (50_000 * 8760 * 3600) * 1e6)


def test_serving_latency_bound_too_tight(megapod_site) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InfeasibleError, match="relax latency_per_token_s"):
        plan_serving(megapod_site, ServingGoal(model="llama3-405b", tokens_per_s=1000, latency_per_token_s=1e-4))


def test_capability(megapod_site) -> None:  # type: ignore[no-untyped-def]
    caps = site_capability(megapod_site, models=["llama3-8b", "llama3-70b"])
    assert [c.model for c in caps] == ["llama3-8b", "llama3-70b"]
    assert caps[0].train_days is not None and caps[1].train_days is not None
    assert caps[0].train_days < caps[1].train_days
    assert caps[0].tokens == pytest.approx(20 * caps[0].params)


def test_failure_allowance_hand_calculation() -> None:
    rate = interruption_rate_per_gpu_s(reliability_entry("llama3-h100"))
    assert rate == pytest.approx(419 / (16384 * 54 * 86400), rel=1e-3)
    a = failure_allowance(16384, 50 * 86400, 60.0, 600.0, rate)
    m = 1 / (16384 * rate)
    tau = math.sqrt(2 * 60 * m)
    assert a.checkpoint_interval_s == pytest.approx(tau)
    assert a.waste_fraction == pytest.approx(60 / tau + (tau / 2 + 600) / m)
    with pytest.raises(InfeasibleError, match="fewer GPUs"):
        failure_allowance(10_000_000, 1e6, 600.0, 3600.0, rate)


def test_global_batch_rounding() -> None:
    assert global_batch_sequences(16e6, 8192) == 2048
    assert global_batch_sequences(4e6, 4096) == 1024
    assert global_batch_sequences(10, 8192) == 1


def test_mean_it_power_between_idle_and_peak(megapod_site) -> None:  # type: ignore[no-untyped-def]
    pod = megapod_site.pods[0]
    gpu = pod.racks[0].server.gpu
    low, high = pod_mean_it_w(pod, gpu.idle_w), pod_mean_it_w(pod, gpu.tdp_w)
    assert low < high
    from megapod.planner.inventory import pod_inventory

    assert high == pytest.approx(pod_inventory(pod).it_peak_w)
