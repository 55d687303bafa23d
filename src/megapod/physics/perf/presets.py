"""Named model presets from the catalog (``catalog/data/models.yaml``)."""

from __future__ import annotations

from megapod import catalog
from megapod.catalog.model import ModelEntry, ModelShape
from megapod.physics.perf.model import TransformerModel


def model_from_shape(shape: ModelShape, name: str) -> TransformerModel:
    """The :class:`TransformerModel` of a declared shape (a catalog preset, a goal's model, a
    validation case), absent sizes filled in as :class:`~megapod.catalog.model.ModelShape` says."""
    return TransformerModel(
        layers=shape.layers,
        hidden=shape.hidden,
        heads=shape.heads,
        kv_heads=shape.kv_heads or shape.heads,
        ffn_hidden=shape.expert_ffn_hidden or shape.ffn_hidden or 4 * shape.hidden,
        vocab=shape.vocab,
        seq_len=shape.seq_len,
        gated_mlp=shape.gated_mlp,
        experts=shape.experts,
        top_k=shape.top_k,
        tied_embeddings=shape.tied_embeddings,
        name=name,
    )


def model_preset(name: str) -> TransformerModel:
    """The catalog model ``name`` (e.g. ``llama3-70b``, ``gpt3-175b``, ``mixtral-8x7b``)."""
    return model_from_shape(catalog.typed("model", name, ModelEntry), name)


def preset_names() -> list[str]:
    """Names of the model presets, sorted."""
    return catalog.names("model")
