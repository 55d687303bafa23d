"""The description of a decoder-only transformer and its per-token counts.

All counts are per token and per forward pass unless a name says otherwise; a FLOP is one
floating-point operation (a multiply-add is 2 FLOP).

References:
    Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using
    Megatron-LM", SC'21, Section 5.1 and Appendix (FLOP counts of a GPT layer).
    Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models",
    MLSys 2023, Appendix A (model and hardware FLOPs).
    Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models", 2023.
    Fedus, Zoph, Shazeer, "Switch Transformers", JMLR 2022 (top-k expert routing).
"""

from __future__ import annotations

from dataclasses import dataclass

from megapod.errors import SpecError


@dataclass(frozen=True, slots=True)
class TransformerModel:
    """A decoder-only transformer, dense (``experts == 1``) or mixture-of-experts.

    Attributes:
        layers, hidden, heads: depth, model width, attention heads.
        kv_heads: key/value heads (grouped-query attention when below ``heads``).
        ffn_hidden: inner size of the MLP (of each expert for MoE).
        gated_mlp: SwiGLU-style MLP with three weight matrices (gate, up, down).
        vocab: vocabulary size; seq_len: training sequence length [tokens].
        experts, top_k: experts per MoE layer and experts each token is routed to.
        tied_embeddings: input embedding and output projection share one matrix.
        dropout: trained with dropout after attention and MLP (1-byte masks kept for the
            backward); None = not for gated-MLP models (Llama 1-3, Mistral train without
            dropout; Touvron et al. 2023, Dubey et al. 2024) and yes otherwise (GPT-3 and
            Megatron-LM's GPT models use 0.1).
    """

    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn_hidden: int
    vocab: int
    seq_len: int
    gated_mlp: bool = False
    experts: int = 1
    top_k: int = 1
    tied_embeddings: bool = False
    name: str = "model"
    dropout: bool | None = None

    @property
    def has_dropout(self) -> bool:
        """Whether activations keep dropout masks (see ``dropout``)."""
        return (not self.gated_mlp) if self.dropout is None else self.dropout

    def __post_init__(self) -> None:
        for field in (
            "layers",
            "hidden",
            "heads",
            "kv_heads",
            "ffn_hidden",
            "vocab",
            "seq_len",
            "experts",
            "top_k",
        ):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise SpecError(f"model.{field}", f"{value!r}: must be a whole number ≥ 1")
        if self.hidden % self.heads:
            raise SpecError("model.hidden", f"{self.hidden} is not divisible by heads {self.heads}")
        if self.heads % self.kv_heads:
            raise SpecError(
                "model.kv_heads", f"heads {self.heads} is not divisible by kv_heads {self.kv_heads}"
            )
        if self.top_k > self.experts:
            raise SpecError("model.top_k", f"{self.top_k} exceeds experts {self.experts}")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.hidden // self.heads

    @property
    def kv_hidden(self) -> int:
        """Width of the key (or value) projection: ``kv_heads * head_dim``."""
        return self.kv_heads * self.head_dim

    @property
    def is_moe(self) -> bool:
        """True for a mixture-of-experts model."""
        return self.experts > 1

    @property
    def mlp_matrices(self) -> int:
        """Weight matrices of one MLP (expert): 3 when gated, else 2."""
        return 3 if self.gated_mlp else 2

    @property
    def attention_params_per_layer(self) -> int:
        """Q, K, V and output projection weights of one layer [count]."""
        h = self.hidden
        return h * (h + 2 * self.kv_hidden) + h * h

    @property
    def expert_params(self) -> int:
        """Weights of one MLP (one expert) [count]."""
        return self.mlp_matrices * self.hidden * self.ffn_hidden

    @property
    def mlp_params_per_layer(self) -> int:
        """MLP weights of one layer: every expert plus the router [count]."""
        router = self.hidden * self.experts if self.is_moe else 0
        return self.experts * self.expert_params + router

    @property
    def params_per_layer(self) -> int:
        """Weights of one transformer layer including its two norms [count]."""
        return self.attention_params_per_layer + self.mlp_params_per_layer + 2 * self.hidden

    @property
    def embedding_params(self) -> int:
        """Input embedding plus output projection (once if tied) [count]."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    @property
    def params(self) -> int:
        """Total weights [count]."""
        return self.layers * self.params_per_layer + self.embedding_params + self.hidden

    @property
    def active_params(self) -> int:
        """Weights a token passes through (top-k experts only for MoE) [count]."""
        router = self.hidden * self.experts if self.is_moe else 0
        per_layer = (
            self.attention_params_per_layer + self.top_k * self.expert_params + router + 2 * self.hidden
        )
        return self.layers * per_layer + self.embedding_params + self.hidden

    def dense_flops_per_token_layer(self) -> float:
        """Forward FLOP of one layer's weight GEMMs per token (2 per multiply-add) [FLOP]."""
        router = self.hidden * self.experts if self.is_moe else 0
        return 2.0 * (self.attention_params_per_layer + self.top_k * self.expert_params + router)

    def attention_flops_per_token_layer(self, causal: bool = False) -> float:
        """Forward FLOP of the score (QK^T) and context (AV) products per token per layer.

        ``4 * s * h`` when every key is counted (the papers' convention); half with a causal
        mask whose masked blocks are skipped (flash attention) [FLOP].
        """
        full = 4.0 * self.seq_len * self.hidden
        return full / 2.0 if causal else full

    def logit_flops_per_token(self) -> float:
        """Forward FLOP of the output projection to the vocabulary per token [FLOP]."""
        return 2.0 * self.hidden * self.vocab

    def forward_flops_per_token(self, causal: bool = False) -> float:
        """Forward FLOP per token of the whole model (layers + logits) [FLOP]."""
        per_layer = self.dense_flops_per_token_layer() + self.attention_flops_per_token_layer(causal)
        return self.layers * per_layer + self.logit_flops_per_token()
