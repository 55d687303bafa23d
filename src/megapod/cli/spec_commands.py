"""``megapod validate`` and ``megapod describe``: check a site spec and print its inventory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from megapod.cli.console import make_console

if TYPE_CHECKING:
    from megapod.physics.inventory import SiteInventory

# The library is imported inside each command, so that ``megapod --help`` stays cheap.

SpecPath = Annotated[Path, typer.Argument(help="site spec, YAML or TOML", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON document for machines")]


def register(app: typer.Typer) -> None:
    """Add the spec commands to ``app``."""
    app.command("validate")(validate)
    app.command("describe")(describe)
    app.command("catalog")(show_catalog)


def validate(spec: SpecPath, as_json: JsonFlag = False) -> None:
    """Validate a site spec: schema, units, catalog names and physical limits."""
    from megapod.planner.checks import check_site, raise_on_errors
    from megapod.spec import load_site

    site = load_site(spec)
    findings = check_site(site)
    if as_json:
        errors = [str(f) for f in findings if f.level == "error"]
        warnings = [str(f) for f in findings if f.level == "warning"]
        typer.echo(
            json.dumps({"spec": str(spec), "valid": not errors, "errors": errors, "warnings": warnings})
        )
        if errors:
            raise typer.Exit(2)
        return
    raise_on_errors(findings)
    console = make_console(stderr=True)
    for f in findings:
        console.print(f"[yellow]warning[/yellow] {f}", highlight=False)
    make_console().print(
        f"[green]ok[/green] {spec}: {site.name}, {site.gpus:,} GPUs in {site.pod_count} pod(s)",
        highlight=False,
    )


def describe(spec: SpecPath, as_json: JsonFlag = False) -> None:
    """Print the inventory and peak figures of a site, per pod and in total."""
    from megapod.physics.inventory import site_inventory
    from megapod.planner.checks import check_site, raise_on_errors
    from megapod.spec import load_site

    site = load_site(spec)
    inv = site_inventory(site)
    findings = check_site(site, inv)
    raise_on_errors(findings)
    if as_json:
        doc = inv.to_dict()
        doc["warnings"] = [str(f) for f in findings]
        typer.echo(json.dumps(doc))
        return
    console = make_console()
    console.print(inventory_table(inv))
    for note in [*inv.notes, *(str(f) for f in findings)]:
        console.print(f"[yellow]note[/yellow] {note}", highlight=False)


def inventory_table(inv: SiteInventory) -> Table:
    """The ``describe`` table: one column per pod design and one for the site."""
    from megapod.report import format as fmt

    table = Table(title=f"{inv.name}: {inv.gpus:,} GPUs", title_justify="left")
    table.add_column("")
    for p in inv.pods:
        table.add_column(f"{p.name} (x{p.count})", justify="right")
    table.add_column("site", justify="right", style="bold")

    def gpu_mix(types: dict[str, int]) -> str:
        return ", ".join(f"{n:,} {name}" for name, n in types.items())

    rows: list[tuple[str, list[str], str]] = [
        (
            "racks / servers",
            [f"{p.racks:,} / {p.servers:,}" for p in inv.pods],
            f"{inv.racks:,} / {inv.servers:,}",
        ),
        ("GPUs", [gpu_mix(p.gpu_types) for p in inv.pods], gpu_mix(inv.gpu_types)),
        ("peak dense BF16", [fmt.flops(p.peak_bf16_flops) for p in inv.pods], fmt.flops(inv.peak_bf16_flops)),
        ("peak dense FP8", [fmt.flops(p.peak_fp8_flops) for p in inv.pods], fmt.flops(inv.peak_fp8_flops)),
        ("HBM", [fmt.memory(p.hbm_bytes) for p in inv.pods], fmt.memory(inv.hbm_bytes)),
        ("scale-up domain", [f"{p.scale_up_domain} GPUs" for p in inv.pods], ""),
        ("scale-out switches", [f"{p.switches:,} ({fmt.power(p.switch_power_w)})" for p in inv.pods], ""),
        (
            "fabric bisection",
            [fmt.rate(p.bisection_bps) for p in inv.pods],
            f"{fmt.rate(inv.inter_pod_bisection_bps)} between pods" if inv.inter_pod_bisection_bps else "",
        ),
        ("IT peak", [fmt.power(p.it_peak_w) for p in inv.pods], fmt.power(inv.it_peak_w)),
        ("design PUE", [f"{p.design_pue:.2f}" for p in inv.pods], ""),
        ("facility peak", [fmt.power(p.facility_peak_w) for p in inv.pods], fmt.power(inv.facility_peak_w)),
        ("power feed", [fmt.power(p.feed_w) for p in inv.pods], fmt.power(inv.grid_feed_w)),
        (
            "battery",
            [f"{fmt.energy(p.battery_energy_wh)} / {fmt.power(p.battery_power_w)}" for p in inv.pods],
            f"{fmt.energy(inv.battery_energy_wh)} / {fmt.power(inv.battery_power_w)}",
        ),
        (
            "battery at full load",
            [fmt.minutes(p.battery_minutes_at_full_load) for p in inv.pods],
            fmt.minutes(inv.battery_minutes_at_full_load),
        ),
    ]
    if inv.fleet_vehicles:
        rows.append(
            (
                "fleet vehicles (mean parked)",
                ["" for _ in inv.pods],
                f"{inv.fleet_vehicles:,} ({inv.fleet_mean_available:,.0f})",
            )
        )
        rows.append(
            ("fleet peak INT8", ["" for _ in inv.pods], f"{inv.fleet_peak_int8_ops / 1e18:,.2f} EOP/s")
        )
    for label, cells, total in rows:
        table.add_row(label, *cells, total)
    return table


def show_catalog(
    kind: Annotated[str | None, typer.Argument(help="entry kind, e.g. gpu; omit to list kinds")] = None,
    name: Annotated[str | None, typer.Argument(help="entry name; omit to list entries")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List catalog kinds, the entries of a kind, or one entry with its source."""
    from megapod import catalog

    if kind is None:
        out: object = {k: catalog.names(k) for k in catalog.KINDS}
    elif name is None:
        out = {n: catalog.get(kind, n).source for n in catalog.names(kind)}
    else:
        out = catalog.get(kind, name).model_dump()
    if as_json:
        typer.echo(json.dumps(out))
        return
    console = make_console()
    if isinstance(out, dict) and kind is None:
        for k, entries in out.items():
            console.print(f"[bold]{k}[/bold]: {', '.join(entries)}", highlight=False)
    else:
        table = Table(show_header=False)
        for key, value in dict(out).items():  # type: ignore[call-overload]
            table.add_row(str(key), str(value))
        console.print(table)
