"""``megapod simulate SCENARIO --out DIR``: run the twin, save Parquet + JSON + HTML."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from megapod.cli.console import make_console
from megapod.cli.progress import progress
from megapod.errors import SpecError

if TYPE_CHECKING:
    from megapod.sim.twin import SimResult

# The library is imported inside the command, so that ``megapod --help`` stays cheap.


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
    force: Annotated[
        bool, typer.Option("--force", help="replace the files of an earlier run in --out")
    ] = False,
    csv: Annotated[
        bool, typer.Option("--csv", help="also write jobs.csv, series.csv and pods.csv in --out")
    ] = False,
) -> None:
    """Run a scenario through time: jobs, failures, grid events, weather."""
    from megapod.report.sim_report import summary_rows
    from megapod.sim.twin import Twin
    from megapod.spec.scenario import load_scenario

    if csv and out is None:
        raise SpecError("--csv", "give --out DIR for the CSV files")
    if out is not None:
        check_out_folder(out, force)
    sc = load_scenario(scenario)
    if seed is not None:
        sc = sc.model_copy(update={"seed": seed})
    twin = Twin(sc)
    with progress("simulating", sc.horizon_s) as update:
        twin.progress = lambda t_s, _horizon_s: update(t_s)
        result = twin.run()
    if out is not None:
        save(result, out, csv)
    if as_json:
        typer.echo(result.to_json())
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


def check_out_folder(out: Path, force: bool = False) -> None:
    """Refuse, before any work, an output path that is a file, a folder that already holds
    files (unless ``force``), or one under a place that cannot be written."""
    if out.exists() and not out.is_dir():
        raise SpecError("--out", f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise SpecError("--out", f"{out} already holds files; pass --force to replace them")
    ancestor = out.resolve().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not os.access(ancestor, os.W_OK):
        raise SpecError("--out", f"{ancestor} is not writable")


def save(result: SimResult, out: Path, csv: bool = False) -> None:
    """Write the run's tables and report into ``out`` atomically: everything goes into a
    temporary folder beside it that is renamed to ``out`` last, so a killed run leaves either
    the whole set or nothing (never a mix of two runs)."""
    import shutil
    import tempfile

    from megapod.report.sim_report import render_sim_report

    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        result.jobs.to_parquet(tmp / "jobs.parquet", index=False)
        result.series.to_parquet(tmp / "series.parquet", index=False)
        result.pods.to_parquet(tmp / "pods.parquet", index=False)
        if csv:
            for name, frame in (("jobs", result.jobs), ("series", result.series), ("pods", result.pods)):
                frame.to_csv(tmp / f"{name}.csv", index=False)
        (tmp / "summary.json").write_text(result.to_json(indent=2) + "\n", encoding="utf-8")
        (tmp / "report.html").write_text(render_sim_report(result), encoding="utf-8")
        if out.is_dir():  # the previous set (checked before the run) goes only once this one is whole
            old = out.with_name(f".{out.name}.replaced")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
