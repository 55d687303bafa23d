"""What a sweep's table says: its Pareto front and the sensitivity of each output to each axis.

* Pareto front: the points no other point beats on every objective (at least as good on all,
  better on one), over the finished (``ok``) points with a value for each objective.
* Sensitivity (the tornado): for each axis, the mean of an output over the points at each of
  the axis's values — a main effect, averaged over the other axes — and the spread between the
  lowest and highest of those means. It reads a grid, a random or a Latin-hypercube design
  alike; numeric axes with more distinct values than ``bins`` are grouped into ``bins``
  quantile bins first. An axis ``seed`` shows the noise floor of a stochastic run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

#: Quantile bins of a numeric axis in the sensitivity of a sampled (random, lhs) design.
SENSITIVITY_BINS = 4
#: Columns of a sensitivity table.
TORNADO_COLUMNS = ("axis", "low_value", "high_value", "low", "high", "swing", "baseline")


def pareto_front(
    frame: pd.DataFrame, objectives: Mapping[str, Literal["min", "max"]] | None = None
) -> pd.DataFrame:
    """The non-dominated ``ok`` rows of ``frame`` over ``objectives`` (output -> ``"min"`` or
    ``"max"``; default: the sweep's own, from ``frame.attrs``), sorted by the first objective."""
    import numpy as np

    goals = dict(objectives or frame.attrs.get("objectives") or {})
    if not goals:
        raise ValueError("name the objectives (output -> min or max)")
    missing = [k for k in goals if k not in frame.columns]
    if missing:
        raise KeyError(f"no output column {missing[0]!r}; the table has {', '.join(map(str, frame.columns))}")
    ok = frame["status"] == "ok" if "status" in frame.columns else np.ones(len(frame), dtype=bool)
    sub = frame[ok].dropna(subset=list(goals))
    signs = np.array([1.0 if sense == "min" else -1.0 for sense in goals.values()])
    costs = sub[list(goals)].to_numpy(dtype=float) * signs
    order = np.lexsort(costs.T[::-1])  # lexicographic: a point is dominated only by earlier ones
    front: list[int] = []
    for i in order:
        c = costs[i]
        if front:
            f = costs[front]
            if bool(np.any(np.all(f <= c, axis=1) & np.any(f < c, axis=1))):
                continue
        front.append(int(i))
    out = sub.iloc[front]
    first = next(iter(goals))
    return out.sort_values(first, ascending=goals[first] == "min", kind="stable")


def sensitivity(
    frame: pd.DataFrame, output: str, axes: Sequence[str] | None = None, bins: int = SENSITIVITY_BINS
) -> pd.DataFrame:
    """How much ``output`` moves with each axis: one row an axis, largest swing first.

    Columns: ``axis``; ``low_value`` / ``high_value``, the axis value (or bin) with the lowest
    / highest mean output; ``low`` / ``high``, those means; ``swing`` = high - low;
    ``baseline``, the mean over every point. Only ``ok`` points with a value count.
    """
    import pandas as pd

    names = list(axes if axes is not None else frame.attrs.get("axes") or [])
    ok = frame["status"] == "ok" if "status" in frame.columns else pd.Series(True, index=frame.index)
    sub = frame[ok & frame[output].notna()]
    rows: list[dict[str, object]] = []
    if len(sub) == 0:
        return pd.DataFrame(rows, columns=list(TORNADO_COLUMNS))
    baseline = float(sub[output].mean())
    for name in names:
        groups = _levels(sub[name], bins)
        means = sub[output].groupby(groups, observed=True, sort=True).mean()
        if len(means) == 0:
            continue
        lo, hi = means.idxmin(), means.idxmax()
        rows.append(
            {
                "axis": name,
                "low_value": str(lo),
                "high_value": str(hi),
                "low": float(means.min()),
                "high": float(means.max()),
                "swing": float(means.max() - means.min()),
                "baseline": baseline,
            }
        )
    out = pd.DataFrame(rows, columns=list(TORNADO_COLUMNS))
    return out.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def _levels(column: pd.Series, bins: int) -> pd.Series:
    """The group of each value: the value itself, or its quantile bin for a numeric axis with
    more than ``bins`` distinct values."""
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if not numeric or column.nunique() <= bins:
        return column.astype(str) if not numeric else column
    cut = pd.qcut(column, q=bins, duplicates="drop")
    labels = {iv: f"{_num(iv.left)}–{_num(iv.right)}" for iv in cut.cat.categories}
    return cut.cat.rename_categories(labels)


def _num(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:,.4g}"
