"""A sweep's files: its table, its Pareto front and an HTML report in the shared look.

The report is built from the shared page components (:mod:`megapod.web`): one self-contained
HTML file (plotly.js inlined, opens offline) with the Pareto front, a tornado chart per output
and the table of every point.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from megapod.spec.sweep import OUTPUTS
from megapod.sweep.analysis import pareto_front, sensitivity

if TYPE_CHECKING:
    import pandas as pd

#: Rows of the all-points table shown in the report (the Parquet table holds every one).
REPORT_ROWS = 300
#: Failed points whose reasons the report lists.
REPORT_FAILURES = 50


def render_report(frame: pd.DataFrame) -> str:
    """The report of a sweep table (as :func:`megapod.sweep.run` returns it) as one HTML string."""
    from megapod import web

    a = frame.attrs
    axes: list[str] = list(a.get("axes", []))
    objectives: dict[str, Literal["min", "max"]] = dict(a.get("objectives", {}))
    outputs: list[str] = list(a.get("outputs", []))
    kind = str(a.get("kind", "scenario"))
    units = OUTPUTS.get(kind, {})
    ok = frame[frame["status"] == "ok"]
    counts = frame["status"].value_counts()
    page = web.Page(
        f"Sweep: {a.get('sweep', '')}",
        subtitle=f"{len(frame):,} points of a {kind} base over {', '.join(axes)}",
    )
    s = page.section("Summary")
    s.highlight("points", f"{len(frame):,}")
    for status in ("ok", "failed", "error", "pending"):
        if counts.get(status, 0):
            s.highlight(status, f"{int(counts[status]):,}")
    front = pareto_front(frame, objectives) if objectives and len(ok) else ok.iloc[0:0]
    s.highlight("Pareto front", f"{len(front):,}")
    s.text(
        "Each point is one run of the base with the axis values set; outputs are those of the "
        "run (see the table at the end). Units are in the output names and listed below."
    )
    for name in outputs:
        s.note(f"{name}: {units.get(name, '')}")

    goals = list(objectives)
    p = page.section(
        "Pareto front",
        "The points no other point beats on every objective: "
        + ", ".join(f"{k} ({v})" for k, v in objectives.items())
        + ".",
    )
    if len(goals) >= 2 and len(ok):
        x, y = goals[0], goals[1]
        label = _labels(ok, axes)
        front_label = _labels(front, axes)
        p.chart(
            web.scatter_chart(
                f"{y} against {x}",
                {
                    "all points": (ok[x].tolist(), ok[y].tolist()),
                    "Pareto front": (front[x].tolist(), front[y].tolist()),
                },
                x_axis=web.Axis(x, _unit(units.get(x, ""))),
                y_axis=web.Axis(y, _unit(units.get(y, ""))),
                labels={"all points": label, "Pareto front": front_label},
            )
        )
    p.dataframe(front[["point", *axes, *goals]], title="Pareto front")

    t = page.section(
        "Sensitivity",
        "For each output, the mean over the points at each value of an axis (the other axes "
        "averaged over), lowest and highest, as the change from the mean of every point. "
        "Numeric axes of a sampled design are grouped into quantile bins.",
    )
    for name in outputs:
        tornado = sensitivity(frame, name, axes)
        if len(tornado) == 0:
            continue
        t.chart(
            web.bar_chart(
                name,
                [str(v) for v in tornado["axis"]],
                {
                    "lowest mean − mean": (tornado["low"] - tornado["baseline"]).tolist(),
                    "highest mean − mean": (tornado["high"] - tornado["baseline"]).tolist(),
                },
                value_axis=web.Axis(f"change of {name}", _unit(units.get(name, ""))),
                caption=f"mean {tornado['baseline'].iloc[0]:,.4g}; "
                + "; ".join(
                    f"{r.axis}: {r.low_value} → {r.high_value}" for r in tornado.itertuples(index=False)
                ),
            )
        )

    rows = page.section("All points")
    shown = frame[["point", *axes, "status", *outputs]]
    rows.dataframe(shown.head(REPORT_ROWS), title="Points")
    if len(frame) > REPORT_ROWS:
        rows.note(f"the first {REPORT_ROWS:,} of {len(frame):,} points; points.parquet holds all")
    failed = frame[frame["status"].isin(["failed", "error"])]
    if len(failed):
        rows.dataframe(failed[["point", *axes, "error"]].head(REPORT_FAILURES), title="Failed points")
    return page.render()


def _labels(frame: pd.DataFrame, axes: list[str]) -> list[str]:
    return [
        f"point {int(r['point'])}: " + ", ".join(f"{k}={_short(r[k])}" for k in axes)
        for r in frame.to_dict("records")
    ]


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if math.isfinite(value) else str(value)
    return str(value)


def _unit(description: str) -> str:
    """``"energy cost [USD]"`` -> ``"USD"``; no unit for ``[1]``."""
    if "[" not in description:
        return ""
    unit = description.rsplit("[", 1)[1].rstrip("]")
    return "" if unit == "1" else unit


def save(frame: pd.DataFrame, out: str | Path) -> list[Path]:
    """Write ``points.parquet``, ``points.csv``, ``pareto.parquet``, ``summary.json`` and
    ``report.html`` into ``out`` (each replaced whole); return the paths written."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    objectives = dict(frame.attrs.get("objectives", {}))
    ok = frame[frame["status"] == "ok"]
    front = pareto_front(frame, objectives) if objectives and len(ok) else ok.iloc[0:0]
    plain = frame.copy()
    plain.attrs = {}
    written: list[Path] = []

    def put(name: str, write: Any) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        os.close(fd)
        try:
            write(tmp)
            os.replace(tmp, folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(folder / name)

    put("points.parquet", lambda p: plain.to_parquet(p, index=False))
    put("points.csv", lambda p: plain.to_csv(p, index=False))
    front_plain = front.copy()
    front_plain.attrs = {}
    put("pareto.parquet", lambda p: front_plain.to_parquet(p, index=False))
    summary = {
        "sweep": frame.attrs.get("sweep"),
        "kind": frame.attrs.get("kind"),
        "axes": frame.attrs.get("axes"),
        "objectives": objectives,
        "status": {str(k): int(v) for k, v in frame["status"].value_counts().items()},
        "pareto_points": [int(v) for v in front["point"]],
    }
    put("summary.json", lambda p: Path(p).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8"))
    put("report.html", lambda p: Path(p).write_text(render_report(frame), encoding="utf-8"))
    return written
