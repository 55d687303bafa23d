"""The EASY backfill reservation on nodes (Lifka 1995; Mu'alem & Feitelson, IEEE TPDS 2001).

The head job gets a reservation at the earliest time enough resources free up; a later job may
start now only if it does not delay that reservation. The twin places jobs on nodes (whole
nodes for multiples of a node, a node with enough free GPUs for the rest), so counting free
GPUs is not enough: a backfilled 1-GPU job on a node the head will need breaks the
reservation. :class:`NodeReservation` holds the free GPUs per node *at the reservation time*
and answers whether the head fits there, with O(1) updates per node change.
"""

from __future__ import annotations


class NodeReservation:
    """Free GPUs per up node of one partition, as they will be at the reservation time.

    Args:
        free_by_node: free GPUs now of each up node of the partition.
        node_gpus: GPUs per node (one size within a partition).
        head_gpus: GPUs the head job asks for.
    """

    def __init__(self, free_by_node: dict[int, int], node_gpus: int, head_gpus: int) -> None:
        self.free = free_by_node
        self.g = node_gpus
        self.k, self.r = divmod(head_gpus, node_gpus)
        self.n_full = 0
        self.n_partial = 0  # nodes with r <= free < g: can take the head's remainder
        for f in free_by_node.values():
            self._count(f, 1)

    def _count(self, f: int, sign: int) -> None:
        if f == self.g:
            self.n_full += sign
        elif self.r and f >= self.r:
            self.n_partial += sign

    def add(self, node: int, gpus: int) -> None:
        """``gpus`` more (or, negative, fewer) free GPUs on ``node`` at the reservation time;
        nodes that are down are ignored."""
        f = self.free.get(node)
        if f is None:
            return
        self._count(f, -1)
        self.free[node] = f + gpus
        self._count(f + gpus, 1)

    def fits(self) -> bool:
        """Whether the head could be placed on these free counts (the rule of
        :meth:`megapod.sim.twin.cluster.Cluster.can_fit`)."""
        if self.r == 0:
            return self.n_full >= self.k
        if self.n_partial:
            return self.n_full >= self.k
        return self.n_full >= self.k + 1
