"""The owner's data cap on the car's side: bytes moved for compute in a 30-day window.

The agent counts the bytes of its compute traffic (the bodies of ``POST /api/v1/fleet/work``
and of its result uploads, both ways; headers and the limits it reads are not counted) in a
window of 30 days, the simulator's cap period (``megapod.fleet.engine.CAP_MONTH_S``). It
asks for units only while the window's bytes plus those of the units asked for stay within
the owner's ``data_cap_bytes_per_month``, a unit's bytes taken as the most a unit has moved
so far (before its first unit a car cannot know: it asks for one). With a state folder the
count is kept in ``data-use.json`` (written to a temporary name and renamed), so a restarted
agent does not start its month again.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from megapod.fleet.engine import CAP_MONTH_S as WINDOW_S  # the cap's period [s]: 30 days
from megapod.fleet.rules import window_start_s

#: The file, in the agent's state folder, that keeps the window's count.
FILE_NAME = "data-use.json"


class DataMeter:
    """Bytes moved for compute in the current 30-day window.

    Args:
        folder: the agent's state folder (``None``: the count lives in memory only).
        wall: wall clock [s since the epoch] (tests pass their own).
    """

    def __init__(self, folder: Path | None = None, wall: Callable[[], float] = time.time) -> None:
        self.folder, self.wall = folder, wall
        self.window_start_s = wall()
        self.window_bytes = 0
        self.moved_bytes = 0  # bytes counted since this meter was made (never reset) [B]
        self.unit_bytes = 0.0  # the most bytes one unit has moved so far [B]
        if folder is not None and (folder / FILE_NAME).is_file():
            doc = json.loads((folder / FILE_NAME).read_text(encoding="utf-8"))
            self.window_start_s = float(doc["window_start_s"])
            self.window_bytes = int(doc["window_bytes"])
            self.unit_bytes = float(doc.get("unit_bytes", 0.0))
        self._roll()

    def _roll(self) -> None:
        """Start a new window when the current one has run out (whole windows from its start)."""
        start = window_start_s(self.window_start_s, self.wall(), WINDOW_S)
        if start != self.window_start_s:
            self.window_start_s, self.window_bytes = start, 0

    def add(self, n_bytes: int) -> None:
        """Count ``n_bytes`` moved now [B]."""
        self._roll()
        self.window_bytes += max(int(n_bytes), 0)
        self.moved_bytes += max(int(n_bytes), 0)
        self._save()

    def saw_units(self, n_bytes: int, units: int) -> None:
        """A round of ``units`` units moved ``n_bytes`` in all: keep the most per unit [B]."""
        if units > 0:
            self.unit_bytes = max(self.unit_bytes, n_bytes / units)
            self._save()

    def units_allowed(self, cap_bytes: float, wanted: int) -> int:
        """How many of ``wanted`` units fit what is left of ``cap_bytes`` this window."""
        self._roll()
        left = cap_bytes - self.window_bytes
        if left <= 0 or wanted <= 0:
            return 0
        if self.unit_bytes <= 0:
            return 1  # no unit seen yet: its size is unknown, ask for one
        return min(wanted, int(left // self.unit_bytes))

    def _save(self) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / FILE_NAME
        tmp = final.with_name(final.name + ".tmp")
        doc = {
            "window_start_s": self.window_start_s,
            "window_bytes": self.window_bytes,
            "unit_bytes": self.unit_bytes,
        }
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, final)
