"""The site's pods node by node: one state code per node and a row per pod design.

The node states come from the cluster (free GPUs, up or down) and the ledger (failed nodes) in
a few numpy operations over every node, with no Python loop over nodes, so that a map of a
300,000-GPU site (about 37,500 nodes) takes milliseconds. Per-design power and cooling are the
pod tier's physics at the design's GPU counts now (the figures the snapshot sums).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from megapod.physics.thermal import derated_capacity_w
from megapod.sim.twin.cluster import Cluster
from megapod.sim.twin.ledger import JobLedger
from megapod.sim.twin.plant import PowerPlant
from megapod.sim.twin.pods import PodTier
from megapod.sim.twin.power import facility_flow, it_power_w, thermal_speed
from megapod.sim.twin.views import DesignNodes, NodeMap, RackGroup

#: Order of the per-design state counts.
_KINDS = "rcifd"
#: Position in :data:`_KINDS` of each ASCII code.
_KIND_OF = np.zeros(256, dtype=np.int64)
_KIND_OF[[ord(c) for c in _KINDS]] = np.arange(len(_KINDS))


class NodeMapper:
    """Builds :class:`~megapod.sim.twin.views.NodeMap` views of one twin's pods (the layout
    arrays are made once).

    Args:
        pods: the twin's pod tier (its nodes come first in the cluster).
        cluster: every node of the twin.
    """

    def __init__(self, pods: PodTier, cluster: Cluster) -> None:
        self.pods = pods
        self.cluster = cluster
        self.n = n = len(pods.nodes.gpus)
        self.gpus: npt.NDArray[np.int64] = np.asarray(cluster.node_gpus[:n], dtype=np.int64)
        self.design: npt.NDArray[np.int64] = np.asarray(pods.nodes.group, dtype=np.int64)
        designs = pods.designs
        self.per_design = np.bincount(self.design, minlength=len(designs)).astype(np.int64)
        self.first = np.concatenate(([0], np.cumsum(self.per_design)[:-1])).astype(np.int64)
        self.tdp_w = np.array([d.gpu_tdp_w for d in designs], dtype=np.float64)
        self.racks: list[list[RackGroup]] = []
        for pod, nodes in zip(pods.pods, self.per_design.tolist(), strict=True):
            groups = [RackGroup(r.name, r.count, r.servers) for r in pod.racks]
            # a traced node table replaces the spec's servers: its nodes have no racks
            self.racks.append(groups if pod.servers * pod.count == nodes else [])

    def codes(self, ledger: JobLedger, gpu_cap_w: float | None) -> npt.NDArray[np.uint8]:
        """One ASCII state code per pod node (see :data:`~megapod.sim.twin.views.NODE_STATE_CODES`)."""
        n = self.n
        up = np.array(self.cluster.node_up[:n], dtype=bool)
        failed = np.array(ledger.node_failed[:n], dtype=bool)
        busy = up & (self.cluster.node_free[:n] < self.gpus)
        out = np.full(n, ord("i"), dtype=np.uint8)
        out[busy] = ord("r")
        if gpu_cap_w is not None:
            capped_design = gpu_cap_w < self.tdp_w
            out[busy & capped_design[self.design]] = ord("c")
        out[~up] = ord("d")
        out[failed] = ord("f")
        return out

    def build(self, ledger: JobLedger, plant: PowerPlant, t_s: float) -> NodeMap:
        """The map at clock ``t_s`` (the ledger, cluster and plant as they are now)."""
        cap = plant.gpu_cap_w
        codes = self.codes(ledger, cap)
        ndesign = len(self.pods.designs)
        counts = np.bincount(self.design * len(_KINDS) + _KIND_OF[codes], minlength=ndesign * len(_KINDS))
        table = counts.reshape(ndesign, len(_KINDS)).tolist()
        g0 = self.pods.site.group0
        outdoor = plant.outdoor_c
        rows: list[DesignNodes] = []
        for d, (design, pod) in enumerate(zip(self.pods.designs, self.pods.pods, strict=True)):
            busy = ledger.busy_d[g0 + d]
            failed = ledger.failed_d[g0 + d]
            down = ledger.down_d[g0 + d]
            up = design.gpus - failed - down
            it = float(it_power_w(design, busy, up, cap))
            facility = float(facility_flow(design, it, pod.cooling.plant, outdoor).facility_w)
            capacity = float(
                derated_capacity_w(pod.cooling.plant, pod.cooling.capacity_w * pod.count, outdoor)
            )
            speed, thermal_cap = thermal_speed(
                design, pod.cooling.plant, pod.cooling.capacity_w * pod.count, outdoor, busy, up
            )
            r, c, i, f, dn = table[d]
            rows.append(
                DesignNodes(
                    name=design.name,
                    first_node=int(self.first[d]),
                    nodes=int(self.per_design[d]),
                    replicas=pod.count if self.racks[d] else 1,
                    racks=self.racks[d],
                    nodes_running=r,
                    nodes_capped=c,
                    nodes_idle=i,
                    nodes_failed=f,
                    nodes_down=dn,
                    gpus=design.gpus,
                    gpus_busy=busy,
                    gpus_failed=failed,
                    gpus_down=down,
                    it_power_w=it,
                    facility_power_w=facility,
                    cooling_capacity_w=capacity,
                    cooling_load=it / capacity if capacity > 0 else None,
                    thermal_speed=speed,
                    thermal_cap_w=thermal_cap,
                    supply_temp_c=float(pod.cooling.plant.supply_temp_c),
                )
            )
        capacity_wh = plant.capacity_wh
        return NodeMap(
            t_s=t_s,
            nodes=self.n,
            states=codes.tobytes().decode("ascii"),
            designs=rows,
            battery_soc=plant.soc_at(t_s) / capacity_wh if capacity_wh > 0 else 0.0,
            battery_power_w=-plant.battery_rate_w or 0.0,  # never -0.0
            gpu_cap_w=cap,
            outdoor_c=outdoor,
        )
