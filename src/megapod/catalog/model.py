"""Language-model architecture presets (``models.yaml``): the shape of a transformer.

An entry describes a decoder-only transformer, dense or mixture-of-experts, by the figures
its paper or model card publishes. The performance model (:mod:`megapod.physics.perf`) turns
an entry into a :class:`megapod.physics.perf.TransformerModel`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from megapod.catalog.entry import CatalogEntry


class ModelShape(BaseModel):
    """The shape of a decoder-only transformer, dense or mixture-of-experts: the one
    declaration used by catalog presets, goal files (a model given by its shape) and
    validation cases.

    ``ffn_hidden`` is the inner size of the MLP (of each expert for a mixture-of-experts model
    unless ``expert_ffn_hidden`` is given; ``4 * hidden`` when absent); ``gated_mlp`` marks
    SwiGLU-style MLPs with three weight matrices instead of two. ``kv_heads`` below ``heads``
    is grouped-query attention (``heads`` when absent).
    """

    layers: int = Field(ge=1, le=100_000)
    hidden: int = Field(ge=1)
    heads: int = Field(ge=1)
    kv_heads: int | None = Field(None, ge=1)
    ffn_hidden: int | None = Field(None, ge=1, description="4 * hidden when absent")
    gated_mlp: bool = False
    vocab: int = Field(ge=1)
    seq_len: int = Field(ge=1)
    experts: int = Field(1, ge=1)
    top_k: int = Field(1, ge=1)
    expert_ffn_hidden: int | None = Field(None, ge=1)
    tied_embeddings: bool = False

    @model_validator(mode="after")
    def _shape(self) -> ModelShape:
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not divisible by heads {self.heads}")
        if self.kv_heads is not None and self.heads % self.kv_heads:
            raise ValueError(f"heads {self.heads} is not divisible by kv_heads {self.kv_heads}")
        if self.top_k > self.experts:
            raise ValueError(f"top_k {self.top_k} exceeds experts {self.experts}")
        return self


class ModelEntry(CatalogEntry, ModelShape):
    """A catalog transformer architecture: its shape, a name and the source of its figures."""
