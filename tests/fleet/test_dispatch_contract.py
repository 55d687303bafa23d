"""The contract every registered dispatch policy passes: it answers a bool from what the view
shows, the same answer for the same view, and a run with it keeps the tiers' invariants
(only fleet-eligible jobs on the cars, each at its converted car slots, never more than the
fleet; every other job on the pods as submitted)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from megapod.sim.twin import Twin
from megapod.sim.twin.dispatch import DISPATCH_POLICIES, DispatchPolicy
from megapod.spec.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
MIX = ROOT / "examples" / "scenarios" / "fleet_mix.yaml"


class View:
    """A dispatch view with fixed answers that counts what the policy asked."""

    def __init__(self, pods: bool, fleet: bool, pods_cost: float, fleet_cost: float) -> None:
        self.pods, self.fleet = pods, fleet
        self.pods_usd_per_mtok, self.fleet_usd_per_mtok = pods_cost, fleet_cost
        self.asked: list[tuple[str, int]] = []

    def fits_pods(self, j: int) -> bool:
        self.asked.append(("pods", j))
        return self.pods

    def fits_fleet(self, j: int) -> bool:
        self.asked.append(("fleet", j))
        return self.fleet


def make(name: str) -> DispatchPolicy:
    policy = DISPATCH_POLICIES[name]()
    assert policy.name == name
    return policy


@pytest.mark.parametrize("name", sorted(DISPATCH_POLICIES))
def test_a_policy_answers_a_bool_from_the_view_and_nothing_else(name: str) -> None:
    policy = make(name)
    for pods, fleet, costs in itertools.product((True, False), (True, False), ((0.03, 0.06), (0.06, 0.03))):
        answers = set()
        for _ in range(3):
            view = View(pods, fleet, *costs)
            got = policy.to_fleet(7, view)
            assert isinstance(got, bool)
            assert all(j == 7 for _, j in view.asked)  # it asks about the job it was given
            answers.add(got)
        assert len(answers) == 1, (pods, fleet, costs)  # no hidden state between calls


def _scenario(name: str) -> Scenario:
    sc = load_scenario(MIX)
    return sc.model_copy(
        update={
            "horizon_s": 86400.0,
            "policies": sc.policies.model_copy(update={"dispatch": name}),
            "fleet": sc.fleet.model_copy(update={"pod_usd_per_gpu_h": 1.44}),
        }
    )


@pytest.mark.parametrize("name", sorted(DISPATCH_POLICIES))
def test_a_run_with_the_policy_keeps_the_tiers_invariants(name: str) -> None:
    twin = Twin(_scenario(name))
    submitted = twin.jobs.gpus.copy()
    r = twin.run()
    assert twin.dispatcher is not None and twin.fleet_tier is not None
    jobs = r.jobs
    on_fleet = (jobs["partition"] == "fleet").to_numpy()
    assert set(jobs.loc[on_fleet, "kind"]) <= {"batch-inference"}
    ratio = twin.dispatcher.cars_per_gpu[0]
    gpus = jobs["gpus"].to_numpy()
    assert (gpus[on_fleet] == np.maximum(1, np.ceil(submitted[on_fleet] * ratio - 1e-9))).all()
    slots = int(r.tiers.set_index("tier").loc["vehicles", "gpus"])
    assert (gpus[on_fleet] <= slots).all()
    assert (gpus[~on_fleet] == submitted[~on_fleet]).all()
    assert twin.dispatcher.sent == int(on_fleet.sum())
