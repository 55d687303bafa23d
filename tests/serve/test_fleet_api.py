"""The fleet coordinator's API on SQLite and PostgreSQL: roles, bad input, quorum, leases,
reputation, adaptive replication, owner limits, deadlines and the books."""

from __future__ import annotations

from typing import Any

import pytest
from tests.serve.fleet_helpers import (
    PARAMS,
    STATE,
    WRONG,
    Clock,
    batch,
    bearer,
    car,
    lease,
    owner,
    report,
    truth,
    use_clock,
)

from megapod.fleet.rules import revenue_micro_usd


def units_of(api: Any, batch_id: int) -> list[dict[str, Any]]:
    r = api.client.get(f"/api/v1/fleet/batches/{batch_id}/units", headers=api.viewer)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def balances(api: Any) -> dict[str, int]:
    r = api.client.get("/api/v1/fleet/ledger/balances", headers=api.viewer).json()
    assert r["total_micro_usd"] == 0 == sum(r["accounts_micro_usd"].values())
    out: dict[str, int] = r["accounts_micro_usd"]
    return out


def test_roles_and_tokens(api: Any) -> None:
    use_clock(api, Clock())
    c = api.client
    oid, oh = owner(api, "ann")
    oid2, oh2 = owner(api, "bob")
    vid, vh = car(api, oh, "car-a")
    _, vh2 = car(api, oh2, "car-b")
    # a vehicle token is not a staff token: it may not create batches (and nothing is written)
    assert (
        c.post("/api/v1/fleet/batches", json={"idempotency_key": "x", "units": 1}, headers=vh).status_code
        == 401
    )
    assert c.get("/api/v1/fleet/batches", headers=api.viewer).json()["items"] == []
    # staff and owner tokens may not lease; a viewer may not create owners; owners not other owners
    for h in (api.operator, oh):
        assert c.post("/api/v1/fleet/work", json={"state": dict(STATE)}, headers=h).status_code == 403
    assert c.post("/api/v1/fleet/owners", json={"name": "eve"}, headers=api.viewer).status_code == 403
    assert c.post("/api/v1/fleet/owners", json={"name": "eve"}, headers=oh).status_code == 401
    assert c.post("/api/v1/fleet/vehicles", json={"name": "x"}, headers=api.operator).status_code == 403
    assert c.get(f"/api/v1/fleet/owners/{oid2}/statement?month=2026-12", headers=oh).status_code == 403
    assert c.get(f"/api/v1/fleet/owners/{oid}/statement?month=2026-12", headers=oh).status_code == 200
    assert c.get("/api/v1/fleet/vehicle", headers=bearer("mpv_" + "x" * 40)).status_code == 401
    assert c.get("/api/v1/fleet/vehicle", headers=api.viewer).status_code == 403
    # an owner sees its own cars only
    mine = c.get("/api/v1/fleet/vehicles", headers=oh).json()["items"]
    assert [v["id"] for v in mine] == [vid]
    # a car may not report another car's lease: 404, and the lease stays its owner's
    batch(api, units=1)
    item = lease(api, vh)["items"][0]
    r = c.post("/api/v1/fleet/results", json={"replica_id": item["replica_id"], "result": WRONG}, headers=vh2)
    assert r.status_code == 404
    assert units_of(api, item["batch_id"])[0]["replicas"][0]["state"] == "leased"
    assert report(api, vh, item["replica_id"], truth(item)) == "recorded"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/batches", {"idempotency_key": "k", "units": 1, "validation": {"quorum": 3}}, "validation"),
        ("/batches", {"idempotency_key": "k", "units": 1, "kernel": "nope"}, "kernel"),
        ("/batches", {"idempotency_key": "k", "units": 1, "params": {"batch": 0}}, "params: batch"),
        ("/batches", {"idempotency_key": "k", "units": 1, "params": {"depth": 3}}, "params: depth"),
        ("/batches", {"idempotency_key": "k", "units": 0}, "units"),
        ("/batches", {"idempotency_key": "k", "units": 100_001}, "units"),
        ("/batches", {"idempotency_key": "k", "units": 1, "scheme": "pay-me"}, "scheme"),
        ("/batches", {"idempotency_key": "k", "units": 1, "deadline_s": 60}, "deadline_s"),
        ("/owners", {"name": "x", "limits": {"min_soc": 0.99, "soc_hysteresis": 0.1}}, "limits"),
    ],
)
def test_bad_batches_and_owners_are_4xx_naming_the_field(
    api: Any, path: str, body: dict[str, Any], field: str
) -> None:
    r = api.client.post(f"/api/v1/fleet{path}", json=body, headers=api.operator)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["detail"].startswith(field), r.text
    assert api.client.get("/api/v1/fleet/batches", headers=api.viewer).json()["items"] == []


def test_bad_car_input_is_4xx_naming_the_field(api: Any) -> None:
    use_clock(api, Clock())
    c = api.client
    oid, oh = owner(api, "ann")
    r = c.post("/api/v1/fleet/vehicles", json={"name": "x", "module": "model-t"}, headers=oh)
    assert r.status_code == 422 and r.json()["detail"].startswith("module"), r.text
    _, vh = car(api, oh, "car")
    r = c.post("/api/v1/fleet/work", json={"state": {**STATE, "soc": 1.5}}, headers=vh)
    assert r.status_code == 422 and "state.soc" in r.json()["detail"], r.text
    r = c.post("/api/v1/fleet/results", json={"replica_id": 1, "result": "not-hex"}, headers=vh)
    assert r.status_code == 422 and r.json()["detail"].startswith("result"), r.text
    r = c.get(f"/api/v1/fleet/owners/{oid}/statement?month=2026-13", headers=oh)
    assert r.status_code == 422 and "month" in r.json()["detail"], r.text


def test_every_wrong_result_of_a_batched_report_is_counted(api: Any) -> None:
    use_clock(api, Clock())
    _, oh = owner(api, "ann")
    _, liar_oh = owner(api, "mallory")
    a_id, a = car(api, oh, "a")
    l_id, liar = car(api, liar_oh, "liar")
    batch_id = batch(api, units=2, validation={"replicas": 2, "quorum": 2, "max_replicas": 4})["id"]
    mine = lease(api, a, n=2)["items"]
    theirs = lease(api, liar, n=2)["items"]
    assert len(mine) == len(theirs) == 2
    for item in mine:
        assert report(api, a, item["replica_id"], truth(item)) == "recorded"
    body = {"items": [{"replica_id": i["replica_id"], "result": WRONG} for i in theirs]}
    r = api.client.post("/api/v1/fleet/results/batch", json=body, headers=liar)
    assert r.status_code == 200, r.text
    _, b = car(api, oh, "b")
    third = lease(api, b, n=2)["items"]  # a third replica each: both units are judged at once
    body = {"items": [{"replica_id": i["replica_id"], "result": truth(i)} for i in third]}
    r = api.client.post("/api/v1/fleet/results/batch", json=body, headers=b)
    assert r.status_code == 200, r.text
    assert [u["state"] for u in units_of(api, batch_id)] == ["accepted", "accepted"]
    cars = {v["id"]: v for v in api.client.get("/api/v1/fleet/vehicles", headers=api.viewer).json()["items"]}
    assert (cars[l_id]["reputation"], cars[l_id]["results_wrong"]) == (0, 2)
    assert cars[a_id]["results_valid"] == 2


def test_a_wrong_minority_never_wins_and_resets_reputation(api: Any) -> None:
    use_clock(api, Clock())
    _, oh = owner(api, "ann")
    _, liar_oh = owner(api, "mallory")
    a_id, a = car(api, oh, "a")
    b_id, b = car(api, oh, "b")
    l_id, liar = car(api, liar_oh, "liar")
    bt = batch(api, units=1, validation={"replicas": 2, "quorum": 2, "max_replicas": 4})
    item_l = lease(api, liar)["items"][0]
    item_a = lease(api, a)["items"][0]
    assert item_l["unit_id"] == item_a["unit_id"]
    assert lease(api, b)["items"] == []  # two replicas out, none wanted yet
    assert report(api, liar, item_l["replica_id"], WRONG) == "recorded"
    assert report(api, a, item_a["replica_id"], truth(item_a)) == "recorded"
    unit = units_of(api, bt["id"])[0]
    assert unit["state"] == "open"  # 1 against 1: no quorum, a third replica is wanted
    item_b = lease(api, b)["items"][0]
    assert item_b["unit_id"] == item_a["unit_id"]
    assert report(api, b, item_b["replica_id"], truth(item_b)) == "recorded"
    unit = units_of(api, bt["id"])[0]
    assert unit["state"] == "accepted" and unit["result"] == truth(item_a)
    valid = {r["vehicle_id"]: r["valid"] for r in unit["replicas"]}
    assert valid == {l_id: False, a_id: True, b_id: True}
    cars = {v["id"]: v for v in api.client.get("/api/v1/fleet/vehicles", headers=api.viewer).json()["items"]}
    assert (cars[l_id]["reputation"], cars[l_id]["results_wrong"]) == (0, 1)
    assert (cars[a_id]["reputation"], cars[b_id]["reputation"]) == (1, 1)
    # the batch closed and settled: revenue share to the two honest cars' owner only
    acc = balances(api)
    revenue = revenue_micro_usd(bt["tokens_per_unit"], bt["economics"]["price_usd_per_mtok"])
    assert acc["customer"] == -revenue
    assert acc.get("owner:2", 0) == 0


def test_a_lease_that_runs_out_is_lost_and_reissued(api: Any) -> None:
    clock = Clock()
    use_clock(api, clock)
    _, oh = owner(api, "ann")
    _, a = car(api, oh, "a")
    _, b = car(api, oh, "b")
    _, c3 = car(api, oh, "c")
    bt = batch(api, units=1, validation={"replicas": 2, "quorum": 2, "timeout_s": 60})
    first = lease(api, a)["items"][0]
    second = lease(api, b)["items"][0]
    assert lease(api, c3)["items"] == []
    clock.advance(61)
    assert report(api, a, first["replica_id"], truth(first)) == "late"
    again = lease(api, c3)["items"]  # b's lease ran out too: c gets the unit
    assert [i["unit_id"] for i in again] == [first["unit_id"]]
    states = {r["id"]: r["state"] for r in units_of(api, bt["id"])[0]["replicas"]}
    assert states[first["replica_id"]] == states[second["replica_id"]] == "lost"
    assert lease(api, a)["items"] == []  # never a unit the car has run
    assert report(api, c3, again[0]["replica_id"], truth(again[0])) == "recorded"
    assert report(api, c3, again[0]["replica_id"], truth(again[0])) == "duplicate"


def test_pay_per_share_books_and_statements(api: Any) -> None:
    clock = Clock()
    use_clock(api, clock)
    oid_a, oh_a = owner(api, "ann")
    oid_b, oh_b = owner(api, "bob")
    _, a = car(api, oh_a, "a")
    _, b = car(api, oh_b, "b")
    pps = 900.0
    bt = batch(
        api,
        units=3,
        scheme="pay-per-share",
        economics={"price_usd_per_mtok": 1000.0, "pps_usd_per_mtok": pps},
    )
    for h in (a, b):
        for item in lease(api, h, n=3)["items"]:
            assert report(api, h, item["replica_id"], truth(item)) == "recorded"
    assert api.client.get(f"/api/v1/fleet/batches/{bt['id']}", headers=api.viewer).json()["state"] == "done"
    acc = balances(api)
    tokens = bt["tokens_per_unit"]
    per_owner = int(3 * tokens * pps)  # 3 valid shares each, pps USD per Mtok, in µUSD
    assert acc[f"owner:{oid_a}"] == acc[f"owner:{oid_b}"] == per_owner
    assert acc["customer"] == -3 * revenue_micro_usd(tokens, 1000.0)
    assert acc["operator"] == 3 * revenue_micro_usd(tokens, 1000.0) - 2 * per_owner
    # settling again books nothing: payouts are what the scheme says, once
    r = api.client.post("/api/v1/fleet/payouts", headers=api.operator)
    assert r.status_code == 200 and r.json()["booked_micro_usd"] == {}
    st = api.client.get(f"/api/v1/fleet/owners/{oid_a}/statement?month=2026-12", headers=oh_a).json()
    assert (st["opening_micro_usd"], st["closing_micro_usd"]) == (0, per_owner)
    assert [line["kind"] for line in st["lines"]] == ["payout"]
    before = api.client.get(f"/api/v1/fleet/owners/{oid_a}/statement?month=2026-11", headers=oh_a).json()
    after = api.client.get(f"/api/v1/fleet/owners/{oid_a}/statement?month=2027-01", headers=oh_a).json()
    assert before["closing_micro_usd"] == 0 and before["lines"] == []
    assert after["opening_micro_usd"] == after["closing_micro_usd"] == per_owner


def test_adaptive_replication_lets_a_trusted_car_run_alone(api: Any) -> None:
    use_clock(api, Clock())
    _, oh = owner(api, "ann")
    a_id, a = car(api, oh, "a")
    _, b = car(api, oh, "b")
    validation = {"replication": "adaptive", "replicas": 2, "quorum": 2, "trust_after": 2, "spot_check": 0.0}
    bt = batch(api, units=3, validation=validation)
    for _ in range(2):  # two units by quorum: both cars earn 2 consecutive valid results
        for h in (a, b):
            item = lease(api, h)["items"][0]
            assert report(api, h, item["replica_id"], truth(item)) == "recorded"
    item = lease(api, a)["items"][0]
    assert report(api, a, item["replica_id"], truth(item)) == "recorded"
    unit = next(u for u in units_of(api, bt["id"]) if u["id"] == item["unit_id"])
    assert unit["state"] == "accepted" and unit["quorum"] == 1 and len(unit["replicas"]) == 1
    car_a = next(
        v
        for v in api.client.get("/api/v1/fleet/vehicles", headers=api.viewer).json()["items"]
        if v["id"] == a_id
    )
    assert car_a["reputation"] == 3


def test_owner_limits_and_runtime_refuse_work(api: Any) -> None:
    use_clock(api, Clock())
    _, oh = owner(api, "ann", allowed_hours=[0, 1, 2, 3], min_soc=0.4)
    _, a = car(api, oh, "a")
    batch(api, units=1, validation={"timeout_s": 600})
    r = lease(api, a, hour=12)
    assert r["items"] == [] and r["reason"].startswith("hour 12")
    r = lease(api, a, hour=2, plugged_in=False)
    assert r["items"] == [] and "plugged" in r["reason"]
    r = lease(api, a, hour=2, soc=0.3, latch=False)
    assert r["items"] == [] and "state of charge" in r["reason"]
    r = lease(api, a, hour=2, tokens_per_s=0.001)  # 8 tokens at 0.001/s: longer than the lease
    assert r["items"] == [] and "finish" in r["reason"]
    assert len(lease(api, a, hour=2)["items"]) == 1


def test_a_deadline_fails_the_open_units_and_closes_the_batch(api: Any) -> None:
    clock = Clock()
    use_clock(api, clock)
    _, oh = owner(api, "ann")
    _, a = car(api, oh, "a")
    _, b = car(api, oh, "b")
    bt = batch(api, units=2, deadline_s=3600, validation={"timeout_s": 3600})
    one = lease(api, a)["items"][0]
    two = lease(api, b)["items"][0]
    assert report(api, a, one["replica_id"], truth(one)) == "recorded"
    assert report(api, b, two["replica_id"], truth(two)) == "recorded"
    clock.advance(1000)
    more = lease(api, a)["items"]  # its lease would run to t = 4,600 s, past the deadline
    clock.advance(2601)
    assert lease(api, b)["items"] == []
    got = api.client.get(f"/api/v1/fleet/batches/{bt['id']}", headers=api.viewer).json()
    assert got["state"] == "expired" and got["failed"] + got["accepted"] == 2
    assert report(api, a, more[0]["replica_id"], truth(more[0])) == "cancelled"
    balances(api)


def test_batches_are_idempotent(api: Any) -> None:
    use_clock(api, Clock())
    body = {"idempotency_key": "same", "units": 2, "params": PARAMS}
    r1 = api.client.post("/api/v1/fleet/batches", json=body, headers=api.operator)
    r2 = api.client.post("/api/v1/fleet/batches", json=body, headers=api.operator)
    assert (r1.status_code, r2.status_code) == (201, 200) and r1.json()["id"] == r2.json()["id"]
    r3 = api.client.post("/api/v1/fleet/batches", json={**body, "units": 3}, headers=api.operator)
    assert r3.status_code == 409
    assert len(api.client.get("/api/v1/fleet/batches", headers=api.viewer).json()["items"]) == 1


def test_batch_reports_answer_each_item(api: Any) -> None:
    use_clock(api, Clock())
    _, oh = owner(api, "ann")
    _, a = car(api, oh, "a")
    batch(api, units=3, validation={"replicas": 1, "quorum": 1}, economics={"price_usd_per_mtok": 1000.0})
    items = lease(api, a, n=3)["items"]
    assert len(items) == 3
    body = {"items": [{"replica_id": i["replica_id"], "result": truth(i)} for i in items]}
    body["items"].append({"replica_id": 999_999, "result": WRONG})
    r = api.client.post("/api/v1/fleet/results/batch", json=body, headers=a)
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["items"]] == ["recorded"] * 3 + ["unknown"]
    assert balances(api)["customer"] == -3 * revenue_micro_usd(8, 1000.0) < 0


def test_the_coordinator_keeps_the_owners_monthly_data_cap(api: Any) -> None:
    from megapod.serve.fleet import datacap
    from megapod.serve.store.models import FleetBatch

    clock = Clock()
    co = use_clock(api, clock)
    bt = batch(api, units=6, validation={"replicas": 1, "quorum": 1}, deadline_s=40 * 86400)
    with co.db.session() as s:
        per_unit = datacap.unit_bytes(s.get_one(FleetBatch, bt["id"]))
    _, oh = owner(api, "ann", data_cap_bytes_per_month=2 * per_unit + 10)
    car_id, car_h = car(api, oh, "a")
    got = lease(api, car_h, n=6)["items"]
    assert len(got) == 2  # what the cap leaves room for, not the 6 asked
    for item in got:
        assert report(api, car_h, item["replica_id"], truth(item)) == "recorded"
    again = lease(api, car_h, n=6)
    assert again["items"] == [] and again["reason"].startswith("data cap:"), again
    cars = {v["id"]: v for v in api.client.get("/api/v1/fleet/vehicles", headers=api.viewer).json()["items"]}
    assert 0 < cars[car_id]["data_bytes"] <= 2 * per_unit + 10
    clock.advance(31 * 86400)  # a new month: the count starts again
    assert len(lease(api, car_h, n=1)["items"]) == 1
