"""The twin against an earlier commit, side by side: the Philly replay and the one-year
~300k-GPU colossus run, each timed in fresh processes alternating between the two checkouts.
Prints each run's simulate time and the ratio new / old (below 1 is faster).

``--instructions`` counts instead the instructions of the Philly replay's ``simulate`` under
valgrind's callgrind (a run minus the same process stopped after loading the scenario): a
figure that other load on the machine does not move, unlike a time (about 2 minutes a run).

Run: .venv/bin/python benchmarks/bench_twin_vs_commit.py [--baseline REV] [--repeats N] [--quick]
[--instructions]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from checkout import revision_src

ROOT = Path(__file__).resolve().parents[1]
#: Timed in a child process: ``simulate`` (build the twin and run it) of one scenario.
CHILD = """
import sys, time
from megapod.sim.twin import simulate
from megapod.spec.scenario import load_scenario
sc = load_scenario(sys.argv[1])
if sys.argv[2] == "load":  # the instruction count's baseline: stop after loading
    sys.exit(0)
if sys.argv[2] == "warm":  # once untimed first: imports made on first use are not timed
    simulate(sc)
elif sys.argv[2] != "1":
    syn = sc.workload.synthetic
    syn = syn.model_copy(update={"jobs": int(syn.jobs * float(sys.argv[2]))})
    sc = sc.model_copy(update={"workload": sc.workload.model_copy(update={"synthetic": syn}),
                               "horizon_s": sc.horizon_s * float(sys.argv[2])})
t = time.perf_counter()
simulate(sc)
print(time.perf_counter() - t)
"""


def timed(src: Path, scenario: Path, extra: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(scenario), *extra],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def instructions(src: Path, scenario: Path, mode: str) -> int:
    """Instructions the child runs in ``mode`` ("load" or "1"), counted by callgrind."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out",
             sys.executable, "-c", CHILD, str(scenario), mode],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from valgrind:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def count_instructions(old_src: Path, scenario: Path) -> None:
    """Print the instructions of ``simulate`` in each checkout and their ratio."""
    counts = {}
    for side, src in (("old", old_src), ("new", ROOT / "src")):
        counts[side] = instructions(src, scenario, "1") - instructions(src, scenario, "load")
    print(
        f"philly replay (fifo)     old {counts['old'] / 1e9:6.3f} G instructions"
        f"  new {counts['new'] / 1e9:6.3f} G  new/old {counts['new'] / counts['old']:5.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="HEAD~1", help="git revision to compare with")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="a tenth of the year run")
    ap.add_argument("--instructions", action="store_true", help="count the Philly replay's instructions")
    args = ap.parse_args()
    cases = [
        ("philly replay (fifo)", ROOT / "examples/scenarios/philly_replay.yaml", ["warm"]),
        (
            "colossus year" + (" (1/10)" if args.quick else ""),
            ROOT / "examples/scenarios/colossus_year.yaml",
            ["0.1"] if args.quick else ["1"],
        ),
    ]
    with revision_src(args.baseline) as old_src:
        if args.instructions:
            count_instructions(old_src, cases[0][1])
            return
        for label, scenario, extra in cases:
            new_t: list[float] = []
            old_t: list[float] = []
            for _ in range(args.repeats):  # alternate so drift hits both sides alike
                old_t.append(timed(old_src, scenario, extra))
                new_t.append(timed(ROOT / "src", scenario, extra))
            n, o = statistics.median(new_t), statistics.median(old_t)
            print(
                f"{label:<24} old {o:7.2f} s  new {n:7.2f} s  new/old {n / o:5.3f}"
                f"  (median of {args.repeats})"
            )


if __name__ == "__main__":
    main()
