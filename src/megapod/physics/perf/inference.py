"""Serving a transformer: prefill and decode time, KV cache, largest batch, tokens per watt.

A serving replica spreads the model over ``tp × pp`` GPUs; ``batch`` sequences are served
together, split into ``pp`` micro-batches so every pipeline stage stays busy. Per layer and
GPU, prefill runs the training forward pass on ``batch · prompt`` tokens (GEMMs by the shape
model, causal flash attention, memory-bound ops, two TP all-reduces). One decode step runs
the same GEMMs with one row per sequence — bound by reading the weights — and attention that
reads each sequence's KV cache:

    t_attn,decode = max( b·ctx·2·kv·B_kv / (tp·eta_m·B_hbm),  4·b·ctx·h / (tp·eta_a·P) )

The KV cache holds ``2 · L · kv_heads_per_gpu · head_dim · B_kv`` bytes per token on each GPU
(``kv_heads`` replicated when ``tp`` exceeds them). The largest batch is what fits beside the
weights, the reserve and the prefill working set of one sequence (chunked prefill).
Throughput per watt divides tokens/s per GPU by the board power at the decode utilization
(the share of the step the roofline's binding resource is busy).

References:
    Pope et al., "Efficiently Scaling Transformer Inference", MLSys 2023 (KV cache, memory-
    bound decode, TP serving). Kwon et al., "Efficient Memory Management for Large Language
    Model Serving with PagedAttention", SOSP 2023 (KV-cache bound on batch size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from megapod.catalog.gpu_power_model import power_model_for
from megapod.errors import InfeasibleError
from megapod.physics.perf.collectives import all_reduce_s, p2p_s
from megapod.physics.perf.hardware import Hardware
from megapod.physics.perf.kernels import GemmRate, gemm_time_s, memory_bound_time_s
from megapod.physics.perf.model import TransformerModel
from megapod.physics.perf.power import phase_powers_w
from megapod.physics.perf.training import _levels, _links, layer_cost
from megapod.units import BITS_PER_BYTE

SERVE_DTYPES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "fp4": 0.5}


@dataclass(frozen=True, slots=True)
class InferenceResult:
    """Predicted serving performance of one replica of ``tp × pp`` GPUs."""

    tp: int
    pp: int
    batch: int
    prompt_len: int
    output_len: int
    prefill_s: float
    decode_step_s: float
    request_latency_s: float
    prefill_tokens_per_s_per_gpu: float
    decode_tokens_per_s: float
    decode_tokens_per_s_per_gpu: float
    weights_per_gpu_bytes: float
    kv_cache_per_token_bytes: float
    kv_cache_per_gpu_bytes: float
    memory_per_gpu_bytes: float
    max_batch: int
    decode_utilization: float
    gpu_power_w: float

    @property
    def gpus(self) -> int:
        """GPUs of the replica."""
        return self.tp * self.pp

    @property
    def tokens_per_joule(self) -> float:
        """Decode tokens per joule of GPU energy (= tokens/s per W) [token/J]."""
        return self.decode_tokens_per_s_per_gpu / self.gpu_power_w


def kv_cache_bytes_per_token(model: TransformerModel, tp: int, pp: int, kv_bytes: float) -> float:
    """KV-cache bytes one token occupies on one GPU of a ``tp × pp`` replica [byte]."""
    kv_heads_per_gpu = max(1.0, model.kv_heads / tp)
    return 2.0 * math.ceil(model.layers / pp) * kv_heads_per_gpu * model.head_dim * kv_bytes


def serve(
    model: TransformerModel,
    hw: Hardware,
    tp: int = 1,
    pp: int = 1,
    batch: int = 1,
    prompt_len: int = 1024,
    output_len: int = 256,
    dtype: str = "bf16",
    kv_dtype: str | None = None,
) -> InferenceResult:
    """Predict prefill and decode of ``batch`` requests of ``prompt_len`` + ``output_len``.

    Raises :class:`InfeasibleError` when the layout does not divide the model or the batch,
    or the weights and KV cache do not fit the GPU memory (naming the largest batch that does).
    """
    if dtype not in SERVE_DTYPES:
        raise InfeasibleError(f"dtype {dtype!r}: serving uses one of {', '.join(SERVE_DTYPES)}")
    kv_dtype = kv_dtype or ("bf16" if dtype in ("fp8", "int8", "fp4") else dtype)
    if kv_dtype not in SERVE_DTYPES:
        raise InfeasibleError(f"kv_dtype {kv_dtype!r}: use one of {', '.join(SERVE_DTYPES)}")
    for name, value in (
        ("tp", tp),
        ("pp", pp),
        ("batch", batch),
        ("prompt_len", prompt_len),
        ("output_len", output_len),
    ):
        if value < 1:
            raise InfeasibleError(f"{name} = {value}: must be ≥ 1")
    if model.heads % tp:
        raise InfeasibleError(f"heads {model.heads} are not divisible by tp {tp}")
    if model.ffn_hidden % tp:
        raise InfeasibleError(f"ffn_hidden {model.ffn_hidden} is not divisible by tp {tp}")
    if pp > model.layers:
        raise InfeasibleError(f"pp {pp} exceeds the model's {model.layers} layers")
    if batch % pp:
        raise InfeasibleError(f"batch {batch} does not split into pp {pp} micro-batches")
    cal = hw.calibration
    w_bytes = SERVE_DTYPES[dtype]
    kv_bytes = SERVE_DTYPES[kv_dtype]
    weights = model.params * w_bytes / (tp * pp)
    kv_token = kv_cache_bytes_per_token(model, tp, pp, kv_bytes)
    ctx = prompt_len + output_len
    # prefill working set, one sequence at a time (chunked prefill): a few activations of
    # the widest layer output
    workspace = 4.0 * prompt_len * max(model.hidden, model.ffn_hidden / tp, model.vocab / tp) * 2.0
    free = hw.gpu.hbm_bytes - weights - cal.memory_reserve_bytes
    max_batch = int(max(0.0, free - workspace) // (kv_token * ctx)) if free > 0 else 0
    kv_total = kv_token * ctx * batch
    memory = weights + kv_total + workspace + cal.memory_reserve_bytes
    if memory > hw.gpu.hbm_bytes:
        raise InfeasibleError(
            f"{model.name} on tp{tp}·pp{pp} {hw.gpu.name}: weights {weights / 1e9:.1f} GB + KV "
            f"cache {kv_total / 1e9:.1f} GB for batch {batch} × {ctx} tokens exceed "
            f"{hw.gpu.hbm_bytes / 1e9:.1f} GB; the largest batch that fits is {max_batch}"
        )
    links = _links(hw)
    micro = batch // pp
    layers = math.ceil(model.layers / pp)
    gemm = GemmRate.for_gpu(hw.gpu, cal, dtype if dtype != "int8" else "int8")
    # prefill: the training forward pass of one micro-batch of micro × prompt tokens
    short = TransformerModel(
        layers=model.layers,
        hidden=model.hidden,
        heads=model.heads,
        kv_heads=model.kv_heads,
        ffn_hidden=model.ffn_hidden,
        vocab=model.vocab,
        seq_len=prompt_len,
        gated_mlp=model.gated_mlp,
        experts=model.experts,
        top_k=model.top_k,
        name=model.name,
    )
    lc = layer_cost(short, hw, tp, 1, 1, micro, dtype, False, True, gemm, links)
    tp_levels = _levels(links, tp, 1)
    ar_bw = tp_levels[-1].bw_bytes_per_s if tp_levels else 1.0
    ar_lat = tp_levels[-1].latency_s if tp_levels else 0.0
    prefill_ar = 2.0 * all_reduce_s(micro * prompt_len * model.hidden * 2.0, tp, ar_bw, ar_lat)
    stage_prefill = layers * (lc.gemm_fwd + lc.attn_fwd + lc.mem_fwd + prefill_ar)
    hop = _hop_s(model, hw, tp, pp, micro * prompt_len, links)
    prefill_s = pp * stage_prefill + (pp - 1) * hop
    # decode: one token per sequence, attention over the mean context
    stage_decode, busy = _decode_stage(
        model, hw, tp, micro, prompt_len + output_len / 2.0, gemm, kv_token / layers, layers, links
    )
    logits = gemm_time_s(micro, model.vocab / tp, model.hidden, gemm)
    decode_step_s = pp * stage_decode + logits + (pp - 1) * _hop_s(model, hw, tp, pp, micro, links)
    gpus = tp * pp
    decode_tps = batch / decode_step_s
    utilization = min(1.0, busy / stage_decode) if stage_decode > 0 else 0.0
    # board power from what decode achieves: its FLOP over the peak, HBM streaming for the
    # share of the step the roofline's binding resource is busy
    flops_per_gpu = model.forward_flops_per_token() * batch / gpus
    tensor_u = flops_per_gpu / decode_step_s / hw.gpu.peak(dtype) if decode_step_s > 0 else 0.0
    (power_w,) = phase_powers_w(
        hw.gpu, power_model_for(hw.gpu.generation), (min(1.0, tensor_u),), (utilization * cal.hbm_efficiency,)
    )
    return InferenceResult(
        tp=tp,
        pp=pp,
        batch=batch,
        prompt_len=prompt_len,
        output_len=output_len,
        prefill_s=prefill_s,
        decode_step_s=decode_step_s,
        request_latency_s=prefill_s + output_len * decode_step_s,
        # pipelined: each stage finishes one micro-batch of prompts per stage time
        prefill_tokens_per_s_per_gpu=micro * prompt_len / stage_prefill / gpus,
        decode_tokens_per_s=decode_tps,
        decode_tokens_per_s_per_gpu=decode_tps / gpus,
        weights_per_gpu_bytes=weights,
        kv_cache_per_token_bytes=kv_token,
        kv_cache_per_gpu_bytes=kv_total,
        memory_per_gpu_bytes=memory,
        max_batch=max_batch,
        decode_utilization=utilization,
        gpu_power_w=power_w,
    )


def _hop_s(model: TransformerModel, hw: Hardware, tp: int, pp: int, tokens: float, links: object) -> float:
    """One pipeline hand-off of ``tokens`` activations between stages [s]."""
    if pp <= 1:
        return 0.0
    inside = tp * pp <= hw.scale_up_domain
    bw = (
        hw.scale_up_bw_bytes_per_s * hw.calibration.scale_up_efficiency
        if inside
        else hw.scale_out_rate_bps / BITS_PER_BYTE * hw.calibration.scale_out_efficiency
    )
    lat = hw.scale_up_latency_s if inside else hw.scale_out_latency_s
    return p2p_s(tokens * model.hidden * 2.0 / tp, bw, lat)


def _decode_stage(
    model: TransformerModel,
    hw: Hardware,
    tp: int,
    micro: int,
    context: float,
    gemm: GemmRate,
    kv_layer_token: float,
    layers: int,
    links: object,
) -> tuple[float, float]:
    """(time, roofline-busy time) of one decode step of one pipeline stage [s]."""
    cal = hw.calibration
    h, kv, f = model.hidden, model.kv_hidden, model.ffn_hidden
    g = model.mlp_matrices - 1
    hbm = hw.gpu.hbm_bw_bytes_per_s * cal.hbm_efficiency
    if model.is_moe:  # every expert some token picks is read once per step
        touched = min(model.experts, micro * model.top_k)
        mlp = touched * (
            gemm_time_s(max(1.0, micro * model.top_k / touched), g * f / tp, h, gemm)
            + gemm_time_s(max(1.0, micro * model.top_k / touched), h, f / tp, gemm)
        )
    else:
        mlp = gemm_time_s(micro, g * f / tp, h, gemm) + gemm_time_s(micro, h, f / tp, gemm)
    gemms = gemm_time_s(micro, (h + 2 * kv) / tp, h, gemm) + gemm_time_s(micro, h, h / tp, gemm) + mlp
    kv_read = micro * context * kv_layer_token
    attn_flops = 4.0 * micro * context * h / tp
    attn = max(kv_read / hbm, attn_flops / (hw.gpu.peak("bf16") * cal.attention_efficiency))
    attn += cal.kernel_overhead_s
    elementwise = memory_bound_time_s(micro * 30.0 * h, hbm, 8, cal.kernel_overhead_s)
    levels = _levels(links, tp, 1)  # type: ignore[arg-type]
    ar = 0.0
    if levels:
        ar = 2.0 * all_reduce_s(micro * h * 2.0, tp, levels[-1].bw_bytes_per_s, levels[-1].latency_s)
    per_layer = gemms + attn + elementwise + ar
    busy = gemms + attn + elementwise
    return layers * per_layer, layers * busy
