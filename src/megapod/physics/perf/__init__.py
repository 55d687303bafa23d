"""Performance model of large-transformer training and serving on a pod design.

Pure functions over plain values: a :class:`TransformerModel`, the :class:`Hardware` it runs on
and a parallel :class:`Layout` go in; a :class:`StepBreakdown` (or an inference or
time-to-train result) comes out. See ``docs/performance-model.md`` for the equations.
"""

from __future__ import annotations

from megapod.physics.perf.flops import flops_per_token, hardware_flops_per_token, model_flops_per_token
from megapod.physics.perf.hardware import Hardware
from megapod.physics.perf.inference import InferenceResult, serve
from megapod.physics.perf.layout import Layout, check_layout
from megapod.physics.perf.memory import MemoryBreakdown, memory_per_gpu
from megapod.physics.perf.model import TransformerModel
from megapod.physics.perf.presets import model_preset, preset_names
from megapod.physics.perf.search import search_layouts
from megapod.physics.perf.time_to_train import TrainingRun, time_to_train
from megapod.physics.perf.training import Phase, StepBreakdown, train_step

__all__ = [
    "Hardware",
    "InferenceResult",
    "Layout",
    "MemoryBreakdown",
    "Phase",
    "StepBreakdown",
    "TrainingRun",
    "TransformerModel",
    "check_layout",
    "flops_per_token",
    "hardware_flops_per_token",
    "memory_per_gpu",
    "model_flops_per_token",
    "model_preset",
    "preset_names",
    "search_layouts",
    "serve",
    "time_to_train",
    "train_step",
]
