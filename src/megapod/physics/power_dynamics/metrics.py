"""Grid-facing metrics of a sampled site power series.

What utilities ask of large loads: how fast the power may change (ramp rate, MW/s or MW/min),
how far it swings (peak-to-trough), and whether it oscillates at frequencies that excite
generator shafts and grid modes (sub-synchronous and low-frequency oscillations, roughly
0.1-20 Hz; NERC, "Characteristics and Risks of Emerging Large Loads", 2025, and ERCOT's
large-load interconnection requirements). Power series are in W at a fixed resolution [s].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from megapod.units import DAY_S, HOUR_S

FloatArray = npt.NDArray[np.float64]

#: The band of low-frequency oscillations that large loads are asked to stay out of [Hz].
OSCILLATION_BAND_HZ = (0.1, 20.0)


def energy_wh(power_w: npt.ArrayLike, resolution_s: float) -> float:
    """Energy of the series [Wh]: ``Σ P_k·Δt / 3600``."""
    return float(np.sum(np.asarray(power_w, dtype=np.float64)) * resolution_s / HOUR_S)


def max_ramp_w_per_s(power_w: npt.ArrayLike, resolution_s: float, window_s: float = 1.0) -> float:
    """Largest change of power over any ``window_s``, per second [W/s].

    ``max_k |P[k+m] - P[k]| / (m·Δt)`` with ``m = max(1, round(window_s/Δt))``. Grid codes
    state ramp limits over a window (e.g. MW per second or per minute) rather than per
    sample, which at 1 ms would report any step as an unbounded ramp.
    """
    x = np.asarray(power_w, dtype=np.float64)
    if x.size < 2:
        return 0.0
    m = min(max(1, round(window_s / resolution_s)), x.size - 1)
    return float(np.max(np.abs(x[m:] - x[:-m])) / (m * resolution_s))


def swing_w(power_w: npt.ArrayLike, resolution_s: float, window_s: float | None = None) -> float:
    """Peak-to-trough swing [W]: ``max P - min P`` over the series, or the largest such
    swing inside any window of ``window_s`` when given."""
    x = np.asarray(power_w, dtype=np.float64)
    if x.size == 0:
        return 0.0
    if window_s is None:
        return float(x.max() - x.min())
    m = min(max(1, round(window_s / resolution_s)), x.size)
    return float(np.max(maximum_filter1d(x, m) - minimum_filter1d(x, m)))


@dataclass(frozen=True)
class Spectrum:
    """Single-sided amplitude spectrum of the fluctuation around the mean.

    ``amplitude_w[i]`` is the amplitude [W] of a sinusoid at ``frequency_hz[i]`` that the
    Hann-windowed FFT attributes to that bin. ``enbw_bins`` is the window's equivalent noise
    bandwidth in bins (1.5 for Hann), needed to turn amplitudes into RMS power.
    """

    frequency_hz: FloatArray
    amplitude_w: FloatArray
    enbw_bins: float = 1.0


def spectrum(power_w: npt.ArrayLike, resolution_s: float) -> Spectrum:
    """Amplitude spectrum of ``power_w`` minus its mean (Hann window) [W vs Hz].

    ``A_i = 2·|FFT(w·(P - mean P))_i| / Σ w`` (coherent-gain correction; Harris, "On the use
    of windows for harmonic analysis with the DFT", Proc. IEEE 1978). A steady load has no
    content at any frequency.
    """
    x = np.asarray(power_w, dtype=np.float64)
    if x.size < 2:
        return Spectrum(np.zeros(1), np.zeros(1))
    fluct = x - x.mean()
    # a constant series can leave rounding residue of the mean; it is not a fluctuation
    fluct[np.abs(fluct) <= 8 * np.finfo(np.float64).eps * max(1.0, float(np.abs(x).max()))] = 0.0
    w = np.hanning(x.size)
    amp = 2.0 * np.abs(np.fft.rfft(fluct * w)) / w.sum()
    amp[0] /= 2.0
    freq = np.asarray(np.fft.rfftfreq(x.size, resolution_s), dtype=np.float64)
    enbw = float(x.size * np.sum(w**2) / np.sum(w) ** 2)
    return Spectrum(freq, np.asarray(amp, dtype=np.float64), enbw)


@dataclass(frozen=True)
class BandContent:
    """Spectral content of a band: RMS of its components [W] and the largest one."""

    low_hz: float
    high_hz: float
    rms_w: float
    peak_w: float
    peak_hz: float


def band_content(
    spec: Spectrum, low_hz: float = OSCILLATION_BAND_HZ[0], high_hz: float = OSCILLATION_BAND_HZ[1]
) -> BandContent:
    """RMS and peak component of ``spec`` in ``[low_hz, high_hz]`` [W].

    ``rms = √(Σ A_i² / 2 / ENBW)``: the window spreads each component over ENBW bins (Harris
    1978), so the sum of squared amplitudes is divided by it (Parseval for a windowed DFT).
    """
    sel = (spec.frequency_hz >= low_hz) & (spec.frequency_hz <= high_hz)
    if not np.any(sel):
        return BandContent(low_hz, high_hz, 0.0, 0.0, 0.0)
    a = spec.amplitude_w[sel]
    i = int(np.argmax(a))
    rms_w = float(np.sqrt(np.sum(a**2) / 2.0 / spec.enbw_bins))
    return BandContent(low_hz, high_hz, rms_w, float(a[i]), float(spec.frequency_hz[sel][i]))


def equivalent_full_cycles_per_day(battery_w: npt.ArrayLike, resolution_s: float, energy_wh: float) -> float:
    """Battery equivalent full cycles per day [1/day].

    ``EFC = (E_charged + E_discharged) / (2·E_nameplate)`` at the terminals, scaled from the
    series length to 24 h (the throughput definition used in warranty terms and in
    Xu et al., "Modeling of Lithium-Ion Battery Degradation for Cell Life Assessment",
    IEEE Trans. Smart Grid 2018). ``battery_w`` is + discharge, − charge [W].
    """
    b = np.asarray(battery_w, dtype=np.float64)
    if energy_wh <= 0 or b.size == 0:
        return 0.0
    throughput_wh = float(np.sum(np.abs(b))) * resolution_s / HOUR_S
    duration_s = b.size * resolution_s
    return throughput_wh / (2.0 * energy_wh) * DAY_S / duration_s
