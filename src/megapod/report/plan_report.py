"""Rendering of a planner result: labelled rows for terminals and an HTML page with charts.

Formatting and plotting only; every number comes from :class:`megapod.planner.plan.Plan`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from megapod.planner.plan import Plan
from megapod.report import format as fmt
from megapod.units import DAY_S, MEGA
from megapod.web import Axis, Page, bar_chart, line_chart

Rows = list[tuple[str, str]]


def _usd(value: float) -> str:
    if abs(value) >= 1e9:
        return f"${value / 1e9:,.2f} B"
    if abs(value) >= MEGA:
        return f"${value / MEGA:,.1f} M"
    return f"${value:,.0f}"


def _uneven_stages(lay: dict[str, Any]) -> str:
    """`` (80 layers over pp 9: uneven stages of 8–9)`` where the pipeline does not split evenly."""
    return fmt.pipeline_stages(lay.get("layers"), lay["pp"])


def summary_sections(plan: Plan) -> list[tuple[str, Rows]]:
    """The report as titled lists of (label, formatted value)."""
    f = plan.facility
    sections: list[tuple[str, Rows]] = []
    if plan.training is not None:
        t = plan.training
        lay = t.layout
        sections.append(
            (
                "Training run",
                [
                    ("model", t.model),
                    ("tokens", fmt.count(t.tokens)),
                    (
                        "layout",
                        f"tp {lay['tp']} · pp {lay['pp']} · dp {lay['dp']} · cp {lay['cp']} "
                        f"· ep {lay['ep']}, "
                        f"micro-batch {lay['micro_batch']}, "
                        f"global batch {lay['global_batch']}, {lay['dtype']}" + _uneven_stages(lay),
                    ),
                    ("GPUs used", f"{t.gpus_used:,}"),
                    ("step time", f"{t.step_time_s:.2f} s (MFU {t.mfu:.1%})"),
                    (
                        "time to train",
                        f"{t.wall_s / DAY_S:.1f} days ({t.failure_free_s / DAY_S:.1f} failure-free "
                        f"+ {t.failures.waste_fraction:.1%} failures and checkpoints)",
                    ),
                    (
                        "expected interruptions",
                        f"{t.failures.expected_interruptions:.0f} (MTBI "
                        f"{t.failures.job_mtbi_s / 3600:.1f} h, checkpoint every "
                        f"{t.failures.checkpoint_interval_s / 60:.0f} min)",
                    ),
                    ("deadline", f"{t.deadline_s / DAY_S:.1f} days" if t.deadline_s else "none"),
                    ("GPU-hours", f"{t.gpu_hours / 1e6:.2f} M"),
                    ("cost of the run", _usd(t.run_cost_usd)),
                    ("energy of the run", fmt.energy(t.run_energy_wh)),
                    ("CO2 of the run", f"{t.run_co2_t:,.0f} t"),
                ],
            )
        )
    if plan.serving is not None:
        s = plan.serving
        r = s.replica
        sections.append(
            (
                "Serving",
                [
                    ("model", s.model),
                    (
                        "target",
                        f"{s.tokens_per_s_target:,.0f} output tokens/s "
                        f"at ≤ {s.latency_bound_s * 1e3:.0f} ms/token",
                    ),
                    ("request", f"{s.context_len:,} prompt + {s.output_len:,} output tokens"),
                    (
                        "replica",
                        f"tp {r['tp']} · pp {r['pp']}, batch {r['batch']}: "
                        f"{r['tokens_per_s']:,.0f} tokens/s, "
                        f"{s.latency_per_token_s * 1e3:.1f} ms/token",
                    ),
                    ("replicas", f"{s.replicas:,} ({s.gpus_used:,} GPUs)"),
                    ("capacity", f"{s.tokens_per_s_capacity:,.0f} tokens/s"),
                    ("cost per million tokens", f"${s.cost_per_million_tokens_usd:,.3f}"),
                ],
            )
        )
    sections.append(
        (
            "Site",
            [
                ("pods", f"{f.pods} × {f.pod_name}"),
                ("GPUs", f"{f.gpus:,} {f.gpu_type}"),
                ("IT power", f"{fmt.power(f.it_peak_w)} peak, {fmt.power(f.it_mean_w)} mean"),
                (
                    "facility power",
                    f"{fmt.power(f.facility_peak_w)} peak, {fmt.power(f.facility_mean_w)} mean",
                ),
                ("grid feed", fmt.power(f.feed_w)),
                ("annual energy", f"{f.annual_facility_energy_wh / 1e6:,.0f} MWh"),
                ("PUE", f"{f.annual_pue:.3f} annual, {f.peak_pue:.3f} peak hour"),
                (
                    "cooling",
                    f"{f.cooling_plant}, {fmt.power(f.cooling_capacity_w)} "
                    f"(hottest hour {f.hottest_c:.1f} °C, "
                    f"{f.free_cooling_hours:,} free-cooling hours, {f.climate})",
                ),
                (
                    "batteries",
                    f"{f.battery_units} × {f.battery_unit} = {fmt.energy(f.battery_energy_wh)}, "
                    f"ride-through {f.ride_through_s / 60:.0f} min "
                    f"(target {f.ride_through_target_s / 60:.0f} min)",
                ),
                ("annual CO2", f"{f.annual_co2_t:,.0f} t ({f.grid_region})"),
            ],
        )
    )
    if plan.grid is not None:
        sections.append(("Grid ramp and swing", grid_rows(plan)))
    sections.append(
        (
            "Cost",
            [
                ("capex", _usd(f.capex.total_usd)),
                ("opex per year", _usd(f.opex.total_usd)),
                (
                    "battery TOU arbitrage",
                    f"{_usd(f.battery_tou_savings_usd)} per year (not deducted from opex)",
                ),
                (f"TCO over {f.years:g} years", _usd(f.tco_usd)),
                ("$ per GPU-hour", f"${f.cost_per_gpu_hour_usd:.2f}"),
            ],
        )
    )
    return sections


def grid_rows(plan: Plan) -> Rows:
    """Rows of the grid-facing answer: baseline ramp and swing, the limits, the battery."""
    g = plan.grid
    assert g is not None
    rows: Rows = [
        (
            "planned draw (no battery)",
            f"max ramp {g.baseline_max_ramp_w_per_s / 1e6:,.2f} MW/s, "
            f"swing {g.baseline_swing_w / 1e6:,.2f} MW "
            f"({g.window_s:.0f} s window with a failure at {g.failure_at_s:.0f} s)",
        )
    ]
    if not g.limited:
        rows.append(("grid limit", "none asked (give --max-ramp / --max-swing to size a battery)"))
        return rows
    asked = []
    if g.max_ramp_limit_w_per_s is not None:
        asked.append(f"ramp ≤ {fmt.power(g.max_ramp_limit_w_per_s)}/s")
    if g.max_swing_limit_w is not None:
        asked.append(f"swing ≤ {fmt.power(g.max_swing_limit_w)}")
    rows.append(("grid limit", ", ".join(asked)))
    if not g.feasible:
        rows.append(("battery for the limit", f"none of up to {g.units:,} × {g.unit} holds it"))
        return rows
    rows.append(
        (
            "battery for the limit",
            f"{g.units:,} × {g.unit} = {g.power_w / 1e6:,.1f} MW / {g.energy_wh / 1e6:,.1f} MWh, "
            f"{g.cycles_per_day:.2f} cycles/day"
            if g.units
            else "none needed: the planned draw already holds it",
        )
    )
    covers = "covers it" if g.ride_through_covers else "does not cover it"
    rows.append(
        (
            "plan battery",
            f"{g.plan_units:,} × {g.unit} (ride-through bank of {g.ride_through_units:,} {covers})",
        )
    )
    return rows


def capex_rows(plan: Plan) -> list[tuple[str, float]]:
    """Capex and yearly opex components [USD], for tables and the cost plot."""
    c = plan.facility.capex
    o = plan.facility.opex
    return [
        ("GPUs and servers", c.gpus_usd),
        ("network", c.network_usd),
        ("electrical", c.electrical_usd),
        ("cooling", c.cooling_usd),
        ("building", c.building_usd),
        ("batteries", c.battery_usd),
        ("generators", c.generator_usd),
        ("energy / yr", o.energy_usd),
        ("IT maintenance / yr", o.it_maintenance_usd),
        ("facility maintenance / yr", o.facility_maintenance_usd),
        ("staff / yr", o.staff_usd),
    ]


def html_report(plan: Plan) -> str:
    """The plan as one self-contained HTML page with interactive charts."""
    f = plan.facility
    title = (
        f"Plan: {plan.training.model} training"
        if plan.training
        else f"Plan: {plan.serving.model} serving"
        if plan.serving
        else "Plan"
    )
    report = Page(title, subtitle=f"site {plan.site}: {f.pods} × {f.pod_name}, {f.climate}, {f.grid_region}")
    for name, rows in summary_sections(plan):
        report.section(name).table(["", ""], rows)
    notes = list(plan.notes) + list(f.notes)
    year = report.section("Power and PUE over the year")
    days = np.arange(f.hourly_facility_w.size) / 24.0
    day_axis = Axis("day of year", decimals=2)
    year.chart(
        line_chart(
            "Hourly power",
            days,
            {"facility": f.hourly_facility_w / MEGA, "IT": f.hourly_it_w / MEGA},
            x_axis=day_axis,
            y_axis=Axis("power", "MW", decimals=2),
            caption="IT and facility power at the workload's mean load",
        )
    )
    year.chart(
        line_chart(
            "Hourly PUE",
            days,
            {"PUE": f.hourly_pue},
            x_axis=day_axis,
            y_axis=Axis("PUE", decimals=3),
            y2={"outdoor dry-bulb": f.hourly_outdoor_c},
            y2_axis=Axis("outdoor dry-bulb", "°C", decimals=1),
            caption=f"annual (energy-weighted) PUE {f.annual_pue:.3f}",
        )
    )
    costs = report.section("Cost breakdown")
    cost_rows = capex_rows(plan)
    costs.table(["component", "USD"], [(k, round(v)) for k, v in cost_rows])
    costs.chart(
        bar_chart(
            "Capex and yearly opex",
            [k for k, _ in cost_rows],
            {"cost": [v / MEGA for _, v in cost_rows]},
            value_axis=Axis("cost", "USD million", decimals=1),
        )
    )
    layout = report.section("Layout breakdown")
    if plan.training is not None:
        phases = plan.training.step_phases_s
        layout.table(["phase", "seconds per step"], list(phases.items()))
        layout.chart(
            bar_chart(
                "Where a training step goes",
                list(phases),
                {"time per step": list(phases.values())},
                value_axis=Axis("time per step", "s", decimals=3),
                caption=", ".join(f"{k}={v}" for k, v in plan.training.layout.items()),
            )
        )
    elif plan.serving is not None:
        s = plan.serving
        layout.table(["", ""], list(s.replica.items()))
        used, spare = s.gpus_used, f.gpus - s.gpus_used
        layout.chart(
            bar_chart(
                "GPUs by role",
                ["GPUs"],
                {"serving replicas": [used], "spare in the last pod": [spare]},
                value_axis=Axis("GPUs", decimals=0),
                stacked=True,
            )
        )
    if notes:
        notes_section = report.section("Notes")
        for n in notes:
            notes_section.text(n)
    return report.render()
