"""The data-cap window both the agent and the coordinator keep."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from megapod.fleet.rules import window_start_s

MONTH_S = 30 * 86400.0


@given(st.floats(0, 1e9), st.floats(0, 1e10))
def test_the_window_holds_now_and_starts_a_whole_number_of_windows_on(start: float, ahead: float) -> None:
    now = start + ahead
    begun = window_start_s(start, now, MONTH_S)
    assert begun <= now < begun + MONTH_S * (1 + 1e-9)
    assert abs(round((begun - start) / MONTH_S) * MONTH_S - (begun - start)) <= 1e-6 * max(1.0, begun)


def test_inside_the_first_window_nothing_moves() -> None:
    assert window_start_s(100.0, 100.0 + MONTH_S - 1, MONTH_S) == 100.0
    assert window_start_s(100.0, 100.0 + 2.5 * MONTH_S, MONTH_S) == 100.0 + 2 * MONTH_S
