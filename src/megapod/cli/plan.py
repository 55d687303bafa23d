"""``megapod plan``: size a site for a training or serving goal, or ask what a site can do."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from megapod.cli.console import make_console
from megapod.cli.flags import finite, ramp_with_unit, with_unit
from megapod.cli.output import check_out_file, check_table_file, write_table, write_text_atomic
from megapod.cli.progress import progress
from megapod.errors import SpecError
from megapod.report.format import count

if TYPE_CHECKING:
    from megapod.fleet.results import FleetResult
    from megapod.planner.plan import Plan
    from megapod.planner.tier_cost import PodTokenCost
    from megapod.spec import Site

# The library is imported inside the command, so that ``megapod --help`` stays cheap.

Opt = typer.Option


def register(app: typer.Typer) -> None:
    """Add ``plan`` to ``app``."""
    app.command("plan")(plan)


def plan(
    spec: Annotated[Path, typer.Argument(help="site spec whose first pod design is replicated")],
    goal_file: Annotated[Path | None, Opt("--goal", help="goal file (YAML/TOML)")] = None,
    model: Annotated[str | None, Opt("--model", help="model preset, e.g. llama3-405b")] = None,
    tokens: Annotated[str | None, Opt("--tokens", help="training tokens, e.g. 15.6T")] = None,
    deadline: Annotated[str | None, Opt("--deadline", help="e.g. 60d")] = None,
    gpus: Annotated[int | None, Opt("--gpus", min=1, max=10_000_000, help="GPU budget")] = None,
    gpu: Annotated[str | None, Opt("--gpu", help="GPU type (picks the pod design)")] = None,
    dtype: Annotated[str | None, Opt("--dtype", help="bf16, fp8 …")] = None,
    serve: Annotated[bool, Opt("--serve", help="serving goal instead of training")] = False,
    tokens_per_s: Annotated[str | None, Opt("--tokens-per-s", help="serving rate, e.g. 1M")] = None,
    latency: Annotated[str | None, Opt("--latency", help="per-token latency bound, e.g. 50ms")] = None,
    context: Annotated[
        int | None, Opt("--context", min=1, max=100_000_000, help="prompt tokens per request")
    ] = None,
    output_len: Annotated[
        int | None, Opt("--output-len", min=1, max=100_000_000, help="output tokens per request")
    ] = None,
    years: Annotated[float | None, Opt("--years", callback=finite, help="TCO horizon")] = None,
    max_ramp: Annotated[str | None, Opt("--max-ramp", help="grid ramp limit, e.g. '10 MW/s'")] = None,
    max_swing: Annotated[str | None, Opt("--max-swing", help="grid swing limit, e.g. '20 MW'")] = None,
    capability: Annotated[bool, Opt("--capability", help="what can this site train or serve")] = False,
    models: Annotated[str | None, Opt("--models", help="comma-separated presets for --capability")] = None,
    as_json: Annotated[bool, Opt("--json", help="print one JSON document")] = False,
    html: Annotated[Path | None, Opt("--html", help="write an HTML report with plots")] = None,
    series: Annotated[
        Path | None, Opt("--series", help="write the hourly series the report plots (.csv or .parquet)")
    ] = None,
    force: Annotated[bool, Opt("--force", help="replace files that --html/--series name")] = False,
) -> None:
    """Size a site pod by pod for a training or serving goal and report power, PUE, cost and CO2."""
    from megapod.physics.perf import preset_names
    from megapod.planner.plan import plan_serving, plan_training, site_capability
    from megapod.report.plan_report import html_report
    from megapod.spec import load_site
    from megapod.spec.goal import ServingGoal, goal_from_dict, load_goal

    if capability and (html is not None or series is not None):
        raise SpecError("--capability", "--html and --series report a plan; leave them out with --capability")
    if html is not None:
        check_out_file("--html", html, force)
    if series is not None:
        check_table_file("--series", series, force)
    site = load_site(spec)
    if capability:
        names = [m.strip() for m in models.split(",") if m.strip()] if models else None
        with progress("planning capability", len(names or preset_names())) as update:
            caps = site_capability(site, models=names, gpu=gpu, progress=lambda done, _total: update(done))
        fleet = _fleet_addition(site) if site.fleet is not None else None
        if as_json:
            doc: dict[str, Any] = {"site": site.name, "capability": [asdict(c) for c in caps]}
            if fleet is not None:
                pod_cost, fleet_result = fleet
                from megapod.fleet.scenario import json_ready

                doc["fleet"] = json_ready({"pods": pod_cost.as_dict(), "fleet": fleet_result.to_dict()})
            typer.echo(json.dumps(doc, default=str))
            return
        table = Table(title=f"What {site.name} can do (first pod design, spec pod count)")
        for col in ("model", "params", "tokens (20/param)", "days to train", "GPU-hours", "serve tokens/s"):
            table.add_column(col, justify="left" if col == "model" else "right")
        for c in caps:
            table.add_row(
                c.model,
                f"{c.params / 1e9:,.0f} B",
                count(c.tokens),
                f"{c.train_days:,.1f}" if c.train_days is not None else "—",
                f"{c.train_gpu_hours / 1e6:,.2f} M" if c.train_gpu_hours is not None else "—",
                f"{c.serve_tokens_per_s:,.0f}" if c.serve_tokens_per_s is not None else "—",
            )
        console = make_console()
        console.print(table)
        if fleet is not None:
            _print_fleet_addition(site, *fleet)
        return
    doc = {}
    if goal_file is not None:
        loaded = load_goal(goal_file)
        doc = {**loaded.model_dump(exclude_unset=True), "kind": loaded.kind}
    for flag, text, dimension in (
        ("--deadline", deadline, "time"),
        ("--latency", latency, "time"),
        ("--max-swing", max_swing, "power"),
    ):
        if text is not None:
            with_unit(flag, text, dimension)
    if max_ramp is not None:
        ramp_with_unit("--max-ramp", max_ramp)
    flags: dict[str, Any] = {
        "model": model,
        "tokens": tokens,
        "deadline_s": deadline,
        "gpu_budget": gpus,
        "gpu": gpu,
        "dtype": dtype,
        "tokens_per_s": tokens_per_s,
        "latency_per_token_s": latency,
        "context_len": context,
        "output_len": output_len,
        "years": years,
        "max_ramp_w_per_s": max_ramp,
        "max_swing_w": max_swing,
    }
    doc.update({k: v for k, v in flags.items() if v is not None})
    if serve:
        doc["kind"] = "serving"
    if "model" not in doc:
        raise SpecError("goal", "give a model (--model NAME or a --goal file)")
    goal = goal_from_dict(doc, name="goal")
    result = plan_serving(site, goal) if isinstance(goal, ServingGoal) else plan_training(site, goal)
    if html is not None:
        write_text_atomic(html, html_report(result))
    if series is not None:
        from megapod.report.series import plan_hourly_frame

        write_table(series, plan_hourly_frame(result))
    if as_json:
        typer.echo(result.to_json())
        return
    _print(result, html)


def _print(result: Plan, html: Path | None) -> None:
    from megapod.report.plan_report import summary_sections

    console = make_console()
    for title, rows in summary_sections(result):
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column("", style="bold")
        table.add_column("")
        for label, value in rows:
            table.add_row(label, value)
        console.print(table)
    for note in list(result.notes) + list(result.facility.notes):
        console.print(f"[yellow]note[/yellow] {note}", highlight=False)
    if html is not None:
        console.print(f"HTML report written to {html}", highlight=False)


def _fleet_addition(site: Site) -> tuple[PodTokenCost, FleetResult]:
    """What the site's fleet adds: the fleet engine's run of it (as ``megapod fleet``) and the
    pods' cost of the same work (the planner's cost of a GPU-hour)."""
    from megapod.fleet import simulate as simulate_fleet
    from megapod.planner.tier_cost import pod_token_cost

    assert site.fleet is not None
    with progress("simulating the fleet", 1) as update:
        result = simulate_fleet(site.fleet)
        update(1)
    return pod_token_cost(site, site.fleet.work), result


def _print_fleet_addition(site: Site, pod_cost: PodTokenCost, result: FleetResult) -> None:
    from megapod.report.fleet_report import capability_table

    assert site.fleet is not None
    w = site.fleet.work
    t = capability_table(
        pod_cost, result, f"{w.model_params / 1e9:,.0f}B {w.dtype} batch inference, batch {w.batch}"
    )
    table = Table(title=t.title)
    for i, col in enumerate(t.header):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in t.rows:
        table.add_row(*row)
    make_console().print(table)
