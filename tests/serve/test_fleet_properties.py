"""The coordinator under random histories of leases, results (some wrong), lost leases and
settlements: the books balance, a wrong minority never wins, no car runs a unit twice, no
unit goes past its replicas, and payouts are booked once."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.serve.fleet_helpers import PARAMS, Clock

from megapod.fleet.kernels import KERNELS, run_unit
from megapod.serve.auth import Principal
from megapod.serve.fleet import Coordinator, accounts, books
from megapod.serve.store import Database
from megapod.serve.store.models import FleetReplica, FleetUnit
from megapod.spec.fleet import FleetEconomics, FleetValidation, OwnerLimits

STAFF = Principal(token_id=1, name="op", role="operator")
STATE = {"plugged_in": True, "soc": 0.8, "latch": True, "hour": 12, "tokens_per_s": None}
CHECKED = KERNELS["tiny-lm"].check(PARAMS)
RUN = itertools.count()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One SQLite database for every example (each example runs its own batch and cars)."""
    database = Database(f"sqlite:///{Path(tmp_path_factory.mktemp('fleetprop')) / 'f.db'}")
    database.migrate()
    yield database
    database.dispose()


Action = tuple[str, int, int]
actions = st.lists(
    st.tuples(
        st.sampled_from(["run", "run", "run", "lease", "report", "wait"]),
        st.integers(0, 4),
        st.integers(1, 3),
    ),
    min_size=10,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=actions,
    cars=st.integers(2, 5),
    liars=st.integers(0, 2),
    quorum=st.integers(2, 3),
    scheme=st.sampled_from(["pay-per-share", "pplns", "revenue-share"]),
)
def test_random_histories_keep_the_invariants(
    db: Any, history: list[Action], cars: int, liars: int, quorum: int, scheme: str
) -> None:
    run = next(RUN)
    # each example a day after the last: the batches of earlier examples are past their deadline
    clock = Clock(datetime(2026, 12, 2, tzinfo=UTC) + timedelta(days=run))
    co = Coordinator(db, clock=clock, seed=1)
    liars = min(liars, cars - 1)
    fleet: list[tuple[accounts.VehiclePrincipal, bool]] = []
    with db.session() as s:
        for i in range(cars):
            row, _ = accounts.create_owner(s, f"o-{run}-{i}", OwnerLimits())
            who = accounts.OwnerPrincipal(row.id, row.name)
            v, _ = accounts.enrol(s, who, f"car-{i}", "tesla-ai4")
            fleet.append((accounts.VehiclePrincipal(v.id, row.id, v.name), i < liars))
    validation = FleetValidation(replicas=quorum, quorum=quorum, max_replicas=quorum + 2, timeout_s=100.0)
    body = {
        "idempotency_key": f"prop-{run}",
        "kernel": "tiny-lm",
        "params": PARAMS,
        "units": 3,
        "validation": validation.model_dump(),
        "economics": FleetEconomics(price_usd_per_mtok=1000.0, pps_usd_per_mtok=800.0).model_dump(),
        "scheme": scheme,
        "deadline_s": 10_000.0,
        "seed": len(history),
    }
    batch, _ = co.create_batch(STAFF, body)
    held: dict[int, list[dict[str, Any]]] = {i: [] for i in range(cars)}
    truth: dict[int, str] = {}
    for kind, who, n in history:
        idx = who % cars
        vehicle, lies = fleet[idx]
        if kind in ("lease", "run"):
            held[idx] += co.lease(vehicle, STATE, n, 3600.0)["items"]
        if kind in ("report", "run") and held[idx]:
            out = []
            for item in held[idx][:n]:
                right = truth.setdefault(item["unit_id"], run_unit("tiny-lm", CHECKED, item["seed"]))
                out.append((item["replica_id"], f"{idx:064x}" if lies else right))
            co.report(vehicle, out)
            held[idx] = held[idx][n:]
        if kind == "wait":
            clock.advance(30.0 * n)  # leases last 100 s
    co.settle_all(STAFF)
    with db.session() as s:
        bal = books.balances(s)
        assert bal["total_micro_usd"] == 0
        units = s.query(FleetUnit).filter(FleetUnit.batch_id == batch["id"]).all()
        for u in units:
            reps = s.query(FleetReplica).filter(FleetReplica.unit_id == u.id).all()
            assert len({r.vehicle_id for r in reps}) == len(reps)  # never the same car twice
            assert u.issued == len(reps) <= batch["validation"]["max_replicas"]
            assert u.in_flight == sum(r.state == "leased" for r in reps) >= 0
            if u.state == "accepted":
                # liars never agree (each has its own wrong digest) and are a minority of any
                # quorum >= 2: the accepted result is the kernel's
                assert u.result == run_unit("tiny-lm", CHECKED, u.seed)
                assert sum(r.valid is True for r in reps) >= u.quorum
        event(f"units accepted: {sum(u.state == 'accepted' for u in units)}")
        # settling again books nothing: payouts are booked once
        assert co.settle_all(STAFF)["booked_micro_usd"] == {}
