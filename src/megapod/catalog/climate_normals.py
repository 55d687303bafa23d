"""The bundled climate normals (``megapod/data/climate_normals.yaml``) as plain data, read
without numpy so that a spec can check a climate name cheaply."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def normals() -> dict[str, dict[str, Any]]:
    """Climate profile name → its monthly normals and source."""
    text = resources.files("megapod").joinpath("data", "climate_normals.yaml").read_text("utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return {str(k): v for k, v in data.items()}


def climate_names() -> list[str]:
    """Names of the bundled climate profiles."""
    return sorted(normals())
