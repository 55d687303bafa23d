"""The owner's data cap on the car's side: a 30-day window of compute bytes, kept across
restarts, and how many units of a known size still fit."""

from __future__ import annotations

from pathlib import Path

from megapod.agent.datacap import FILE_NAME, WINDOW_S, DataMeter
from megapod.fleet.engine import CAP_MONTH_S


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_units_allowed_fit_what_is_left_of_the_cap() -> None:
    m = DataMeter(wall=Clock())
    assert m.units_allowed(1000.0, 5) == 1  # no unit seen: one, whatever its size
    m.add(100)
    m.saw_units(300, 2)  # 150 B a unit
    m.saw_units(200, 2)  # a smaller round does not lower the estimate
    assert m.unit_bytes == 150.0
    assert m.units_allowed(1000.0, 10) == 6  # (1000 - 100) // 150
    assert m.units_allowed(1000.0, 4) == 4
    m.add(800)
    assert m.units_allowed(1000.0, 4) == 0  # 100 B left: less than a unit
    assert m.units_allowed(900.0, 4) == 0  # at the cap


def test_the_window_is_the_simulators_month_and_rolls_over() -> None:
    assert WINDOW_S == CAP_MONTH_S == 30 * 86400.0
    clock = Clock()
    m = DataMeter(wall=clock)
    m.add(500)
    clock.now += WINDOW_S - 1
    assert m.units_allowed(500.0, 1) == 0
    clock.now += 1
    assert m.units_allowed(500.0, 1) == 1 and m.window_bytes == 0
    clock.now += 2.5 * WINDOW_S  # whole windows from the first one's start
    m.add(7)
    assert m.window_start_s == 1_700_000_000.0 + 3 * WINDOW_S and m.window_bytes == 7
    assert m.moved_bytes == 507


def test_the_count_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    m = DataMeter(tmp_path, wall=clock)
    m.add(1234)
    m.saw_units(400, 1)
    assert (tmp_path / FILE_NAME).is_file() and not list(tmp_path.glob("*.tmp"))
    clock.now += 86400.0
    again = DataMeter(tmp_path, wall=clock)
    assert (again.window_bytes, again.unit_bytes, again.window_start_s) == (1234, 400.0, m.window_start_s)
    clock.now += WINDOW_S
    assert DataMeter(tmp_path, wall=clock).window_bytes == 0
