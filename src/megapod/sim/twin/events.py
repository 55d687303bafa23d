"""The twin's event kinds and the table through which each component claims its own.

The kernel (``megapod.sim.engine``) carries an integer ``kind`` and ``payload`` and knows
nothing of what they mean. Each component of the twin (faults, power plant, scheduler, a
compute tier) registers a handler for the kinds it owns in one :class:`Handlers` table; the
twin's loop dispatches the kernel's events through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from enum import IntEnum
from typing import Protocol

from megapod.sim.engine import EventKernel

Handler = Callable[[int], None]
"""Takes the event's payload; the clock already reads the event's time."""


class EventKind(IntEnum):
    """Kinds of the twin's timed events (the kernel's integer ``kind``)."""

    FAILURE = 0
    REPAIR = 1
    SPARE_BACK = 2
    WEATHER = 3
    GRID_START = 4
    GRID_END = 5
    GEN_UP = 6
    BATTERY_EMPTY = 7
    SHED = 8
    CANCEL = 9
    TIER = 10
    OPERATOR = 11
    PREEMPT = 12

    @property
    def priority(self) -> int:
        """Order among events at the same instant (lower first): supply returns and repairs
        before anything that depends on them; failures and weather last."""
        return _PRIORITY[self]


_PRIORITY = {
    EventKind.GRID_END: 0,
    EventKind.REPAIR: 1,
    EventKind.SPARE_BACK: 1,
    EventKind.TIER: 1,
    EventKind.GEN_UP: 2,
    EventKind.BATTERY_EMPTY: 3,
    EventKind.SHED: 3,
    EventKind.GRID_START: 4,
    EventKind.FAILURE: 5,
    EventKind.WEATHER: 6,
    EventKind.CANCEL: 7,
    EventKind.OPERATOR: 7,
    EventKind.PREEMPT: 7,
}


def schedule(kernel: EventKernel, time_s: float, kind: EventKind, payload: int = 0) -> int:
    """Schedule ``kind`` at ``time_s`` with its named priority; returns the kernel's handle."""
    return kernel.schedule(time_s, kind, payload, _PRIORITY[kind])


class Handlers(Mapping[int, Handler]):
    """Event kind → the one handler that owns it; a second claim on a kind is refused."""

    def __init__(self) -> None:
        self._table: dict[int, Handler] = {}

    def on(self, kind: EventKind, handler: Handler) -> None:
        """Claim ``kind`` for ``handler``."""
        if kind in self._table:
            raise ValueError(f"event kind {kind.name} already has a handler")
        self._table[kind] = handler

    def __getitem__(self, kind: int) -> Handler:
        return self._table[kind]

    def __iter__(self) -> Iterator[int]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


class Component(Protocol):
    """A part of the twin with events of its own."""

    def register(self, handlers: Handlers) -> None:
        """Claim the event kinds this component handles."""

    def start(self, kernel: EventKernel) -> None:
        """Schedule the component's first events (once, when the run begins)."""
