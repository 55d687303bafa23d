"""The documented Python entry points: description first, typed results with frames and JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import megapod

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_plan_from_a_path_and_a_mapping() -> None:
    plan = megapod.plan(EXAMPLES / "megapod.yaml", {"model": "llama3-8b", "tokens": "100G"})
    assert plan.kind == "training" and plan.training is not None
    doc = json.loads(plan.to_json())
    assert doc["training"]["gpus_used"] == plan.training.gpus_used
    frame = plan.to_frame()
    assert {"section", "figure", "value"} == set(frame.columns)
    assert (frame["section"] == "facility").any()


def test_plan_refuses_an_impossible_goal() -> None:
    with pytest.raises(megapod.InfeasibleError):
        megapod.plan(
            EXAMPLES / "megapod.yaml",
            {"model": "llama3-405b", "tokens": "15T", "deadline_s": "1 h", "gpu_budget": 8},
        )


def test_simulate_returns_frames_and_json() -> None:
    run = megapod.simulate(EXAMPLES / "scenarios" / "megapod_week.yaml")
    assert run.to_frame() is run.jobs and len(run.jobs) > 0
    summary = json.loads(run.to_json())
    assert summary["jobs"] == len(run.jobs) and summary["gpus"] == 576


def test_import_megapod_stays_light() -> None:
    import subprocess

    code = "import megapod, sys; print(sorted(m for m in ('pandas', 'numpy', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_readme_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    root = EXAMPLES.parent
    block = re.search(r"### From Python.*?```python\n(.*?)```", (root / "README.md").read_text(), re.S)
    assert block is not None
    monkeypatch.chdir(root)
    scope: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), scope)
    assert scope["plan"].training is not None  # type: ignore[attr-defined]
    assert len(scope["run"].pods) == 1  # type: ignore[attr-defined]


def test_power_profile_returns_waveforms_and_json() -> None:
    result = megapod.power_profile(EXAMPLES / "scenarios" / "megapod_power.yaml")
    doc = json.loads(result.to_json())
    assert [m["name"] for m in doc["mitigations"]] == [m.name for m in result.mitigations]
    frame = result.to_frame()
    assert len(frame) == result.baseline.grid_w.size
    assert frame["baseline_grid_w"].mean() == pytest.approx(doc["baseline"]["mean_w"], rel=1e-6)


def test_power_profile_needs_the_section() -> None:
    with pytest.raises(megapod.SpecError, match="power_profile"):
        megapod.power_profile(EXAMPLES / "scenarios" / "megapod_week.yaml")


def test_sweep_is_reached_from_the_package() -> None:
    assert callable(megapod.sweep.run)


def test_predict_takes_names_and_a_token_string() -> None:
    found = megapod.predict("llama3-8b", "h100-sxm", gpus=64, global_batch=256, tokens="100G", top=2)
    assert len(found.layouts) == 2 and found.run is not None
    assert found.run.tokens == 1e11 and found.run.step.layout == found.best.layout
    assert len(found.to_frame()) == 2 and json.loads(found.to_json())["run"]["steps"] == found.run.steps
    with pytest.raises(megapod.SpecError, match="tokens"):
        megapod.predict("llama3-8b", "h100-sxm", gpus=64, global_batch=256, tokens="lots")
