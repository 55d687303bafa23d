"""Design sweeps: run hundreds of designs, policies and futures in one call, on Ray.

A sweep file names a base (a scenario for the twin, or a site and goal for the planner) and
axes that vary fields of it by path (see :mod:`megapod.spec.sweep`)::

    import megapod.sweep
    table = megapod.sweep.run("examples/sweeps/megapod_sweep.yaml", out="runs/sweep")
    front = megapod.sweep.pareto_front(table)          # the sweep's objectives by default
    tornado = megapod.sweep.sensitivity(table, "goodput")
    megapod.sweep.save(table, "runs/sweep")            # points, Pareto front, HTML report

Each point is keyed by a hash of its resolved inputs and stored as it finishes, so a sweep
run again with the same ``out`` resumes where it stopped and skips finished points.
"""

from __future__ import annotations

from megapod.spec.sweep import OUTPUTS, Sweep, SweepSpec, load_sweep
from megapod.sweep.analysis import pareto_front, sensitivity
from megapod.sweep.report import render_report, save
from megapod.sweep.runner import SweepProgress, run, start_ray

__all__ = [
    "OUTPUTS",
    "Sweep",
    "SweepProgress",
    "SweepSpec",
    "load_sweep",
    "pareto_front",
    "render_report",
    "run",
    "save",
    "sensitivity",
    "start_ray",
]
