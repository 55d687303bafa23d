"""The NVML averaging model: a boxcar window sampled at the update period."""

from __future__ import annotations

import numpy as np

from megapod.physics.power_dynamics import boxcar_average_w, first_order_lowpass_w, nvml_reading_w

DT = 0.001


def test_boxcar_of_a_step() -> None:
    p = np.concatenate([np.zeros(1000), np.full(1000, 700.0)])
    y = boxcar_average_w(p, DT, 0.1)
    assert y[999] == 0.0 and abs(y[1049] - 350.0) < 1e-9 and y[1099] == 700.0


def test_nvml_hides_a_short_dip() -> None:
    # 700 W with a 50 ms dip to 100 W every second: the true swing is 600 W, a 1 s window
    # sees a dip of only 600 · 0.05 = 30 W
    period = np.concatenate([np.full(950, 700.0), np.full(50, 100.0)])
    p = np.tile(period, 10)
    r = nvml_reading_w(p, DT, window_s=1.0, update_period_s=0.1)
    steady = r[2000:]
    assert abs(steady.min() - 670.0) < 1e-6 and abs(steady.max() - 670.0) < 1e-6
    # the reading changes only at update instants
    changes = np.flatnonzero(np.diff(r[:1500]))
    assert np.all((changes + 1 + 1) % 100 == 0)


def test_lowpass_time_constant() -> None:
    p = np.concatenate([np.zeros(1), np.ones(5000)])
    y = first_order_lowpass_w(p, DT, 1.0)
    # after one time constant a first-order lag reaches 1 - 1/e of a step
    assert abs(y[1000] - (1 - np.exp(-1.0))) < 1e-3
    assert np.array_equal(first_order_lowpass_w(p, DT, 0.0), p)
