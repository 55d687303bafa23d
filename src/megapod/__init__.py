"""megapod: design, simulate and operate modular AI data centers.

The few things a user imports::

    import megapod
    site = megapod.load_site("examples/megapod.yaml")   # validated, physically checked
    inv = megapod.site_inventory(site)                  # peak figures
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from megapod.errors import CatalogError, InfeasibleError, MegapodError, SpecError, UnitError

if TYPE_CHECKING:
    from megapod.planner.inventory import SiteInventory
    from megapod.spec import Site

__version__ = "0.1.0"


def load_site(path: str | Path) -> Site:
    """Read a site spec, validate it and run the physical checks; raise on the first error."""
    from megapod.planner.checks import check_site, raise_on_errors
    from megapod.spec import load_site as load_schema

    site = load_schema(path)
    raise_on_errors(check_site(site))
    return site


def site_inventory(site: Site) -> SiteInventory:
    """Peak figures of a site (see :mod:`megapod.planner.inventory`)."""
    from megapod.planner.inventory import site_inventory as inventory

    return inventory(site)


__all__ = [
    "CatalogError",
    "InfeasibleError",
    "MegapodError",
    "SpecError",
    "UnitError",
    "load_site",
    "site_inventory",
]
