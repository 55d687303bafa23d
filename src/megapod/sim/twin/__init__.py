"""The digital twin: a site run through time under a workload, policies and faults."""

from megapod.sim.twin.events import EventKind
from megapod.sim.twin.realtime import RealTimeDriver
from megapod.sim.twin.results import SimResult
from megapod.sim.twin.simulator import Twin, simulate
from megapod.sim.twin.views import JobRequest, NodeMap, Snapshot

__all__ = [
    "EventKind",
    "JobRequest",
    "NodeMap",
    "RealTimeDriver",
    "SimResult",
    "Snapshot",
    "Twin",
    "simulate",
]
