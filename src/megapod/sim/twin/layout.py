"""The site as the twin sees it: nodes, partitions and per-design power parameters."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from megapod.errors import SpecError
from megapod.physics.inventory import pod_inventory
from megapod.physics.power_chain import ChainCurves
from megapod.spec.loader import check_regular_file
from megapod.spec.scenario import Scenario
from megapod.spec.site import Site


@dataclass(frozen=True)
class DesignPower:
    """Power parameters of one pod design, for all its replicas together.

    Attributes:
        gpus: GPUs of the design (replicas counted).
        gpu_idle_w, gpu_tdp_w: board power of one GPU idle and at TDP [W].
        host_full_w: non-GPU server power at full load, summed over servers [W].
        switch_w: scale-out switch power [W], constant.
        rated_it_w: IT peak of the design [W] (rating of its power chain).
        curves: power-chain efficiency curves.
        design_pue: the design PUE that sets the cooling COP.
    """

    name: str
    gpus: int
    gpu_idle_w: float
    gpu_tdp_w: float
    host_full_w: float
    switch_w: float
    rated_it_w: float
    curves: ChainCurves
    design_pue: float


@dataclass(frozen=True)
class Layout:
    """Nodes (servers) in order, their partitions, and what each design draws."""

    node_gpus: list[int]
    node_design: list[int]
    node_partition: list[int]
    partition_names: list[str]
    designs: list[DesignPower]
    battery_energy_wh: float
    battery_power_w: float
    generator_power_w: float
    generator_start_s: float
    battery_charge_efficiency: float = 1.0
    """Round-trip efficiency of the site's batteries, weighted by each pod's battery power."""
    node_type: list[str] = field(default_factory=list)
    """GPU type of each node (the catalog GPU of its server, or the node table's model)."""
    node_cpu_milli: list[float] = field(default_factory=list)
    """CPU of each node [milli-cores]; inf where the site declares none (no limit)."""
    node_memory_mib: list[float] = field(default_factory=list)
    """Main memory of each node [MiB]; inf where the site declares none (no limit)."""


def build_layout(scenario: Scenario) -> Layout:
    """Expand the site into nodes; partitions from ``scenario.partitions`` or one per pod design."""
    site: Site = scenario.site
    node_gpus: list[int] = []
    node_design: list[int] = []
    node_type: list[str] = []
    designs: list[DesignPower] = []
    gen_w = 0.0
    gen_start = 0.0
    for d, pod in enumerate(site.pods):
        inv = pod_inventory(pod)
        host = 0.0
        for _ in range(pod.count):
            for rack in pod.racks:
                n = rack.count * rack.servers
                node_gpus.extend([rack.server.gpus] * n)
                node_design.extend([d] * n)
                node_type.extend([rack.server.gpu.name] * n)
                host += n * rack.server.system.host_power_w
        gpu = pod.racks[0].server.gpu
        designs.append(
            DesignPower(
                name=pod.name,
                gpus=pod.gpus * pod.count,
                gpu_idle_w=gpu.idle_w,
                gpu_tdp_w=gpu.tdp_w,
                host_full_w=host,
                switch_w=inv.switch_power_w * pod.count,
                rated_it_w=inv.it_peak_w * pod.count,
                curves=ChainCurves.from_entries(pod.power.chain),
                design_pue=pod.cooling.design_pue,
            )
        )
        if pod.power.generators is not None:
            gen_w += pod.power.generators.power_w * pod.count
            gen_start = max(gen_start, pod.power.generators.unit.start_time_s)
    battery_wh = sum(p.power.battery.energy_wh * p.count for p in site.pods if p.power.battery)
    battery_w = sum(p.power.battery.power_w * p.count for p in site.pods if p.power.battery)
    charge_eff = (
        sum(
            p.power.battery.unit.round_trip_efficiency * p.power.battery.power_w * p.count
            for p in site.pods
            if p.power.battery
        )
        / battery_w
        if battery_w > 0
        else 1.0
    )
    if scenario.grid.generator_start_s is not None:
        gen_start = scenario.grid.generator_start_s
    trace = scenario.workload.trace
    cpu = [math.inf] * len(node_gpus)
    mem = [math.inf] * len(node_gpus)
    if trace is not None and trace.nodes_csv is not None:
        return _from_node_table(scenario, designs[0], battery_wh, battery_w, gen_w, gen_start, charge_eff)
    if scenario.partitions is None:
        names = [p.name for p in site.pods]
        node_partition = list(node_design)
    else:
        names, node_partition = _partitions_from_csv(scenario, len(node_gpus))
    return Layout(
        node_gpus,
        node_design,
        node_partition,
        names,
        designs,
        battery_wh,
        battery_w,
        gen_w,
        gen_start,
        charge_eff,
        node_type,
        cpu,
        mem,
    )


def _from_node_table(
    scenario: Scenario,
    design: DesignPower,
    battery_wh: float,
    battery_w: float,
    gen_w: float,
    gen_start: float,
    charge_eff: float,
) -> Layout:
    """The traced cluster's nodes (``workload.trace.nodes_csv``) as one mixed pool named after
    the table, powered like the first pod design's GPUs scaled to the table's GPU count (its
    host, switch and rating in proportion; CPU-only nodes draw no GPU power)."""
    from megapod.traces import read_alibaba_nodes

    trace = scenario.workload.trace
    assert trace is not None and trace.nodes_csv is not None
    if scenario.partitions is not None:
        raise SpecError(
            "partitions",
            "give either a partition layout or workload.trace.nodes_csv (its nodes form the pool)",
        )
    if len(scenario.site.pods) != 1:
        raise SpecError(
            "workload.trace.nodes_csv",
            f"a node table replaces the site's nodes: give a site of one pod design (its design "
            f"powers the table's GPUs), not {len(scenario.site.pods)}",
        )
    table = read_alibaba_nodes(scenario.resolve(trace.nodes_csv))
    gpus = sum(table.gpus)
    if gpus == 0:
        raise SpecError(
            "workload.trace.nodes_csv", "the node table holds no GPU; at least one node needs GPUs"
        )
    scale = gpus / max(design.gpus, 1)
    scaled = replace(
        design,
        name=f"{design.name} (node table)",
        gpus=gpus,
        host_full_w=design.host_full_w * scale,
        switch_w=design.switch_w * scale,
        rated_it_w=design.rated_it_w * scale,
    )
    n = len(table)
    return Layout(
        list(table.gpus),
        [0] * n,
        [0] * n,
        [Path(trace.nodes_csv).stem],
        [scaled],
        battery_wh,
        battery_w,
        gen_w,
        gen_start,
        charge_eff,
        list(table.gpu_type),
        list(table.cpu_milli),
        list(table.memory_mib),
    )


def _partitions_from_csv(scenario: Scenario, nodes: int) -> tuple[list[str], list[int]]:
    assert scenario.partitions is not None
    path = scenario.resolve(scenario.partitions.nodes_csv)
    check_regular_file(path, "partition layout CSV")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SpecError("partitions.nodes_csv", f"cannot read {path}: {type(exc).__name__}") from None
    names: list[str] = []
    out: list[int] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) < 2 or not row[1].strip().isdigit():
            # the row itself is not echoed: the path may point at a file that is not ours to show
            raise SpecError("partitions.nodes_csv", f"{path} line {line}: expected '<partition>,<num_nodes>'")
        names.append(row[0].strip())
        out.extend([len(names) - 1] * int(row[1]))
    if len(out) > nodes:
        raise SpecError(
            "partitions.nodes_csv", f"the layout needs {len(out)} nodes but the site has only {nodes}"
        )
    # nodes beyond the layout join the last partition
    out.extend([len(names) - 1] * (nodes - len(out)))
    return names, out
