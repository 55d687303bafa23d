"""The process a Ray actor runs for one rank of a job, with its output kept line by line.

This module is imported by Ray workers; it needs nothing beyond the standard library.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Any

#: Longest line kept [characters]; the rest is cut and marked.
MAX_LINE = 4000
#: Lines a rank keeps; later output is counted but dropped.
MAX_LINES = 100_000


class Runner:
    """Runs one argument vector in its own process group and buffers its output lines."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.dropped = 0
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    def start(self, argv: list[str], env: dict[str, str]) -> int:
        """Start ``argv`` (no shell) with ``env`` added to the environment; returns its pid."""
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env={**os.environ, **env},
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.rstrip("\n")
            if len(line) > MAX_LINE:
                line = line[:MAX_LINE] + " […]"
            with self._lock:
                if len(self.lines) < MAX_LINES:
                    self.lines.append(line)
                else:
                    self.dropped += 1

    def read(self, offset: int) -> tuple[list[str], int | None]:
        """Lines from ``offset`` on, and the exit code (``None`` while it runs or output is
        still being read)."""
        code = None
        if self.proc is not None:
            code = self.proc.poll()
            if code is not None and self._reader is not None:
                self._reader.join(timeout=1.0)
                if self._reader.is_alive():
                    code = None
        with self._lock:
            return self.lines[offset:], code

    def stop(self, grace_s: float = 2.0) -> int | None:
        """Terminate the process group (SIGTERM, then SIGKILL after ``grace_s``)."""
        p = self.proc
        if p is None or p.poll() is not None:
            return None if p is None else p.returncode
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                return p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        return p.poll()

    def info(self) -> dict[str, Any]:
        """Pid and node of the process (for the allocation record)."""
        return {"pid": None if self.proc is None else self.proc.pid, "host": os.uname().nodename}
