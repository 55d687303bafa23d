"""The HTML report of a simulation run: summary figures, time-series plots, the worst jobs."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from megapod.report import format as fmt
from megapod.report.html import HtmlReport
from megapod.sim.twin import SimResult
from megapod.units import DAY_S, HOUR_S, MEGA

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
        if isinstance(v, float):
            text = f"{v:.4f}" if abs(v) < 10 else f"{v:,.1f}"
        else:
            text = f"{v:,}" if isinstance(v, int) else str(v)
        rows.append((label, text))
    return rows


def render_sim_report(result: SimResult) -> str:
    """The report as one self-contained HTML page (nothing is written)."""
    s = result.summary
    rep = HtmlReport(
        f"Simulation: {s['scenario']}",
        subtitle=f"{s['gpus']:,} GPUs, {s['horizon_s'] / DAY_S:,.1f} days, seed {s['seed']}",
    )
    sec = rep.section("Summary")
    sec.highlight("utilization", f"{s['utilization']:.1%}")
    sec.highlight("goodput", f"{s['goodput']:.1%}")
    sec.highlight("facility energy", fmt.energy(s["facility_energy_mwh"] * MEGA))
    sec.highlight("interruptions", f"{s['interruptions']:,}")
    sec.table(["figure", "value"], summary_rows(s))
    ts = result.series
    t_d = ts["t_start_s"] / DAY_S
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    axes[0].plot(t_d, ts["allocated_gpus"], label="allocated")
    axes[0].plot(t_d, ts["failed_gpus"], label="failed")
    axes[0].plot(t_d, ts["down_gpus"], label="down (outage)")
    axes[0].set_ylabel("GPUs")
    axes[0].legend(loc="upper right")
    axes[1].plot(t_d, ts["facility_power_w"] / MEGA, label="facility")
    axes[1].plot(t_d, ts["it_power_w"] / MEGA, label="IT")
    axes[1].set_ylabel("MW")
    axes[1].legend(loc="upper right")
    axes[2].plot(t_d, ts["battery_soc"], label="battery SoC")
    axes[2].plot(t_d, ts["job_speed"], label="job speed (thermal)")
    axes[2].set_ylabel("fraction")
    axes[2].legend(loc="lower right")
    axes[3].plot(t_d, ts["price_usd_per_mwh"], color="tab:green", label=f"price ({s['price_from']})")
    axes[3].set_ylabel("USD/MWh")
    axes[3].set_xlabel("day")
    carbon_ax = axes[3].twinx()
    carbon_ax.plot(t_d, ts["carbon_kg_per_mwh"], color="tab:gray", label=f"carbon ({s['carbon_from']})")
    carbon_ax.set_ylabel("kg CO2/MWh")
    handles = axes[3].get_legend_handles_labels()
    extra = carbon_ax.get_legend_handles_labels()
    axes[3].legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper right")
    fig.tight_layout()
    rep.section("Time series").figure(
        "GPUs, power, battery, grid price and carbon",
        fig,
        caption=f"bins of {(ts['t_end_s'] - ts['t_start_s']).iloc[0] / HOUR_S:g} h",
    )
    plt.close(fig)
    jobs = result.jobs
    worst = jobs.sort_values("lost_gpu_h", ascending=False).head(10)
    rep.section("Jobs that lost the most work").dataframe(
        worst[["job_id", "kind", "gpus", "queue_s", "jct_s", "interruptions", "lost_gpu_h", "state"]]
    )
    return rep.render()
