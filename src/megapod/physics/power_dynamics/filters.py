"""Linear filters on sampled power series: moving average and first-order low-pass.

Both run in compiled code (``numpy.cumsum``, ``scipy.signal.lfilter``), never a per-sample
Python loop. Inputs are power samples [W] at a fixed resolution [s].
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

FloatArray = npt.NDArray[np.float64]


def boxcar_average_w(power_w: npt.ArrayLike, resolution_s: float, window_s: float) -> FloatArray:
    """Trailing moving average of ``power_w`` over ``window_s`` [W].

    ``y[k] = (1/m)·Σ_{j=k-m+1..k} x[j]`` with ``m = max(1, round(window_s/resolution_s))``;
    the first ``m-1`` outputs average the samples seen so far. A boxcar is how a power
    meter that integrates energy over a window and divides by its length reports power
    (Smith, *The Scientist and Engineer's Guide to DSP*, ch. 15).
    """
    x = np.asarray(power_w, dtype=np.float64)
    if x.size == 0:
        return x.copy()
    m = max(1, round(window_s / resolution_s))
    c = np.concatenate(([0.0], np.cumsum(x)))
    k = np.arange(1, x.size + 1)
    start = np.maximum(k - m, 0)
    return np.asarray((c[k] - c[start]) / (k - start), dtype=np.float64)


def first_order_lowpass_w(power_w: npt.ArrayLike, resolution_s: float, time_constant_s: float) -> FloatArray:
    """First-order low-pass of ``power_w`` with time constant ``time_constant_s`` [W].

    Exact discretisation of ``τ·dy/dt = x - y`` for a piecewise-constant input:
    ``y[k] = a·y[k-1] + (1-a)·x[k]``, ``a = exp(-Δt/τ)``, started at ``y[-1] = x[0]``
    (Oppenheim & Schafer, *Discrete-Time Signal Processing*, impulse invariance). A zero
    time constant returns the input.
    """
    x = np.asarray(power_w, dtype=np.float64)
    if x.size == 0 or time_constant_s <= 0:
        return x.copy()
    a = float(np.exp(-resolution_s / time_constant_s))
    y, _ = lfilter([1.0 - a], [1.0, -a], x, zi=[a * x[0]])
    return np.asarray(y, dtype=np.float64)
