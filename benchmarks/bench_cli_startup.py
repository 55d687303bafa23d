"""CLI startup: CPU time of whole ``megapod`` processes that should answer at once.

Goals (issue 11): ``megapod --help`` and ``megapod validate examples/megapod.yaml`` ≤ 0.5 s of
CPU, ``megapod describe examples/megapod.yaml`` ≤ 1 s. CPU time (user + system, from
``resource.getrusage(RUSAGE_CHILDREN)``) is counted rather than wall time, so a busy machine
disturbs the figures less.

Run: ``.venv/bin/python benchmarks/bench_cli_startup.py`` prints the median of 5 runs of each
command after one warm-up run, which writes the bytecode caches (``PYTHONDONTWRITEBYTECODE`` is
dropped for the runs: a user's installation has them). With ``--baseline PATH`` the
same commands also run from another checkout (its ``src/`` with this interpreter and its
packages), alternating with this one, and both columns are printed side by side.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: (arguments after ``megapod``, CPU goal [s]).
COMMANDS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("--help",), 0.5),
    (("validate", "examples/megapod.yaml"), 0.5),
    (("describe", "examples/megapod.yaml"), 1.0),
)


def children_cpu_s() -> float:
    """CPU time [s], user + system, of all waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of_run(checkout: Path, args: tuple[str, ...]) -> float:
    """CPU time [s] of one ``python -m megapod ARGS`` process run from ``checkout``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # as a user runs it
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(checkout / "src"), env.get("PYTHONPATH")) if p)
    before = children_cpu_s()
    result = subprocess.run(
        [sys.executable, "-m", "megapod", *args], cwd=checkout, env=env, capture_output=True, check=False
    )
    spent = children_cpu_s() - before
    if result.returncode != 0:
        raise SystemExit(
            f"megapod {' '.join(args)} in {checkout} exited {result.returncode}:\n"
            f"{result.stderr.decode(errors='replace')}"
        )
    return spent


def medians(checkouts: list[Path], args: tuple[str, ...], repeat: int) -> list[float]:
    """Median CPU time [s] of ``repeat`` runs per checkout, the checkouts taking turns."""
    for checkout in checkouts:
        cpu_of_run(checkout, args)  # warm-up: bytecode and compilation caches
    samples: list[list[float]] = [[] for _ in checkouts]
    for _ in range(repeat):
        for i, checkout in enumerate(checkouts):
            samples[i].append(cpu_of_run(checkout, args))
    return [statistics.median(s) for s in samples]


def main(argv: list[str] | None = None) -> int:
    """Measure each command and print it against its goal; 0 when every goal is met."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (median)")
    opts = parser.parse_args(argv)
    checkouts = [REPO]
    if opts.baseline is not None:
        baseline = opts.baseline.resolve()
        if not (baseline / "src" / "megapod").is_dir():
            parser.error(f"{baseline} has no src/megapod")
        checkouts.append(baseline)
    header = f"{'command':<40} {'goal s':>7} {'CPU s':>7}"
    if len(checkouts) > 1:
        header += f" {'baseline':>9} {'speed-up':>9}"
    print(f"median CPU time of {opts.repeat} runs, {sys.executable}")
    print(header)
    met = True
    for args, goal_s in COMMANDS:
        cpu = medians(checkouts, args, opts.repeat)
        ok = cpu[0] <= goal_s
        met = met and ok
        line = f"{'megapod ' + ' '.join(args):<40} {goal_s:>7.2f} {cpu[0]:>7.2f}"
        if len(cpu) > 1:
            line += f" {cpu[1]:>9.2f} {cpu[1] / cpu[0]:>8.1f}x"
        print(f"{line}  {'ok' if ok else 'OVER GOAL'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
