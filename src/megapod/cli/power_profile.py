"""``megapod power-profile``: a training job's grid-facing power, mitigations and battery size."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from megapod.cli.console import make_console
from megapod.cli.output import check_out_file, check_table_file, write_atomic, write_table, write_text_atomic
from megapod.cli.progress import progress
from megapod.errors import SpecError

# The library is imported inside the command, so that ``megapod --help`` stays cheap.


def register(app: typer.Typer) -> None:
    """Add the ``power-profile`` command to ``app``."""
    app.command("power-profile")(power_profile)


def power_profile(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML with a power_profile: section")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document for machines")] = False,
    html_file: Annotated[Path | None, typer.Option("--html", help="write an HTML report with plots")] = None,
    png_file: Annotated[Path | None, typer.Option("--png", help="write the figure as PNG")] = None,
    series: Annotated[
        Path | None,
        typer.Option(
            "--series", help="write the waveforms the report plots, one row a sample (.csv or .parquet)"
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="replace files that --html/--png/--series name")
    ] = False,
) -> None:
    """Synthesize the site's power during training, compare mitigations, size the battery."""
    from megapod.report import power_profile_report as report
    from megapod.sim.power_profile import run_power_profile
    from megapod.spec.scenario import load_scenario

    for flag, path in (("--html", html_file), ("--png", png_file)):
        if path is not None:
            check_out_file(flag, path, force)
    if series is not None:
        check_table_file("--series", series, force)
    sc = load_scenario(scenario)
    if sc.power_profile is None:
        raise SpecError(str(scenario), "the scenario has no power_profile: section")
    with progress("power profile", 1 + len(sc.power_profile.mitigations)) as update:
        result = run_power_profile(
            sc.site, sc.power_profile, sc.seed, sc.name, progress=lambda done, _total: update(done)
        )
    if html_file is not None:
        write_text_atomic(html_file, report.render_html(result))
    if png_file is not None:
        png = report.png_bytes(result)
        write_atomic(png_file, lambda tmp: tmp.write_bytes(png))
    if series is not None:
        write_table(series, result.to_frame())
    if as_json:
        typer.echo(result.to_json())
        return
    job = result.baseline.job
    failures = ", ".join(f"{t:.0f} s" for t in result.failures_s) or "none"
    console = make_console()
    console.print(
        f"[bold]{result.name}[/bold]: {job.gpus:,} GPUs in {job.groups:,} groups of {job.group_gpus}, "
        f"step {job.step_time_s:.3f} s, {result.baseline.grid_w.size:,} samples at "
        f"{result.resolution_s * 1e3:g} ms, failures at {failures}"
    )
    table = Table(*report.COLUMNS)
    for row in report.table_rows(result):
        table.add_row(*row)
    console.print(table)
    line = report.sizing_line(result)
    if line:
        console.print(line)
