"""The operator's power settings on the open twin: a GPU cap, a battery reserve, a grid limit
and admission against the power budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from megapod.errors import SpecError
from megapod.physics.gpu_power import speed_fraction
from megapod.sim.twin import JobRequest, Twin
from megapod.spec import load_site
from megapod.spec.scenario import Scenario

from .scenario_factory import small_scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SITE = load_site(EXAMPLES / "megapod.yaml")
GPU = SITE.pods[0].racks[0].server.gpu
WORK_S = 86_400.0
HOUR = 3600.0


def _scenario(events: list[dict[str, Any]] | None = None, gpus: int = 288) -> Scenario:
    """The bundled pod (one GB200 NVL72 pod, 576 GPUs, 3.85 MWh battery) running one job of
    ``gpus`` GPUs for a day of work; no weather (a constant plant COP) and no failures."""
    return Scenario.model_validate(
        {
            "name": "operator",
            "site": SITE,
            "horizon_s": 10 * 86_400.0,
            "seed": 1,
            "workload": {"pretraining": [{"name": "big", "gpus": gpus, "work_s": WORK_S}]},
            "grid": {"events": events or []},
            "weather": {"enabled": False},
            "energy": {"price_usd_per_mwh": 50, "carbon_kg_per_mwh": 400},
            "output": {"resolution_s": 900},
        }
    )


def _end_s(twin: Twin, job: str = "big") -> float:
    ends = twin.result().jobs.set_index("job_id")["end_s"].to_dict()
    return float(ends[job])


def _free_length() -> float:
    """When the job ends with no operator action [s]."""
    twin = Twin(_scenario())
    twin.advance_to(twin.sc.horizon_s)
    return _end_s(twin)


def test_a_cap_lowers_it_power_and_stretches_the_job_by_the_dvfs_law() -> None:
    free = Twin(_scenario())
    free.advance_to(HOUR)
    uncapped = free.snapshot()
    free.advance_to(free.sc.horizon_s)
    length = _end_s(free)  # the day of work with its checkpoint writes
    assert WORK_S < length < 1.01 * WORK_S

    twin = Twin(_scenario())
    twin.advance_to(HOUR)
    twin.set_gpu_cap(600.0)
    snap = twin.snapshot()
    # 288 busy GPUs each drop from TDP to the cap; nothing else changes
    assert uncapped.it_power_w - snap.it_power_w == pytest.approx(288 * (GPU.tdp_w - 600.0))
    assert snap.facility_power_w < uncapped.facility_power_w
    assert snap.gpu_cap_w == 600.0 and snap.gpu_cap_operator_w == 600.0
    speed = float(speed_fraction(1.0, GPU.idle_w, GPU.tdp_w, 600.0))
    assert snap.job_speed == pytest.approx(speed) and snap.thermal_speed == 1.0
    assert 0.5 < speed < 0.9
    twin.advance_to(twin.sc.horizon_s)
    assert _end_s(twin) == pytest.approx(HOUR + (length - HOUR) / speed)
    assert twin.result().series["job_speed"].min() == pytest.approx(speed)


def test_lifting_the_cap_restores_power_and_speed() -> None:
    length = _free_length()
    twin = Twin(_scenario())
    twin.advance_to(HOUR)
    before = twin.snapshot()
    twin.set_gpu_cap(500.0)
    twin.advance_to(3 * HOUR)
    twin.set_gpu_cap(None)
    after = twin.snapshot()
    assert after.it_power_w == pytest.approx(before.it_power_w)
    assert after.gpu_cap_w is None and after.job_speed == 1.0
    speed = float(speed_fraction(1.0, GPU.idle_w, GPU.tdp_w, 500.0))
    twin.advance_to(twin.sc.horizon_s)
    # two hours at the capped speed, the rest at full speed
    assert _end_s(twin) == pytest.approx(length + 2 * HOUR * (1.0 - speed))


def test_a_grid_limit_lowers_the_import_battery_first_then_a_grid_cap() -> None:
    twin = Twin(_scenario())
    twin.advance_to(HOUR)
    load = twin.snapshot().facility_power_w
    limit = 0.7 * load
    twin.set_grid_limit(limit)
    snap = twin.snapshot()
    assert snap.grid_limit_w == limit and not snap.grid_limited  # the operator's, not an event
    assert snap.grid_import_w == pytest.approx(limit)
    assert snap.battery_power_w == pytest.approx(load - limit)  # the battery covers the rest
    assert snap.gpu_cap_w is None and snap.job_speed == 1.0
    # 3.85 MWh at the deficit: then the GPUs are capped so that the load fits the limit
    empty_s = HOUR + twin.layout.battery_energy_wh * 3600.0 / (load - limit)
    twin.advance_to(empty_s - 60.0)
    assert twin.snapshot().gpu_cap_w is None
    twin.advance_to(empty_s + 60.0)
    capped = twin.snapshot()
    assert capped.battery_soc == pytest.approx(0.0, abs=1e-9) and not capped.blackout
    assert capped.facility_power_w == pytest.approx(limit, rel=1e-9)
    assert capped.grid_import_w == pytest.approx(limit, rel=1e-9)
    assert capped.gpu_cap_w is not None and GPU.idle_w < capped.gpu_cap_w < GPU.tdp_w
    assert capped.job_speed == pytest.approx(
        float(speed_fraction(1.0, GPU.idle_w, GPU.tdp_w, capped.gpu_cap_w))
    )
    # lifted: full power, and the battery recharges
    twin.set_grid_limit(None)
    free = twin.snapshot()
    assert free.gpu_cap_w is None and free.facility_power_w == pytest.approx(load)
    assert free.battery_power_w < 0


def test_the_battery_recharges_from_the_headroom_under_the_limit() -> None:
    twin = Twin(_scenario())
    twin.advance_to(HOUR)
    load = twin.snapshot().facility_power_w
    twin.set_grid_limit(0.5 * load)
    twin.advance_to(3 * HOUR)
    twin.set_grid_limit(load + 100_000.0)  # 100 kW above the load
    snap = twin.snapshot()
    assert snap.battery_soc < 1.0 and snap.gpu_cap_w is None
    assert snap.grid_import_w == pytest.approx(load + 100_000.0)
    # stored: the 100 kW drawn times the round-trip efficiency
    eff = twin.layout.battery_charge_efficiency
    assert 0.8 < eff < 1.0
    assert -snap.battery_power_w == pytest.approx(100_000.0 * eff)


def test_the_reserve_holds_during_a_grid_limit_event() -> None:
    limit_w = 500_000.0
    twin = Twin(_scenario([{"start_s": HOUR, "duration_s": 3 * 86_400.0, "limit_w": limit_w}]))
    twin.advance_to(60.0)
    twin.set_battery_reserve(0.5)
    lowest, capped = 1.0, []
    for t in range(2, 48):
        twin.advance_to(t * HOUR)
        snap = twin.snapshot()
        lowest = min(lowest, snap.battery_soc)
        assert not snap.blackout
        assert snap.grid_import_w <= limit_w * (1 + 1e-9)
        if snap.gpu_cap_w is not None:  # capped instead of discharging, once at the reserve
            capped.append(snap)
            assert snap.battery_soc == pytest.approx(0.5) and snap.battery_power_w == 0.0
            assert snap.facility_power_w == pytest.approx(limit_w) and snap.job_speed < 1.0
    assert lowest == pytest.approx(0.5)
    assert len(capped) > 10


def test_without_a_reserve_the_same_limit_blacks_the_site_out() -> None:
    twin = Twin(_scenario([{"start_s": HOUR, "duration_s": 3 * 86_400.0, "limit_w": 500_000.0}]))
    twin.advance_to(48 * HOUR)
    assert twin.snapshot().blackout  # the scenario's answer to an empty battery


def test_the_reserve_is_spent_in_an_outage() -> None:
    twin = Twin(_scenario([{"start_s": HOUR, "duration_s": 86_400.0}]))  # no supply at all
    twin.advance_to(60.0)
    twin.set_battery_reserve(0.5)
    twin.advance_to(HOUR + 4 * HOUR)
    snap = twin.snapshot()
    assert snap.battery_soc < 0.5 and snap.gpu_cap_w is None and not snap.blackout


def test_admission_holds_a_job_that_would_exceed_the_budget() -> None:
    twin = Twin(_scenario())
    twin.advance_to(HOUR)
    load = twin.snapshot().facility_power_w
    twin.set_grid_limit(load + 50_000.0)  # room for about 40 more GPUs, not 144
    twin.submit(JobRequest("late", gpus=144, work_s=HOUR))
    twin.submit(JobRequest("small", gpus=8, work_s=HOUR, submit_s=2 * HOUR))
    twin.advance_to(3 * HOUR)
    snap = twin.snapshot()
    assert snap.queue == ["late", "small"] and snap.running == ["big"]  # FIFO: head of line
    assert snap.facility_power_w == pytest.approx(load)
    twin.set_grid_limit(None)  # no budget but the feed's: both start at once
    snap = twin.snapshot()
    assert snap.queue == [] and set(snap.running) == {"big", "late", "small"}
    twin.advance_to(twin.sc.horizon_s)
    jobs = twin.result().jobs.set_index("job_id")
    assert jobs.loc["late", "start_s"] == pytest.approx(3 * HOUR)


def test_admission_lets_in_what_fits() -> None:
    twin = Twin(_scenario())
    twin.advance_to(HOUR)
    load = twin.snapshot().facility_power_w
    twin.set_grid_limit(load + 50_000.0)
    twin.submit(JobRequest("small", gpus=8, work_s=HOUR))
    twin.advance_to(1.5 * HOUR)
    snap = twin.snapshot()
    assert "small" in snap.running and load < snap.facility_power_w <= load + 50_000.0


@pytest.mark.parametrize(
    ("call", "value", "field", "says"),
    [
        ("set_gpu_cap", 10.0, "gpu_cap_w", "150 W"),
        ("set_gpu_cap", 5000.0, "gpu_cap_w", "1200 W"),
        ("set_gpu_cap", float("nan"), "gpu_cap_w", "idle"),
        ("set_battery_reserve", 1.5, "battery_reserve_soc", "0 to 1"),
        ("set_battery_reserve", -0.1, "battery_reserve_soc", "0 to 1"),
        ("set_grid_limit", 0.0, "grid_limit_w", "above 0 W"),
        ("set_grid_limit", float("inf"), "grid_limit_w", "finite"),
    ],
)
def test_invalid_settings_are_refused_with_the_field_value_and_limit(
    call: str, value: float, field: str, says: str
) -> None:
    twin = Twin(_scenario())
    twin.advance_to(HOUR)
    before = twin.snapshot()
    with pytest.raises(SpecError) as err:
        getattr(twin, call)(value)
    assert err.value.path == field and says in err.value.problem and repr(value) in err.value.problem
    assert twin.snapshot() == before  # nothing changed


ACTION = st.tuples(
    st.floats(0.0, 2 * 86_400.0),
    st.sampled_from(["set_gpu_cap", "set_battery_reserve", "set_grid_limit"]),
    st.one_of(st.none(), st.floats(0.0, 1.0)),
)


def _apply(twin: Twin, actions: list[tuple[float, str, float | None]]) -> list[Any]:
    seen = []
    for at, call, x in sorted(actions, key=lambda a: a[0]):
        twin.advance_to(at)
        if call == "set_gpu_cap":
            value = None if x is None else 150.0 + x * 1050.0
        elif call == "set_grid_limit":
            value = None if x is None else 200_000.0 + x * 1.4e6
        else:
            value = x
        getattr(twin, call)(value)
        seen.append(twin.snapshot())
    return seen


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=st.lists(ACTION, min_size=1, max_size=6))
def test_operator_actions_keep_gpu_seconds_and_energy_balanced(
    actions: list[tuple[float, str, float | None]],
) -> None:
    sc = small_scenario(horizon_s=2.5 * 86_400.0, outage_at_s=86_400.0, outage_s=2 * HOUR, pretrain_gpus=144)
    twin = Twin(sc)
    seen = _apply(twin, actions)
    for snap in seen:
        assert 0.0 <= snap.battery_soc <= 1.0
        assert 0.0 < snap.job_speed <= snap.thermal_speed
        if snap.gpu_cap_w is not None:
            assert GPU.idle_w <= snap.gpu_cap_w <= GPU.tdp_w
    twin.advance_to(sc.horizon_s)
    res = twin.result()
    s = res.summary
    total_h = s["gpus"] * sc.horizon_s / HOUR
    assert s["busy_gpu_h"] + s["idle_gpu_h"] + s["failed_gpu_h"] + s["down_gpu_h"] == pytest.approx(
        total_h, rel=1e-9
    )
    j = res.jobs
    # the split counts work-clock time: a slowed job holds its GPUs longer than it
    split = j["useful_gpu_h"] + j["checkpoint_gpu_h"] + j["lost_gpu_h"]
    assert (split <= j["busy_gpu_h"] * (1 + 1e-9) + 1e-9).all()
    if (res.series["job_speed"] == 1.0).all():  # never slowed: the split is exact
        assert split.sum() == pytest.approx(j["busy_gpu_h"].sum())
    done = j[j["state"] == "done"]
    assert done["useful_gpu_h"].to_numpy() == pytest.approx((done["gpus"] * done["work_s"] / HOUR).to_numpy())
    assert j["busy_gpu_h"].sum() == pytest.approx(s["busy_gpu_h"], rel=1e-9)
    assert s["energy_balance_error"] < 1e-12
    assert res.series["battery_soc"].between(0, 1).all()
    # the same actions give the same run, byte for byte
    again = Twin(sc)
    _apply(again, actions)
    again.advance_to(sc.horizon_s)
    pd.testing.assert_frame_equal(again.result().jobs, j)
    assert again.result().summary == s


def test_a_limit_below_the_idle_site_blacks_out_and_keeps_the_reserve() -> None:
    twin = Twin(_scenario([{"start_s": HOUR, "duration_s": 86_400.0, "limit_w": 10_000.0}]))
    twin.advance_to(60.0)
    twin.set_battery_reserve(0.5)
    twin.advance_to(12 * HOUR)
    snap = twin.snapshot()
    # the battery gave its share above the reserve, then not even idle GPUs fitted 10 kW
    assert snap.blackout and snap.battery_soc == pytest.approx(0.5)
    twin.advance_to(HOUR + 86_400.0 + 60.0)
    after = twin.snapshot()
    assert not after.blackout and after.gpus_busy == 288 and after.battery_power_w < 0


def test_energy_tables_count_busy_gpus_at_the_cap_in_force() -> None:
    """The binned power follows the cap in force: a bin the cap starts in holds the time-mean of
    the two powers, later bins the capped power (before: busy GPUs at TDP under any cap), and
    the run's energy falls by the cap's saving less the longer run."""
    free = Twin(_scenario())
    free.advance_to(free.sc.horizon_s)
    twin = Twin(_scenario())
    start = HOUR + 450.0  # the middle of a 900 s output bin
    twin.advance_to(start)
    p_before = twin.snapshot().it_power_w
    twin.set_gpu_cap(600.0)
    p_capped = twin.snapshot().it_power_w
    twin.advance_to(twin.sc.horizon_s)
    s = twin.result().series.set_index("t_start_s")["it_power_w"]
    assert s[HOUR] == pytest.approx(0.5 * (p_before + p_capped))
    running = s[(s.index >= HOUR + 900) & (s.index < _end_s(twin) - 900)]
    assert running.max() == pytest.approx(p_capped) and running.median() == pytest.approx(p_capped)
    e_free = free.result().summary["it_energy_mwh"]
    e_capped = twin.result().summary["it_energy_mwh"]
    assert e_capped < e_free


def test_a_preempted_job_checkpoints_restarts_and_ends_later_by_the_cost() -> None:
    """Preempting the running job at 1 h: it writes a checkpoint, pays the restart time, and
    ends later by exactly write + restart (nothing else waits, so it starts again at once)."""
    length = _free_length()
    twin = Twin(_scenario())
    twin.advance_to(HOUR)
    assert twin.preempt("big")
    twin.advance_to(HOUR + 1.0)
    assert twin.snapshot().jobs_running == 1  # it started again at once, paying its restart
    twin.advance_to(twin.sc.horizon_s)
    assert not twin.preempt("big")  # it has ended
    with pytest.raises(SpecError, match="job_id"):
        twin.preempt("nope")
    jobs = twin.result().jobs.set_index("job_id")
    ck = twin.sc.policies.checkpoint
    assert int(jobs.loc["big", "preemptions"]) == 1
    # the write of this checkpoint and the restart, with the periodic writes left shifted by them
    assert _end_s(twin) == pytest.approx(length + ck.write_s + ck.restart_s, abs=ck.write_s + 1.0)
