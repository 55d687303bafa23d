"""Training predictions: the layout search and the whole run, as a typed result."""

from __future__ import annotations

import json

import pytest

from megapod.errors import InfeasibleError
from megapod.physics.perf import Hardware, model_preset
from megapod.planner.prediction import predict_training

H100 = Hardware.from_gpu("h100-sxm")


def test_best_first_and_the_run_of_the_best() -> None:
    found = predict_training(model_preset("llama3-8b"), H100, 64, 256, top=3, tokens=1e11)
    times = [r.step_time_s for r in found.layouts]
    assert times == sorted(times) and len(times) == 3
    assert found.valid <= found.evaluated
    run = found.run
    assert run is not None and run.step.layout == found.best.layout
    assert run.steps == -(-int(1e11) // (256 * 8192))
    assert run.wall_s == pytest.approx(run.steps * found.best.step_time_s, rel=1e-9)


def test_frame_and_json_carry_every_layout() -> None:
    found = predict_training(model_preset("llama3-8b"), H100, 64, 256, top=2)
    frame = found.to_frame()
    assert list(frame["step_time_s"]) == [r.step_time_s for r in found.layouts]
    assert {"tp", "pp", "dp", "mfu", "layout"} <= set(frame.columns)
    doc = json.loads(found.to_json())
    assert doc["run"] is None and len(doc["layouts"]) == 2
    assert doc["layouts"][0]["layout"]["tp"] == found.best.layout.tp


def test_no_valid_layout_raises() -> None:
    with pytest.raises(InfeasibleError):
        predict_training(model_preset("megatron-1t"), H100, 8, 8)
