"""Dispatch: which compute tier a job that may run on a vehicle fleet goes to.

A site with a fleet (``site.fleet``) has two tiers in the twin: its pods and the fleet's cars
(:mod:`megapod.fleet.tier`). Jobs of kind ``batch-inference`` may run on either; every other
job stays on the pods. When such a job arrives, the dispatch policy (``policies.dispatch``,
registry ``dispatch policy``) chooses its tier; the job then waits in that tier's queue like
any other (a job rolled back by a departing car waits on the fleet again).

A job is sized in pod GPUs. On the fleet the same work, done in the same time, takes

    cars = ceil( gpus · r_gpu · k / r_car )

car slots, where ``r_gpu`` and ``r_car`` are the decode rates of the fleet's work (its model,
data type, batch and kernel efficiency) on the pod's GPU and on the car
(:func:`megapod.physics.decode.decode_rate`), and ``k`` the replicas an accepted unit takes
at least (:attr:`megapod.spec.fleet.FleetValidation.replicas_per_unit`).

Policies (objects that own their choice; register a class in :data:`DISPATCH_POLICIES`):

* ``pods-only`` — every job on the pods (the fleet stays idle);
* ``fleet-first`` — an eligible job goes to the fleet when it fits there now, else the pods;
* ``cheapest`` — the tier whose cost of a million tokens of the work is lower when the job
  fits there now, else the other tier if it fits there now, else the cheaper tier's queue.
  The fleet's cost is its price (``fleet.economics.price_usd_per_mtok``), the pods' is
  ``scenario.fleet.pod_usd_per_gpu_h / (3600 s · r_gpu) · 10^6``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Protocol

from megapod.catalog.gpu import GpuEntry
from megapod.physics.decode import work_rate
from megapod.registry import Registry
from megapod.sim.twin.cluster import Cluster
from megapod.sim.twin.ledger import JobLedger
from megapod.spec.fleet import Fleet
from megapod.units import HOUR_S, MEGA


def gpu_decode_tokens_per_s(fleet: Fleet, gpu: GpuEntry) -> float:
    """Decode rate of the fleet's work on one pod GPU [token/s] (same model, batch, efficiency)."""
    return work_rate(fleet.work, gpu.peak(fleet.work.dtype), gpu.hbm_bw_bytes_per_s).tokens_per_s


def car_decode_tokens_per_s(fleet: Fleet) -> float:
    """Decode rate of the fleet's work on one car [token/s]."""
    car = fleet.module
    peak = car.int8_ops if fleet.work.dtype == "int8" else car.fp16_flops
    return work_rate(fleet.work, peak, car.memory_bw_bytes_per_s).tokens_per_s


def cars_per_gpu(fleet: Fleet, gpu: GpuEntry) -> float:
    """Car slots that do one pod GPU's work of the fleet's kind in the same time, replicas
    included: ``r_gpu · k / r_car`` (module docstring) [cars/GPU]."""
    return (
        gpu_decode_tokens_per_s(fleet, gpu)
        * fleet.validation.replicas_per_unit
        / car_decode_tokens_per_s(fleet)
    )


def pod_usd_per_mtok(usd_per_gpu_h: float, gpu_tokens_per_s: float) -> float:
    """The pods' cost of a million tokens of the work at ``usd_per_gpu_h`` [USD/Mtok]."""
    return usd_per_gpu_h / (HOUR_S * gpu_tokens_per_s) * MEGA


class DispatchView(Protocol):
    """What a dispatch policy may read about an arriving job and the two tiers."""

    pods_usd_per_mtok: float
    fleet_usd_per_mtok: float

    def fits_pods(self, j: int) -> bool:
        """Whether job ``j`` fits its pods partition now."""
        ...

    def fits_fleet(self, j: int) -> bool:
        """Whether job ``j``'s car slots fit the fleet now."""
        ...


class DispatchPolicy(Protocol):
    """Chooses the tier of a job that may run on the fleet."""

    name: ClassVar[str]

    def to_fleet(self, j: int, view: DispatchView) -> bool:
        """True to send job ``j`` to the fleet, False to keep it on the pods."""
        ...


class PodsOnly:
    """``pods-only``: the fleet gets nothing."""

    name: ClassVar[str] = "pods-only"

    def to_fleet(self, j: int, view: DispatchView) -> bool:
        """Never."""
        return False


class FleetFirst:
    """``fleet-first``: the fleet when the job fits there now, else the pods."""

    name: ClassVar[str] = "fleet-first"

    def to_fleet(self, j: int, view: DispatchView) -> bool:
        """When the fleet has room now."""
        return view.fits_fleet(j)


class Cheapest:
    """``cheapest``: the cheaper tier per million tokens if it has room now, else the other if
    it has room now, else the cheaper tier's queue."""

    name: ClassVar[str] = "cheapest"

    def to_fleet(self, j: int, view: DispatchView) -> bool:
        """Cheaper first, then whoever has room."""
        fleet_cheaper = view.fleet_usd_per_mtok < view.pods_usd_per_mtok
        first, other = (
            (view.fits_fleet, view.fits_pods) if fleet_cheaper else (view.fits_pods, view.fits_fleet)
        )
        if first(j):
            return fleet_cheaper
        if other(j):
            return not fleet_cheaper
        return fleet_cheaper


DISPATCH_POLICIES: Registry[type[DispatchPolicy]] = Registry("dispatch policy")
for _cls in (PodsOnly, FleetFirst, Cheapest):
    DISPATCH_POLICIES.register(_cls.name, _cls)


@dataclass
class Dispatcher:
    """Sends each arriving fleet-eligible job to the tier its policy picks (a
    :class:`DispatchView`), then queues it there.

    Args:
        policy: the run's dispatch policy.
        ledger: the jobs (partition and GPUs of a job sent to the fleet are rewritten).
        cluster: every node of every tier.
        eligible: whether each job of the table may run on the fleet.
        fleet_part: the fleet's partition.
        cars_per_gpu: car slots per pod GPU of each pods partition.
        pods_usd_per_mtok: the pods' cost of a million tokens (inf when unknown).
        fleet_usd_per_mtok: the fleet's price of a million tokens.
    """

    policy: DispatchPolicy
    ledger: JobLedger
    cluster: Cluster
    eligible: list[bool]
    fleet_part: int
    cars_per_gpu: list[float]
    pods_usd_per_mtok: float
    fleet_usd_per_mtok: float
    #: Jobs sent to the fleet so far.
    sent: int = 0

    def cars(self, j: int) -> int:
        """Car slots of job ``j`` on the fleet (its GPUs on its pods partition converted)."""
        led = self.ledger
        return max(1, math.ceil(led.gpus[j] * self.cars_per_gpu[led.part[j]] - 1e-9))

    def fits_pods(self, j: int) -> bool:
        """Whether job ``j`` fits its pods partition now."""
        return self.cluster.can_fit(self.ledger.part[j], self.ledger.gpus[j])

    def fits_fleet(self, j: int) -> bool:
        """Whether job ``j``'s car slots fit the fleet now."""
        return self.cluster.can_fit(self.fleet_part, self.cars(j))

    def wrap(self, enqueue: Callable[[int], None]) -> Callable[[int], None]:
        """The scheduler's ``enqueue`` with the tier chosen first (for arrivals only: a job
        stopped later is requeued where it runs)."""
        led = self.ledger
        eligible = self.eligible
        n = len(eligible)
        pt = self.cluster.partitions[self.fleet_part]
        slots = pt.size_gpus

        def dispatch_then_enqueue(j: int) -> None:
            if (
                j < n
                and eligible[j]
                and led.part[j] != self.fleet_part
                and self.cars(j) <= slots  # a job larger than the whole fleet stays on the pods
                and self.policy.to_fleet(j, self)
            ):
                led.gpus[j] = self.cars(j)
                led.part[j] = self.fleet_part
                led.dispatched = True
                self.sent += 1
            enqueue(j)

        return dispatch_then_enqueue
