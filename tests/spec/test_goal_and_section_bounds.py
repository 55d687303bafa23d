"""Absurd goals and sections are refused where they are read, with the field and the limit,
instead of yielding a plan of 10^19 days or a crash in an engine."""

from __future__ import annotations

from typing import Any

import pytest

from megapod.errors import SpecError
from megapod.spec.goal import goal_from_dict
from megapod.spec.loader import validate
from megapod.spec.power_profile import TimelineSpec

TRAINING = {"model": "llama3-70b", "tokens": "15T"}
SERVING = {"kind": "serving", "model": "llama3-70b", "tokens_per_s": "1M"}


@pytest.mark.parametrize(
    ("goal", "field", "limit"),
    [
        ({**TRAINING, "tokens": "1e30"}, "tokens", "10,000,000,000,000,000"),
        ({**TRAINING, "deadline_s": "1e300 s"}, "deadline_s", "3,153,600,000"),
        ({**TRAINING, "global_batch_tokens": 1e30}, "global_batch_tokens", "1,000,000,000,000"),
        ({**TRAINING, "checkpoint_s": "1e12 s"}, "checkpoint_s", "604,800"),
        ({**TRAINING, "restart_s": "1e12 s"}, "restart_s", "604,800"),
        ({**TRAINING, "max_swing_w": "1e300 W"}, "max_swing_w", "1,000,000,000,000"),
        ({**TRAINING, "max_ramp_w_per_s": "1e300 W/s"}, "max_ramp_w_per_s", "1,000,000,000,000"),
        ({**SERVING, "tokens_per_s": 1e30}, "tokens_per_s", "1,000,000,000,000"),
        ({**SERVING, "latency_per_token_s": "1e30 s"}, "latency_per_token_s", "3,600"),
    ],
)
def test_absurd_goal_is_refused_with_the_field_and_limit(
    goal: dict[str, Any], field: str, limit: str
) -> None:
    with pytest.raises(SpecError) as e:
        goal_from_dict(goal, name="goal")
    msg = str(e.value)
    assert field in msg and limit.replace(",", "") in msg.replace(",", ""), msg


def test_a_goal_at_a_real_size_still_loads() -> None:
    goal = goal_from_dict({**TRAINING, "tokens": "15.6T", "deadline_s": "60 d"}, name="goal")
    assert goal.tokens == 15.6e12


def test_a_power_profile_window_of_a_few_samples_is_refused() -> None:
    with pytest.raises(SpecError) as e:
        validate(TimelineSpec, {"duration_s": "2 s", "resolution_s": "1 s"}, "timeline")
    assert "at least" in str(e.value) and "samples" in str(e.value)
    assert validate(TimelineSpec, {"duration_s": "10 s", "resolution_s": "1 s"}, "timeline")


def test_a_fleet_whose_battery_floor_is_above_the_charge_limit_is_refused() -> None:
    from megapod.spec.fleet import Fleet

    doc = {"vehicles": 100, "module": "tesla-ai4", "owner": {"min_soc": 0.95, "soc_hysteresis": 0.0}}
    with pytest.raises(SpecError) as e:
        validate(Fleet, doc, "fleet")
    assert "owner" in str(e.value) and "90%" in str(e.value)
    assert validate(Fleet, {**doc, "owner": {"min_soc": 0.8, "soc_hysteresis": 0.05}}, "fleet")
