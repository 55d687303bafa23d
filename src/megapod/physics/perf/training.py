"""Time of one training step of a transformer under a parallel layout, with its breakdown.

For one micro-batch on one GPU, a layer costs its GEMMs (forward; backward as data-gradient
plus weight-gradient GEMMs of the same size), attention, memory-bound kernels, and the
collectives of tensor, expert and context parallelism. The slowest pipeline stage holds
``v·ceil(L/(pp·v))`` layers plus the output layer and loss. With ``m`` micro-batches, ``p`` stages
and ``v`` virtual stages per GPU the step is

    t_step = m·t_mb + (p-1)/v · t_mb + t_dp,exposed + t_optimizer

so the pipeline bubble is a fraction (p-1)/(m·v + p - 1) of the pipelined part (Narayanan
et al. 2021, Section 2.2). Data-parallel gradient reduction of each model chunk starts when
its last backward ends (so an interleaved pipeline hides most of it in the cool-down, all but
the last bucket of the last chunk); the parameter all-gather of a sharded optimizer overlaps
the next step's forwards the same way; ZeRO-2 reduce-scatters every micro-batch (see
:func:`_data_parallel`). Recomputation adds a forward pass of the layers (full) or of the
attention core (selective) inside the backward.

References:
    Narayanan et al., SC'21 (PTD-P schedule, bubble, p2p with scatter/gather).
    Korthikanti et al., MLSys 2023 (sequence parallelism: all-gather + reduce-scatter
    replacing each all-reduce; selective recomputation).
    Rajbhandari et al., SC'20 (ZeRO communication volumes: stage 1-2 = all-reduce volume,
    stage 3 = 1.5x; stage 2 accumulates micro-batches in a full 16-bit buffer, since a rank
    keeps only its 32-bit gradient shard).
    Liu, Zaharia, Abbeel, "Ring Attention with Blockwise Transformers", 2023 (context
    parallelism: K/V passed around a ring, overlapped with attention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from megapod.catalog.gpu_power_model import power_model_for
from megapod.errors import InfeasibleError
from megapod.physics.perf.collectives import (
    Level,
    all_to_all_s,
    group_levels,
    hierarchical_all_gather_s,
    hierarchical_all_reduce_s,
    hierarchical_reduce_scatter_s,
    in_network_all_reduce_s,
    p2p_s,
)
from megapod.physics.perf.flops import flops_per_token
from megapod.physics.perf.hardware import Hardware
from megapod.physics.perf.kernels import (
    GemmRate,
    flash_attention_time_s,
    gemm_time_s,
    memory_bound_time_s,
)
from megapod.physics.perf.layout import Layout, check_layout, layers_per_gpu
from megapod.physics.perf.memory import (
    MemoryBreakdown,
    memory_per_gpu,
    offload_layer_bytes,
    params_per_gpu,
)
from megapod.physics.perf.model import TransformerModel
from megapod.physics.perf.power import phase_powers_w
from megapod.physics.perf.scale_costs import (
    dp_buckets,
    fsdp_exposed_s,
    nccl_ring_latency_s,
    overlap_contention_s,
    pipeline_fill_p2p_s,
    ring_attention_exposed_s,
    ring_attention_merge_bytes,
)
from megapod.units import GIB, TERA

#: Bytes of the 16-bit activations exchanged by TP, PP, CP and EP collectives.
ACT_BYTES = 2.0
#: HBM bytes per weight of one mixed-precision Adam update: read 32-bit master weight,
#: momentum, variance and gradient (16), write the first three (12) and the 16-bit copy (2).
ADAM_BYTES_PER_PARAM = 30.0
#: HBM bytes per weight of zeroing the 32-bit main-gradient buffer every step (a memset over
#: the whole local buffer; only ZeRO-2/3 shard it), Megatron-Core ``zero_grad_buffer``.
GRAD_ZERO_BYTES_PER_PARAM = 4.0
PHASES = ("forward", "backward", "exposed_comm", "pipeline_bubble", "optimizer")


class Phase(NamedTuple):
    """One phase of a step: its name, duration [s] and GPU utilization [0..1].

    ``gpu_utilization`` is power-equivalent: the utilization at which the linear idle-to-TDP
    model (:func:`megapod.physics.gpu_power.board_power_w`) draws the board power this phase
    has from what its kernels achieve (:class:`PhaseActivity`), so waveform and power-cap code
    that speaks the linear model gets the achieved-utilization power.
    """

    name: str
    duration_s: float
    gpu_utilization: float


class PhaseActivity(NamedTuple):
    """What a phase's kernels achieve: tensor and HBM utilization [0..1], board power [W]."""

    name: str
    tensor_utilization: float
    memory_utilization: float
    power_w: float


@dataclass(frozen=True, slots=True)
class StepBreakdown:
    """Predicted time of one training step and what it is made of.

    ``compute_s + exposed_comm_s + bubble_s + optimizer_s == step_time_s``. FLOP rates follow
    ``flop_convention`` for ``tflops_per_gpu``; ``mfu`` always uses model FLOP over the dense
    peak of the layout's data type.
    """

    layout: Layout
    step_time_s: float
    compute_s: float
    exposed_comm_s: float
    bubble_s: float
    optimizer_s: float
    tflops_per_gpu: float
    model_tflops_per_gpu: float
    hardware_tflops_per_gpu: float
    mfu: float
    tokens_per_s_per_gpu: float
    memory: MemoryBreakdown
    phases: tuple[Phase, ...]
    comm_detail_s: dict[str, float] = field(default_factory=dict)
    flop_convention: str = "model"
    activity: tuple[PhaseActivity, ...] = ()

    @property
    def memory_per_gpu_bytes(self) -> float:
        """Peak memory of one GPU [byte]."""
        return self.memory.total_bytes

    @property
    def memory_per_gpu_gib(self) -> float:
        """Peak memory of one GPU [GiB]."""
        return self.memory.total_bytes / GIB

    @property
    def bubble_fraction(self) -> float:
        """Share of the step spent in the pipeline bubble [0..1]."""
        return self.bubble_s / self.step_time_s if self.step_time_s > 0 else 0.0


class _Links(NamedTuple):
    up: tuple[float, float]
    out: tuple[float, float]
    domain: int
    oversubscription: float
    leaf_domains: int
    in_network: bool = False
    pod_domains: int = 1_000_000
    inter_pod_factor: float = 1.0


def _links(hw: Hardware) -> _Links:
    cal = hw.calibration
    up = (hw.scale_up_bw_bytes_per_s * cal.scale_up_efficiency, hw.scale_up_latency_s)
    out_bw = hw.scale_out_bw_bytes_per_s * cal.scale_out_efficiency
    return _Links(
        up,
        (out_bw, hw.scale_out_latency_s),
        hw.scale_up_domain,
        hw.scale_out_oversubscription,
        hw.leaf_domains,
        hw.in_network_reduction,
        hw.pod_domains,
        hw.inter_pod_factor,
    )


def _levels(links: _Links, size: int, stride: int) -> tuple[Level, ...]:
    """Levels of a group; its scale-out level is oversubscribed when it spans leaves."""
    levels = group_levels(size, stride, links.domain, links.up, links.out)
    if not levels:
        return levels
    outer = levels[-1]
    if outer.bw_bytes_per_s != links.out[0]:
        return levels
    factor = 1.0
    if links.oversubscription > 1.0 and outer.ranks > links.leaf_domains:
        factor /= links.oversubscription
    if outer.ranks > links.pod_domains:  # the group crosses pods: the inter-pod uplinks
        factor *= links.inter_pod_factor
    if factor < 1.0:
        return (*levels[:-1], Level(outer.ranks, outer.bw_bytes_per_s * factor, outer.latency_s))
    return levels


def _a2a_s(size_bytes: float, levels: tuple[Level, ...]) -> float:
    """All-to-all over one or two levels: the inner and outer shares move concurrently."""
    if not levels:
        return 0.0
    if len(levels) == 1:
        lv = levels[0]
        return all_to_all_s(size_bytes, lv.ranks, lv.bw_bytes_per_s, lv.latency_s)
    inner, outer = levels[0], levels[-1]
    n = inner.ranks * outer.ranks
    inside = size_bytes * (inner.ranks - 1) / n / inner.bw_bytes_per_s
    outside = size_bytes * (n - inner.ranks) / n / outer.bw_bytes_per_s
    return (n - 1) * outer.latency_s + max(inside, outside)


class LayerCost(NamedTuple):
    """Costs of one layer for one micro-batch on one GPU [s]."""

    gemm_fwd: float
    gemm_bwd: float
    attn_fwd: float
    attn_bwd: float
    mem_fwd: float
    mem_bwd: float
    tp_fwd: float
    ep_fwd: float
    cp_fwd: float
    cp_bwd: float


def layer_gemm_shapes(
    model: TransformerModel, tp: int, ep: int, tokens: float
) -> list[tuple[float, float, float]]:
    """Forward GEMMs ``(M, N, K)`` of one layer on one GPU for ``tokens`` tokens.

    QKV and the MLP's first matrix (gate and up fused when gated) are split by output
    columns over ``tp``; the attention output and the MLP's last matrix by input rows. With
    experts, each GPU runs its ``experts / ep`` local experts on the tokens routed to them
    (``tokens · ep · top_k / experts`` each, balanced routing) plus the router.
    """
    h, kv, f = model.hidden, model.kv_hidden, model.ffn_hidden
    g = model.mlp_matrices - 1
    shapes = [(tokens, (h + 2 * kv) / tp, float(h)), (tokens, float(h), h / tp)]
    if model.is_moe:
        per_expert = tokens * ep * model.top_k / model.experts
        shapes += [(per_expert, g * f / tp, float(h)), (per_expert, float(h), f / tp)] * (model.experts // ep)
        shapes.append((tokens, float(model.experts), float(h)))  # router
    else:
        shapes += [(tokens, g * f / tp, float(h)), (tokens, float(h), f / tp)]
    return shapes


def layer_cost(
    model: TransformerModel,
    hw: Hardware,
    tp: int,
    cp: int,
    ep: int,
    micro_batch: int,
    dtype: str,
    sequence_parallel: bool = True,
    flash_attention: bool = True,
    gemm: GemmRate | None = None,
    links: _Links | None = None,
) -> LayerCost:
    """Costs of one transformer layer for one micro-batch on one GPU (see module docstring)."""
    cal = hw.calibration
    gemm = gemm or GemmRate.for_gpu(hw.gpu, cal, dtype)
    links = links or _links(hw)
    h, kv, f, s = model.hidden, model.kv_hidden, model.ffn_hidden, model.seq_len
    tokens = micro_batch * s / cp
    hbm = hw.gpu.hbm_bw_bytes_per_s * cal.hbm_efficiency
    peak16 = hw.gpu.peak("bf16")
    g = model.mlp_matrices - 1  # 2 for gated (gate + up fused), 1 otherwise
    gemm_fwd = 0.0
    gemm_bwd = 0.0
    for m_, n_, k_ in layer_gemm_shapes(model, tp, ep, tokens):
        gemm_fwd += gemm_time_s(m_, n_, k_, gemm)
        gemm_bwd += gemm_time_s(m_, k_, n_, gemm) + gemm_time_s(k_, n_, m_, gemm)
    heads = model.heads / tp
    d = model.head_dim
    rows = tokens / tp if sequence_parallel else tokens
    moe = model.top_k if model.is_moe else 1
    bytes_fwd = rows * 22.0 * h + tokens * moe * (2 * g + 2) * f / tp * ACT_BYTES
    kernels_fwd = 10
    if model.is_moe:  # permute tokens to their experts and back: read + write each copy
        bytes_fwd += 2.0 * 2.0 * rows * model.top_k * h * ACT_BYTES
        kernels_fwd += 4
    if dtype == "fp8":  # cast each GEMM input to fp8: read 2 bytes, write 1
        bytes_fwd += tokens * 3.0 * (2 * h + h / tp + moe * f / tp)
        kernels_fwd += 4
    if flash_attention:
        attn_flops = 4.0 * tokens * s * heads * d * 0.5  # causal blocks skipped
        attn_fwd = flash_attention_time_s(attn_flops, peak16, cal.attention_efficiency)
        attn_bwd = flash_attention_time_s(attn_flops, peak16, cal.attention_efficiency, True)
    else:
        bmm = GemmRate.for_gpu(hw.gpu, cal, "bf16")  # score products stay in 16-bit
        batch = int(micro_batch * heads)
        sq = s / cp
        attn_fwd = gemm_time_s(sq, s, d, bmm, batch) + gemm_time_s(sq, d, s, bmm, batch)
        attn_bwd = (
            gemm_time_s(sq, d, s, bmm, batch)
            + gemm_time_s(d, s, sq, bmm, batch)
            + gemm_time_s(sq, s, d, bmm, batch)
            + gemm_time_s(s, d, sq, bmm, batch)
        )
        # fused scale-mask-softmax (read 2 + write 2 bytes) and dropout (2 + 2 + 1-byte mask)
        # on the score matrix: part of the attention core, recomputed by selective recompute
        scores_bytes = 9.0 * micro_batch * heads * sq * s
        attn_fwd += memory_bound_time_s(scores_bytes, hbm, 2, cal.kernel_overhead_s)
        attn_bwd += memory_bound_time_s(2.0 * scores_bytes, hbm, 4, cal.kernel_overhead_s)
    mem_fwd = memory_bound_time_s(bytes_fwd, hbm, kernels_fwd, cal.kernel_overhead_s)
    mem_bwd = memory_bound_time_s(2.0 * bytes_fwd, hbm, 2 * kernels_fwd, cal.kernel_overhead_s)
    act = tokens * h * ACT_BYTES
    tp_levels = _levels(links, tp, 1)
    if sequence_parallel:
        tp_fwd = 2.0 * (
            hierarchical_all_gather_s(act, tp_levels) + hierarchical_reduce_scatter_s(act, tp_levels)
        )
    else:
        tp_fwd = 2.0 * hierarchical_all_reduce_s(act, tp_levels)
    ep_fwd = 0.0
    if model.is_moe and ep > 1:
        ep_fwd = 2.0 * _a2a_s(rows * model.top_k * h * ACT_BYTES, _levels(links, ep, tp * cp))
    cp_fwd = cp_bwd = 0.0
    if cp > 1:
        cp_levels = _levels(links, cp, tp)
        bw, lat = (cp_levels[-1].bw_bytes_per_s, cp_levels[-1].latency_s)
        kv_bytes = 2.0 * tokens * kv / tp * ACT_BYTES
        step = p2p_s(kv_bytes, bw, lat)  # backward also returns dK, dV: twice the bytes
        merge = memory_bound_time_s(
            ring_attention_merge_bytes(tokens, h / tp, heads), hbm, 1, cal.kernel_overhead_s
        )
        cp_fwd = ring_attention_exposed_s(attn_fwd, step, cp, merge)
        cp_bwd = ring_attention_exposed_s(attn_bwd, 2.0 * step, cp, 2.0 * merge)
        hidden_fwd = (cp - 1) * min(step, attn_fwd / cp)
        hidden_bwd = (cp - 1) * min(2.0 * step, attn_bwd / cp)
        cp_fwd += overlap_contention_s(hidden_fwd, cal.sms)
        cp_bwd += overlap_contention_s(hidden_bwd, cal.sms)
    return LayerCost(gemm_fwd, gemm_bwd, attn_fwd, attn_bwd, mem_fwd, mem_bwd, tp_fwd, ep_fwd, cp_fwd, cp_bwd)


def head_cost(
    model: TransformerModel,
    hw: Hardware,
    tp: int,
    cp: int,
    micro_batch: int,
    dtype: str,
    gemm: GemmRate | None = None,
    links: _Links | None = None,
) -> tuple[float, float]:
    """(compute, communication) of the output layer and loss for one micro-batch [s].

    Logit GEMM forward and backward (kept in 16-bit), the fp32 cross-entropy over the
    vocabulary shard (about 16 bytes per logit through HBM), the final norm, and the
    sequence-parallel all-gather / reduce-scatter around it.
    """
    cal = hw.calibration
    gemm16 = gemm if gemm is not None and dtype != "fp8" else GemmRate.for_gpu(hw.gpu, cal, "bf16")
    links = links or _links(hw)
    h, v = model.hidden, model.vocab
    tokens = micro_batch * model.seq_len / cp
    hbm = hw.gpu.hbm_bw_bytes_per_s * cal.hbm_efficiency
    compute = (
        gemm_time_s(tokens, v / tp, h, gemm16)
        + gemm_time_s(tokens, h, v / tp, gemm16)
        + gemm_time_s(h, v / tp, tokens, gemm16)
    )
    compute += memory_bound_time_s(16.0 * tokens * v / tp + 12.0 * tokens * h, hbm, 6, cal.kernel_overhead_s)
    levels = _levels(links, tp, 1)
    act = tokens * h * ACT_BYTES
    comm = hierarchical_all_gather_s(act, levels) + hierarchical_reduce_scatter_s(act, levels)
    return compute, comm


def train_step(
    model: TransformerModel,
    hw: Hardware,
    layout: Layout,
    flop_convention: str = "model",
    check_memory: bool = True,
) -> StepBreakdown:
    """Predict one training step of ``model`` on ``hw`` under ``layout``.

    Raises :class:`InfeasibleError` naming the reason when the layout does not divide the
    model or the batch, or does not fit the GPU's memory (``check_memory``).
    """
    check_layout(model, layout)
    memory = memory_per_gpu(model, layout, hw.calibration.memory_reserve_bytes)
    if layout.offload_layers and (
        hw.gpu.host_link_bw_bytes_per_s <= 0 or memory.offloaded_bytes > hw.gpu.host_memory_bytes
    ):
        raise InfeasibleError(
            f"offloading {layout.offload_layers} layers' activations needs a host link and "
            f"{memory.offloaded_bytes / GIB:.1f} GiB of host memory; {hw.gpu.name} has "
            f"{hw.gpu.host_memory_bytes / GIB:.1f} GiB"
        )
    if check_memory and memory.total_bytes > hw.gpu.hbm_bytes:
        raise InfeasibleError(
            f"{model.name} with {layout.describe()} needs {memory.total_bytes / GIB:.1f} GiB per "
            f"GPU (weights {memory.weights_bytes / GIB:.1f}, gradients "
            f"{memory.grads_bytes / GIB:.1f}, optimizer {memory.optimizer_bytes / GIB:.1f}, "
            f"activations {memory.activations_bytes / GIB:.1f}) but {hw.gpu.name} has "
            f"{hw.gpu.hbm_bytes / GIB:.1f} GiB"
        )
    links = _links(hw)
    gemm = GemmRate.for_gpu(hw.gpu, hw.calibration, layout.dtype)
    lc = layer_cost(
        model,
        hw,
        layout.tp,
        layout.cp,
        layout.ep,
        layout.micro_batch,
        layout.dtype,
        layout.sequence_parallel,
        layout.flash_attention,
        gemm,
        links,
    )
    head = head_cost(model, hw, layout.tp, layout.cp, layout.micro_batch, layout.dtype, gemm, links)
    return _assemble(model, hw, layout, lc, head, memory, links, flop_convention)


def _assemble(
    model: TransformerModel,
    hw: Hardware,
    layout: Layout,
    lc: LayerCost,
    head: tuple[float, float],
    memory: MemoryBreakdown,
    links: _Links,
    flop_convention: str,
) -> StepBreakdown:
    lay = layout
    lps = layers_per_gpu(model, lay)
    fwd = lc.gemm_fwd + lc.attn_fwd + lc.mem_fwd
    bwd = lc.gemm_bwd + lc.attn_bwd + lc.mem_bwd
    tp_fwd = lc.tp_fwd
    tp_bwd = lc.tp_fwd
    if lay.tp_comm_overlap and lay.tp > 1:
        # a collective split into tp chunks overlaps the GEMMs it feeds; the first chunk and
        # whatever the GEMMs cannot cover stay exposed
        tp_fwd = max(lc.tp_fwd / lay.tp, lc.tp_fwd - lc.gemm_fwd)
        tp_bwd = max(lc.tp_fwd / lay.tp, lc.tp_fwd - lc.gemm_bwd)
    sms = hw.calibration.sms
    # hidden TP traffic still takes SMs from the GEMMs it overlaps
    tp_fwd += overlap_contention_s(lc.tp_fwd - tp_fwd, sms)
    tp_bwd += overlap_contention_s(lc.tp_fwd - tp_bwd, sms)
    comm_fwd = tp_fwd + lc.ep_fwd + lc.cp_fwd
    comm_bwd = tp_bwd + lc.ep_fwd + lc.cp_bwd
    if lay.recompute == "full":
        bwd += fwd
        comm_bwd += comm_fwd
    elif lay.recompute == "selective":
        bwd += lc.attn_fwd
    fwd_mb = lps * fwd + head[0] / 3.0
    bwd_mb = lps * bwd + head[0] * 2.0 / 3.0
    comm_mb = lps * (comm_fwd + comm_bwd) + head[1]
    if lay.offload_layers:  # each offloaded layer's copy out (in) runs beside one layer's
        # forward (backward) on the copy engines; what it does not cover waits
        k = min(lay.offload_layers, lps)
        copy = offload_layer_bytes(model, lay) / max(hw.gpu.host_link_bw_bytes_per_s, 1e-30)
        comm_mb += k * (max(0.0, copy - fwd) + max(0.0, copy - bwd))
    pp_mb = 0.0
    fill_s = 0.0
    if lay.pp > 1:
        pp_levels = _levels(links, lay.pp, lay.tp * lay.cp * lay.dp)
        bw, lat = pp_levels[-1].bw_bytes_per_s, pp_levels[-1].latency_s
        send = lay.micro_batch * model.seq_len / lay.cp * model.hidden * ACT_BYTES / lay.tp
        one = p2p_s(send, bw, lat)
        pp_mb = 2.0 * lay.interleave * one
        if lay.p2p_overlap:  # each send hides under the compute of one virtual stage
            per_chunk = (lps * (fwd + bwd)) / lay.interleave
            pp_mb = 2.0 * lay.interleave * max(lat, one - per_chunk / 2.0)
            pp_mb += overlap_contention_s(2.0 * lay.interleave * one - pp_mb, sms)
        fill_s = pipeline_fill_p2p_s(lay.pp, one)  # fill and drain wait for each transfer
    m = lay.micro_batches
    t_mb = fwd_mb + bwd_mb + comm_mb + pp_mb
    compute_s = m * (fwd_mb + bwd_mb)
    bubble_s = (lay.pp - 1) / lay.interleave * t_mb + fill_s
    dp_s, dp_exposed = _data_parallel(model, lay, links, lps * bwd, lps * fwd, t_mb, lps, sms)
    dense, experts = params_per_gpu(model, lay)
    updated = dense + experts
    if lay.zero_stage >= 1:
        updated = dense / (lay.dp * lay.cp) + experts / max(1, lay.dp * lay.cp // lay.ep)
    grad_buffer = dense + experts  # the 32-bit gradient buffer is zeroed before each step
    if lay.zero_stage >= 2:
        grad_buffer = updated
    hbm = hw.gpu.hbm_bw_bytes_per_s * hw.calibration.hbm_efficiency
    optimizer_s = memory_bound_time_s(
        ADAM_BYTES_PER_PARAM * updated + GRAD_ZERO_BYTES_PER_PARAM * grad_buffer,
        hbm,
        5,
        hw.calibration.kernel_overhead_s,
    )
    exposed = m * (comm_mb + pp_mb) + dp_exposed
    step = compute_s + exposed + bubble_s + optimizer_s
    tokens = lay.global_batch * model.seq_len
    gpus = lay.gpus
    model_tf = flops_per_token(model, lay.recompute, "model") * tokens / step / gpus
    hard_tf = flops_per_token(model, lay.recompute, "hardware") * tokens / step / gpus
    reported = flops_per_token(model, lay.recompute, flop_convention) * tokens / step / gpus
    # achieved utilization of each phase: compute at the hardware FLOP it executes over the
    # dense peak, with the memory-bound kernels' share of its time streaming HBM
    hbm_eff = hw.calibration.hbm_efficiency
    tensor_u = hard_tf * step / max(compute_s, 1e-30) / hw.gpu.peak(lay.dtype)
    mem_kernels = lc.mem_fwd + lc.mem_bwd + (lc.mem_fwd if lay.recompute == "full" else 0.0)
    memory_u = hbm_eff * min(1.0, m * lps * mem_kernels / max(compute_s, 1e-30))
    pm = power_model_for(hw.gpu.generation)
    tensor = (tensor_u, tensor_u, 0.0, 0.0, 0.0)
    hbm_u = (memory_u, memory_u, pm.comm_memory_util, 0.0, hbm_eff)
    power = phase_powers_w(hw.gpu, pm, tensor, hbm_u)
    durations = (m * fwd_mb, m * bwd_mb, exposed, bubble_s, optimizer_s)
    span = max(hw.gpu.tdp_w - hw.gpu.idle_w, 1e-9)
    phases = tuple(
        Phase(n, d, min(1.0, max(0.0, (w - hw.gpu.idle_w) / span)))
        for n, d, w in zip(PHASES, durations, power, strict=True)
    )
    activity = tuple(
        PhaseActivity(n, t, u, w) for n, t, u, w in zip(PHASES, tensor, hbm_u, power, strict=True)
    )
    passes = 3 if lay.recompute == "full" else 2  # TP collectives: forward, backward, redo
    tp_exposed = tp_fwd + tp_bwd + (tp_fwd if lay.recompute == "full" else 0.0)
    detail = {
        "tp_s": m * lps * passes * lc.tp_fwd,
        "tp_exposed_s": m * lps * tp_exposed,
        "ep_s": m * lps * passes * lc.ep_fwd,
        "cp_exposed_s": m * lps * (lc.cp_fwd + lc.cp_bwd),
        "pp_p2p_s": m * pp_mb,
        "pp_fill_s": fill_s,
        "dp_s": dp_s,
        "dp_exposed_s": dp_exposed,
    }
    return StepBreakdown(
        layout=lay,
        step_time_s=step,
        compute_s=compute_s,
        exposed_comm_s=exposed,
        bubble_s=bubble_s,
        optimizer_s=optimizer_s,
        tflops_per_gpu=reported / TERA,
        model_tflops_per_gpu=model_tf / TERA,
        hardware_tflops_per_gpu=hard_tf / TERA,
        mfu=model_tf / hw.gpu.peak(lay.dtype),
        tokens_per_s_per_gpu=tokens / step / gpus,
        memory=memory,
        phases=phases,
        comm_detail_s=detail,
        flop_convention=flop_convention,
        activity=activity,
    )


def chunked_overlap_exposed_s(
    comm_s: float, chunks: int, own_window_s: float, chunk_gap_s: float, buckets: int
) -> float:
    """Exposed time of a synchronisation split over ``chunks`` model chunks [s].

    The chunks become ready one after the other, ``chunk_gap_s`` apart (for gradients on the
    first pipeline stage: chunk ``j`` finishes its last backward ``j·p`` chunk-backwards
    before the end; for parameters: chunk ``j`` runs its first forward ``j·p`` chunk-forwards
    after the start), and are synchronised in that order, each taking ``comm_s / chunks``.
    The last chunk also overlaps its own compute (``own_window_s``), bucket by bucket, so one
    of its ``buckets`` buckets is always exposed. With one chunk this is
    ``max(0, t - window) + t / buckets``.
    """
    if comm_s <= 0.0:
        return 0.0
    v = max(1, chunks)
    c = comm_s / v
    queue = max((i + 1) * c - i * chunk_gap_s for i in range(v))
    return max(0.0, queue - own_window_s) + c / max(1, buckets)


def _data_parallel(
    model: TransformerModel,
    lay: Layout,
    links: _Links,
    bwd_mb_s: float,
    fwd_mb_s: float,
    slot_s: float,
    buckets: int,
    sms: int = 0,
) -> tuple[float, float]:
    """(total, exposed) time of gradient and parameter synchronisation per step [s].

    Gradients travel at the layout's gradient precision (:attr:`Layout.grad_bytes`),
    parameters in 16-bit, in Megatron-Core's buckets, each paying the collective's latency
    (:func:`~megapod.physics.perf.scale_costs.dp_buckets`). ``bwd_mb_s`` and ``fwd_mb_s`` are
    one micro-batch's backward and forward on the GPU, ``slot_s`` one micro-batch's whole
    time in the schedule.

    * ZeRO-0 all-reduces and ZeRO-1 reduce-scatters the accumulated gradients once per step;
      ZeRO-1 (and 2) all-gather the updated 16-bit weights. With ``dp_overlap`` the
      gradients of each of the ``v`` model chunks reduce as soon as that chunk's last
      backward ends (during the interleaved cool-down; :func:`chunked_overlap_exposed_s`),
      and the gather of chunk ``j`` runs under the next step's forwards of the earlier
      chunks; without it the whole synchronisation is exposed.
    * ZeRO-2 keeps only its gradient shard, so every micro-batch's gradients are
      reduce-scattered after its backward: ``m`` reductions, each hidden behind the next
      micro-batch's slot except for the last (Rajbhandari et al. 2020; DeepSpeed ZeRO-2).
    * ZeRO-3 also gathers the weights for every forward and backward.

    Without a pipeline and with overlap, ZeRO-2 and ZeRO-3 are timed unit by unit instead
    (:func:`_sharded_units`).

    Hidden traffic still slows the compute it overlaps by the SMs its kernels hold (``sms``
    units on the GPU; 0 = ignore). In-network reduction on the fabric (SHARP) replaces the
    scale-out all-reduce by one send and one receive of the buffer (:mod:`.collectives`).
    """
    ranks = lay.dp * lay.cp
    if ranks <= 1:
        return 0.0, 0.0
    dense, experts = params_per_gpu(model, lay)
    grad_bytes = lay.grad_bytes
    dense_levels = _levels(links, ranks, lay.tp)
    expert_ranks = max(1, ranks // lay.ep)
    expert_levels = _levels(links, expert_ranks, lay.tp * lay.ep)

    dense_buckets = dp_buckets(dense, ranks)
    expert_buckets = dp_buckets(experts, expert_ranks)
    sharp = links.in_network

    def sync(kind: str, per_param_bytes: float) -> float:
        def fn(size: float, levels: tuple[Level, ...]) -> float:
            if kind == "ar":
                return (
                    in_network_all_reduce_s(size, levels)
                    if sharp
                    else hierarchical_all_reduce_s(size, levels)
                )
            if kind == "rs":
                return hierarchical_reduce_scatter_s(size, levels)
            return hierarchical_all_gather_s(size, levels)

        # one call moves all the bytes; every further bucket adds the latency-only term
        return (
            fn(dense * per_param_bytes, dense_levels)
            + max(0, dense_buckets - 1) * fn(0.0, dense_levels)
            + fn(experts * per_param_bytes, expert_levels)
            + max(0, expert_buckets - 1) * fn(0.0, expert_levels)
        )

    v = lay.interleave
    p = lay.pp

    def hide(t: float, exposed_s: float) -> float:
        return exposed_s + overlap_contention_s(max(0.0, t - exposed_s), sms)

    def grads_exposed(t: float) -> float:
        if not lay.dp_overlap:
            return t
        own = bwd_mb_s / v
        return hide(t, chunked_overlap_exposed_s(t, v, own, p * own, max(1, buckets // v)))

    def params_exposed(t: float) -> float:
        if not lay.dp_overlap:
            return t
        own = fwd_mb_s / v
        return hide(t, chunked_overlap_exposed_s(t, v, own, p * own, max(1, buckets // v)))

    m = lay.micro_batches
    if lay.zero_stage >= 2 and lay.pp == 1 and lay.dp_overlap:
        return _sharded_units(model, lay, links, bwd_mb_s, fwd_mb_s, buckets, sms)
    if lay.zero_stage == 0:
        t = sync("ar", grad_bytes)
        return t, grads_exposed(t)
    params = sync("ag", ACT_BYTES)
    if lay.zero_stage == 1:
        grads = sync("rs", grad_bytes)
        return grads + params, grads_exposed(grads) + params_exposed(params)
    if lay.zero_stage == 2:
        # a rank that keeps only its shard of the gradients reduce-scatters every
        # micro-batch's 16-bit gradients (DeepSpeed's default communication data type is
        # the model's): m - 1 of them hide behind the next micro-batch's slot
        one = sync("rs", lay.grad_reduce_bytes or ACT_BYTES)
        earlier = 0.0
        if m > 1:
            earlier = (m - 1) * (one if not lay.dp_overlap else hide(one, max(0.0, one - slot_s)))
        return m * one + params, earlier + grads_exposed(one) + params_exposed(params)
    t = m * (2.0 * sync("ag", ACT_BYTES) + sync("rs", grad_bytes))
    if not lay.dp_overlap:
        return t, t
    exposed = max(0.0, t - m * slot_s) + t / max(1, m * buckets)
    return t, hide(t, exposed)


def _sharded_units(
    model: TransformerModel,
    lay: Layout,
    links: _Links,
    bwd_mb_s: float,
    fwd_mb_s: float,
    units: int,
    sms: int,
) -> tuple[float, float]:
    """(total, exposed) of sharded data parallelism timed unit by unit, no pipeline [s].

    PyTorch FSDP's layout (one unit per layer plus the root unit of the embeddings): every
    forward gathers each unit's 16-bit weights, the next unit's gather running under the
    current unit's forward; every backward reduce-scatters each unit's gradients (ZeRO-3
    first gathers its weights again, on the same communicator). ZeRO-2 gathers once per step
    and reduces every micro-batch; ZeRO-3 does both every micro-batch. Each collective pays
    NCCL's ring latency over all ranks (:func:`~.scale_costs.nccl_ring_latency_s`); what a
    unit's compute does not cover, the first gathers and the last reductions are exposed
    (:func:`~.scale_costs.fsdp_exposed_s`), and the hidden rest takes its SMs from compute.
    """
    ranks = lay.dp * lay.cp
    units = max(1, units)
    dense, experts = params_per_gpu(model, lay)
    embed_copies = 1 if model.tied_embeddings else 2
    root = min(dense, embed_copies * model.vocab * model.hidden / lay.tp)
    dense_levels = _levels(links, ranks, lay.tp)
    expert_ranks = max(1, ranks // lay.ep)
    expert_levels = _levels(links, expert_ranks, lay.tp * lay.ep)
    per_domain = max(1, min(ranks, links.domain // max(1, lay.tp)))
    latency = nccl_ring_latency_s(ranks, per_domain)

    def moved(kind: str, size: float, levels: tuple[Level, ...]) -> float:
        fn = hierarchical_all_gather_s if kind == "ag" else hierarchical_reduce_scatter_s
        return fn(size, levels) - fn(0.0, levels) if size > 0.0 else 0.0

    def unit(kind: str, per_param_bytes: float) -> float:
        layer = (dense - root) / units * per_param_bytes
        expert = experts / units * per_param_bytes
        return moved(kind, layer, dense_levels) + moved(kind, expert, expert_levels) + latency

    def whole_root(kind: str, per_param_bytes: float) -> float:
        return moved(kind, root * per_param_bytes, dense_levels) + latency

    grad_bytes = lay.grad_bytes if lay.zero_stage == 3 else (lay.grad_reduce_bytes or ACT_BYTES)
    ag, rs = unit("ag", ACT_BYTES), unit("rs", grad_bytes)
    ag_root, rs_root = whole_root("ag", ACT_BYTES), whole_root("rs", grad_bytes)
    fwd_u, bwd_u = fwd_mb_s / units, bwd_mb_s / units
    forward = ag_root + units * ag
    forward_x = fsdp_exposed_s(ag_root + ag, ag, fwd_u, units, 0.0)
    back_comm = rs + (ag if lay.zero_stage == 3 else 0.0)
    backward = units * back_comm + rs_root
    backward_x = fsdp_exposed_s(0.0, back_comm, bwd_u, units, rs + rs_root)
    m = lay.micro_batches
    gathers = m if lay.zero_stage == 3 else 1
    total = gathers * forward + m * backward
    exposed = gathers * forward_x + m * backward_x
    return total, exposed + overlap_contention_s(max(0.0, total - exposed), sms)
