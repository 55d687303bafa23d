"""The hardware a model runs on: one GPU type, its scale-up domain and scale-out fabric."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from megapod import catalog
from megapod.catalog.gpu import GpuEntry
from megapod.catalog.perf_calibration import PerfCalibrationEntry
from megapod.catalog.system import SystemEntry
from megapod.errors import CatalogError, SpecError
from megapod.physics.fabric import leaf_down_ports
from megapod.units import BITS_PER_BYTE

if TYPE_CHECKING:
    from megapod.spec import Pod
    from megapod.spec.training_case import CaseHardware


def calibration_for(gpu: GpuEntry) -> PerfCalibrationEntry:
    """The performance-model constants of ``gpu``'s generation (``perf_calibration.yaml``)."""
    return catalog.typed("perf-calibration", gpu.generation, PerfCalibrationEntry)


def reference_system(gpu: GpuEntry) -> SystemEntry | None:
    """The first catalog system carrying ``gpu``, else one carrying a GPU of its generation.

    Used to fill in the scale-up domain and scale-out rate a description leaves out (an
    A100 40 GB run is taken to sit in a DGX A100-like server).
    """
    systems = [catalog.system(name) for name in catalog.names("system")]
    for system in systems:
        if system.gpu == gpu.name and system.nics:
            return system
    for system in systems:
        if system.nics and catalog.gpu(system.gpu).generation == gpu.generation:
            return system
    return None


def default_system_domain(gpu: GpuEntry) -> int:
    """Scale-up domain of :func:`reference_system` [GPUs] (8 when there is none)."""
    system = reference_system(gpu)
    return system.scale_up_domain if system is not None else min(gpu.max_scale_up_domain, 8)


def default_scale_out_rate_bps(gpu: GpuEntry) -> float:
    """Per-GPU scale-out rate ``nic_rate_bps * nics / gpus`` of :func:`reference_system` [bit/s].

    200 Gb/s for DGX A100, 400 Gb/s for DGX H100. Raises :class:`CatalogError` when no
    system carries the GPU or its generation.
    """
    system = reference_system(gpu)
    if system is None:
        raise CatalogError(f"no catalog system carries gpu {gpu.name!r}; give the scale-out rate")
    return system.nic_rate_bps * system.nics / system.gpus


@dataclass(frozen=True, slots=True)
class Hardware:
    """One GPU type in a two-level fabric, as plain floats.

    Attributes:
        gpu: the GPU catalog entry.
        scale_up_domain: GPUs joined by the scale-up (NVLink-class) fabric.
        scale_up_bw_bytes_per_s: per-GPU scale-up bandwidth, one direction [byte/s].
        scale_out_rate_bps: per-GPU injection rate into the scale-out fabric [bit/s].
        scale_up_latency_s, scale_out_latency_s: per-step collective latency (alpha) [s].
        scale_out_oversubscription: down:up ratio of the scale-out leaves (1 = non-blocking).
        leaf_domains: scale-up domains one leaf switch reaches (on one rail when the fabric
            is rail-optimized); a group spanning more domains crosses the spine and gets
            ``1 / oversubscription`` of the rate.
        calibration: the generation's achievable fractions (``perf_calibration.yaml``).
        in_network_reduction: the scale-out switches reduce in the network (SHARP-style);
            data-parallel all-reduces then move the buffer once each way.
        pod_domains: scale-up domains in one pod; a group spanning more crosses the
            inter-pod links.
        inter_pod_factor: share of the per-GPU scale-out rate left across pods (the pod's
            uplink per GPU over its NIC rate, over the inter-pod oversubscription; ≤ 1).
    """

    gpu: GpuEntry
    scale_up_domain: int
    scale_up_bw_bytes_per_s: float
    scale_out_rate_bps: float
    scale_up_latency_s: float
    scale_out_latency_s: float
    calibration: PerfCalibrationEntry
    scale_out_oversubscription: float = 1.0
    leaf_domains: int = 1_000_000
    in_network_reduction: bool = False
    pod_domains: int = 1_000_000
    inter_pod_factor: float = 1.0

    def __post_init__(self) -> None:
        if self.scale_up_domain < 1:
            raise SpecError("hardware.scale_up_domain", f"{self.scale_up_domain}: must be ≥ 1")
        if self.scale_up_bw_bytes_per_s <= 0 or self.scale_out_rate_bps <= 0:
            raise SpecError("hardware", "scale-up and scale-out bandwidths must be > 0")
        if self.scale_out_oversubscription < 1:
            raise SpecError("hardware.scale_out_oversubscription", "must be ≥ 1")
        if not 0 < self.inter_pod_factor <= 1:
            raise SpecError("hardware.inter_pod_factor", f"{self.inter_pod_factor}: must be in (0, 1]")

    def for_stack_year(self, year: int | None) -> Hardware:
        """The same hardware as the software stack of ``year`` drives it (None: current).

        Only fused attention changes: it runs at the fraction of the peak that the kernels of
        that year reached on this GPU generation
        (``PerfCalibrationEntry.attention_efficiency_until``).
        """
        cal = self.calibration
        efficiency = cal.attention_efficiency_for(year)
        if efficiency == cal.attention_efficiency:
            return self
        return replace(self, calibration=cal.model_copy(update={"attention_efficiency": efficiency}))

    @property
    def scale_out_bw_bytes_per_s(self) -> float:
        """Per-GPU scale-out bandwidth, one direction [byte/s]."""
        return self.scale_out_rate_bps / BITS_PER_BYTE

    @classmethod
    def from_gpu(
        cls,
        gpu: str | GpuEntry,
        scale_up_domain: int | None = None,
        scale_out_rate_bps: float | None = None,
        scale_out_oversubscription: float = 1.0,
    ) -> Hardware:
        """Hardware from a GPU name: domain and scale-out default to the catalog's systems.

        ``scale_up_domain`` defaults to the domain of the first catalog system carrying the
        GPU (:func:`default_system_domain`: 8 for HGX/DGX boards, 72 for NVL72 racks);
        ``scale_out_rate_bps`` to :func:`default_scale_out_rate_bps`.
        """
        entry = catalog.gpu(gpu) if isinstance(gpu, str) else gpu
        cal = calibration_for(entry)
        domain = scale_up_domain if scale_up_domain is not None else default_system_domain(entry)
        rate = scale_out_rate_bps if scale_out_rate_bps is not None else default_scale_out_rate_bps(entry)
        return cls(
            gpu=entry,
            scale_up_domain=int(domain),
            scale_up_bw_bytes_per_s=entry.scale_up_bw_bytes_per_s,
            scale_out_rate_bps=float(rate),
            scale_up_latency_s=cal.scale_up_latency_s,
            scale_out_latency_s=cal.scale_out_latency_s,
            calibration=cal,
            scale_out_oversubscription=scale_out_oversubscription,
        )

    @classmethod
    def from_case(cls, hardware: CaseHardware) -> Hardware:
        """Hardware of a validation case (``validation/SCHEMA.md``).

        A null ``gpus_per_node`` takes the scale-up domain of the catalog system that carries
        the GPU (8 for DGX A100/H100); a null ``scale_out_gbps_per_gpu`` takes that system's
        NIC rate per GPU (200 Gb/s for DGX A100, 400 Gb/s for DGX H100).
        """
        gpu = catalog.gpu(hardware.gpu)
        domain = hardware.gpus_per_node or default_system_domain(gpu)
        gbps = hardware.scale_out_gbps_per_gpu
        return cls.from_gpu(gpu, domain, gbps * 1e9 if gbps is not None else None)

    @classmethod
    def from_pod(cls, pod: Pod) -> Hardware:
        """Hardware of a spec pod: its first rack's server GPU, scale-up and scale-out.

        The scale-out rate per GPU is ``nic_rate_bps * nics / gpus`` of the server system;
        latencies add the fabric's own switch latency to the generation's software latency.
        A leaf reaches ``down ports`` domains on its rail when the fabric is rail-optimized
        (each domain puts one NIC per rail on it), and ``down ports / NICs per domain``
        domains on a plain fat tree (Al-Fares et al. 2008; NVIDIA DGX SuperPOD reference
        architecture).
        """
        server = pod.racks[0].server
        system = server.system
        cal = calibration_for(server.gpu)
        scale_out = pod.fabric.scale_out
        rate = system.nic_rate_bps * system.nics / system.gpus
        if rate <= 0:
            raise SpecError(f"pods[{pod.name}].racks[0].server", "the server has no scale-out NIC")
        hops = 2 * scale_out.tiers - 1 if scale_out is not None else 1
        switch_latency = scale_out.switch.latency_s * hops if scale_out is not None else 0.0
        leaf_domains = 1_000_000
        if scale_out is not None:
            down = leaf_down_ports(scale_out.switch.radix, scale_out.oversubscription)
            nics_per_domain = max(1.0, system.nics * system.scale_up_domain / system.gpus)
            rails = system.nics if scale_out.topology == "rail-optimized-fat-tree" else 1
            leaf_domains = max(1, int(down * rails // nics_per_domain))
        return cls(
            gpu=server.gpu,
            scale_up_domain=system.scale_up_domain,
            scale_up_bw_bytes_per_s=pod.fabric.scale_up.bw_bytes_per_s,
            scale_out_rate_bps=rate,
            scale_up_latency_s=cal.scale_up_latency_s + pod.fabric.scale_up.latency_s,
            scale_out_latency_s=cal.scale_out_latency_s + switch_latency,
            calibration=cal,
            scale_out_oversubscription=(scale_out.oversubscription if scale_out is not None else 1.0),
            leaf_domains=leaf_domains,
            in_network_reduction=bool(scale_out is not None and scale_out.switch.in_network_reduction),
            pod_domains=max(1, pod.gpus // max(1, system.scale_up_domain)),
        )

    def across_pods(self, uplink_rate_bps_per_pod: float, oversubscription: float, pod_gpus: int) -> Hardware:
        """This hardware with groups that cross pods slowed to the inter-pod links.

        The factor is ``min(1, uplink / (pod_gpus · rate)) / oversubscription`` of the per-GPU
        scale-out rate (a site's ``inter_pod`` fabric: uplink per pod toward the site core).
        """
        from dataclasses import replace

        per_gpu = uplink_rate_bps_per_pod / max(1, pod_gpus)
        factor = min(1.0, per_gpu / self.scale_out_rate_bps) / max(1.0, oversubscription)
        return replace(self, inter_pod_factor=max(1e-6, factor))
