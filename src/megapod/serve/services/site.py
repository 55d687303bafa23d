"""The site: spec, inventory, the aggregated map, pods and nodes (from the spec, so that a map
of a 300,000-GPU site is a few kilobytes), and the node map (one character a node, from the
backend: about 38 kB for that site)."""

from __future__ import annotations

from typing import Any

from megapod.serve.plane import ControlPlane
from megapod.spec.site import Pod


def pod_json(pod: Pod) -> dict[str, Any]:
    """One pod design: its replicas, GPUs, nodes and rack kinds."""
    return {
        "name": pod.name,
        "count": pod.count,
        "gpus": pod.gpus * pod.count,
        "gpus_per_pod": pod.gpus,
        "nodes": pod.servers * pod.count,
        "racks": [
            {
                "name": r.name,
                "count": r.count * pod.count,
                "per_pod": r.count,
                "server": str(getattr(r.server.system, "name", "")),
                "gpu": str(getattr(r.server.gpu, "name", "")),
                "servers": r.servers,
                "gpus": r.gpus,
            }
            for r in pod.racks
        ],
        "feed_w": float(pod.power.feed_w),
        "cooling_capacity_w": float(pod.cooling.capacity_w),
    }


def inventory(plane: ControlPlane) -> dict[str, Any]:
    """Counts of the site."""
    site = plane.site
    return {
        "pods": site.pod_count,
        "racks": sum(p.rack_count * p.count for p in site.pods),
        "servers": sum(p.servers * p.count for p in site.pods),
        "gpus": site.gpus,
        "feed_w": float(site.grid.feed_w),
    }


def site_view(plane: ControlPlane) -> dict[str, Any]:
    """Spec, inventory and live state."""
    site = plane.site
    return {
        "name": site.name,
        "description": site.description,
        "backend": plane.backend.name,
        "spec": site.model_dump(mode="json"),
        "inventory": inventory(plane),
        "state": plane.latest,
    }


_MAP_STATE = (
    "nodes_up",
    "nodes_failed",
    "nodes_down",
    "gpus",
    "gpus_busy",
    "gpus_failed",
    "gpus_down",
    "gpu_cap_w",
    "it_power_w",
    "facility_power_w",
    "battery_soc",
    "blackout",
    "grid_limited",
)


def site_map(plane: ControlPlane) -> dict[str, Any]:
    """Pods → racks → nodes, one entry per pod design, with the site's live counts."""
    st = plane.latest
    return {
        "site": plane.site.name,
        "gpus": plane.site.gpus,
        "pods": [pod_json(p) for p in plane.site.pods],
        "state": {k: st.get(k) for k in _MAP_STATE},
    }


def node_map(plane: ControlPlane) -> dict[str, Any]:
    """The site node by node from the backend (one state code per node, a row per pod
    design), read under the control plane's lock so that a loop step never interleaves."""
    with plane.lock:
        found = plane.backend.node_map()
    return {"site": plane.site.name, "backend": plane.backend.name, **found}


def find_pod(plane: ControlPlane, name: str) -> dict[str, Any] | None:
    """One pod design by name."""
    for p in plane.site.pods:
        if p.name == name:
            return pod_json(p)
    return None


def nodes(plane: ControlPlane, pod: str | None, offset: int, limit: int) -> dict[str, Any]:
    """Nodes (servers) in spec order, a page at a time: index, pod, replica, rack and GPUs."""
    items: list[dict[str, Any]] = []
    index = 0
    total = 0
    for p in plane.site.pods:
        per_replica = p.servers
        n = per_replica * p.count
        if pod is not None and p.name != pod:
            index += n
            continue
        lo = max(offset - total, 0)
        hi = min(n, offset + limit - total)
        for k in range(lo, max(hi, lo)):
            replica, within = divmod(k, per_replica)
            rack_name, gpus = _rack_at(p, within)
            items.append(
                {"index": index + k, "pod": p.name, "replica": replica, "rack": rack_name, "gpus": gpus}
            )
        total += n
        index += n
    return {"items": items, "total": total}


def _rack_at(pod: Pod, server: int) -> tuple[str, int]:
    for r in pod.racks:
        n = r.count * r.servers
        if server < n:
            return r.name, r.server.gpus
        server -= n
    return pod.racks[-1].name, 0
