"""Free GPUs per node, grouped in partitions: no per-GPU objects, whole nodes moved in bulk.

Every partition has one node size ``G``. Its up nodes are kept in two structures:

* ``full``: a stack of nodes with all ``G`` GPUs free; a job of ``n ≥ G`` GPUs takes
  ``n // G`` whole nodes off the top in one slice (node-exclusive gang placement);
* ``buckets[f]`` (``0 < f < G``): insertion-ordered sets of partly used nodes with ``f`` free;
  a best fit for ``n < G`` is the first non-empty bucket at or above ``n``, then a full node.

Free counts live in one block of memory seen two ways: an ``array.array`` for the scalar reads
and writes of the placement path (a Python int each, no numpy scalar), and a numpy view of the
same memory for the vector reads of mixed partitions and the node map.

A partition whose nodes differ in size, include CPU-only nodes, carry CPU or memory limits, or
whose jobs ask for CPU, memory, GPU shares or GPU types is *mixed*: it is placed node by node by
:class:`~megapod.sim.twin.mixed.MixedNodes` (``full`` and ``buckets`` stay empty there) while
``node_free`` keeps counting each node's idle GPUs.
"""

from __future__ import annotations

import array
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from megapod.sim.twin.mixed import MixedNodes

if TYPE_CHECKING:
    from megapod.sim.twin.policies import Placement

Allocation = tuple[list[int], list[tuple[int, int]]]
"""(whole nodes, [(node, GPUs) on partly used nodes]) held by one job."""


@dataclass
class Partition:
    """Nodes that one queue may use, all of ``node_gpus`` GPUs (the largest node's, when
    ``mixed``)."""

    name: str
    nodes: list[int]
    node_gpus: int
    full: list[int] = field(default_factory=list)
    buckets: list[dict[int, None]] = field(default_factory=list)
    free_gpus: int = 0
    up_gpus: int = 0
    #: Placed node by node (:mod:`megapod.sim.twin.mixed`) instead of by the fast path.
    mixed: bool = False
    #: GPUs installed in the partition.
    size_gpus: int = 0


class Cluster:
    """Node free counts, up/down state, and partitions over them.

    Args:
        node_gpus: GPUs of each node (a partition of several sizes is mixed).
        node_partition: partition index of each node.
        partition_names: one name per partition.
    """

    def __init__(self, node_gpus: list[int], node_partition: list[int], partition_names: list[str]) -> None:
        self.node_gpus = list(node_gpus)
        #: Idle GPUs of each node; ``node_free`` is a numpy view of the same memory.
        self.free = array.array("q", node_gpus)
        self.node_free: npt.NDArray[np.int64] = np.frombuffer(self.free, dtype=np.int64)
        self.node_up = [True] * len(node_gpus)
        self.node_partition = list(node_partition)
        #: Bumped on every change of free or up nodes, so a caller can tell a state it has seen.
        self.version = 0
        self.partitions: list[Partition] = []
        #: GPU shares, CPU and memory of the mixed partitions' nodes (None while there are none).
        self.mixed: MixedNodes | None = None
        members: list[list[int]] = [[] for _ in partition_names]
        for i, q in enumerate(node_partition):
            members[q].append(i)
        for name, nodes in zip(partition_names, members, strict=True):
            sizes = {node_gpus[i] for i in nodes}
            size = max(sizes) if sizes else 1
            part = Partition(name, nodes, size, buckets=[{} for _ in range(size)])
            part.size_gpus = sum(node_gpus[i] for i in nodes)
            part.mixed = len(sizes) > 1 or 0 in sizes
            self.partitions.append(part)
        if any(p.mixed for p in self.partitions):
            self.describe_nodes(
                [""] * len(node_gpus), [math.inf] * len(node_gpus), [math.inf] * len(node_gpus)
            )
        for part in self.partitions:
            self._rebuild(part)

    def describe_nodes(self, gpu_type: list[str], cpu_milli: list[float], memory_mib: list[float]) -> None:
        """Give the nodes GPU types, CPU [milli-cores] and memory [MiB] (inf: no limit), before
        any job is placed; a partition with CPU or memory limits becomes mixed."""
        n = len(self.node_gpus)
        pad = n - len(gpu_type)
        self.mixed = MixedNodes(
            self,
            list(gpu_type) + [""] * pad,
            list(cpu_milli) + [math.inf] * pad,
            list(memory_mib) + [math.inf] * pad,
        )
        for p, part in enumerate(self.partitions):
            if not part.mixed and any(self.mixed.limited(i) for i in part.nodes):
                self.make_mixed(p)

    def make_mixed(self, p: int) -> None:
        """Place partition ``p`` node by node from now on (before any job is placed in it)."""
        if self.mixed is None:
            n = len(self.node_gpus)
            self.describe_nodes([""] * n, [math.inf] * n, [math.inf] * n)
        assert self.mixed is not None
        self.partitions[p].mixed = True
        self._rebuild(self.partitions[p])

    def never_fits(
        self, p: int, gpus: int, milli: int, cpu: float, mem: float, types: frozenset[str] | None
    ) -> str | None:
        """Why partition ``p`` could not hold a job even with every node free (a key of
        :data:`megapod.traces.SKIP_REASONS`), or None when it could."""
        if self.mixed is None:
            return None if gpus <= self.partitions[p].size_gpus else "larger_than_any_pool"
        return self.mixed.never_fits(p, gpus, milli, cpu, mem, types)

    @property
    def total_gpus(self) -> int:
        """GPUs installed."""
        return sum(self.node_gpus)

    def _rebuild(self, part: Partition) -> None:
        g = part.node_gpus
        part.full = []
        part.buckets = [{} for _ in range(g)]
        part.free_gpus = part.up_gpus = 0
        free = self.free
        if part.mixed:
            for i in part.nodes:
                if self.node_up[i]:
                    part.up_gpus += self.node_gpus[i]
                    part.free_gpus += free[i]
            return
        for i in part.nodes:
            if not self.node_up[i]:
                continue
            f = free[i]
            part.up_gpus += g
            part.free_gpus += f
            if f == g:
                part.full.append(i)
            elif f > 0:
                part.buckets[f][i] = None

    def _set_free(self, part: Partition, node: int, old: int, new: int) -> None:
        """Move a partly used or full node (up) from free count ``old`` to ``new``."""
        g = part.node_gpus
        if old == g:
            if part.full[-1] == node:
                part.full.pop()
            else:
                part.full.remove(node)
        elif old > 0:
            del part.buckets[old][node]
        if new == g:
            part.full.append(node)
        elif new > 0:
            part.buckets[new][node] = None
        self.free[node] = new
        part.free_gpus += new - old

    def can_fit(self, p: int, gpus: int, job: int = -1, placement: Placement | None = None) -> bool:
        """Whether ``gpus`` (of job ``job``, whose other requests count in a mixed partition)
        fit in partition ``p`` now."""
        part = self.partitions[p]
        if part.mixed:
            assert self.mixed is not None
            from megapod.sim.twin.policies import BestFit

            return self.mixed.can_fit(p, gpus, job, placement or BestFit())
        if gpus > part.free_gpus:
            return False
        g = part.node_gpus
        k, r = divmod(gpus, g)
        if r == 0:
            return len(part.full) >= k
        if any(part.buckets[f] for f in range(r, g)):
            return len(part.full) >= k
        return len(part.full) >= k + 1

    def place(self, p: int, gpus: int, placement: Placement, job: int = -1) -> Allocation | None:
        """Allocate ``gpus`` in partition ``p`` on the nodes that ``placement`` picks (see
        :class:`~megapod.sim.twin.policies.Placement`); None when they do not fit now. In a
        mixed partition job ``job``'s CPU, memory, GPU share and type count too."""
        part = self.partitions[p]
        if part.mixed:
            assert self.mixed is not None
            return self.mixed.place(p, gpus, job, placement)
        if gpus > part.free_gpus:
            return None
        g = part.node_gpus
        k, r = divmod(gpus, g)
        free = self.free
        partial: list[tuple[int, int]] = []
        if r:
            node = placement.partial_node(part, k, r)
            if node < 0:
                return None
            f = free[node]
            if len(part.full) - (f == g) < k:
                return None
            self._set_free(part, node, f, f - r)
            partial.append((node, r))
        elif len(part.full) < k:
            return None
        whole: list[int] = []
        if k:
            placement.order_full(part)
            whole = part.full[-k:]
            del part.full[-k:]
            for node in whole:
                free[node] = 0
            part.free_gpus -= k * g
        self.version += 1
        return whole, partial

    def release(self, alloc: Allocation, job: int = -1) -> int | None:
        """Give job ``job``'s allocation back (its nodes are up); in a mixed partition, the
        number of GPUs that became idle (else None: all of the job's)."""
        whole, partial = alloc
        parts = self.partitions
        first = whole[0] if whole else (partial[0][0] if partial else -1)
        if first >= 0 and parts[self.node_partition[first]].mixed:
            assert self.mixed is not None
            return self.mixed.release(job)
        self.version += 1
        free = self.free
        if whole:
            part = parts[self.node_partition[whole[0]]]
            g = part.node_gpus
            for node in whole:
                free[node] = g
            part.full.extend(whole)
            part.free_gpus += len(whole) * g
        for node, take in partial:
            part = parts[self.node_partition[node]]
            f = free[node]
            self._set_free(part, node, f, f + take)
        return None

    def set_up(self, node: int, up: bool) -> None:
        """Take one node out of service (its free GPUs leave the pool) or bring it back."""
        if self.node_up[node] == up:
            return
        self.version += 1
        part = self.partitions[self.node_partition[node]]
        free = self.free[node]
        g = part.node_gpus
        if part.mixed:
            sign = 1 if up else -1
            part.free_gpus += sign * free
            part.up_gpus += sign * self.node_gpus[node]
        elif up:
            if free == g:
                part.full.append(node)
            elif free > 0:
                part.buckets[free][node] = None
            part.free_gpus += free
            part.up_gpus += g
        else:
            if free == g:
                part.full.remove(node)
            elif free > 0:
                del part.buckets[free][node]
            part.free_gpus -= free
            part.up_gpus -= g
        self.node_up[node] = up
        if self.mixed is not None:
            self.mixed.up[node] = up

    def set_many(self, nodes: list[int], up: bool) -> None:
        """Take many nodes down or up at once (a blackout), rebuilding the partitions once."""
        for node in nodes:
            self.node_up[node] = up
        if self.mixed is not None:
            self.mixed.up[nodes] = up
        self.version += 1
        for part in self.partitions:
            self._rebuild(part)
