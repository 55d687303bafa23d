"""Alpha-beta collective costs against hand calculations (Thakur et al. 2005) and invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from megapod.physics.perf.collectives import (
    ALL_REDUCE_ALGORITHMS,
    Level,
    all_gather_s,
    all_reduce_s,
    all_to_all_s,
    group_levels,
    hierarchical_all_reduce_s,
    p2p_s,
    reduce_scatter_s,
    register_all_reduce,
    ring_all_reduce_s,
    tree_all_reduce_s,
)

GB = 1e9


def test_ring_all_reduce_hand_calculation() -> None:
    # 8 ranks, 1 GB over 100 GB/s, 5 us per step: 2·7·5 us + 2·7/8·1 GB / 100 GB/s
    expected = 14 * 5e-6 + 1.75 * GB / (100 * GB)
    assert ring_all_reduce_s(GB, 8, 100 * GB, 5e-6) == pytest.approx(expected)


def test_tree_all_reduce_hand_calculation() -> None:
    # 1024 ranks: 2·log2(1024)=20 latency steps, 2·S/B bandwidth term
    expected = 20 * 1e-5 + 2 * GB / (50 * GB)
    assert tree_all_reduce_s(GB, 1024, 50 * GB, 1e-5) == pytest.approx(expected)


def test_single_rank_costs_nothing() -> None:
    for fn in (ring_all_reduce_s, tree_all_reduce_s, reduce_scatter_s, all_gather_s, all_to_all_s):
        assert fn(GB, 1, GB, 1e-6) == 0.0


def test_tree_wins_small_messages_ring_wins_large() -> None:
    n, bw, lat = 4096, 50 * GB, 1e-5
    assert tree_all_reduce_s(1e3, n, bw, lat) < ring_all_reduce_s(1e3, n, bw, lat)
    # on few ranks the ring's 2(n-1)/n beats the tree's 2 for large buffers
    assert ring_all_reduce_s(10 * GB, 8, bw, lat) < tree_all_reduce_s(10 * GB, 8, bw, lat)
    assert all_reduce_s(1e3, n, bw, lat) == tree_all_reduce_s(1e3, n, bw, lat)


@given(size=st.floats(1e3, 1e11), n=st.integers(2, 4096))
def test_reduce_scatter_plus_all_gather_is_ring_all_reduce(size: float, n: int) -> None:
    bw, lat = 100 * GB, 3e-6
    rs_ag = reduce_scatter_s(size, n, bw, lat) + all_gather_s(size, n, bw, lat)
    assert rs_ag == pytest.approx(ring_all_reduce_s(size, n, bw, lat))


@given(size=st.floats(1e3, 1e11), grow=st.floats(1.01, 10.0), n=st.integers(2, 512))
def test_costs_grow_with_size(size: float, grow: float, n: int) -> None:
    for fn in (ring_all_reduce_s, tree_all_reduce_s, reduce_scatter_s, all_to_all_s):
        assert fn(size * grow, n, GB, 1e-6) > fn(size, n, GB, 1e-6)


def test_hierarchical_single_level_is_flat() -> None:
    assert hierarchical_all_reduce_s(GB, [Level(8, 300 * GB, 5e-6)]) == pytest.approx(
        all_reduce_s(GB, 8, 300 * GB, 5e-6)
    )


def test_hierarchical_two_levels_hand_calculation() -> None:
    # 8 in a node at 300 GB/s, 16 nodes at 25 GB/s: RS and AG inside on 1 GB, all-reduce of
    # 1/8 GB across the nodes (the faster of ring and tree)
    inner, outer = Level(8, 300 * GB, 5e-6), Level(16, 25 * GB, 1e-5)
    inside = 2 * reduce_scatter_s(GB, 8, 300 * GB, 5e-6)
    across = all_reduce_s(GB / 8, 16, 25 * GB, 1e-5)
    assert hierarchical_all_reduce_s(GB, [inner, outer]) == pytest.approx(inside + across)
    # and it beats a flat ring at the slow link's speed
    assert hierarchical_all_reduce_s(GB, [inner, outer]) < ring_all_reduce_s(GB, 128, 25 * GB, 1e-5)


def test_p2p() -> None:
    assert p2p_s(GB, 50 * GB, 1e-5) == pytest.approx(1e-5 + 0.02)


def test_group_levels_place_groups_by_stride() -> None:
    up, out = (300 * GB, 5e-6), (25 * GB, 1e-5)
    assert group_levels(8, 1, 8, up, out) == (Level(8, *up),)  # TP inside a node
    assert group_levels(64, 8, 8, up, out) == (Level(64, *out),)  # DP across nodes
    assert group_levels(32, 2, 8, up, out) == (Level(4, *up), Level(8, *out))
    assert group_levels(1, 1, 8, up, out) == ()


@given(size=st.integers(1, 4096), stride=st.integers(1, 64), domain=st.sampled_from([4, 8, 72]))
def test_group_levels_cover_the_group(size: int, stride: int, domain: int) -> None:
    levels = group_levels(size, stride, domain, (1.0, 0.0), (1.0, 0.0))
    assert math.prod(lv.ranks for lv in levels) == size
    assert all(lv.ranks > 1 for lv in levels)


@pytest.mark.parametrize("name", sorted(ALL_REDUCE_ALGORITHMS))
@given(size=st.floats(1e3, 1e11), n=st.integers(1, 4096), lat=st.floats(0.0, 1e-4))
def test_every_all_reduce_algorithm_honours_the_contract(name: str, size: float, n: int, lat: float) -> None:
    """Shared contract: free on one rank, never below the bandwidth lower bound 2(n-1)/n·S/B
    (Patarasuk and Yuan, JPDC 2009), growing with the buffer."""
    cost = ALL_REDUCE_ALGORITHMS[name]
    bw = 50 * GB
    if n == 1:
        assert cost(size, n, bw, lat) == 0.0
        return
    assert cost(size, n, bw, lat) >= 2 * (n - 1) / n * size / bw * (1 - 1e-12)
    assert cost(2 * size, n, bw, lat) > cost(size, n, bw, lat)
    assert all_reduce_s(size, n, bw, lat) <= cost(size, n, bw, lat)


def test_registry_refuses_duplicates_and_unknown_names() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_all_reduce("ring", ring_all_reduce_s)
    with pytest.raises(ValueError, match="unknown all-reduce algorithm"):
        all_reduce_s(GB, 8, GB, 0.0, algorithm="butterfly")
