"""The fleet at scale: a week of 1,000,000 cars, simulated as a sample the way the engine does
(``simulated_vehicles``), against the issue's 60 s; smaller samples of the same fleet against
the 20,000-car run; and the fleet scenario of the twin end to end (``fleet_mix.yaml``: both
tiers, the dispatch, and the fleet engine over the twin's demand).

Writes benchmarks/data/fleet_scale.json (figures quoted in docs/fleet.md, "Sampling").

Run: .venv/bin/python benchmarks/bench_fleet_scale.py [--seeds 7 8 9] [--reference 20000]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from megapod.fleet import simulate
from megapod.fleet.results import FleetResult
from megapod.spec import load_site
from megapod.spec.fleet import Fleet

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "data" / "fleet_scale.json"
VEHICLES = 1_000_000


def fleet_of(simulated: int, seed: int) -> Fleet:
    """The example site's fleet, grown to a million cars, ``simulated`` of them run."""
    site = load_site(ROOT / "examples" / "fleet.yaml")
    assert site.fleet is not None
    return site.fleet.model_copy(update={"vehicles": VEHICLES, "simulated_vehicles": simulated, "seed": seed})


def timed(fleet: Fleet) -> tuple[FleetResult, float, float]:
    """The run, its wall time and its CPU time [s]."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = simulate(fleet)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def figures(r: FleetResult) -> dict[str, float]:
    """What the samples are compared on."""
    return {
        "effective_ops": r.throughput["effective_ops"],
        "availability": r.throughput["availability"],
        "owner_net_usd_per_month_pplns": r.scheme("pplns").owner_net_usd_per_month["mean"],
    }


def twin_end_to_end() -> float:
    """Wall time of the fleet scenario in the twin, with the engine over its demand [s]."""
    from megapod.fleet.scenario import fleet_in_run
    from megapod.sim.twin import Twin
    from megapod.spec.scenario import load_scenario

    t = time.perf_counter()
    sc = load_scenario(ROOT / "examples" / "scenarios" / "fleet_mix.yaml")
    fleet_in_run(sc, Twin(sc).run(), 1.44)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", type=int, default=20_000, help="cars of the reference sample")
    ap.add_argument("--samples", type=int, nargs="+", default=[2_000, 500])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    args = ap.parse_args()
    ref, wall, cpu = timed(fleet_of(args.reference, 7))
    ref_fig = figures(ref)
    print(f"{VEHICLES:,} cars as {args.reference:,}: {wall:.1f} s wall, {cpu:.1f} s CPU; {ref_fig}")
    samples: list[dict[str, Any]] = []
    for n in args.samples:
        for seed in args.seeds:
            r, w, c = timed(fleet_of(n, seed))
            fig = figures(r)
            rel = {k: fig[k] / ref_fig[k] - 1.0 for k in fig}
            samples.append(
                {"simulated": n, "seed": seed, "wall_s": w, "cpu_s": c, **fig, "vs_reference": rel}
            )
            print(
                f"  {n:,} cars, seed {seed}: {w:.1f} s; " + ", ".join(f"{k} {v:+.2%}" for k, v in rel.items())
            )
    twin_s = twin_end_to_end()
    print(f"fleet_mix.yaml end to end (twin + engine): {twin_s:.1f} s wall")
    doc = {
        "vehicles": VEHICLES,
        "horizon_s": ref.horizon_s,
        "reference": {"simulated": args.reference, "wall_s": wall, "cpu_s": cpu, **ref_fig},
        "samples": samples,
        "fleet_mix_end_to_end_wall_s": twin_s,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
