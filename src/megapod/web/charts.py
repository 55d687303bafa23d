"""Chart descriptions shared by every page: what to draw, with names and units.

A :class:`Chart` is a plain value (title, axes with units, series of numbers). It serialises to
a small JSON *spec* that the page's one chart script (``static/charts.js``) turns into an
interactive plotly chart with the house style: zoom and pan, hover values with their units,
legends above the plot area, thousands separators and no scientific notation on axes or in
hover text. The dashboard draws its live charts through the same script, so reports and the
live site look alike.

Numbers may be given as lists or numpy arrays; they are rounded to ``SIGNIFICANT_DIGITS``
significant digits when serialised (enough for any chart, and it keeps pages small). NaN and
infinities become gaps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

#: Significant digits kept when numbers are written into a page.
SIGNIFICANT_DIGITS = 6

#: The categorical colours, in order (colour-blind-safe, after Okabe and Ito).
PALETTE: tuple[str, ...] = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#d55e00",
    "#cc79a7",
    "#56b4e9",
    "#8a6d00",
    "#6b7280",
)

ChartKind = Literal["line", "bar", "hbar", "scatter"]

#: Numbers to chart: a list, tuple or numpy array (anything iterable).
Values = Iterable[Any]


@dataclass(frozen=True)
class Axis:
    """An axis: what it shows and in which unit (``unit`` is shown in the title and on hover).

    ``decimals`` fixes the digits after the point in hover text (default: 4 significant digits);
    ``log`` gives a logarithmic axis (ticks still in plain decimals); ``zero`` keeps 0 in range.
    """

    title: str
    unit: str = ""
    log: bool = False
    decimals: int | None = None
    zero: bool = False

    def to_spec(self) -> dict[str, Any]:
        """The JSON-ready form the chart script reads."""
        spec: dict[str, Any] = {
            "title": self.title,
            "unit": self.unit,
            "log": self.log,
            "decimals": self.decimals,
        }
        if self.zero:
            spec["zero"] = True
        return spec


@dataclass(frozen=True)
class Series:
    """One named series: ``x`` and ``y`` of the same length.

    ``axis`` picks the left (``"y"``) or right (``"y2"``) value axis; ``band`` is an optional
    (low, high) envelope drawn as a shaded area behind the line; ``text`` labels each point on
    hover (scatter charts); ``color`` overrides the palette; ``dash`` draws a dashed line.
    """

    name: str
    x: Values
    y: Values
    axis: Literal["y", "y2"] = "y"
    band: tuple[Values, Values] | None = None
    text: Sequence[str] | None = None
    color: str | None = None
    dash: bool = False

    def to_spec(self) -> dict[str, Any]:
        """The JSON-ready form the chart script reads (numbers rounded, NaN as gaps)."""
        spec: dict[str, Any] = {"name": self.name, "x": _values(self.x), "y": _values(self.y)}
        if len(spec["x"]) != len(spec["y"]):
            raise ValueError(f"series {self.name!r}: {len(spec['x'])} x values but {len(spec['y'])} y values")
        if self.axis != "y":
            spec["axis"] = self.axis
        if self.band is not None:
            spec["band"] = [_values(self.band[0]), _values(self.band[1])]
        if self.text is not None:
            spec["text"] = [str(t) for t in self.text]
        if self.color is not None:
            spec["color"] = self.color
        if self.dash:
            spec["dash"] = True
        return spec


@dataclass(frozen=True)
class Chart:
    """A chart: a title, axes, series and how to draw them.

    ``kind`` is ``"line"`` (x numeric), ``"scatter"`` (markers), ``"bar"`` (vertical bars over
    categories) or ``"hbar"`` (horizontal bars: ``x`` holds the values, ``y`` the categories).
    ``stacked`` stacks bar series. ``shapes`` are vertical spans ``(x0, x1, label)`` shaded
    behind the data (e.g. a frequency band). ``height_px`` is the plot's height.
    """

    title: str
    x: Axis
    y: Axis
    series: tuple[Series, ...]
    kind: ChartKind = "line"
    y2: Axis | None = None
    caption: str = ""
    stacked: bool = False
    height_px: int = 340
    spans: tuple[tuple[float, float, str], ...] = field(default_factory=tuple)

    def to_spec(self) -> dict[str, Any]:
        """The JSON-ready description the chart script draws."""
        spec: dict[str, Any] = {
            "kind": self.kind,
            "title": self.title,
            "x": self.x.to_spec(),
            "y": self.y.to_spec(),
            "series": [s.to_spec() for s in self.series],
            "height": self.height_px,
        }
        if self.y2 is not None:
            spec["y2"] = self.y2.to_spec()
        if self.stacked:
            spec["stacked"] = True
        if self.spans:
            spec["spans"] = [[_number(a), _number(b), label] for a, b, label in self.spans]
        return spec


def line_chart(
    title: str,
    x: Values,
    ys: Mapping[str, Values],
    *,
    x_axis: Axis,
    y_axis: Axis,
    y2: Mapping[str, Values] | None = None,
    y2_axis: Axis | None = None,
    caption: str = "",
    height_px: int = 340,
) -> Chart:
    """Lines over one shared ``x``: ``ys`` maps a legend name to its values on the left axis,
    ``y2`` (with ``y2_axis``) the same for the right axis."""
    series = [Series(name, x, y) for name, y in ys.items()]
    if y2:
        if y2_axis is None:
            raise ValueError("y2 series need a y2_axis")
        series += [Series(name, x, y, axis="y2") for name, y in y2.items()]
    return Chart(title, x_axis, y_axis, tuple(series), "line", y2_axis, caption, height_px=height_px)


def bar_chart(
    title: str,
    categories: Sequence[str],
    values: Mapping[str, Values],
    *,
    value_axis: Axis,
    category_title: str = "",
    horizontal: bool = True,
    stacked: bool = False,
    caption: str = "",
) -> Chart:
    """Bars: one bar per category for each entry of ``values`` (legend name → one value per
    category). Horizontal bars list the categories top to bottom in the given order."""
    cat_axis = Axis(category_title)
    cats = [str(c) for c in categories]
    if horizontal:
        series = tuple(Series(name, v, cats) for name, v in values.items())
        height = max(220, 60 + 28 * len(cats))
        return Chart(title, value_axis, cat_axis, series, "hbar", None, caption, stacked, height)
    series = tuple(Series(name, cats, v) for name, v in values.items())
    return Chart(title, cat_axis, value_axis, series, "bar", None, caption, stacked)


def scatter_chart(
    title: str,
    points: Mapping[str, tuple[Values, Values]],
    *,
    x_axis: Axis,
    y_axis: Axis,
    labels: Mapping[str, Sequence[str]] | None = None,
    caption: str = "",
) -> Chart:
    """Markers: ``points`` maps a legend name to its ``(x, y)`` values; ``labels`` (same keys)
    names each point on hover, e.g. the design of a sweep point."""
    labels = labels or {}
    series = tuple(Series(name, xs, ys, text=labels.get(name)) for name, (xs, ys) in points.items())
    return Chart(title, x_axis, y_axis, series, "scatter", None, caption)


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return int(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v):
        return None
    if v == 0.0:
        return 0
    if isinstance(value, int) or (v.is_integer() and abs(v) < 1e15):
        return int(v)
    return float(f"{v:.{SIGNIFICANT_DIGITS}g}")


def _values(values: Iterable[Any]) -> list[Any]:
    """Plain JSON values: numbers rounded, strings kept, NaN and infinities as ``None``."""
    tolist = getattr(values, "tolist", None)
    items = tolist() if callable(tolist) else list(values)
    return [v if isinstance(v, str) else _number(v) for v in items]
