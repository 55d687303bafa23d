"""``megapod fleet SITE_OR_FLEET.yaml``: run the fleet tier and show what it delivers and pays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from megapod.cli.console import make_console
from megapod.errors import SpecError

if TYPE_CHECKING:
    from megapod.fleet import FleetResult
    from megapod.spec.fleet import Fleet

# The library is imported inside the command, so that ``megapod --help`` stays cheap.


def register(app: typer.Typer) -> None:
    """Add ``fleet`` to ``app``."""
    app.command("fleet")(fleet)


def fleet(
    path: Annotated[
        Path, typer.Argument(help="a site with a fleet: section, or a fleet file", show_default=False)
    ],
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, max=2**32 - 1, help="override the seed")
    ] = None,
    simulated: Annotated[
        int | None,
        typer.Option("--simulated", min=1, max=10_000_000, help="cars to simulate (the rest scaled)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Simulate the fleet: effective throughput, availability over the day, units, money per payout scheme."""
    from megapod.fleet import simulate

    spec, where = load_fleet(path)
    update: dict[str, int] = {}
    if seed is not None:
        update["seed"] = seed
    if simulated is not None:
        update["simulated_vehicles"] = simulated
    if update:
        spec = spec.model_copy(update=update)
    result = simulate(spec, where)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    _print(path, result)


def load_fleet(path: Path) -> tuple[Fleet, str]:
    """The fleet of a site file (its ``fleet:`` section) or of a fleet file, and where it sits
    in the document, as the prefix of an error's field path."""
    from megapod.spec import site_from_dict
    from megapod.spec.fleet import Fleet
    from megapod.spec.loader import read_document, validate

    doc = read_document(path)
    if "pods" in doc or ("site" in doc and len(doc) == 1):
        site = site_from_dict(doc, name=str(path))
        if site.fleet is None:
            raise SpecError(f"{path}: fleet", "the site has no fleet: section to simulate")
        return site.fleet, f"{path}: fleet."
    if set(doc) == {"fleet"} and isinstance(doc["fleet"], dict):
        return validate(Fleet, doc["fleet"], f"{path}: fleet"), f"{path}: fleet."
    return validate(Fleet, doc, str(path)), f"{path}: "


def _money(usd: float) -> str:
    return f"{usd:,.0f} USD" if abs(usd) >= 100 else f"{usd:,.2f} USD"


def _print(path: Path, r: FleetResult) -> None:
    console = make_console()
    t = r.throughput
    low, high = t["effective_ops_band"]
    days = r.horizon_s / 86400.0
    head = Table(
        title=f"Fleet tier: {path} ({r.vehicles:,} cars, {r.simulated:,} simulated, {days:g} days)",
        show_header=False,
    )
    head.add_column("figure")
    head.add_column("value", justify="right")
    rows = [
        (f"nameplate {t['dtype'].upper()}", f"{t['nameplate_ops'] / 1e15:,.0f} P op/s"),
        ("effective (accepted work)", f"{t['effective_ops'] / 1e15:,.1f} P op/s"),
        ("effective band", f"{low / 1e15:,.1f} – {high / 1e15:,.1f} P op/s"),
        ("availability A", f"{t['availability']:.1%}"),
        ("utilization U", f"{t['utilization']:.1%}"),
        ("efficiency E", f"{t['efficiency']:.2%}"),
        ("tokens accepted", f"{t['tokens_per_s'] / 1e6:,.2f} M tok/s"),
        (
            "unit",
            f"{r.unit['tokens']:,.0f} tok, {r.unit['runtime_s'] / 60:,.1f} min ({r.unit['bound']} bound)",
        ),
        ("units accepted / submitted", f"{r.units['accepted']:,} / {r.units['submitted']:,}"),
        ("replicas issued / valid", f"{r.units['replicas_issued']:,} / {r.units['results_valid']:,}"),
        (
            "lost: departure / timeout / cancelled",
            f"{r.units['lost_departure']:,} / {r.units['lost_timeout']:,} / {r.units['cancelled']:,}",
        ),
        ("car-hours of work wasted", f"{r.units['wasted_car_h']:,}"),
        ("wrong results / accepted wrong", f"{r.units['results_wrong']:,} / {r.units['accepted_wrong']:,}"),
        ("data moved", f"{r.data_bytes / 1e12:,.2f} TB"),
        ("energy: wall / battery", f"{r.energy_kwh['wall']:,.0f} / {r.energy_kwh['battery']:,.0f} kWh"),
        ("owner cost per car-month", _money(r.owner_cost_usd_per_month)),
        ("cost floor / price", f"{r.cost_floor_usd_per_mtok:.4f} / {r.price_usd_per_mtok:.4f} USD/Mtok"),
    ]
    for label, value in rows:
        head.add_row(label, value)
    console.print(head)
    avail = " ".join(f"{h:02d}:{a:4.0%}" for h, a in enumerate(r.availability_by_hour))
    console.print(f"availability by hour: {avail}", highlight=False)
    money = Table(title="Payout schemes (same run)")
    for col in (
        "scheme",
        "revenue",
        "owners",
        "operator",
        "owner USD/Mtok",
        "owner net/month mean",
        "p10",
        "p90",
        "owners losing",
    ):
        money.add_column(col, justify="left" if col == "scheme" else "right")
    for s in r.schemes:
        net = s.owner_net_usd_per_month
        money.add_row(
            s.name,
            _money(s.revenue_usd),
            _money(s.owner_payouts_usd),
            _money(s.operator_margin_usd),
            f"{s.payout_usd_per_mtok:.4f}",
            f"{net['mean']:,.2f}",
            f"{net['p10']:,.2f}",
            f"{net['p90']:,.2f}",
            f"{s.owners_losing_money:.0%}",
        )
    console.print(money)
