"""Cluster state: placements never over-commit a node (no GPU holds two jobs)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from megapod.sim.twin.cluster import Allocation, Cluster
from megapod.sim.twin.policies import PLACEMENTS

BEST = PLACEMENTS["consolidated"]

OPS = st.lists(
    st.tuples(
        st.sampled_from(["place", "release", "down", "up", "blackout"]),
        st.integers(1, 40),
        st.sampled_from(sorted(PLACEMENTS)),
    ),
    max_size=120,
)


def _pieces(a: Allocation, g: int) -> list[tuple[int, int]]:
    return [(n, g) for n in a[0]] + list(a[1])


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_no_gpu_is_held_twice(ops: list[tuple[str, int, str]]) -> None:
    g, nodes = 8, 8
    c = Cluster([g] * nodes, [0] * nodes, ["all"])
    held: list[Allocation] = []
    for op, n, mode in ops:
        busy_nodes = {x for a in held for x, _ in _pieces(a, g)}
        if op == "place":
            a = c.place(0, n, PLACEMENTS[mode])
            if a is not None:
                assert sum(t for _, t in _pieces(a, g)) == n
                assert all(c.node_up[node] for node, _ in _pieces(a, g))
                held.append(a)
        elif op == "release" and held:
            c.release(held.pop(n % len(held)))
        elif op in ("down", "up") and (n % nodes) not in busy_nodes:
            c.set_up(n % nodes, op == "up")
        elif op == "blackout" and not held:
            c.set_many(list(range(nodes)), n % 2 == 0)
        use = [0] * nodes
        for a in held:
            for node, t in _pieces(a, g):
                use[node] += t
        for node in range(nodes):
            assert use[node] + int(c.node_free[node]) == g  # every GPU is free xor held once
        part = c.partitions[0]
        assert part.free_gpus == sum(int(c.node_free[i]) for i in range(nodes) if c.node_up[i])
        assert len(set(part.full)) == len(part.full)
        assert c.can_fit(0, 1) == (part.free_gpus > 0)


def test_consolidated_is_best_fit_and_spread_prefers_empty_nodes() -> None:
    c = Cluster([8, 8, 8], [0, 0, 0], ["p"])
    a = c.place(0, 6, BEST)
    assert a is not None and a[0] == [] and a[1][0][1] == 6
    first = a[1][0][0]
    b = c.place(0, 2, BEST)
    assert b is not None and b[1] == [(first, 2)]  # fills that node exactly
    s = c.place(0, 3, PLACEMENTS["spread"])
    assert s is not None and s[1][0][0] != first
    assert c.place(0, 16, BEST) is None  # one full node left: no room for two
    w = c.place(0, 8, BEST)
    assert w is not None and len(w[0]) == 1


def test_partition_with_mixed_node_sizes_is_placed_node_by_node() -> None:
    c = Cluster([8, 4], [0, 0], ["p"])
    assert c.partitions[0].mixed and c.partitions[0].size_gpus == 12
    assert not Cluster([8, 8], [0, 0], ["p"]).partitions[0].mixed  # one size: the fast path
