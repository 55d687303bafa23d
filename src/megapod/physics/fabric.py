"""Fabric sizing: switch counts and bisection bandwidth of folded-Clos (fat-tree) networks.

References:
    Al-Fares, Loukissas, Vahdat, "A Scalable, Commodity Data Center Network Architecture",
    SIGCOMM 2008 (k-ary fat tree: a tier-t tree of radix-k switches serves k^t / 2^(t-1) hosts).
    NVIDIA DGX SuperPOD reference architecture (rail-optimized leaf/spine with 1:1 ratio).
"""

from __future__ import annotations

import math


def max_endpoints(radix: int, tiers: int, oversubscription: float = 1.0) -> int:
    """Endpoints a ``tiers``-level folded Clos of ``radix``-port switches can serve.

    Non-blocking: ``radix * (radix/2)^(tiers-1)``. A leaf oversubscribed ``o:1`` gives
    ``radix * o / (1 + o)`` of its ports to endpoints instead of ``radix / 2``.
    """
    down = _leaf_down_ports(radix, oversubscription)
    return int(down * 2 * (radix / 2) ** (tiers - 1)) if tiers > 1 else radix


def leaf_switches(endpoints: int, radix: int, oversubscription: float = 1.0) -> int:
    """Leaf switches needed to attach ``endpoints`` NIC ports [count]."""
    return math.ceil(endpoints / _leaf_down_ports(radix, oversubscription)) if endpoints else 0


def leaf_down_ports(radix: int, oversubscription: float = 1.0) -> int:
    """Ports of one leaf that face endpoints for a down:up ratio of ``oversubscription``:1."""
    return _leaf_down_ports(radix, oversubscription)


def _leaf_down_ports(radix: int, oversubscription: float) -> int:
    if radix < 2:
        raise ValueError(f"radix must be ≥ 2, got {radix}")
    return max(1, math.floor(radix * oversubscription / (1.0 + oversubscription)))


def switch_count(endpoints: int, radix: int, tiers: int, oversubscription: float = 1.0) -> int:
    """Total switches of a folded Clos for ``endpoints`` ports [count].

    The leaf tier is sized by :func:`leaf_switches`; each upper tier carries the leaves'
    uplink ports (``radix - down``) on switches whose ports all face downward at the top tier
    and half downward in between.
    """
    if endpoints <= 0:
        return 0
    leaves = leaf_switches(endpoints, radix, oversubscription)
    if tiers == 1:
        return leaves
    up_ports = leaves * (radix - _leaf_down_ports(radix, oversubscription))
    total = leaves
    for tier in range(2, tiers + 1):
        per_switch = radix if tier == tiers else radix // 2
        switches = math.ceil(up_ports / per_switch)
        total += switches
        up_ports = switches * (radix - per_switch)
    return total


def bisection_bps(endpoints: int, nic_rate_bps: float, oversubscription: float = 1.0) -> float:
    """Bisection bandwidth of a fat tree [bit/s]: half the injection bandwidth, divided by the
    leaf oversubscription (the narrowest cut of a folded Clos is at the leaf uplinks)."""
    return endpoints * nic_rate_bps / 2.0 / max(oversubscription, 1.0)
