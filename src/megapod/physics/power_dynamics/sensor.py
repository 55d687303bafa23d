"""What an NVML board-power reading shows of a true power waveform.

NVML (``nvmlDeviceGetPowerUsage``, ``nvidia-smi --query-gpu=power.draw``) does not return
instantaneous power: on A100/H100 the reported value is an average over a window and is
refreshed only periodically. The NVIDIA ``nvidia-smi`` documentation describes
``power.draw.average`` as averaged over a one-second interval (Ampere and later), and Yang,
Adamek & Armour, "Accurate and Convenient Energy Measurements for GPUs: A Detailed Study of
NVIDIA GPU's Built-In Power Sensor" (SC 2024) measured that A100/H100 sensors average over
windows much shorter than the refresh period, so part of the run is never seen.

The model here is explicit so measured traces can be compared with a synthesized waveform:
a trailing boxcar of ``window_s`` over the true power, sampled every ``update_period_s`` and
held until the next update (zero-order hold). A measured NVML trace is compared with
``nvml_reading_w(model_waveform)``, never with the raw model waveform.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from megapod.physics.power_dynamics.filters import boxcar_average_w

FloatArray = npt.NDArray[np.float64]

#: Default averaging window of ``power.draw.average`` on Ampere and later [s] (nvidia-smi docs).
NVML_WINDOW_S = 1.0
#: Default refresh period of the reading [s] (Yang et al., SC 2024: about 100 ms on A100/H100).
NVML_UPDATE_PERIOD_S = 0.1


def nvml_reading_w(
    power_w: npt.ArrayLike,
    resolution_s: float,
    window_s: float = NVML_WINDOW_S,
    update_period_s: float = NVML_UPDATE_PERIOD_S,
) -> FloatArray:
    """The board power NVML would report at each sample of ``power_w`` [W].

    ``r(t) = mean(P over [t_u - window_s, t_u])`` with ``t_u`` the last update instant at or
    before ``t`` (updates every ``update_period_s``). ``window_s`` and ``update_period_s``
    are the two numbers a calibration on a real GPU would fix.
    """
    avg = boxcar_average_w(power_w, resolution_s, window_s)
    if avg.size == 0:
        return avg
    step = max(1, round(update_period_s / resolution_s))
    idx = np.arange(avg.size)
    # updates close each period at samples step-1, 2·step-1, …; before the first one the
    # reading shows the first sample's average
    last_update = np.maximum((idx + 1) // step * step - 1, 0)
    return np.asarray(avg[last_update], dtype=np.float64)
