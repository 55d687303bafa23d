"""The local backend's devices: the CPU path as it is here, and the NVML path against a fake
standing in for the pynvml functions (the readings below are the fake's, not a GPU's)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from megapod.serve.backends.devices import CpuDevices, NvmlDevices


class FakeGpu:
    def __init__(self, index: int) -> None:
        self.index = index
        self.limit_mw = 700_000


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> list[FakeGpu]:
    """Two fake GPUs behind pynvml's own function names (milliwatts, °C, percent, MHz)."""
    import pynvml

    gpus = [FakeGpu(0), FakeGpu(1)]
    fakes: dict[str, Any] = {
        "nvmlInit": lambda: None,
        "nvmlShutdown": lambda: None,
        "nvmlDeviceGetCount": lambda: len(gpus),
        "nvmlDeviceGetHandleByIndex": lambda i: gpus[i],
        "nvmlDeviceGetName": lambda h: b"FAKE-GPU",
        "nvmlDeviceGetPowerUsage": lambda h: 350_500 + 1000 * h.index,
        "nvmlDeviceGetTemperature": lambda h, sensor: 61 + h.index,
        "nvmlDeviceGetUtilizationRates": lambda h: SimpleNamespace(gpu=87, memory=40),
        "nvmlDeviceGetClockInfo": lambda h, clock: 1755,
        "nvmlDeviceGetEnforcedPowerLimit": lambda h: h.limit_mw,
        "nvmlDeviceGetPowerManagementLimitConstraints": lambda h: (200_000, 700_000),
        "nvmlDeviceGetPowerManagementDefaultLimit": lambda h: 700_000,
        "nvmlDeviceSetPowerManagementLimit": lambda h, mw: setattr(h, "limit_mw", mw),
    }
    for name, fn in fakes.items():
        monkeypatch.setattr(pynvml, name, fn)
    return gpus


def test_nvml_readings_in_si_units(fake_nvml: list[FakeGpu]) -> None:
    devices = NvmlDevices.open()
    assert devices is not None
    r = devices.sample()
    assert [d["power_w"] for d in r] == [350.5, 351.5]
    assert r[0] == {
        "index": 0,
        "name": "FAKE-GPU",
        "kind": "gpu",
        "power_w": 350.5,
        "temperature_c": 61.0,
        "utilization": 0.87,
        "clock_mhz": 1755.0,
        "power_limit_w": 700.0,
    }


def test_nvml_cap_is_read_back(fake_nvml: list[FakeGpu]) -> None:
    from megapod.errors import SpecError

    devices = NvmlDevices.open()
    assert devices is not None
    assert devices.set_power_limit(450.0) == 450.0
    assert [g.limit_mw for g in fake_nvml] == [450_000, 450_000]
    with pytest.raises(SpecError, match="gpu_cap_w: 100 W is outside this GPU's range 200–700 W"):
        devices.set_power_limit(100.0)
    assert devices.set_power_limit(None) == 700.0


def test_an_nvml_error_on_one_field_leaves_it_empty(
    fake_nvml: list[FakeGpu], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pynvml

    def unsupported(h: Any) -> Any:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    monkeypatch.setattr(pynvml, "nvmlDeviceGetPowerUsage", unsupported)
    devices = NvmlDevices.open()
    assert devices is not None
    assert devices.sample()[0]["power_w"] is None


def test_without_nvml_the_cpus_are_read() -> None:
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("this machine has a working NVML; the CPU fallback is not what it uses")
    assert NvmlDevices.open() is None
    (reading,) = CpuDevices().sample()
    assert reading["kind"] == "cpu" and reading["power_w"] is None
    assert 0.0 <= reading["utilization"] <= 1.0
