"""Layout-search speed: layouts evaluated per second (target ≥ 10,000/s).

Run: ``.venv/bin/python benchmarks/bench_layout_search.py``. Prints, per scenario, the layouts
enumerated, how many were valid (divide evenly and fit memory, each fully predicted), the
wall time and both rates, then the rate of single ``train_step`` calls.
"""

from __future__ import annotations

import time

from megapod.physics.perf import Hardware, Layout, model_preset, train_step
from megapod.physics.perf.search import search

SCENARIOS = [
    ("llama3-8b", "h100-sxm", 256, 512, "bf16"),
    ("llama3-70b", "h100-sxm", 1024, 1024, "bf16"),
    ("gpt3-175b", "a100-80gb-sxm", 3072, 1536, "bf16"),
    ("mixtral-8x7b", "h100-sxm", 512, 1024, "bf16"),
    ("llama3-405b", "h100-sxm", 16384, 2048, "bf16"),
    ("llama3-405b", "gb200", 16128, 2016, "fp8"),
]


def main() -> None:
    """Run the scenarios and print their rates."""
    print(
        f"{'scenario':44s} {'layouts':>8s} {'valid':>7s} {'time s':>7s} "
        f"{'layouts/s':>10s} {'valid/s':>9s}  best"
    )
    total_n = total_v = 0
    total_t = 0.0
    for name, gpu, gpus, batch, dtype in SCENARIOS:
        model = model_preset(name)
        hw = Hardware.from_gpu(gpu)
        start = time.perf_counter()
        found = search(model, hw, gpus, batch, dtype, top=5)
        elapsed = time.perf_counter() - start
        total_n += found.evaluated
        total_v += found.valid
        total_t += elapsed
        best = found.best[0]
        print(
            f"{name + ' on ' + str(gpus) + ' ' + gpu + ' ' + dtype:44s} {found.evaluated:8d} "
            f"{found.valid:7d} {elapsed:7.3f} {found.evaluated / elapsed:10,.0f} "
            f"{found.valid / elapsed:9,.0f}  {best.layout.describe()} mfu {best.mfu:.3f}"
        )
    print(
        f"{'all scenarios':44s} {total_n:8d} {total_v:7d} {total_t:7.3f} "
        f"{total_n / total_t:10,.0f} {total_v / total_t:9,.0f}"
    )
    model = model_preset("llama3-70b")
    hw = Hardware.from_gpu("h100-sxm")
    lay = Layout(tp=8, pp=4, dp=32, micro_batch=1, global_batch=1024, interleave=5)
    calls = 2000
    start = time.perf_counter()
    for _ in range(calls):
        train_step(model, hw, lay)
    elapsed = time.perf_counter() - start
    print(
        f"train_step (full, uncached): {calls / elapsed:,.0f} calls/s "
        f"({1e6 * elapsed / calls:.0f} us per call)"
    )


if __name__ == "__main__":
    main()
