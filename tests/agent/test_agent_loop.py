"""The agent's loop against a real control plane (in-process, SQLite): it runs units for real,
honours the owner's hours and battery floor, resumes a checkpoint, and a liar is caught."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.serve.conftest import Api, sqlite_url, start_api  # noqa: F401  (fixtures)
from tests.serve.fleet_helpers import PARAMS, batch, car, owner, truth

from megapod.agent import Agent, AgentOptions, SimulatedBattery, checkpoint
from megapod.agent.battery import PowerState
from megapod.agent.loop import CORRUPT_ENV
from megapod.fleet.kernels import KERNELS


@pytest.fixture
def api(start_api: Callable[..., Api], sqlite_url: str) -> Api:  # noqa: F811
    """A control plane on SQLite."""
    return start_api(sqlite_url)


@pytest.fixture
def make_agent(api: Api) -> Iterator[Callable[..., Agent]]:
    """Agents whose HTTP calls go to the in-process app."""
    made: list[TestClient] = []

    def make(headers: dict[str, str], power: Any = None, **options: Any) -> Agent:
        client = TestClient(api.client.app, headers=headers)
        made.append(client)
        opts = AgentOptions(server="http://testserver", token=headers["Authorization"][7:], **options)
        return Agent(opts, power or SimulatedBattery(), client=client, sleep=lambda _s: None)

    yield make
    for c in made:
        c.close()


def units(api: Api, batch_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.client.get(
        f"/api/v1/fleet/batches/{batch_id}/units", headers=api.viewer
    ).json()["items"]
    return items


def test_the_agent_runs_units_for_real_and_reports_them(api: Api, make_agent: Callable[..., Agent]) -> None:
    _, oh = owner(api, "ann")
    _, vh = car(api, oh, "a")
    bt = batch(api, units=4, validation={"replicas": 1, "quorum": 1})
    agent = make_agent(vh, max_units=3, report_batch=2, idle_exit_s=0.0, hour=12)
    stats = agent.run()
    assert stats.units_run == 4 and stats.statuses == {"recorded": 4}
    assert agent.tokens_per_s is not None and agent.tokens_per_s > 0
    for u in units(api, bt["id"]):
        assert u["state"] == "accepted"
        assert u["result"] == truth({"kernel": "tiny-lm", "params": PARAMS, "seed": u["seed"]})


def test_the_agent_keeps_to_the_owners_hours(api: Api, make_agent: Callable[..., Agent]) -> None:
    _, oh = owner(api, "ann", allowed_hours=[1, 2, 3])
    _, vh = car(api, oh, "a")
    bt = batch(api, units=1, validation={"replicas": 1, "quorum": 1})
    stats = make_agent(vh, idle_exit_s=0.0, hour=12).run()
    assert stats.units_run == 0
    assert units(api, bt["id"])[0]["issued"] == 0
    assert make_agent(vh, idle_exit_s=0.0, hour=2).run().units_run == 1


class Draining:
    """An unplugged battery that loses ``step`` of charge at every read while computing."""

    def __init__(self, soc: float, step: float) -> None:
        self.soc, self.step = soc, step
        self.computing_socs: list[float] = []

    def read(self, computing: bool) -> PowerState:
        if computing:
            self.computing_socs.append(self.soc)
            self.soc -= self.step
        return PowerState(False, self.soc)

    def seconds_to(self, floor_soc: float) -> float:
        return 3600.0


def test_the_agent_stops_at_the_battery_floor(api: Api, make_agent: Callable[..., Agent]) -> None:
    _, oh = owner(api, "ann", allow_unplugged=True, min_soc=0.5, soc_hysteresis=0.05)
    _, vh = car(api, oh, "a")
    batch(
        api,
        units=1,
        params={**PARAMS, "new_tokens": 40},
        validation={"replicas": 1, "quorum": 1, "timeout_s": 2},
    )
    power = Draining(soc=0.6, step=0.02)
    stats = make_agent(vh, power, idle_exit_s=0.0, hour=12, checkpoint_steps=4).run()
    # it computed while its latch was on, then paused at the floor and gave the lease up
    assert stats.units_run == 0 and stats.paused_s > 0 and stats.given_up == 1
    assert min(power.computing_socs[:-1]) > 0.5
    assert len(power.computing_socs) < 40 // 4


def test_the_agent_resumes_a_checkpoint(api: Api, make_agent: Callable[..., Agent], tmp_path: Path) -> None:
    _, oh = owner(api, "ann")
    _, vh = car(api, oh, "a")
    bt = batch(api, units=1, validation={"replicas": 1, "quorum": 1})
    body = {"state": {"plugged_in": True, "soc": 0.8, "latch": True, "hour": 12}, "max_units": 1}
    lease = api.client.post("/api/v1/fleet/work", json=body, headers=vh).json()["items"][0]
    k = KERNELS["tiny-lm"]
    params = lease["params"]
    checkpoint.save(tmp_path, lease, k.advance(params, k.start(params, lease["seed"]), 2))  # then "crashed"
    stats = make_agent(vh, state_dir=tmp_path, idle_exit_s=0.0, hour=12).run()
    assert (stats.resumed, stats.units_run, stats.statuses) == (1, 1, {"recorded": 1})
    assert units(api, bt["id"])[0]["result"] == truth(lease)
    assert checkpoint.pending(tmp_path) == []


def test_a_lying_agent_is_caught(
    api: Api, make_agent: Callable[..., Agent], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, oh = owner(api, "ann")
    liar_id, liar_h = car(api, oh, "liar")
    _, honest_h = car(api, oh, "honest")
    bt = batch(api, units=1, validation={"replicas": 2, "quorum": 2})
    monkeypatch.setenv(CORRUPT_ENV, "1")
    liar = make_agent(liar_h, idle_exit_s=0.0, hour=12)
    monkeypatch.delenv(CORRUPT_ENV)
    assert liar.run().units_run == 1
    assert make_agent(honest_h, idle_exit_s=0.0, hour=12).run().units_run == 1
    unit = units(api, bt["id"])[0]
    assert unit["state"] == "open"  # one against one: no quorum
    lie = next(r for r in unit["replicas"] if r["vehicle_id"] == liar_id)
    assert lie["result"] != truth({"kernel": "tiny-lm", "params": PARAMS, "seed": unit["seed"]})


def test_the_agent_keeps_to_the_owners_data_cap(api: Api, make_agent: Callable[..., Agent]) -> None:
    _, oh = owner(api, "ann")
    _, vh = car(api, oh, "a")
    batch(api, key="measure", units=2, validation={"replicas": 1, "quorum": 1})
    free = make_agent(vh, max_units=1, idle_exit_s=0.0, hour=12)
    assert free.run().units_run == 2
    per_unit = free.data.unit_bytes  # what one unit moved both ways (lease and report) [B]
    assert per_unit > 0 and free.stats.data_bytes >= 2 * per_unit
    # an owner whose monthly cap holds three such units: the car takes three, then no more
    _, oh = owner(api, "bob", data_cap_bytes_per_month=3.5 * per_unit)
    _, vh = car(api, oh, "b")
    bt = batch(api, key="capped", units=6, validation={"replicas": 1, "quorum": 1})
    capped = make_agent(vh, max_units=2, idle_exit_s=0.0, hour=12)
    stats = capped.run()
    assert stats.units_run == 3 and stats.data_capped > 0
    assert stats.data_bytes <= 3.5 * per_unit
    assert sum(u["issued"] for u in units(api, bt["id"])) == 3


def test_a_car_over_its_cap_takes_no_unit_and_a_restart_keeps_the_count(
    api: Api, make_agent: Callable[..., Agent], tmp_path: Path
) -> None:
    _, oh = owner(api, "ann", data_cap_bytes_per_month=1)
    _, vh = car(api, oh, "a")
    bt = batch(api, units=3, validation={"replicas": 1, "quorum": 1})
    # the car cannot know a unit's size before its first one and asks; the coordinator, which
    # knows it, leases none; the car's own count then keeps it from asking again
    first = make_agent(vh, state_dir=tmp_path, max_units=3, idle_exit_s=0.0, hour=12).run()
    assert first.units_run == 0 and first.data_bytes > 1
    again = make_agent(vh, state_dir=tmp_path, max_units=3, idle_exit_s=0.0, hour=12).run()
    assert again.units_run == 0 and again.data_capped > 0 and again.data_bytes == first.data_bytes
    assert sum(u["issued"] for u in units(api, bt["id"])) == 0
