"""Sweep files: the examples load, and every bad axis fails at load with the field named."""

from __future__ import annotations

import pytest
from tests.conftest import EXAMPLES
from tests.sweep.conftest import SHORT, WriteSweep

from megapod.errors import SpecError
from megapod.spec.sweep import load_sweep, parse_path


def test_the_examples_load() -> None:
    scenario = load_sweep(EXAMPLES / "sweeps" / "megapod_sweep.yaml")
    assert scenario.kind == "scenario"
    assert scenario.base["horizon_s"] == "2 d"  # the file's ``set`` is applied to the base
    plan = load_sweep(EXAMPLES / "sweeps" / "plan_sweep.yaml")
    assert plan.kind == "training"
    assert plan.objectives == {"cost_per_run_usd": "min", "co2_t": "min"}


def bad(write_sweep: WriteSweep, axes: str, extra: str = "", base: str = SHORT) -> str:
    path = write_sweep(f"name: t\n{base}\naxes:\n{axes}\n{extra}")
    with pytest.raises(SpecError) as exc:
        load_sweep(path)
    return str(exc.value)


@pytest.mark.parametrize(
    ("axis", "expected"),
    [
        (
            "{path: policies.queu, values: [fifo]}",
            "axes[0].values[0]: path 'policies.queu': policies.queu: no such field; did you mean 'queue'?",
        ),
        ("{path: 'site.pods[3].count', values: [2]}", "site.pods has 1 entry; [3] is past the end"),
        ("{path: 'policies[0].queue', values: [fifo]}", "policies is not a list"),
        ("{path: seed.x, values: [1]}", "seed is a value, not a mapping"),
        ("{path: 'site..pods', values: [1]}", "malformed path"),
        (
            "{path: failures.rate_scale, values: [1, -2]}",
            "axes[0].values[1]: failures.rate_scale = -2 is refused",
        ),
        ("{path: policies.queue, values: [fifo, lifo]}", "axes[0].values[1]: policies.queue = 'lifo'"),
        (
            "{path: 'site.pods[0].cooling.plant', values: [ice]}",
            "axes[0].values[0]: site.pods[0].cooling.plant = 'ice'",
        ),
        (
            "{path: energy.price_usd_per_mwh, low: -10, high: 50, steps: 2}",
            "axes[0].low: energy.price_usd_per_mwh = -10.0 is refused",
        ),
        ("{path: energy.price_usd_per_mwh, low: 10, high: 5, steps: 2}", "low 10 must be below high 5"),
        ("{path: energy.price_usd_per_mwh, low: 10, high: 50}", "give steps on energy.price_usd_per_mwh"),
    ],
)
def test_a_bad_axis_names_its_field(write_sweep: WriteSweep, axis: str, expected: str) -> None:
    assert expected in bad(write_sweep, f"  - {axis}")


def test_a_bad_axis_value_names_the_nested_field(write_sweep: WriteSweep) -> None:
    msg = bad(write_sweep, "  - {path: 'site.pods[0].power.battery.units', values: [0]}")
    assert "axes[0].values[0]" in msg
    assert "site.pods[0].power.battery.units" in msg
    assert "greater than or equal to 1" in msg


def test_list_axes_must_have_equal_lengths(write_sweep: WriteSweep) -> None:
    axes = "  - {path: seed, values: [1, 2]}\n  - {path: policies.queue, values: [fifo]}"
    assert "equal length" in bad(write_sweep, axes, "sample: {method: list}")


def test_unknown_objective_is_refused(write_sweep: WriteSweep) -> None:
    msg = bad(write_sweep, "  - {path: seed, values: [1]}", "objectives: {goodput: max, costs: min}")
    assert "objectives.costs: not an output of a scenario point" in msg


def test_bad_fixed_override_is_refused(write_sweep: WriteSweep) -> None:
    base = SHORT + "  policies.queue: lifo\n"
    assert "set.policies.queue" in bad(write_sweep, "  - {path: seed, values: [1]}", base=base)


def test_seeds_do_not_apply_to_a_plan(write_sweep: WriteSweep) -> None:
    base = f"plan:\n  site: {EXAMPLES / 'megapod.yaml'}\n  goal: {{model: llama3-70b, tokens: 2T}}\n"
    msg = bad(write_sweep, "  - {path: goal.deadline_s, values: [30 d]}", "seeds: [1, 2]", base=base)
    assert "seeds" in msg and "deterministic" in msg


def test_a_catalog_field_can_be_overridden(write_sweep: WriteSweep) -> None:
    path = write_sweep(
        f"name: t\n{SHORT}\naxes:\n  - {{path: 'site.pods[0].power.battery.unit.energy_wh', values: [2 MWh, 8 MWh]}}\n"
    )
    assert load_sweep(path).spec.axes[0].values == ["2 MWh", "8 MWh"]


def test_parse_path() -> None:
    assert parse_path("site.pods[0].racks[1].count") == ["site", "pods", 0, "racks", 1, "count"]
