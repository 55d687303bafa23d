"""What a fleet run produced: throughput, availability, units, data, and the money per scheme.

Effective throughput is never the nameplate: it is the accepted work, counted once, over the
horizon, and it factors exactly as ``N × peak × A × U × E`` with

* ``A`` availability: the mean share of cars that may compute (home, allowed hour, battery),
* ``U`` utilization: the share of that time they hold a running replica,
* ``E`` efficiency: accepted operations over busy car-seconds × peak (the achieved rate's share
  of peak times the share of computed work that was accepted once — replicas, losses and
  cancellations are the rest).

The band multiplies the achieved per-car rate by ``work.rate_band`` (a first-order model
uncertainty: a saturated fleet's throughput scales with the per-car rate).

Money per car: electricity ``wall_kWh × price`` (plugged: the computer and the awake car
through the charger at its efficiency; on battery: the energy taken, recharged later through
the charger), battery wear ``battery_kWh × wear`` (battery-fed compute only), data ``GB ×
data price`` (every byte, at the over-cap price: conservative). Monthly figures scale the run
to 30.4375 days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from megapod.catalog.vehicle import HOME_PLUGGED, STATES
from megapod.fleet.engine import FleetRun
from megapod.fleet.ledger import CUSTOMER, MICRO_USD, OPERATOR, OWNER0, Ledger
from megapod.fleet.payout import PAYOUT_SCHEMES, ShareLog
from megapod.fleet.rules import revenue_micro_usd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Days in the average month.
MONTH_DAYS = 30.4375


@dataclass(frozen=True)
class SchemeResult:
    """One payout scheme on the run (totals scaled to the whole fleet)."""

    name: str
    revenue_usd: float
    owner_payouts_usd: float
    operator_margin_usd: float
    payout_usd_per_mtok: float
    margin_usd_per_mtok: float
    owner_gross_usd_per_month: float
    owner_net_usd_per_month: dict[str, float]
    owners_losing_money: float
    ledger_balanced: bool
    payouts_micro_usd: IntArray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (the per-owner array left out)."""
        return {k: v for k, v in self.__dict__.items() if k != "payouts_micro_usd"}


@dataclass(frozen=True)
class FleetResult:
    """Everything a run of the fleet reports; :meth:`to_dict` for JSON."""

    vehicles: int
    simulated: int
    horizon_s: float
    unit: dict[str, Any]
    throughput: dict[str, Any]
    availability_by_hour: list[float]
    state_share_by_hour: dict[str, list[float]]
    units: dict[str, int]
    data_bytes: float
    energy_kwh: dict[str, float]
    owner_cost_usd_per_month: float
    cost_floor_usd_per_mtok: float
    price_usd_per_mtok: float
    schemes: list[SchemeResult]
    checks: dict[str, float]
    share_log: ShareLog = field(repr=False, compare=False)
    block_quorum: IntArray = field(repr=False, compare=False)

    def scheme(self, name: str) -> SchemeResult:
        """The result of payout scheme ``name``."""
        for s in self.schemes:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures, units in the key names."""
        out = {k: v for k, v in self.__dict__.items() if k not in ("schemes", "share_log", "block_quorum")}
        out["schemes"] = [s.to_dict() for s in self.schemes]
        return out


def _pct(values: FloatArray) -> dict[str, float]:
    if values.size == 0:
        return {"mean": 0.0, "p10": 0.0, "p50": 0.0, "p90": 0.0}
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {"mean": float(values.mean()), "p10": float(p10), "p50": float(p50), "p90": float(p90)}


def summarize(run: FleetRun) -> FleetResult:
    """Turn a finished :class:`FleetRun` into a :class:`FleetResult` (books the ledgers)."""
    fleet, cost = run.fleet, run.cost
    work, econ, home, car = fleet.work, fleet.economics, fleet.home, fleet.module
    n, scale = run.n, fleet.vehicles / run.n
    horizon = run.steps * fleet.step_s
    months = horizon / 86400.0 / MONTH_DAYS
    hosts, block_sizes, block_quorum = run.share_log()
    tokens = work.tokens_per_unit
    blocks = block_sizes.size
    revenue_unit = revenue_micro_usd(tokens, econ.price_usd_per_mtok)
    log = ShareLog(
        share_host=hosts,
        share_tokens=np.full(hosts.size, tokens),
        block_end=np.cumsum(block_sizes),
        block_revenue_micro_usd=np.full(blocks, revenue_unit, dtype=np.int64),
        hosts=n,
    )
    accepted_mtok = blocks * tokens / 1e6
    revenue = int(log.block_revenue_micro_usd.sum())
    # owner costs [USD per car]
    price = home.electricity_usd_per_kwh
    battery_kwh = run.battery_wh / 1000.0
    cost_usd = (
        run.wall_wh / 1000.0 * price
        + battery_kwh * (price / home.charger_efficiency + car.battery_wear_usd_per_kwh)
        + run.data_bytes / 1e9 * home.data_usd_per_gb
    )
    schemes: list[SchemeResult] = []
    for name in econ.schemes:
        payouts = PAYOUT_SCHEMES.lookup(name, "fleet.economics.schemes")(log, econ)
        ledger = Ledger(n)
        ledger.book(CUSTOMER, OPERATOR, log.block_revenue_micro_usd)
        ledger.book(OPERATOR, OWNER0 + np.arange(n), payouts)
        bal = ledger.balances()
        paid = int(payouts.sum())
        margin = int(bal[OPERATOR])
        net = (payouts / MICRO_USD - cost_usd) / months
        schemes.append(
            SchemeResult(
                name=name,
                revenue_usd=revenue / MICRO_USD * scale,
                owner_payouts_usd=paid / MICRO_USD * scale,
                operator_margin_usd=margin / MICRO_USD * scale,
                payout_usd_per_mtok=paid / MICRO_USD / accepted_mtok if accepted_mtok else 0.0,
                margin_usd_per_mtok=margin / MICRO_USD / accepted_mtok if accepted_mtok else 0.0,
                owner_gross_usd_per_month=float(payouts.mean() / MICRO_USD / months),
                owner_net_usd_per_month=_pct(net),
                owners_losing_money=float((net < 0).mean()),
                ledger_balanced=bool(bal.sum() == 0 and paid + margin == revenue),
                payouts_micro_usd=payouts,
            )
        )
    # throughput: N x peak x A x U x E
    useful_ops = blocks * tokens * work.flops_per_token
    nameplate = fleet.vehicles * cost.peak_ops
    car_s = n * horizon
    a = run.eligible_car_s / car_s
    busy = float(run.busy_s.sum())
    u = busy / run.eligible_car_s if run.eligible_car_s else 0.0
    e = useful_ops / (busy * cost.peak_ops) if busy else 0.0
    effective = useful_ops * scale / horizon
    low, high = work.rate_band
    steps = np.maximum(run.hour_steps, 1)
    c = run.counts
    return FleetResult(
        vehicles=fleet.vehicles,
        simulated=n,
        horizon_s=horizon,
        unit={
            "runtime_s": cost.runtime_s,
            "compute_s": cost.compute_s,
            "transfer_s": cost.transfer_s,
            "tokens_per_s_per_car": cost.tokens_per_s,
            "bound": cost.bound,
            "tokens": tokens,
        },
        throughput={
            "nameplate_ops": nameplate,
            "effective_ops": effective,
            "effective_ops_band": [effective * low, effective * high],
            "availability": a,
            "utilization": u,
            "efficiency": e,
            "tokens_per_s": blocks * tokens * scale / horizon,
            "dtype": work.dtype,
        },
        availability_by_hour=(run.hour_eligible / steps / n).tolist(),
        state_share_by_hour={s: (run.hour_states[:, i] / steps / n).tolist() for i, s in enumerate(STATES)},
        units={
            "submitted": int(run.pool.created * scale),
            "accepted": int(c["units_accepted"] * scale),
            "accepted_wrong": int(c["units_accepted_wrong"] * scale),
            "failed": int(c["units_failed"] * scale),
            "replicas_issued": int(c["replicas_issued"] * scale),
            "results_valid": int(hosts.size * scale),
            "results_wrong": int(c["results_wrong"] * scale),
            "lost_departure": int(c["lost_departure"] * scale),
            "lost_timeout": int(c["lost_timeout"] * scale),
            "cancelled": int(c["cancelled"] * scale),
            "wasted_car_h": int(run.wasted_s * scale / 3600.0),
        },
        data_bytes=float(run.data_bytes.sum() * scale),
        energy_kwh={
            "wall": float(run.wall_wh.sum() / 1000.0 * scale),
            "battery": float(battery_kwh.sum() * scale),
        },
        owner_cost_usd_per_month=float(cost_usd.mean() / months),
        cost_floor_usd_per_mtok=float(cost_usd.sum() / accepted_mtok) if accepted_mtok else 0.0,
        price_usd_per_mtok=econ.price_usd_per_mtok,
        schemes=schemes,
        checks={
            "min_soc_while_computing": run.min_soc_computing,
            "min_issue_slack_s": run.min_issue_slack_s,
            "plugged_share_mean": float(run.hour_states[:, HOME_PLUGGED].sum() / steps.sum() / n),
        },
        share_log=log,
        block_quorum=block_quorum,
    )
