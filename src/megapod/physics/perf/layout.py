"""A parallel layout of a training run, and the checks that it fits a model and a GPU count.

Ranks are ordered tensor (innermost) → context → data → pipeline (outermost), the order of
Megatron-LM, so a tensor-parallel group sits inside one scale-up domain whenever ``tp`` does
not exceed it. Expert parallelism splits the data-parallel (× context) ranks of the MoE layers.

References:
    Shoeybi et al., "Megatron-LM", 2019 (tensor parallelism).
    Narayanan et al., SC'21 (pipeline parallelism with interleaving, PTD-P rank order).
    Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter
    Models", SC'20 (stages 1-3).
    Korthikanti et al., MLSys 2023 (sequence parallelism, selective recomputation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from megapod.errors import InfeasibleError
from megapod.physics.perf.model import TransformerModel

Recompute = Literal["none", "selective", "full"]
RECOMPUTE_MODES: tuple[Recompute, ...] = ("none", "selective", "full")
TRAIN_DTYPES = ("bf16", "fp16", "fp8")


@dataclass(frozen=True, slots=True)
class Layout:
    """How a training run splits a model over GPUs.

    Attributes:
        tp, pp, dp, cp, ep: tensor, pipeline, data, context and expert parallel degrees.
        micro_batch: sequences per micro-batch on one data-parallel rank.
        global_batch: sequences per optimizer step.
        interleave: virtual pipeline stages per GPU (1 = plain 1F1B).
        recompute: activation recomputation: none, selective (attention core) or full.
        zero_stage: 0 plain data parallel, 1 optimizer states sharded (distributed
            optimizer), 2 also gradients, 3 also weights.
        dtype: GEMM data type: bf16, fp16 or fp8 (fp8 GEMMs keep 16-bit attention).
        sequence_parallel: shard norms and dropout over the TP group (Korthikanti 2023).
        flash_attention: fused attention; without it the score matrix goes through HBM.
        tp_comm_overlap: tensor-parallel all-gathers and reduce-scatters are split into
            chunks that overlap the GEMMs they feed (Megatron-Core / Transformer Engine
            "userbuffers"); only what the GEMMs cannot hide is exposed.
        p2p_overlap: pipeline sends and receives run beside the next chunk's compute.
        dp_overlap: the data-parallel gradient reduction starts bucket by bucket as the last
            backward of each model chunk ends, and the parameter all-gather runs under the
            next forward (Megatron-Core ``overlap_grad_reduce`` / ``overlap_param_gather``);
            False reduces after the whole schedule (Megatron-LM before 2023).
        grad_reduce_bytes: bytes per gradient element on the wire; None = 2 for fp16 runs
            (Megatron-LM reduces fp16 gradients in fp16) and 4 otherwise (fp32 reduction,
            Llama 3 §3.3.2; Megatron-LM ``--accumulate-allreduce-grads-in-fp32`` for bf16);
            2 for a bf16 reduction (Megatron-Core ``grad_reduce_in_fp32=False``).
        offload_layers: layers per GPU whose activations wait in host memory between their
            forward and backward (Megatron-Core ``cpu_offloading_num_layers``; needs a GPU
            with a host link, e.g. Grace's NVLink-C2C).
    """

    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    ep: int = 1
    micro_batch: int = 1
    global_batch: int = 1
    interleave: int = 1
    recompute: Recompute = "none"
    zero_stage: int = 1
    dtype: str = "bf16"
    sequence_parallel: bool = True
    flash_attention: bool = True
    tp_comm_overlap: bool = True
    p2p_overlap: bool = True
    dp_overlap: bool = True
    grad_reduce_bytes: float | None = None
    offload_layers: int = 0

    @property
    def gpus(self) -> int:
        """GPUs of the run: ``tp · pp · dp · cp``."""
        return self.tp * self.pp * self.dp * self.cp

    @property
    def grad_bytes(self) -> float:
        """Bytes per gradient element of the data-parallel reduction (see the attributes)."""
        if self.grad_reduce_bytes is not None:
            return float(self.grad_reduce_bytes)
        return 2.0 if self.dtype == "fp16" else 4.0

    @property
    def micro_batches(self) -> int:
        """Micro-batches per step on one pipeline: ``global_batch / (dp · micro_batch)``."""
        return self.global_batch // (self.dp * self.micro_batch)

    def describe(self) -> str:
        """A compact text such as ``tp8 pp4 dp32 mb1 v1 full zero1 bf16``."""
        parts = [f"tp{self.tp}", f"pp{self.pp}", f"dp{self.dp}"]
        if self.cp > 1:
            parts.append(f"cp{self.cp}")
        if self.ep > 1:
            parts.append(f"ep{self.ep}")
        if self.offload_layers:
            parts.append(f"offload{self.offload_layers}")
        parts += [
            f"mb{self.micro_batch}",
            f"v{self.interleave}",
            self.recompute,
            f"zero{self.zero_stage}",
            self.dtype,
        ]
        return " ".join(parts)


def layers_per_gpu(model: TransformerModel, layout: Layout) -> int:
    """Layers on the most loaded GPU: ``v · ceil(L / (pp · v))``.

    Layers that do not divide evenly leave some virtual stages one layer short (Megatron-Core's
    uneven pipeline split); the heaviest stage sets the pace.
    """
    chunks = layout.pp * layout.interleave
    return layout.interleave * math.ceil(model.layers / chunks)


def check_layout(model: TransformerModel, layout: Layout, gpus: int | None = None) -> None:
    """Raise :class:`InfeasibleError` naming the reason when ``layout`` cannot run ``model``.

    Checks divisibility (GPU count, heads, KV heads, layers over virtual stages, batch over
    data-parallel ranks and micro-batches, sequence over context ranks, experts over expert
    ranks) and the value ranges. Memory is checked by :func:`memory_per_gpu`'s caller.
    """
    lay = layout
    for name in ("tp", "pp", "dp", "cp", "ep", "micro_batch", "global_batch", "interleave"):
        value = getattr(lay, name)
        if not isinstance(value, int) or value < 1:
            raise InfeasibleError(f"layout {name} = {value!r}: must be a whole number ≥ 1")
    if lay.recompute not in RECOMPUTE_MODES:
        raise InfeasibleError(f"recompute {lay.recompute!r}: use one of {', '.join(RECOMPUTE_MODES)}")
    if lay.zero_stage not in (0, 1, 2, 3):
        raise InfeasibleError(f"zero_stage {lay.zero_stage!r}: must be 0, 1, 2 or 3")
    if not isinstance(lay.offload_layers, int) or lay.offload_layers < 0:
        raise InfeasibleError(f"offload_layers {lay.offload_layers!r}: must be a whole number ≥ 0")
    if lay.grad_reduce_bytes is not None and lay.grad_reduce_bytes not in (1.0, 2.0, 4.0):
        raise InfeasibleError(f"grad_reduce_bytes {lay.grad_reduce_bytes!r}: use 1, 2 or 4")
    if lay.dtype not in TRAIN_DTYPES:
        raise InfeasibleError(f"dtype {lay.dtype!r}: training uses one of {', '.join(TRAIN_DTYPES)}")
    if gpus is not None and lay.gpus != gpus:
        raise InfeasibleError(
            f"layout tp{lay.tp}·pp{lay.pp}·dp{lay.dp}·cp{lay.cp} = {lay.gpus} GPUs "
            f"does not match the {gpus} GPUs of the run"
        )
    if model.heads % lay.tp:
        raise InfeasibleError(f"heads {model.heads} are not divisible by tp {lay.tp}")
    if lay.tp > model.kv_heads and lay.tp % model.kv_heads:
        raise InfeasibleError(f"kv_heads {model.kv_heads} do not split over tp {lay.tp}")
    if lay.tp <= model.kv_heads and model.kv_heads % lay.tp:
        raise InfeasibleError(f"kv_heads {model.kv_heads} are not divisible by tp {lay.tp}")
    if model.ffn_hidden % lay.tp:
        raise InfeasibleError(f"ffn_hidden {model.ffn_hidden} is not divisible by tp {lay.tp}")
    if lay.pp > model.layers:
        raise InfeasibleError(f"pp {lay.pp} exceeds the model's {model.layers} layers")
    if lay.interleave > math.ceil(model.layers / lay.pp):
        raise InfeasibleError(
            f"interleave {lay.interleave} leaves a virtual stage without a layer: "
            f"{model.layers} layers over pp {lay.pp}"
        )
    if lay.interleave > 1 and lay.pp == 1:
        raise InfeasibleError("interleave > 1 needs pipeline parallelism (pp > 1)")
    chunks = lay.pp * lay.interleave
    if lay.interleave > 1 and model.layers % chunks and (model.layers + 2) % chunks:
        raise InfeasibleError(
            f"interleaved schedule needs the {model.layers} layers (or {model.layers + 2} "
            f"counting the embedding and the loss as one layer each) to divide into "
            f"pp·v = {chunks} virtual stages"
        )
    if lay.global_batch % (lay.dp * lay.micro_batch):
        raise InfeasibleError(
            f"global batch {lay.global_batch} is not divisible by dp {lay.dp} × micro-batch {lay.micro_batch}"
        )
    if lay.interleave > 1 and lay.micro_batches % lay.pp:
        raise InfeasibleError(
            f"interleaved schedule needs micro-batches ({lay.micro_batches}) divisible by pp {lay.pp}"
        )
    if model.seq_len % (2 * lay.cp) and lay.cp > 1:
        raise InfeasibleError(f"sequence {model.seq_len} does not split into 2·cp = {2 * lay.cp} chunks")
    if lay.ep > 1 and model.experts % lay.ep:
        raise InfeasibleError(f"experts {model.experts} are not divisible by ep {lay.ep}")
    if lay.ep > 1 and (lay.dp * lay.cp) % lay.ep:
        raise InfeasibleError(f"ep {lay.ep} does not divide dp·cp = {lay.dp * lay.cp}")
    if lay.ep > model.experts:
        raise InfeasibleError(f"ep {lay.ep} exceeds the model's {model.experts} experts")
