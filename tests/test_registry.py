"""One registry mechanism; scenario policy names are checked when the scenario loads."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from megapod.errors import SpecError
from megapod.registry import REGISTRIES, Registry
from megapod.spec.scenario import load_scenario

from .sim.scenario_factory import EXAMPLES


def test_every_swappable_kind_is_in_the_one_registry_index() -> None:
    import megapod.catalog
    import megapod.fleet.kernels
    import megapod.fleet.payout
    import megapod.physics.battery
    import megapod.planner.checks
    import megapod.sim.power_profile.strategies
    import megapod.sim.twin.dispatch
    import megapod.sim.twin.policies
    import megapod.sim.twin.queueing
    import megapod.sim.twin.tiers
    import megapod.traces.formats  # noqa: F401

    assert {
        "queueing policy",
        "placement policy",
        "checkpoint policy",
        "outage response",
        "battery dispatch policy",
        "mitigation strategy",
        "physical check",
        "catalog kind",
        "trace format",
        "dispatch policy",
        "compute tier",
        "fleet kernel",
        "payout scheme",
    } <= set(REGISTRIES)
    assert all(isinstance(r, Registry) for r in REGISTRIES.values())


def test_register_refuses_a_duplicate_and_lookup_names_the_field() -> None:
    reg: Registry[int] = Registry("test thing", index=False)
    reg.register("a", 1)
    reg.register("b")(2)
    with pytest.raises(ValueError, match="already"):
        reg.register("a", 3)
    with pytest.raises(SpecError, match=r"x\.y: unknown test thing 'c'; known: a, b"):
        reg.lookup("c", "x.y")
    assert "c" not in reg and reg["b"] == 2
    assert "test thing" not in REGISTRIES


@pytest.mark.parametrize("field", ["queue", "placement", "outage"])
def test_unknown_policy_name_fails_when_the_scenario_loads(tmp_path: Path, field: str) -> None:
    data = yaml.safe_load((EXAMPLES / "scenarios" / "megapod_week.yaml").read_text())
    data.setdefault("policies", {})[field] = "bogus"
    data["site"] = str(EXAMPLES / "megapod.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError) as e:
        load_scenario(bad)
    assert f"policies.{field}" in str(e.value) and "'bogus'" in str(e.value) and "known:" in str(e.value)
