"""Small helpers of the control-plane tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from megapod.serve.backends.devices import CpuDevices
from megapod.serve.backends.local import LocalBackend


def wait_for(check: Callable[[], Any], timeout_s: float = 10.0, every_s: float = 0.05) -> Any:
    """Poll ``check`` until it answers something true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s (last: {value!r})")
        time.sleep(every_s)


class CpuOnlyLocal(LocalBackend):
    """The local backend on this machine's CPUs, without starting Ray."""

    def start(self, clock_s: float = 0.0) -> None:
        self.devices = CpuDevices()
        self._readings = self.devices.sample()

    def stop(self) -> None:
        pass
