"""Memory per GPU against Korthikanti et al. 2023 (Eq. 1-2, Table 2) and ZeRO sharding."""

from __future__ import annotations

import dataclasses

import pytest

from megapod.physics.perf import Layout, TransformerModel, memory_per_gpu
from megapod.physics.perf.memory import activation_bytes_per_token_layer, params_per_gpu

GPT = TransformerModel(
    layers=96, hidden=12288, heads=96, kv_heads=96, ffn_hidden=49152, vocab=51200, seq_len=2048
)


def test_activation_per_layer_without_parallelism() -> None:
    # Korthikanti et al. 2023, Eq. 1: s·b·h·(34 + 5·a·s/h) bytes per layer (unfused attention)
    lay = Layout(flash_attention=False, sequence_parallel=False)
    s, h, a = GPT.seq_len, GPT.hidden, GPT.heads
    per_token = activation_bytes_per_token_layer(GPT, lay)
    assert per_token * s == pytest.approx(s * h * (34 + 5 * a * s / h))


@pytest.mark.parametrize("tp", [2, 8])
def test_activation_with_tensor_and_sequence_parallelism(tp: int) -> None:
    # Table 2: tensor parallel only: sbh(10 + 24/t + 5as/(ht)); with sequence parallel: /t
    s, h, a = GPT.seq_len, GPT.hidden, GPT.heads
    tp_only = Layout(tp=tp, flash_attention=False, sequence_parallel=False)
    sp = Layout(tp=tp, flash_attention=False, sequence_parallel=True)
    assert activation_bytes_per_token_layer(GPT, tp_only) * s == pytest.approx(
        s * h * (10 + 24 / tp + 5 * a * s / (h * tp))
    )
    assert activation_bytes_per_token_layer(GPT, sp) * s == pytest.approx(
        s * h * (34 / tp + 5 * a * s / (h * tp))
    )
    # selective recomputation drops the 5as/h term; full keeps the 2sbh input only (/t w/ SP)
    selective = dataclasses.replace(sp, recompute="selective")
    full = dataclasses.replace(sp, recompute="full")
    assert activation_bytes_per_token_layer(GPT, selective) * s == pytest.approx(s * h * 34 / tp)
    assert activation_bytes_per_token_layer(GPT, full) == pytest.approx(2 * h / tp)


def test_fp8_keeps_the_four_gemm_inputs_in_one_byte() -> None:
    # Transformer Engine saves the FP8 casts of the QKV, attention-output, MLP-in and MLP-out
    # GEMM inputs: 3h + f bytes fewer per token than 16-bit, split over tp with SP
    bf16 = Layout(tp=8)
    fp8 = dataclasses.replace(bf16, dtype="fp8")
    saved = activation_bytes_per_token_layer(GPT, bf16) - activation_bytes_per_token_layer(GPT, fp8)
    assert saved == pytest.approx((3 * GPT.hidden + GPT.ffn_hidden) / 8)
    full = dataclasses.replace(fp8, recompute="full")  # only the layer input is kept: unchanged
    assert activation_bytes_per_token_layer(GPT, full) == pytest.approx(2 * GPT.hidden / 8)


def test_flash_attention_stores_no_score_matrix() -> None:
    flash = Layout(tp=8)
    assert activation_bytes_per_token_layer(GPT, flash) == pytest.approx(34 * GPT.hidden / 8)


def test_zero_stages_shard_states() -> None:
    base = Layout(tp=8, pp=8, dp=16, global_batch=1024, zero_stage=0)
    z = [memory_per_gpu(GPT, dataclasses.replace(base, zero_stage=k)) for k in range(4)]
    dense, _ = params_per_gpu(GPT, base)
    assert z[0].optimizer_bytes == pytest.approx(12 * dense)
    assert z[1].optimizer_bytes == pytest.approx(12 * dense / 16)
    assert z[1].grads_bytes == z[0].grads_bytes
    # ZeRO-2: the 32-bit shard plus the full 16-bit accumulation buffer (2 bytes per weight)
    assert z[2].grads_bytes == pytest.approx(z[0].grads_bytes / 16 + 2 * dense)
    assert z[3].grads_bytes == pytest.approx(z[0].grads_bytes / 16)
    assert z[3].weights_bytes == pytest.approx(z[0].weights_bytes / 16)
    totals = [m.total_bytes for m in z]
    assert totals == sorted(totals, reverse=True)


def test_params_per_gpu_split() -> None:
    lay = Layout(tp=8, pp=8, dp=1, global_batch=8)
    dense, experts = params_per_gpu(GPT, lay)
    assert experts == 0
    # 12 layers of 12h^2 (+ norms) over tp, plus one embedding shard
    expected = 12 * GPT.params_per_layer / 8 + GPT.vocab * GPT.hidden / 8
    assert dense == pytest.approx(expected)


def test_embedding_counted_as_a_layer_lightens_the_first_stage() -> None:
    # Llama 3 405B: 126 layers + embedding + loss = 128 = 16 stages × 8 virtual stages; the
    # first stage holds 7 transformer layers and the embedding, not 8 layers
    model = TransformerModel(
        layers=126, hidden=1024, heads=8, kv_heads=8, ffn_hidden=4096, vocab=1000, seq_len=1024
    )
    even = dataclasses.replace(model, layers=128)
    lay = Layout(pp=16, dp=1, global_batch=16, interleave=8, recompute="none")
    assert memory_per_gpu(model, lay).activations_bytes == pytest.approx(
        memory_per_gpu(even, lay).activations_bytes * 7 / 8
    )
