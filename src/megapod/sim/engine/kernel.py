"""The event kernel: a clock and a heap of plain tuples keyed by (time, priority, sequence).

Ties in time are broken by ``priority`` (lower first), then by the order of scheduling, so a
run is deterministic. Cancelling is lazy: a cancelled sequence number is skipped when popped.
Events carry an integer ``kind`` and an integer ``payload``; the model above the kernel decides
what they mean (cf. SimPy's ``core.py`` event queue, which keys its heap the same way).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

Event = tuple[float, int, int, int, int]
"""(time_s, priority, seq, kind, payload)."""


class EventKernel:
    """Clock plus event heap. ``schedule`` returns a handle that ``cancel`` accepts."""

    __slots__ = ("_cancelled", "_pending", "_seq", "events_processed", "heap", "now_s")

    def __init__(self, start_s: float = 0.0) -> None:
        self.now_s = start_s
        #: The event heap (read it, never change it: an empty heap means no event is left).
        self.heap: list[Event] = []
        self._seq = 0
        self._cancelled: set[int] = set()
        #: Handles of events scheduled and neither run nor cancelled.
        self._pending: set[int] = set()
        self.events_processed = 0

    def schedule(self, time_s: float, kind: int, payload: int = 0, priority: int = 0) -> int:
        """Schedule an event at absolute ``time_s`` (not before now); returns its handle."""
        if time_s < self.now_s or math.isnan(time_s):
            raise ValueError(f"cannot schedule at {time_s} s, before the clock ({self.now_s} s)")
        seq = self._seq
        self._seq = seq + 1
        self._pending.add(seq)
        heapq.heappush(self.heap, (time_s, priority, seq, kind, payload))
        return seq

    def cancel(self, handle: int) -> None:
        """Cancel a scheduled event; cancelling one already run or cancelled does nothing."""
        if handle in self._pending:
            self._pending.discard(handle)
            self._cancelled.add(handle)

    def __len__(self) -> int:
        """Live events: scheduled, not yet run and not cancelled."""
        return len(self._pending)

    def peek_s(self) -> float:
        """Time of the next live event, or +inf when none is left."""
        heap = self.heap
        while heap and heap[0][2] in self._cancelled:
            self._cancelled.discard(heapq.heappop(heap)[2])
        return heap[0][0] if heap else math.inf

    def pop(self) -> Event | None:
        """Remove the next live event, advance the clock to it and return it (None if empty)."""
        heap = self.heap
        cancelled = self._cancelled
        while heap:
            event = heapq.heappop(heap)
            if cancelled and event[2] in cancelled:
                cancelled.discard(event[2])
                continue
            self.now_s = event[0]
            self.events_processed += 1
            self._pending.discard(event[2])
            return event
        return None

    def run_until(self, end_s: float, handler: Callable[[Event], None]) -> None:
        """Pop and hand events to ``handler`` until the next is after ``end_s``; clock ends there."""
        heap = self.heap
        cancelled = self._cancelled
        pop = heapq.heappop
        while heap and heap[0][0] <= end_s:
            event = pop(heap)
            if cancelled and event[2] in cancelled:
                cancelled.discard(event[2])
                continue
            self.now_s = event[0]
            self.events_processed += 1
            self._pending.discard(event[2])
            handler(event)
        self.now_s = max(self.now_s, end_s)
