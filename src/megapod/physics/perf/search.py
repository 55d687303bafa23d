"""Layout search: enumerate the valid parallel layouts of a run and keep the fastest.

Layer and output-layer costs depend only on (tp, cp, ep, micro-batch), so they are computed
once per combination and shared by every pipeline depth, interleaving, recomputation and ZeRO
stage that uses them; the remaining work per layout is a few dozen float operations. Layouts
that do not divide evenly or do not fit memory are skipped.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from megapod.errors import InfeasibleError
from megapod.physics.perf.hardware import Hardware
from megapod.physics.perf.kernels import GemmRate
from megapod.physics.perf.layout import RECOMPUTE_MODES, Layout, check_layout
from megapod.physics.perf.memory import memory_per_gpu
from megapod.physics.perf.model import TransformerModel
from megapod.physics.perf.training import (
    LayerCost,
    StepBreakdown,
    _assemble,
    _links,
    head_cost,
    layer_cost,
)
from megapod.units import GIB

Choice = int | Sequence[int] | None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The fastest layouts found, best first, and how many were evaluated and valid."""

    best: tuple[StepBreakdown, ...]
    evaluated: int
    valid: int


def divisors(n: int) -> list[int]:
    """Positive divisors of ``n``, ascending."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def _options(choice: Choice, default: Iterable[int]) -> list[int]:
    if choice is None:
        return list(default)
    if isinstance(choice, int):
        return [choice]
    return list(choice)


def search_layouts(
    model: TransformerModel,
    gpus: int,
    hw: Hardware,
    global_batch: int,
    dtype: str = "bf16",
    top: int = 5,
    **options: Any,
) -> list[StepBreakdown]:
    """The ``top`` fastest valid layouts of ``model`` on ``gpus`` GPUs, best first.

    Every keyword left ``None`` is searched: ``tp`` over divisors of the GPU count up to the
    scale-up domain (and the heads), ``pp`` over divisors up to the layer count, ``cp`` over
    1, 2, 4, 8, ``ep`` over divisors of the experts, micro-batches over divisors of the
    per-rank batch up to ``max_micro_batch``, interleaving over divisors of the layers per
    stage, all three recomputation modes and ZeRO stages 0-3. Give an int or a list to fix or
    narrow a dimension (``options`` are the keywords of :func:`search`). Raises
    :class:`InfeasibleError` when no layout is valid.
    """
    return list(search(model, gpus, hw, global_batch, dtype, top, **options).best)


def search(
    model: TransformerModel,
    gpus: int,
    hw: Hardware,
    global_batch: int,
    dtype: str = "bf16",
    top: int = 5,
    *,
    tp: Choice = None,
    pp: Choice = None,
    cp: Choice = None,
    ep: Choice = None,
    micro_batch: Choice = None,
    interleave: Choice = None,
    recompute: str | Sequence[str] | None = None,
    zero_stage: Choice = None,
    max_micro_batch: int = 64,
    flop_convention: str = "model",
    flash_attention: bool = True,
    sequence_parallel: bool = True,
    comm_overlap: bool = True,
    check_memory: bool = True,
) -> SearchResult:
    """The search behind :func:`search_layouts` (which takes the same keywords), also
    counting the layouts evaluated and valid."""
    if gpus < 1 or global_batch < 1:
        raise InfeasibleError(f"gpus ({gpus}) and global batch ({global_batch}) must be ≥ 1")
    gpu_divs = divisors(gpus)
    tps = (_options(tp, ()) if tp is not None else
           [t for t in gpu_divs if t <= hw.scale_up_domain and model.heads % t == 0])
    pps = [p for p in _options(pp, (d for d in gpu_divs if d <= model.layers))]
    cps = _options(cp, (c for c in (1, 2, 4, 8) if c in gpu_divs))
    eps = _options(ep, divisors(model.experts) if model.is_moe else [1])
    modes = [recompute] if isinstance(recompute, str) else list(recompute or RECOMPUTE_MODES)
    zeros = _options(zero_stage, (0, 1, 2, 3))
    links = _links(hw)
    gemm = GemmRate.for_gpu(hw.gpu, hw.calibration, dtype)
    reserve = hw.calibration.memory_reserve_bytes
    capacity = hw.gpu.hbm_bytes
    layer_cache: dict[tuple[int, int, int, int], LayerCost] = {}
    head_cache: dict[tuple[int, int, int], tuple[float, float]] = {}
    heap: list[tuple[float, int, StepBreakdown]] = []
    evaluated = valid = 0
    reason = ""
    for t in tps:
        for c in cps:
            for p in pps:
                if gpus % (t * c * p):
                    continue
                d = gpus // (t * c * p)
                if global_batch % d:
                    continue
                per_rank = global_batch // d
                mbs = _options(micro_batch, (b for b in divisors(per_rank) if b <= max_micro_batch))
                stage = math.ceil(model.layers / p)
                vs = _options(interleave, divisors(stage) if p > 1 else [1])
                for e in eps:
                    for b in mbs:
                        for v in vs:
                            for mode in modes:
                                for z in zeros:
                                    evaluated += 1
                                    lay = Layout(tp=t, pp=p, dp=d, cp=c, ep=e, micro_batch=b,
                                                 global_batch=global_batch, interleave=v,
                                                 recompute=mode, zero_stage=z,  # type: ignore[arg-type]
                                                 dtype=dtype, flash_attention=flash_attention,
                                                 sequence_parallel=sequence_parallel,
                                                 tp_comm_overlap=comm_overlap,
                                                 p2p_overlap=comm_overlap)
                                    try:
                                        check_layout(model, lay)
                                    except InfeasibleError as exc:
                                        reason = reason or str(exc)
                                        continue
                                    memory = memory_per_gpu(model, lay, reserve)
                                    if check_memory and memory.total_bytes > capacity:
                                        reason = reason or (
                                            f"{lay.describe()} needs {memory.total_bytes / GIB:.1f}"
                                            f" GiB per GPU")
                                        continue
                                    key = (t, c, e, b)
                                    lc = layer_cache.get(key)
                                    if lc is None:
                                        lc = layer_cost(model, hw, t, c, e, b, dtype,
                                                        sequence_parallel, flash_attention,
                                                        gemm, links)
                                        layer_cache[key] = lc
                                    hc = head_cache.get((t, c, b))
                                    if hc is None:
                                        hc = head_cost(model, hw, t, c, b, dtype, gemm, links)
                                        head_cache[(t, c, b)] = hc
                                    result = _assemble(model, hw, lay, lc, hc, memory, links,
                                                       flop_convention)
                                    valid += 1
                                    item = (-result.step_time_s, valid, result)
                                    if len(heap) < top:
                                        heapq.heappush(heap, item)
                                    elif item[0] > heap[0][0]:
                                        heapq.heapreplace(heap, item)
    if not heap:
        raise InfeasibleError(
            f"no valid layout of {model.name} on {gpus} {hw.gpu.name} GPUs with global batch "
            f"{global_batch} ({evaluated} tried): none divides evenly and fits "
            f"{capacity / GIB:.0f} GiB per GPU" + (f"; for example {reason}" if reason else "")
        )
    best = tuple(r for _, _, r in sorted(heap, key=lambda x: -x[0]))
    return SearchResult(best, evaluated, valid)
