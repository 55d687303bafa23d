"""The fleet beside the pods in a simulation report: tables of text, for the terminal and HTML.

Formatting only: the figures come from :func:`megapod.fleet.scenario.fleet_in_run`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from megapod.fleet.results import FleetResult
from megapod.fleet.scenario import FleetInRun, TierFigures
from megapod.planner.tier_cost import PodTokenCost
from megapod.units import HOUR_S, MEGA, PETA


@dataclass(frozen=True)
class TextTable:
    """A titled table of formatted cells."""

    title: str
    header: list[str]
    rows: list[list[str]]


def _money(usd: float) -> str:
    return f"{usd:,.0f} USD" if abs(usd) >= 100 else f"{usd:,.2f} USD"


def _mtok(usd: float) -> str:
    return "not computed" if math.isnan(usd) else f"{usd:.4f} USD/Mtok"


def _tier_cells(t: TierFigures, slot: str) -> list[str]:
    jct = "—" if math.isnan(t.jct_mean_s) else f"{t.jct_mean_s / HOUR_S:,.2f} h"
    return [
        t.tier,
        f"{t.slots:,} {slot}",
        f"{t.jobs:,} / {t.jobs_done:,}",
        jct,
        f"{t.busy_slot_h:,.0f} {slot}-h",
        f"{t.lost_slot_h:,.0f} {slot}-h",
        f"{t.utilization:.1%}",
        f"{t.batch_inference_tokens_per_s / MEGA:,.2f} M tok/s",
        f"{t.energy_mwh:,.1f} MWh",
        _mtok(t.usd_per_mtok),
    ]


def fleet_tables(f: FleetInRun) -> list[TextTable]:
    """The fleet vs the pods in the twin, the fleet engine over the same demand, and the
    payout schemes on it."""
    tiers = TextTable(
        f"Tiers (dispatch {f.dispatch}; 1 pod GPU = {f.cars_per_gpu:.1f} car slots of this work)",
        [
            "tier",
            "slots",
            "jobs / done",
            "JCT mean",
            "busy",
            "lost to restarts",
            "utilization",
            "batch-inference tokens",
            "energy",
            "cost of 1 Mtok",
        ],
        [_tier_cells(f.pods, "GPU"), _tier_cells(f.fleet, "car")],
    )
    r = f.engine
    t = r.throughput
    low, high = t["effective_ops_band"]
    u = r.units
    engine = TextTable(
        f"Fleet engine over the same demand ({r.vehicles:,} cars, {r.simulated:,} simulated)",
        ["figure", "value"],
        [
            ["effective throughput (accepted work)", f"{t['effective_ops'] / PETA:,.1f} P op/s"],
            ["effective band", f"{low / PETA:,.1f} – {high / PETA:,.1f} P op/s"],
            [
                "availability A / utilization U / efficiency E",
                f"{t['availability']:.1%} / {t['utilization']:.1%} / {t['efficiency']:.2%}",
            ],
            ["tokens accepted", f"{t['tokens_per_s'] / MEGA:,.2f} M tok/s"],
            [
                "units accepted / submitted / failed",
                f"{u['accepted']:,} / {u['submitted']:,} / {u['failed']:,}",
            ],
            ["replicas issued / valid", f"{u['replicas_issued']:,} / {u['results_valid']:,}"],
            [
                "lost: departure / timeout / cancelled",
                f"{u['lost_departure']:,} / {u['lost_timeout']:,} / {u['cancelled']:,}",
            ],
            ["car-hours of work wasted", f"{u['wasted_car_h']:,}"],
            ["data moved", f"{r.data_bytes / 1e12:,.2f} TB"],
            ["energy at the owners' walls", f"{r.energy_kwh['wall'] / 1e3:,.1f} MWh"],
            ["owner cost per car-month", _money(r.owner_cost_usd_per_month)],
            [
                "owners' cost floor / price",
                f"{r.cost_floor_usd_per_mtok:.4f} / {r.price_usd_per_mtok:.4f} USD/Mtok",
            ],
            [
                "pods' cost (at full use)",
                _mtok(f.pods.usd_per_mtok)
                + (f", {f.pod_usd_per_gpu_h:.2f} USD/GPU-h" if f.pod_usd_per_gpu_h is not None else ""),
            ],
        ],
    )
    schemes = TextTable(
        "Payout schemes (same run)",
        [
            "scheme",
            "revenue",
            "owners",
            "operator",
            "owner USD/Mtok",
            "operator USD/Mtok",
            "owner net/month mean",
            "p10",
            "p90",
            "owners losing",
        ],
        [
            [
                s.name,
                _money(s.revenue_usd),
                _money(s.owner_payouts_usd),
                _money(s.operator_margin_usd),
                f"{s.payout_usd_per_mtok:.4f}",
                f"{s.margin_usd_per_mtok:.4f}",
                f"{s.owner_net_usd_per_month['mean']:,.2f}",
                f"{s.owner_net_usd_per_month['p10']:,.2f}",
                f"{s.owner_net_usd_per_month['p90']:,.2f}",
                f"{s.owners_losing_money:.0%}",
            ]
            for s in r.schemes
        ],
    )
    hours = TextTable(
        "Fleet availability by hour (share of cars that may compute)",
        [f"{h:02d}" for h in range(24)],
        [[f"{a:.0%}" for a in r.availability_by_hour]],
    )
    return [tiers, engine, schemes, hours]


def capability_table(pod: PodTokenCost, r: FleetResult, work: str) -> TextTable:
    """What the fleet adds next to the pods, on the fleet's kind of work (``work`` names it):
    throughput (the fleet's accepted work with its band, never nameplate) and a million
    tokens' cost on each tier."""
    t = r.throughput
    eff = t["effective_ops"]
    low, high = t["effective_ops_band"]
    scale = t["tokens_per_s"] / eff if eff else 0.0  # tokens per accepted operation
    best = max(r.schemes, key=lambda s: s.owner_net_usd_per_month["mean"]) if r.schemes else None
    owner = f"{best.owner_net_usd_per_month['mean']:,.2f} USD ({best.name})" if best is not None else "—"
    return TextTable(
        f"What the fleet adds ({work})",
        ["figure", f"pods ({pod.pod})", "fleet"],
        [
            ["capacity", f"{pod.gpus:,} {pod.gpu}", f"{r.vehicles:,} cars"],
            [
                "throughput",
                f"{pod.tokens_per_s / MEGA:,.2f} M tok/s (every GPU, {pod.bound} bound)",
                f"{t['tokens_per_s'] / MEGA:,.2f} M tok/s accepted",
            ],
            [
                "band",
                "—",
                f"{low * scale / MEGA:,.2f} – {high * scale / MEGA:,.2f} M tok/s",
            ],
            [
                "accepted work",
                "—",
                f"{eff / PETA:,.1f} ({low / PETA:,.1f} – {high / PETA:,.1f}) P op/s",
            ],
            [
                "A × U × E",
                "—",
                f"{t['availability']:.1%} × {t['utilization']:.1%} × {t['efficiency']:.2%}",
            ],
            [
                "cost of 1 Mtok",
                f"{_mtok(pod.usd_per_mtok)} at full use ({pod.usd_per_gpu_h:.2f} USD/GPU-h, {pod.prices})",
                f"{r.price_usd_per_mtok:.4f} USD/Mtok price",
            ],
            ["owners' cost of 1 Mtok", "—", f"{r.cost_floor_usd_per_mtok:.4f} USD/Mtok (the floor)"],
            ["owner net per month", "—", owner],
        ],
    )
