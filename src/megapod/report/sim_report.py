"""The HTML report of a simulation run: summary figures, time-series charts, the worst jobs."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from megapod.report import format as fmt
from megapod.sim.twin import SimResult
from megapod.units import DAY_S, HOUR_S, MEGA
from megapod.web import Axis, Chart, Page, line_chart

if TYPE_CHECKING:
    from megapod.fleet.scenario import FleetInRun

#: Summary keys shown in the report, with their labels.
SUMMARY_ROWS: tuple[tuple[str, str], ...] = (
    ("gpus", "GPUs"),
    ("jobs", "jobs"),
    ("jobs_done", "jobs done"),
    ("utilization", "utilization (busy / installed GPU-h)"),
    ("goodput", "goodput (useful / installed GPU-h)"),
    ("jct_mean_s", "JCT mean [s]"),
    ("jct_p50_s", "JCT p50 [s]"),
    ("jct_p99_s", "JCT p99 [s]"),
    ("queue_mean_s", "queue mean [s]"),
    ("queue_p99_s", "queue p99 [s]"),
    ("interruptions", "interruptions"),
    ("lost_gpu_h", "lost GPU-h"),
    ("facility_energy_mwh", "facility energy [MWh]"),
    ("mean_pue", "mean PUE"),
    ("energy_cost_usd", "energy cost [USD]"),
    ("tco2", "emissions [tCO2]"),
    ("mean_price_usd_per_mwh", "energy-weighted price [USD/MWh]"),
    ("mean_carbon_kg_per_mwh", "energy-weighted carbon [kg/MWh]"),
    ("price_from", "price from (region or flat)"),
    ("carbon_from", "carbon from (region or flat)"),
    ("blackouts", "blackouts"),
    ("events", "events"),
)


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Label and formatted value of each summary figure shown to people."""
    rows = []
    for key, label in SUMMARY_ROWS:
        v = summary.get(key)
        if isinstance(v, float) and math.isnan(v):
            text = _why_not_computed(key, summary)
        elif isinstance(v, float):
            text = fmt.number(v) if math.isinf(v) else f"{v:.4f}" if abs(v) < 10 else f"{v:,.1f}"
        elif v is None:
            text = "–"
        else:
            text = f"{v:,}" if isinstance(v, int) else str(v)
        rows.append((label, text))
    return rows


def _why_not_computed(key: str, summary: dict[str, Any]) -> str:
    """What a person reads where a figure is NaN: the jobs' state for the job times (no job
    finished, or none started), a dash for the rest (no load, no GPUs)."""
    running = summary.get("jobs_running_at_end") or 0
    queued = summary.get("jobs_queued_at_end") or 0
    if key.startswith("jct_"):
        return "running" if running else "queued" if queued else "no job done"
    if key.startswith("queue_"):
        return "queued" if queued else "no job started"
    return "–"


def not_replayed_rows(counts: dict[str, int]) -> list[tuple[str, str]]:
    """One row per reason that trace rows or jobs were not replayed (none when all were)."""
    return [(f"not replayed: {reason.replace('_', ' ')}", f"{n:,}") for reason, n in sorted(counts.items())]


def render_sim_report(result: SimResult, fleet: FleetInRun | None = None) -> str:
    """The report as one self-contained HTML page (nothing is written); ``fleet``: the site's
    fleet beside the pods (:func:`megapod.fleet.scenario.fleet_in_run`), when it has one."""
    s = result.summary
    rep = Page(
        f"Simulation: {s['scenario']}",
        subtitle=f"{s['gpus']:,} GPUs, {s['horizon_s'] / DAY_S:,.1f} days, seed {s['seed']}",
    )
    sec = rep.section("Summary")
    sec.highlight("utilization", f"{s['utilization']:.1%}")
    sec.highlight("goodput", f"{s['goodput']:.1%}")
    sec.highlight("facility energy", fmt.energy(s["facility_energy_mwh"] * MEGA))
    sec.highlight("interruptions", f"{s['interruptions']:,}")
    sec.table(["figure", "value"], summary_rows(s))
    if fleet is not None:
        from megapod.report.fleet_report import fleet_tables

        fsec = rep.section(
            "The fleet beside the pods",
            "The twin's tiers, then the fleet engine run over the work the twin sent to the fleet.",
        )
        for t in fleet_tables(fleet):
            fsec.table(t.header, t.rows, title=t.title)
    bin_h = float((result.series["t_end_s"] - result.series["t_start_s"]).iloc[0]) / HOUR_S
    charts = rep.section("Time series", f"Each point is one bin of {bin_h:g} h of simulated time.")
    for chart in series_charts(result):
        charts.chart(chart)
    jobs = result.jobs
    worst = jobs.sort_values("lost_gpu_h", ascending=False).head(10)
    rep.section("Jobs that lost the most work").dataframe(
        worst[["job_id", "kind", "gpus", "queue_s", "jct_s", "interruptions", "lost_gpu_h", "state"]]
    )
    return rep.render()


def series_charts(result: SimResult) -> list[Chart]:
    """Charts of the run's time series: GPUs by state, power, battery and thermal speed, grid
    price and carbon intensity, over simulated days."""
    s = result.summary
    ts = result.series
    t_d = ts["t_start_s"].to_numpy() / DAY_S
    day = Axis("time", "day", decimals=3)
    return [
        line_chart(
            "GPUs by state",
            t_d,
            {
                "allocated": ts["allocated_gpus"].to_numpy(),
                "failed": ts["failed_gpus"].to_numpy(),
                "down (outage)": ts["down_gpus"].to_numpy(),
            },
            x_axis=day,
            y_axis=Axis("GPUs", decimals=0),
        ),
        line_chart(
            "Power",
            t_d,
            {"facility": ts["facility_power_w"].to_numpy() / MEGA, "IT": ts["it_power_w"].to_numpy() / MEGA},
            x_axis=day,
            y_axis=Axis("power", "MW", decimals=2),
        ),
        line_chart(
            "Battery and cooling",
            t_d,
            {
                "battery SoC": ts["battery_soc"].to_numpy() * 100,
                "job speed (thermal)": ts["job_speed"].to_numpy() * 100,
            },
            x_axis=day,
            y_axis=Axis("fraction", "%", decimals=1),
        ),
        line_chart(
            "Grid price and carbon",
            t_d,
            {f"price ({s['price_from']})": ts["price_usd_per_mwh"].to_numpy()},
            x_axis=day,
            y_axis=Axis("price", "USD/MWh", decimals=2),
            y2={f"carbon ({s['carbon_from']})": ts["carbon_kg_per_mwh"].to_numpy()},
            y2_axis=Axis("carbon", "kg CO2/MWh", decimals=1),
        ),
    ]
