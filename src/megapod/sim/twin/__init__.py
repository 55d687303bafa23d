"""The digital twin: a site run through time under a workload, policies and faults."""

from megapod.sim.twin.results import SimResult
from megapod.sim.twin.simulator import Twin, simulate

__all__ = ["SimResult", "Twin", "simulate"]
