"""The consoles commands print to: a terminal keeps its width; a pipe or file gets tables at
their natural width (rich would otherwise cut them to 80 columns with "…")."""

from __future__ import annotations

import sys

from rich.console import Console

#: Width used when the output is not a terminal: wide enough that no table is cut.
PIPE_WIDTH = 1000


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that never truncates when piped."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else PIPE_WIDTH)
