"""This machine's accelerators through NVML, or its CPUs through psutil when NVML sees none.

NVML calls go through the ``pynvml`` module of nvidia-ml-py; units are converted at this edge
(NVML reports milliwatts and °C; we keep W and °C).
"""

from __future__ import annotations

import socket
from typing import Any

MW_PER_W = 1000.0


def _nvml() -> Any:
    import pynvml

    return pynvml


class NvmlDevices:
    """The GPUs NVML reports. Build with :meth:`open`, which answers ``None`` without NVML."""

    kind = "gpu"

    def __init__(self, nvml: Any, handles: list[Any]) -> None:
        self.nvml = nvml
        self.handles = handles
        self.names = [_text(nvml.nvmlDeviceGetName(h)) for h in handles]

    @classmethod
    def open(cls) -> NvmlDevices | None:
        """Initialise NVML; ``None`` when the library or a driver is missing or there is no GPU."""
        try:
            nvml = _nvml()
            nvml.nvmlInit()
        except Exception:  # NVMLError_LibraryNotFound, DriverNotLoaded, ImportError
            return None
        try:
            count = int(nvml.nvmlDeviceGetCount())
            handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except nvml.NVMLError:
            nvml.nvmlShutdown()
            return None
        if not handles:
            nvml.nvmlShutdown()
            return None
        return cls(nvml, handles)

    def close(self) -> None:
        """Shut NVML down."""
        self.nvml.nvmlShutdown()

    def _read(self, fn: str, *args: Any) -> Any:
        try:
            return getattr(self.nvml, fn)(*args)
        except self.nvml.NVMLError:  # a field this GPU does not support
            return None

    def sample(self) -> list[dict[str, Any]]:
        """One reading per GPU: power, temperature, utilization, SM clock, enforced limit."""
        n = self.nvml
        out = []
        for i, h in enumerate(self.handles):
            power = self._read("nvmlDeviceGetPowerUsage", h)
            temp = self._read("nvmlDeviceGetTemperature", h, n.NVML_TEMPERATURE_GPU)
            util = self._read("nvmlDeviceGetUtilizationRates", h)
            clock = self._read("nvmlDeviceGetClockInfo", h, n.NVML_CLOCK_SM)
            limit = self._read("nvmlDeviceGetEnforcedPowerLimit", h)
            out.append(
                {
                    "index": i,
                    "name": self.names[i],
                    "kind": "gpu",
                    "power_w": None if power is None else power / MW_PER_W,
                    "temperature_c": None if temp is None else float(temp),
                    "utilization": None if util is None else util.gpu / 100.0,
                    "clock_mhz": None if clock is None else float(clock),
                    "power_limit_w": None if limit is None else limit / MW_PER_W,
                }
            )
        return out

    def set_power_limit(self, cap_w: float | None) -> float | None:
        """Set every GPU's power limit (``None``: back to its default); returns the lowest
        enforced limit read back [W]."""
        n = self.nvml
        for h in self.handles:
            if cap_w is None:
                target = int(n.nvmlDeviceGetPowerManagementDefaultLimit(h))
            else:
                lo, hi = n.nvmlDeviceGetPowerManagementLimitConstraints(h)
                target = round(cap_w * MW_PER_W)
                if not lo <= target <= hi:
                    from megapod.errors import SpecError

                    raise SpecError(
                        "gpu_cap_w",
                        f"{cap_w:g} W is outside this GPU's range {lo / MW_PER_W:g}–{hi / MW_PER_W:g} W",
                    )
            n.nvmlDeviceSetPowerManagementLimit(h, target)
        return float(min(n.nvmlDeviceGetEnforcedPowerLimit(h) for h in self.handles)) / MW_PER_W


class CpuDevices:
    """The CPUs of this machine through psutil; power is ``None`` (not reported portably)."""

    kind = "cpu"

    def __init__(self) -> None:
        import psutil

        self.psutil = psutil
        self.count = psutil.cpu_count(logical=True) or 1
        self.name = f"{socket.gethostname()} CPUs ({self.count} logical)"
        psutil.cpu_percent(interval=None)  # the first call only starts the measurement

    def sample(self) -> list[dict[str, Any]]:
        """One reading for all CPUs: utilization, temperature (where sensors exist), frequency."""
        ps = self.psutil
        temp = None
        sensors = getattr(ps, "sensors_temperatures", None)
        if sensors is not None:
            try:
                readings = [t.current for group in sensors().values() for t in group if t.current]
            except (OSError, RuntimeError):
                readings = []
            temp = max(readings) if readings else None
        freq = ps.cpu_freq()
        return [
            {
                "index": 0,
                "name": self.name,
                "kind": "cpu",
                "power_w": None,
                "temperature_c": temp,
                "utilization": ps.cpu_percent(interval=None) / 100.0,
                "clock_mhz": None if freq is None else float(freq.current),
                "power_limit_w": None,
                "memory_used": ps.virtual_memory().percent / 100.0,
            }
        ]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
