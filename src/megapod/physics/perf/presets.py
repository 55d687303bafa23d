"""Named model presets from the catalog (``catalog/data/models.yaml``)."""

from __future__ import annotations

from megapod import catalog
from megapod.catalog.model import ModelEntry
from megapod.errors import CatalogError
from megapod.physics.perf.model import TransformerModel


def model_from_entry(entry: ModelEntry) -> TransformerModel:
    """A :class:`TransformerModel` from a catalog model entry (defaults filled in)."""
    return TransformerModel(
        layers=entry.layers,
        hidden=entry.hidden,
        heads=entry.heads,
        kv_heads=entry.kv_heads or entry.heads,
        ffn_hidden=entry.expert_ffn_hidden or entry.ffn_hidden or 4 * entry.hidden,
        vocab=entry.vocab,
        seq_len=entry.seq_len,
        gated_mlp=entry.gated_mlp,
        experts=entry.experts,
        top_k=entry.top_k,
        tied_embeddings=entry.tied_embeddings,
        name=entry.name,
    )


def model_preset(name: str) -> TransformerModel:
    """The catalog model ``name`` (e.g. ``llama3-70b``, ``gpt3-175b``, ``mixtral-8x7b``)."""
    entry = catalog.get("model", name)
    if not isinstance(entry, ModelEntry):  # pragma: no cover - the kind ties the model
        raise CatalogError(f"model {name!r} is not a model entry")
    return model_from_entry(entry)


def preset_names() -> list[str]:
    """Names of the model presets, sorted."""
    return catalog.names("model")
