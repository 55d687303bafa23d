"""A finished twin is freed at once: its parts refer to one another, and ``close`` breaks that."""

from __future__ import annotations

import gc
import weakref

from megapod.sim.twin import Twin

from .scenario_factory import small_scenario


def test_a_closed_twin_is_freed_without_the_cycle_collector() -> None:
    gc.disable()  # only reference counting may free it
    try:
        twin = Twin(small_scenario())
        result = twin.run()
        parts = [weakref.ref(p) for p in (twin, twin.ledger, twin.scheduler, twin.plant, twin.cluster)]
        twin.close()
        del twin
        assert [r() for r in parts] == [None] * len(parts)
        assert (
            result.summary["jobs_done"] > 0 and len(result.jobs) == result.summary["jobs"]
        )  # the result outlives it
    finally:
        gc.enable()
