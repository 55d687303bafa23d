"""The fleet engine: same seed same run, quorum, re-issue, the owners' limits, the money."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from megapod.fleet import FleetRun, simulate, summarize
from megapod.fleet.payout import PAYOUT_SCHEMES, ShareLog
from megapod.spec.fleet import Fleet, FleetEconomics
from megapod.spec.loader import validate

SMALL: dict[str, Any] = {"vehicles": 400, "module": "tesla-ai4", "horizon_s": "2 d", "step_s": "15 min"}


def fleet(**fields: Any) -> Fleet:
    return validate(Fleet, {**SMALL, **fields}, "fleet")


@pytest.fixture(scope="module")
def base() -> Any:
    return simulate(fleet(seed=1))


def test_same_seed_same_result_byte_for_byte(base: Any) -> None:
    again = simulate(fleet(seed=1))
    assert json.dumps(again.to_dict()) == json.dumps(base.to_dict())
    other = simulate(fleet(seed=2))
    assert json.dumps(other.to_dict()) != json.dumps(base.to_dict())


def test_throughput_is_the_product_of_its_factors_and_below_nameplate(base: Any) -> None:
    t = base.throughput
    product = (
        base.vehicles
        * t["nameplate_ops"]
        / base.vehicles
        * t["availability"]
        * t["utilization"]
        * t["efficiency"]
    )
    assert t["effective_ops"] == pytest.approx(product, rel=1e-9)
    assert t["effective_ops"] < 0.1 * t["nameplate_ops"]
    low, high = t["effective_ops_band"]
    assert low < t["effective_ops"] < high
    assert 0.2 < t["availability"] < 0.5 and 0.5 < t["utilization"] <= 1.0


def test_no_unit_is_accepted_without_its_quorum(base: Any) -> None:
    sizes = np.diff(np.concatenate(([0], base.share_log.block_end)))
    assert (sizes >= base.block_quorum).all() and (base.block_quorum == 2).all()
    assert base.units["accepted_wrong"] == 0  # wrong results never agree


def test_departures_cost_replicas_not_correctness(base: Any) -> None:
    u = base.units
    assert u["lost_departure"] > 0
    assert u["replicas_issued"] >= 2 * u["accepted"]
    assert base.checks["min_issue_slack_s"] >= 0  # every replica fitted the expected stay and deadline


def test_every_scheme_balances_its_ledger(base: Any) -> None:
    assert {s.name for s in base.schemes} == {"pay-per-share", "pplns", "revenue-share"}
    for s in base.schemes:
        assert s.ledger_balanced
        assert s.owner_payouts_usd + s.operator_margin_usd == pytest.approx(s.revenue_usd)
    share = base.scheme("revenue-share")
    assert share.owner_payouts_usd == pytest.approx(0.7 * share.revenue_usd, rel=1e-6)


def test_adaptive_replication_saves_replicas_and_admits_some_risk() -> None:
    fixed = simulate(fleet(seed=4, validation={"faulty_share": 0.2, "faulty_error_rate": 0.5}))
    adaptive = simulate(
        fleet(
            seed=4,
            validation={
                "replication": "adaptive",
                "trust_after": 3,
                "faulty_share": 0.2,
                "faulty_error_rate": 0.5,
            },
        )
    )
    per_unit = lambda r: r.units["replicas_issued"] / r.units["accepted"]  # noqa: E731
    assert per_unit(adaptive) < 0.8 * per_unit(fixed)
    assert fixed.units["accepted_wrong"] == 0
    assert (adaptive.block_quorum == 1).any()


def test_battery_compute_never_goes_below_the_owners_minimum() -> None:
    r = simulate(fleet(seed=5, owner={"allow_unplugged": True, "min_soc": 0.6, "soc_hysteresis": 0.05}))
    assert r.energy_kwh["battery"] > 0
    assert r.checks["min_soc_while_computing"] >= 0.6


def test_allowed_hours_and_data_caps_are_honoured() -> None:
    night = simulate(fleet(seed=6, owner={"allowed_hours": [0, 1, 2, 3, 4, 5]}))
    assert all(a == 0 for h, a in enumerate(night.availability_by_hour) if h >= 6)
    capped = simulate(fleet(seed=6, owner={"data_cap_bytes_per_month": "100 MB"}))
    per_car = capped.data_bytes / capped.vehicles
    assert per_car <= 100e6
    assert capped.units["accepted"] < 0.5 * simulate(fleet(seed=6)).units["accepted"]


def test_notice_lets_running_replicas_finish() -> None:
    none = simulate(fleet(seed=8))
    warned = simulate(fleet(seed=8, owner={"departure_notice_s": "40 min", "notice_share": 1.0}))
    assert warned.units["lost_departure"] < 0.2 * none.units["lost_departure"]


def test_simulated_sample_scales_to_the_fleet() -> None:
    whole = simulate(fleet(seed=9, vehicles=2000))
    sample = simulate(fleet(seed=9, vehicles=2000, simulated_vehicles=500))
    assert sample.simulated == 500
    assert sample.throughput["effective_ops"] == pytest.approx(whole.throughput["effective_ops"], rel=0.1)


def test_arrivals_mode_runs_the_submitted_units() -> None:
    r = simulate(fleet(seed=3, work={"units_per_hour": 20}))
    assert r.units["submitted"] == pytest.approx(20 * 48, rel=0.2)
    assert r.units["accepted"] >= 0.9 * (r.units["submitted"] - 20 * 12)  # the last half-day may be open


def test_step_by_step_is_the_same_as_run() -> None:
    f = fleet(seed=11)
    a = FleetRun(f)
    a.run()
    b = FleetRun(f)
    while b.step_index < b.steps:
        b.step()
    assert json.dumps(summarize(a).to_dict()) == json.dumps(summarize(b).to_dict())


@pytest.mark.parametrize("name", sorted(PAYOUT_SCHEMES))
def test_payout_scheme_contract(name: str) -> None:
    """Every registered scheme: whole non-negative micro-dollars per car; nothing for no work."""
    econ = FleetEconomics()
    fn = PAYOUT_SCHEMES[name]
    empty = ShareLog(
        np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 3
    )
    assert (fn(empty, econ) == 0).all() and fn(empty, econ).shape == (3,)
    log = ShareLog(np.array([0, 1, 1, 2]), np.full(4, 1e6), np.array([2, 4]), np.array([70_000, 70_000]), 3)
    paid = fn(log, econ)
    assert paid.dtype == np.int64 and paid.shape == (3,) and (paid >= 0).all()
    assert paid[1] >= paid[0] and paid[1] >= paid[2]  # car 1 did half the shares
