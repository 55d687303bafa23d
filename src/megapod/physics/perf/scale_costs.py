"""Costs that grow with the scale of a layout: overlap contention, ring attention, buckets.

Each function is a pure formula over floats; :mod:`megapod.physics.perf.training` wires them
into a step. They are the terms that keep a free layout search from preferring layouts whose
communication is assumed to be perfectly hidden:

* **SM contention of overlapped communication.** A collective that runs beside compute is not
  free: NCCL runs one thread block per channel on its own SM, and Transformer Engine's
  userbuffer overlap reserves SMs for its copies. While a collective of duration ``t`` is
  hidden, compute runs on ``(S - s_c)/S`` of the units, so the step grows by
  ``t · s_c / S``. ``s_c`` = :data:`COMM_KERNEL_SMS` = 16: NCCL's channel count for
  cross-node rings on 8-NIC servers and Transformer Engine's default ``num_sm`` of 16 for
  bulk communication overlap (NCCL environment-variable documentation, ``NCCL_MIN_NCHANNELS``
  / ``NCCL_MAX_NCHANNELS``; Transformer Engine ``initialize_ub`` defaults). Rashidi et al.,
  "On the Overlap of Communication and Computation" (2024), measure compute slow-downs of the
  same order (10-30%) when GEMMs share the GPU with NCCL kernels.
* **Ring attention per step.** Context parallelism passes K and V (backward: also dK and dV)
  around a ring of ``c`` ranks in ``c - 1`` steps; step ``i`` computes on the block received at
  step ``i - 1`` while the next block is in flight, so each step costs
  ``max(t_p2p, t_attn / c)`` and the exposed time is ``(c-1) · max(0, t_p2p - t_attn/c)``, not
  ``max(0, (c-1)·t_p2p - t_attn)`` (Liu, Zaharia, Abbeel, "Ring Attention", 2023, Section 3;
  Megatron-Core / Transformer Engine ``AttnFuncWithCPAndKVP2P``). Each step also rescales and
  accumulates the partial output with the running log-sum-exp: a memory-bound pass over the
  output block (:func:`ring_attention_merge_bytes`).
* **Bucketed gradient synchronisation.** Megatron-Core reduces gradients in buckets of
  ``max(40e6, 1e6·dp)`` parameters (``DistributedDataParallelConfig.bucket_size`` default), and
  every bucket pays the collective's full latency term: ``(n-1)·alpha`` per ring step chain.
  Over 128+ ranks on the scale-out fabric that is milliseconds per bucket.
* **Pipeline fill and drain.** The ``p - 1`` warm-up forward and cool-down backward chunks of
  1F1B each wait for the activation (gradient) from the neighbouring stage: ``2·(p-1)``
  transfers on the critical path of the bubble, which no overlap can hide (Narayanan et al.,
  SC'21, Section 2.2 and 4.1).
"""

from __future__ import annotations

import math

#: SMs a communication kernel occupies while it overlaps compute (see the module docstring).
COMM_KERNEL_SMS = 16
#: Megatron-Core's smallest gradient bucket [parameters] and its per-rank growth.
DP_BUCKET_MIN_PARAMS = 40.0e6
DP_BUCKET_PARAMS_PER_RANK = 1.0e6


def overlap_contention_s(hidden_comm_s: float, sms: int, comm_sms: int = COMM_KERNEL_SMS) -> float:
    """Extra compute time while ``hidden_comm_s`` of communication overlaps compute [s].

    ``hidden_comm_s · comm_sms / sms``: compute keeps ``sms - comm_sms`` of ``sms`` units.
    """
    if hidden_comm_s <= 0.0 or sms <= 0:
        return 0.0
    return hidden_comm_s * min(comm_sms, sms) / sms


def ring_attention_exposed_s(attn_s: float, p2p_step_s: float, cp: int, merge_step_s: float = 0.0) -> float:
    """Exposed time of a ring-attention pass over ``cp`` ranks [s].

    ``attn_s`` is the whole pass's attention compute on one rank, ``p2p_step_s`` one ring
    step's transfer, ``merge_step_s`` one step's output correction (memory-bound, serial with
    the compute). ``(cp-1)·(max(0, p2p - attn/cp) + merge)``.
    """
    if cp <= 1:
        return 0.0
    per_step = attn_s / cp
    return (cp - 1) * (max(0.0, p2p_step_s - per_step) + merge_step_s)


def ring_attention_merge_bytes(tokens: float, hidden_per_rank: float, heads_per_rank: float) -> float:
    """HBM bytes of one ring step's output correction on one rank [byte].

    Read the step's 16-bit partial output and the 32-bit accumulator, write the accumulator
    (2 + 4 + 4 bytes per element of ``tokens × hidden_per_rank``), and read two and write one
    32-bit log-sum-exp per token and head.
    """
    return tokens * (10.0 * hidden_per_rank + 12.0 * heads_per_rank)


def dp_buckets(params: float, dp_ranks: int) -> int:
    """Gradient buckets of Megatron-Core's data-parallel reduction: ``ceil(N / bucket)``."""
    if params <= 0.0:
        return 0
    bucket = max(DP_BUCKET_MIN_PARAMS, DP_BUCKET_PARAMS_PER_RANK * dp_ranks)
    return max(1, math.ceil(params / bucket))


def pipeline_fill_p2p_s(pp: int, p2p_step_s: float) -> float:
    """Transfers on the critical path of the pipeline's fill and drain: ``2·(p-1)·t_p2p`` [s]."""
    if pp <= 1:
        return 0.0
    return 2.0 * (pp - 1) * p2p_step_s
