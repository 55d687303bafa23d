"""Workload goals for the planner: train a model on N tokens, or serve it at a rate.

Goals are loaded from YAML (``load_goal``) or built from command-line options; both go
through the same validation, so a bad goal names its field, e.g. ``tokens: must be > 0``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from megapod import catalog
from megapod.catalog.model import ModelShape
from megapod.errors import SpecError
from megapod.quantities import DurationS, PowerW
from megapod.spec.base import SpecModel
from megapod.spec.loader import read_document, validate
from megapod.spec.power_profile import RampWPerS
from megapod.units import DAY_S, YEAR_S, parse_quantity

#: Largest training run a goal accepts [tokens]: some 600 times Llama 3's 15.6 T.
MAX_TOKENS = 1e16
#: Longest deadline [s]: a century.
MAX_DEADLINE_S = 100 * YEAR_S
#: Largest optimizer step [tokens].
MAX_BATCH_TOKENS = 1e12
#: Longest checkpoint write or restart [s]: a week.
MAX_PAUSE_S = 7 * DAY_S
#: Largest grid ramp [W/s] or swing [W] limit: 1 TW, above any grid connection.
MAX_GRID_W = 1e12
#: Largest serving rate [output tokens/s].
MAX_TOKENS_PER_S = 1e12
#: Loosest per-token latency bound [s].
MAX_LATENCY_S = 3600.0

Count = Annotated[float, BeforeValidator(lambda v: parse_quantity(v, "count") if v is not None else v)]
"""A plain count that accepts ``"15.6T"``-style prefixes (k, M, G, T)."""


class ModelSpec(SpecModel, ModelShape):
    """A transformer given by its shape instead of a preset name."""

    name: str = "custom-model"


def _known_model(value: str | ModelSpec) -> str | ModelSpec:
    if isinstance(value, str) and value not in catalog.raw("model"):
        raise ValueError(f"unknown model preset {value!r}{catalog.suggest(value, catalog.raw('model'))}")
    return value


def _known_gpu(value: str | None) -> str | None:
    if value is not None and value not in catalog.raw("gpu"):
        raise ValueError(f"unknown gpu {value!r}{catalog.suggest(value, catalog.raw('gpu'))}")
    return value


class _GoalBase(SpecModel):
    model: str | ModelSpec
    gpu: str | None = Field(None, description="GPU type; picks the first pod design carrying it")
    dtype: str = "bf16"
    years: float = Field(5.0, gt=0, le=50, description="TCO horizon")
    prices: str = Field("us-2025", description="price table in the catalog (prices.yaml)")
    price_overrides: dict[str, Any] = Field(default_factory=dict)

    _model = field_validator("model")(classmethod(lambda cls, v: _known_model(v)))
    _gpu = field_validator("gpu")(classmethod(lambda cls, v: _known_gpu(v)))


class TrainingGoal(_GoalBase):
    """Train ``model`` on ``tokens`` tokens by a deadline or on a GPU budget.

    With a deadline the planner finds the fewest whole pods that finish in time; with a GPU
    budget it uses as many whole pods as the budget allows; with neither it uses the pods of
    the site spec as given.
    """

    kind: Literal["training"] = "training"
    tokens: Count = Field(gt=0, le=MAX_TOKENS)
    deadline_s: DurationS | None = Field(None, gt=0, le=MAX_DEADLINE_S)
    gpu_budget: int | None = Field(None, ge=1)
    global_batch_tokens: Count = Field(
        16e6, gt=0, le=MAX_BATCH_TOKENS, description="tokens per optimizer step"
    )
    checkpoint_s: DurationS = Field(60.0, ge=0, le=MAX_PAUSE_S, description="time to write one checkpoint")
    restart_s: DurationS = Field(
        600.0, ge=0, le=MAX_PAUSE_S, description="time to restart after an interruption"
    )
    reliability: str = Field("llama3-h100", description="failure-rate entry (reliability.yaml)")
    max_ramp_w_per_s: RampWPerS | None = Field(
        None,
        le=MAX_GRID_W,
        description='grid ramp limit over 1 s, e.g. "10 MW/s"; sizes a battery to hold it',
    )
    max_swing_w: PowerW | None = Field(
        None,
        gt=0,
        le=MAX_GRID_W,
        description='grid peak-to-trough limit, e.g. "20 MW"; sizes a battery to hold it',
    )


class ServingGoal(_GoalBase):
    """Serve ``model`` at ``tokens_per_s`` output tokens per second with a per-token latency bound."""

    kind: Literal["serving"] = "serving"
    tokens_per_s: Count = Field(gt=0, le=MAX_TOKENS_PER_S)
    latency_per_token_s: DurationS = Field(
        0.05, gt=0, le=MAX_LATENCY_S, description="bound on time per output token"
    )
    context_len: int = Field(4096, ge=1, le=10_000_000, description="prompt tokens per request")
    output_len: int = Field(512, ge=1, le=1_000_000, description="output tokens per request")


Goal = Annotated[TrainingGoal | ServingGoal, Field(discriminator="kind")]


def goal_from_dict(doc: dict[str, Any], name: str = "") -> TrainingGoal | ServingGoal:
    """Validate a parsed goal (top level or under ``goal:``); ``kind`` defaults to training."""
    if set(doc) == {"goal"} and isinstance(doc["goal"], dict):
        doc = doc["goal"]
    kind = doc.get("kind", "training")
    models: dict[str, type[TrainingGoal] | type[ServingGoal]] = {
        "training": TrainingGoal,
        "serving": ServingGoal,
    }
    if kind not in models:
        raise SpecError(f"{name}: kind" if name else "kind", f"{kind!r}: use training or serving")
    return validate(models[str(kind)], doc, name)


def load_goal(path: str | Path) -> TrainingGoal | ServingGoal:
    """Read and validate a goal file (YAML or TOML)."""
    return goal_from_dict(read_document(path), name=str(path))
