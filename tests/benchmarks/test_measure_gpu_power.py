"""The GPU power measurement's summary, on readings made up for the test (the measurement
itself needs a GPU; its sampler is exercised against a stand-in for NVML)."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from megapod.catalog.gpu_power_model import power_model_for
from megapod.physics.gpu_power import activity_power_w

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "measure_gpu_power.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("measure_gpu_power", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["measure_gpu_power"] = module
    spec.loader.exec_module(module)
    return module


def test_summary_leaves_out_the_settling_share_and_compares_with_the_model(script: ModuleType) -> None:
    S, P = script.Sample, script.Phase
    samples = [S(t / 10, 300.0 if t < 3 else 600.0, 650.0, 1980.0, 60.0, 700.0, "gemm") for t in range(11)]
    phase = P("gemm-8192", 0.0, 1.0, tensor_util=0.5)
    (row,) = script.summarize(samples, [phase, P("empty", 5.0, 6.0)], 70.0, 700.0, "hopper")
    assert row["samples"] == 8 and row["mean_w"] == 600.0  # the ramp (t < 0.3 s) is left out
    pm = power_model_for("hopper")
    model = float(activity_power_w(0.5, 0.0, 70.0, 700.0, pm.paused_share, pm.power_limit_tensor_util,
                                   pm.memory_dynamic_share))  # fmt: skip
    assert row["model_w"] == pytest.approx(model)
    assert row["error_pct"] == pytest.approx(100 * (model - 600.0) / 600.0)
    assert row["max_instant_w"] == 650.0


class FakeNvml:
    """The pynvml calls the sampler makes, answering fixed readings in milliwatts."""

    NVML_CLOCK_SM = 1
    NVML_TEMPERATURE_GPU = 0
    NVML_FI_DEV_POWER_INSTANT = 186
    NVMLError = RuntimeError

    def nvmlDeviceGetPowerUsage(self, h: object) -> int:
        return 412_000

    def nvmlDeviceGetFieldValues(self, h: object, ids: list[int]) -> list[SimpleNamespace]:
        return [SimpleNamespace(nvmlReturn=0, value=SimpleNamespace(uiVal=455_000))]

    def nvmlDeviceGetClockInfo(self, h: object, kind: int) -> int:
        return 1755

    def nvmlDeviceGetTemperature(self, h: object, kind: int) -> int:
        return 51

    def nvmlDeviceGetEnforcedPowerLimit(self, h: object) -> int:
        return 700_000


def test_sampler_labels_readings_with_the_phase(script: ModuleType) -> None:
    sampler = script.Sampler(FakeNvml(), object())
    sampler.start()
    phase, calls = script._timed(sampler, "work", 0.05, lambda: time.sleep(0.001))
    sampler.stop()
    assert calls >= 1 and phase.end_s >= phase.start_s + 0.05
    labelled = [s for s in sampler.samples if s.phase == "work"]
    assert labelled and all(s.power_w == 412.0 and s.instant_w == 455.0 for s in labelled)
    assert all(s.limit_w == 700.0 and s.sm_clock_mhz == 1755.0 for s in labelled)
