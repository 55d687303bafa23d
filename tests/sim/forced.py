"""Forcing events on an open twin in tests: a failure of a chosen node, now."""

from __future__ import annotations

from megapod.sim.twin import EventKind, Twin
from megapod.sim.twin.events import schedule


def force_failure(twin: Twin, node: int, repair_s: float = 3600.0, slot: int = 0) -> None:
    """Fail GPU ``slot`` of pod node ``node`` at the twin's clock, out for ``repair_s`` (the
    twin's own failure handler does the rest: the jobs on the node stop, the node waits for
    its repair). The scenario must have failures enabled (a failure rate above 0)."""
    tier = twin.pods
    if tier.failure_rate_per_s() <= 0:
        raise ValueError("the scenario has no failures: enable them to force one")
    tier.draw_failure = lambda rng: (node, slot, repair_s)  # type: ignore[method-assign]
    try:
        schedule(twin.kernel, twin.clock, EventKind.FAILURE)
        twin.advance_to(twin.clock)
    finally:
        del tier.draw_failure
