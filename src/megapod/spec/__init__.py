"""The site description: pydantic models, frozen, loaded once at the file edge.

``load_site(path)`` reads YAML or TOML and returns a validated :class:`Site`; physical
checks (power, cooling, ports, ride-through) live in :mod:`megapod.planner.checks`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from megapod.spec.cooling import Cooling
from megapod.spec.fabric import Fabric, InterPod, ScaleOut
from megapod.spec.fleet import Fleet
from megapod.spec.hardware import Rack, Server
from megapod.spec.loader import parse_document, read_document, validate
from megapod.spec.power import Battery, Generators, PowerChain, PowerSystem
from megapod.spec.site import Grid, Location, Pod, Site


def load_site(path: str | Path) -> Site:
    """Read and validate a site spec file (schema only; see ``planner.checks``)."""
    return site_from_dict(read_document(path), name=str(path))


def site_from_dict(doc: dict[str, Any], name: str = "") -> Site:
    """Validate a parsed document as a :class:`Site`.

    A document may hold the site at its top level or under a ``site:`` key.
    """
    if set(doc) == {"site"} and isinstance(doc["site"], dict):
        doc = doc["site"]
    return validate(Site, doc, name)


__all__ = [
    "Battery",
    "Cooling",
    "Fabric",
    "Fleet",
    "Generators",
    "Grid",
    "InterPod",
    "Location",
    "Pod",
    "PowerChain",
    "PowerSystem",
    "Rack",
    "ScaleOut",
    "Server",
    "Site",
    "load_site",
    "parse_document",
    "read_document",
    "site_from_dict",
]
