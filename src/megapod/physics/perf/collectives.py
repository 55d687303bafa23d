"""Alpha-beta costs of collective operations, flat and over a hierarchical topology.

Every function returns a duration [s] for a buffer of ``size_bytes`` [byte] among ``n`` ranks
whose per-rank link has bandwidth ``bw_bytes_per_s`` [byte/s, one direction] and per-step
latency ``latency_s`` [s] (the alpha of the alpha-beta model). ``size_bytes`` is the *full*
buffer: the reduced vector for all-reduce and reduce-scatter, the gathered result for
all-gather, and what one rank sends in total for all-to-all.

References:
    Thakur, Rabenseifner, Gropp, "Optimization of Collective Communication Operations in
    MPICH", IJHPCA 19(1), 2005 (ring and tree costs: all-reduce 2(n-1)/n * S / B).
    Sanders, Speck, Träff, "Two-tree algorithms for full bandwidth broadcast, reduction and
    scan", Parallel Computing 2009 (double binary tree, as in NCCL's tree all-reduce).
    NVIDIA NCCL tests, doc/PERFORMANCE.md ("bus bandwidth" factors 2(n-1)/n and (n-1)/n).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Level:
    """One level of a hierarchical group: ``ranks`` members over links of the given speed."""

    ranks: int
    bw_bytes_per_s: float
    latency_s: float


def ring_all_reduce_s(size_bytes: float, n: int, bw_bytes_per_s: float, latency_s: float) -> float:
    """Ring all-reduce: ``2(n-1)·alpha + 2(n-1)/n · S/B`` [s] (Thakur et al. 2005)."""
    if n <= 1:
        return 0.0
    return 2 * (n - 1) * latency_s + 2.0 * (n - 1) / n * size_bytes / bw_bytes_per_s


def tree_all_reduce_s(size_bytes: float, n: int, bw_bytes_per_s: float, latency_s: float) -> float:
    """Double-binary-tree all-reduce: ``2·ceil(log2 n)·alpha + 2·S/B`` [s] (Sanders 2009).

    Reduction up and broadcast down the tree each move the whole buffer through every rank's
    link once, pipelined; the latency grows with the depth, not with ``n``.
    """
    if n <= 1:
        return 0.0
    return 2 * math.ceil(math.log2(n)) * latency_s + 2.0 * size_bytes / bw_bytes_per_s


def reduce_scatter_s(size_bytes: float, n: int, bw_bytes_per_s: float, latency_s: float) -> float:
    """Ring reduce-scatter of an ``S``-byte buffer: ``(n-1)·alpha + (n-1)/n · S/B`` [s]."""
    if n <= 1:
        return 0.0
    return (n - 1) * latency_s + (n - 1) / n * size_bytes / bw_bytes_per_s


def all_gather_s(size_bytes: float, n: int, bw_bytes_per_s: float, latency_s: float) -> float:
    """Ring all-gather into an ``S``-byte result: ``(n-1)·alpha + (n-1)/n · S/B`` [s]."""
    return reduce_scatter_s(size_bytes, n, bw_bytes_per_s, latency_s)


def all_to_all_s(size_bytes: float, n: int, bw_bytes_per_s: float, latency_s: float) -> float:
    """Pairwise all-to-all, each rank sending ``S`` bytes in all: ``(n-1)·alpha + (n-1)/n·S/B``.

    Each rank keeps ``1/n`` of its buffer and sends the rest over its own link [s].
    """
    if n <= 1:
        return 0.0
    return (n - 1) * latency_s + (n - 1) / n * size_bytes / bw_bytes_per_s


def p2p_s(size_bytes: float, bw_bytes_per_s: float, latency_s: float) -> float:
    """Point-to-point send of ``S`` bytes: ``alpha + S/B`` [s]."""
    return latency_s + size_bytes / bw_bytes_per_s


AllReduceCost = Callable[[float, int, float, float], float]

#: All-reduce algorithms by name: ``(size_bytes, n, bw_bytes_per_s, latency_s) -> s``.
ALL_REDUCE_ALGORITHMS: dict[str, AllReduceCost] = {}


def register_all_reduce(name: str, cost: AllReduceCost) -> None:
    """Add an all-reduce algorithm; a name already registered is refused."""
    if name in ALL_REDUCE_ALGORITHMS or name == "best":
        raise ValueError(f"all-reduce algorithm {name!r} is already registered")
    ALL_REDUCE_ALGORITHMS[name] = cost


register_all_reduce("ring", ring_all_reduce_s)
register_all_reduce("tree", tree_all_reduce_s)


def all_reduce_s(
    size_bytes: float, n: int, bw_bytes_per_s: float, latency_s: float, algorithm: str = "best"
) -> float:
    """All-reduce with a registered ``algorithm``, or ``"best"``: the fastest of them [s]."""
    if algorithm == "best":
        return min(cost(size_bytes, n, bw_bytes_per_s, latency_s) for cost in ALL_REDUCE_ALGORITHMS.values())
    if algorithm not in ALL_REDUCE_ALGORITHMS:
        known = ", ".join(sorted(ALL_REDUCE_ALGORITHMS))
        raise ValueError(f"unknown all-reduce algorithm {algorithm!r}; use best or {known}")
    return ALL_REDUCE_ALGORITHMS[algorithm](size_bytes, n, bw_bytes_per_s, latency_s)


def hierarchical_all_reduce_s(size_bytes: float, levels: Sequence[Level]) -> float:
    """All-reduce over nested levels, innermost first [s].

    Reduce-scatter inside each level on the shrinking shard, all-reduce across the outermost
    level on ``S / prod(inner ranks)``, then all-gather back out — the two-level scheme NCCL
    uses across NVLink and the network. One level is a flat ring/tree all-reduce.
    """
    if not levels:
        return 0.0
    total, shard = _inner_levels_s(size_bytes, levels[:-1])
    top = levels[-1]
    return total + all_reduce_s(shard, top.ranks, top.bw_bytes_per_s, top.latency_s)


def _inner_levels_s(size_bytes: float, inner: Sequence[Level]) -> tuple[float, float]:
    """Reduce-scatter down and all-gather back up through ``inner`` levels: (time [s], the shard
    [bytes] left for the outermost level)."""
    total = 0.0
    shard = size_bytes
    for level in inner:
        total += 2.0 * reduce_scatter_s(shard, level.ranks, level.bw_bytes_per_s, level.latency_s)
        shard /= level.ranks
    return total, shard


def hierarchical_reduce_scatter_s(size_bytes: float, levels: Sequence[Level]) -> float:
    """Reduce-scatter over nested levels, innermost first: each level on its shard [s]."""
    total = 0.0
    shard = size_bytes
    for level in levels:
        total += reduce_scatter_s(shard, level.ranks, level.bw_bytes_per_s, level.latency_s)
        shard /= level.ranks
    return total


def hierarchical_all_gather_s(size_bytes: float, levels: Sequence[Level]) -> float:
    """All-gather over nested levels (the mirror of the reduce-scatter) [s]."""
    return hierarchical_reduce_scatter_s(size_bytes, levels)


def in_network_all_reduce_s(size_bytes: float, levels: Sequence[Level]) -> float:
    """All-reduce whose scale-out level reduces in the switches (SHARP-style) [s].

    Inner levels reduce-scatter and all-gather as in :func:`hierarchical_all_reduce_s`; on
    the outermost (scale-out) level every rank sends its shard up the switch tree once and
    receives the reduced shard once: ``S/B`` plus a latency of ``2·alpha`` (up and down the
    aggregation tree) instead of the ring's ``2(n-1)/n·S/B`` and ``2(n-1)·alpha`` (Graham et
    al., "Scalable Hierarchical Aggregation Protocol (SHArP)", COMHPC 2016; NVIDIA Quantum-2
    SHARPv3 and NCCL's CollNet algorithm). Deliberately outside the all-reduce registry: it
    beats the host-based bandwidth bound that registry's contract checks.
    """
    if not levels:
        return 0.0
    total, shard = _inner_levels_s(size_bytes, levels[:-1])
    top = levels[-1]
    if top.ranks <= 1:
        return total
    return total + 2.0 * top.latency_s + shard / top.bw_bytes_per_s


def group_levels(
    size: int,
    stride: int,
    domain: int,
    up: tuple[float, float],
    out: tuple[float, float],
) -> tuple[Level, ...]:
    """Levels of a group of ``size`` ranks placed ``stride`` apart in GPU order.

    GPUs ``[k·domain, (k+1)·domain)`` share a scale-up domain. A group whose members are
    ``stride`` apart has ``min(size, domain // stride)`` members per domain (at least 1) on
    the scale-up link ``up = (bw, latency)``; the rest span domains over the scale-out link
    ``out``. Each GPU drives its own scale-out port (rail-optimized), so concurrent groups do
    not share bandwidth.
    """
    if size <= 1:
        return ()
    inside = max(1, min(size, domain // max(stride, 1)))
    while size % inside:  # a group splits evenly over the domains it touches
        inside -= 1
    levels: list[Level] = []
    if inside > 1:
        levels.append(Level(inside, up[0], up[1]))
    if size // inside > 1:
        levels.append(Level(size // inside, out[0], out[1]))
    return tuple(levels)
