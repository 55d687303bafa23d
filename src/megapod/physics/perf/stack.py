"""The training software stack of a given year: what the frameworks of that time did.

A published run's throughput depends on the software it ran on as much as on the GPUs: fused
attention, sequence parallelism, communication overlap, how gradients are synchronised and how
FLOP are counted all arrived at known times. :func:`stack_for_year` maps a year to those
features; ``None`` (no year given) means the current stack. The rules are per software
generation, never per run.

Dates (first public release in Megatron-LM / Megatron-Core / NeMo, the stacks of the
published runs):

* Sequence parallelism and selective recomputation: Korthikanti et al., "Reducing Activation
  Recomputation in Large Transformer Models", arXiv May 2022 (Megatron-LM v3.0, 2022).
* Fused (flash) attention: FlashAttention (Dao et al., May 2022) entered Megatron-LM and NeMo
  through Transformer Engine / cuDNN fused attention in 2023.
* TP-communication overlap (Transformer Engine userbuffers) and pipeline p2p overlap:
  Megatron-Core, 2023.
* Data-parallel overlap: Megatron-Core's ``DistributedDataParallelConfig.overlap_grad_reduce``
  and the distributed optimizer's ``overlap_param_gather`` (2023): the gradient
  reduce-scatter of a bucket starts as soon as its last backward is done, so for an
  interleaved pipeline the chunks finished early reduce during the pipeline cool-down, and
  the parameter all-gather of the next step runs under its warm-up. Before that, Megatron-LM
  all-reduced the gradients after the whole pipeline schedule (Narayanan et al. 2021, §4.3
  describe no DP overlap); the stacks of 2021-2022 expose the whole synchronisation.
* Attention kernels by year: the first stacks with fused attention (2023) ran the first
  kernels (FlashAttention and its Triton port, at the rates the FlashAttention-2 release
  benchmark publishes for them: 0.27 of the A100 peak, 0.14 of the H100's); FlashAttention-2
  from 2024 (on H100 at 0.33 of the peak, same benchmark); cuDNN 9 / FlashAttention-3 on
  Hopper from 2025. Per GPU generation, so in the calibration
  (``attention_efficiency_until``) and applied by ``Hardware.for_stack_year``.
* Causal FLOP accounting (Megatron-LM ``num_floating_point_operations``, Megatron-Bridge
  tables from NeMo 25.09): 2025.
* BF16 gradient reduction for FP8 runs: the NeMo 2 / Megatron-Bridge performance recipes set
  ``grad_reduce_in_fp32 = False`` when the compute data type is FP8 (NeMo
  ``scripts/performance``, Megatron-Bridge performance configs, 2025), so the main-gradient
  buffer and its reduce-scatter are 16-bit: 2 bytes per gradient instead of 4.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Year from which sequence parallelism is part of the stack.
SEQUENCE_PARALLEL_FROM_YEAR = 2022
#: Year from which attention is fused (flash / cuDNN fused attention).
FLASH_ATTENTION_FROM_YEAR = 2023
#: Year from which TP-communication and pipeline p2p overlap are part of the stack.
COMM_OVERLAP_FROM_YEAR = 2023
#: Year from which the data-parallel gradient reduction and parameter gather overlap compute.
DP_OVERLAP_FROM_YEAR = 2023
#: Year from which reported model FLOP count causal attention.
CAUSAL_FLOPS_FROM_YEAR = 2025
#: Year from which FP8 runs reduce (and keep) gradients in bf16 (performance recipes).
FP8_BF16_GRAD_REDUCE_FROM_YEAR = 2025


@dataclass(frozen=True, slots=True)
class SoftwareStack:
    """What the training framework of one year does (``year`` None = current)."""

    year: int | None
    sequence_parallel: bool
    flash_attention: bool
    comm_overlap: bool
    dp_overlap: bool
    causal_flops: bool
    fp8_bf16_grad_reduce: bool = False

    def grad_reduce_bytes(self, dtype: str) -> float | None:
        """Bytes per gradient of a ``dtype`` run on this stack (None: the layout's default)."""
        return 2.0 if dtype == "fp8" and self.fp8_bf16_grad_reduce else None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready features."""
        return {
            "year": self.year,
            "sequence_parallel": self.sequence_parallel,
            "flash_attention": self.flash_attention,
            "comm_overlap": self.comm_overlap,
            "dp_overlap": self.dp_overlap,
            "causal_flops": self.causal_flops,
            "fp8_bf16_grad_reduce": self.fp8_bf16_grad_reduce,
        }


def stack_for_year(year: int | None) -> SoftwareStack:
    """The stack of ``year``; ``None`` gives the current stack (every feature on)."""

    def since(first: int) -> bool:
        return year is None or year >= first

    return SoftwareStack(
        year=year,
        sequence_parallel=since(SEQUENCE_PARALLEL_FROM_YEAR),
        flash_attention=since(FLASH_ATTENTION_FROM_YEAR),
        comm_overlap=since(COMM_OVERLAP_FROM_YEAR),
        dp_overlap=since(DP_OVERLAP_FROM_YEAR),
        causal_flops=since(CAUSAL_FLOPS_FROM_YEAR),
        fp8_bf16_grad_reduce=since(FP8_BF16_GRAD_REDUCE_FROM_YEAR),
    )
