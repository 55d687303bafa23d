"""The planner's grid ramp/swing answer: baseline figures, the battery for a limit, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from tests.conftest import EXAMPLES
from typer.testing import CliRunner

from megapod.cli.main import app
from megapod.errors import InfeasibleError, SpecError
from megapod.planner.grid_limits import MAX_UNITS, size_for_grid_limits
from megapod.planner.plan import Plan, pick_pod, plan_training
from megapod.report.plan_report import html_report, summary_sections
from megapod.spec import load_site
from megapod.spec.goal import TrainingGoal, goal_from_dict

GOAL = {"model": "llama3-70b", "tokens": "2T", "deadline_s": "30d"}
ARGS = [
    "plan",
    str(EXAMPLES / "megapod.yaml"),
    "--model",
    "llama3-70b",
    "--tokens",
    "2T",
    "--deadline",
    "30d",
]


def _training(doc: Mapping[str, object]) -> TrainingGoal:
    goal = goal_from_dict(dict(doc))
    assert isinstance(goal, TrainingGoal)
    return goal


@pytest.fixture(scope="module")
def site():  # type: ignore[no-untyped-def]
    return load_site(EXAMPLES / "megapod.yaml")


@pytest.fixture(scope="module")
def unlimited(site) -> Plan:  # type: ignore[no-untyped-def]
    return plan_training(site, _training(GOAL))


def test_no_limit_reports_baseline_only(unlimited: Plan) -> None:
    g = unlimited.grid
    assert g is not None and not g.limited
    assert g.feasible is None and g.units == 0 and g.ride_through_covers is None
    assert g.plan_units == unlimited.facility.battery_units
    # the failure drops the whole job's draw: the swing is a real share of the facility peak
    assert 0.2 * unlimited.facility.facility_peak_w < g.baseline_swing_w <= unlimited.facility.facility_peak_w
    assert g.baseline_max_ramp_w_per_s > 0
    rows = dict(dict(summary_sections(unlimited))["Grid ramp and swing"])
    assert rows["grid limit"].startswith("none asked")
    assert "battery for the limit" not in rows


def test_limit_below_baseline_needs_a_battery(site, unlimited: Plan) -> None:  # type: ignore[no-untyped-def]
    base = unlimited.grid
    assert base is not None
    limit = 0.5 * base.baseline_max_ramp_w_per_s
    plan = plan_training(site, _training({**GOAL, "max_ramp_w_per_s": limit}))
    g = plan.grid
    assert g is not None and g.limited and g.feasible
    assert g.units >= 1 and g.max_ramp_limit_w_per_s == limit
    assert g.power_w == pytest.approx(g.units * plan.facility.battery_power_w / plan.facility.battery_units)
    assert g.unit == plan.facility.battery_unit
    assert g.plan_units == max(g.units, g.ride_through_units)
    assert g.ride_through_covers == (g.ride_through_units >= g.units)
    # the baseline does not depend on the limit
    assert g.baseline_max_ramp_w_per_s == pytest.approx(base.baseline_max_ramp_w_per_s)
    rows = dict(dict(summary_sections(plan))["Grid ramp and swing"])
    assert "W/s" in rows["grid limit"] and "cycles/day" in rows["battery for the limit"]
    assert "Grid ramp and swing" in html_report(plan)


def test_loose_limit_needs_no_battery(site, unlimited: Plan) -> None:  # type: ignore[no-untyped-def]
    base = unlimited.grid
    assert base is not None
    plan = plan_training(site, _training({**GOAL, "max_ramp_w_per_s": 2 * base.baseline_max_ramp_w_per_s}))
    assert plan.grid is not None and plan.grid.feasible and plan.grid.units == 0
    assert plan.grid.ride_through_covers


@pytest.mark.parametrize("kind", ["ramp", "swing"])
def test_tighter_limit_never_needs_fewer_units(site, unlimited: Plan, kind: str) -> None:  # type: ignore[no-untyped-def]
    base = unlimited.grid
    assert base is not None
    pod = pick_pod(site, None)
    from megapod.physics.perf import Hardware, model_preset, search_layouts

    lay = unlimited.training.layout if unlimited.training else {}
    step = search_layouts(
        model_preset("llama3-70b"),
        Hardware.from_pod(pod),
        unlimited.training.gpus_used if unlimited.training else 1,
        lay["global_batch"],
        lay["dtype"],
        1,
    )[0]
    full = base.baseline_max_ramp_w_per_s if kind == "ramp" else base.baseline_swing_w
    units = []
    for frac in (0.9, 0.5, 0.2, 0.05):
        limit = frac * full
        g = size_for_grid_limits(
            site,
            pod,
            step,
            base.unit,
            base.ride_through_units,
            max_ramp_w_per_s=limit if kind == "ramp" else None,
            max_swing_w=limit if kind == "swing" else None,
        )
        units.append(g.units if g.feasible else MAX_UNITS + 1)  # unreachable: more than any bank
    assert units == sorted(units) and units[-1] >= 1


def test_cli_json_and_terminal_carry_the_answer() -> None:
    runner = CliRunner()
    res = runner.invoke(app, [*ARGS, "--max-ramp", "0.3 MW/s", "--json"])
    assert res.exit_code == 0, res.output
    grid = json.loads(res.output)["grid"]
    assert grid["max_ramp_limit_w_per_s"] == pytest.approx(3e5)
    assert grid["limited"] and grid["feasible"] and grid["units"] >= 1
    assert {"baseline_max_ramp_w_per_s", "baseline_swing_w", "energy_wh", "cycles_per_day"} <= set(grid)
    res = runner.invoke(app, [*ARGS, "--json"])
    grid = json.loads(res.output)["grid"]
    assert not grid["limited"] and grid["units"] == 0 and grid["baseline_swing_w"] > 0
    res = runner.invoke(app, [*ARGS, "--max-swing", "0.3 MW"])  # no bank holds it: an impossible goal
    assert isinstance(res.exception, InfeasibleError)  # the CLI maps it to exit 2 with this line
    assert "no bank of up to" in str(res.exception) and "swing ≤ 300,000 W" in str(res.exception)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_ramp_w_per_s", "-3 MW/s"),
        ("max_ramp_w_per_s", "fast"),
        ("max_swing_w", "0 MW"),
        ("max_swing_w", "banana"),
    ],
)
def test_bad_limit_names_the_field(field: str, value: str) -> None:
    with pytest.raises(SpecError, match=field):
        goal_from_dict({**GOAL, field: value}, name="goal")


@pytest.mark.parametrize(
    ("flag", "field"), [("--max-ramp", "max_ramp_w_per_s"), ("--max-swing", "max_swing_w")]
)
def test_bad_limit_exits_2_naming_the_field(flag: str, field: str) -> None:
    exe = Path(sys.executable).parent / "megapod"
    res = subprocess.run([str(exe), *ARGS, f"{flag}=-1"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert (field in res.stderr or flag in res.stderr) and len(res.stderr.strip().splitlines()) == 1


def test_grid_bank_above_ride_through_becomes_the_plan_battery(site, unlimited: Plan) -> None:  # type: ignore[no-untyped-def]
    base, t = unlimited.grid, unlimited.training
    assert base is not None and t is not None
    pod = pick_pod(site, None)
    from megapod.physics.perf import Hardware, model_preset, search_layouts

    step = search_layouts(
        model_preset("llama3-70b"),
        Hardware.from_pod(pod),
        t.gpus_used,
        t.layout["global_batch"],
        t.layout["dtype"],
        1,
    )[0]
    limit = 0.3 * base.baseline_max_ramp_w_per_s
    g = size_for_grid_limits(site, pod, step, base.unit, 0, max_ramp_w_per_s=limit)
    assert g.feasible and g.units >= 1
    assert g.ride_through_covers is False and g.plan_units == g.units
    plan = Plan(unlimited.kind, unlimited.site, unlimited.facility, training=t, grid=g)
    rows = dict(dict(summary_sections(plan))["Grid ramp and swing"])
    assert "does not cover it" in rows["plan battery"]


def test_a_grid_bank_larger_than_ride_through_is_costed() -> None:
    from megapod.planner.sizing import price_table, size_facility
    from megapod.spec import load_site

    site = load_site(EXAMPLES / "megapod.yaml")
    pod, prices = site.pods[0], price_table("us-2025")
    base = size_facility(site, pod, 2, 800.0, prices, 5.0)
    bigger = size_facility(site, pod, 2, 800.0, prices, 5.0, min_battery_units=base.battery_units + 4)
    assert bigger.battery_units == base.battery_units + 4
    assert bigger.capex.battery_usd == pytest.approx(
        base.capex.battery_usd * bigger.battery_units / base.battery_units
    )
    assert bigger.ride_through_s > base.ride_through_s
