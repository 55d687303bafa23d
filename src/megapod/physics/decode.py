"""Batch decoding of a dense transformer on one accelerator: the rate of its roofline.

One token of a forward pass costs ``F = 2 · params`` operations (Kaplan et al., "Scaling Laws
for Neural Language Models", 2020). Decoding ``batch`` sequences together reads the weights
once per step, so an accelerator of peak ``P`` [op/s] and memory bandwidth ``B`` [B/s] decodes

    r = min( P · eta / F ,  batch · B / W )      [token/s]

with ``eta`` the share of peak the kernels reach and ``W`` the weights' bytes: the compute
roofline or the weight-streaming bound, whichever is lower (Pope et al., "Efficiently Scaling
Transformer Inference", MLSys 2023). The fleet prices a car's work unit with it and the twin
converts a pod GPU's job into cars with the same formula on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

from megapod.spec.fleet import FleetWork


@dataclass(frozen=True)
class DecodeRate:
    """The decode rate of one accelerator and what bounds it."""

    tokens_per_s: float
    """Tokens decoded per second [1/s]."""
    compute_tokens_per_s: float
    """The compute roofline ``P · eta / F`` [1/s]."""
    memory_tokens_per_s: float
    """The weight-streaming bound ``batch · B / W`` [1/s]."""

    @property
    def bound(self) -> str:
        """``"compute"`` or ``"memory bandwidth"``: the lower of the two rates."""
        return "compute" if self.compute_tokens_per_s <= self.memory_tokens_per_s else "memory bandwidth"


def decode_rate(
    peak_ops: float,
    compute_efficiency: float,
    flops_per_token: float,
    batch: int,
    memory_bw_bytes_per_s: float,
    weight_bytes: float,
) -> DecodeRate:
    """Decode rate ``min(peak · eta / F, batch · B / W)`` (module docstring) [token/s].

    Args:
        peak_ops: peak throughput at the work's data type [op/s].
        compute_efficiency: share of peak the kernels reach, ``eta`` (0-1].
        flops_per_token: operations per token, ``F`` [op].
        batch: sequences decoded together.
        memory_bw_bytes_per_s: memory bandwidth, ``B`` [B/s].
        weight_bytes: the weights in memory, ``W`` [B].
    """
    compute = peak_ops * compute_efficiency / flops_per_token
    memory = batch * memory_bw_bytes_per_s / weight_bytes
    return DecodeRate(min(compute, memory), compute, memory)


def work_rate(work: FleetWork, peak_ops: float, memory_bw_bytes_per_s: float) -> DecodeRate:
    """Decode rate of a fleet's work (its model, data type, batch and kernel efficiency) on an
    accelerator of ``peak_ops`` at the work's data type [op/s] and ``memory_bw_bytes_per_s``."""
    return decode_rate(
        peak_ops,
        work.compute_efficiency,
        work.flops_per_token,
        work.batch,
        memory_bw_bytes_per_s,
        work.weight_bytes,
    )
