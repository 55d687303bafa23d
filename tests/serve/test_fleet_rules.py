"""The fleet's pure rules (shared by the simulator and the coordinator), property-tested."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from megapod.fleet.payout import PAYOUT_SCHEMES, ShareLog
from megapod.fleet.rules import (
    charged_soc,
    drained_soc,
    largest_group,
    next_reputation,
    replicas_wanted,
    revenue_micro_usd,
    runs_alone,
    soc_latch,
    still_owed,
)
from megapod.fleet.units import UnitPool
from megapod.spec.fleet import FleetEconomics


@given(st.lists(st.sampled_from("abcde"), max_size=12))
def test_largest_group_is_the_most_common_result(results: list[str]) -> None:
    value, count = largest_group(results)
    if not results:
        assert (value, count) == (None, 0)
        return
    counts = {r: results.count(r) for r in results}
    assert count == max(counts.values()) == counts[value]  # type: ignore[index]
    assert value == next(r for r in results if counts[r] == count)  # ties: the first seen


@given(
    target=st.integers(1, 8),
    issued=st.integers(0, 8),
    quorum=st.integers(1, 8),
    agreeing=st.integers(0, 8),
    in_flight=st.integers(0, 8),
    slots=st.integers(1, 8),
)
def test_replicas_wanted_reaches_the_target_and_the_quorum_within_the_slots(
    target: int, issued: int, quorum: int, agreeing: int, in_flight: int, slots: int
) -> None:
    issued = min(issued, slots)
    in_flight = min(in_flight, issued)
    want = int(replicas_wanted(target, issued, quorum, agreeing, in_flight, slots))
    assert 0 <= want <= slots - issued
    full = issued + want == slots
    assert full or issued + want >= target
    assert full or agreeing + in_flight + want >= quorum


def test_the_simulators_pool_uses_the_same_rule() -> None:
    pool = UnitPool(max_replicas=3)
    pool.add(2, deadline_s=100.0, quorum=2, replicas=2)
    pool.assign(np.array([0, 1]), np.array([5, 5]))
    pool.assign(np.array([0]), np.array([6]))
    pool.report(np.array([0, 0]), np.array([0, 1]), np.array([2, 3], dtype=np.int8))  # correct, wrong
    want = replicas_wanted(
        pool.target[:2], pool.issued[:2], pool.quorum[:2], pool.agreeing(), pool.in_flight[:2], 3
    )
    assert pool.need().tolist() == np.asarray(want).tolist() == [1, 1]


@given(soc=st.floats(0, 1), latch=st.booleans(), min_soc=st.floats(0, 0.9), hysteresis=st.floats(0, 0.1))
def test_the_battery_latch_has_hysteresis(soc: float, latch: bool, min_soc: float, hysteresis: float) -> None:
    on = bool(soc_latch(soc, latch, min_soc, hysteresis))
    if soc <= min_soc:
        assert not on
    elif soc >= min_soc + hysteresis:
        assert on
    else:
        assert on == latch


@given(soc=st.floats(0, 1), dt_s=st.floats(0, 1e5))
def test_charging_stops_at_the_limit_and_draining_at_zero(soc: float, dt_s: float) -> None:
    up = float(charged_soc(soc, dt_s, 7200.0, 0.85, 75_000.0, 0.9))
    assert up >= soc and (up <= 0.9 or up == soc)
    down = float(drained_soc(soc, dt_s, 410.0, 75_000.0))
    assert 0.0 <= down <= soc


@given(rep=st.integers(0, 50), valid=st.integers(0, 3), caught=st.booleans(), draw=st.floats(0, 0.999))
def test_reputation_and_trust(rep: int, valid: int, caught: bool, draw: float) -> None:
    nxt = int(next_reputation(rep, valid, caught))
    assert nxt == (0 if caught else rep + valid)
    assert bool(runs_alone(rep, 10, draw, 0.1)) == (rep >= 10 and draw >= 0.1)


@st.composite
def share_logs(draw: st.DrawFn) -> ShareLog:
    hosts = draw(st.integers(1, 5))
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=12))
    n = sum(sizes)
    host = draw(st.lists(st.integers(0, hosts - 1), min_size=n, max_size=n))
    tokens = draw(st.lists(st.sampled_from([1.0, 8.0, 1536.0, 1.5e6]), min_size=n, max_size=n))
    revenue = draw(st.lists(st.integers(0, 10**9), min_size=len(sizes), max_size=len(sizes)))
    return ShareLog(
        share_host=np.array(host, dtype=np.int64),
        share_tokens=np.array(tokens),
        block_end=np.cumsum(sizes).astype(np.int64),
        block_revenue_micro_usd=np.array(revenue, dtype=np.int64),
        hosts=hosts,
    )


@settings(max_examples=150, deadline=None)
@given(log=share_logs(), share=st.floats(0, 1), window=st.integers(1, 20))
def test_settling_block_by_block_pays_what_one_settlement_pays(
    log: ShareLog, share: float, window: int
) -> None:
    """The coordinator settles whenever asked: the increments are never negative and add up
    exactly to the scheme's amounts over the whole log."""
    econ = FleetEconomics(owner_share=share, pplns_window=window)
    for name in ("pay-per-share", "pplns", "revenue-share"):
        scheme = PAYOUT_SCHEMES[name]
        paid = np.zeros(log.hosts, dtype=np.int64)
        for k in range(1, log.block_end.size + 1):
            end = int(log.block_end[k - 1])
            prefix = ShareLog(
                log.share_host[:end],
                log.share_tokens[:end],
                log.block_end[:k],
                log.block_revenue_micro_usd[:k],
                log.hosts,
            )
            cumulative = scheme(prefix, econ)
            owed = still_owed(cumulative, paid)
            assert (cumulative - paid >= 0).all(), name  # the scheme never takes back
            paid += owed
        assert paid.tolist() == scheme(log, econ).tolist(), name


def test_revenue_of_a_unit_in_micro_dollars() -> None:
    assert revenue_micro_usd(1.5e6, 0.05) == 75_000
    assert revenue_micro_usd(8, 0.05) == 0
