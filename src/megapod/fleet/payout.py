"""Payout schemes: how the money for accepted work reaches the owners of the cars that did it.

Every scheme reads the same run — the validated *shares* (one per result that matched the
accepted result of its unit, in acceptance order) and the *blocks* (one per accepted unit, with
its revenue) — and returns each owner's payout in whole micro-dollars. What the owners are not
paid is the operator's margin (it may be negative: pay-per-share pays for every share whether
or not the work is sold at a profit).

* ``pay-per-share`` (PPS): a fixed price per validated token, for every matching replica.
* ``pplns`` (pay per last N shares, as mining pools pay): each block's owner pool
  (``owner_share × revenue``) is split over the last ``pplns_window`` shares, by tokens.
* ``revenue-share``: each block's owner pool is split over that unit's own shares.

Register another with ``PAYOUT_SCHEMES.register(name, fn)``; it passes the shared contract
test in ``tests/fleet``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from megapod.fleet.ledger import MICRO_USD
from megapod.registry import Registry
from megapod.spec.fleet import FleetEconomics

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ShareLog:
    """The validated shares and accepted units of a run, in acceptance order.

    Attributes:
        share_host: the car (0..hosts-1) that returned each share.
        share_tokens: tokens of each share.
        block_end: for each accepted unit, how many shares existed once it was accepted (its
            own shares are the last ones before that index).
        block_revenue_micro_usd: what the customer paid for each accepted unit [µUSD].
        hosts: number of cars.
    """

    share_host: npt.NDArray[np.int64]
    share_tokens: FloatArray
    block_end: npt.NDArray[np.int64]
    block_revenue_micro_usd: IntArray
    hosts: int


PayoutFn = Callable[[ShareLog, FleetEconomics], IntArray]

#: The payout schemes, by name.
PAYOUT_SCHEMES: Registry[PayoutFn] = Registry("payout scheme")


def _per_host(log: ShareLog, share_usd_micro: FloatArray) -> IntArray:
    """Sum per-share amounts per car and round down to whole micro-dollars (never overpays)."""
    total = np.bincount(log.share_host, weights=share_usd_micro, minlength=log.hosts)
    return np.floor(total).astype(np.int64)


@PAYOUT_SCHEMES.register("pay-per-share")
def pay_per_share(log: ShareLog, econ: FleetEconomics) -> IntArray:
    """A fixed ``pps_usd_per_mtok`` for every validated token, sold or not."""
    rate = econ.pps_usd_per_mtok * MICRO_USD / 1e6
    return _per_host(log, log.share_tokens * rate)


@PAYOUT_SCHEMES.register("revenue-share")
def revenue_share(log: ShareLog, econ: FleetEconomics) -> IntArray:
    """Each unit's ``owner_share × revenue`` split over its own shares, by tokens."""
    n = log.share_host.size
    if n == 0:
        return np.zeros(log.hosts, dtype=np.int64)
    starts = np.concatenate(([0], log.block_end[:-1]))
    block_of = np.repeat(np.arange(log.block_end.size), log.block_end - starts)
    weight = np.add.reduceat(log.share_tokens, starts) if starts.size else np.zeros(0)
    pool = econ.owner_share * log.block_revenue_micro_usd.astype(np.float64)
    return _per_host(log, log.share_tokens * (pool / weight)[block_of])


@PAYOUT_SCHEMES.register("pplns")
def pplns(log: ShareLog, econ: FleetEconomics) -> IntArray:
    """Each unit's owner pool split over the last ``pplns_window`` shares, by tokens.

    Share ``s`` is in the window of every block whose end ``e`` has ``s < e <= s + N``; it
    earns its tokens times the sum of those blocks' pool per token (prefix sums, no loop).
    The prefix sums are taken in extended precision: a window's weight is a difference of
    two sums over the whole log, which in float64 loses ``ε·Σtokens`` — whole micro-dollars
    once a small window follows a long log of large shares.
    """
    n = log.share_host.size
    if n == 0:
        return np.zeros(log.hosts, dtype=np.int64)
    window = econ.pplns_window
    wide = np.longdouble
    cum = np.concatenate(([wide(0)], np.cumsum(log.share_tokens, dtype=wide)))
    ends = log.block_end
    weight = cum[ends] - cum[np.maximum(ends - window, 0)]
    rate = wide(econ.owner_share) * log.block_revenue_micro_usd.astype(wide) / weight
    rate_cum = np.concatenate(([wide(0)], np.cumsum(rate)))
    s = np.arange(n)
    lo = np.searchsorted(ends, s, side="right")
    hi = np.searchsorted(ends, s + window, side="right")
    return _per_host(log, (log.share_tokens * (rate_cum[hi] - rate_cum[lo])).astype(np.float64))
