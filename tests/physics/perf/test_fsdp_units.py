"""Per-unit sharded data parallelism: NCCL's ring latency and the exposed first/last units."""

import pytest

from megapod.physics.perf import Hardware, Layout, train_step
from megapod.physics.perf.model import TransformerModel
from megapod.physics.perf.scale_costs import fsdp_exposed_s, nccl_ring_latency_s


def test_nccl_ring_latency_counts_nvlink_and_network_hops() -> None:
    # NCCL tuning.cc, Ring/Simple: 8.4 us base, 3.4 us per NVLink hop, 14 us per network hop
    assert nccl_ring_latency_s(1, 8) == 0.0
    assert nccl_ring_latency_s(8, 8) == pytest.approx(8.4e-6 + 7 * 3.4e-6)
    assert nccl_ring_latency_s(512, 8) == pytest.approx(8.4e-6 + 448 * 3.4e-6 + 63 * 14.0e-6)


def test_fsdp_exposed_hides_short_units() -> None:
    assert fsdp_exposed_s(1.0, 0.5, 2.0, 10, 0.25) == pytest.approx(1.25)
    assert fsdp_exposed_s(0.0, 3.0, 2.0, 5, 0.0) == pytest.approx(4.0)


def test_fsdp_step_slows_with_ranks() -> None:
    model = TransformerModel(
        name="mpt-1b-like",
        layers=24,
        hidden=2048,
        heads=16,
        kv_heads=16,
        ffn_hidden=8192,
        vocab=50368,
        seq_len=2048,
        tied_embeddings=True,
    )
    hw = Hardware.from_gpu("h100-sxm")
    steps = [
        train_step(model, hw, Layout(dp=n, micro_batch=12, global_batch=12 * n, zero_stage=2)).step_time_s
        for n in (128, 256, 512)
    ]
    assert steps[0] < steps[1] < steps[2]
    assert steps[2] / steps[0] - 1.0 < 0.1
