"""Memory per GPU of a training layout: weights, gradients, optimizer states, activations.

Mixed-precision Adam keeps 16-bit weights, 32-bit main gradients and 32-bit master weights,
momentum and variance: 2 + 4 + 12 bytes per weight (Rajbhandari et al. 2020, Section 3.1).
ZeRO stage 1 shards the 12 optimizer bytes over the data-parallel ranks, stage 2 also the
gradients, stage 3 also the weights. FP8 training keeps an extra 1-byte copy of the weights.

Activations of one layer for one micro-batch follow Korthikanti et al. 2023 (Section 4,
Eq. 1-2), generalised to grouped-query attention, any MLP width and gated MLPs, in bytes per
token with 16-bit activations and 1-byte dropout masks:

    attention  7h + 4·kv (+ 5·a·s per token for the unfused score, softmax and dropout tensors)
    MLP        3h + 2·f·(2 if gated else 1) + 2·f
    two norms  4h

Under FP8 the four GEMM inputs (QKV, attention output, MLP input, MLP hidden) are kept as
their 1-byte FP8 casts (Transformer Engine), ``3h + f`` bytes fewer per token. Models
trained without dropout (Llama-style, ``TransformerModel.has_dropout``) keep no masks: ``2h``
bytes fewer.
With sequence parallelism everything is split over ``tp``; without it the norm, dropout and
GEMM-input parts (10h) are replicated. Selective recomputation drops the score terms; full
recomputation keeps only each layer's 2h-byte input. The first pipeline stage holds ``pp``
micro-batches in flight under 1F1B, times ``1 + (pp-1)/(pp·v)`` when interleaved (Narayanan
et al. 2021, Section 2.2.2), so the stage holds ``layers`` layers' worth in all.

References:
    Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models",
    MLSys 2023. Rajbhandari et al., "ZeRO", SC'20. Narayanan et al., SC'21.
"""

from __future__ import annotations

from dataclasses import dataclass

from megapod.physics.perf.layout import Layout, layers_per_gpu
from megapod.physics.perf.model import TransformerModel

#: Bytes per weight of mixed-precision Adam: 16-bit weight, 32-bit main gradient, and 32-bit
#: master weight, momentum and variance (Rajbhandari et al. 2020).
WEIGHT_BYTES = 2.0
#: Bytes per token and hidden unit of the two dropout masks of a layer (after attention and
#: after the MLP, 1 byte each; Korthikanti et al. 2023, Section 4.1).
DROPOUT_MASK_BYTES = 2.0
GRAD_BYTES = 4.0
OPTIMIZER_BYTES = 12.0
FP8_WEIGHT_COPY_BYTES = 1.0
ACTIVATION_BYTES = 2.0
#: Bytes saved per GEMM-input element under FP8: Transformer Engine's ``Linear`` and
#: ``LayerNormLinear`` keep the FP8-cast input (1 byte) for the weight gradient instead of the
#: 16-bit one.
FP8_SAVED_INPUT_BYTES = 1.0
#: ZeRO-2 with gradient accumulation: a rank keeping only its 32-bit gradient shard cannot
#: accumulate the other shards, so micro-batches accumulate into a full 16-bit buffer that is
#: reduce-scattered once per step (NeMo's distributed Adam with a contiguous 16-bit gradient
#: buffer; PyTorch FSDP ``SHARD_GRAD_OP`` under ``no_sync``).
ACCUMULATION_BUFFER_BYTES = 2.0
#: Full-size (not sequence-sharded) 16-bit buffers Transformer Engine registers for
#: tensor-parallel communication overlap: all-gather / reduce-scatter around the QKV, attention
#: output, MLP-in and MLP-out GEMMs, forward and backward (``initialize_ub``, one
#: ``tokens × hidden`` buffer per overlapped GEMM).
TP_OVERLAP_BUFFERS = 8


def tp_overlap_buffer_bytes(model: TransformerModel, layout: Layout) -> float:
    """Memory of the TP communication-overlap buffers on one GPU [byte].

    ``TP_OVERLAP_BUFFERS · b·s/c · h · 2``; zero without TP or without the overlap. The buffers
    are allocated once for the micro-batch shape and live for the whole run.
    """
    if layout.tp <= 1 or not layout.tp_comm_overlap:
        return 0.0
    tokens = layout.micro_batch * model.seq_len / layout.cp
    return TP_OVERLAP_BUFFERS * tokens * model.hidden * ACTIVATION_BYTES


@dataclass(frozen=True, slots=True)
class MemoryBreakdown:
    """Peak memory of one GPU of the most loaded pipeline stage [byte]."""

    weights_bytes: float
    grads_bytes: float
    optimizer_bytes: float
    activations_bytes: float
    reserve_bytes: float
    comm_buffers_bytes: float = 0.0
    offloaded_bytes: float = 0.0  # activations kept in host memory, not counted in the total

    @property
    def total_bytes(self) -> float:
        """Sum of the parts [byte]."""
        return (
            self.weights_bytes
            + self.grads_bytes
            + self.optimizer_bytes
            + self.activations_bytes
            + self.reserve_bytes
            + self.comm_buffers_bytes
        )


def offload_layer_bytes(model: TransformerModel, layout: Layout) -> float:
    """Activation bytes of one layer for one micro-batch, what offloading moves [byte]."""
    return activation_bytes_per_token_layer(model, layout) * layout.micro_batch * model.seq_len


def params_per_gpu(model: TransformerModel, layout: Layout) -> tuple[float, float]:
    """Weights held by one GPU of the largest stage: (dense, expert) [count].

    Layers are spread over ``pp`` stages (the largest stage takes ``ceil(L/pp)``); attention
    and MLP weights are split over ``tp``, experts over ``ep`` and ``tp``; the first stage also
    holds the input embedding (the output projection sits on the last, or both on one stage
    when ``pp == 1``), split over ``tp``.
    """
    layers = layers_per_gpu(model, layout)
    expert = model.experts * model.expert_params if model.is_moe else 0
    dense_layer = model.params_per_layer - expert
    embed_copies = 2 if layout.pp == 1 and not model.tied_embeddings else 1
    dense = layers * dense_layer / layout.tp + embed_copies * model.vocab * model.hidden / layout.tp
    experts = layers * expert / (layout.tp * layout.ep)
    return dense, experts


def activation_bytes_per_token_layer(model: TransformerModel, layout: Layout) -> float:
    """Activation bytes one layer stores per token of a micro-batch on one GPU [byte].

    Per Korthikanti et al. 2023, generalised as in the module docstring.
    """
    return _activation_per_token(
        model,
        layout.tp,
        layout.cp,
        layout.sequence_parallel,
        layout.flash_attention,
        layout.recompute,
        layout.dtype == "fp8",
    )


def _activation_per_token(
    model: TransformerModel,
    tp: int,
    cp: int,
    sp: bool,
    flash: bool,
    recompute: str,
    fp8: bool = False,
) -> float:
    h, kv, f = model.hidden, model.kv_hidden, model.ffn_hidden
    if recompute == "full":
        return 2.0 * h / (tp if sp else 1) / cp
    gate = 2 if model.gated_mlp else 1
    moe = model.top_k if model.is_moe else 1
    sharded = (4.0 * h + 4.0 * kv) + moe * (2.0 * f * gate + 2.0 * f)  # inside TP regions
    replicated = 10.0 * h  # norm inputs, dropout masks, GEMM inputs
    if not model.has_dropout:  # no masks after attention and MLP (1 byte each)
        replicated -= DROPOUT_MASK_BYTES * h
    if fp8:  # the inputs of the QKV, out-projection, MLP-in and MLP-out GEMMs kept in 1 byte
        replicated -= FP8_SAVED_INPUT_BYTES * 2.0 * h
        sharded -= FP8_SAVED_INPUT_BYTES * (h + moe * f)
    per_token = sharded / tp + (replicated / tp if sp else replicated)
    if not flash and recompute == "none":
        per_token += 5.0 * model.heads * model.seq_len / tp / cp
    return per_token / cp


def memory_per_gpu(model: TransformerModel, layout: Layout, reserve_bytes: float = 0.0) -> MemoryBreakdown:
    """Peak memory of one GPU of the first pipeline stage under ``layout`` [byte]."""
    dense, experts = params_per_gpu(model, layout)
    params = dense + experts
    dp_dense = layout.dp * layout.cp
    dp_expert = max(1, dp_dense // layout.ep)
    shard_dense = dp_dense
    weights = params * (WEIGHT_BYTES + (FP8_WEIGHT_COPY_BYTES if layout.dtype == "fp8" else 0.0))
    if layout.zero_stage >= 3:
        weights = dense * WEIGHT_BYTES / shard_dense + experts * WEIGHT_BYTES / dp_expert
    grad_bytes = layout.grad_reduce_bytes or GRAD_BYTES  # the main-gradient buffer's type
    grads = params * grad_bytes
    if layout.zero_stage >= 2:
        grads = dense * grad_bytes / shard_dense + experts * grad_bytes / dp_expert
    if layout.zero_stage == 2:  # micro-batches accumulate into a full 16-bit buffer first
        grads += params * ACCUMULATION_BUFFER_BYTES
    optimizer = params * OPTIMIZER_BYTES
    if layout.zero_stage >= 1:
        optimizer = dense * OPTIMIZER_BYTES / shard_dense + experts * OPTIMIZER_BYTES / dp_expert
    tokens = layout.micro_batch * model.seq_len
    per_layer = activation_bytes_per_token_layer(model, layout) * tokens
    in_flight = min(layout.pp, layout.micro_batches)
    if layout.interleave > 1:
        in_flight_factor = 1.0 + (layout.pp - 1) / (layout.pp * layout.interleave)
    else:
        in_flight_factor = 1.0
    layers_per_stage = layers_per_gpu(model, layout)
    chunks = layout.pp * layout.interleave
    if layout.pp > 1 and model.layers % chunks and (model.layers + 2) % chunks == 0:
        # the embedding counts as a layer: the first stage holds one transformer layer fewer
        # (Llama 3: one layer fewer on the first and last stages, Dubey et al. 2024, 3.3.2)
        layers_per_stage -= 1
    offloaded = 0.0
    if layout.offload_layers > 0:  # activations of that many layers wait in host memory
        offloaded = per_layer * min(layout.offload_layers, layers_per_stage) * in_flight * in_flight_factor
    activations = per_layer * layers_per_stage * in_flight * in_flight_factor - offloaded
    if layout.recompute == "full":  # one layer's full activations live during its backward
        activations += tokens * _activation_per_token(
            model,
            layout.tp,
            layout.cp,
            layout.sequence_parallel,
            layout.flash_attention,
            "none",
            layout.dtype == "fp8",
        )
    # logits in fp32 and their gradient on the last stage: 2 × 4 bytes per vocabulary entry
    logits = 8.0 * tokens / layout.cp * model.vocab / layout.tp
    if layout.pp == 1:  # otherwise the first stage, without the logits, is the fuller one
        activations += logits
    return MemoryBreakdown(
        weights,
        grads,
        optimizer,
        activations,
        reserve_bytes,
        tp_overlap_buffer_bytes(model, layout),
        offloaded,
    )
