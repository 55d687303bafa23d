"""Measure one GPU's board power with NVML while it runs known work, beside megapod's model.

Needs PyTorch with CUDA (not a megapod dependency) and NVML (nvidia-ml-py, a dependency). Run
on the GPU machine::

    python benchmarks/measure_gpu_power.py --out gpu_power/

It runs, one after another, with a sampler thread reading NVML as fast as it answers:

* ``paused``: a live CUDA context, clocks up, no kernels (what a checkpoint or a stall leaves);
* ``gemm-N``: bf16 square matrix products of several sizes N (achieved FLOP/s over the
  catalog's dense peak is the tensor utilization);
* ``copy``: a large device-to-device copy (achieved bytes/s over the HBM bandwidth is the
  memory utilization, tensor cores idle);
* ``train-<size>``: training steps of small GPT models (``measure_gpt_steps.py``'s);
* ``pause`` and ``resume``: the training stopped for a few seconds, then restarted.

Each sample holds NVML's averaged power (``nvmlDeviceGetPowerUsage``), its instantaneous power
where the driver has the field (``NVML_FI_DEV_POWER_INSTANT``), the SM clock, the temperature
and the enforced power limit. Written under ``--out``: ``samples.csv`` (one row a sample) and
``summary.json`` (per phase: mean, p99 and peak power, the utilization the work achieved, and
what :func:`megapod.physics.gpu_power.activity_power_w` predicts from it, with the error).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Square GEMM sizes measured [elements per side].
GEMM_SIZES = (1024, 2048, 4096, 8192, 16384)
#: Seconds each steady phase runs (long enough for NVML's 1 s average to settle twice).
PHASE_S = 6.0
#: Leading share of each phase left out of its statistics (the ramp into it).
SETTLE_FRACTION = 0.3


@dataclass
class Sample:
    """One NVML reading: seconds since the start, powers [W], SM clock [MHz], temperature [°C]."""

    t_s: float
    power_w: float
    instant_w: float | None
    sm_clock_mhz: float
    temperature_c: float
    limit_w: float
    phase: str


@dataclass
class Phase:
    """A labelled stretch of the run and what its work achieved."""

    name: str
    start_s: float
    end_s: float
    tensor_util: float = 0.0
    memory_util: float = 0.0
    detail: dict[str, float] = field(default_factory=dict)


def summarize(
    samples: list[Sample], phases: list[Phase], idle_w: float, tdp_w: float, generation: str
) -> list[dict[str, Any]]:
    """Per phase: measured power statistics after the settling share, and the model's power
    for the utilization the phase achieved (:func:`activity_power_w`, at full clock) with the
    error of the mean [%]. Phases without samples are left out."""
    from megapod.catalog.gpu_power_model import power_model_for
    from megapod.physics.gpu_power import activity_power_w

    pm = power_model_for(generation)
    out = []
    for ph in phases:
        settle = ph.start_s + SETTLE_FRACTION * (ph.end_s - ph.start_s)
        rows = [s for s in samples if settle <= s.t_s <= ph.end_s]
        if not rows:
            continue
        power = np.array([s.power_w for s in rows])
        instant = np.array([s.instant_w for s in rows if s.instant_w is not None])
        model_w = float(
            activity_power_w(
                ph.tensor_util,
                ph.memory_util,
                idle_w,
                tdp_w,
                pm.paused_share,
                pm.power_limit_tensor_util,
                pm.memory_dynamic_share,
            )
        )
        mean = float(power.mean())
        out.append(
            {
                "phase": ph.name,
                "samples": len(rows),
                "tensor_util": ph.tensor_util,
                "memory_util": ph.memory_util,
                "mean_w": mean,
                "p99_w": float(np.percentile(power, 99)),
                "max_instant_w": float(instant.max()) if instant.size else None,
                "sm_clock_mhz": float(np.mean([s.sm_clock_mhz for s in rows])),
                "model_w": model_w,
                "error_pct": 100.0 * (model_w - mean) / mean,
                **ph.detail,
            }
        )
    return out


class Sampler(threading.Thread):
    """Reads NVML in a loop until stopped; ``phase`` labels the samples taken meanwhile."""

    def __init__(self, nvml: Any, handle: Any) -> None:
        super().__init__(daemon=True)
        self.nvml, self.handle = nvml, handle
        self.samples: list[Sample] = []
        self.phase = "start"
        self.t0 = time.perf_counter()
        self._done = threading.Event()
        self._instant = getattr(nvml, "NVML_FI_DEV_POWER_INSTANT", None)

    def now(self) -> float:
        """Seconds since the sampler was made."""
        return time.perf_counter() - self.t0

    def _instant_w(self) -> float | None:
        if self._instant is None:
            return None
        try:
            value = self.nvml.nvmlDeviceGetFieldValues(self.handle, [self._instant])[0]
        except self.nvml.NVMLError:
            return None
        return float(value.value.uiVal) / 1000.0 if value.nvmlReturn == 0 else None

    def run(self) -> None:
        nv, h = self.nvml, self.handle
        while not self._done.is_set():
            self.samples.append(
                Sample(
                    self.now(),
                    nv.nvmlDeviceGetPowerUsage(h) / 1000.0,
                    self._instant_w(),
                    float(nv.nvmlDeviceGetClockInfo(h, nv.NVML_CLOCK_SM)),
                    float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU)),
                    nv.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0,
                    self.phase,
                )
            )

    def stop(self) -> None:
        """End the loop and wait for it."""
        self._done.set()
        self.join()


def _timed(sampler: Sampler, name: str, seconds: float, work: Any) -> tuple[Phase, int]:
    """Run ``work()`` repeatedly for ``seconds`` under the label ``name``; calls made."""
    sampler.phase = name
    start = sampler.now()
    calls = 0
    while sampler.now() - start < seconds:
        work()
        calls += 1
    return Phase(name, start, sampler.now()), calls


def main() -> None:
    """Run the phases on GPU 0 and write the samples and the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("gpu_power"))
    parser.add_argument("--phase-s", type=float, default=PHASE_S)
    parser.add_argument("--train-sizes", nargs="+", default=["gpt-350m", "gpt-1.3b"])
    args = parser.parse_args()
    try:
        import pynvml
        import torch
    except ImportError as exc:
        raise SystemExit(f"{exc.name} is not installed: run this on a GPU machine with torch") from None
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    sys.path.insert(0, str(Path(__file__).parent))
    from measure_gpt_steps import SIZES, VOCAB, build, catalog_gpu

    from megapod import catalog

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    gpu = catalog.gpu(catalog_gpu(torch.cuda.get_device_name()))
    peak, hbm = gpu.peak("bf16"), gpu.hbm_bw_bytes_per_s
    sampler = Sampler(pynvml, handle)
    sampler.start()
    phases: list[Phase] = []
    sync = torch.cuda.synchronize

    torch.zeros(1, device="cuda")
    sync()
    phases.append(_timed(sampler, "paused", args.phase_s, lambda: time.sleep(0.01))[0])

    for n in GEMM_SIZES:
        a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        reps = max(1, int(2e12 // (2 * n**3)))

        def gemm(a: Any = a, b: Any = b, reps: int = reps) -> None:
            for _ in range(reps):
                torch.mm(a, b)
            sync()

        ph, calls = _timed(sampler, f"gemm-{n}", args.phase_s, gemm)
        ph.tensor_util = min(1.0, 2 * n**3 * reps * calls / (ph.end_s - ph.start_s) / peak)
        ph.detail = {"tflops": 2 * n**3 * reps * calls / (ph.end_s - ph.start_s) / 1e12}
        phases.append(ph)
        del a, b

    src = torch.empty(1 << 30, device="cuda", dtype=torch.uint8)
    dst = torch.empty_like(src)

    def copy(src: Any = src, dst: Any = dst) -> None:
        for _ in range(20):
            dst.copy_(src)
        sync()

    ph, calls = _timed(sampler, "copy", args.phase_s, copy)
    ph.memory_util = min(1.0, 2 * src.numel() * 20 * calls / (ph.end_s - ph.start_s) / hbm)
    phases.append(ph)
    del src, dst

    for name in args.train_sizes:
        layers, hidden, heads = SIZES[name]
        seq, micro = 2048, 4
        model = build(torch, layers, hidden, heads, seq).cuda()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
        data = torch.randint(0, VOCAB, (micro, seq + 1), device="cuda")

        def step(model: Any = model, opt: Any = opt, data: Any = data) -> None:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = model(data[:, :-1])
                loss = torch.nn.functional.cross_entropy(
                    logits.float().view(-1, VOCAB), data[:, 1:].reshape(-1)
                )
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            sync()

        step()
        ph, calls = _timed(sampler, f"train-{name}", args.phase_s, step)
        flop = 6 * sum(p.numel() for p in model.parameters()) * micro * seq
        ph.tensor_util = min(1.0, flop * calls / (ph.end_s - ph.start_s) / peak)
        phases.append(ph)
        if name == args.train_sizes[-1]:
            phases.append(_timed(sampler, "pause", args.phase_s / 2, lambda: time.sleep(0.01))[0])
            resumed, _ = _timed(sampler, "resume", args.phase_s, step)
            resumed.tensor_util = ph.tensor_util
            phases.append(resumed)
        del model, opt, data
        torch.cuda.empty_cache()

    sampler.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "samples.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "power_w", "instant_w", "sm_clock_mhz", "temperature_c", "limit_w", "phase"])
        for s in sampler.samples:
            w.writerow(
                [f"{s.t_s:.4f}", s.power_w, s.instant_w, s.sm_clock_mhz, s.temperature_c, s.limit_w, s.phase]
            )
    rate = len(sampler.samples) / max(sampler.samples[-1].t_s, 1e-9)
    summary = {
        "device": torch.cuda.get_device_name(),
        "catalog_gpu": gpu.name,
        "driver": pynvml.nvmlSystemGetDriverVersion(),
        "torch": torch.__version__,
        "samples_per_s": rate,
        "phases": summarize(sampler.samples, phases, gpu.idle_w, gpu.tdp_w, gpu.generation),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    for row in summary["phases"]:
        print(
            f"{row['phase']:>16}: {row['mean_w']:6.0f} W measured, {row['model_w']:6.0f} W model "
            f"({row['error_pct']:+.1f}%), tensor {row['tensor_util']:.2f}, memory {row['memory_util']:.2f}"
        )
    print(f"{len(sampler.samples)} samples ({rate:.0f}/s) in {args.out}")


if __name__ == "__main__":
    main()
