"""Published training runs as validation cases (the format of ``validation/SCHEMA.md``).

A case file is a YAML list of cases; each names the hardware (a catalog GPU, the scale-up
domain, the per-GPU scale-out rate), the model shape, the parallel layout as the source
reports it, and what was measured. Fields a source did not report are ``null``; the
performance model chooses them (:mod:`megapod.planner.layout`).

:func:`read_cases` validates each case on its own: a malformed case becomes a
:class:`CaseError` in the list, so one bad case does not stop the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from megapod import catalog
from megapod.catalog.gpu import GpuEntry
from megapod.catalog.model import ModelShape
from megapod.errors import SpecError
from megapod.spec.base import SpecModel
from megapod.spec.loader import parse_value, read_bytes, validate


class CaseHardware(SpecModel):
    """The GPU, its scale-up domain size and the per-GPU scale-out rate [Gb/s]."""

    gpu: str
    gpus_per_node: int | None = Field(None, ge=1, le=100_000)
    scale_out_gbps_per_gpu: float | None = Field(None, gt=0)

    def gpu_entry(self) -> GpuEntry:
        """The catalog entry of ``gpu`` (unknown names raise :class:`CatalogError`)."""
        return catalog.gpu(self.gpu)


class CaseModel(SpecModel, ModelShape):
    """The model shape as the schema writes it; a null ``gated_mlp``, ``experts`` or
    ``top_k`` (the source did not say) is a plain MLP, one expert, top-1."""

    @field_validator("gated_mlp", "experts", "top_k", mode="before")
    @classmethod
    def _null_is_default(cls, value: object, info: ValidationInfo) -> object:
        if value is None:
            return {"gated_mlp": False, "experts": 1, "top_k": 1}[str(info.field_name)]
        return value


class CaseParallelism(SpecModel):
    """The layout as reported; ``None`` where the source did not say."""

    gpus: int = Field(ge=1)
    tp: int | None = Field(None, ge=1)
    pp: int | None = Field(None, ge=1)
    dp: int | None = Field(None, ge=1)
    cp: int | None = Field(1, ge=1)
    ep: int | None = Field(1, ge=1)
    global_batch: int | None = Field(None, ge=1)
    micro_batch: int | None = Field(None, ge=1)
    interleave: int | None = Field(1, ge=1)
    recompute: Literal["none", "selective", "full"] | None = None
    zero_stage: int | None = Field(None, ge=0, le=3)
    dtype: Literal["bf16", "fp16", "fp8"] | None = "bf16"


class CaseMeasured(SpecModel):
    """What the source measured, in its own FLOP accounting."""

    tflops_per_gpu: float | None = Field(None, gt=0)
    mfu: float | None = Field(None, gt=0, le=1)
    step_time_s: float | None = Field(None, gt=0)
    tokens_per_s_per_gpu: float | None = Field(None, gt=0)


class TrainingCase(SpecModel):
    """One published training run.

    ``year`` is the year the run was made, which fixes its software stack; ``None`` when the
    case does not give it. ``id`` and ``source`` are labels and are never parsed for data.
    """

    id: str = Field(min_length=1)
    source: str = ""
    year: int | None = Field(None, ge=2015, le=2100)
    hardware: CaseHardware
    model: CaseModel
    parallelism: CaseParallelism
    measured: CaseMeasured = CaseMeasured()
    note: str | None = None


@dataclass(frozen=True)
class CaseError:
    """A case that could not be read: its id (or position) and the reason."""

    id: str
    error: str


def read_cases(path: str | Path) -> list[TrainingCase | CaseError]:
    """Read a case file: a YAML list of cases, or a mapping with a ``cases`` list.

    The file as a whole must be readable YAML (else :class:`SpecError`); each case is
    validated on its own and a bad one becomes a :class:`CaseError`.
    """
    p = Path(path)
    data = read_bytes(p, "case file")
    docs = _case_list(data, str(p))
    out: list[TrainingCase | CaseError] = []
    for i, doc in enumerate(docs):
        name = f"[{i}]"
        if isinstance(doc, dict) and isinstance(doc.get("id"), str):
            name = doc["id"]
        if not isinstance(doc, dict):
            out.append(CaseError(name, f"a case must be a mapping, not a {type(doc).__name__}"))
            continue
        try:
            out.append(validate(TrainingCase, doc, name))
        except SpecError as exc:
            out.append(CaseError(name, str(exc)))
    return out


def _case_list(data: bytes, name: str) -> list[Any]:
    doc = parse_value(data, "yaml", name)  # raises a SpecError that says what is wrong
    if isinstance(doc, list):
        if not doc:
            raise SpecError(name, "holds no cases")
        return doc
    cases = doc.get("cases") if isinstance(doc, dict) else None
    if not isinstance(cases, list) or not cases:
        raise SpecError(f"{name}: cases", "a case file is a list of cases (or `cases:` a list)")
    return cases
