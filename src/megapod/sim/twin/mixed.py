"""Placement in a *mixed* partition: nodes of several sizes and GPU types, CPU-only nodes, CPU
and memory limits, and GPU sharing (a job asking ``gpu_milli`` < 1000 of one GPU).

A partition of one node size whose jobs ask only for GPUs keeps the cluster's fast path
(:mod:`megapod.sim.twin.cluster`); any other partition is placed here, node by node:

* a job of ``n`` whole GPUs that one node of its allowed types can hold runs on *one* node
  (never split): ``n`` idle GPUs, its CPU and memory;
* a GPU-sharing job takes ``m`` milli of one GPU whose shares stay at or under 1000;
* a CPU-only job takes CPU and memory of any node (a CPU-only node first under best fit);
* a gang larger than every allowed node takes whole idle nodes of the largest allowed size
  (GPUs, CPU and memory of each), the remainder on one more node, as the fast path does.

The node is chosen by the placement policy's :meth:`~megapod.sim.twin.policies.Placement.mixed_pick`
over the GPU capacity each candidate would have left [milli]; a share goes on the GPU the same
rule picks.
Each allocation's GPUs, shares, CPU and memory are kept per job (:attr:`MixedNodes.grants`) so
that a release gives back exactly what was taken. Busy GPUs (for power) are those holding any
share: :meth:`MixedNodes.place` and :meth:`MixedNodes.release` say how many became busy or idle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from megapod.sim.twin.cluster import Allocation, Cluster
    from megapod.sim.twin.policies import Placement

#: Milli-units in one GPU.
GPU_MILLI = 1000

Grant = tuple[int, tuple[int, ...], int, float, float]
"""(node, GPU indices, milli taken on each, CPU [milli-cores], memory [MiB]) of one allocation."""


@dataclass
class Requests:
    """What each job asks for beyond its GPU count (index = job; lists grow with submissions).

    Attributes:
        milli: share of one GPU [1/1000] of a GPU-sharing job, 0 for whole GPUs.
        cpu_milli: CPU [milli-cores].
        memory_mib: main memory [MiB].
        types: GPU types the job may use, None for any.
    """

    milli: list[int] = field(default_factory=list)
    cpu_milli: list[float] = field(default_factory=list)
    memory_mib: list[float] = field(default_factory=list)
    types: list[frozenset[str] | None] = field(default_factory=list)

    def append_default(self) -> None:
        """A job of whole GPUs that asks for nothing else."""
        self.milli.append(0)
        self.cpu_milli.append(0.0)
        self.memory_mib.append(0.0)
        self.types.append(None)

    def asks_more(self, j: int) -> bool:
        """Whether job ``j`` asks for a share, CPU, memory or a GPU type."""
        return bool(self.milli[j] or self.cpu_milli[j] or self.memory_mib[j] or self.types[j] is not None)


class MixedNodes:
    """GPU shares, CPU and memory of the nodes of a cluster's mixed partitions, as numpy arrays
    over every node so that a placement looks at a pool's nodes in a few array operations.

    Args:
        cluster: the cluster (its ``node_free`` counts idle GPUs of every node).
        gpu_type: GPU type of each node.
        cpu_milli: CPU of each node [milli-cores] (inf: no limit).
        memory_mib: memory of each node [MiB] (inf: no limit).
    """

    def __init__(
        self, cluster: Cluster, gpu_type: list[str], cpu_milli: list[float], memory_mib: list[float]
    ):
        self.cluster = cluster
        self.gpu_type = list(gpu_type)
        gpus = np.asarray(cluster.node_gpus, dtype=np.int64)
        self.gpus = gpus
        self.cpu_cap = np.asarray(cpu_milli, dtype=np.float64)
        self.mem_cap = np.asarray(memory_mib, dtype=np.float64)
        self.cpu_free = self.cpu_cap.copy()
        self.mem_free = self.mem_cap.copy()
        #: Milli used of each GPU of each node.
        self.used: list[list[int]] = [[0] * g for g in cluster.node_gpus]
        #: GPU capacity left on each node [milli], and the most left on one of its GPUs.
        self.left = gpus * GPU_MILLI
        self.room = np.where(gpus > 0, GPU_MILLI, 0).astype(np.int64)
        #: Up nodes (mirrors ``cluster.node_up``) and nodes a gang holds whole (nothing else,
        #: CPU-only jobs included, may go there).
        self.up = np.asarray(cluster.node_up, dtype=bool)
        self.excl = np.zeros(len(gpus), dtype=bool)
        #: Jobs holding a grant on each node, whatever they take (GPUs, a share, CPU, memory or
        #: nothing); a gang takes only nodes none holds. Idle GPUs and CPU or memory left cannot
        #: tell: a job of no GPU may take no CPU and memory, or take them where there is no limit.
        self.holders = np.zeros(len(gpus), dtype=np.int64)
        #: Each running job's grants and how many GPUs it made busy; a gang's whole nodes.
        self.grants: dict[int, tuple[list[Grant], int]] = {}
        self.whole_of: dict[int, list[int]] = {}
        self.req = Requests()
        self._nodes: dict[int, npt.NDArray[np.int64]] = {}
        self._typed: dict[tuple[int, frozenset[str] | None], npt.NDArray[np.bool_]] = {}
        self._largest: dict[tuple[int, frozenset[str] | None], int] = {}

    # ---------------------------------------------------------------- queries
    @property
    def exclusive(self) -> set[int]:
        """Nodes a gang holds whole."""
        return set(np.flatnonzero(self.excl).tolist())

    def request(self, j: int, gpus: int) -> tuple[int, float, float, frozenset[str] | None]:
        """(milli, CPU, memory, types) of job ``j`` (nothing more than ``gpus`` when unknown)."""
        r = self.req
        if 0 <= j < len(r.milli):
            return r.milli[j], r.cpu_milli[j], r.memory_mib[j], r.types[j]
        return 0, 0.0, 0.0, None

    def allowed(self, node: int, types: frozenset[str] | None) -> bool:
        """Whether a job that uses GPUs may run on ``node`` (it has GPUs of an allowed type)."""
        return self.cluster.node_gpus[node] > 0 and (types is None or self.gpu_type[node] in types)

    def nodes(self, p: int) -> npt.NDArray[np.int64]:
        """Partition ``p``'s nodes as an index array."""
        if p not in self._nodes:
            self._nodes[p] = np.asarray(self.cluster.partitions[p].nodes, dtype=np.int64)
        return self._nodes[p]

    def typed(self, p: int, types: frozenset[str] | None) -> npt.NDArray[np.bool_]:
        """Which of partition ``p``'s nodes a job that uses GPUs may run on."""
        key = (p, types)
        if key not in self._typed:
            self._typed[key] = np.array([self.allowed(int(n), types) for n in self.nodes(p)], dtype=bool)
        return self._typed[key]

    def largest(self, p: int, types: frozenset[str] | None) -> int:
        """GPUs of the largest node of partition ``p`` of an allowed type (0: none)."""
        key = (p, types)
        if key not in self._largest:
            nodes = self.nodes(p)
            ok = self.typed(p, types)
            self._largest[key] = int(self.gpus[nodes[ok]].max()) if ok.any() else 0
        return self._largest[key]

    def free_milli(self, node: int) -> int:
        """GPU capacity left on ``node`` [milli]."""
        return int(self.left[node])

    def never_fits(
        self, p: int, gpus: int, milli: int, cpu: float, mem: float, types: frozenset[str] | None
    ) -> str | None:
        """Why partition ``p`` could not hold the job even empty (a reason key), or None."""
        part = self.cluster.partitions[p]
        nodes = part.nodes
        if gpus > 0 or milli > 0:
            nodes = [n for n in nodes if self.allowed(n, types)]
            if not nodes:
                return "no_node_of_type"
        g_max = max((self.cluster.node_gpus[n] for n in nodes), default=0)
        if gpus <= g_max:  # one node must hold it all
            ok = any(
                self.cluster.node_gpus[n] >= gpus and self.cpu_cap[n] >= cpu and self.mem_cap[n] >= mem
                for n in nodes
            )
            return None if ok else "larger_than_any_pool"
        if milli:
            return "larger_than_any_pool"
        big = [n for n in nodes if self.cluster.node_gpus[n] == g_max]
        k, r = divmod(gpus, g_max)
        if len(big) < k:
            return "larger_than_any_pool"
        if r and len(big) == k:  # the remainder needs one more node, not one of the k
            share = r / gpus
            rest = set(big)
            if not any(
                n not in rest
                and self.cluster.node_gpus[n] >= r
                and self.cpu_cap[n] >= cpu * share
                and self.mem_cap[n] >= mem * share
                for n in nodes
            ):
                return "larger_than_any_pool"
        return None

    # -------------------------------------------------------------- placement
    def _single(
        self,
        p: int,
        n: int,
        m: int,
        cpu: float,
        mem: float,
        types: frozenset[str] | None,
        placement: Placement,
        exclude: npt.NDArray[np.int64] | None = None,
    ) -> Grant | None:
        """The best node for a job on one node (``n`` whole GPUs, or a share ``m``, or none)."""
        nodes = self.nodes(p)
        ok = self.up[nodes] & ~self.excl[nodes]
        if n > 0 or m > 0:
            ok &= self.typed(p, types)
        if cpu > 0:
            ok &= self.cpu_free[nodes] >= cpu
        if mem > 0:
            ok &= self.mem_free[nodes] >= mem
        if m:
            ok &= self.room[nodes] >= m
        elif n:
            ok &= self.cluster.node_free[nodes] >= n
        if exclude is not None:
            ok &= ~np.isin(nodes, exclude)
        cand = nodes[ok]
        if not len(cand):
            return None
        take = m if m else GPU_MILLI
        node = int(cand[placement.mixed_pick(self.left[cand] - (m if m else n * GPU_MILLI))])
        used = self.used[node]
        if m:
            fits = [i for i, u in enumerate(used) if u + m <= GPU_MILLI]
            gpu_left = np.asarray([GPU_MILLI - used[i] - m for i in fits], dtype=np.int64)
            idx: tuple[int, ...] = (fits[placement.mixed_pick(gpu_left)],)
        else:
            idx = tuple(i for i, u in enumerate(used) if u == 0)[:n]
        return node, idx, take, cpu, mem

    def _plan(self, p: int, gpus: int, j: int, placement: Placement) -> tuple[list[int], list[Grant]] | None:
        """(whole nodes, grants) for job ``j`` of ``gpus`` GPUs in partition ``p``, or None."""
        m, cpu, mem, types = self.request(j, gpus)
        if m or gpus == 0 or gpus <= self.largest(p, types):
            g = self._single(p, 0 if m else gpus, m, cpu, mem, types, placement)
            return None if g is None else ([], [g])
        size = self.largest(p, types)
        if size == 0:  # no node of an allowed type
            return None
        k, r = divmod(gpus, size)
        nodes = self.nodes(p)
        ok = self.up[nodes] & ~self.excl[nodes] & self.typed(p, types)
        ok &= (self.gpus[nodes] == size) & (self.holders[nodes] == 0)
        whole = nodes[ok]  # in index order: whole nodes go lowest index first under every policy
        if len(whole) < k:
            return None
        chosen = whole[:k]
        grants: list[Grant] = [
            (int(n), tuple(range(size)), GPU_MILLI, _finite(self.cpu_cap[n]), _finite(self.mem_cap[n]))
            for n in chosen
        ]
        if r:
            share = r / gpus
            g = self._single(p, r, 0, cpu * share, mem * share, types, placement, chosen)
            if g is None:
                return None
            grants.append(g)
        return [int(n) for n in chosen], grants

    def _touch(self, node: int) -> None:
        """Refresh ``node``'s capacity left and its roomiest GPU after its shares changed."""
        used = self.used[node]
        if used:
            self.left[node] = sum(GPU_MILLI - u for u in used)
            self.room[node] = GPU_MILLI - min(used)

    def can_fit(self, p: int, gpus: int, j: int, placement: Placement) -> bool:
        """Whether job ``j`` fits partition ``p`` now."""
        return self._plan(p, gpus, j, placement) is not None

    def place(self, p: int, gpus: int, j: int, placement: Placement) -> Allocation | None:
        """Allocate job ``j`` in partition ``p``; None when it does not fit now."""
        plan = self._plan(p, gpus, j, placement)
        if plan is None:
            return None
        whole, grants = plan
        cl = self.cluster
        free = cl.free
        part = cl.partitions[p]
        busy = 0
        for node, idx, take, cpu, mem in grants:
            used = self.used[node]
            for i in idx:
                if used[i] == 0:
                    busy += 1
                    free[node] -= 1
                used[i] += take
            self.cpu_free[node] -= cpu
            self.mem_free[node] -= mem
            self.holders[node] += 1
            self._touch(node)
        part.free_gpus -= busy
        cl.version += 1
        self.grants[j] = (grants, busy)
        if whole:
            self.excl[whole] = True
            self.whole_of[j] = list(whole)
        wholes = set(whole)
        partial = [(node, len(idx)) for node, idx, _, _, _ in grants if node not in wholes]
        return list(whole), partial

    def busy_of(self, j: int) -> int:
        """GPUs that job ``j``'s allocation made busy."""
        return self.grants[j][1]

    def release(self, j: int) -> int:
        """Give job ``j``'s allocation back; the number of GPUs that became idle."""
        grants, _ = self.grants.pop(j)
        cl = self.cluster
        self.excl[self.whole_of.pop(j, [])] = False
        free = cl.free
        idle = 0
        for node, idx, take, cpu, mem in grants:
            used = self.used[node]
            freed = 0
            for i in idx:
                used[i] -= take
                if used[i] == 0:
                    freed += 1
            free[node] += freed
            idle += freed
            self.cpu_free[node] += cpu
            self.mem_free[node] += mem
            self.holders[node] -= 1
            if self.holders[node] == 0:  # empty again: exactly its capacity, free of rounding
                self.cpu_free[node] = self.cpu_cap[node]
                self.mem_free[node] = self.mem_cap[node]
            self._touch(node)
            if cl.node_up[node]:
                cl.partitions[cl.node_partition[node]].free_gpus += freed
        cl.version += 1
        return idle

    def limited(self, node: int) -> bool:
        """Whether ``node`` has a CPU or memory limit."""
        return math.isfinite(self.cpu_cap[node]) or math.isfinite(self.mem_cap[node])


def _finite(value: float) -> float:
    """A node's whole CPU or memory as a gang takes it (0 where it has no limit)."""
    return value if math.isfinite(value) else 0.0
