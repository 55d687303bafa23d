"""Model shapes: parameter counts of published models and the FLOP conventions of the papers."""

from __future__ import annotations

import pytest

from megapod.errors import CatalogError, SpecError
from megapod.physics.perf import (
    TransformerModel,
    hardware_flops_per_token,
    model_flops_per_token,
    model_preset,
    preset_names,
)


@pytest.mark.parametrize(
    ("name", "billions", "tolerance"),
    [
        ("gpt3-175b", 175.0, 0.01),  # Brown et al. 2020, Table 2.1
        ("llama2-70b", 69.0, 0.01),  # Touvron et al. 2023 (68.98 B in the released weights)
        ("llama3-8b", 8.03, 0.01),  # Llama 3 model card
        ("llama3-70b", 70.6, 0.01),
        ("llama3-405b", 405.9, 0.01),  # Llama 3 herd paper: 405 B
        ("mixtral-8x7b", 46.7, 0.01),  # Jiang et al. 2024: 47 B total
        ("megatron-1t", 1008.0, 0.01),  # Narayanan et al. 2021, Table 1
    ],
)
def test_parameter_counts_match_published(name: str, billions: float, tolerance: float) -> None:
    assert model_preset(name).params / 1e9 == pytest.approx(billions, rel=tolerance)


def test_mixtral_active_parameters() -> None:
    # Jiang et al. 2024: 13 B active parameters per token (12.9 B)
    assert model_preset("mixtral-8x7b").active_params / 1e9 == pytest.approx(12.9, rel=0.02)


def test_every_preset_builds() -> None:
    names = preset_names()
    assert {"gpt3-175b", "llama3-405b", "mixtral-8x7b", "nemotron4-340b"} <= set(names)
    for name in names:
        assert model_preset(name).params > 0


def test_unknown_preset_suggests() -> None:
    with pytest.raises(CatalogError, match="llama3-70b"):
        model_preset("llama3-70")


def _gpt(layers: int, hidden: int, heads: int, vocab: int = 51200, seq: int = 2048) -> TransformerModel:
    return TransformerModel(layers, hidden, heads, heads, 4 * hidden, vocab, seq)


@pytest.mark.parametrize(("layers", "hidden", "heads"), [(24, 2304, 24), (128, 25600, 160)])
def test_megatron_eq3_equals_hardware_flops_with_full_recompute(layers: int, hidden: int, heads: int) -> None:
    # Narayanan et al. 2021, Eq. 3: F = 96 B s l h^2 (1 + s/6h + V/16lh), per B·s tokens
    m = _gpt(layers, hidden, heads)
    s, h, v, lyr = m.seq_len, m.hidden, m.vocab, m.layers
    eq3_per_token = 96 * lyr * h**2 * (1 + s / (6 * h) + v / (16 * lyr * h))
    assert hardware_flops_per_token(m, "full") == pytest.approx(eq3_per_token, rel=1e-9)


def test_korthikanti_model_flops_and_selective_recompute() -> None:
    # Korthikanti et al. 2023, Eq. 7: model FLOP = 72 B L s h^2 (1 + s/6h + v/12hL)
    m = _gpt(48, 6144, 64)
    s, h, v, lyr = m.seq_len, m.hidden, m.vocab, m.layers
    model = 72 * lyr * h**2 * (1 + s / (6 * h) + v / (12 * h * lyr))
    assert model_flops_per_token(m) == pytest.approx(model, rel=1e-9)
    assert hardware_flops_per_token(m, "none") == pytest.approx(model, rel=1e-9)
    # selective recomputation redoes the score and context products once: 4·s·h per layer
    # (Eq. 8 writes s/3h, which counts them twice; see docs/performance-model.md)
    extra = hardware_flops_per_token(m, "selective") - model
    assert extra == pytest.approx(4 * s * h * lyr, rel=1e-9)


def test_nemo_llama_formula() -> None:
    # NeMo flops_formulas.llama2/llama3: per token L h^2 (12 + 12 g/a + 18 f/h + 12 s/h + 6 V/(L h))
    m = model_preset("llama3-8b")
    h, lyr = m.hidden, m.layers
    nemo = (
        lyr
        * h
        * h
        * (
            12
            + 12 * m.kv_heads / m.heads
            + 18 * m.ffn_hidden / h
            + 12 * m.seq_len / h
            + 6 * m.vocab / (lyr * h)
        )
    )
    # the norms' weights are not GEMM work; the formula matches model FLOP exactly
    assert model_flops_per_token(m) == pytest.approx(nemo, rel=1e-9)
    # and the NeMo 24.07 llama3-8b row: 697 TFLOP/s at 12,036 tokens/s per GPU
    assert nemo * 12036 / 1e12 == pytest.approx(697, rel=0.005)


def test_causal_attention_is_half() -> None:
    m = model_preset("llama3-8b")
    assert m.attention_flops_per_token_layer(causal=True) * 2 == m.attention_flops_per_token_layer()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hidden": 100, "heads": 3}, "model.hidden"),
        ({"kv_heads": 5}, "model.kv_heads"),
        ({"top_k": 3, "experts": 2}, "model.top_k"),
        ({"layers": 0}, "model.layers"),
    ],
)
def test_bad_shapes_are_refused(kwargs: dict[str, int], field: str) -> None:
    base = {
        "layers": 2,
        "hidden": 128,
        "heads": 8,
        "kv_heads": 8,
        "ffn_hidden": 512,
        "vocab": 1000,
        "seq_len": 128,
    }
    with pytest.raises(SpecError) as info:
        TransformerModel(**{**base, **kwargs})  # type: ignore[arg-type]
    assert info.value.path == field
