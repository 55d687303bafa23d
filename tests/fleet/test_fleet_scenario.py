"""The site's fleet as a tier of the twin in a scenario: it joins automatically, the dispatch
policy sends eligible jobs where it says, pods-only is the run without a fleet, names and costs
are checked, and the fleet engine runs over the demand the twin sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from megapod.cli.main import app
from megapod.errors import SpecError
from megapod.fleet.scenario import demand_units, fleet_in_run
from megapod.fleet.work import check_work
from megapod.sim.twin import Twin
from megapod.spec.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
MIX = ROOT / "examples" / "scenarios" / "fleet_mix.yaml"
DAY = 86400.0
_SITE_FLEET = load_scenario(MIX).site.fleet
assert _SITE_FLEET is not None
FLEET = _SITE_FLEET
COST = check_work(FLEET)


def scenario(dispatch: str = "fleet-first", days: float = 2.0, **fleet: Any) -> Scenario:
    """The example mix, shortened, with a dispatch policy and scenario fleet options."""
    sc = load_scenario(MIX)
    return sc.model_copy(
        update={
            "horizon_s": days * DAY,
            "policies": sc.policies.model_copy(update={"dispatch": dispatch}),
            "fleet": sc.fleet.model_copy(update=fleet),
        }
    )


def test_a_site_with_a_fleet_gets_the_fleet_tier_and_eligible_jobs_go_there() -> None:
    twin = Twin(scenario())
    assert twin.fleet_tier is not None and [t.name for t in twin.tiers] == ["pods", "vehicles"]
    r = twin.run()
    on_fleet = r.jobs[r.jobs["partition"] == "fleet"]
    assert len(on_fleet) > 100
    assert set(on_fleet["kind"]) == {"batch-inference"}  # nothing else may go to the cars
    assert (r.jobs.loc[r.jobs["kind"] != "batch-inference", "partition"] != "fleet").all()
    assert (on_fleet["state"] == "done").sum() > 0
    tiers = r.tiers.set_index("tier")
    assert tiers.loc["vehicles", "busy_gpu_h"] > 0 and tiers.loc["vehicles", "down_gpu_h"] > 0
    # the cars draw from their owners' homes: the site's summary is the pods' alone
    assert r.summary["gpus"] == int(tiers.loc["pods", "gpus"])
    assert r.summary["facility_energy_mwh"] == pytest.approx(tiers.loc["pods", "facility_energy_mwh"])


def test_fleet_jobs_hold_the_converted_car_slots() -> None:
    twin = Twin(scenario())
    r = twin.run()
    assert twin.dispatcher is not None
    ratio = twin.dispatcher.cars_per_gpu[0]
    # H100 at 13,400 tok/s, tesla-ai4 at 896 tok/s (8B int8, batch 32), 1.1 replicas a unit
    assert ratio == pytest.approx(13_400 / 896 * 1.1)
    original = twin.jobs.gpus
    moved = r.jobs["partition"].to_numpy() == "fleet"
    expected = np.ceil(original[moved] * ratio - 1e-9)
    assert (r.jobs["gpus"].to_numpy()[moved] == expected).all()


def test_pods_only_is_the_run_without_a_fleet() -> None:
    with_fleet = Twin(scenario("pods-only")).run()
    without = Twin(scenario("pods-only", enabled=False)).run()
    assert (with_fleet.jobs["partition"] != "fleet").all()
    pd.testing.assert_frame_equal(with_fleet.jobs, without.jobs)
    pods = with_fleet.tiers[with_fleet.tiers["tier"] == "pods"].reset_index(drop=True)
    pd.testing.assert_frame_equal(pods, without.tiers)
    for key, value in without.summary.items():
        if key == "events":  # the cars' own moves are events of the run
            continue
        # the same up to rounding: the fleet's steps split the integrals into more segments
        expected = pytest.approx(value, rel=1e-12, nan_ok=True) if isinstance(value, float) else value
        assert with_fleet.summary[key] == expected, key


def test_cheapest_follows_the_tiers_costs() -> None:
    cheap_pods = Twin(scenario("cheapest", pod_usd_per_gpu_h=0.01)).run()
    dear_pods = Twin(scenario("cheapest", pod_usd_per_gpu_h=100.0)).run()
    first = Twin(scenario("fleet-first")).run()
    n_cheap = int((cheap_pods.jobs["partition"] == "fleet").sum())
    n_dear = int((dear_pods.jobs["partition"] == "fleet").sum())
    n_first = int((first.jobs["partition"] == "fleet").sum())
    assert n_cheap < n_dear  # pods cheaper: the fleet only takes what the pods have no room for
    # fleet cheaper: what fleet-first sends (it fits), and also the jobs that fit neither tier
    assert n_dear >= n_first > n_cheap


def test_cheapest_needs_the_pods_cost() -> None:
    with pytest.raises(SpecError, match=r"fleet\.pod_usd_per_gpu_h"):
        Twin(scenario("cheapest"))


def test_dispatch_names_are_checked_when_the_scenario_loads(tmp_path: Path) -> None:
    text = MIX.read_text().replace("dispatch: fleet-first", "dispatch: fleet-last")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("../fleet.yaml", str(ROOT / "examples" / "fleet.yaml")))
    with pytest.raises(SpecError, match=r"policies.dispatch.*fleet-last.*cheapest, fleet-first, pods-only"):
        load_scenario(bad)


def test_without_a_fleet_share_no_job_is_eligible() -> None:
    sc = scenario()
    syn = sc.workload.synthetic
    assert syn is not None
    workload = sc.workload.model_copy(update={"synthetic": syn.model_copy(update={"fleet_share": 0.0})})
    r = Twin(sc.model_copy(update={"workload": workload})).run()
    assert (r.jobs["partition"] != "fleet").all() and set(r.jobs["kind"]) == {"batch"}


def test_demand_units_carry_the_jobs_tokens_to_the_engine_sample() -> None:
    sc = scenario()
    fleet = sc.site.fleet
    assert fleet is not None
    jobs = pd.DataFrame({"gpus": [100, 40], "work_s": [7200.0, 3600.0], "submit_s": [0.0, DAY]})
    units = demand_units(fleet, jobs, 2 * DAY)
    assert len(units) == 2 * DAY / fleet.step_s and (units >= 0).all()
    tokens = (100 * 7200 + 40 * 3600) * check_work(fleet).tokens_per_s / fleet.validation.replicas_per_unit
    expected = tokens * fleet.simulated / fleet.vehicles / fleet.work.tokens_per_unit
    assert abs(int(units.sum()) - expected) <= 1
    assert (
        units[: int(2 * 3600 / fleet.step_s)].sum() > 0
        and units[int(3 * 3600 / fleet.step_s) : 144].sum() == 0
    )


def test_the_engine_over_the_same_demand_books_balanced_ledgers() -> None:
    sc = scenario(pod_usd_per_gpu_h=1.44)
    r = Twin(sc).run()
    f = fleet_in_run(sc, r, 1.44)
    e = f.engine
    assert e.horizon_s == 2 * DAY
    assert 0 < e.units["accepted"] <= e.units["submitted"]
    assert all(s.ledger_balanced for s in e.schemes) and {s.name for s in e.schemes} == {
        "pay-per-share",
        "pplns",
        "revenue-share",
    }
    low, high = e.throughput["effective_ops_band"]
    assert low < e.throughput["effective_ops"] < high
    assert f.pods.usd_per_mtok == pytest.approx(1.44 / (3600 * 13_400) * 1e6)
    assert f.fleet.usd_per_mtok == 0.06 and f.fleet.jobs == int((r.jobs["partition"] == "fleet").sum())


def test_simulate_cli_shows_the_fleet_beside_the_pods(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["simulate", str(MIX), "--out", str(out)])
    assert res.exit_code == 0, res.output
    for text in (
        "Tiers (dispatch fleet-first",
        "Fleet engine over the same demand",
        "Payout schemes",
        "pplns",
    ):
        assert text in res.output
    saved = json.loads((out / "fleet.json").read_text(), parse_constant=_no_constant)
    assert [t["tier"] for t in saved["tiers"]] == ["pods", "fleet"]
    assert "The fleet beside the pods" in (out / "report.html").read_text()
    res = CliRunner().invoke(app, ["simulate", str(MIX), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output.strip().splitlines()[-1], parse_constant=_no_constant)
    assert doc["scenario"] == "fleet-mix" and doc["fleet"]["engine"]["units"]["accepted"] > 0


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


@settings(max_examples=30, deadline=None)
@given(
    jobs=st.lists(
        st.tuples(
            st.integers(1, 5_000),  # car slots
            st.floats(60.0, 3 * DAY),  # work [s]
            st.floats(0.0, 2 * DAY),  # submit [s]
        ),
        min_size=1,
        max_size=30,
    )
)
def test_demand_units_never_negative_and_conserve_the_tokens_inside_the_horizon(
    jobs: list[tuple[int, float, float]],
) -> None:
    fleet = FLEET
    frame = pd.DataFrame(jobs, columns=["gpus", "work_s", "submit_s"])
    horizon = 2 * DAY
    units = demand_units(fleet, frame, horizon)
    assert (units >= 0).all()
    rate = COST.tokens_per_s / fleet.validation.replicas_per_unit
    inside = np.clip((horizon - frame["submit_s"]) / frame["work_s"], 0.0, 1.0)
    tokens = float((frame["gpus"] * frame["work_s"] * rate * inside).sum())
    expected = tokens * fleet.simulated / fleet.vehicles / fleet.work.tokens_per_unit
    assert abs(int(units.sum()) - expected) <= 1 + 1e-9 * expected


def test_a_submitted_job_without_a_partition_goes_to_the_pods() -> None:
    from megapod.sim.twin import JobRequest

    twin = Twin(scenario(days=0.5))
    j = twin.submit(JobRequest("mine", gpus=8, work_s=600.0))
    assert twin.ledger.part[j] == 0 and twin.cluster.partitions[0].name == "h100-air"


def test_plan_capability_reports_what_the_fleet_adds() -> None:
    site = ROOT / "examples" / "fleet.yaml"
    res = CliRunner().invoke(app, ["plan", str(site), "--capability", "--models", "llama3-8b", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output.strip().splitlines()[-1], parse_constant=_no_constant)
    pods, fleet = doc["fleet"]["pods"], doc["fleet"]["fleet"]
    assert pods["tokens_per_s"] == pytest.approx(1056 * 13_400)
    assert pods["usd_per_mtok"] == pytest.approx(pods["usd_per_gpu_h"] / (3600 * 13_400) * 1e6)
    t = fleet["throughput"]
    low, high = t["effective_ops_band"]
    assert low < t["effective_ops"] < high < t["nameplate_ops"]
    text = CliRunner().invoke(app, ["plan", str(site), "--capability", "--models", "llama3-8b"])
    assert text.exit_code == 0 and "What the fleet adds" in text.output
