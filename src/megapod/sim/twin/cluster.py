"""Free GPUs per node, grouped in partitions: no per-GPU objects, whole nodes moved in bulk.

Every partition has one node size ``G``. Its up nodes are kept in two structures:

* ``full``: a stack of nodes with all ``G`` GPUs free; a job of ``n ≥ G`` GPUs takes
  ``n // G`` whole nodes off the top in one slice (node-exclusive gang placement);
* ``buckets[f]`` (``0 < f < G``): insertion-ordered sets of partly used nodes with ``f`` free;
  a best fit for ``n < G`` is the first non-empty bucket at or above ``n``, then a full node.

Free counts live in a numpy array so that whole-node allocations are updated in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from megapod.sim.twin.policies import Placement

Allocation = tuple[list[int], list[tuple[int, int]]]
"""(whole nodes, [(node, GPUs) on partly used nodes]) held by one job."""


@dataclass
class Partition:
    """Nodes that one queue may use, all of ``node_gpus`` GPUs."""

    name: str
    nodes: list[int]
    node_gpus: int
    full: list[int] = field(default_factory=list)
    buckets: list[dict[int, None]] = field(default_factory=list)
    free_gpus: int = 0
    up_gpus: int = 0


class Cluster:
    """Node free counts, up/down state, and partitions over them.

    Args:
        node_gpus: GPUs of each node (one size within a partition).
        node_partition: partition index of each node.
        partition_names: one name per partition.
    """

    def __init__(self, node_gpus: list[int], node_partition: list[int], partition_names: list[str]) -> None:
        self.node_gpus = list(node_gpus)
        self.node_free: npt.NDArray[np.int64] = np.asarray(node_gpus, dtype=np.int64).copy()
        self.node_up = [True] * len(node_gpus)
        self.node_partition = list(node_partition)
        #: Bumped on every change of free or up nodes, so a caller can tell a state it has seen.
        self.version = 0
        self.partitions: list[Partition] = []
        for p, name in enumerate(partition_names):
            nodes = [i for i, q in enumerate(node_partition) if q == p]
            sizes = {node_gpus[i] for i in nodes}
            if len(sizes) > 1:
                raise ValueError(f"partition {name!r} mixes node sizes {sorted(sizes)}")
            size = sizes.pop() if sizes else 1
            self.partitions.append(Partition(name, nodes, size, buckets=[{} for _ in range(size)]))
        for part in self.partitions:
            self._rebuild(part)

    @property
    def total_gpus(self) -> int:
        """GPUs installed."""
        return sum(self.node_gpus)

    def _rebuild(self, part: Partition) -> None:
        g = part.node_gpus
        part.full = []
        part.buckets = [{} for _ in range(g)]
        part.free_gpus = part.up_gpus = 0
        free = self.node_free
        for i in part.nodes:
            if not self.node_up[i]:
                continue
            f = int(free[i])
            part.up_gpus += g
            part.free_gpus += f
            if f == g:
                part.full.append(i)
            elif f > 0:
                part.buckets[f][i] = None

    def _set_free(self, part: Partition, node: int, new: int) -> None:
        """Move a partly used or full node to free count ``new`` (node is up)."""
        old = int(self.node_free[node])
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
        self.node_free[node] = new
        part.free_gpus += new - old

    def can_fit(self, p: int, gpus: int) -> bool:
        """Whether ``gpus`` fit in partition ``p`` now."""
        part = self.partitions[p]
        if gpus > part.free_gpus:
            return False
        g = part.node_gpus
        k, r = divmod(gpus, g)
        if r == 0:
            return len(part.full) >= k
        if any(part.buckets[f] for f in range(r, g)):
            return len(part.full) >= k
        return len(part.full) >= k + 1

    def place(self, p: int, gpus: int, placement: Placement) -> Allocation | None:
        """Allocate ``gpus`` in partition ``p`` on the nodes that ``placement`` picks (see
        :class:`~megapod.sim.twin.policies.Placement`); None when they do not fit now."""
        part = self.partitions[p]
        if gpus > part.free_gpus:
            return None
        g = part.node_gpus
        k, r = divmod(gpus, g)
        partial: list[tuple[int, int]] = []
        if r:
            node = placement.partial_node(part, k, r)
            if node < 0:
                return None
            if len(part.full) - (1 if int(self.node_free[node]) == g else 0) < k:
                return None
            self._set_free(part, node, int(self.node_free[node]) - r)
            partial.append((node, r))
        elif len(part.full) < k:
            return None
        whole: list[int] = []
        if k:
            placement.order_full(part)
            whole = part.full[-k:]
            del part.full[-k:]
            self.node_free[whole] = 0
            part.free_gpus -= k * g
        self.version += 1
        return whole, partial

    def release(self, alloc: Allocation) -> None:
        """Give an allocation back (its nodes are up)."""
        whole, partial = alloc
        parts = self.partitions
        self.version += 1
        if whole:
            part = parts[self.node_partition[whole[0]]]
            self.node_free[whole] = part.node_gpus
            part.full.extend(whole)
            part.free_gpus += len(whole) * part.node_gpus
        for node, take in partial:
            part = parts[self.node_partition[node]]
            self._set_free(part, node, int(self.node_free[node]) + take)

    def set_up(self, node: int, up: bool) -> None:
        """Take one node out of service (its free GPUs leave the pool) or bring it back."""
        if self.node_up[node] == up:
            return
        self.version += 1
        part = self.partitions[self.node_partition[node]]
        free = int(self.node_free[node])
        g = part.node_gpus
        if up:
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

    def set_many(self, nodes: list[int], up: bool) -> None:
        """Take many nodes down or up at once (a blackout), rebuilding the partitions once."""
        for node in nodes:
            self.node_up[node] = up
        self.version += 1
        for part in self.partitions:
            self._rebuild(part)
