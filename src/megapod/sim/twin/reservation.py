"""The EASY backfill reservation on nodes (Lifka 1995; Mu'alem & Feitelson, IEEE TPDS 2001).

The head job gets a reservation at the earliest time enough resources free up; a later job may
start now only if it does not delay that reservation. The twin places jobs on nodes (whole
nodes for multiples of a node, a node with enough free GPUs for the rest), so counting free
GPUs is not enough: a backfilled 1-GPU job on a node the head will need breaks the
reservation. :class:`NodeReservation` holds the free GPUs per node *at the reservation time*
and answers whether the head fits there, with O(1) updates per node change;
:class:`MixedReservation` does the same for a partition of mixed nodes (sizes, types, GPU
shares, CPU and memory).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from megapod.sim.twin.mixed import GPU_MILLI

if TYPE_CHECKING:
    from megapod.sim.twin.mixed import Grant, MixedNodes


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


class MixedReservation:
    """The EASY reservation of a blocked single-node job in a mixed partition
    (:mod:`megapod.sim.twin.mixed`): running jobs are released in end order on an overlay of
    the shares, CPU and memory of the nodes they touch (no other node changes, and the head
    fits on none now) until the head fits on one of them.

    Args:
        nodes: the cluster's mixed nodes.
        p: the partition.
        gpus: GPUs the head asks for (1 for a share).
        head: the head job.
        ending: the partition's running jobs as (end on the work clock, job), in end order
            (read only as far as the reservation).
    """

    def __init__(
        self, nodes: MixedNodes, p: int, gpus: int, head: int, ending: Iterable[tuple[float, int]]
    ) -> None:
        self.mx = nodes
        m, cpu, mem, types = nodes.request(head, gpus)
        self.ask = (0 if m else gpus, m, cpu, mem, types)
        self.used: dict[int, list[int]] = {}
        self.cpu_free: dict[int, float] = {}
        self.mem_free: dict[int, float] = {}
        self.freed_whole: set[int] = set()
        #: End on the work clock of the job whose release lets the head fit (``found``), else
        #: of the first job to end (a gang head is not reserved here: nothing frees sooner).
        self.end_v = math.inf
        self.found = False
        gang = not m and gpus > nodes.largest(p, types)
        for v, j in ending:
            if self.end_v == math.inf:
                self.end_v = v
                if gang:
                    return
            grants = nodes.grants[j][0]
            self._apply(grants, 1)
            self.freed_whole.update(nodes.whole_of.get(j, ()))
            if any(self.fits(g[0]) for g in grants):
                self.end_v, self.found = v, True
                return

    def _apply(self, grants: list[Grant], sign: int) -> None:
        """Release (``sign`` 1) or take (-1) ``grants`` on the overlay."""
        mx = self.mx
        for node, idx, take, c, b in grants:
            if node not in self.used:
                self.used[node] = list(mx.used[node])
                self.cpu_free[node] = float(mx.cpu_free[node])
                self.mem_free[node] = float(mx.mem_free[node])
            u = self.used[node]
            for i in idx:
                u[i] -= sign * take
            self.cpu_free[node] += sign * c
            self.mem_free[node] += sign * b

    def fits(self, node: int) -> bool:
        """Whether the head fits on overlay ``node`` at the reservation time."""
        mx = self.mx
        n, m, cpu, mem, types = self.ask
        if node not in self.used or not mx.up[node] or (mx.excl[node] and node not in self.freed_whole):
            return False
        if (n or m) and not mx.allowed(node, types):
            return False
        if self.cpu_free[node] < cpu or self.mem_free[node] < mem:
            return False
        u = self.used[node]
        return any(x + m <= GPU_MILLI for x in u) if m else sum(x == 0 for x in u) >= n

    def keeps(self, grants: list[Grant]) -> bool:
        """Whether the head still fits at the reservation beside a job that holds ``grants``
        then (a backfilled job running past it); if so the overlay keeps them."""
        touched = [g for g in grants if g[0] in self.used]  # the head fits on no other node
        self._apply(touched, -1)
        if any(self.fits(node) for node in self.used):
            return True
        self._apply(touched, 1)
        return False
