"""Time and energy to train: steps, GPU-hours and energy bounded by idle and TDP power."""

from __future__ import annotations

import math

import pytest

from megapod.errors import InfeasibleError
from megapod.physics.perf import Hardware, Layout, model_preset
from megapod.physics.perf.time_to_train import time_to_train

H100 = Hardware.from_gpu("h100-sxm")


def test_time_to_train_adds_up() -> None:
    model = model_preset("llama3-8b")
    lay = Layout(tp=1, pp=1, dp=64, micro_batch=1, global_batch=512, zero_stage=2)
    run = time_to_train(model, H100, lay, 1e12)
    assert run.steps == math.ceil(1e12 / (512 * 8192))
    assert run.wall_s == pytest.approx(run.steps * run.step.step_time_s)
    assert run.gpu_hours == pytest.approx(run.wall_s * 64 / 3600)
    gpu = H100.gpu
    assert gpu.idle_w * run.gpu_hours <= run.gpu_energy_wh <= gpu.tdp_w * run.gpu_hours
    assert gpu.idle_w <= run.mean_gpu_power_w <= gpu.tdp_w


def test_no_tokens_is_refused() -> None:
    with pytest.raises(InfeasibleError):
        time_to_train(model_preset("llama3-8b"), H100, Layout(dp=8, global_batch=8), 0)
