"""Every bundled goal file loads and says what it asks for."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import EXAMPLES

from megapod.spec.goal import TrainingGoal, load_goal


@pytest.mark.parametrize("path", sorted((EXAMPLES / "goals").glob("*.yaml")), ids=lambda p: p.name)
def test_example_goal_loads(path: Path) -> None:
    goal = load_goal(path)
    assert isinstance(goal, TrainingGoal)
    assert goal.tokens == 15.6e12 and goal.deadline_s == 60 * 86400 and goal.restart_s == 600
