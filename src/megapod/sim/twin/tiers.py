"""Compute tiers: the kinds of capacity a twin schedules jobs onto.

A tier is a set of *nodes* (a server system, a vehicle: anything that holds GPUs together)
grouped into *partitions* (the queues' pools; one node size per partition) and *power groups*
(nodes that draw power alike: a pod design, a fleet). The twin puts the nodes of every tier into
one :class:`~megapod.sim.twin.cluster.Cluster`, so the scheduler places jobs on any tier's
partitions without knowing which tier they belong to. The pods of the site are the first tier
(:class:`~megapod.sim.twin.pods.PodTier`).

Writing a tier (a vehicle fleet, say) means implementing :class:`Tier`:

* **capacity** — :attr:`Tier.nodes` lists the tier's nodes (GPUs, partition name, power group
  of each). :meth:`Tier.attach` hands over a :class:`TierSite` once the run begins: the shared
  cluster, the job ledger and the tier's offsets in them. A tier whose capacity changes over
  time (vehicles that arrive and leave) schedules its own events with
  :meth:`TierSite.schedule` and takes them in :meth:`Tier.on_event`; it takes a node out of
  service with :meth:`TierSite.node_down` (its jobs roll back and wait again) and brings it
  back with :meth:`TierSite.node_up`.
* **failure model** — :meth:`Tier.failure_rate_per_s` (total, all its GPUs) and
  :meth:`Tier.draw_failure`: which node fails, at which GPU slot, for how long. The faults
  component runs the Poisson stream, stops the victims and repairs the node.
* **power draw** — :meth:`Tier.it_power_w`, :meth:`Tier.facility_power_w` and
  :meth:`Tier.thermal` at the counts of the tier's power groups now (the power plant sums
  them over tiers; a tier off the site's feed returns 0), :meth:`Tier.power_flow` over
  binned arrays for the result tables, and :meth:`Tier.group_rows` to label them.

No line of the scheduler changes for a new tier. The twin's tiers are the pods, the tiers
handed to :class:`~megapod.sim.twin.simulator.Twin` (``tiers=``), and the site's fleet when it
has one: a tier that a section of the site declares is built by :data:`TIER_BUILDERS`, filled
by the module named in :data:`megapod.registry.PROVIDERS` (``compute tier``), so the twin
imports no tier's engine. A tier off the site's supply sets ``off_site_supply = True``: its
power and GPUs stay out of the site's summary (they are in the per-tier table).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from megapod.physics.power_chain import PowerFlow
from megapod.registry import Registry
from megapod.sim.engine import EventKernel
from megapod.sim.twin.cluster import Cluster
from megapod.sim.twin.events import EventKind, schedule
from megapod.sim.twin.ledger import JobLedger
from megapod.spec.scenario import Scenario

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TierNodes:
    """A tier's nodes in order: GPUs, partition (by name) and power group (tier-local index)."""

    gpus: list[int]
    partition: list[int]
    partition_names: list[str]
    group: list[int]
    group_names: list[str]


@dataclass
class TierSite:
    """Where a tier sits in the twin (handed to :meth:`Tier.attach` when the run begins).

    Attributes:
        cluster: free GPUs and up/down state of every node of every tier.
        ledger: the jobs, their accounts and the GPU counts per power group.
        kernel: the event kernel.
        index: the tier's position in the twin's list of tiers.
        tiers: how many tiers the twin has.
        node0, part0, group0: the tier's first node, partition and power group.
        changed: tell the scheduler that a partition's capacity changed.
    """

    cluster: Cluster
    ledger: JobLedger
    kernel: EventKernel
    index: int
    tiers: int
    node0: int
    part0: int
    group0: int
    changed: Callable[[int], None]

    def schedule(self, time_s: float, payload: int = 0) -> int:
        """Schedule one of the tier's own events (:meth:`Tier.on_event` gets ``payload``)."""
        return schedule(self.kernel, time_s, EventKind.TIER, payload * self.tiers + self.index)

    def node_down(self, node: int) -> None:
        """Take global node ``node`` out of service now: jobs on it roll back to their last
        checkpoint and wait again (counted as interruptions)."""
        led = self.ledger
        victims = list(led.node_jobs[node]) + [j for j, nodes in led.whole_jobs.items() if node in nodes]
        for j in victims:
            led.stop(j, save=False, count_interrupt=True)
        self.cluster.set_up(node, False)
        self.changed(self.cluster.node_partition[node])

    def node_up(self, node: int) -> None:
        """Bring global node ``node`` back into service."""
        self.cluster.set_up(node, True)
        self.changed(self.cluster.node_partition[node])


class Tier(Protocol):
    """A kind of compute capacity (see the module docstring for how to write one)."""

    name: str
    """Label of the tier in the result tables (``pods``, ``vehicles``)."""
    nodes: TierNodes
    """The tier's nodes."""

    def attach(self, site: TierSite) -> None:
        """Take the tier's place in the twin; schedule its first events."""

    def on_event(self, payload: int) -> None:
        """One of the tier's own events (scheduled with :meth:`TierSite.schedule`)."""

    def failure_rate_per_s(self) -> float:
        """Rate of GPU failures over the whole tier [1/s]; 0 when it does not fail."""

    def draw_failure(self, rng: np.random.Generator) -> tuple[int, int, float]:
        """The next failure: (global node, GPU slot on the node, repair time [s])."""

    def it_power_w(self, gpu_cap_w: float | None) -> float:
        """IT load of the tier now [W] (at the counts of its power groups)."""

    def facility_power_w(self, outdoor_c: float, gpu_cap_w: float | None) -> float:
        """What the tier draws from the site's supply now [W]."""

    def thermal(self, outdoor_c: float) -> tuple[float, float | None]:
        """Slowest job speed (1: full) and the GPU power cap it needs [W] (None: no cap)."""

    def admission_w_per_gpu(self, group: int) -> float:
        """Extra IT power of one GPU of tier-local group ``group`` going from idle to busy [W]."""

    def power_flow(
        self, group: int, busy: FloatArray, up: FloatArray, outdoor_c: FloatArray, gpu_cap_w: FloatArray
    ) -> PowerFlow:
        """Power of tier-local group ``group`` over arrays of busy and up GPUs [W], with the GPU
        cap in force over each element (``inf``: none)."""

    def group_rows(self) -> Sequence[dict[str, Any]]:
        """Labels of each power group for the per-group table (``tier``, a name, ``gpus``)."""


TierBuilder = Callable[[Scenario], Tier]
"""Makes the tier a section of the scenario's site declares (e.g. ``site.fleet``)."""

#: Tiers declared by a section of the site, by the section's name (``fleet``).
TIER_BUILDERS: Registry[TierBuilder] = Registry("compute tier")
