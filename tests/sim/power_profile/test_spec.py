"""The ``power_profile:`` spec: quantities with units, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conftest import EXAMPLES

from megapod.errors import SpecError
from megapod.spec.loader import validate
from megapod.spec.power_profile import PowerProfileSpec
from megapod.spec.scenario import load_scenario

PHASES = [{"name": "compute", "duration_s": "1.6 s", "utilization": 1.0}]


def check(doc: dict[str, Any]) -> PowerProfileSpec:
    return validate(PowerProfileSpec, doc, "power_profile")


def test_units_are_parsed() -> None:
    s = check(
        {
            "job": {"phases": PHASES, "jitter_s": "5 ms", "phase_power_w": {"compute": "0.7 kW"}},
            "timeline": {"duration_s": "10 min", "resolution_s": "10 ms"},
            "limits": {"max_ramp_w_per_s": "10 MW/s", "max_swing_w": "40 MW"},
        }
    )
    assert s.job.jitter_s == 0.005 and s.job.phase_power_w == {"compute": 700.0}
    assert s.timeline.duration_s == 600.0 and s.timeline.resolution_s == 0.01
    assert s.limits.max_ramp_w_per_s == 10e6 and s.limits.max_swing_w == 40e6


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"job": {}}, "job"),
        ({"job": {"model": "llama3-8b"}}, "job"),
        ({"job": {"phases": PHASES}, "timeline": {"resolution_s": 0}}, "timeline.resolution_s"),
        ({"job": {"phases": PHASES}, "timeline": {"duration_s": "1 d", "resolution_s": "1 ms"}}, "timeline"),
        ({"job": {"phases": PHASES}, "limits": {"max_ramp_w_per_s": "-3 MW/s"}}, "limits.max_ramp_w_per_s"),
        ({"job": {"phases": PHASES}, "mitigations": [{"name": "x", "steps": []}]}, "mitigations[0].steps"),
        ({"job": {"phases": PHASES, "colour": 1}}, "job.colour"),
    ],
)
def test_bad_documents_name_the_field(doc: dict[str, Any], where: str) -> None:
    with pytest.raises(SpecError) as err:
        check(doc)
    assert where in str(err.value)


def test_bundled_scenarios_load() -> None:
    for name in ("megapod_power.yaml", "colossus_power.yaml"):
        sc = load_scenario(EXAMPLES / "scenarios" / name)
        assert sc.power_profile is not None and sc.power_profile.mitigations
