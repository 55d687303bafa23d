"""Trace formats by name (``workload.trace.format``): each turns a trace file into a
:class:`~megapod.traces.normalized.JobTable` under the replay's window and scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from megapod.registry import Registry
from megapod.spec.workload import TraceReplay
from megapod.traces.alibaba_gpu import read_alibaba_pods
from megapod.traces.normalized import JobTable, read_trace


class TraceReader(Protocol):
    """Read the trace at ``path`` as ``replay`` asks (window, scaling, label columns)."""

    def __call__(self, path: Path, replay: TraceReplay) -> JobTable: ...


def _normalized(path: Path, replay: TraceReplay) -> JobTable:
    """The normalized CSV format (see :func:`~megapod.traces.normalized.read_trace`)."""
    return read_trace(
        path,
        replay.partition_column,
        replay.queue_column,
        replay.start_s,
        replay.max_jobs,
        replay.time_scale,
        replay.end_s,
    )


def _alibaba(path: Path, replay: TraceReplay) -> JobTable:
    """Alibaba's GPU-sharing pod table (see :mod:`megapod.traces.alibaba_gpu`)."""
    return read_alibaba_pods(path, replay.start_s, replay.end_s, replay.max_jobs, replay.time_scale)


TRACE_FORMATS: Registry[TraceReader] = Registry("trace format")
TRACE_FORMATS.register("normalized", _normalized)
TRACE_FORMATS.register("alibaba-gpu-2023", _alibaba)


def read_replay(path: Path, replay: TraceReplay) -> JobTable:
    """The trace at ``path`` read by the reader of ``replay.format``."""
    return TRACE_FORMATS.lookup(replay.format, "workload.trace.format")(path, replay)
