"""A design sweep: a base (a scenario for the twin, or a site and goal for the planner) and axes
that vary fields of it by path.

``load_sweep(path)`` reads the file with the same loader and error rules as every spec, loads
the base, and checks each axis against it before anything runs: a path that names no field, an
index past the end of a list, or a value that the field refuses is a
:class:`~megapod.errors.SpecError` naming the axis, the field path and the value.

Paths are written as in error messages, from the top of the base document::

    site.pods[0].power.battery.units        # a scenario, or a plan's site
    policies.queue                          # a scenario's policies
    goal.deadline_s                         # a plan's goal

A catalog reference written as a name (``unit: megapack-2xl-2h``) may be varied as a whole
(``...battery.unit``) or field by field (``...battery.unit.energy_wh``: the entry with that
field overridden).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, Field, model_validator

from megapod import catalog
from megapod.catalog.entry import CatalogEntry
from megapod.errors import MegapodError, SpecError
from megapod.spec.base import SpecModel
from megapod.spec.goal import ServingGoal, TrainingGoal, goal_from_dict
from megapod.spec.hardware import Server
from megapod.spec.loader import read_document, validate
from megapod.spec.scenario import Scenario, load_scenario
from megapod.spec.site import Site

#: Most points one sweep may hold (after grids are multiplied out and seeds crossed).
MAX_POINTS = 100_000
#: Most axes of one sweep.
MAX_AXES = 32

PlanGoal = TrainingGoal | ServingGoal
SweepKind = Literal["scenario", "training", "serving"]
Sense = Literal["min", "max"]

#: The key outputs each kind of point yields: name -> what it is, with its unit.
OUTPUTS: dict[str, dict[str, str]] = {
    "scenario": {
        "goodput": "useful GPU-time / installed GPU-time [1]",
        "utilization": "allocated GPU-time / installed GPU-time [1]",
        "useful_gpu_h": "GPU-hours of useful work [GPU-h]",
        "time_to_train_s": "submit to finish of the last pretraining job; NaN if one did not finish [s]",
        "energy_mwh": "facility energy over the horizon [MWh]",
        "energy_cost_usd": "energy cost over the horizon [USD]",
        "energy_usd_per_useful_gpu_h": "energy cost per useful GPU-hour [USD/GPU-h]",
        "pue": "facility energy / IT energy [1]",
        "co2_t": "emissions of the facility energy [t CO2]",
        "peak_mw": "highest facility power of an output bin [MW]",
        "battery_mwh": "usable battery energy of the site [MWh]",
        "jct_p50_s": "median job completion time of finished jobs [s]",
        "queue_mean_s": "mean queueing delay of started jobs [s]",
    },
    "training": {
        "time_to_train_s": "wall-clock time of the run, failures included [s]",
        "cost_per_run_usd": "cost of the run at the site's cost per GPU-hour [USD]",
        "usd_per_gpu_h": "site cost per GPU-hour over the TCO horizon [USD/GPU-h]",
        "goodput": "failure-free time / wall-clock time [1]",
        "energy_mwh": "energy of the run [MWh]",
        "pue": "typical-year facility / IT energy [1]",
        "co2_t": "emissions of the run [t CO2]",
        "peak_mw": "facility peak power [MW]",
        "battery_mwh": "battery energy of the sized site [MWh]",
        "gpus": "GPUs of the sized site [1]",
        "mfu": "model FLOPs utilization of the chosen layout [1]",
        "tco_usd": "total cost of ownership over the horizon [USD]",
    },
    "serving": {
        "usd_per_million_tokens": "cost per million output tokens [USD]",
        "tokens_per_s": "output tokens per second of the sized fleet [1/s]",
        "usd_per_gpu_h": "site cost per GPU-hour over the TCO horizon [USD/GPU-h]",
        "energy_mwh": "typical-year facility energy [MWh]",
        "pue": "typical-year facility / IT energy [1]",
        "co2_t": "typical-year emissions [t CO2]",
        "peak_mw": "facility peak power [MW]",
        "battery_mwh": "battery energy of the sized site [MWh]",
        "gpus": "GPUs of the sized site [1]",
        "tco_usd": "total cost of ownership over the horizon [USD]",
    },
}

#: Objectives of the Pareto front when a sweep names none.
DEFAULT_OBJECTIVES: dict[str, dict[str, Sense]] = {
    "scenario": {"energy_usd_per_useful_gpu_h": "min", "goodput": "max"},
    "training": {"cost_per_run_usd": "min", "time_to_train_s": "min"},
    "serving": {"usd_per_million_tokens": "min", "peak_mw": "min"},
}


class Axis(SpecModel):
    """One thing to vary: a field path and either listed ``values`` or a ``low``..``high`` range.

    A range is sampled by ``random``/``lhs`` (uniformly, or log-uniformly with ``log``) and
    split into ``steps`` points by ``grid``; ``integer`` rounds its values. Range bounds are
    numbers in the field's SI unit (seconds, watts); listed values may carry units (``"30 d"``).
    """

    path: str = Field(min_length=1, description="field path in the base, e.g. policies.queue")
    name: str | None = Field(None, min_length=1, description="column name; default: the path")
    values: list[Any] | None = Field(None, min_length=1, max_length=MAX_POINTS)
    low: float | None = None
    high: float | None = None
    steps: int | None = Field(None, ge=2, le=MAX_POINTS, description="grid points of a range")
    log: bool = False
    integer: bool = False

    @model_validator(mode="after")
    def _one_form(self) -> Axis:
        ranged = self.low is not None or self.high is not None
        if self.values is not None and ranged:
            raise ValueError("give either values or low/high, not both")
        if self.values is None and (self.low is None or self.high is None):
            raise ValueError("give values, or both low and high")
        if self.low is not None and self.high is not None:
            if not self.low < self.high:
                raise ValueError(f"low {self.low:g} must be below high {self.high:g}")
            if self.log and self.low <= 0:
                raise ValueError(f"a log range needs low > 0, not {self.low:g}")
        if self.values is not None and self.steps is not None:
            raise ValueError("steps applies to a low/high range only")
        return self

    @property
    def label(self) -> str:
        """The axis's column name in the table."""
        return self.name or self.path


class Sample(SpecModel):
    """How points are drawn from the axes.

    ``grid``: every combination; ``list``: the i-th value of every axis together (equal
    lengths); ``random``: ``points`` independent draws; ``lhs``: a Latin-hypercube sample of
    ``points`` (each axis split into ``points`` equal strata, each stratum used once).
    """

    method: Literal["grid", "list", "random", "lhs"] = "grid"
    points: int | None = Field(None, ge=1, le=MAX_POINTS, description="draws of random and lhs")
    seed: int = Field(0, ge=0, description="seed of the random and lhs draws")

    @model_validator(mode="after")
    def _points(self) -> Sample:
        drawn = self.method in ("random", "lhs")
        if drawn and self.points is None:
            raise ValueError(f"method {self.method} needs points (how many to draw)")
        if not drawn and self.points is not None:
            raise ValueError(f"points applies to random and lhs, not {self.method}")
        return self


class PlanBase(SpecModel):
    """A planner base: a site (file path or inline mapping) and a goal (file path or mapping)."""

    site: str | dict[str, Any]
    goal: str | dict[str, Any]


class SweepSpec(SpecModel):
    """A sweep file: one base (``scenario`` or ``plan``), fixed overrides, axes, a sample."""

    name: str = Field(min_length=1)
    description: str = ""
    scenario: str | dict[str, Any] | None = Field(None, description="base scenario: file or mapping")
    plan: PlanBase | None = Field(None, description="base plan: site and goal")
    set: dict[str, Any] = Field(default_factory=dict, description="path -> value, applied to the base")
    axes: list[Axis] = Field(min_length=1, max_length=MAX_AXES)
    sample: Sample = Sample()
    seeds: list[int] | None = Field(None, min_length=1, max_length=10_000, description="cross every point")
    objectives: dict[str, Sense] = Field(default_factory=dict, description="output -> min or max (Pareto)")
    outputs: list[str] | None = Field(None, min_length=1, description="outputs charted; default: all")

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        if (self.scenario is None) == (self.plan is None):
            raise ValueError("give exactly one base: scenario (run by the twin) or plan (site + goal)")
        labels = [a.label for a in self.axes]
        dupes = sorted({n for n in labels if labels.count(n) > 1})
        if dupes:
            raise ValueError(f"axis names must be unique; repeated: {', '.join(dupes)}")
        if self.seeds is not None:
            if min(self.seeds) < 0:
                raise ValueError("seeds must be ≥ 0")
            if len(set(self.seeds)) != len(self.seeds):
                raise ValueError("seeds must be distinct")
            if "seed" in labels:
                raise ValueError("an axis is named 'seed' and seeds are given: use one of the two")
        if self.sample.method == "list":
            lengths = {a.label: len(a.values) for a in self.axes if a.values is not None}
            if len(lengths) < len(self.axes):
                raise ValueError("method list takes listed values on every axis, not low/high ranges")
            if len(set(lengths.values())) > 1:
                shown = ", ".join(f"{k}: {v}" for k, v in lengths.items())
                raise ValueError(f"method list needs axes of equal length; they have {shown}")
        if self.sample.method == "grid":
            ranged = [a.label for a in self.axes if a.values is None and a.steps is None]
            if ranged:
                raise ValueError(f"a grid splits a low/high range into steps; give steps on {ranged[0]}")
        return self


# --- paths ---------------------------------------------------------------------------------

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_\-]*)((?:\[\d+\])*)")


def parse_path(path: str) -> list[str | int]:
    """``"site.pods[0].count"`` -> ``["site", "pods", 0, "count"]``; refuses malformed paths."""
    out: list[str | int] = []
    for part in path.split("."):
        m = _TOKEN.fullmatch(part)
        if m is None:
            raise ValueError(f"malformed path {path!r}: write names and [index] joined by dots")
        out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return out


def show_path(tokens: list[str | int]) -> str:
    """The inverse of :func:`parse_path`."""
    out = ""
    for t in tokens:
        out += f"[{t}]" if isinstance(t, int) else (f".{t}" if out else t)
    return out


def check_path(root: Any, doc: Any, path: str) -> None:
    """Refuse a path that names no field of model ``root``, or an index past the end of a
    list of the base document ``doc``; the message names the first bad part."""
    tokens = parse_path(path)
    current: Any = root
    node: Any = doc
    for i, token in enumerate(tokens):
        here = show_path(tokens[:i]) or "(top)"
        current = _unwrap(current)
        if isinstance(token, int):
            if typing.get_origin(current) is not list:
                raise ValueError(f"{here} is not a list; [{token}] does not apply")
            size = len(node) if isinstance(node, list) else 0
            if token >= size:
                entries = f"{size} entr{'y' if size == 1 else 'ies'}"
                raise ValueError(f"{here} has {entries}; [{token}] is past the end")
            current, node = typing.get_args(current)[0], node[token]
            continue
        fields = _fields(current)
        if fields is None:  # a mapping of free keys (queue weights, price overrides)
            if typing.get_origin(current) is dict:
                current, node = typing.get_args(current)[1], _child(node, token)
                continue
            raise ValueError(f"{here} is a value, not a mapping; .{token} does not apply")
        if token not in fields:
            close = difflib.get_close_matches(token, fields, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f"; fields: {', '.join(sorted(fields))}"
            raise ValueError(f"{show_path(tokens[: i + 1])}: no such field{hint}")
        current, node = fields[token], _child(node, token)


def _child(node: Any, key: str) -> Any:
    return node.get(key) if isinstance(node, dict) else None


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``; ``Annotated[X, ...]`` -> ``X``."""
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if typing.get_origin(annotation) in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            if len(args) == 1:
                annotation = args[0]
                continue
            if models:
                return tuple(models)  # a union of models: a field of any member will do
        return annotation


def _fields(annotation: Any) -> dict[str, Any] | None:
    """Field name -> annotation of a model (or of any model of a union); None for others."""
    models = annotation if isinstance(annotation, tuple) else (annotation,)
    out: dict[str, Any] = {}
    for m in models:
        if isinstance(m, type) and issubclass(m, BaseModel):
            out.update({k: f.annotation for k, f in m.model_fields.items() if k != "base_dir"})
    return out if out or any(isinstance(m, type) and issubclass(m, BaseModel) for m in models) else None


def set_path(root: Any, doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``doc`` (a document of model ``root``) with ``value`` at ``path``; the original
    is left alone.

    Missing mappings on the way are created; a catalog name on the way becomes
    ``{catalog: name}`` (and a server written as its system's name ``{system: name}``), so that
    one field of it can be overridden.
    """
    out: dict[str, Any] = _set(root, doc, parse_path(path), value)
    return out


def _set(annotation: Any, node: Any, tokens: list[str | int], value: Any) -> Any:
    if not tokens:
        return value
    annotation = _unwrap(annotation)
    head, rest = tokens[0], tokens[1:]
    if isinstance(head, int):
        items = list(node) if isinstance(node, list) else []
        inner = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None
        items[head] = _set(inner, items[head], rest, value)
        return items
    if isinstance(node, str) and isinstance(annotation, type):  # a name standing for a mapping
        if issubclass(annotation, Server):
            node = {"system": node}
        elif issubclass(annotation, CatalogEntry):
            node = {"catalog": node}
    fields = _fields(annotation)
    if fields is not None:
        inner = fields.get(head)
    else:
        inner = typing.get_args(annotation)[1] if typing.get_origin(annotation) is dict else None
    out = dict(node) if isinstance(node, dict) else {}
    out[head] = _set(inner, out.get(head), rest, value)
    return out


class _TrainingPlan(BaseModel):
    site: Site
    goal: TrainingGoal


class _ServingPlan(BaseModel):
    site: Site
    goal: ServingGoal


# --- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: the validated file, its kind, and the base as a plain document.

    ``base`` is the scenario document (its site inlined) for ``kind == "scenario"``, or
    ``{"site": ..., "goal": ...}`` for a plan. ``build(doc)`` turns such a document, with axis
    values set into it, into validated inputs. ``base_dir`` is where the scenario's relative
    paths start; ``folder`` is the sweep file's, where file names given as values start.
    """

    spec: SweepSpec
    kind: SweepKind
    base: dict[str, Any]
    base_dir: Path
    folder: Path
    source: str

    @property
    def root(self) -> type[BaseModel]:
        """The model the paths start from."""
        roots: dict[str, type[BaseModel]] = {
            "scenario": Scenario,
            "training": _TrainingPlan,
            "serving": _ServingPlan,
        }
        return roots[self.kind]

    @property
    def objectives(self) -> dict[str, Sense]:
        """The Pareto objectives: those of the file, else the kind's defaults."""
        return dict(self.spec.objectives) or dict(DEFAULT_OBJECTIVES[self.kind])

    @property
    def outputs(self) -> list[str]:
        """The outputs charted (all of the kind unless the file names some)."""
        return list(self.spec.outputs or OUTPUTS[self.kind])

    def build(self, doc: dict[str, Any], name: str = "") -> Scenario | tuple[Site, PlanGoal]:
        """Validate a base document (with values set) into the inputs of one run."""
        site_doc = _unwrap_doc(self.load_value(doc["site"]), "site")
        if self.kind == "scenario":
            return validate(Scenario, {**doc, "site": site_doc, "base_dir": str(self.base_dir)}, name)
        site = validate(Site, site_doc, f"{name}: site" if name else "site")
        goal = goal_from_dict(self.load_value(doc["goal"]), name=f"{name}: goal" if name else "goal")
        try:  # price overrides are free keys in a goal; the price table names the known ones
            catalog.resolve("prices", goal.prices, goal.price_overrides)
        except MegapodError as exc:
            where = f"{name}: goal.price_overrides" if name else "goal.price_overrides"
            raise SpecError(where, str(exc)) from None
        return site, goal

    def load_value(self, value: Any) -> Any:
        """A value given as a file name (a whole site or goal, relative to the sweep file)
        read into its document; anything else as it is."""
        if isinstance(value, str) and value.endswith((".yaml", ".yml", ".toml")):
            return read_document(_relative(self.folder, value))
        return value


def _relative(folder: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else folder / p


def _unwrap_doc(doc: Any, key: str) -> Any:
    if isinstance(doc, dict) and set(doc) == {key} and isinstance(doc[key], dict):
        return doc[key]
    return doc


def load_sweep(path: str | Path) -> Sweep:
    """Read and validate a sweep file, load its base, and check every axis against it."""
    p = Path(path)
    name = str(p)
    spec = validate(SweepSpec, read_document(p), name)
    folder = p.resolve().parent
    if spec.scenario is not None:
        sweep = _scenario_sweep(spec, folder, name)
    else:
        assert spec.plan is not None
        sweep = _plan_sweep(spec, spec.plan, folder, name)
    return check_sweep(sweep)


def _scenario_sweep(spec: SweepSpec, folder: Path, name: str) -> Sweep:
    base_dir = folder
    if isinstance(spec.scenario, str):
        scenario_path = _relative(folder, spec.scenario)
        load_scenario(scenario_path)  # the base on its own: every check of a scenario file
        doc = read_document(scenario_path)
        base_dir = scenario_path.resolve().parent
    else:
        doc = dict(spec.scenario or {})
    site = doc.get("site")
    if isinstance(site, str):
        doc["site"] = _unwrap_doc(read_document(_relative(base_dir, site)), "site")
    return Sweep(spec, "scenario", doc, base_dir, folder, name)


def _plan_sweep(spec: SweepSpec, plan: PlanBase, folder: Path, name: str) -> Sweep:
    site: Any = plan.site
    if isinstance(site, str):
        from megapod import load_site  # the base site with its physical checks

        load_site(_relative(folder, site))
        site = read_document(_relative(folder, site))
    goal: Any = plan.goal
    if isinstance(goal, str):
        goal = read_document(_relative(folder, goal))
    goal = _unwrap_doc(goal, "goal")
    kind: SweepKind = "serving" if isinstance(goal, dict) and goal.get("kind") == "serving" else "training"
    if spec.seeds is not None:
        raise SpecError(f"{name}: seeds", "a plan is deterministic; seeds apply to a scenario base")
    return Sweep(spec, kind, {"site": _unwrap_doc(site, "site"), "goal": goal}, folder, folder, name)


def check_sweep(sweep: Sweep) -> Sweep:
    """Check the fixed overrides, every axis path and every axis value (or range end) against
    the base; return the sweep with the overrides applied to its base."""
    spec, name = sweep.spec, sweep.source
    base = sweep.base
    for path, value in spec.set.items():
        base = _checked(sweep, base, path, value, f"{name}: set.{path}", build=True)
    try:
        sweep.build(base)
    except MegapodError as exc:
        raise SpecError(f"{name}: set", f"the base with these values is invalid: {exc}") from None
    sweep = Sweep(spec, sweep.kind, base, sweep.base_dir, sweep.folder, name)
    for i, axis in enumerate(spec.axes):
        values = axis.values if axis.values is not None else [_end(axis, axis.low), _end(axis, axis.high)]
        for j, value in enumerate(values):
            where = f"axes[{i}].values[{j}]" if axis.values is not None else f"axes[{i}].{('low', 'high')[j]}"
            _checked(sweep, base, axis.path, value, f"{name}: {where}", build=True)
    known = OUTPUTS[sweep.kind]
    for field, wanted in (("objectives", list(spec.objectives)), ("outputs", spec.outputs or [])):
        for out in wanted:
            if out not in known:
                close = difflib.get_close_matches(out, known, n=1, cutoff=0.5)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
                raise SpecError(f"{name}: {field}.{out}", f"not an output of a {sweep.kind} point; {hint}")
    return sweep


def _end(axis: Axis, value: float | None) -> float | int:
    assert value is not None
    return round(value) if axis.integer else value


def _checked(
    sweep: Sweep, base: dict[str, Any], path: str, value: Any, where: str, build: bool = False
) -> dict[str, Any]:
    try:
        check_path(sweep.root, base, path)
    except ValueError as exc:
        raise SpecError(where, f"path {path!r}: {exc}") from None
    doc = set_path(sweep.root, base, path, value)
    if build:
        try:
            sweep.build(doc)
        except MegapodError as exc:
            raise SpecError(where, f"{path} = {_show(value)} is refused: {exc}") from None
    return doc


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = [
    "DEFAULT_OBJECTIVES",
    "MAX_POINTS",
    "OUTPUTS",
    "Axis",
    "PlanBase",
    "Sample",
    "Sweep",
    "SweepSpec",
    "check_path",
    "load_sweep",
    "parse_path",
    "set_path",
]
