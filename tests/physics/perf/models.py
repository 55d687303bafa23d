"""Models several performance-model tests share."""

from __future__ import annotations

from megapod.physics.perf.model import TransformerModel

#: A GPT-3 6.7B-shaped model (Brown et al. 2020, Table 2.1).
GPT = TransformerModel(
    layers=32,
    hidden=4096,
    heads=32,
    kv_heads=32,
    ffn_hidden=16384,
    vocab=51200,
    seq_len=2048,
    name="gpt-6.7b",
)
