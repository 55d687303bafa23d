"""megapod: design, simulate and operate modular AI data centers.

The few things a user imports (each takes the description first, then what to do with it)::

    import megapod
    site = megapod.load_site("examples/megapod.yaml")   # validated, physically checked
    inv = megapod.site_inventory(site)                  # peak figures
    plan = megapod.plan(site, {"model": "llama3-70b", "tokens": "2T", "deadline_s": "30 d"})
    plan.to_frame(); plan.to_json()
    best = megapod.predict("llama3-70b", "h100-sxm", gpus=1024, global_batch=512, tokens="2T")
    best.to_frame(); best.to_json(); best.run.wall_days  # fastest layouts, then the whole run
    run = megapod.simulate("examples/scenarios/megapod_week.yaml")
    run.to_frame(); run.to_json(); run.series; run.pods
    grid = megapod.power_profile("examples/scenarios/megapod_power.yaml")
    grid.to_frame(); grid.to_json()                     # waveforms; metrics of every mitigation
    table = megapod.sweep.run("examples/sweeps/megapod_sweep.yaml")   # a DataFrame, one row a point
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from megapod.errors import CatalogError, InfeasibleError, MegapodError, SpecError, UnitError

if TYPE_CHECKING:
    from megapod.physics.inventory import SiteInventory
    from megapod.physics.perf import Hardware, TransformerModel
    from megapod.planner.plan import Plan
    from megapod.planner.prediction import TrainingPrediction
    from megapod.sim.power_profile import PowerProfileResult
    from megapod.sim.twin import SimResult
    from megapod.spec import Site
    from megapod.spec.goal import ServingGoal, TrainingGoal
    from megapod.spec.scenario import Scenario

__version__ = "0.1.0"


def load_site(path: str | Path) -> Site:
    """Read a site spec, validate it and run the physical checks; raise on the first error."""
    from megapod.planner.checks import check_site, raise_on_errors
    from megapod.spec import load_site as load_schema

    site = load_schema(path)
    raise_on_errors(check_site(site))
    return site


def site_inventory(site: Site) -> SiteInventory:
    """Peak figures of a site (see :mod:`megapod.physics.inventory`)."""
    from megapod.physics.inventory import site_inventory as inventory

    return inventory(site)


def plan(site: Site | str | Path, goal: TrainingGoal | ServingGoal | dict[str, Any] | str | Path) -> Plan:
    """Size a site of whole pods for a training or serving goal (a goal model, a mapping as
    in a goal file, or a goal file's path); infeasible goals raise :class:`InfeasibleError`."""
    from megapod.planner.plan import plan_serving, plan_training
    from megapod.spec.goal import ServingGoal, goal_from_dict, load_goal

    s = site if not isinstance(site, str | Path) else load_site(site)
    if isinstance(goal, str | Path):
        g: TrainingGoal | ServingGoal = load_goal(goal)
    elif isinstance(goal, dict):
        g = goal_from_dict(goal, name="goal")
    else:
        g = goal
    return plan_serving(s, g) if isinstance(g, ServingGoal) else plan_training(s, g)


def predict(
    model: str | TransformerModel,
    hw: str | Hardware,
    gpus: int,
    global_batch: int,
    *,
    dtype: str = "bf16",
    tokens: float | str | None = None,
    top: int = 5,
) -> TrainingPrediction:
    """The ``top`` fastest parallel layouts of a training run, best first, and with ``tokens``
    (a count or a string such as ``"15T"``) the whole run's time, GPU-hours and energy.

    ``model`` is a preset name (``megapod predict`` lists them) or a
    :class:`~megapod.physics.perf.TransformerModel`; ``hw`` a catalog GPU (its reference system's
    scale-up domain and network) or a :class:`~megapod.physics.perf.Hardware`. No valid layout
    raises :class:`InfeasibleError`.
    """
    from megapod.physics.perf import Hardware, model_preset
    from megapod.planner.prediction import parse_tokens, predict_training

    m = model_preset(model) if isinstance(model, str) else model
    h = Hardware.from_gpu(hw) if isinstance(hw, str) else hw
    n = parse_tokens(tokens) if tokens is not None else None
    return predict_training(m, h, gpus, global_batch, dtype, top, n)


def simulate(scenario: Scenario | str | Path) -> SimResult:
    """Run a scenario (a model or a scenario file's path) through the twin to its horizon."""
    from megapod.sim.twin import simulate as run
    from megapod.spec.scenario import load_scenario

    return run(load_scenario(scenario) if isinstance(scenario, str | Path) else scenario)


def power_profile(scenario: Scenario | str | Path) -> PowerProfileResult:
    """Synthesize a scenario's ``power_profile:`` job, its mitigations and the battery that meets
    the grid limits (a model or a scenario file's path)."""
    from megapod.sim.power_profile import run_power_profile
    from megapod.spec.scenario import load_scenario

    sc = load_scenario(scenario) if isinstance(scenario, str | Path) else scenario
    if sc.power_profile is None:
        raise SpecError(sc.name, "the scenario has no power_profile: section")
    return run_power_profile(sc.site, sc.power_profile, sc.seed, sc.name)


def __getattr__(name: str) -> Any:
    """``megapod.sweep`` on first use (it pulls in pandas, and Ray when it runs)."""
    if name == "sweep":
        import importlib

        return importlib.import_module("megapod.sweep")
    raise AttributeError(f"module 'megapod' has no attribute {name!r}")


__all__ = [
    "CatalogError",
    "InfeasibleError",
    "MegapodError",
    "SpecError",
    "UnitError",
    "load_site",
    "plan",
    "power_profile",
    "predict",
    "simulate",
    "site_inventory",
]
