"""megapod: design, simulate and operate modular AI data centers."""

from megapod.errors import CatalogError, InfeasibleError, MegapodError, SpecError, UnitError

__version__ = "0.1.0"

__all__ = ["CatalogError", "InfeasibleError", "MegapodError", "SpecError", "UnitError"]
