"""A training prediction: the fastest layouts of a model on a GPU count, and the run they give.

:func:`predict_training` is what ``megapod predict layouts`` / ``time-to-train`` and
:func:`megapod.predict` answer: the layout search of :mod:`megapod.physics.perf.search`, and,
when tokens are given, the time, GPU-hours and GPU energy of the whole run with the best
layout (:func:`megapod.physics.perf.time_to_train`, before failures).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from megapod.errors import SpecError
from megapod.physics.perf import Hardware, StepBreakdown, TransformerModel
from megapod.physics.perf.search import search
from megapod.physics.perf.time_to_train import TrainingRun, time_to_train
from megapod.planner.layout import layout_dict, step_figures
from megapod.spec.goal import MAX_TOKENS

if TYPE_CHECKING:
    import pandas as pd


_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}


def parse_tokens(value: float | str, field: str = "tokens") -> float:
    """A token count from a number or a string such as ``15T``, ``300B`` or ``2e12``;
    refused (naming ``field``) unless between 1 and :data:`MAX_TOKENS`."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[0-9]+)?)\s*([kmbgt]?)\s*", value.lower())
        if not match:
            raise SpecError(field, f"{value!r}: give a count such as 15T, 300B or 2e12")
        count = float(match.group(1)) * _SUFFIX[match.group(2)]
    else:
        count = float(value)
    if not (math.isfinite(count) and 1 <= count <= MAX_TOKENS):
        raise SpecError(field, f"{value!r}: must be between 1 and {MAX_TOKENS:,.0f} tokens")
    return count


def step_dict(r: StepBreakdown) -> dict[str, Any]:
    """JSON-ready figures of one predicted step and its layout."""
    return {
        "layout": layout_dict(r.layout),
        **step_figures(r),
        "compute_s": r.compute_s,
        "exposed_comm_s": r.exposed_comm_s,
        "bubble_s": r.bubble_s,
        "optimizer_s": r.optimizer_s,
    }


def run_dict(run: TrainingRun) -> dict[str, Any]:
    """JSON-ready figures of a whole training run."""
    return {
        "tokens": run.tokens,
        "steps": run.steps,
        "layout": run.step.layout.describe(),
        "step_time_s": run.step.step_time_s,
        "mfu": run.step.mfu,
        "wall_days": run.wall_days,
        "gpu_hours": run.gpu_hours,
        "gpu_energy_mwh": run.gpu_energy_wh / 1e6,
        "mean_gpu_power_w": run.mean_gpu_power_w,
    }


@dataclass(frozen=True)
class TrainingPrediction:
    """The fastest layouts found (best first), how many were tried, and the run of the best."""

    layouts: tuple[StepBreakdown, ...]
    evaluated: int
    valid: int
    run: TrainingRun | None = None

    @property
    def best(self) -> StepBreakdown:
        """The fastest valid layout."""
        return self.layouts[0]

    def as_dict(self) -> dict[str, Any]:
        """One JSON-ready document (what ``megapod predict layouts --json`` prints, plus the run)."""
        return {
            "evaluated": self.evaluated,
            "valid": self.valid,
            "layouts": [step_dict(r) for r in self.layouts],
            "run": run_dict(self.run) if self.run is not None else None,
        }

    def to_json(self) -> str:
        """:meth:`as_dict` as a JSON string."""
        return json.dumps(self.as_dict())

    def to_frame(self) -> pd.DataFrame:
        """One row a layout, best first: its degrees and its step figures."""
        import pandas as pd

        rows = []
        for r in self.layouts:
            d = step_dict(r)
            rows.append({"layout": r.layout.describe(), **d.pop("layout"), **d})
        return pd.DataFrame(rows)


def predict_training(
    model: TransformerModel,
    hw: Hardware,
    gpus: int,
    global_batch: int,
    dtype: str = "bf16",
    top: int = 5,
    tokens: float | None = None,
) -> TrainingPrediction:
    """Search the layouts of ``model`` on ``gpus`` GPUs of ``hw``; with ``tokens``, the run.

    Raises :class:`~megapod.errors.InfeasibleError` when no layout is valid.
    """
    found = search(model, hw, gpus, global_batch, dtype, top)
    run = time_to_train(model, hw, found.best[0].layout, tokens) if tokens is not None else None
    return TrainingPrediction(tuple(found.best), found.evaluated, found.valid, run)
