"""The site's pods as the twin's first compute tier: nodes from the layout, failures from the
reliability catalog (one Poisson stream over every GPU), power through each design's chain and
cooling plant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from megapod.catalog.reliability import ReliabilityEntry
from megapod.physics.power_chain import PowerFlow
from megapod.sim.twin.layout import Layout
from megapod.sim.twin.power import facility_flow, it_power_w, thermal_speed
from megapod.sim.twin.tiers import FloatArray, TierNodes, TierSite
from megapod.spec.scenario import Scenario


class PodTier:
    """The pods of the site (a :class:`~megapod.sim.twin.tiers.Tier`): one power group a pod
    design, its replicas together.

    Args:
        scenario: the run's scenario (the site's pods and their cooling plants).
        layout: the site expanded into nodes.
        reliability: the failure model, or None without failures.
    """

    name = "pods"

    def __init__(self, scenario: Scenario, layout: Layout, reliability: ReliabilityEntry | None) -> None:
        self.layout = layout
        self.pods = scenario.site.pods
        self.designs = layout.designs
        self.nodes = TierNodes(
            layout.node_gpus,
            layout.node_partition,
            layout.partition_names,
            layout.node_design,
            [d.name for d in layout.designs],
        )
        self.reliability = reliability
        self.rate_per_gpu_s = (
            reliability.rate_per_gpu_s * scenario.failures.rate_scale if reliability is not None else 0.0
        )
        self.node_cum = np.cumsum(np.asarray(layout.node_gpus, dtype=np.int64))
        self.total_gpus = int(self.node_cum[-1])
        self.comp_p = np.zeros(0)
        if reliability is not None:
            counts = np.array([c.interruptions for c in reliability.components], dtype=np.float64)
            self.comp_p = counts / counts.sum()

    def attach(self, site: TierSite) -> None:
        """Keep the ledger's GPU counts of the pod designs (the pods' capacity only changes by
        failures and blackouts: no events of their own)."""
        self.site = site
        self.ledger = site.ledger

    def on_event(self, payload: int) -> None:  # pragma: no cover - pods schedule no tier events
        """Pods have no events of their own."""

    # ------------------------------------------------------------- failures
    def failure_rate_per_s(self) -> float:
        """``λ·N_gpus``: the superposition of every GPU's component failures [1/s]."""
        return self.rate_per_gpu_s * self.total_gpus

    def draw_failure(self, rng: np.random.Generator) -> tuple[int, int, float]:
        """A GPU drawn uniformly, the component in proportion to its share of interruptions."""
        assert self.reliability is not None
        gpu = int(rng.integers(self.total_gpus))
        node = int(np.searchsorted(self.node_cum, gpu, side="right"))
        comp = int(rng.choice(len(self.comp_p), p=self.comp_p))
        slot = gpu - (int(self.node_cum[node - 1]) if node else 0)
        return self.site.node0 + node, slot, self.reliability.components[comp].repair_s

    # ---------------------------------------------------------------- power
    def _counts(self) -> tuple[list[int], list[int]]:
        led = self.ledger
        g0 = self.site.group0
        n = len(self.designs)
        busy = led.busy_d[g0 : g0 + n]
        up = [
            d.gpus - f - dn
            for d, f, dn in zip(self.designs, led.failed_d[g0 : g0 + n], led.down_d[g0 : g0 + n], strict=True)
        ]
        return busy, up

    def it_power_w(self, gpu_cap_w: float | None) -> float:
        """IT load of every pod now [W]."""
        busy, up = self._counts()
        return sum(
            float(it_power_w(d, b, u, gpu_cap_w)) for d, b, u in zip(self.designs, busy, up, strict=True)
        )

    def facility_power_w(self, outdoor_c: float, gpu_cap_w: float | None) -> float:
        """Facility power of every pod now, through its chain and cooling plant [W]."""
        busy, up = self._counts()
        total = 0.0
        for d, pod, b, u in zip(self.designs, self.pods, busy, up, strict=True):
            it = it_power_w(d, b, u, gpu_cap_w)
            total += float(facility_flow(d, it, pod.cooling.plant, outdoor_c).facility_w)
        return total

    def thermal(self, outdoor_c: float) -> tuple[float, float | None]:
        """The slowest design's speed and GPU cap under its derated plant."""
        busy, up = self._counts()
        speed, cap = 1.0, None
        for d, pod, b, u in zip(self.designs, self.pods, busy, up, strict=True):
            s, c = thermal_speed(d, pod.cooling.plant, pod.cooling.capacity_w * pod.count, outdoor_c, b, u)
            if s < speed:
                speed, cap = s, c
        return speed, cap

    def admission_w_per_gpu(self, group: int) -> float:
        """TDP above idle of the design's GPU [W]."""
        d = self.designs[group]
        return d.gpu_tdp_w - d.gpu_idle_w

    def power_flow(
        self, group: int, busy: FloatArray, up: FloatArray, outdoor_c: FloatArray, gpu_cap_w: FloatArray
    ) -> PowerFlow:
        """IT and facility power of design ``group`` over arrays [W]: busy GPUs under the cap."""
        d = self.designs[group]
        return facility_flow(d, it_power_w(d, busy, up, gpu_cap_w), self.pods[group].cooling.plant, outdoor_c)

    def group_rows(self) -> Sequence[dict[str, Any]]:
        """One row a pod design: its name, replicas and GPUs."""
        return [
            {"tier": self.name, "pod": pod.name, "count": pod.count, "gpus": d.gpus}
            for d, pod in zip(self.designs, self.pods, strict=True)
        ]
