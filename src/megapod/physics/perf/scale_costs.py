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
* **Per-unit sharded data parallelism (FSDP / ZeRO-3, ZeRO-2).** Without a pipeline, a
  sharded data-parallel run gathers each layer's weights before its forward (and, fully
  sharded, again before its backward) and reduce-scatters its gradients after its backward:
  one all-gather and one reduce-scatter per layer (PyTorch FSDP wraps every transformer block
  as one unit; ``torch.distributed.fsdp`` documentation, ``limit_all_gathers`` and
  ``backward_prefetch``: the next unit's gather is issued while the current unit computes, all
  on one NCCL communicator, so a unit's backward gather and reduce-scatter run one after the
  other). Each collective is a ring over all ``n`` ranks and pays NCCL's ring latency,
  ``base + (n - nodes)·alpha_nvlink + (nodes - 1)·alpha_net`` (NCCL ``src/graph/tuning.cc``,
  Ring / Simple protocol: 8.4 us base, 3.4 us per NVLink hop, 14 us per network hop; the same
  file counts ``n - 1`` steps for an all-gather or reduce-scatter, ``nodes - 1`` of them across
  the network). A unit's collective is hidden behind the neighbouring unit's compute when it
  is shorter (:func:`fsdp_exposed_s`); the first gather (the embedding unit and the first
  layer) and the last reduce-scatters have no compute to hide behind.
"""

from __future__ import annotations

import math

#: SMs a communication kernel occupies while it overlaps compute (see the module docstring).
COMM_KERNEL_SMS = 16
#: Megatron-Core's smallest gradient bucket [parameters] and its per-rank growth.
DP_BUCKET_MIN_PARAMS = 40.0e6
DP_BUCKET_PARAMS_PER_RANK = 1.0e6
#: NCCL's ring latency model, Simple protocol (``src/graph/tuning.cc``, ``baseLat`` and
#: ``hwLat`` for Ring/Simple, unchanged from NCCL 2.12 to 2.21): base, NVLink hop, network hop [s].
NCCL_RING_BASE_LATENCY_S = 8.4e-6
NCCL_RING_NVLINK_HOP_S = 3.4e-6
NCCL_RING_NET_HOP_S = 14.0e-6


def nccl_ring_latency_s(ranks: int, ranks_per_domain: int) -> float:
    """Latency of one NCCL ring all-gather or reduce-scatter over ``ranks`` ranks [s].

    ``ranks - 1`` steps, of which ``nodes - 1`` cross the network (``nodes`` = scale-up
    domains the group spans, ``ranks_per_domain`` members in each) and the rest NVLink,
    plus the base latency (NCCL ``tuning.cc``).
    """
    if ranks <= 1:
        return 0.0
    nodes = max(1, math.ceil(ranks / max(1, ranks_per_domain)))
    net_steps = nodes - 1
    return (
        NCCL_RING_BASE_LATENCY_S
        + (ranks - 1 - net_steps) * NCCL_RING_NVLINK_HOP_S
        + net_steps * NCCL_RING_NET_HOP_S
    )


def fsdp_exposed_s(
    first_s: float, unit_comm_s: float, unit_compute_s: float, units: int, last_s: float
) -> float:
    """Exposed time of one pass over ``units`` sharded units [s].

    Each unit's collective (``unit_comm_s``) runs under the neighbouring unit's compute
    (``unit_compute_s``) and shows only where it is longer; ``first_s`` (the gathers before
    the first unit) and ``last_s`` (the reductions after the last) have nothing to hide behind.
    """
    return first_s + max(0, units - 1) * max(0.0, unit_comm_s - unit_compute_s) + last_s


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
