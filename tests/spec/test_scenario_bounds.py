"""Quantities whose cost grows with them are bounded when the scenario loads."""

from __future__ import annotations

from typing import Any

import pytest

from megapod.errors import SpecError
from megapod.spec.loader import validate
from megapod.spec.scenario import Scenario

from ..sim.scenario_factory import small_scenario


def _doc(**synthetic: Any) -> dict[str, Any]:
    doc = small_scenario().model_dump()
    doc["workload"]["synthetic"].update(synthetic)
    return doc


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"arrival_rate_per_s": 1e6, "jobs": None}, "arrival_rate_per_s"),
        ({"gpus": {"kind": "discrete", "values": [1, 8], "weights": [1, 1e19]}}, "weights"),
        ({"gpus": {"kind": "discrete", "values": [1, 1e19]}}, "values"),
        ({"duration_s": {"kind": "lognormal", "median": 1e300}}, "median"),
    ],
)
def test_absurd_synthetic_load_is_refused_before_any_work(change: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as e:
        validate(Scenario, _doc(**change), "scenario")
    assert field in str(e.value)
