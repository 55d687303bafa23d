"""Invariants, for any fleet and any run: ledgers balance, no unit accepted without its quorum,
no car computing below its owner's minimum state of charge, no replica sent that could not fit."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from megapod.fleet import simulate
from megapod.fleet.ledger import CUSTOMER, OPERATOR, OWNER0, Ledger
from megapod.fleet.payout import PAYOUT_SCHEMES, ShareLog
from megapod.spec.fleet import Fleet, FleetEconomics


@st.composite
def share_logs(draw: st.DrawFn) -> ShareLog:
    hosts = draw(st.integers(1, 20))
    blocks = draw(st.lists(st.integers(1, 5), min_size=0, max_size=40))
    n = sum(blocks)
    share_host = np.asarray(draw(st.lists(st.integers(0, hosts - 1), min_size=n, max_size=n)), dtype=np.int64)
    tokens = np.asarray(draw(st.lists(st.floats(1.0, 1e7), min_size=n, max_size=n)))
    revenue = np.asarray(
        draw(st.lists(st.integers(0, 10**9), min_size=len(blocks), max_size=len(blocks))), dtype=np.int64
    )
    return ShareLog(share_host, tokens, np.cumsum(np.asarray(blocks, dtype=np.int64)), revenue, hosts)


@settings(max_examples=150, deadline=None)
@given(
    log=share_logs(),
    share=st.floats(0.0, 1.0),
    window=st.integers(1, 50),
    pps=st.floats(0.0, 1.0),
)
def test_payouts_plus_margin_is_revenue_and_pools_are_not_overpaid(
    log: ShareLog, share: float, window: int, pps: float
) -> None:
    econ = FleetEconomics(owner_share=share, pplns_window=window, pps_usd_per_mtok=pps)
    revenue = int(log.block_revenue_micro_usd.sum())
    for name, fn in PAYOUT_SCHEMES.items():
        paid = fn(log, econ)
        ledger = Ledger(log.hosts)
        ledger.book(CUSTOMER, OPERATOR, log.block_revenue_micro_usd)
        ledger.book(OPERATOR, OWNER0 + np.arange(log.hosts), paid)
        bal = ledger.balances()
        assert bal.sum() == 0
        assert int(paid.sum()) + int(bal[OPERATOR]) == revenue
        assert (paid >= 0).all()
        if name != "pay-per-share":
            assert paid.sum() <= share * revenue + log.hosts  # floors only ever round down


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    cars=st.integers(20, 150),
    min_soc=st.floats(0.2, 0.8),
    hysteresis=st.floats(0.0, 0.15),
    unplugged=st.booleans(),
    replicas=st.integers(1, 3),
    adaptive=st.booleans(),
    faulty=st.floats(0.0, 0.5),
    hours=st.lists(st.integers(0, 23), min_size=1, max_size=24),
)
def test_run_invariants(
    seed: int,
    cars: int,
    min_soc: float,
    hysteresis: float,
    unplugged: bool,
    replicas: int,
    adaptive: bool,
    faulty: float,
    hours: list[int],
) -> None:
    quorum = max(1, replicas - 1) if replicas > 1 else 1
    f = Fleet.model_validate(
        {
            "vehicles": cars,
            "module": "tesla-ai4",
            "seed": seed,
            "horizon_s": "1 d",
            "step_s": "15 min",
            "owner": {
                "min_soc": min_soc,
                "soc_hysteresis": hysteresis,
                "allow_unplugged": unplugged,
                "allowed_hours": hours,
            },
            "validation": {
                "replication": "adaptive" if adaptive else "fixed",
                "replicas": replicas,
                "quorum": quorum,
                "faulty_share": faulty,
                "trust_after": 2,
            },
        }
    )
    r = simulate(f)
    sizes = np.diff(np.concatenate(([0], r.share_log.block_end)))
    assert (sizes >= r.block_quorum).all()
    if not adaptive and quorum >= 2:
        assert r.units["accepted_wrong"] == 0
    assert r.checks["min_soc_while_computing"] >= min_soc
    assert r.checks["min_issue_slack_s"] >= 0
    assert all(s.ledger_balanced for s in r.schemes)
    assert r.throughput["effective_ops"] <= r.throughput["nameplate_ops"]


def naive_pool_payouts(log: ShareLog, share: float, window: int | None) -> np.ndarray:
    """Each block's pool split over its window by tokens, block by block (the reference)."""
    paid = np.zeros(log.hosts)
    start = 0
    for end, revenue in zip(log.block_end, log.block_revenue_micro_usd, strict=True):
        lo = max(0, end - window) if window is not None else start
        hosts, tokens = log.share_host[lo:end], log.share_tokens[lo:end]
        for h, t in zip(hosts, tokens, strict=True):
            paid[h] += share * revenue * t / tokens.sum()
        start = end
    return paid


@settings(max_examples=100, deadline=None)
@given(log=share_logs(), share=st.floats(0.0, 1.0), window=st.integers(1, 30))
def test_pplns_and_revenue_share_match_a_block_by_block_reference(
    log: ShareLog, share: float, window: int
) -> None:
    econ = FleetEconomics(owner_share=share, pplns_window=window)
    for name, win in (("pplns", window), ("revenue-share", None)):
        got = PAYOUT_SCHEMES[name](log, econ)
        want = naive_pool_payouts(log, share, win)
        assert np.all(np.abs(got - want) <= 1.0 + 1e-9 * want)
