"""Plan rendering: the rows and the HTML page come from the plan's numbers."""

from __future__ import annotations

import json

import pytest
from tests.conftest import EXAMPLES

from megapod.planner.plan import plan_serving, plan_training
from megapod.report.plan_report import capex_rows, html_report, summary_sections
from megapod.spec import load_site
from megapod.spec.goal import ServingGoal, TrainingGoal


@pytest.fixture(scope="module")
def site():  # type: ignore[no-untyped-def]
    return load_site(EXAMPLES / "megapod.yaml")


def test_training_rows_and_html(site) -> None:  # type: ignore[no-untyped-def]
    plan = plan_training(site, TrainingGoal(model="llama3-8b", tokens=1e12))
    titles = [t for t, _ in summary_sections(plan)]
    assert titles == ["Training run", "Site", "Grid ramp and swing", "Cost"]
    rows = dict(capex_rows(plan))
    assert sum(v for k, v in rows.items() if "/ yr" not in k) == pytest.approx(plan.facility.capex.total_usd)
    page = html_report(plan)
    assert "Where a training step goes" in page and "Hourly PUE" in page
    assert page.count('class="mp-chart"') == 4
    assert page.count('"kind":"line"') == 2 and page.count('"kind":"hbar"') == 2


def test_serving_html(site) -> None:  # type: ignore[no-untyped-def]
    plan = plan_serving(site, ServingGoal(model="llama3-8b", tokens_per_s=1e5))
    page = html_report(plan)
    assert "GPUs by role" in page and "Serving" in page


def test_plans_are_deterministic(site) -> None:  # type: ignore[no-untyped-def]
    goal = TrainingGoal(model="llama3-8b", tokens=1e12, deadline_s=86400 * 3)
    a = json.dumps(plan_training(site, goal).as_dict(), default=float)
    b = json.dumps(plan_training(site, goal).as_dict(), default=float)
    assert a == b
