"""The EASY backfill reservation on nodes (Lifka 1995; Mu'alem & Feitelson, IEEE TPDS 2001).

The head job gets a reservation at the earliest time enough resources free up; a later job may
start now only if it does not delay that reservation. The twin places jobs on nodes (whole
nodes for multiples of a node, a node with enough free GPUs for the rest), so counting free
GPUs is not enough: a backfilled 1-GPU job on a node the head will need breaks the
reservation. :class:`NodeReservation` holds the free GPUs per node *at the reservation time*
and answers whether the head fits there, with O(1) updates per node change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class NodeReservation:
    """Free GPUs per up node of one partition, as they will be at the reservation time.

    Built in O(node size) from the partition's counts of fully free nodes and of partly used
    nodes by free GPUs; a node's count is read (``current_free``) only when an allocation on it
    is added, so a reservation costs nothing for the thousands of busy nodes it never touches.

    Args:
        current_free: free GPUs now of a node, or ``None`` when the node is down; a node the
            caller changes after construction must be :meth:`remember`-ed before that.
        full_nodes: up nodes with every GPU free now.
        partial_nodes: ``{free GPUs: number of up nodes with that many free}``, ``0 < free < g``.
        node_gpus: GPUs per node (one size within a partition).
        head_gpus: GPUs the head job asks for.
    """

    def __init__(
        self,
        current_free: Callable[[int], int | None],
        full_nodes: int,
        partial_nodes: Mapping[int, int],
        node_gpus: int,
        head_gpus: int,
    ) -> None:
        self.current = current_free
        self.free: dict[int, int] = {}
        self.g = node_gpus
        self.k, self.r = divmod(head_gpus, node_gpus)
        self.n_full = full_nodes
        self.n_partial = sum(n for f, n in partial_nodes.items() if self.r and f >= self.r)
        self.total = full_nodes * node_gpus + sum(f * n for f, n in partial_nodes.items())
        self.head_gpus = head_gpus

    @classmethod
    def from_free(cls, free_by_node: Mapping[int, int], node_gpus: int, head_gpus: int) -> NodeReservation:
        """A reservation over ``{node: free GPUs now}`` of the up nodes (others are down)."""
        partial: dict[int, int] = {}
        full = 0
        for f in free_by_node.values():
            if f == node_gpus:
                full += 1
            elif f > 0:
                partial[f] = partial.get(f, 0) + 1
        return cls(free_by_node.get, full, partial, node_gpus, head_gpus)

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
            f = self.current(node)
            if f is None:
                return
        self._count(f, -1)
        self.total += gpus
        self.free[node] = f + gpus
        self._count(f + gpus, 1)

    def add_whole_nodes(self, count: int) -> None:
        """``count`` nodes a job holds whole become wholly free at the reservation time
        (negative: wholly free nodes taken whole). A job holds its whole nodes alone, so
        their counts need not be looked up."""
        self.n_full += count
        self.total += count * self.g

    def remember(self, node: int, free_before: int) -> None:
        """Record a node's free GPUs as they were when the reservation was built, before the
        cluster changes that node (a later :meth:`add` must not read the changed count)."""
        self.free.setdefault(node, free_before)

    def spare_gpus(self) -> int:
        """Free GPUs at the reservation time beyond the head's: a job that would still hold
        more than these then cannot run beside the head, wherever it is placed."""
        return self.total - self.head_gpus

    def fits(self) -> bool:
        """Whether the head could be placed on these free counts (the rule of
        :meth:`megapod.sim.twin.cluster.Cluster.can_fit`)."""
        if self.r == 0:
            return self.n_full >= self.k
        if self.n_partial:
            return self.n_full >= self.k
        return self.n_full >= self.k + 1
