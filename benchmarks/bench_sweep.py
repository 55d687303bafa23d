"""Sweep engine speed as ratios: per-point overhead over the point's own run, and the speed-up
of a sweep of >= 100 short points on Ray over running the same points one after another.

* serial: the points' own runs in a plain loop in this process (no store, no Ray);
* sweep --serial: the same points through the sweep engine (resolve, hash, store, progress);
* Ray, 1 worker / N workers: a local Ray started once (its start is reported on its own,
  and its workers are warmed up on other points first).

Per-point overhead = (engine wall time - the points' own run time) / points. Speed-up =
serial wall time / Ray wall time, for ``--rounds`` pairs of runs made one after the other (the
load of a shared machine drifts), and their median. Nothing is asserted (run times depend on
the machine and on what else it runs); the figures are printed, and written as JSON with
``--json FILE``.

Run: .venv/bin/python benchmarks/bench_sweep.py [--points 120] [--workers N] [--rounds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import megapod.sweep
from megapod.spec.sweep import Sweep, load_sweep
from megapod.sweep.design import ResolvedPoint, expand, resolve
from megapod.sweep.worker import run_point

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def sweep_file(folder: Path, seeds: int, horizon: str = "1 d", first_seed: int = 1) -> Path:
    """3 queue policies x 2 failure rates x 2 prices x ``seeds`` seeds of a short twin run.

    Every measurement runs points of its own seeds: the library keeps some results between
    runs in a process (a workload drawn for a seed, say), so points a process has already run
    would come back faster than a sweep's new points do.
    """
    text = f"""name: bench
scenario: {EXAMPLES / "scenarios" / "megapod_week.yaml"}
set:
  horizon_s: {horizon}
  grid.events: []
axes:
  - {{path: policies.queue, values: [fifo, sjf, easy-backfill]}}
  - {{path: failures.rate_scale, values: [1, 4]}}
  - {{path: energy.price_usd_per_mwh, values: [40, 80]}}
seeds: {list(range(first_seed, first_seed + seeds))}
"""
    path = folder / f"sweep-{first_seed}-{seeds}-{horizon.replace(' ', '')}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def serial_loop(points: list[ResolvedPoint]) -> tuple[float, float]:
    """Wall time of the points' own runs one after another, and the sum of those runs [s].

    Each run gets a fresh copy of its inputs, as a Ray worker does.
    """
    inputs = [pickle.loads(pickle.dumps(p.inputs)) for p in points]
    t0 = time.perf_counter()
    own = sum(run_point("scenario", x)["elapsed_s"] for x in inputs)
    return time.perf_counter() - t0, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=120, help="points (a multiple of 12)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=3, help="serial / Ray pairs, run alternately")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    seeds = max(1, args.points // 12)
    w = args.workers
    figures: dict[str, Any] = {"load_average_1min_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def design(measurement: int) -> tuple[Sweep, list[ResolvedPoint]]:
            sw = load_sweep(sweep_file(folder, seeds, first_seed=1 + 1000 * measurement))
            return sw, [resolve(sw, p) for p in expand(sw)]

        _, warm_points = design(0)
        run_point("scenario", warm_points[0].inputs)  # first-call costs (imports, caches) left out
        sw, points = design(1)
        n = len(points)
        frame = megapod.sweep.run(sw, out=folder / "serial", backend="serial")
        st = frame.attrs["stats"]
        figures["engine_serial_overhead_ms"] = (st["execute_s"] - st["run_s"]) / n * 1e3

        import ray

        t0 = time.perf_counter()
        megapod.sweep.start_ray(workers=w)  # the local Ray a sweep starts
        figures["ray_start_s"] = time.perf_counter() - t0
        try:
            warm = load_sweep(sweep_file(folder, 1, "2 h"))  # other keys: nothing is reused
            megapod.sweep.run(warm, workers=w)
            sw, _ = design(2)
            frame = megapod.sweep.run(sw, out=folder / "ray1", workers=1)
            st = frame.attrs["stats"]
            figures["ray1_s"] = st["execute_s"]
            figures["ray1_overhead_ms"] = (st["execute_s"] - st["run_s"]) / n * 1e3
            # the machine's other load drifts: pair each parallel run with a serial one beside it
            pairs: list[tuple[float, float]] = []
            own_ms: list[tuple[float, float]] = []  # a point's own run: serially, on Ray
            for r in range(args.rounds):
                sw, points = design(3 + r)  # new points for both: the driver and the workers
                s_r, s_own = serial_loop(points)
                frame = megapod.sweep.run(sw, out=folder / f"ray{w}-{r}", workers=w)
                pairs.append((s_r, frame.attrs["stats"]["execute_s"]))
                own_ms.append((s_own / n * 1e3, frame.attrs["stats"]["run_s"] / n * 1e3))
        finally:
            ray.shutdown()
    ratios = sorted(s_r / p_r for s_r, p_r in pairs)
    figures["pairs_s"] = pairs
    figures["speedups"] = ratios
    figures["speedup_median"] = statistics.median(ratios)
    figures["load_average_1min_after"] = os.getloadavg()[0]
    figures["points"] = n
    print(f"{n} points a measurement, {w} workers")
    print(f"  sweep engine, serial   overhead {figures['engine_serial_overhead_ms']:6.1f} ms/point")
    print(f"  Ray, 1 worker          overhead {figures['ray1_overhead_ms']:6.1f} ms/point")
    print(f"  Ray start (once)       {figures['ray_start_s']:6.1f} s")
    figures["own_run_ms"] = own_ms
    for (s_r, p_r), (s_ms, p_ms) in zip(pairs, own_ms, strict=True):
        print(
            f"  serial {s_r:6.2f} s ({s_ms:4.0f} ms/point)   Ray x{w} {p_r:6.2f} s ({p_ms:4.0f} ms/point)"
            f"   speed-up {s_r / p_r:5.2f}x"
        )
    print(f"  speed-up, median of {len(pairs)}: {figures['speedup_median']:.2f}x")
    before, after = figures["load_average_1min_before"], figures["load_average_1min_after"]
    print(f"  load average (1 min) before / after: {before:.1f} / {after:.1f}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
