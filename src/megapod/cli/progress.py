"""Progress of long commands, on stderr: a bar with an ETA on a terminal, one line now and then
when stderr is a file or a pipe (a log reads "simulating: 42% after 12 s, about 17 s left").

Engines never print; they take a callback, and the command passes the one this module makes.
``MEGAPOD_PROGRESS=0`` in the environment turns progress off (for outputs kept verbatim).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from megapod.cli.console import make_console

#: Seconds before the first line when not on a terminal, and between lines after it.
FIRST_LINE_S = 2.0
LINE_EVERY_S = 10.0


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@contextmanager
def progress(label: str, total: float) -> Iterator[Callable[[float], None]]:
    """Yield ``update(done)``, where ``done`` counts up to ``total`` (seconds simulated, points…)."""
    if os.environ.get("MEGAPOD_PROGRESS") == "0":
        yield lambda done: None
        return
    console = make_console(stderr=True)
    if console.is_terminal:
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        with Progress(
            TextColumn(label),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=total)
            yield lambda done: bar.update(task, completed=done)
        return
    start = time.monotonic()
    next_line = start + FIRST_LINE_S

    def update(done: float) -> None:
        nonlocal next_line
        now = time.monotonic()
        if now < next_line or total <= 0:
            return
        next_line = now + LINE_EVERY_S
        fraction = min(max(done / total, 0.0), 1.0)
        elapsed = now - start
        left = f", about {_duration(elapsed * (1 - fraction) / fraction)} left" if fraction > 0 else ""
        sys.stderr.write(f"{label}: {fraction:.0%} after {_duration(elapsed)}{left}\n")
        sys.stderr.flush()

    yield update
