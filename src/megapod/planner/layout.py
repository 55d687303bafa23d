"""Layout planning on a pod design, and predictions of published training runs.

:func:`plan_layouts` searches the parallel layouts of a model on a spec pod's hardware.
:func:`predict_case` answers one validation case (``validation/SCHEMA.md``): it fills the
fields the source left null with the fastest valid choice, predicts the step, and sets the
prediction beside what was measured, counting FLOP the way the case's source does.
:func:`validate_cases` does so for a whole file and summarises the errors (MAPE).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from megapod.errors import InfeasibleError, MegapodError
from megapod.physics.perf import (
    Hardware,
    Layout,
    StepBreakdown,
    TransformerModel,
    check_layout,
    flops_per_token,
    search_layouts,
)
from megapod.physics.perf.search import search
from megapod.physics.perf.time_to_train import TrainingRun, time_to_train
from megapod.spec.training_case import CaseError, TrainingCase
from megapod.units import TERA

if TYPE_CHECKING:
    from megapod.spec import Pod

#: Year from which a run's software stack is taken to use fused (flash) attention: Megatron-LM
#: and NeMo adopted FlashAttention / cuDNN fused attention in 2023 (Dao et al. 2022 appeared
#: in May 2022, after the 2021-2022 Megatron-LM papers).
FLASH_ATTENTION_FROM_YEAR = 2023
#: Year from which reported model FLOP count causal attention (Megatron-LM's
#: ``num_floating_point_operations``; Megatron-Bridge's tables from NeMo 25.09 on).
CAUSAL_FLOPS_FROM_YEAR = 2025
#: Year from which TP-communication and pipeline p2p overlap are part of the stack
#: (Megatron-Core and Transformer Engine userbuffers, 2023).
COMM_OVERLAP_FROM_YEAR = 2023
#: Year from which sequence parallelism is available (Korthikanti et al., arXiv May 2022).
SEQUENCE_PARALLEL_FROM_YEAR = 2022


def plan_layouts(
    model: TransformerModel, pod: Pod, gpus: int, global_batch: int, dtype: str = "bf16",
    top: int = 5, **fixed: Any,
) -> list[StepBreakdown]:
    """The ``top`` fastest layouts of ``model`` on ``gpus`` GPUs of ``pod``'s hardware."""
    if gpus > pod.gpus * pod.count:
        raise InfeasibleError(
            f"{gpus} GPUs requested but pod {pod.name!r} holds {pod.gpus * pod.count}")
    return search_layouts(model, gpus, Hardware.from_pod(pod), global_batch, dtype, top, **fixed)


def case_model(case: TrainingCase) -> TransformerModel:
    """The :class:`TransformerModel` of a case (``kv_heads`` = heads, ``ffn`` = 4h if null)."""
    m = case.model
    return TransformerModel(
        layers=m.layers, hidden=m.hidden, heads=m.heads, kv_heads=m.kv_heads or m.heads,
        ffn_hidden=m.ffn_hidden or 4 * m.hidden, vocab=m.vocab, seq_len=m.seq_len,
        gated_mlp=m.gated_mlp, experts=m.experts, top_k=m.top_k, name=case.id,
    )


def flop_convention(case: TrainingCase) -> str:
    """``hardware`` when the case's note says its FLOP include the recomputation; ``causal``
    when it says causal, or for sources from 2025 on (Megatron-LM's count halves the attention
    products since then); else ``model``.

    Megatron-LM's Eq. 3 (Narayanan et al. 2021) counts the recomputed forward pass; the other
    sources (Korthikanti et al. MFU, NeMo's per-GPU TFLOP/s) count model FLOP.
    """
    note = (case.note or "").lower()
    if "eq.3" in note or "includes the recomputation" in note or "hardware-style" in note:
        return "hardware"
    if "non-causal" in note:
        return "model"
    year = source_year(case)
    if "causal" in note or (year is not None and year >= CAUSAL_FLOPS_FROM_YEAR):
        return "causal"
    return "model"


def source_year(case: TrainingCase) -> int | None:
    """Publication year read from the case's source key (``megatron21``, ``nemo2407`` …).

    The key is the part of ``source`` before ``:``; its trailing two digits (a year) or four
    digits (year and month) are read. Anything else gives ``None`` (a current stack).
    """
    key = case.source.split(":", 1)[0].strip() if case.source else case.id
    match = re.search(r"(?<!\d)(\d{2}|\d{4})$", key)  # "21" (year) or "2407" (year, month)
    if not match:
        return None
    year = 2000 + int(match.group(1)[:2])
    return year if 2017 <= year <= 2035 else None


@dataclass(frozen=True)
class CasePrediction:
    """The answer to one case: a prediction with what was chosen, or an error."""

    id: str
    result: StepBreakdown | None = None
    chosen: dict[str, Any] = field(default_factory=dict)
    assumptions: dict[str, Any] = field(default_factory=dict)
    measured: dict[str, float | None] = field(default_factory=dict)
    error: str | None = None
    warnings: tuple[str, ...] = ()

    def errors_pct(self) -> dict[str, float]:
        """Signed error of each predicted figure the case measured [%]."""
        out: dict[str, float] = {}
        if self.result is None:
            return out
        predicted = _figures(self.result)
        for key, value in self.measured.items():
            if value and key in predicted:
                out[key] = 100.0 * (predicted[key] - value) / value
        return out

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping: predicted figures, chosen fields, measured, errors."""
        out: dict[str, Any] = {"id": self.id}
        if self.result is None:
            out["error"] = self.error
            return out
        out.update({k: round(v, 6) for k, v in _figures(self.result).items()})
        out["layout"] = _layout_dict(self.result.layout)
        out["chosen"] = self.chosen
        out["assumptions"] = self.assumptions
        out["measured"] = self.measured
        out["error_pct"] = {k: round(v, 2) for k, v in self.errors_pct().items()}
        out["breakdown_s"] = {
            "compute": self.result.compute_s, "exposed_comm": self.result.exposed_comm_s,
            "bubble": self.result.bubble_s, "optimizer": self.result.optimizer_s,
        }
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def _figures(r: StepBreakdown) -> dict[str, float]:
    return {"step_time_s": r.step_time_s, "tflops_per_gpu": r.tflops_per_gpu, "mfu": r.mfu,
            "tokens_per_s_per_gpu": r.tokens_per_s_per_gpu,
            "memory_per_gpu_gib": r.memory_per_gpu_gib}


def _layout_dict(lay: Layout) -> dict[str, Any]:
    return {"tp": lay.tp, "pp": lay.pp, "dp": lay.dp, "cp": lay.cp, "ep": lay.ep,
            "micro_batch": lay.micro_batch, "global_batch": lay.global_batch,
            "interleave": lay.interleave, "recompute": lay.recompute,
            "zero_stage": lay.zero_stage, "dtype": lay.dtype,
            "sequence_parallel": lay.sequence_parallel, "flash_attention": lay.flash_attention}


_SEARCHED = ("tp", "pp", "cp", "ep", "micro_batch", "interleave", "recompute", "zero_stage")


def predict_case(case: TrainingCase | CaseError) -> CasePrediction:
    """Predict one case; any problem becomes the prediction's ``error``, never an exception."""
    if isinstance(case, CaseError):
        return CasePrediction(case.id, error=case.error)
    try:
        return _predict(case)
    except MegapodError as exc:
        return CasePrediction(case.id, error=str(exc))


def _predict(case: TrainingCase) -> CasePrediction:
    model = case_model(case)
    hw = Hardware.from_case(case.hardware)
    par = case.parallelism
    convention = flop_convention(case)
    year = source_year(case)
    flash = year is None or year >= FLASH_ATTENTION_FROM_YEAR
    seq_par = year is None or year >= SEQUENCE_PARALLEL_FROM_YEAR
    overlap = year is None or year >= COMM_OVERLAP_FROM_YEAR
    fixed = {name: getattr(par, name) for name in _SEARCHED if getattr(par, name) is not None}
    if par.dp is not None and par.tp and par.pp:
        cp = par.cp or 1
        if par.tp * par.pp * par.dp * cp != par.gpus:
            return CasePrediction(case.id, error=(
                f"layout tp{par.tp}·pp{par.pp}·dp{par.dp}·cp{cp} = {par.tp * par.pp * par.dp * cp}"
                f" GPUs does not match the case's {par.gpus} GPUs"))
    if par.tp is not None and par.pp is not None:  # name the reason for a reported layout
        dp = par.dp or max(1, par.gpus // (par.tp * par.pp * (par.cp or 1)))
        check_layout(model, Layout(
            tp=par.tp, pp=par.pp, dp=dp, cp=par.cp or 1, ep=par.ep or 1,
            micro_batch=par.micro_batch or 1, global_batch=par.global_batch,
            interleave=par.interleave or 1, recompute=par.recompute or "none",
            zero_stage=par.zero_stage if par.zero_stage is not None else 1, dtype=par.dtype,
        ), par.gpus)
    warnings: list[str] = []
    kwargs: dict[str, Any] = dict(fixed)
    options: dict[str, Any] = {"flop_convention": convention, "flash_attention": flash,
                               "sequence_parallel": seq_par, "comm_overlap": overlap}
    found = search(model, par.gpus, hw, par.global_batch, par.dtype, 1, **kwargs, **options)
    best = found.best[0]
    if par.dp is not None and best.layout.dp != par.dp:
        return CasePrediction(case.id, error=f"dp {par.dp} is inconsistent with the other fields")
    chosen = {name: getattr(best.layout, name) for name in _SEARCHED if name not in fixed}
    measured = _measured(case, model, convention, hw)
    assumptions = {
        "flop_convention": convention,
        "flash_attention": flash,
        "sequence_parallel": seq_par,
        "comm_overlap": overlap,
        "scale_up_domain": hw.scale_up_domain,
        "scale_out_gbps_per_gpu": hw.scale_out_rate_bps / 1e9,
    }
    return CasePrediction(case.id, best, chosen, assumptions, measured, warnings=tuple(warnings))


def _measured(
    case: TrainingCase, model: TransformerModel, convention: str, hw: Hardware
) -> dict[str, float | None]:
    """Measured figures; TFLOP/s per GPU derived from the step time, tokens/s or MFU (in that
    order) with the case's FLOP convention when the source did not give them."""
    meas = case.measured
    par = case.parallelism
    out: dict[str, float | None] = {
        "step_time_s": meas.step_time_s, "tflops_per_gpu": meas.tflops_per_gpu,
        "mfu": meas.mfu, "tokens_per_s_per_gpu": meas.tokens_per_s_per_gpu,
    }
    if meas.tflops_per_gpu is None:
        recompute = par.recompute or "none"
        per_step = flops_per_token(model, recompute, convention) * par.global_batch * model.seq_len
        if meas.step_time_s is not None:
            out["tflops_per_gpu"] = per_step / meas.step_time_s / par.gpus / TERA
        elif meas.tokens_per_s_per_gpu is not None:
            out["tflops_per_gpu"] = per_step / (par.global_batch * model.seq_len) \
                * meas.tokens_per_s_per_gpu / TERA
        elif meas.mfu is not None and convention == "model":
            out["tflops_per_gpu"] = meas.mfu * hw.gpu.peak(par.dtype) / TERA
    return out


@dataclass(frozen=True)
class ValidationReport:
    """Predictions of every case and the mean absolute percentage errors."""

    predictions: tuple[CasePrediction, ...]

    def mape(self, figure: str = "tflops_per_gpu") -> float | None:
        """Mean absolute percentage error of ``figure`` over the cases that measured it [%]."""
        errors = [abs(p.errors_pct()[figure]) for p in self.predictions
                  if figure in p.errors_pct()]
        return sum(errors) / len(errors) if errors else None

    def counted(self, figure: str = "tflops_per_gpu") -> int:
        """Cases that contribute to :meth:`mape` of ``figure``."""
        return sum(1 for p in self.predictions if figure in p.errors_pct())


def validate_cases(cases: Sequence[TrainingCase | CaseError]) -> ValidationReport:
    """Predict every case (errors recorded per case) and collect the report."""
    return ValidationReport(tuple(predict_case(c) for c in cases))


def plan_training_run(
    model: TransformerModel, hw: Hardware, gpus: int, tokens: float, global_batch: int,
    dtype: str = "bf16",
) -> TrainingRun:
    """Time, GPU-hours and energy to train on ``tokens`` with the fastest valid layout."""
    best = search_layouts(model, gpus, hw, global_batch, dtype, 1)[0]
    return time_to_train(model, hw, best.layout, tokens)
