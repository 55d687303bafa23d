"""Step a twin against the wall clock: simulated time runs ``speed`` times faster than real time
(as SimPy's ``rt.RealtimeEnvironment`` does with its ``factor``), so a server can drive it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from megapod.sim.twin.simulator import Twin


class RealTimeDriver:
    """Keeps ``twin``'s clock at ``start + speed · (wall time since start)``.

    ``step()`` brings the twin up to the present and returns the simulated time; a server calls
    it on a timer (or before answering a request). ``wall`` is the clock to read [s] (injectable
    for tests). The twin stops at its horizon.
    """

    def __init__(self, twin: Twin, speed: float = 1.0, wall: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed {speed!r} must be a finite number above 0")
        self.twin = twin
        self.speed = speed
        self._wall = wall
        self._wall0 = wall()
        self._sim0 = twin.clock if twin.started else 0.0

    def target_s(self) -> float:
        """Simulated time that corresponds to now on the wall clock [s]."""
        t = self._sim0 + (self._wall() - self._wall0) * self.speed
        return min(t, self.twin.sc.horizon_s)

    def step(self) -> float:
        """Advance the twin to the present; returns its clock [s]."""
        t = self.target_s()
        if t > self.twin.clock or not self.twin.started:
            self.twin.advance_to(t)
        return self.twin.clock

    @property
    def finished(self) -> bool:
        """Whether the twin has reached its horizon."""
        return self.twin.started and self.twin.clock >= self.twin.sc.horizon_s

    def run(self, tick_s: float = 0.05, until: Callable[[], bool] | None = None) -> None:
        """Step every ``tick_s`` wall seconds until the horizon (or ``until()`` is true)."""
        while not self.finished and not (until is not None and until()):
            self.step()
            time.sleep(tick_s)
