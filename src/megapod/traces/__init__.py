"""Job traces: the normalized CSV reader and synthetic generators, both yielding :class:`JobTable`."""

from megapod.traces.alibaba_gpu import NodeTable, read_alibaba_nodes, read_alibaba_pods
from megapod.traces.normalized import REQUIRED_COLUMNS, SKIP_REASONS, JobTable, read_trace
from megapod.traces.synthetic import TraceFit, fit_trace, generate_jobs, sample_distribution

__all__ = [
    "REQUIRED_COLUMNS",
    "SKIP_REASONS",
    "JobTable",
    "NodeTable",
    "TraceFit",
    "fit_trace",
    "generate_jobs",
    "read_alibaba_nodes",
    "read_alibaba_pods",
    "read_trace",
    "sample_distribution",
]
