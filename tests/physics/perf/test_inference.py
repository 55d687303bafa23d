"""Serving: KV cache by hand, memory-bound decode, largest batch, per-watt figures."""

from __future__ import annotations

import pytest

from megapod.errors import InfeasibleError
from megapod.physics.perf import Hardware, model_preset
from megapod.physics.perf.inference import kv_cache_bytes_per_token, serve

H100 = Hardware.from_gpu("h100-sxm")
LLAMA70 = model_preset("llama2-70b")


def test_kv_cache_per_token_gqa() -> None:
    # Llama 2 70B: 2 (K,V) · 80 layers · 8 KV heads · 128 dims · 2 bytes = 327,680 bytes/token
    assert kv_cache_bytes_per_token(LLAMA70, 1, 1, 2.0) == 327_680
    assert kv_cache_bytes_per_token(LLAMA70, 8, 1, 2.0) == 327_680 / 8
    # more TP ranks than KV heads replicate them: 16 ranks still hold one head each
    assert kv_cache_bytes_per_token(LLAMA70, 16, 1, 2.0) == 327_680 / 8


def test_decode_is_bound_by_reading_the_weights() -> None:
    r = serve(LLAMA70, H100, tp=8, batch=1, prompt_len=512, output_len=128)
    weights_s = r.weights_per_gpu_bytes / H100.gpu.hbm_bw_bytes_per_s
    assert weights_s < r.decode_step_s < 3 * weights_s
    assert r.prefill_s > r.decode_step_s


def test_batching_raises_throughput_and_latency() -> None:
    small = serve(LLAMA70, H100, tp=8, batch=1)
    big = serve(LLAMA70, H100, tp=8, batch=64)
    assert big.decode_tokens_per_s > 10 * small.decode_tokens_per_s
    assert big.decode_step_s > small.decode_step_s
    assert big.tokens_per_joule > small.tokens_per_joule
    assert H100.gpu.idle_w <= big.gpu_power_w <= H100.gpu.tdp_w


def test_largest_batch_fits_and_one_more_does_not() -> None:
    r = serve(LLAMA70, H100, tp=8, batch=1, prompt_len=4096, output_len=1024)
    assert r.max_batch > 1
    serve(LLAMA70, H100, tp=8, batch=r.max_batch, prompt_len=4096, output_len=1024)
    with pytest.raises(InfeasibleError, match=f"largest batch that fits is {r.max_batch}"):
        serve(LLAMA70, H100, tp=8, batch=r.max_batch + 1, prompt_len=4096, output_len=1024)


def test_bad_serving_layouts() -> None:
    with pytest.raises(InfeasibleError, match="heads 64 are not divisible by tp 3"):
        serve(LLAMA70, H100, tp=3)
    with pytest.raises(InfeasibleError, match="exceed"):
        serve(LLAMA70, H100, tp=1)  # 138 GB of weights on an 80 GiB GPU


def test_pipeline_serving() -> None:
    r = serve(LLAMA70, H100, tp=4, pp=2, batch=8)
    assert r.gpus == 8
    assert r.decode_tokens_per_s_per_gpu == pytest.approx(r.decode_tokens_per_s / 8)


def test_prefill_throughput_per_gpu_does_not_depend_on_splitting_into_stages() -> None:
    # the same 8 GPUs as tp8 or tp4·pp2 prefill at comparable per-GPU rates (within 2x),
    # and tokens/s per GPU × GPUs × prefill time never exceeds the tokens prefilled
    tp8 = serve(LLAMA70, H100, tp=8, batch=8, prompt_len=2048)
    tp4pp2 = serve(LLAMA70, H100, tp=4, pp=2, batch=8, prompt_len=2048)
    ratio = tp8.prefill_tokens_per_s_per_gpu / tp4pp2.prefill_tokens_per_s_per_gpu
    assert 0.5 < ratio < 2.0
    assert tp8.prefill_tokens_per_s_per_gpu * 8 * tp8.prefill_s == pytest.approx(8 * 2048, rel=0.01)
