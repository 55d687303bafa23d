"""Leases and results in SQL: issue replicas, record results, judge units, expire leases.

These run inside the coordinator's lock and the caller's transaction, with set-based
statements (one ``UPDATE``/``INSERT`` for many rows) so that a car reporting hundreds of
results pays for a handful of round trips. The rules are the fleet engine's
(:mod:`megapod.fleet.rules`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import Row, Select, Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from megapod.fleet.rules import largest_group, next_reputation, replicas_wanted, revenue_micro_usd, runs_alone
from megapod.serve.fleet import books
from megapod.serve.store.models import FleetBatch, FleetPosting, FleetReplica, FleetUnit, FleetVehicle

UNITS = cast(Table, FleetUnit.__table__)
REPLICAS = cast(Table, FleetReplica.__table__)


def aware(at: datetime) -> datetime:
    """``at`` as a UTC-aware time (SQLite hands back naive ones)."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def issue(
    s: Session,
    rng: np.random.Generator,
    car: FleetVehicle,
    batches: dict[int, FleetBatch],
    now: datetime,
    max_units: int,
    max_runtime_s: float,
) -> list[dict[str, Any]]:
    """Lease ``car`` up to ``max_units`` units of ``batches`` that want a replica, that it has
    not run, and whose runtimes one after the other fit its limit, the lease and the deadline."""
    u = UNITS.c
    base = (
        select(u.id, u.batch_id, u.seed, u.quorum, u.target, u.issued, u.in_flight, u.agreeing)
        .where(
            u.batch_id.in_(list(batches)),
            u.state == "open",
            or_(u.issued < u.target, u.in_flight + u.agreeing < u.quorum),
        )
        .order_by(u.id)
    )
    chosen: list[dict[str, Any]] = []
    queued_s = 0.0  # the car runs its leases one after the other
    for row in _candidates(s, base, car.id, max_units):
        if len(chosen) >= max_units:
            break
        b = batches[row.batch_id]
        runtime_s = b.tokens_per_unit / car.tokens_per_s if car.tokens_per_s else 0.0
        left_s = (aware(b.deadline_at) - now).total_seconds()
        if chosen and queued_s + runtime_s > min(max_runtime_s, b.lease_s, left_s):
            break
        need = replicas_wanted(
            row.target, row.issued, row.quorum, row.agreeing, row.in_flight, b.max_replicas
        )
        if need <= 0:
            continue
        quorum, target = row.quorum, row.target
        first = b.replication == "adaptive" and row.issued == 0
        if first and runs_alone(car.reputation, b.trust_after, float(rng.random()), b.spot_check):
            quorum, target = 1, 1
        queued_s += runtime_s
        chosen.append(
            {
                "uid": row.id,
                "batch": b,
                "seed": row.seed,
                "quorum": quorum,
                "target": target,
                "issued": row.issued + 1,
                "in_flight": row.in_flight + 1,
                "expires_at": now + timedelta(seconds=b.lease_s),
            }
        )
    if not chosen:
        return []
    t = UNITS
    s.execute(
        update(t)
        .where(t.c.id == bindparam("uid"))
        .values(
            quorum=bindparam("b_quorum"),
            target=bindparam("b_target"),
            issued=bindparam("b_issued"),
            in_flight=bindparam("b_in_flight"),
        ),
        [
            {"uid": c["uid"], **{f"b_{k}": c[k] for k in ("quorum", "target", "issued", "in_flight")}}
            for c in chosen
        ],
    )
    rows = [
        {
            "unit_id": c["uid"],
            "vehicle_id": car.id,
            "state": "leased",
            "leased_at": now,
            "expires_at": c["expires_at"],
        }
        for c in chosen
    ]
    ids = s.execute(
        insert(FleetReplica).returning(FleetReplica.id, sort_by_parameter_order=True), rows
    ).scalars()
    for c, rid in zip(chosen, ids, strict=True):
        c["replica_id"] = rid
    return chosen


def _candidates(s: Session, base: Select[Any], vehicle_id: int, want: int) -> Iterator[Row[Any]]:
    """Units of ``base`` (in id order) that ``vehicle_id`` holds no replica of, a window at a
    time: the car's own units are filtered with one indexed look-up per window, which keeps
    the plan simple whatever the database's statistics say."""
    window = 4 * want + 64
    after = 0
    for _ in range(64):
        rows = list(s.execute(base.where(UNITS.c.id > after).limit(window)))
        if not rows:
            return
        ids = [r.id for r in rows]
        held = set(
            s.scalars(
                select(REPLICAS.c.unit_id).where(
                    REPLICAS.c.vehicle_id == vehicle_id, REPLICAS.c.unit_id.in_(ids)
                )
            )
        )
        yield from (r for r in rows if r.id not in held)
        if len(rows) < window:
            return
        after = ids[-1]


def record(
    s: Session, vehicle_id: int, items: Sequence[tuple[int, str]], now: datetime
) -> tuple[list[dict[str, Any]], list[int]]:
    """Record results (replica id, digest) of one car's leases; each answers a status (see
    :meth:`~megapod.serve.fleet.coordinator.Coordinator.report`). Returns the answers and the
    units that have a new result or a lost lease."""
    r = REPLICAS.c
    ids = sorted({rid for rid, _ in items})
    found = {
        row.id: row
        for row in s.execute(
            select(r.id, r.unit_id, r.vehicle_id, r.state, r.result, r.expires_at).where(r.id.in_(ids))
        )
    }
    out: list[dict[str, Any]] = []
    reported: list[dict[str, Any]] = []
    lost: list[int] = []
    touched: list[int] = []
    seen: set[int] = set()
    for rid, result in items:
        row = found.get(rid)
        if row is None or row.vehicle_id != vehicle_id:
            out.append({"replica_id": rid, "status": "unknown"})
            continue
        if rid in seen or row.state == "reported":
            prior = next((x["res"] for x in reported if x["rid"] == rid), row.result)
            status = "duplicate" if prior == result else "conflict"
        elif row.state in ("cancelled", "lost"):
            status = "cancelled" if row.state == "cancelled" else "late"
        elif aware(row.expires_at) < now:
            lost.append(rid)
            touched.append(row.unit_id)
            status = "late"
        else:
            reported.append({"rid": rid, "res": result})
            touched.append(row.unit_id)
            status = "recorded"
        seen.add(rid)
        out.append({"replica_id": rid, "unit_id": row.unit_id, "status": status})
    t = REPLICAS
    if reported:
        s.execute(
            update(t)
            .where(t.c.id == bindparam("rid"))
            .values(state="reported", result=bindparam("res"), reported_at=now),
            reported,
        )
    if lost:
        s.execute(update(t).where(t.c.id.in_(lost)).values(state="lost"))
    if touched:
        ut = UNITS
        s.execute(update(ut).where(ut.c.id.in_(touched)).values(in_flight=ut.c.in_flight - 1))
    return out, sorted(set(touched))


def judge(s: Session, unit_ids: Sequence[int], now: datetime) -> None:
    """Accept units whose largest group of identical results reaches their quorum, fail those
    out of replicas, book revenue and reputations, and close the batches that are done."""
    if not unit_ids:
        return
    u = UNITS.c
    units = list(
        s.execute(
            select(u.id, u.batch_id, u.quorum, u.issued, u.in_flight, u.agreeing).where(
                u.id.in_(list(unit_ids)), u.state == "open"
            )
        )
    )
    if not units:
        return
    r = REPLICAS.c
    results: dict[int, list[tuple[int, int, str | None]]] = defaultdict(list)
    q = (
        select(r.unit_id, r.id, r.vehicle_id, r.result)
        .where(r.unit_id.in_([x.id for x in units]), r.state == "reported")
        .order_by(r.id)
    )
    for unit_id, rid, vid, result in s.execute(q):
        results[unit_id].append((rid, vid, result))
    batches: dict[int, FleetBatch] = {}
    accepted: list[dict[str, Any]] = []
    failed: list[int] = []
    agreeing: list[dict[str, Any]] = []
    valid_ids: list[int] = []
    wrong_ids: list[int] = []
    valid_by_car: dict[int, int] = defaultdict(int)
    wrong_by_car: dict[int, int] = defaultdict(int)
    postings: list[dict[str, Any]] = []
    for unit in units:
        b = batches.get(unit.batch_id)
        if b is None:
            b = batches[unit.batch_id] = s.get_one(FleetBatch, unit.batch_id)
        got = results[unit.id]
        value, count = largest_group(res for _, _, res in got)
        if value is not None and count >= unit.quorum:
            accepted.append({"uid": unit.id, "res": value, "order": b.accepted, "agree": count})
            b.accepted += 1
            for rid, vid, res in got:
                if res == value:
                    valid_ids.append(rid)
                    valid_by_car[vid] += 1
                else:
                    wrong_ids.append(rid)
                    wrong_by_car[vid] += 1
            amount = revenue_micro_usd(b.tokens_per_unit, float(b.economics["price_usd_per_mtok"]))
            postings += books.entry_rows(
                books.CUSTOMER_ACCOUNT, books.OPERATOR_ACCOUNT, amount, "revenue", now, b.id, unit.id
            )
        elif unit.issued >= b.max_replicas and unit.in_flight <= 0:
            failed.append(unit.id)
            b.failed += 1
        elif count != unit.agreeing:
            agreeing.append({"uid": unit.id, "agree": count})
    t = UNITS
    if accepted:
        s.execute(
            update(t)
            .where(t.c.id == bindparam("uid"))
            .values(
                state="accepted",
                result=bindparam("res"),
                accepted_order=bindparam("order"),
                agreeing=bindparam("agree"),
                in_flight=0,
                closed_at=now,
            ),
            accepted,
        )
        rt = REPLICAS
        s.execute(
            update(rt)
            .where(rt.c.unit_id.in_([a["uid"] for a in accepted]), rt.c.state == "leased")
            .values(state="cancelled")
        )
    if failed:
        s.execute(update(t).where(t.c.id.in_(failed)).values(state="failed", closed_at=now))
    if agreeing:
        s.execute(update(t).where(t.c.id == bindparam("uid")).values(agreeing=bindparam("agree")), agreeing)
    rt = REPLICAS
    if valid_ids:
        s.execute(update(rt).where(rt.c.id.in_(valid_ids)).values(valid=True))
    if wrong_ids:
        s.execute(update(rt).where(rt.c.id.in_(wrong_ids)).values(valid=False))
    if postings:
        s.execute(insert(FleetPosting), postings)
    cars = sorted(set(valid_by_car) | set(wrong_by_car))
    if cars:
        for car in s.scalars(select(FleetVehicle).where(FleetVehicle.id.in_(cars))):
            n_valid = valid_by_car.get(car.id, 0)
            n_wrong = wrong_by_car.get(car.id, 0)
            car.reputation = int(next_reputation(car.reputation, n_valid, n_wrong > 0))
            car.results_valid += n_valid
            car.results_wrong += n_wrong
    for b in batches.values():
        close_if_done(s, b, now)


def close_if_done(s: Session, b: FleetBatch, now: datetime, state: str = "done") -> None:
    """Close a batch whose units are all accepted or failed, and settle its payouts."""
    if b.state == "open" and b.accepted + b.failed >= b.units:
        b.state = state
        s.flush()
        books.settle(s, b, now)


def sweep(s: Session, now: datetime) -> None:
    """Leases past their time are lost (their units want new replicas); batches past their
    deadline fail their open units, cancel their leases, and close."""
    r = REPLICAS
    expired = s.execute(select(r.c.id, r.c.unit_id).where(r.c.state == "leased", r.c.expires_at < now)).all()
    if expired:
        s.execute(update(r).where(r.c.id.in_([x.id for x in expired])).values(state="lost"))
        lost: dict[int, int] = defaultdict(int)
        for x in expired:
            lost[x.unit_id] += 1
        ut = UNITS
        s.execute(
            update(ut).where(ut.c.id == bindparam("uid")).values(in_flight=ut.c.in_flight - bindparam("n")),
            [{"uid": k, "n": v} for k, v in lost.items()],
        )
        judge(s, sorted(lost), now)
    late = s.scalars(select(FleetBatch).where(FleetBatch.state == "open", FleetBatch.deadline_at < now)).all()
    ut = UNITS
    for b in late:
        still_open = select(ut.c.id).where(ut.c.batch_id == b.id, ut.c.state == "open")
        open_ids = list(s.scalars(still_open))
        if open_ids:
            s.execute(
                update(r).where(r.c.state == "leased", r.c.unit_id.in_(open_ids)).values(state="cancelled")
            )
            s.execute(
                update(ut).where(ut.c.id.in_(open_ids)).values(state="failed", in_flight=0, closed_at=now)
            )
        b.failed += len(open_ids)
        close_if_done(s, b, now, state="expired")
