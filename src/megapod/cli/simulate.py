"""``megapod simulate SCENARIO --out DIR``: run the twin, save Parquet + JSON + HTML."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from megapod.cli.console import make_console
from megapod.errors import SpecError

if TYPE_CHECKING:
    from megapod.sim.twin import SimResult

# The library is imported inside the command, so that ``megapod --help`` stays cheap.

#: Runs with more jobs than this show a progress bar.
PROGRESS_MIN_JOBS = 20_000


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to ``app``."""
    app.command("simulate")(simulate)


def simulate(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="folder for jobs.parquet, series.parquet, pods.parquet, summary.json, report.html"
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, max=2**32 - 1, help="override the scenario's seed")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON document")] = False,
) -> None:
    """Run a scenario through time: jobs, failures, grid events, weather."""
    from megapod.report.sim_report import summary_rows
    from megapod.sim.twin import Twin
    from megapod.spec.scenario import load_scenario

    if out is not None:
        check_out_folder(out)
    sc = load_scenario(scenario)
    if seed is not None:
        sc = sc.model_copy(update={"seed": seed})
    twin = Twin(sc)
    if len(twin.jobs) >= PROGRESS_MIN_JOBS and not as_json:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=make_console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task("sim", total=sc.horizon_s)
            twin.progress = lambda t, h: bar.update(task, completed=t)
            result = twin.run()
    else:
        result = twin.run()
    if out is not None:
        save(result, out)
    if as_json:
        typer.echo(json.dumps(_clean(result.summary)))
        return
    table = Table(title=f"{sc.name}", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in summary_rows(result.summary):
        table.add_row(escape(label), value)
    console = make_console()
    console.print(table)
    if out is not None:
        console.print(
            f"wrote {out}/jobs.parquet, series.parquet, pods.parquet, summary.json, report.html",
            highlight=False,
        )


def check_out_folder(out: Path) -> None:
    """Refuse, before any work, an output folder whose parent is missing or that holds files."""
    parent = out.resolve().parent
    if not parent.is_dir():
        raise SpecError("--out", f"{parent} does not exist; create it first")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SpecError("--out", f"{out} already exists and is not an empty folder; choose a new one")


def save(result: SimResult, out: Path) -> None:
    """Write the run's tables and report into ``out``."""
    from megapod.report.sim_report import render_sim_report

    out.mkdir(parents=True, exist_ok=True)
    result.jobs.to_parquet(out / "jobs.parquet", index=False)
    result.series.to_parquet(out / "series.parquet", index=False)
    result.pods.to_parquet(out / "pods.parquet", index=False)
    (out / "summary.json").write_text(json.dumps(_clean(result.summary), indent=2) + "\n", encoding="utf-8")
    (out / "report.html").write_text(render_sim_report(result), encoding="utf-8")


def _clean(summary: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: missing statistics become null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in summary.items()}
