"""Layout search: enumerate the valid parallel layouts of a run and keep the fastest.

Layer and output-layer costs depend only on (tp, cp, ep, micro-batch), so they are computed
once per combination and shared by every pipeline depth, interleaving, recomputation and ZeRO
stage that uses them; the remaining work per layout is a few dozen float operations. Layouts
that do not divide evenly or do not fit memory are skipped. Shapes are visited in the order
of a lower bound of their step (the forward and backward compute of their micro-batches), and
the search stops once that bound exceeds the ``top``-th best step found (branch and bound:
the answer is the same as visiting every layout).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from megapod.errors import InfeasibleError
from megapod.physics.perf.hardware import Hardware
from megapod.physics.perf.kernels import GemmRate
from megapod.physics.perf.layout import RECOMPUTE_MODES, Layout, check_layout, layers_per_gpu
from megapod.physics.perf.memory import memory_per_gpu, offload_layer_bytes
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


def _dp_degrees(gpus: int, shape: int, batch: int, batch_divs: list[int], up_to: bool) -> list[int]:
    """Data-parallel degrees of one tensor × context × pipeline ``shape``.

    Exactly ``gpus / shape`` when it divides the batch; with ``up_to`` the two largest
    divisors of the batch with ``shape · d ≤ gpus``.
    """
    if not up_to:
        if gpus % shape:
            return []
        d = gpus // shape
        return [d] if batch % d == 0 else []
    fit = [d for d in batch_divs if shape * d <= gpus]
    return fit[-2:][::-1]


def _offload_to_fit(model: TransformerModel, hw: Hardware, lay: Layout, excess_bytes: float) -> Layout | None:
    """``lay`` with the fewest layers' activations in host memory that bring it under the
    GPU's memory, or None (no host link, not enough layers or host memory)."""
    if hw.gpu.host_link_bw_bytes_per_s <= 0 or lay.offload_layers:
        return None
    in_flight = float(min(lay.pp, lay.micro_batches))
    if lay.interleave > 1:
        in_flight *= 1.0 + (lay.pp - 1) / (lay.pp * lay.interleave)
    per_layer = offload_layer_bytes(model, lay) * in_flight
    if per_layer <= 0:
        return None
    layers = math.ceil(excess_bytes / per_layer)
    if layers > layers_per_gpu(model, lay) or layers * per_layer > hw.gpu.host_memory_bytes:
        return None
    return replace(lay, offload_layers=layers)


def _options(choice: Choice, default: Iterable[int]) -> list[int]:
    if choice is None:
        return list(default)
    if isinstance(choice, int):
        return [choice]
    return list(choice)


def search_layouts(
    model: TransformerModel,
    hw: Hardware,
    gpus: int,
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
    return list(search(model, hw, gpus, global_batch, dtype, top, **options).best)


def search(
    model: TransformerModel,
    hw: Hardware,
    gpus: int,
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
    dp_overlap: bool = True,
    up_to: bool = False,
    grad_reduce_bytes: float | None = None,
) -> SearchResult:
    """The search behind :func:`search_layouts` (which takes the same keywords), also
    counting the layouts evaluated and valid.

    ``up_to=True`` lets a layout use fewer than ``gpus`` GPUs (a job on part of a machine):
    for each tensor × context × pipeline shape the two largest data-parallel degrees that
    divide the batch and fit within ``gpus`` are tried, so a larger ``gpus`` never has fewer
    layouts to choose from. Pipeline depths are then the divisors of the layer count (and of
    the layers plus embedding and loss) and the powers of two.
    """
    if gpus < 1 or global_batch < 1:
        raise InfeasibleError(f"gpus ({gpus}) and global batch ({global_batch}) must be ≥ 1")
    gpu_divs = divisors(gpus)
    if up_to:
        shape_divs = sorted(
            set(divisors(model.layers)) | set(divisors(model.layers + 2)) | {2**k for k in range(16)}
        )
        tps = (
            _options(tp, ())
            if tp is not None
            else [
                t
                for t in (1, 2, 4, 8, 16, 32, 64)
                if t <= min(hw.scale_up_domain, gpus) and model.heads % t == 0
            ]
        )
        pps = _options(pp, (d for d in shape_divs if d <= min(model.layers, gpus)))
        cps = _options(cp, (c for c in (1, 2, 4, 8) if c <= gpus))
    else:
        tps = (
            _options(tp, ())
            if tp is not None
            else [t for t in gpu_divs if t <= hw.scale_up_domain and model.heads % t == 0]
        )
        pps = [p for p in _options(pp, (d for d in gpu_divs if d <= model.layers))]
        cps = _options(cp, (c for c in (1, 2, 4, 8) if c in gpu_divs))
    batch_divs = divisors(global_batch)
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

    def costs(t: int, c: int, e: int, b: int) -> tuple[LayerCost, tuple[float, float]]:
        lc = layer_cache.get((t, c, e, b))
        if lc is None:
            lc = layer_cost(model, hw, t, c, e, b, dtype, sequence_parallel, flash_attention, gemm, links)
            layer_cache[(t, c, e, b)] = lc
        hc = head_cache.get((t, c, b))
        if hc is None:
            hc = head_cost(model, hw, t, c, b, dtype, gemm, links)
            head_cache[(t, c, b)] = hc
        return lc, hc

    def layout(t: int, c: int, p: int, d: int, e: int, b: int, v: int, mode: str, z: int) -> Layout:
        return Layout(
            tp=t,
            pp=p,
            dp=d,
            cp=c,
            ep=e,
            micro_batch=b,
            global_batch=global_batch,
            interleave=v,
            recompute=mode,  # type: ignore[arg-type]
            zero_stage=z,
            dtype=dtype,
            flash_attention=flash_attention,
            sequence_parallel=sequence_parallel,
            tp_comm_overlap=comm_overlap,
            p2p_overlap=comm_overlap,
            dp_overlap=dp_overlap,
            grad_reduce_bytes=grad_reduce_bytes,
        )

    # branch and bound: every layout of a (tp, cp, pp, dp, ep, micro-batch) shape needs at
    # least its micro-batches' forward and backward compute without recomputation, so shapes
    # are visited by that bound and the rest skipped once it exceeds the top-th best step
    shapes: list[tuple[float, int, int, int, int, int, int, list[int]]] = []
    for t in tps:
        for c in cps:
            for p in pps:
                for d in _dp_degrees(gpus, t * c * p, global_batch, batch_divs, up_to):
                    per_rank = global_batch // d
                    mbs = _options(micro_batch, (b for b in divisors(per_rank) if b <= max_micro_batch))
                    stage = math.ceil(model.layers / p)
                    vs = _options(interleave, divisors(stage) if p > 1 else [1])
                    for e in eps:
                        for b in mbs:
                            try:
                                check_layout(model, layout(t, c, p, d, e, b, 1, "none", 0))
                            except InfeasibleError as exc:
                                evaluated += len(vs) * len(modes) * len(zeros)
                                reason = reason or str(exc)
                                continue
                            lc, hc = costs(t, c, e, b)
                            per_layer = (
                                lc.gemm_fwd
                                + lc.attn_fwd
                                + lc.mem_fwd
                                + lc.gemm_bwd
                                + lc.attn_bwd
                                + lc.mem_bwd
                            )
                            mb_s = model.layers / p * per_layer + hc[0]
                            # micro-batches, plus the smallest bubble any interleaving leaves
                            bound = (per_rank // b + (p - 1) / max(vs)) * mb_s
                            shapes.append((bound, t, c, p, d, e, b, vs))
    shapes.sort(key=lambda x: x[0])
    for bound, t, c, p, d, e, b, vs in shapes:
        if len(heap) >= top and bound >= -heap[0][0]:
            break
        lc, hc = costs(t, c, e, b)
        for v in vs:
            for mode in modes:
                for z in zeros:
                    evaluated += 1
                    lay = layout(t, c, p, d, e, b, v, mode, z)
                    try:
                        check_layout(model, lay)
                    except InfeasibleError as exc:
                        reason = reason or str(exc)
                        continue
                    memory = memory_per_gpu(model, lay, reserve)
                    if check_memory and memory.total_bytes > capacity:
                        offload = _offload_to_fit(model, hw, lay, memory.total_bytes - capacity)
                        if offload is None:
                            reason = reason or (
                                f"{lay.describe()} needs {memory.total_bytes / GIB:.1f} GiB per GPU"
                            )
                            continue
                        lay = offload
                        memory = memory_per_gpu(model, lay, reserve)
                    result = _assemble(model, hw, lay, lc, hc, memory, links, flop_convention)
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
