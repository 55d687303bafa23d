"""Layout planning on a pod design, and predictions of published training runs.

:func:`plan_layouts` searches the parallel layouts of a model on a spec pod's hardware.
:func:`predict_case` answers one validation case (``validation/SCHEMA.md``): it fills the
fields the source left null with the fastest valid choice, predicts the step, and sets the
prediction beside what was measured, counting FLOP the way the case's source does.
:func:`validate_cases` does so for a whole file and summarises the errors (MAPE).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
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
from megapod.physics.perf.presets import model_from_shape
from megapod.physics.perf.search import SearchResult, search
from megapod.physics.perf.stack import (
    CAUSAL_FLOPS_FROM_YEAR,
    COMM_OVERLAP_FROM_YEAR,
    FLASH_ATTENTION_FROM_YEAR,
    SEQUENCE_PARALLEL_FROM_YEAR,
    stack_for_year,
)
from megapod.spec.training_case import CaseError, TrainingCase
from megapod.units import TERA

if TYPE_CHECKING:
    from megapod.spec import Pod

__all__ = [
    "CAUSAL_FLOPS_FROM_YEAR",
    "COMM_OVERLAP_FROM_YEAR",
    "FLASH_ATTENTION_FROM_YEAR",
    "SEQUENCE_PARALLEL_FROM_YEAR",
    "CasePrediction",
    "ValidationReport",
    "case_model",
    "case_year",
    "flop_convention",
    "layout_dict",
    "plan_layouts",
    "predict_case",
    "source_year",
    "step_figures",
    "validate_cases",
]

#: Tokens per optimizer step assumed when a case gives no global batch: 4 Mi tokens, the
#: order of GPT-3 175B's 3.2 M (Brown et al. 2020, Table 2.1) and Llama 2's 4 M tokens
#: (Touvron et al. 2023); rounded to a power of two of sequences.
DEFAULT_BATCH_TOKENS = 4 * 1024 * 1024
#: Data type assumed when a case gives none (the common mixed-precision choice since 2021).
DEFAULT_DTYPE = "bf16"
#: Feasible global batches tried, nearest first, when the reported one does not divide.
NEAREST_BATCH_TRIES = 24


def plan_layouts(
    model: TransformerModel,
    pod: Pod,
    gpus: int,
    global_batch: int,
    dtype: str = "bf16",
    top: int = 5,
    **fixed: Any,
) -> list[StepBreakdown]:
    """The ``top`` fastest layouts of ``model`` on ``gpus`` GPUs of ``pod``'s hardware."""
    if gpus > pod.gpus * pod.count:
        raise InfeasibleError(f"{gpus} GPUs requested but pod {pod.name!r} holds {pod.gpus * pod.count}")
    return search_layouts(model, Hardware.from_pod(pod), gpus, global_batch, dtype, top, **fixed)


def case_model(case: TrainingCase) -> TransformerModel:
    """The :class:`TransformerModel` of a case (``kv_heads`` = heads, ``ffn`` = 4h if null)."""
    return model_from_shape(case.model, case.id)


def flop_convention(case: TrainingCase) -> str:
    """``hardware`` when the case's note says its FLOP include the recomputation; ``causal``
    when it says causal, or for runs from 2025 on (Megatron-LM's count halves the attention
    products since then); else ``model``.

    Megatron-LM's Eq. 3 (Narayanan et al. 2021) counts the recomputed forward pass; the other
    sources (Korthikanti et al. MFU, NeMo's per-GPU TFLOP/s) count model FLOP.
    """
    note = (case.note or "").lower()
    if "eq.3" in note or "includes the recomputation" in note or "hardware-style" in note:
        return "hardware"
    if "non-causal" in note:
        return "model"
    year, _ = case_year(case)
    if "causal" in note or (year is not None and year >= CAUSAL_FLOPS_FROM_YEAR):
        return "causal"
    return "model"


def case_year(case: TrainingCase) -> tuple[int | None, str]:
    """(year of the run's software stack, where it came from).

    The case's ``year`` field; for case files written before the schema had it, the year of
    the cited publication in the catalog (``publications.yaml``, matched by the whole citation
    key before ``:`` in ``source``); else ``None``, a current stack. Digits are never read
    out of an ``id`` or ``source``.
    """
    if case.year is not None:
        return case.year, "case"
    from megapod.catalog.publication import publication_year

    key = case.source.split(":", 1)[0].strip() if case.source else ""
    entry = publication_year(key) if key else None
    if entry is not None:
        return entry.year, f"catalog publication {key!r} ({entry.citation})"
    return None, "not given: a current software stack is assumed"


def source_year(case: TrainingCase) -> int | None:
    """The year of the case's software stack (:func:`case_year` without its origin)."""
    return case_year(case)[0]


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
    step_scale: float = 1.0

    def errors_pct(self) -> dict[str, float]:
        """Signed error of each predicted figure the case measured [%].

        When the answer runs a different global batch than the case reported (a batch the
        layout does not divide), the predicted step time is scaled by reported / run batch.
        """
        out: dict[str, float] = {}
        if self.result is None:
            return out
        predicted = step_figures(self.result)
        predicted["step_time_s"] *= self.step_scale
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
        out.update({k: round(v, 6) for k, v in step_figures(self.result).items()})
        out["layout"] = layout_dict(self.result.layout)
        out["chosen"] = self.chosen
        out["assumptions"] = self.assumptions
        out["measured"] = self.measured
        out["error_pct"] = {k: round(v, 2) for k, v in self.errors_pct().items()}
        out["breakdown_s"] = {
            "compute": self.result.compute_s,
            "exposed_comm": self.result.exposed_comm_s,
            "bubble": self.result.bubble_s,
            "optimizer": self.result.optimizer_s,
        }
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out


def step_figures(r: StepBreakdown) -> dict[str, float]:
    """The measured-comparable figures of a predicted step."""
    return {
        "step_time_s": r.step_time_s,
        "tflops_per_gpu": r.tflops_per_gpu,
        "mfu": r.mfu,
        "tokens_per_s_per_gpu": r.tokens_per_s_per_gpu,
        "memory_per_gpu_gib": r.memory_per_gpu_gib,
    }


def layout_dict(lay: Layout) -> dict[str, Any]:
    """JSON-ready degrees and settings of a layout."""
    return {
        "tp": lay.tp,
        "pp": lay.pp,
        "dp": lay.dp,
        "cp": lay.cp,
        "ep": lay.ep,
        "micro_batch": lay.micro_batch,
        "global_batch": lay.global_batch,
        "interleave": lay.interleave,
        "recompute": lay.recompute,
        "zero_stage": lay.zero_stage,
        "dtype": lay.dtype,
        "sequence_parallel": lay.sequence_parallel,
        "flash_attention": lay.flash_attention,
        "offload_layers": lay.offload_layers,
    }


_SEARCHED = ("tp", "pp", "cp", "ep", "micro_batch", "interleave", "recompute", "zero_stage")
#: Over-estimate of the memory a published layout needs that is still put down to the estimate:
#: its largest on published runs is +17.4 % (validation/llmfoundry_a100_bf16_2023.yaml, MPT
#: 350M on A100 40GB: the fp32 logits and gradient the model keeps for the loss, which a fused
#: cross-entropy does not); a layout further over is refused as not able to run.
MEMORY_ESTIMATE_ERROR = 0.25


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
    par = case.parallelism
    convention = flop_convention(case)
    year, year_from = case_year(case)
    stack = stack_for_year(year)
    hw = Hardware.from_case(case.hardware).for_stack_year(year)
    dtype = par.dtype or DEFAULT_DTYPE
    assumptions: dict[str, Any] = {"year": year, "year_from": year_from}
    if par.dtype is None:
        assumptions["dtype"] = f"not given: {DEFAULT_DTYPE}"
    if case.model.gated_mlp is None:
        assumptions["gated_mlp"] = "not given: false"
    fixed = {name: getattr(par, name) for name in _SEARCHED if getattr(par, name) is not None}
    if par.dp is not None and par.tp and par.pp:
        cp = par.cp or 1
        if par.tp * par.pp * par.dp * cp != par.gpus:
            return CasePrediction(
                case.id,
                error=(
                    f"layout tp{par.tp}·pp{par.pp}·dp{par.dp}·cp{cp} = {par.tp * par.pp * par.dp * cp}"
                    f" GPUs does not match the case's {par.gpus} GPUs"
                ),
            )
    dp_known = _reported_dp(par)
    if par.global_batch is None:
        wanted = _default_batch(model.seq_len)
        assumptions["global_batch"] = (
            f"not given: about {DEFAULT_BATCH_TOKENS / 2**20:.0f} Mi tokens per step"
        )
    else:
        wanted = par.global_batch
    if par.tp is not None and par.pp is not None and dp_known is not None:
        # name the reason for a reported layout that cannot run (batch aside: it is adjusted)
        check_layout(
            model,
            Layout(
                tp=par.tp,
                pp=par.pp,
                dp=dp_known,
                cp=par.cp or 1,
                ep=par.ep or 1,
                micro_batch=par.micro_batch or 1,
                global_batch=dp_known * (par.micro_batch or 1) * (par.pp if (par.interleave or 1) > 1 else 1),
                interleave=par.interleave or 1,
                recompute=par.recompute or "none",
                zero_stage=par.zero_stage if par.zero_stage is not None else 1,
                dtype=dtype,
            ),
            par.gpus,
        )
    options: dict[str, Any] = {
        "flop_convention": convention,
        "flash_attention": stack.flash_attention,
        "sequence_parallel": stack.sequence_parallel,
        "comm_overlap": stack.comm_overlap,
        "dp_overlap": stack.dp_overlap,
        "grad_reduce_bytes": stack.grad_reduce_bytes(dtype),
    }
    args = (model, par.gpus, hw, wanted, dtype, dp_known, par.micro_batch, par.interleave, par.pp)
    run = partial(_search_nearest_batch, *args)
    have = hw.gpu.hbm_bytes / 2**30
    complete = len(fixed) == len(_SEARCHED)
    found, batch, need = _search_published(run, {**fixed, **options}, complete, have)
    warnings: tuple[str, ...] = ()
    if need is not None:
        assumptions["memory_check"] = (
            f"skipped: the published layout ran, but megapod's estimate is {need:.1f} GiB per GPU "
            f"against {have:.1f} GiB"
        )
        warnings = (f"memory estimate {need:.1f} GiB per GPU exceeds the {have:.1f} GiB the run fitted in",)
    best = found.best[0]
    if dp_known is not None and best.layout.dp != dp_known:
        return CasePrediction(case.id, error=f"dp {par.dp} is inconsistent with the other fields")
    if par.global_batch is None:
        assumptions["global_batch"] += f" → {batch} sequences"
    elif batch != par.global_batch:
        assumptions["global_batch"] = (
            f"reported {par.global_batch} does not divide over the layout; predicted at the "
            f"nearest feasible batch {batch} (step time compared × {par.global_batch}/{batch})"
        )
    chosen = {name: getattr(best.layout, name) for name in _SEARCHED if name not in fixed}
    if batch != par.global_batch:
        chosen["global_batch"] = batch
    measured = _measured(case, model, convention, hw, batch)
    assumptions.update(
        {
            "software_stack": stack.as_dict(),
            "flop_convention": convention,
            "flash_attention": stack.flash_attention,
            "sequence_parallel": stack.sequence_parallel,
            "comm_overlap": stack.comm_overlap,
            "dp_overlap": stack.dp_overlap,
            "dropout": model.has_dropout,
            "scale_up_domain": hw.scale_up_domain,
            "scale_out_gbps_per_gpu": hw.scale_out_rate_bps / 1e9,
        }
    )
    scale = par.global_batch / batch if par.global_batch is not None else 1.0
    return CasePrediction(case.id, best, chosen, assumptions, measured, warnings=warnings, step_scale=scale)


def _search_published(
    run: Callable[[dict[str, Any]], tuple[SearchResult, int]],
    kwargs: dict[str, Any],
    complete: bool,
    capacity_gib: float,
) -> tuple[SearchResult, int, float | None]:
    """``run(kwargs)`` (:func:`_search_nearest_batch` with the case's arguments), and for a
    ``complete`` published layout (nothing left to choose) that only megapod's memory
    estimate refuses, the same without the check.

    The run did fit its ``capacity_gib``, so within :data:`MEMORY_ESTIMATE_ERROR` the estimate
    is what is wrong: the third item is then that estimate [GiB], else None. Further over, or
    refused for another reason, the search's error stands.
    """
    try:
        found, batch = run(kwargs)
    except InfeasibleError as exc:
        if not complete:
            raise
        try:
            found, batch = run({**kwargs, "check_memory": False})
        except InfeasibleError:
            raise exc from None
        need = found.best[0].memory_per_gpu_gib
        if need > capacity_gib * (1.0 + MEMORY_ESTIMATE_ERROR):
            raise exc from None
        return found, batch, need
    return found, batch, None


def _reported_dp(par: Any) -> int | None:
    """The data-parallel degree the case fixes: given, or implied by gpus / (tp·pp·cp)."""
    if par.dp is not None:
        return int(par.dp)
    if par.tp is not None and par.pp is not None and par.cp is not None:
        per = par.tp * par.pp * par.cp
        return par.gpus // per if par.gpus % per == 0 else None
    return None


def _default_batch(seq_len: int) -> int:
    """Sequences of about :data:`DEFAULT_BATCH_TOKENS` tokens, a power of two."""
    return int(2 ** max(0, round(math.log2(max(1.0, DEFAULT_BATCH_TOKENS / seq_len)))))


def _batch_candidates(wanted: int, unit: int, tries: int) -> list[int]:
    """Multiples of ``unit`` nearest to ``wanted`` first (``wanted`` itself first)."""
    out = [wanted]
    below = (wanted // unit) * unit
    above = below if below == wanted else below + unit
    lo, hi = below, above
    while len(out) < tries:
        for b in sorted({lo, hi}, key=lambda x: (abs(x - wanted), x)):
            if b >= unit and b not in out:
                out.append(b)
        lo, hi = lo - unit, hi + unit
        if lo < unit and hi > wanted * 4:
            break
    return out[:tries]


def _search_nearest_batch(
    model: TransformerModel,
    gpus: int,
    hw: Hardware,
    wanted: int,
    dtype: str,
    dp: int | None,
    micro_batch: int | None,
    interleave: int | None,
    pp: int | None,
    kwargs: dict[str, Any],
) -> tuple[SearchResult, int]:
    """The search at ``wanted`` sequences, else at the nearest batch that has a valid layout.

    With the data-parallel degree known, candidates are multiples of ``dp · micro-batch``
    (times ``pp`` for an interleaved schedule); otherwise every whole batch near ``wanted``.
    Raises the search's error at ``wanted`` when none works.
    """
    unit = 1
    if dp is not None:
        unit = dp * (micro_batch or 1)
        if (interleave or 1) > 1 and pp:
            unit *= pp
    first: InfeasibleError | None = None
    for batch in _batch_candidates(wanted, unit, NEAREST_BATCH_TRIES):
        try:
            return search(model, hw, gpus, batch, dtype, 1, **kwargs), batch
        except InfeasibleError as exc:
            first = first or exc
    assert first is not None
    raise first


def _measured(
    case: TrainingCase,
    model: TransformerModel,
    convention: str,
    hw: Hardware,
    batch: int,
) -> dict[str, float | None]:
    """Measured figures; TFLOP/s per GPU derived from the step time, tokens/s or MFU (in that
    order) with the case's FLOP convention when the source did not give them. A step time
    converts at the reported batch (``batch``, the one predicted, when none was reported)."""
    meas = case.measured
    par = case.parallelism
    out: dict[str, float | None] = {
        "step_time_s": meas.step_time_s,
        "tflops_per_gpu": meas.tflops_per_gpu,
        "mfu": meas.mfu,
        "tokens_per_s_per_gpu": meas.tokens_per_s_per_gpu,
    }
    if meas.tflops_per_gpu is None:
        recompute = par.recompute or "none"
        per_token = flops_per_token(model, recompute, convention)
        sequences = par.global_batch or batch
        if meas.step_time_s is not None:
            out["tflops_per_gpu"] = per_token * sequences * model.seq_len / meas.step_time_s / par.gpus / TERA
        elif meas.tokens_per_s_per_gpu is not None:
            out["tflops_per_gpu"] = per_token * meas.tokens_per_s_per_gpu / TERA
        elif meas.mfu is not None and convention == "model":
            out["tflops_per_gpu"] = meas.mfu * hw.gpu.peak(par.dtype or DEFAULT_DTYPE) / TERA
    return out


@dataclass(frozen=True)
class ValidationReport:
    """Predictions of every case and the mean absolute percentage errors."""

    predictions: tuple[CasePrediction, ...]

    def mape(self, figure: str = "tflops_per_gpu") -> float | None:
        """Mean absolute percentage error of ``figure`` over the cases that measured it [%]."""
        errors = [abs(p.errors_pct()[figure]) for p in self.predictions if figure in p.errors_pct()]
        return sum(errors) / len(errors) if errors else None

    def counted(self, figure: str = "tflops_per_gpu") -> int:
        """Cases that contribute to :meth:`mape` of ``figure``."""
        return sum(1 for p in self.predictions if figure in p.errors_pct())


def validate_cases(cases: Sequence[TrainingCase | CaseError]) -> ValidationReport:
    """Predict every case (errors recorded per case) and collect the report."""
    return ValidationReport(tuple(predict_case(c) for c in cases))
