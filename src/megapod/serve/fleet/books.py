"""The fleet's books in the database: double-entry postings in whole micro-dollars.

Every entry is two postings that sum to zero: ``customer → operator`` the revenue of each
accepted unit, ``operator → owner:ID`` each payout. Balances are the sums per account, and all
of them together are zero. Payouts are what the batch's payout scheme (the registry
``payout scheme`` of :mod:`megapod.fleet.payout`, the same functions the simulator uses) says
the batch's validated shares earned; a settlement books only what the scheme's cumulative
amounts exceed the payouts already booked (:func:`megapod.fleet.rules.still_owed`).
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from megapod.errors import SpecError
from megapod.fleet.ledger import MICRO_USD, OPERATOR, OWNER0, Ledger
from megapod.fleet.payout import PAYOUT_SCHEMES, ShareLog
from megapod.fleet.rules import revenue_micro_usd, still_owed
from megapod.serve.fleet.accounts import owner_account
from megapod.serve.services.jobs import NotFound
from megapod.serve.store.models import (
    FleetBatch,
    FleetOwner,
    FleetPosting,
    FleetReplica,
    FleetUnit,
    FleetVehicle,
)
from megapod.spec.fleet import FleetEconomics

CUSTOMER_ACCOUNT, OPERATOR_ACCOUNT = "customer", "operator"


def entry_rows(
    debit: str, credit: str, amount: int, kind: str, at: datetime, batch_id: int, unit_id: int | None
) -> list[dict[str, Any]]:
    """The two postings of one entry: ``amount`` [µUSD, ≥ 0] from ``debit`` to ``credit``
    (none for a zero amount)."""
    if amount < 0:
        raise ValueError("a booking amount is negative; book it the other way round")
    if amount == 0:
        return []
    common = {"entry": secrets.randbits(62), "at": at, "kind": kind, "batch_id": batch_id, "unit_id": unit_id}
    return [
        {"account": debit, "amount_micro_usd": -amount, **common},
        {"account": credit, "amount_micro_usd": amount, **common},
    ]


def book(
    s: Session,
    debit: str,
    credit: str,
    amount: int,
    kind: str,
    at: datetime,
    batch_id: int,
    unit_id: int | None,
) -> None:
    """One entry: ``amount`` [µUSD, ≥ 0] from ``debit`` to ``credit``, as two postings."""
    for row in entry_rows(debit, credit, amount, kind, at, batch_id, unit_id):
        s.add(FleetPosting(**row))


def settle(s: Session, batch: FleetBatch, at: datetime) -> dict[str, int]:
    """Book the payouts the batch's scheme owes its owners beyond what was paid; returns the
    amounts booked now by account [µUSD]."""
    rows = s.execute(
        select(FleetUnit.id, FleetUnit.accepted_order, FleetVehicle.owner_id)
        .join(FleetReplica, FleetReplica.unit_id == FleetUnit.id)
        .join(FleetVehicle, FleetVehicle.id == FleetReplica.vehicle_id)
        .where(FleetUnit.batch_id == batch.id, FleetUnit.state == "accepted", FleetReplica.valid.is_(True))
        .order_by(FleetUnit.accepted_order, FleetReplica.id)
    ).all()
    if not rows:
        return {}
    owners = sorted({r.owner_id for r in rows})
    index = {o: i for i, o in enumerate(owners)}
    share_host = np.array([index[r.owner_id] for r in rows], dtype=np.int64)
    order = np.array([r.accepted_order for r in rows], dtype=np.int64)
    block_end = np.flatnonzero(np.diff(np.append(order, -1)) != 0).astype(np.int64) + 1
    revenue = revenue_micro_usd(batch.tokens_per_unit, float(batch.economics["price_usd_per_mtok"]))
    log = ShareLog(
        share_host=share_host,
        share_tokens=np.full(share_host.size, float(batch.tokens_per_unit)),
        block_end=block_end,
        block_revenue_micro_usd=np.full(block_end.size, revenue, dtype=np.int64),
        hosts=len(owners),
    )
    econ = FleetEconomics.model_validate(batch.economics)
    cumulative = PAYOUT_SCHEMES.lookup(batch.scheme, "scheme")(log, econ)
    paid_rows = s.execute(
        select(FleetPosting.account, func.sum(FleetPosting.amount_micro_usd))
        .where(
            FleetPosting.batch_id == batch.id,
            FleetPosting.kind == "payout",
            FleetPosting.amount_micro_usd > 0,
        )
        .group_by(FleetPosting.account)
    ).all()
    paid_by = {acc: int(total) for acc, total in paid_rows}
    paid = np.array([paid_by.get(owner_account(o), 0) for o in owners], dtype=np.int64)
    owed = still_owed(cumulative, paid)
    ledger = Ledger(len(owners))
    ledger.book(OPERATOR, OWNER0 + np.arange(len(owners), dtype=np.int64), owed)
    _, credit, amount = ledger.entries()
    booked: dict[str, int] = {}
    for acc, value in zip(credit, amount, strict=True):
        account = owner_account(owners[int(acc) - OWNER0])
        book(s, OPERATOR_ACCOUNT, account, int(value), "payout", at, batch.id, None)
        if value:
            booked[account] = int(value)
    return booked


def balances(s: Session) -> dict[str, Any]:
    """Every account's balance [µUSD] and their sum (always 0)."""
    rows = s.execute(
        select(FleetPosting.account, func.sum(FleetPosting.amount_micro_usd)).group_by(FleetPosting.account)
    ).all()
    accounts = {acc: int(total) for acc, total in sorted(rows)}
    accounts.setdefault(CUSTOMER_ACCOUNT, 0)
    accounts.setdefault(OPERATOR_ACCOUNT, 0)
    return {
        "accounts_micro_usd": accounts,
        "total_micro_usd": sum(accounts.values()),
        "micro_usd_per_usd": MICRO_USD,
        "postings": int(s.scalar(select(func.count()).select_from(FleetPosting)) or 0),
    }


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of ``month`` (``YYYY-MM``, UTC) and of the month after it."""
    try:
        year, mon = (int(x) for x in month.split("-"))
        start = datetime(year, mon, 1, tzinfo=UTC)
    except ValueError:
        raise SpecError("month", f"{month!r}: expected YYYY-MM, e.g. 2026-12") from None
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
    return start, end


def statement(s: Session, owner_id: int, month: str) -> dict[str, Any]:
    """An owner's month: opening balance, each payout, closing balance [µUSD], per batch too."""
    owner = s.get(FleetOwner, owner_id)
    if owner is None:
        raise NotFound(f"owner_id: no owner {owner_id}")
    start, end = month_bounds(month)
    account = owner_account(owner_id)
    opening = s.scalar(
        select(func.coalesce(func.sum(FleetPosting.amount_micro_usd), 0)).where(
            FleetPosting.account == account, FleetPosting.at < start
        )
    )
    lines = s.scalars(
        select(FleetPosting)
        .where(FleetPosting.account == account, FleetPosting.at >= start, FleetPosting.at < end)
        .order_by(FleetPosting.id)
    ).all()
    per_batch: dict[int, int] = defaultdict(int)
    for p in lines:
        per_batch[p.batch_id or 0] += p.amount_micro_usd
    credits = sum(p.amount_micro_usd for p in lines if p.amount_micro_usd > 0)
    debits = -sum(p.amount_micro_usd for p in lines if p.amount_micro_usd < 0)
    return {
        "owner_id": owner_id,
        "owner": owner.name,
        "month": f"{start:%Y-%m}",
        "opening_micro_usd": int(opening or 0),
        "credits_micro_usd": credits,
        "debits_micro_usd": debits,
        "closing_micro_usd": int(opening or 0) + credits - debits,
        "by_batch_micro_usd": {str(k): v for k, v in sorted(per_batch.items())},
        "lines": [
            {
                "at": p.at.replace(tzinfo=p.at.tzinfo or UTC).isoformat().replace("+00:00", "Z"),
                "kind": p.kind,
                "batch_id": p.batch_id,
                "amount_micro_usd": p.amount_micro_usd,
            }
            for p in lines
        ],
    }
