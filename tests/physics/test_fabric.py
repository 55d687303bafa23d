from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from megapod.physics import fabric


def test_two_tier_fat_tree_of_64_port_switches() -> None:
    # Al-Fares et al. 2008: a 2-tier folded Clos of radix-k switches attaches k^2/2 hosts.
    assert fabric.max_endpoints(64, 2) == 2048
    # 1,024 endpoints: 32 leaves (32 down, 32 up each) and 1024 uplinks on 16 spines of 64.
    assert fabric.switch_count(1024, 64, 2) == 48


def test_three_tier_capacity() -> None:
    assert fabric.max_endpoints(64, 3) == 64**3 // 4


def test_oversubscription_frees_leaf_ports() -> None:
    assert fabric.leaf_down_ports(64, 1.0) == 32
    assert fabric.leaf_down_ports(64, 3.0) == 48
    assert fabric.bisection_bps(1024, 400e9, 2.0) == pytest.approx(1024 * 400e9 / 4)


@given(st.integers(1, 200_000), st.sampled_from([32, 40, 64, 128, 144]), st.floats(1.0, 8.0))
def test_leaves_attach_every_endpoint(endpoints: int, radix: int, oversub: float) -> None:
    leaves = fabric.leaf_switches(endpoints, radix, oversub)
    down = fabric.leaf_down_ports(radix, oversub)
    assert leaves * down >= endpoints > (leaves - 1) * down
    assert fabric.switch_count(endpoints, radix, 2, oversub) >= leaves
