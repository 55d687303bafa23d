"""Training step: each term against a hand calculation, the bubble law, refusals, invariants."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.physics.perf.models import GPT

from megapod.errors import InfeasibleError
from megapod.physics.perf import Hardware, Layout, model_preset, train_step
from megapod.physics.perf.collectives import all_reduce_s, ring_all_reduce_s
from megapod.physics.perf.training import layer_cost, layer_gemm_shapes

H100 = Hardware.from_gpu("h100-sxm", 8, 400e9)


def _flops(shapes: list[tuple[float, float, float]]) -> float:
    return sum(2 * m * n * k for m, n, k in shapes)


@pytest.mark.parametrize("tp", [1, 2, 4])
def test_doubling_tp_halves_per_gpu_gemm_flops(tp: int) -> None:
    tokens = 4096.0
    assert _flops(layer_gemm_shapes(GPT, 2 * tp, 1, tokens)) == pytest.approx(
        _flops(layer_gemm_shapes(GPT, tp, 1, tokens)) / 2
    )
    # and the whole layer at tp=1 is 2·(4h² + 2hf) FLOP per token (Narayanan et al. 2021)
    h, f = GPT.hidden, GPT.ffn_hidden
    assert _flops(layer_gemm_shapes(GPT, 1, 1, 1.0)) == pytest.approx(2 * (4 * h * h + 2 * h * f))


@pytest.mark.parametrize("tp", [2, 4, 8])
def test_tp_all_reduce_volume_without_sequence_parallelism(tp: int) -> None:
    # Megatron: two all-reduces of the b·s·h activations per layer in the forward pass
    micro = 2
    lc = layer_cost(GPT, H100, tp, 1, 1, micro, "bf16", sequence_parallel=False)
    bw = H100.scale_up_bw_bytes_per_s * H100.calibration.scale_up_efficiency
    act_bytes = micro * GPT.seq_len * GPT.hidden * 2
    expected = 2 * all_reduce_s(act_bytes, tp, bw, H100.scale_up_latency_s)  # ring or tree
    assert lc.tp_fwd == pytest.approx(expected, rel=1e-9)
    # bandwidth term of the ring: each GPU moves 2(t-1)/t of the buffer per all-reduce
    ring = 2 * ring_all_reduce_s(act_bytes, tp, bw, 0.0)
    assert ring == pytest.approx(2 * 2 * (tp - 1) / tp * act_bytes / bw)


def test_sequence_parallel_moves_the_ring_volume() -> None:
    # Korthikanti et al. 2023: all-gather + reduce-scatter replace each all-reduce
    micro = 1
    with_sp = layer_cost(GPT, H100, 8, 1, 1, micro, "bf16", sequence_parallel=True)
    without = layer_cost(GPT, H100, 8, 1, 1, micro, "bf16", sequence_parallel=False)
    bw = H100.scale_up_bw_bytes_per_s * H100.calibration.scale_up_efficiency
    act_bytes = micro * GPT.seq_len * GPT.hidden * 2
    assert with_sp.tp_fwd == pytest.approx(2 * ring_all_reduce_s(act_bytes, 8, bw, H100.scale_up_latency_s))
    assert without.tp_fwd <= with_sp.tp_fwd  # a tree may beat the ring's latency
    assert with_sp.mem_fwd < without.mem_fwd  # norms and dropout on 1/tp of the rows


def test_no_tp_no_tp_traffic() -> None:
    assert layer_cost(GPT, H100, 1, 1, 1, 1, "bf16").tp_fwd == 0.0


@settings(max_examples=40, deadline=None)
@given(p=st.sampled_from([2, 4, 8]), v=st.sampled_from([1, 2, 4]), mult=st.integers(1, 8))
def test_bubble_fraction_is_the_interleaved_schedule_law(p: int, v: int, mult: int) -> None:
    # Narayanan et al. 2021: bubble = (p-1)/(m·v + p - 1) of the pipelined time
    m = p * mult
    lay = Layout(tp=1, pp=p, dp=1, micro_batch=1, global_batch=m, interleave=v, recompute="full")
    r = train_step(GPT, H100, lay, check_memory=False)
    pipelined = r.compute_s + r.exposed_comm_s - r.comm_detail_s["dp_exposed_s"]
    bubble = r.bubble_s - r.comm_detail_s["pp_fill_s"]  # fill/drain transfers come on top
    assert r.comm_detail_s["pp_fill_s"] > 0.0
    assert bubble / (pipelined + bubble) == pytest.approx((p - 1) / (m * v + p - 1))


def test_step_parts_and_phases_add_up() -> None:
    lay = Layout(tp=2, pp=2, dp=2, micro_batch=1, global_batch=16, recompute="selective")
    r = train_step(GPT, H100, lay)
    parts = r.compute_s + r.exposed_comm_s + r.bubble_s + r.optimizer_s
    assert parts == pytest.approx(r.step_time_s)
    assert sum(ph.duration_s for ph in r.phases) == pytest.approx(r.step_time_s)
    assert all(0.0 <= ph.gpu_utilization <= 1.0 for ph in r.phases)
    assert r.tokens_per_s_per_gpu == pytest.approx(16 * 2048 / r.step_time_s / 8)


def test_mfu_is_model_flops_over_peak() -> None:
    lay = Layout(tp=1, dp=8, micro_batch=2, global_batch=64)
    r = train_step(GPT, H100, lay)
    assert r.mfu == pytest.approx(r.model_tflops_per_gpu * 1e12 / H100.gpu.peak("bf16"))
    assert 0.2 < r.mfu < 0.8


def test_recomputation_costs_time_and_saves_memory() -> None:
    base = Layout(tp=1, dp=8, micro_batch=2, global_batch=64)
    none = train_step(GPT, H100, base)
    sel = train_step(GPT, H100, dataclasses.replace(base, recompute="selective"))
    full = train_step(GPT, H100, dataclasses.replace(base, recompute="full"))
    assert none.step_time_s <= sel.step_time_s < full.step_time_s
    assert full.memory.activations_bytes < none.memory.activations_bytes
    assert full.hardware_tflops_per_gpu > full.model_tflops_per_gpu


def test_more_micro_batches_shrink_the_bubble() -> None:
    small = train_step(GPT, H100, Layout(pp=4, dp=2, global_batch=16), check_memory=False)
    large = train_step(GPT, H100, Layout(pp=4, dp=2, global_batch=128), check_memory=False)
    assert large.bubble_fraction < small.bubble_fraction


def test_faster_scale_out_never_slows_a_step() -> None:
    slow = Hardware.from_gpu("h100-sxm", 8, 100e9)
    lay = Layout(tp=8, pp=1, dp=16, micro_batch=1, global_batch=128, zero_stage=0)
    assert train_step(GPT, H100, lay).step_time_s <= train_step(GPT, slow, lay).step_time_s


def test_moe_layout_with_expert_parallelism() -> None:
    m = model_preset("mixtral-8x7b")
    m = dataclasses.replace(m, seq_len=4096)
    lay = Layout(tp=2, pp=1, dp=8, ep=8, micro_batch=1, global_batch=64, zero_stage=1, recompute="selective")
    r = train_step(m, H100, lay)
    assert r.comm_detail_s["ep_s"] > 0
    assert 0.05 < r.mfu < 0.8


@pytest.mark.parametrize(
    ("layout", "words"),
    [
        (Layout(tp=3, dp=1, global_batch=8), ["heads 32", "tp 3"]),
        (Layout(tp=1, dp=8, micro_batch=3, global_batch=64), ["64", "dp 8", "micro-batch 3"]),
        (Layout(tp=1, pp=64, dp=1, global_batch=64), ["pp 64", "32 layers"]),
        (Layout(pp=2, interleave=17, global_batch=8), ["interleave 17", "32 layers", "pp 2"]),
        (Layout(tp=1, dp=1, micro_batch=64, global_batch=64), ["GiB", "h100-sxm"]),
    ],
)
def test_infeasible_layouts_name_the_reason(layout: Layout, words: list[str]) -> None:
    with pytest.raises(InfeasibleError) as info:
        train_step(GPT, H100, layout)
    for word in words:
        assert word in str(info.value)


def test_a_model_too_big_for_memory_is_refused() -> None:
    with pytest.raises(InfeasibleError, match="activations"):
        train_step(model_preset("gpt3-175b"), H100, Layout(tp=8, dp=1, global_batch=8))


def test_hardware_from_pod() -> None:
    from pathlib import Path

    from megapod.spec import load_site

    site = load_site(Path(__file__).parents[3] / "examples" / "megapod.yaml")
    hw = Hardware.from_pod(site.pods[0])
    assert hw.gpu.name == "gb200"
    assert hw.scale_up_domain == 72
    assert hw.scale_out_rate_bps > 0
    r = train_step(model_preset("llama3-70b"), hw, Layout(tp=8, pp=1, dp=9, global_batch=72))
    assert r.step_time_s > 0


@settings(max_examples=60, deadline=None)
@given(
    tp=st.sampled_from([1, 2, 4, 8]),
    pp=st.sampled_from([1, 2, 4]),
    dp=st.sampled_from([1, 2, 8]),
    mb=st.sampled_from([1, 2]),
    recompute=st.sampled_from(["none", "selective", "full"]),
    zero=st.integers(0, 3),
    dtype=st.sampled_from(["bf16", "fp8"]),
)
def test_any_valid_layout_obeys_the_invariants(
    tp: int, pp: int, dp: int, mb: int, recompute: str, zero: int, dtype: str
) -> None:
    lay = Layout(
        tp=tp,
        pp=pp,
        dp=dp,
        micro_batch=mb,
        global_batch=dp * mb * 8,
        recompute=recompute,
        zero_stage=zero,
        dtype=dtype,
    )  # type: ignore[arg-type]
    r = train_step(GPT, H100, lay, check_memory=False)
    assert r.step_time_s > 0 and r.compute_s > 0
    assert min(r.exposed_comm_s, r.bubble_s, r.optimizer_s) >= 0
    assert r.compute_s + r.exposed_comm_s + r.bubble_s + r.optimizer_s == pytest.approx(r.step_time_s)
    # no layout beats the hardware: achieved hardware FLOP/s stay below the dense peak
    assert r.hardware_tflops_per_gpu * 1e12 < H100.gpu.peak(dtype)
    assert 0 < r.mfu < 1
    assert r.memory.total_bytes > r.memory.reserve_bytes


def test_uneven_layers_load_the_heaviest_stage() -> None:
    # 126 layers over 16 stages × 2 virtual stages: chunks of 4, so the busiest GPU runs 8
    from megapod.physics.perf.layout import layers_per_gpu

    m = model_preset("llama3-405b")
    assert layers_per_gpu(m, Layout(pp=16, interleave=2)) == 8
    assert layers_per_gpu(m, Layout(pp=16, interleave=1)) == 8
    assert layers_per_gpu(m, Layout(pp=7, interleave=3)) == 18


def test_oversubscription_slows_only_groups_that_cross_leaves() -> None:
    blocking = dataclasses.replace(H100, scale_out_oversubscription=4.0, leaf_domains=4)
    # dp 4 across 4 domains stays under one leaf; dp 16 crosses the spine
    small = Layout(tp=8, dp=4, global_batch=32, zero_stage=0)
    large = Layout(tp=8, dp=16, global_batch=128, zero_stage=0)
    assert train_step(GPT, blocking, small).comm_detail_s["dp_s"] == pytest.approx(
        train_step(GPT, H100, small).comm_detail_s["dp_s"]
    )
    assert (
        train_step(GPT, blocking, large).comm_detail_s["dp_s"]
        > 2 * train_step(GPT, H100, large).comm_detail_s["dp_s"]
    )


def test_rail_optimized_leaves_reach_more_domains() -> None:
    from pathlib import Path

    from megapod.spec import load_site

    site = load_site(Path(__file__).parents[3] / "examples" / "megapod.yaml")
    pod = site.pods[0]
    scale_out = pod.fabric.scale_out
    assert scale_out is not None

    def with_topology(topology: str) -> Hardware:
        fabric = pod.fabric.model_copy(
            update={"scale_out": scale_out.model_copy(update={"topology": topology, "oversubscription": 2.0})}
        )
        return Hardware.from_pod(pod.model_copy(update={"fabric": fabric}))

    rail = with_topology("rail-optimized-fat-tree")
    plain = with_topology("fat-tree")
    assert rail.leaf_domains > plain.leaf_domains >= 1
    assert rail.scale_out_oversubscription == 2.0


def test_each_stack_year_runs_hopper_attention_at_its_kernels_rate() -> None:
    """Attention kernels by stack year on Hopper: the first FlashAttention until 2023,
    FlashAttention-2 in 2024, the Hopper kernels from 2025. An older stack's attention is
    slower, the GEMMs are not, and a later or current stack is the hardware unchanged."""
    cal = H100.calibration
    assert cal.attention_efficiency_for(2023) == pytest.approx(0.14)
    assert cal.attention_efficiency_for(2022) == pytest.approx(0.14)
    assert cal.attention_efficiency_for(2024) == pytest.approx(0.33)
    assert cal.attention_efficiency_for(2025) == cal.attention_efficiency
    assert cal.attention_efficiency_for(None) == cal.attention_efficiency
    assert H100.for_stack_year(2025) is H100 and H100.for_stack_year(None) is H100
    assert H100.for_stack_year(2024).calibration.attention_efficiency == pytest.approx(0.33)
    old = H100.for_stack_year(2023)
    assert old.calibration.attention_efficiency == pytest.approx(0.14)
    assert old.calibration.gemm_efficiency == cal.gemm_efficiency
    lay = Layout(tp=8, pp=1, dp=1, micro_batch=1, global_batch=8)
    assert train_step(GPT, old, lay).step_time_s > train_step(GPT, H100, lay).step_time_s
    new_lc = layer_cost(GPT, H100, 8, 1, 1, 1, "bf16", True, True)
    old_lc = layer_cost(GPT, old, 8, 1, 1, 1, "bf16", True, True)
    assert old_lc.attn_fwd == pytest.approx(new_lc.attn_fwd * 0.50 / 0.14)
    assert old_lc.gemm_fwd == new_lc.gemm_fwd
    # the first kernels (2023) on A100 ran at FlashAttention's 0.27, FlashAttention-2's later
    a100 = Hardware.from_gpu("a100-80gb-sxm", 8, 200e9)
    assert a100.for_stack_year(2023).calibration.attention_efficiency == pytest.approx(0.27)
    assert a100.for_stack_year(2024) is a100
