"""GEMM shape model, flash attention and memory-bound kernels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from megapod import catalog
from megapod.physics.perf.hardware import calibration_for
from megapod.physics.perf.kernels import (
    FLASH_BACKWARD_RATIO,
    GemmRate,
    flash_attention_time_s,
    gemm_efficiency,
    gemm_time_s,
    memory_bound_time_s,
)

H100 = catalog.gpu("h100-sxm")
RATE = GemmRate.for_gpu(H100, calibration_for(H100), "bf16")


def test_large_gemm_approaches_the_asymptotic_efficiency() -> None:
    eff = gemm_efficiency(16384, 16384, 16384, RATE)
    assert RATE.efficiency * 0.9 < eff <= RATE.efficiency


def test_efficiency_depends_on_shape_not_one_constant() -> None:
    thin_k = gemm_efficiency(8192, 8192, 128, RATE)
    square = gemm_efficiency(8192, 8192, 8192, RATE)
    padded = gemm_efficiency(8192, 8192 + 1, 8192, RATE)  # one column past a tile
    assert thin_k < 0.6 * square
    assert padded < square


def test_skinny_gemm_is_memory_bound() -> None:
    # decode: one row against an 8192x8192 bf16 weight (128 MiB) reads the weight once
    t = gemm_time_s(1, 8192, 8192, RATE)
    weight_read = 2 * 8192 * 8192 / RATE.hbm_bw_bytes_per_s
    assert weight_read <= t < 1.2 * weight_read + RATE.overhead_s


@given(m=st.integers(1, 20000), n=st.integers(1, 20000), k=st.integers(1, 20000))
def test_gemm_never_beats_the_roofline(m: int, n: int, k: int) -> None:
    t = gemm_time_s(m, n, k, RATE)
    assert t >= 2.0 * m * n * k / (RATE.efficiency * RATE.peak_flops) * 0.999
    assert t >= 2.0 * (m * k + k * n + m * n) / RATE.hbm_bw_bytes_per_s * 0.999


def test_fp8_is_faster_than_bf16_for_large_gemms() -> None:
    fp8 = GemmRate.for_gpu(H100, calibration_for(H100), "fp8")
    assert gemm_time_s(8192, 8192, 8192, fp8) < gemm_time_s(8192, 8192, 8192, RATE)


def test_flash_attention_backward_ratio() -> None:
    fwd = flash_attention_time_s(1e12, 1e15, 0.5)
    assert fwd == pytest.approx(1e12 / 5e14)
    assert flash_attention_time_s(1e12, 1e15, 0.5, backward=True) == pytest.approx(FLASH_BACKWARD_RATIO * fwd)


def test_memory_bound_time() -> None:
    assert memory_bound_time_s(3e9, 3e12, 10, 1e-6) == pytest.approx(1e-3 + 1e-5)
