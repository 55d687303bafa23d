"""Free GPUs per node, grouped in partitions: no per-GPU objects.

Each partition keeps, for every free-GPU count ``f``, an insertion-ordered set of its up nodes
with exactly ``f`` free GPUs (``buckets[f]``). A best fit for ``n ≤`` node size is the first
non-empty bucket at or above ``n``; a worst fit the last. Jobs larger than a node take nodes
with the most free GPUs first. Every operation touches O(node size) buckets, not all nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Allocation = list[tuple[int, int]]
"""(node, GPUs) pairs held by one job."""


@dataclass
class Partition:
    """Nodes that one queue may use."""

    name: str
    nodes: list[int]
    max_node_gpus: int
    buckets: list[dict[int, None]] = field(default_factory=list)
    free_gpus: int = 0
    up_gpus: int = 0


class Cluster:
    """Node free counts, up/down state, and partitions over them.

    Args:
        node_gpus: GPUs of each node.
        node_partition: partition index of each node.
        partition_names: one name per partition.
    """

    def __init__(self, node_gpus: list[int], node_partition: list[int], partition_names: list[str]) -> None:
        self.node_gpus = list(node_gpus)
        self.node_free = list(node_gpus)
        self.node_up = [True] * len(node_gpus)
        self.node_partition = list(node_partition)
        self.partitions: list[Partition] = []
        for p, name in enumerate(partition_names):
            nodes = [i for i, q in enumerate(node_partition) if q == p]
            top = max((node_gpus[i] for i in nodes), default=0)
            part = Partition(name, nodes, top, [{} for _ in range(top + 1)])
            for i in nodes:
                part.buckets[node_gpus[i]][i] = None
                part.free_gpus += node_gpus[i]
                part.up_gpus += node_gpus[i]
            self.partitions.append(part)

    @property
    def total_gpus(self) -> int:
        """GPUs installed."""
        return sum(self.node_gpus)

    def _move(self, part: Partition, node: int, new_free: int) -> None:
        old = self.node_free[node]
        if self.node_up[node]:
            del part.buckets[old][node]
            part.buckets[new_free][node] = None
            part.free_gpus += new_free - old
        self.node_free[node] = new_free

    def can_fit(self, p: int, gpus: int) -> bool:
        """Whether ``gpus`` fit in partition ``p`` now (on one node when they fit in a node)."""
        part = self.partitions[p]
        if gpus > part.free_gpus:
            return False
        if gpus >= part.max_node_gpus:
            return True
        buckets = part.buckets
        return any(buckets[f] for f in range(gpus, part.max_node_gpus + 1))

    def place(self, p: int, gpus: int, mode: str) -> Allocation | None:
        """Allocate ``gpus`` in partition ``p``: ``consolidated`` (best fit), ``spread`` (worst
        fit) or ``topology`` (whole nodes in index order, so neighbours share a domain and pod)."""
        part = self.partitions[p]
        if gpus > part.free_gpus:
            return None
        buckets = part.buckets
        top = part.max_node_gpus
        if gpus < top or (gpus == top and mode != "topology"):
            order = range(gpus, top + 1) if mode != "spread" else range(top, gpus - 1, -1)
            for f in order:
                if buckets[f]:
                    node = next(iter(buckets[f]))
                    self._move(part, node, f - gpus)
                    return [(node, gpus)]
            if gpus < top:
                return None
        # multi-node: most-free nodes first
        alloc: Allocation = []
        need = gpus
        for f in range(top, 0, -1):
            if need <= 0:
                break
            cands = list(buckets[f]) if mode != "topology" else sorted(buckets[f])
            for node in cands:
                take = min(f, need)
                alloc.append((node, take))
                need -= take
                if need <= 0:
                    break
        if need > 0:  # pragma: no cover - guarded by free_gpus
            return None
        for node, take in alloc:
            self._move(part, node, self.node_free[node] - take)
        return alloc

    def release(self, alloc: Allocation) -> None:
        """Give an allocation back."""
        parts = self.partitions
        for node, take in alloc:
            self._move(parts[self.node_partition[node]], node, self.node_free[node] + take)

    def set_up(self, node: int, up: bool) -> None:
        """Take a node out of service (its free GPUs leave the pool) or bring it back."""
        if self.node_up[node] == up:
            return
        part = self.partitions[self.node_partition[node]]
        free = self.node_free[node]
        if up:
            part.buckets[free][node] = None
            part.free_gpus += free
            part.up_gpus += self.node_gpus[node]
        else:
            del part.buckets[free][node]
            part.free_gpus -= free
            part.up_gpus -= self.node_gpus[node]
        self.node_up[node] = up
