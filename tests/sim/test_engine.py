"""The event kernel: ordering, ties, cancellation, run-until."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from megapod.sim.engine import EventKernel


def test_ties_break_by_priority_then_schedule_order() -> None:
    k = EventKernel()
    k.schedule(5.0, kind=1, payload=0, priority=2)
    k.schedule(5.0, kind=2, payload=0, priority=1)
    k.schedule(5.0, kind=3, payload=0, priority=1)
    k.schedule(1.0, kind=4)
    order = []
    k.run_until(10.0, lambda ev: order.append(ev[3]))
    assert order == [4, 2, 3, 1]
    assert k.now_s == 10.0


def test_cancel_skips_event_and_past_is_refused() -> None:
    k = EventKernel()
    h = k.schedule(2.0, kind=1)
    k.schedule(3.0, kind=2)
    k.cancel(h)
    assert k.peek_s() == 3.0
    ev = k.pop()
    assert ev is not None and ev[3] == 2 and k.now_s == 3.0
    with pytest.raises(ValueError, match="before the clock"):
        k.schedule(1.0, kind=1)
    assert k.pop() is None and k.peek_s() == math.inf


def test_run_until_leaves_later_events() -> None:
    k = EventKernel()
    k.schedule(1.0, kind=1)
    k.schedule(7.0, kind=2)
    seen: list[float] = []
    k.run_until(5.0, lambda ev: seen.append(ev[0]))
    assert seen == [1.0] and len(k) == 1 and k.now_s == 5.0


@given(st.lists(st.tuples(st.floats(0, 1e6), st.integers(0, 3)), min_size=1, max_size=200))
def test_time_never_runs_backward(items: list[tuple[float, int]]) -> None:
    k = EventKernel()
    for t, p in items:
        k.schedule(t, kind=0, priority=p)
    seen: list[tuple[float, int]] = []
    k.run_until(2e6, lambda ev: seen.append((ev[0], ev[1])))
    assert seen == sorted(seen)
    assert len(seen) == len(items)


def test_len_counts_live_events_only_after_cancelling_one_that_ran() -> None:
    k = EventKernel()
    h = k.schedule(1.0, 0)
    k.schedule(2.0, 0)
    k.pop()
    k.cancel(h)  # already ran: nothing to cancel
    k.cancel(h)
    assert len(k) == 1
    k.pop()
    assert len(k) == 0 and k.pop() is None
