"""Grid-facing power dynamics of synchronous training: waveforms, sensor model, grid metrics,
the job model (``job``), the battery smoothing loop (``battery_control``) and battery sizing
(``battery_sizing``); those three are imported by module name.

Pure functions over floats and numpy arrays (SI units: W, s, Wh, Hz). See
``docs/power-dynamics.md`` for the model, its assumptions and references.
"""

from __future__ import annotations

from megapod.physics.power_dynamics.filters import boxcar_average_w, first_order_lowpass_w
from megapod.physics.power_dynamics.metrics import (
    BandContent,
    Spectrum,
    band_content,
    energy_wh,
    equivalent_full_cycles_per_day,
    max_ramp_w_per_s,
    spectrum,
    swing_w,
)
from megapod.physics.power_dynamics.sensor import nvml_reading_w
from megapod.physics.power_dynamics.timeline import Segment, failure_times_s, job_segments
from megapod.physics.power_dynamics.waveform import (
    group_sum_w,
    iteration_profile_w,
    job_waveform_w,
    offset_counts,
    training_waveform_w,
)

__all__ = [
    "BandContent",
    "Segment",
    "Spectrum",
    "band_content",
    "boxcar_average_w",
    "energy_wh",
    "equivalent_full_cycles_per_day",
    "failure_times_s",
    "first_order_lowpass_w",
    "group_sum_w",
    "iteration_profile_w",
    "job_segments",
    "job_waveform_w",
    "max_ramp_w_per_s",
    "nvml_reading_w",
    "offset_counts",
    "spectrum",
    "swing_w",
    "training_waveform_w",
]
