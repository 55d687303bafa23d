"""Layout search: valid, sorted, at least as good as any layout it could have picked."""

from __future__ import annotations

import pytest

from megapod.errors import InfeasibleError
from megapod.physics.perf import Hardware, Layout, model_preset, search_layouts, train_step
from megapod.physics.perf.search import divisors, search

H100 = Hardware.from_gpu("h100-sxm")
LLAMA = model_preset("llama3-8b")


def test_divisors() -> None:
    assert divisors(12) == [1, 2, 3, 4, 6, 12]
    assert divisors(1) == [1]


def test_best_layouts_are_sorted_valid_and_complete() -> None:
    found = search(LLAMA, H100, 64, 256, "bf16", top=5)
    steps = [r.step_time_s for r in found.best]
    assert steps == sorted(steps)
    assert len(found.best) == 5
    assert found.evaluated >= found.valid >= 5
    for r in found.best:
        assert r.layout.gpus == 64
        assert r.memory_per_gpu_bytes <= H100.gpu.hbm_bytes
        # the breakdown is the same as a direct prediction of that layout
        assert train_step(LLAMA, H100, r.layout).step_time_s == pytest.approx(r.step_time_s)


def test_search_beats_a_hand_picked_layout() -> None:
    hand = train_step(
        LLAMA, H100, Layout(tp=8, pp=1, dp=8, micro_batch=1, global_batch=256, recompute="full")
    )
    best = search_layouts(LLAMA, H100, 64, 256)[0]
    assert best.step_time_s <= hand.step_time_s


def test_fixed_dimensions_are_respected() -> None:
    for r in search_layouts(LLAMA, H100, 64, 256, tp=2, recompute="none", top=3):
        assert r.layout.tp == 2
        assert r.layout.recompute == "none"


def test_nothing_fits() -> None:
    with pytest.raises(InfeasibleError, match="no valid layout"):
        search_layouts(model_preset("megatron-1t"), H100, 8, 8)


def test_search_keeps_megatron_interleaving_rules() -> None:
    # interleaved layouts split the layers into p·v equal virtual stages (or L + 2 with the
    # embedding and the loss counted as layers) and run a multiple of p micro-batches
    model = model_preset("llama3-70b")  # 80 layers
    best = search_layouts(model, H100, 72, global_batch=144, dtype="bf16", top=20, tp=8)
    assert best
    for r in best:
        lay = r.layout
        if lay.interleave > 1:
            chunks = lay.pp * lay.interleave
            assert model.layers % chunks == 0 or (model.layers + 2) % chunks == 0
            assert lay.micro_batches % lay.pp == 0


def test_search_refuses_interleaving_that_leaves_virtual_stages_uneven() -> None:
    model = model_preset("llama3-70b")  # 80 layers do not split into 9·3 virtual stages
    with pytest.raises(InfeasibleError, match="virtual stages"):
        search_layouts(model, H100, 72, global_batch=144, tp=8, pp=9, interleave=3)
    ok = search_layouts(model, H100, 64, global_batch=128, tp=8, pp=4, interleave=5, top=1)
    assert ok[0].layout.interleave == 5  # 80 = 4·5·4
