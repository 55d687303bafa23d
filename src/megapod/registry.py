"""The one registry mechanism: name → implementation, for everything users swap by name
(queueing, placement, checkpoint and outage policies of the twin, battery dispatch, power
mitigation strategies, physical checks).

A spec names an implementation by a string. ``require(what, name)`` tells whether a name
is registered without the spec layer importing the engines: the module that fills a registry
is listed in ``PROVIDERS`` and imported on first use (as a plugin entry point would be).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar, overload

from megapod.errors import SpecError

T = TypeVar("T")

#: Every registry by what it holds.
REGISTRIES: dict[str, Registry[object]] = {}
#: Module that fills each registry, imported when a spec asks for the registry's names.
PROVIDERS: dict[str, str] = {
    "queueing policy": "megapod.sim.twin.queueing",
    "placement policy": "megapod.sim.twin.policies",
    "checkpoint policy": "megapod.sim.twin.policies",
    "outage response": "megapod.sim.twin.policies",
    "trace format": "megapod.traces.formats",
    "physical check": "megapod.planner.checks",
    "payout scheme": "megapod.fleet.payout",
    "dispatch policy": "megapod.sim.twin.dispatch",
    "compute tier": "megapod.fleet.tier",
}


class Registry(Mapping[str, T], Generic[T]):
    """Implementations users swap by name; a duplicate name is refused."""

    def __init__(self, what: str, index: bool = True) -> None:
        """``index``: list it in :data:`REGISTRIES` (off for a private, throw-away registry)."""
        if index and what in REGISTRIES:
            raise ValueError(f"a registry of {what} exists already")
        self.what = what
        self._items: dict[str, T] = {}
        if index:
            REGISTRIES[what] = self  # type: ignore[assignment]

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...
    @overload
    def register(self, name: str, item: T) -> T: ...
    def register(self, name: str, item: T | None = None) -> T | Callable[[T], T]:
        """Add ``item`` under ``name``; without ``item``, a decorator that does."""

        def add(it: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.what} {name!r} is already registered")
            self._items[name] = it
            return it

        return add if item is None else add(item)

    def lookup(self, name: str, field: str) -> T:
        """The implementation ``name``, or a :class:`SpecError` at ``field`` listing the known ones."""
        if name not in self._items:
            raise SpecError(field, f"unknown {self.what} {name!r}; known: {', '.join(sorted(self._items))}")
        return self._items[name]

    def __getitem__(self, name: str) -> T:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def known(what: str) -> list[str]:
    """Sorted names in the registry of ``what`` (importing its provider on first use; a
    registry made in one module may be filled by its provider, so an empty one imports it)."""
    if what in PROVIDERS and not REGISTRIES.get(what):
        importlib.import_module(PROVIDERS[what])
    return sorted(REGISTRIES[what])


def require(what: str, name: str) -> str:
    """``name`` if the registry of ``what`` holds it, else a ValueError listing the known names
    (for spec validators: pydantic reports it at the field)."""
    names = known(what)
    if name not in names:
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(names)}")
    return name
