"""The series a report plots, as tables for export (CSV or Parquet).

Every column name carries its unit, as in the simulator's ``series.parquet``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from megapod.planner.plan import Plan
    from megapod.sim.power_profile.engine import PowerProfileResult


def plan_hourly_frame(plan: Plan) -> pd.DataFrame:
    """The planned site over its climate's typical year, one row an hour.

    Columns: ``hour`` (0 = 1 January 00:00 local), ``outdoor_c`` [°C], ``it_w``, ``facility_w``
    [W] and ``pue`` [–] — what ``plan --html`` plots.
    """
    import pandas as pd

    f = plan.facility
    return pd.DataFrame(
        {
            "hour": np.arange(f.hourly_it_w.size, dtype=np.int64),
            "outdoor_c": f.hourly_outdoor_c,
            "it_w": f.hourly_it_w,
            "facility_w": f.hourly_facility_w,
            "pue": f.hourly_pue,
        }
    )


def power_profile_frame(result: PowerProfileResult) -> pd.DataFrame:
    """The synthesized draw, one row a sample: ``time_s``, one GPU's board power as it is and as
    NVML would report it [W] (``gpu_board_w``, ``gpu_nvml_w``: over the first steps only, empty
    after), and per run the grid draw ``<run>_grid_w`` [W], with the
    battery's power ``<run>_battery_w`` (+ discharge) and state of charge ``<run>_soc`` where the
    run has a battery — what ``power-profile --html`` plots.
    """
    import pandas as pd

    n = result.baseline.grid_w.size
    columns: dict[str, np.ndarray] = {"time_s": np.arange(n) * result.resolution_s}
    for name, trace in (("gpu_board_w", result.gpu_true_w), ("gpu_nvml_w", result.gpu_nvml_w)):
        padded = np.full(n, np.nan)
        padded[: min(n, trace.size)] = trace[:n]
        columns[name] = padded
    for run in (result.baseline, *result.mitigations):
        columns[f"{run.name}_grid_w"] = run.grid_w
        if run.battery is not None:
            columns[f"{run.name}_battery_w"] = run.battery.battery_w
            columns[f"{run.name}_soc"] = run.battery.soc_frac[1:]
    return pd.DataFrame(columns)
