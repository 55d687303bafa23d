"""The vehicle-side agent: a car's computer as a worker of the fleet coordinator.

``megapod agent --server URL --token T`` runs :class:`~megapod.agent.loop.Agent` on any Linux
machine: it reports the car's state (plugged in, state of charge: this machine's battery, or
a simulated one of a catalog car), honours its owner's limits, leases work units it can
finish, runs them for real (:mod:`megapod.fleet.kernels`), checkpoints, and uploads results.
"""

from __future__ import annotations

from megapod.agent.battery import PowerState, SimulatedBattery, SystemBattery
from megapod.agent.loop import Agent, AgentError, AgentOptions, AgentStats

__all__ = [
    "Agent",
    "AgentError",
    "AgentOptions",
    "AgentStats",
    "PowerState",
    "SimulatedBattery",
    "SystemBattery",
]
