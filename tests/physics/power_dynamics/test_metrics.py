"""Grid metrics: ramp, swing, spectrum, energy, cycling, against hand calculations."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from megapod.physics.power_dynamics import (
    band_content,
    energy_wh,
    equivalent_full_cycles_per_day,
    max_ramp_w_per_s,
    spectrum,
    swing_w,
)

DT = 0.001


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 1e9), st.integers(100, 5000))
def test_steady_load_has_no_spectral_content(level_w: float, n: int) -> None:
    sp = spectrum(np.full(n, level_w), DT)
    assert np.all(sp.amplitude_w == 0.0)
    band = band_content(sp)
    assert band.rms_w == 0.0 and band.peak_w == 0.0
    assert max_ramp_w_per_s(np.full(n, level_w), DT) == 0.0


def test_sinusoid_amplitude_and_frequency() -> None:
    # 1 MW ± 200 kW at 2 Hz over 10 s: the band holds one 200 kW component at 2 Hz, rms 141 kW
    t = np.arange(10_000) * DT
    p = 1e6 + 2e5 * np.sin(2 * np.pi * 2.0 * t)
    band = band_content(spectrum(p, DT))
    assert abs(band.peak_hz - 2.0) < 1e-9
    assert abs(band.peak_w - 2e5) < 1e3
    assert abs(band.rms_w - 2e5 / np.sqrt(2)) < 1e-3 * 2e5  # Parseval with the Hann ENBW
    assert band_content(spectrum(p, DT), 5.0, 20.0).rms_w < 1e3


def test_ramp_of_a_step_over_a_window() -> None:
    p = np.concatenate([np.zeros(5000), np.full(5000, 10e6)])
    # a 10 MW step measured over 1 s is 10 MW/s; over 0.1 s, 100 MW/s
    assert max_ramp_w_per_s(p, DT, 1.0) == 10e6
    assert abs(max_ramp_w_per_s(p, DT, 0.1) - 100e6) < 1e-3


def test_swing_whole_and_windowed() -> None:
    p = np.concatenate([np.full(1000, 5.0), np.full(1000, 2.0), np.full(3000, 9.0)])
    assert swing_w(p, DT) == 7.0
    assert swing_w(p, DT, window_s=0.5) == 7.0
    assert swing_w(np.concatenate([np.full(1000, 5.0), np.full(1000, 2.0)]), DT, 0.5) == 3.0


def test_energy_and_cycles() -> None:
    assert abs(energy_wh(np.full(3600, 1000.0), 1.0) - 1000.0) < 1e-9
    # 1 h discharging 1 MW then 1 h charging 1 MW on a 2 MWh bank: 1 MWh out + 1 MWh in = 0.5
    # cycle in 2 h, 6 per day
    b = np.concatenate([np.full(3600, 1e6), np.full(3600, -1e6)])
    assert abs(equivalent_full_cycles_per_day(b, 1.0, 2e6) - 6.0) < 1e-9
