"""FLOP accounting of a training step, in the conventions the published runs use.

``model`` FLOP count the forward pass three times (forward + backward at twice the forward)
with attention over the full ``s × s`` score matrix: ``3 · F_fwd · tokens``. This is the MFU
numerator of Korthikanti et al. 2023 (Appendix A, Eq. 7: 72·B·L·s·h²·(1 + s/6h + V/12hL)
for a GPT layer with ``f = 4h``) and of NVIDIA NeMo's reported TFLOP/s per GPU (its
``flops_formulas`` count the same three passes, with GQA and gated-MLP terms for Llama).

``causal`` FLOP are ``model`` FLOP with only the causal half of the score and context
products: Megatron-LM's ``num_floating_point_operations`` since 2025, and so the TFLOP/s per
GPU that Megatron-Bridge (NeMo 25.09 on) reports — for Llama 3 8B at 8,192 tokens 51.5 GFLOP
per token against 57.9 non-causal, as the published tokens/s and TFLOP/s pairs show.

``hardware`` FLOP add the recomputed forward work: a whole extra forward of the layers under
full recomputation — Megatron-LM's Eq. 3, ``96·B·s·L·h²·(1 + s/6h + V/16Lh)`` (Narayanan et
al. 2021) — or the attention score and context products under selective recomputation
(Korthikanti et al. 2023, Eq. 8: the ``s/3h`` term).
"""

from __future__ import annotations

from typing import Literal

from megapod.physics.perf.model import TransformerModel

FlopConvention = Literal["model", "causal", "hardware"]
FLOP_CONVENTIONS: tuple[FlopConvention, ...] = ("model", "causal", "hardware")


def model_flops_per_token(model: TransformerModel) -> float:
    """Model FLOP per trained token: three forward passes, non-causal attention [FLOP]."""
    return 3.0 * model.forward_flops_per_token(causal=False)


def hardware_flops_per_token(model: TransformerModel, recompute: str) -> float:
    """Model FLOP plus the recomputed forward work per token [FLOP].

    ``full`` adds one forward of every layer (not the logits); ``selective`` adds the
    attention score and context products; ``none`` adds nothing.
    """
    extra = 0.0
    if recompute == "full":
        extra = model.layers * (model.dense_flops_per_token_layer() + model.attention_flops_per_token_layer())
    elif recompute == "selective":
        extra = model.layers * model.attention_flops_per_token_layer()
    return model_flops_per_token(model) + extra


def flops_per_token(model: TransformerModel, recompute: str, convention: str = "model") -> float:
    """FLOP per token under ``convention`` (``model``, ``causal`` or ``hardware``) [FLOP]."""
    if convention == "model":
        return model_flops_per_token(model)
    if convention == "causal":
        return 3.0 * model.forward_flops_per_token(causal=True)
    if convention == "hardware":
        return hardware_flops_per_token(model, recompute)
    raise ValueError(f"unknown FLOP convention {convention!r}; use model, causal or hardware")
