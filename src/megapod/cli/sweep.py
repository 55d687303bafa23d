"""``megapod sweep SWEEP.yaml``: run a design sweep on Ray, show its Pareto front, save its files."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from megapod.cli.console import make_console
from megapod.cli.flags import with_unit
from megapod.cli.progress import progress
from megapod.errors import SpecError
from megapod.report.format import number

if TYPE_CHECKING:
    import pandas as pd

    from megapod.sweep.runner import SweepProgress

# Ray, pandas and the library are imported inside the command: ``megapod --help`` stays cheap.

#: Pareto points printed (all are in pareto.parquet).
SHOWN_POINTS = 20


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to ``app``."""
    app.command("sweep")(sweep)


def sweep(
    spec: Annotated[Path, typer.Argument(help="sweep YAML", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="folder for the point store (resumed by a later run), points.parquet/.csv, "
            "pareto.parquet, summary.json, report.html",
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="a running Ray cluster, HOST:PORT (default: a local Ray)"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, max=100_000, help="points at once (default: every CPU)")
    ] = None,
    max_points: Annotated[
        int | None, typer.Option("--max-points", min=1, help="run only the first N points of the design")
    ] = None,
    time_budget: Annotated[
        str | None,
        typer.Option("--time-budget", help='stop sending points after this long, e.g. "20 min"'),
    ] = None,
    serial: Annotated[
        bool, typer.Option("--serial", help="run the points one by one in this process, without Ray")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print a summary as one JSON document")] = False,
) -> None:
    """Run a base scenario or plan goal over axes of designs, policies and futures."""
    from megapod.spec.sweep import load_sweep
    from megapod.units import parse_quantity

    budget_s = None
    if time_budget is not None:
        budget_s = parse_quantity(with_unit("--time-budget", time_budget, "time"), "time")
    if budget_s is not None and not budget_s > 0:
        raise SpecError("--time-budget", f"{time_budget}: must be > 0")
    if out is not None:
        check_sweep_folder(out)
    loaded = load_sweep(spec)  # every error in the file is reported before Ray starts

    from megapod.sweep import pareto_front, run, save

    with ExitStack() as stack:
        update: Callable[[float], None] | None = None

        def show(p: SweepProgress) -> None:
            nonlocal update
            if as_json:
                return
            if update is None:
                update = stack.enter_context(progress("sweep", p.total))
            update(p.done)

        table = run(
            loaded,
            out=out,
            ray_address=ray_address,
            workers=workers,
            max_points=max_points,
            time_budget_s=budget_s,
            progress=show,
            backend="serial" if serial else "ray",
        )
    front = pareto_front(table) if (table["status"] == "ok").any() else table.iloc[0:0]
    written = save(table, out) if out is not None else []
    stats = table.attrs["stats"]
    if as_json:
        doc = {
            "sweep": loaded.spec.name,
            "kind": loaded.kind,
            "points": stats["points"],
            "ran": stats["ran"],
            "cached": stats["cached"],
            "status": {str(k): int(v) for k, v in table["status"].value_counts().items()},
            "objectives": table.attrs["objectives"],
            "pareto": _records(front, table.attrs["axes"], list(table.attrs["objectives"])),
        }
        typer.echo(json.dumps(doc, default=str))
        return
    console = make_console()
    console.print(_front_table(front, table), highlight=False)
    counts = ", ".join(f"{int(v):,} {k}" for k, v in table["status"].value_counts().items())
    console.print(
        f"{stats['points']:,} points ({counts}); {stats['ran']:,} run now, "
        f"{stats['cached']:,} from an earlier run",
        highlight=False,
    )
    if stats["pending"]:
        left = stats["pending"]
        console.print(f"{left:,} points left: run the same command again to go on", highlight=False)
    if written:
        console.print(f"wrote {out}/points/ and {', '.join(p.name for p in written)}", highlight=False)


def check_sweep_folder(out: Path) -> None:
    """Refuse an ``--out`` that is a file, or a folder holding files that are not a sweep's
    (a sweep folder is reused: its stored points are skipped)."""
    if out.exists() and not out.is_dir():
        raise SpecError("--out", f"{out} is a file, not a folder")
    ours = (out / "points").is_dir() or (out / "summary.json").exists()
    if out.is_dir() and not ours and any(out.iterdir()):
        raise SpecError("--out", f"{out} holds files that are not a sweep's; pick an empty or a sweep folder")


def _records(front: pd.DataFrame, axes: list[str], goals: list[str]) -> list[dict[str, Any]]:
    cols = ["point", "key", *axes, *goals]
    return [{str(k): v for k, v in r.items()} for r in front[cols].to_dict("records")]


def _front_table(front: pd.DataFrame, table: pd.DataFrame) -> Table:
    axes: list[str] = table.attrs["axes"]
    goals: list[str] = list(table.attrs["objectives"])
    senses = table.attrs["objectives"]
    out = Table(title=f"{table.attrs['sweep']}: Pareto front ({len(front):,} of {len(table):,} points)")
    out.add_column("point", justify="right")
    for name in axes:
        out.add_column(escape(name))
    for name in goals:
        out.add_column(escape(f"{name} ({senses[name]})"), justify="right")
    for r in front.head(SHOWN_POINTS).to_dict("records"):
        out.add_row(str(r["point"]), *(_cell(r[a]) for a in axes), *(_cell(r[g]) for g in goals))
    if len(front) > SHOWN_POINTS:
        out.caption = f"the first {SHOWN_POINTS} of {len(front):,}; all are in pareto.parquet"
    return out


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return number(value)
    return escape(str(value))
