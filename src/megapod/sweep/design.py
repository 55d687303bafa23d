"""The points of a sweep: draw them from the axes, then resolve each to validated inputs.

A point is first a set of axis values (``expand``); ``resolve`` sets them into the base
document, validates the result into the inputs of one run (a scenario, or a site and goal) and
hashes those inputs into the point's key. The key is a hash of the *resolved* inputs (catalog
entries filled in, units converted), so two ways of writing the same design share one key, and
the key changes with anything that changes the run.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from megapod.errors import MegapodError, SpecError
from megapod.spec.sweep import MAX_POINTS, Axis, Sweep, parse_path, set_path

if TYPE_CHECKING:
    import numpy as np

    from megapod.spec.goal import ServingGoal, TrainingGoal
    from megapod.spec.scenario import Scenario
    from megapod.spec.site import Site

    Inputs = Scenario | tuple[Site, TrainingGoal | ServingGoal]

#: Hex digits of the point key (64 bits: no collision in any sweep this size).
KEY_DIGITS = 16


@dataclass(frozen=True)
class Point:
    """One point of the design: its position and its value on each axis (by column name)."""

    index: int
    values: dict[str, Any]


@dataclass(frozen=True)
class ResolvedPoint:
    """A point ready to run: its key, its table columns, its validated inputs, and those inputs
    as plain JSON values (``canonical``) and as their compact JSON text (what the key hashes)."""

    index: int
    key: str
    columns: dict[str, Any]
    inputs: Inputs
    canonical: dict[str, Any]
    inputs_json: str


def design_size(sweep: Sweep) -> int:
    """Points the sweep holds (before ``max_points``), without drawing them."""
    spec = sweep.spec
    if spec.sample.method == "grid":
        n = math.prod(len(_grid_values(a)) for a in spec.axes)
    elif spec.sample.method == "list":
        n = len(spec.axes[0].values or [])
    else:
        n = spec.sample.points or 0
    return n * len(spec.seeds or [None])


def expand(sweep: Sweep, max_points: int | None = None) -> list[Point]:
    """The points of the design in a fixed order (the first ``max_points`` of them).

    ``grid`` varies the last axis fastest; ``random`` and ``lhs`` draw from one generator
    seeded by ``sample.seed``; ``seeds`` repeats every point once per seed (seed fastest).
    """
    spec = sweep.spec
    size = design_size(sweep)
    if size > MAX_POINTS:
        raise SpecError(f"{sweep.source}: axes", f"the design has {size:,} points; at most {MAX_POINTS:,}")
    labels = [a.label for a in spec.axes]
    method = spec.sample.method
    rows: list[tuple[Any, ...]]
    if method == "grid":
        rows = list(itertools.product(*(_grid_values(a) for a in spec.axes)))
    elif method == "list":
        rows = list(zip(*(a.values or [] for a in spec.axes), strict=True))
    else:
        rows = _drawn(spec.axes, method, spec.sample.points or 0, spec.sample.seed)
    points = [dict(zip(labels, row, strict=True)) for row in rows]
    if spec.seeds is not None:
        points = [{**p, "seed": s} for p in points for s in spec.seeds]
    if max_points is not None:
        points = points[:max_points]
    return [Point(i, p) for i, p in enumerate(points)]


def _grid_values(axis: Axis) -> list[Any]:
    if axis.values is not None:
        return list(axis.values)
    assert axis.low is not None and axis.high is not None and axis.steps is not None
    n = axis.steps
    if axis.log:
        ratio = axis.high / axis.low
        values = [axis.low * ratio ** (i / (n - 1)) for i in range(n)]
    else:
        values = [axis.low + (axis.high - axis.low) * i / (n - 1) for i in range(n)]
    values[-1] = axis.high  # exact end, whatever the rounding on the way
    if axis.integer:
        return list(dict.fromkeys(round(v) for v in values))
    return values


def _drawn(axes: list[Axis], method: str, points: int, seed: int) -> list[tuple[Any, ...]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    if method == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(axes), rng=rng).random(points)
    else:
        unit = rng.random((points, len(axes)))
    columns = [_from_unit(axis, unit[:, k]) for k, axis in enumerate(axes)]
    return list(zip(*columns, strict=True))


def _from_unit(axis: Axis, u: np.ndarray[Any, Any]) -> list[Any]:
    """Values of ``axis`` for uniform draws ``u`` in [0, 1): a stratum of a listed axis, or a
    point of its range (log-uniform with ``log``)."""
    if axis.values is not None:
        n = len(axis.values)
        return [axis.values[min(int(x * n), n - 1)] for x in u]
    assert axis.low is not None and axis.high is not None
    if axis.log:
        values = [axis.low * (axis.high / axis.low) ** float(x) for x in u]
    else:
        values = [axis.low + (axis.high - axis.low) * float(x) for x in u]
    return [round(v) for v in values] if axis.integer else values


def resolve(sweep: Sweep, point: Point) -> ResolvedPoint:
    """Set the point's values into the base, validate, and key the result.

    A combination the spec refuses (each value passed on its own when the file was loaded) is
    a :class:`SpecError` naming the point and its values.
    """
    doc = sweep.base
    paths = {a.label: a.path for a in sweep.spec.axes}
    paths["seed"] = paths.get("seed", "seed")
    for label, value in point.values.items():
        doc = set_path(sweep.root, doc, paths[label], value)
    try:
        inputs = sweep.build(doc)
    except MegapodError as exc:
        shown = ", ".join(f"{k}={v!r}" for k, v in point.values.items())
        raise SpecError(f"{sweep.source}: point {point.index} ({shown})", str(exc)) from None
    canonical = canonical_inputs(sweep.kind, inputs)
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), allow_nan=False)
    key = point_key(sweep.kind, text)
    columns = {label: _column_value(canonical, paths[label], value) for label, value in point.values.items()}
    return ResolvedPoint(point.index, key, columns, inputs, canonical, text)


def canonical_inputs(kind: str, inputs: Inputs) -> dict[str, Any]:
    """The inputs of a run as plain JSON values (for the key and the table).

    The scenario's ``base_dir`` (where its files were found) is left out: it says where, not
    what, and a sweep folder that moves keeps its keys.
    """
    if isinstance(inputs, tuple):
        site, goal = inputs
        return {"site": site.model_dump(mode="json"), "goal": goal.model_dump(mode="json")}
    out: dict[str, Any] = inputs.model_dump(mode="json", exclude={"base_dir"})
    return out


def point_key(kind: str, inputs_json: str) -> str:
    """The hash of a point's resolved inputs (their compact JSON text, keys sorted), with the
    kind and megapod's version: of ``{"inputs": …, "kind": …, "megapod": …}`` as compact JSON."""
    from megapod import __version__

    text = f'{{"inputs":{inputs_json},"kind":{json.dumps(kind)},"megapod":{json.dumps(__version__)}}}'
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_DIGITS]


def _column_value(canonical: dict[str, Any], path: str, raw: Any) -> Any:
    """What the table shows for an axis: the resolved number when the field holds one (units
    converted: ``"30 d"`` -> 2592000.0), else the value as written (a catalog name), else JSON."""
    node: Any = canonical
    for token in parse_path(path):
        if isinstance(token, int):
            node = node[token] if isinstance(node, list) and token < len(node) else None
        else:
            node = node.get(token) if isinstance(node, dict) else None
    if isinstance(node, bool | int | float) or (node is None and raw is None):
        return node
    if isinstance(raw, str | int | float | bool):
        return raw
    return json.dumps(raw, sort_keys=True, default=str)
