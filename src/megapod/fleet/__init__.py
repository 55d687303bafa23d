"""The fleet tier: parked cars' onboard computers pooled into a rented, paid compute tier.

``simulate(fleet)`` runs a :class:`~megapod.spec.fleet.Fleet` to its horizon and returns a
:class:`~megapod.fleet.results.FleetResult`: effective throughput (never nameplate),
availability over the day, work units issued/accepted/wasted, data moved, and the money per
payout scheme. The engine never prints; all randomness comes from ``fleet.seed``.
"""

from __future__ import annotations

from megapod.fleet.engine import FleetRun
from megapod.fleet.payout import PAYOUT_SCHEMES, ShareLog
from megapod.fleet.results import FleetResult, SchemeResult, summarize
from megapod.fleet.work import UnitCost, check_work, unit_cost
from megapod.spec.fleet import Fleet


def simulate(fleet: Fleet, where: str = "fleet.") -> FleetResult:
    """Run ``fleet`` to its horizon and summarize it; work it cannot carry is refused with a
    :class:`~megapod.errors.SpecError` whose path starts with ``where`` (the fleet's place)."""
    run = FleetRun(fleet, check_work(fleet, where))
    run.run()
    return summarize(run)


__all__ = [
    "PAYOUT_SCHEMES",
    "FleetResult",
    "FleetRun",
    "SchemeResult",
    "ShareLog",
    "UnitCost",
    "check_work",
    "simulate",
    "summarize",
    "unit_cost",
]
