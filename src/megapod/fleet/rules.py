"""The fleet's rules as pure functions, shared by the simulator and the live coordinator.

The simulator (:mod:`megapod.fleet.engine`) applies them to arrays of cars and units; the
control plane's coordinator (:mod:`megapod.serve.fleet`) to the rows of one unit or one car.
Every function takes numpy arrays as happily as scalars (except :func:`largest_group`, which
reads one unit's results).

* Quorum: a unit is accepted once its largest group of identical results reaches its quorum.
* Replicas wanted: ``max(target − issued, quorum − agreeing − in_flight)``, clipped to the
  slots left (``max_replicas − issued``).
* Adaptive replication (as BOINC does): a car with ``trust_after`` consecutive valid results
  runs a unit alone, except for a ``spot_check`` share; a wrong result found by a quorum
  resets its count.
* The owner's battery floor with hysteresis: compute stops at ``soc <= min_soc`` and resumes
  only at ``soc >= min_soc + hysteresis``.
* Revenue of a unit in whole micro-dollars, and the payout still owed when a payout scheme's
  cumulative amounts are settled more than once.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from megapod.fleet.ledger import MICRO_USD

H = TypeVar("H", bound=Hashable)
IntArray = npt.NDArray[np.int64]


def largest_group(results: Iterable[H]) -> tuple[H | None, int]:
    """The most common result and how many returned it (``(None, 0)`` with no results).

    Ties go to the result seen first, so the answer does not depend on a hash order.
    """
    counts = Counter(results)
    if not counts:
        return None, 0
    best = max(counts.values())
    for value, n in counts.items():  # insertion order: the first to reach the top count
        if n == best:
            return value, n
    raise AssertionError("unreachable")  # pragma: no cover


def replicas_wanted(target: Any, issued: Any, quorum: Any, agreeing: Any, in_flight: Any, slots: Any) -> Any:
    """Replicas a unit still wants issued now: enough to reach its ``target`` replicas and to
    be able to reach its quorum, never more than its ``slots`` (``max_replicas``) in all."""
    want = np.maximum(np.subtract(target, issued), np.subtract(np.subtract(quorum, agreeing), in_flight))
    return np.clip(want, 0, np.subtract(slots, issued))


def runs_alone(reputation: Any, trust_after: int, draw: Any, spot_check: float) -> Any:
    """Whether a unit's first replica goes to its car alone (quorum 1) under adaptive
    replication: the car is trusted (``reputation >= trust_after`` consecutive valid results)
    and the unit is not drawn for a spot check (``draw`` uniform in [0, 1))."""
    return np.logical_and(np.greater_equal(reputation, trust_after), np.greater_equal(draw, spot_check))


def next_reputation(reputation: Any, valid: Any, caught: Any) -> Any:
    """A car's count of consecutive valid results after a unit is accepted: ``valid`` more
    results matched, or back to 0 when a result of its was ``caught`` disagreeing."""
    return np.where(caught, 0, np.add(reputation, valid))


def window_start_s(start_s: float, now_s: float, window_s: float) -> float:
    """Start of the window of ``window_s`` holding ``now_s``, for windows laid end to end from
    ``start_s`` (the owner's data-cap month: whole windows, never a drifting start) [s]."""
    passed = now_s - start_s
    return start_s + math.floor(passed / window_s) * window_s if passed >= window_s else start_s


def soc_latch(soc: Any, latch: Any, min_soc: float, hysteresis: float) -> Any:
    """The owner's battery latch: off at ``soc <= min_soc``, on at ``soc >= min_soc +
    hysteresis``, unchanged between (no flapping around the threshold)."""
    return np.where(
        np.less_equal(soc, min_soc), False, np.where(np.greater_equal(soc, min_soc + hysteresis), True, latch)
    )


def revenue_micro_usd(tokens: float, price_usd_per_mtok: float) -> int:
    """What a customer pays for a unit of ``tokens`` at ``price_usd_per_mtok`` [µUSD, whole]."""
    return round(tokens / 1e6 * price_usd_per_mtok * MICRO_USD)


def still_owed(cumulative_micro_usd: IntArray, paid_micro_usd: IntArray) -> IntArray:
    """What a payout scheme owes each owner beyond what was paid already [µUSD].

    Schemes return cumulative amounts rounded down; adding accepted units never lowers them
    (every scheme only adds to earlier shares' pay), so the increment is ≥ 0, and booking only
    increments pays exactly what one settlement of the whole log would.
    """
    owed = np.asarray(cumulative_micro_usd, dtype=np.int64) - np.asarray(paid_micro_usd, dtype=np.int64)
    return np.asarray(np.maximum(owed, 0), dtype=np.int64)


def charged_soc(
    soc: Any, dt_s: float, charger_power_w: float, charger_efficiency: float, battery_wh: float, limit: float
) -> Any:
    """State of charge after ``dt_s`` on a home charger: ``charger_power_w × efficiency × dt /
    battery_wh`` more, up to ``limit`` (a battery already above it is left as it is)."""
    gain = charger_power_w * charger_efficiency * dt_s / 3600.0 / battery_wh
    return np.where(np.less(soc, limit), np.minimum(np.add(soc, gain), limit), soc)


def drained_soc(soc: Any, dt_s: float, draw_w: float, battery_wh: float) -> Any:
    """State of charge after drawing ``draw_w`` from the battery for ``dt_s`` (never below 0)."""
    return np.maximum(np.subtract(soc, draw_w * dt_s / 3600.0 / battery_wh), 0.0)
