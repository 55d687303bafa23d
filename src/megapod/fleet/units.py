"""The open work units of a run and the replicas the cars hold, as arrays.

A unit is issued as replicas to distinct cars; each replica's result lands in one slot of the
unit (:data:`RUNNING`, then :data:`CORRECT`, :data:`WRONG` or :data:`LOST`). The server sees
only which results agree: wrong results never agree with each other, so the largest agreeing
group is the correct results when there is one, else a single wrong result. A unit is accepted
once that group reaches its quorum; closed units leave the pool (:meth:`UnitPool.compact`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from megapod.fleet.rules import replicas_wanted

#: Result slot codes.
EMPTY, RUNNING, CORRECT, WRONG, LOST = 0, 1, 2, 3, 4

IntArray = npt.NDArray[np.int64]
#: Per-unit columns (the slot tables ``hosts`` and ``results`` aside).
_COLUMNS = ("deadline_s", "quorum", "target", "issued", "in_flight", "correct", "wrong")
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


class UnitPool:
    """Open units: deadlines, quorum, replicas issued and in flight, and each slot's car and result.

    Args:
        max_replicas: slots per unit (a unit fails once it has used them all).
    """

    def __init__(self, max_replicas: int) -> None:
        self.slots = max_replicas
        self.size = 0
        self.created = 0
        cap = 1024
        self.deadline_s = np.zeros(cap)
        self.quorum = np.zeros(cap, dtype=np.int64)
        self.target = np.zeros(cap, dtype=np.int64)
        self.issued = np.zeros(cap, dtype=np.int64)
        self.in_flight = np.zeros(cap, dtype=np.int64)
        self.correct = np.zeros(cap, dtype=np.int64)
        self.wrong = np.zeros(cap, dtype=np.int64)
        self.hosts = np.full((cap, max_replicas), -1, dtype=np.int64)
        self.results = np.zeros((cap, max_replicas), dtype=np.int8)

    def _grow(self, need: int) -> None:
        cap = self.deadline_s.size
        if need <= cap:
            return
        new = max(need, 2 * cap)
        for name in _COLUMNS:
            old = getattr(self, name)
            arr = np.zeros(new, dtype=old.dtype)
            arr[: self.size] = old[: self.size]
            setattr(self, name, arr)
        hosts = np.full((new, self.slots), -1, dtype=np.int64)
        hosts[: self.size] = self.hosts[: self.size]
        results = np.zeros((new, self.slots), dtype=np.int8)
        results[: self.size] = self.results[: self.size]
        self.hosts, self.results = hosts, results

    def add(self, count: int, deadline_s: float, quorum: int, replicas: int) -> None:
        """Submit ``count`` units due by ``deadline_s``, each wanting ``replicas`` replicas."""
        if count <= 0:
            return
        self._grow(self.size + count)
        s = slice(self.size, self.size + count)
        self.deadline_s[s] = deadline_s
        self.quorum[s] = quorum
        self.target[s] = replicas
        self.issued[s] = 0
        self.in_flight[s] = 0
        self.correct[s] = 0
        self.wrong[s] = 0
        self.hosts[s] = -1
        self.results[s] = EMPTY
        self.size += count
        self.created += count

    def counts(self) -> tuple[IntArray, IntArray]:
        """Correct and wrong results of each open unit."""
        return self.correct[: self.size], self.wrong[: self.size]

    def agreeing(self) -> IntArray:
        """Size of the largest group of agreeing results of each open unit."""
        correct, wrong = self.counts()
        return np.where(correct > 0, correct, np.minimum(wrong, 1))

    def need(self) -> IntArray:
        """Replicas each open unit still wants issued now."""
        n = self.size
        want = replicas_wanted(
            self.target[:n], self.issued[:n], self.quorum[:n], self.agreeing(), self.in_flight[:n], self.slots
        )
        return np.asarray(want, dtype=np.int64)

    def assign(self, units: IntArray, hosts: IntArray) -> IntArray:
        """Issue one replica of each of ``units`` to the matching car of ``hosts``; returns
        the slots used. The caller has made sure no car already holds a slot of its unit."""
        slots = self.issued[units].copy()
        self.hosts[units, slots] = hosts
        self.results[units, slots] = RUNNING
        self.issued[units] += 1
        self.in_flight[units] += 1
        return slots

    def report(self, units: IntArray, slots: IntArray, outcome: npt.NDArray[np.int8]) -> None:
        """Close replicas ``(units, slots)`` with ``outcome`` (correct, wrong or lost)."""
        self.results[units, slots] = outcome
        n = self.size
        self.in_flight[:n] -= np.bincount(units, minlength=n)
        self.correct[:n] += np.bincount(units, weights=outcome == CORRECT, minlength=n).astype(np.int64)
        self.wrong[:n] += np.bincount(units, weights=outcome == WRONG, minlength=n).astype(np.int64)

    def compact(self, keep: BoolArray) -> IntArray:
        """Drop the open units not in ``keep``; return the new index of every old one (-1: gone)."""
        n = self.size
        index = np.full(n, -1, dtype=np.int64)
        kept = np.flatnonzero(keep[:n])
        index[kept] = np.arange(kept.size)
        for name in _COLUMNS:
            arr = getattr(self, name)
            arr[: kept.size] = arr[kept]
        self.hosts[: kept.size] = self.hosts[kept]
        self.results[: kept.size] = self.results[kept]
        self.size = int(kept.size)
        return index
