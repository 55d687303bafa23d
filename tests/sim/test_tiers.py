"""Compute tiers: a second tier plugs into the twin beside the pods; the per-tier table; the
components claim their own event kinds; results no longer import the twin."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from megapod.physics.power_chain import PowerFlow
from megapod.sim.twin import JobRequest, Twin
from megapod.sim.twin.events import EventKind, Handlers
from megapod.sim.twin.tiers import FloatArray, Tier, TierNodes, TierSite

from .scenario_factory import small_scenario

DAY = 86400.0
TWIN = Path(__file__).resolve().parents[2] / "src" / "megapod" / "sim" / "twin"


class _ToyTier:
    """Four nodes of 8 GPUs off the site's supply; node 0 leaves after a day, back after two."""

    name = "toy"

    def __init__(self) -> None:
        self.nodes = TierNodes([8] * 4, [0] * 4, ["toy"], [0] * 4, ["toy"])

    def attach(self, site: TierSite) -> None:
        self.site = site
        site.schedule(DAY, 0)
        site.schedule(2 * DAY, 1)

    def on_event(self, payload: int) -> None:
        node = self.site.node0
        if payload == 0:
            self.site.node_down(node)
        else:
            self.site.node_up(node)

    def failure_rate_per_s(self) -> float:
        return 0.0

    def draw_failure(self, rng: np.random.Generator) -> tuple[int, int, float]:  # pragma: no cover
        raise NotImplementedError

    def it_power_w(self, gpu_cap_w: float | None) -> float:
        return 0.0

    def facility_power_w(self, outdoor_c: float, gpu_cap_w: float | None) -> float:
        return 0.0

    def thermal(self, outdoor_c: float) -> tuple[float, float | None]:
        return 1.0, None

    def admission_w_per_gpu(self, group: int) -> float:
        return 0.0

    def power_flow(
        self, group: int, busy: FloatArray, up: FloatArray, outdoor_c: FloatArray, gpu_cap_w: FloatArray
    ) -> PowerFlow:
        z = np.zeros_like(np.asarray(busy, dtype=np.float64))
        return PowerFlow(z, z, z, z, z, z, z)

    def group_rows(self) -> Sequence[dict[str, Any]]:
        return [{"tier": self.name, "pod": "toy", "count": 1, "gpus": 32}]


def test_a_second_tier_runs_jobs_and_its_capacity_moves_with_its_own_events() -> None:
    toy: Tier = _ToyTier()
    sc = small_scenario(horizon_s=6 * DAY, jobs=50)
    twin = Twin(sc, tiers=[toy])
    twin.submit(JobRequest("t1", gpus=32, work_s=3 * DAY, submit_s=0.0, partition="toy"))
    twin.advance_to(1.5 * DAY)
    snap = twin.snapshot()
    assert snap.nodes_down == 1 and snap.gpus == 576 + 32
    assert "t1" in snap.queue  # rolled back when its node left; waits for the node to return
    twin.advance_to(6 * DAY)
    res = twin.result()
    jobs = res.jobs.set_index("job_id")
    assert jobs.loc["t1", "interruptions"] == 1
    assert jobs.loc["t1", "start_s"] == 0.0
    tiers = res.tiers.set_index("tier")
    assert list(tiers.index) == ["pods", "toy"]
    on_toy = jobs[jobs["partition"] == "toy"]
    assert tiers.loc["toy", "busy_gpu_h"] == pytest.approx(on_toy["busy_gpu_h"].sum(), rel=1e-9)
    assert tiers.loc["toy", "down_gpu_h"] == 0.0  # a departure is not a blackout
    assert tiers.loc["toy", "facility_energy_mwh"] == 0.0
    assert res.summary["gpus"] == 576 + 32


def test_the_tier_table_sums_the_pods_table() -> None:
    res = Twin(small_scenario(horizon_s=2 * DAY, failures=True)).run()
    row = res.tiers.set_index("tier").loc["pods"]
    for col in ("gpus", "busy_gpu_h", "failed_gpu_h", "it_energy_mwh", "facility_energy_mwh"):
        assert row[col] == pytest.approx(res.pods[col].sum(), rel=1e-12)
    assert row["busy_gpu_h"] == pytest.approx(res.summary["busy_gpu_h"], rel=1e-9)
    assert row["mean_pue"] == pytest.approx(res.summary["mean_pue"], rel=1e-9)


def test_every_event_kind_has_exactly_one_handler() -> None:
    twin = Twin(small_scenario(horizon_s=DAY))
    twin.advance_to(0.0)
    claimed = set(twin.handlers)
    assert claimed == set(EventKind) - {EventKind.TIER}  # the pods have no tier events
    with pytest.raises(ValueError, match="FAILURE already has a handler"):
        twin.handlers.on(EventKind.FAILURE, lambda p: None)
    assert len(Handlers()) == 0


def test_no_component_imports_the_twin() -> None:
    """The twin wires its components; none of them (results included) imports it back."""
    wiring = {"__init__.py", "simulator.py", "realtime.py"}
    for path in sorted(TWIN.glob("*.py")):
        if path.name in wiring:
            continue
        tree = ast.parse(path.read_text())
        names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert "megapod.sim.twin.simulator" not in names, path.name
