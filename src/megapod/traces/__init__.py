"""Job traces: the normalized CSV reader and synthetic generators, both yielding :class:`JobTable`."""

from megapod.traces.normalized import REQUIRED_COLUMNS, JobTable, read_trace
from megapod.traces.synthetic import TraceFit, fit_trace, generate_jobs, sample_distribution

__all__ = [
    "REQUIRED_COLUMNS",
    "JobTable",
    "TraceFit",
    "fit_trace",
    "generate_jobs",
    "read_trace",
    "sample_distribution",
]
