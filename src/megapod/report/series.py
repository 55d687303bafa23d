"""The series a report plots, as tables for export (CSV or Parquet).

Every column name carries its unit, as in the simulator's ``series.parquet``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from megapod.planner.plan import Plan


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
