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
    from megapod.fleet.scenario import FleetInRun
    from megapod.sim.twin import SimResult
    from megapod.spec.scenario import Scenario

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
    """Run a scenario through time: jobs, failures, grid events, weather (and the site's vehicle
    fleet beside the pods, when it has one)."""
    from megapod.report.sim_report import not_replayed_rows, summary_rows
    from megapod.sim.twin import Twin
    from megapod.spec.scenario import load_scenario

    if csv and out is None:
        raise SpecError("--csv", "give --out DIR for the CSV files")
    if out is not None:
        check_out_folder(out, force)
    sc = load_scenario(scenario)
    if seed is not None:
        sc = sc.model_copy(update={"seed": seed})
    sc, notes = with_pod_cost(sc)
    twin = Twin(sc)
    with progress("simulating", sc.horizon_s) as update:
        twin.progress = lambda t_s, _horizon_s: update(t_s)
        result = twin.run()
    fleet = None
    if twin.fleet_tier is not None:
        from megapod.fleet.scenario import fleet_in_run

        fleet = fleet_in_run(sc, result, sc.fleet.pod_usd_per_gpu_h)
    if out is not None:
        save(result, out, csv, fleet)
    if as_json:
        if fleet is None:
            typer.echo(result.to_json())
        else:
            import json

            doc = json.loads(result.to_json())
            typer.echo(json.dumps({**doc, "fleet": fleet.to_dict()}, default=_json_value))
        return
    table = Table(title=f"{sc.name}", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for label, value in summary_rows(result.summary) + not_replayed_rows(result.not_replayed):
        table.add_row(escape(label), value)
    console = make_console()
    console.print(table)
    if fleet is not None:
        from megapod.report.fleet_report import fleet_tables

        for t in fleet_tables(fleet):
            ft = Table(title=t.title, show_header=len(t.header) > 2)
            for i, col in enumerate(t.header):
                ft.add_column(col, justify="left" if i == 0 else "right")
            for row in t.rows:
                ft.add_row(*(escape(c) for c in row))
            console.print(ft)
    for note in notes:
        console.print(f"[yellow]note[/yellow] {escape(note)}", highlight=False)
    if out is not None:
        extra = ", fleet.json" if fleet is not None else ""
        console.print(
            f"wrote {out}/jobs.parquet, series.parquet, pods.parquet, summary.json{extra}, report.html",
            highlight=False,
        )


def _json_value(value: object) -> object:
    """NaN and infinity as null, anything else as its text."""
    return None if isinstance(value, float) else str(value)


def with_pod_cost(sc: Scenario) -> tuple[Scenario, list[str]]:
    """The scenario with ``fleet.pod_usd_per_gpu_h`` filled from the site's price table (the
    planner's annualized cost of the first pod design) when the site has a fleet and it is not
    given, and notes on what could not be computed."""
    from megapod.errors import MegapodError

    if sc.site.fleet is None or not sc.fleet.enabled or sc.fleet.pod_usd_per_gpu_h is not None:
        return sc, []
    from megapod.planner.tier_cost import pod_token_cost

    try:
        cost = pod_token_cost(sc.site, sc.site.fleet.work)
    except MegapodError as exc:
        return sc, [f"the pods' cost per GPU-hour and per Mtok is not computed: {exc}"]
    fleet = sc.fleet.model_copy(update={"pod_usd_per_gpu_h": cost.usd_per_gpu_h})
    return sc.model_copy(update={"fleet": fleet}), []


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


def save(result: SimResult, out: Path, csv: bool = False, fleet: FleetInRun | None = None) -> None:
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
        if fleet is not None:
            import json

            doc = json.dumps(fleet.to_dict(), indent=2, default=_json_value)
            (tmp / "fleet.json").write_text(doc + "\n", encoding="utf-8")
        (tmp / "report.html").write_text(render_sim_report(result, fleet), encoding="utf-8")
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
