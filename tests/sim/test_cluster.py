"""Cluster state: placements never over-commit a node (no GPU holds two jobs)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from megapod.sim.twin.cluster import Cluster

OPS = st.lists(
    st.tuples(st.sampled_from(["place", "release", "down", "up"]), st.integers(1, 40),
              st.sampled_from(["consolidated", "spread", "topology"])),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(OPS)
def test_no_gpu_is_held_twice(ops: list[tuple[str, int, str]]) -> None:
    node_gpus = [8] * 6 + [4] * 2
    c = Cluster(node_gpus, [0] * 8, ["all"])
    held: list[list[tuple[int, int]]] = []
    for op, n, mode in ops:
        if op == "place":
            a = c.place(0, n, mode)
            if a is not None:
                assert sum(t for _, t in a) == n
                assert all(c.node_up[node] for node, _ in a)
                held.append(a)
        elif op == "release" and held:
            c.release(held.pop(n % len(held)))
        elif op in ("down", "up"):
            node = n % 8
            if op == "up" or all(node not in {x for x, _ in a} for a in held):
                c.set_up(node, op == "up")
        use = [0] * 8
        for a in held:
            for node, t in a:
                use[node] += t
        for node in range(8):
            assert use[node] + c.node_free[node] == node_gpus[node]  # every GPU is free xor held once
            assert 0 <= c.node_free[node] <= node_gpus[node]
        up_free = sum(c.node_free[i] for i in range(8) if c.node_up[i])
        assert c.partitions[0].free_gpus == up_free


def test_consolidated_is_best_fit_and_spread_worst_fit() -> None:
    c = Cluster([8, 8, 8], [0, 0, 0], ["p"])
    assert c.place(0, 6, "consolidated") == [(0, 6)]
    assert c.place(0, 2, "consolidated") == [(0, 2)]  # fills node 0 exactly
    assert c.place(0, 2, "spread") == [(1, 2)]
    assert c.place(0, 3, "spread") == [(2, 3)]  # the emptiest node
    assert c.place(0, 12, "consolidated") is None or c.partitions[0].free_gpus >= 0
