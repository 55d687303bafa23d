"""``megapod sweep SWEEP.yaml``: run a design sweep on Ray, show its Pareto front, save its files."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from megapod.cli.console import make_console
from megapod.errors import SpecError

if TYPE_CHECKING:
    import pandas as pd

    from megapod.sweep.runner import SweepProgress

# Ray, pandas and the library are imported inside the command: ``megapod --help`` stays cheap.

#: Seconds between progress lines when stderr is not a terminal.
PROGRESS_LINE_S = 10.0
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

    budget_s = parse_quantity(time_budget, "time") if time_budget is not None else None
    if budget_s is not None and not budget_s > 0:
        raise SpecError("--time-budget", f"{time_budget}: must be > 0")
    if out is not None:
        check_sweep_folder(out)
    loaded = load_sweep(spec)  # every error in the file is reported before Ray starts

    from megapod.sweep import pareto_front, run, save

    with _ProgressDisplay(quiet=as_json) as show:
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
        return f"{value:,.4g}"
    return escape(str(value))


class _ProgressDisplay:
    """A rich bar with ETA on a terminal; one line every :data:`PROGRESS_LINE_S` on stderr
    otherwise; nothing when ``quiet``."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None
        self.last_line = 0.0
        self.last: SweepProgress | None = None

    def __enter__(self) -> _ProgressDisplay:
        if not self.quiet and sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("sweep"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]}"),
                TimeElapsedColumn(),
                TextColumn("ETA {task.fields[eta]}"),
                console=make_console(stderr=True),
                transient=True,
            )
            self.bar.__enter__()
        return self

    def __call__(self, p: SweepProgress) -> None:
        self.last = p
        if self.quiet:
            return
        failed = f"{p.failed:,} failed" if p.failed else ""
        if self.bar is not None:
            if self.task is None:
                self.task = self.bar.add_task("sweep", total=p.total, failed=failed, eta="-")
            self.bar.update(self.task, completed=p.done, failed=failed, eta=_duration(p.eta_s))
            return
        now = time.monotonic()
        if p.done == p.total or now - self.last_line >= PROGRESS_LINE_S:
            self.last_line = now
            typer.echo(_line(p), err=True)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        elif not self.quiet and self.last is not None and self.last.done < self.last.total:
            typer.echo(_line(self.last), err=True)


def _line(p: SweepProgress) -> str:
    failed = f", {p.failed:,} failed" if p.failed else ""
    cached = f", {p.cached:,} from an earlier run" if p.cached else ""
    return (
        f"sweep: {p.done:,}/{p.total:,} points{failed}{cached}, {_duration(p.elapsed_s)} elapsed, "
        f"ETA {_duration(p.eta_s)}"
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")
