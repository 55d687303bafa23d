"""Mixed pools: nodes of several sizes and GPU types, CPU-only nodes, CPU and memory limits and
GPU sharing. Placement never exceeds a node's GPUs, GPU shares (1000 milli a GPU), CPU or
memory, and never splits a job that one node can hold."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st

from megapod.sim.twin.cluster import Allocation, Cluster
from megapod.sim.twin.mixed import GPU_MILLI, MixedNodes
from megapod.sim.twin.policies import PLACEMENTS

BEST = PLACEMENTS["consolidated"]
INF = math.inf


def _cluster(gpus: list[int], types: list[str], cpu: list[float], mem: list[float]) -> Cluster:
    c = Cluster(gpus, [0] * len(gpus), ["pool"])
    c.describe_nodes(types, cpu, mem)
    if not c.partitions[0].mixed:
        c.make_mixed(0)
    return c


def _mixed(c: Cluster) -> MixedNodes:
    assert c.mixed is not None
    return c.mixed


def _job(c: Cluster, milli: int = 0, cpu: float = 0.0, mem: float = 0.0, types: str = "") -> int:
    """A new job index with these requests."""
    r = _mixed(c).req
    j = len(r.milli)
    r.append_default()
    r.milli[j], r.cpu_milli[j], r.memory_mib[j] = milli, cpu, mem
    r.types[j] = frozenset(types.split("|")) if types else None
    return j


def _nodes(a: Allocation) -> set[int]:
    return set(a[0]) | {n for n, _ in a[1]}


def test_mixed_sizes_in_one_pool_never_split_a_single_node_job() -> None:
    c = Cluster([8, 2, 4, 1], [0, 0, 0, 0], ["pool"])
    assert c.partitions[0].mixed and c.partitions[0].size_gpus == 15
    a = c.place(0, 4, BEST)
    assert a is not None and a[0] == [] and a[1] == [(2, 4)]  # best fit: the 4-GPU node, whole
    b = c.place(0, 3, BEST)  # 2 + 1 free elsewhere would hold 3 GPUs, split: never
    assert b is not None and b[1] == [(0, 3)]
    assert c.place(0, 6, BEST) is None  # 5 GPUs left on node 0: no one node holds 6
    assert c.can_fit(0, 5) and not c.can_fit(0, 6)
    assert c.release(b, -1) == 3 and c.partitions[0].free_gpus == 11


def test_gang_larger_than_every_node_takes_whole_nodes_of_the_largest_size() -> None:
    c = Cluster([8, 8, 8, 2], [0, 0, 0, 0], ["pool"])
    a = c.place(0, 18, BEST, 0)
    assert a == ([0, 1], [(3, 2)])  # two whole 8s; the remainder by best fit on the 2-GPU node
    assert c.partitions[0].free_gpus == 26 - 18
    assert c.never_fits(0, 25, 0, 0.0, 0.0, None) is None  # 3 × 8 and 1 on the 2-GPU node
    assert c.never_fits(0, 27, 0, 0.0, 0.0, None) == "larger_than_any_pool"  # no node left for 3


def test_cpu_only_nodes_run_cpu_only_jobs() -> None:
    c = _cluster([0, 8], ["", "V100M32"], [32_000, 96_000], [131_072, 786_432])
    cpu_job = _job(c, cpu=8_000, mem=16_384)
    a = c.place(0, 0, BEST, cpu_job)
    assert a is not None and _nodes(a) == {0}  # best fit: the CPU-only node, not the GPU node
    assert _mixed(c).cpu_free[0] == 24_000 and c.partitions[0].free_gpus == 8
    gpu_job = _job(c, cpu=4_000, mem=8_192)
    b = c.place(0, 1, BEST, gpu_job)
    assert b is not None and _nodes(b) == {1}  # a GPU job never lands on a CPU-only node
    big = _job(c, cpu=200_000)
    assert c.place(0, 0, BEST, big) is None
    assert c.never_fits(0, 0, 0, 200_000.0, 0.0, None) == "larger_than_any_pool"
    c.release(a, cpu_job)
    assert _mixed(c).cpu_free[0] == 32_000


def test_gpu_sharing_packs_jobs_on_one_gpu_and_never_above_1000_milli() -> None:
    c = _cluster([2, 1], ["T4", "A10"], [INF, INF], [INF, INF])
    jobs = [_job(c, milli=250) for _ in range(4)]
    allocs = [c.place(0, 1, BEST, j) for j in jobs]
    assert all(a is not None for a in allocs)
    used = _mixed(c).used
    assert used[1] == [1000]  # best fit packs the 1-GPU node's GPU to 1000 milli exactly
    assert used[0] == [0, 0] and c.partitions[0].free_gpus == 2
    half = _job(c, milli=500)
    h = c.place(0, 1, BEST, half)
    assert h is not None and sorted(used[0]) == [0, 500]
    assert sum(_mixed(c).busy_of(j) for j in jobs) == 1  # four jobs, one busy GPU
    # the shared GPU is idle only when its last share leaves
    idle = [c.release(a, j) for a, j in zip(allocs, jobs, strict=True) if a is not None]
    assert idle == [0, 0, 0, 1]
    spread = _cluster([1, 1], ["T4", "T4"], [INF, INF], [INF, INF])
    j1, j2 = _job(spread, milli=300), _job(spread, milli=300)
    a1 = spread.place(0, 1, PLACEMENTS["spread"], j1)
    a2 = spread.place(0, 1, PLACEMENTS["spread"], j2)
    assert a1 is not None and a2 is not None and _nodes(a1) != _nodes(a2)  # worst fit spreads


def test_gpu_type_constraint_is_honoured() -> None:
    c = _cluster([8, 8, 4], ["V100M16", "G3", "P100"], [INF] * 3, [INF] * 3)
    j = _job(c, types="P100|T4")
    a = c.place(0, 4, BEST, j)
    assert a is not None and _nodes(a) == {2}
    k = _job(c, types="P100")
    assert c.place(0, 1, BEST, k) is None  # the P100 node is full; the V100 and G3 nodes may not serve
    assert c.never_fits(0, 1, 0, 0.0, 0.0, frozenset({"H800"})) == "no_node_of_type"
    assert c.never_fits(0, 8, 0, 0.0, 0.0, frozenset({"P100"})) == "larger_than_any_pool"


def test_down_nodes_leave_the_pool_and_come_back() -> None:
    c = Cluster([8, 2], [0, 0], ["pool"])
    c.set_up(0, False)
    part = c.partitions[0]
    assert (part.free_gpus, part.up_gpus) == (2, 2)
    assert c.place(0, 4, BEST) is None
    c.set_up(0, True)
    c.set_many([0, 1], False)
    c.set_many([0, 1], True)
    assert (part.free_gpus, part.up_gpus) == (10, 10)


def test_a_gang_takes_whole_only_nodes_that_no_job_holds() -> None:
    # a job of no GPU holds its node though it leaves every GPU idle and, where the node has
    # no CPU or memory limit (or the job asks for none), CPU and memory left unchanged
    c = _cluster([8, 8, 2], ["A", "A", "A"], [INF, INF, 8_000.0], [INF, INF, 16_384.0])
    mx = _mixed(c)
    cpu_job = _job(c, cpu=2_000)
    a = c.place(0, 0, PLACEMENTS["spread"], cpu_job)
    assert a is not None
    (held,) = _nodes(a)
    assert held in (0, 1) and mx.cpu_free[held] == mx.cpu_cap[held] and c.node_free[held] == 8
    gang = _job(c)
    g = c.place(0, 9, BEST, gang)
    assert g == ([1 - held], [(2, 1)])  # the other 8-GPU node whole, the remainder by best fit
    assert mx.exclusive == {1 - held}
    empty = _job(c)  # asks for nothing at all
    e = c.place(0, 0, PLACEMENTS["spread"], empty)
    assert e is not None and _nodes(e) == {held}
    c.release(a, cpu_job)
    second = _job(c)
    assert not c.can_fit(0, 9, second, BEST) and c.place(0, 9, BEST, second) is None
    c.release(e, empty)
    assert c.can_fit(0, 9, second, BEST)
    assert c.place(0, 9, BEST, second) == ([held], [(2, 1)])
    assert mx.exclusive == {0, 1}


# ------------------------------------------------------------ property test
NODE = st.tuples(
    st.sampled_from([0, 1, 2, 4, 8]),
    st.sampled_from(["A", "B"]),
    st.sampled_from([8_000.0, 32_000.0, INF]),
    st.sampled_from([16_384.0, 65_536.0, INF]),
)
JOB = st.tuples(
    st.integers(0, 12),  # GPUs
    st.sampled_from([0, 0, 100, 250, 500, 700]),  # share
    st.sampled_from([0.0, 2_000.0, 8_000.0]),
    st.sampled_from([0.0, 8_192.0, 32_768.0]),
    st.sampled_from(["", "", "A", "B", "A|B"]),
    st.sampled_from(sorted(PLACEMENTS)),
)
OPS = st.lists(
    st.tuples(st.sampled_from(["place", "place", "release", "down", "up"]), st.integers(0, 50), JOB),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(NODE, min_size=1, max_size=6), OPS)
# a job of no GPU asking for nothing, then a gang that takes its node whole
@example(
    nodes=[(1, "A", 8_000.0, 16_384.0), (8, "A", 8_000.0, 16_384.0)],
    ops=[("place", 0, (0, 0, 0.0, 0.0, "", "spread")), ("place", 0, (9, 0, 0.0, 0.0, "", "consolidated"))],
)
# a CPU-only job on a node of no CPU limit (its CPU left stays inf), then the same gang
@example(
    nodes=[(8, "A", INF, INF), (1, "A", INF, INF)],
    ops=[
        ("place", 0, (0, 0, 2_000.0, 0.0, "", "spread")),
        ("place", 0, (9, 0, 0.0, 0.0, "", "consolidated")),
    ],
)
def test_no_gpu_share_cpu_or_memory_is_ever_over_allocated(
    nodes: list[tuple[int, str, float, float]],
    ops: list[tuple[str, int, tuple[int, int, float, float, str, str]]],
) -> None:
    c = _cluster([n[0] for n in nodes], [n[1] for n in nodes], [n[2] for n in nodes], [n[3] for n in nodes])
    mx = _mixed(c)
    held: dict[int, Allocation] = {}
    for op, pick, (gpus, milli, cpu, mem, types, mode) in ops:
        busy = {n for a in held.values() for n in _nodes(a)}
        if op == "place":
            g = 1 if milli else gpus
            j = _job(c, milli=milli, cpu=cpu, mem=mem, types=types)
            fit = c.can_fit(0, g, j, PLACEMENTS[mode])
            a = c.place(0, g, PLACEMENTS[mode], j)
            assert (a is not None) == fit
            if a is not None:
                held[j] = a
                on = _nodes(a)
                assert all(c.node_up[n] for n in on)
                if milli or g <= mx.largest(0, mx.req.types[j]):
                    assert len(on) == 1 and a[0] == []  # one node holds it: never split
                allowed = mx.req.types[j]
                if g or milli:
                    assert all(
                        c.node_gpus[n] > 0 and (allowed is None or mx.gpu_type[n] in allowed) for n in on
                    )
        elif op == "release" and held:
            j = sorted(held)[pick % len(held)]
            c.release(held.pop(j), j)
        elif op in ("down", "up") and (pick % len(nodes)) not in busy:
            c.set_up(pick % len(nodes), op == "up")
        for n in range(len(nodes)):
            assert all(0 <= u <= GPU_MILLI for u in mx.used[n])
            assert int(c.node_free[n]) == sum(1 for u in mx.used[n] if u == 0)
            assert mx.cpu_free[n] >= -1e-9 and mx.mem_free[n] >= -1e-9
            assert mx.cpu_free[n] <= mx.cpu_cap[n] and mx.mem_free[n] <= mx.mem_cap[n]
        # every share on every GPU belongs to a held job (nothing leaks, nothing is double-counted)
        want = [[0] * c.node_gpus[n] for n in range(len(nodes))]
        for grants, _ in mx.grants.values():
            for node, idx, take, _, _ in grants:
                for i in idx:
                    want[node][i] += take
        assert want == mx.used
        for node in mx.exclusive:  # a node a gang holds whole holds nothing else
            owners = {j for j, (grants, _) in mx.grants.items() for g in grants if g[0] == node}
            assert len(owners) == 1
        assert set(mx.grants) == set(held)
        part = c.partitions[0]
        assert part.free_gpus == sum(int(c.node_free[i]) for i in range(len(nodes)) if c.node_up[i])
