"""A name → implementation registry that refuses duplicate names."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from megapod.errors import SpecError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """Implementations users swap by name (queueing, placement, checkpoint, outage response)."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        """Add ``item`` under ``name``; a name already taken is refused."""
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._items[name] = item
        return item

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
