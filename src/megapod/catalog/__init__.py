"""The hardware catalog: YAML data files with a source for every entry.

Each *kind* of entry (``gpu``, ``system``, ``battery`` …) is stored in one YAML file under
``catalog/data/`` as a mapping ``name -> fields`` and validated by one pydantic model. Look an
entry up with :func:`get`; list names with :func:`names`. A spec may reference an entry by name
and override any of its fields (:func:`resolve`).

To add a kind, add its model and its file to ``KINDS``; a duplicate kind is refused.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from megapod.catalog.cooling import CoolingPlantEntry
from megapod.catalog.entry import CatalogEntry
from megapod.catalog.fabric import ScaleUpEntry, SwitchEntry
from megapod.catalog.gpu import GpuEntry
from megapod.catalog.model import ModelEntry
from megapod.catalog.perf_calibration import PerfCalibrationEntry
from megapod.catalog.power import BatteryEntry, EfficiencyCurveEntry, GeneratorEntry
from megapod.catalog.price import GridRegionEntry, PriceTableEntry
from megapod.catalog.reliability import ReliabilityEntry
from megapod.catalog.system import SystemEntry
from megapod.catalog.vehicle import HomeRegionEntry, MobilityEntry, VehicleComputeEntry
from megapod.errors import CatalogError
from megapod.registry import Registry

E = TypeVar("E", bound=CatalogEntry)


@dataclass(frozen=True)
class Kind:
    """One kind of catalog entry: its data file and its model."""

    file: str
    model: type[CatalogEntry]


#: The kinds of catalog entry, on the package's one registry mechanism.
KINDS: Registry[Kind] = Registry("catalog kind")


def register_kind(kind: str, file: str, model: type[CatalogEntry]) -> None:
    """Register a kind of catalog entry stored in ``catalog/data/<file>``."""
    if kind in KINDS:
        raise CatalogError(f"catalog kind {kind!r} is already registered")
    KINDS.register(kind, Kind(file, model))


register_kind("gpu", "gpus.yaml", GpuEntry)
register_kind("system", "systems.yaml", SystemEntry)
register_kind("scale-up", "scale_up.yaml", ScaleUpEntry)
register_kind("switch", "switches.yaml", SwitchEntry)
register_kind("battery", "batteries.yaml", BatteryEntry)
register_kind("efficiency", "efficiency.yaml", EfficiencyCurveEntry)
register_kind("generator", "generators.yaml", GeneratorEntry)
register_kind("cooling", "cooling.yaml", CoolingPlantEntry)
register_kind("vehicle", "vehicles.yaml", VehicleComputeEntry)
register_kind("mobility", "fleet_mobility.yaml", MobilityEntry)
register_kind("home-region", "fleet_homes.yaml", HomeRegionEntry)
register_kind("model", "models.yaml", ModelEntry)
register_kind("perf-calibration", "perf_calibration.yaml", PerfCalibrationEntry)
register_kind("reliability", "reliability.yaml", ReliabilityEntry)
register_kind("prices", "prices.yaml", PriceTableEntry)
register_kind("grid-region", "grid_regions.yaml", GridRegionEntry)


def raw(kind: str) -> dict[str, dict[str, Any]]:
    """The raw field mappings of every entry of ``kind``, as written in its data file."""
    return _raw(_kind(kind).file)


@cache
def _raw(file: str) -> dict[str, dict[str, Any]]:
    text = resources.files("megapod.catalog").joinpath("data", file).read_text("utf-8")
    # The package's own data, so libyaml's parser where PyYAML has it: the same documents,
    # built by the same safe constructor, in a tenth of the time (``validate`` reads seven).
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(data, dict):
        raise CatalogError(f"catalog file {file} must be a mapping of name -> fields")
    out: dict[str, dict[str, Any]] = {}
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise CatalogError(f"catalog file {file}: entry {name!r} must be a mapping")
        out[str(name)] = {"name": str(name), **fields}
    return out


def names(kind: str) -> list[str]:
    """Names of the entries of ``kind``, sorted."""
    return sorted(raw(kind))


def get(kind: str, name: str) -> CatalogEntry:
    """The entry ``name`` of ``kind``; unknown names get a suggestion of the nearest."""
    return _get(kind, name)


@cache
def _get(kind: str, name: str) -> CatalogEntry:
    return resolve(kind, name, {})


def resolve(kind: str, name: str, overrides: dict[str, Any]) -> CatalogEntry:
    """The entry ``name`` of ``kind`` with ``overrides`` applied on top, validated again."""
    entries = raw(kind)
    if name not in entries:
        raise CatalogError(f"unknown {kind} {name!r}{suggest(name, entries)}")
    fields = {**entries[name], **overrides}
    try:
        return _kind(kind).model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogError(f"{kind} {name!r}: {where}: {first['msg']}") from None


def typed(kind: str, name: str, model: type[E]) -> E:
    """Like :func:`get` but typed: the entry is checked to be a ``model``."""
    entry = get(kind, name)
    if not isinstance(entry, model):  # pragma: no cover - KINDS ties kind to model
        raise CatalogError(f"{kind} {name!r} is not a {model.__name__}")
    return entry


def suggest(word: str, choices: Any) -> str:
    """``"; did you mean 'x'?"`` for the nearest choice, or a list of the valid ones."""
    options = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    if close:
        return f"; did you mean {close[0]!r}?"
    shown = ", ".join(options[:12]) + (" …" if len(options) > 12 else "")
    return f"; known: {shown}"


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise CatalogError(f"unknown catalog kind {kind!r}; kinds: {', '.join(sorted(KINDS))}")
    return KINDS[kind]


def gpu(name: str) -> GpuEntry:
    """The GPU entry ``name``."""
    return typed("gpu", name, GpuEntry)


def system(name: str) -> SystemEntry:
    """The server system entry ``name``."""
    return typed("system", name, SystemEntry)


__all__ = [
    "KINDS",
    "BatteryEntry",
    "CatalogEntry",
    "CoolingPlantEntry",
    "EfficiencyCurveEntry",
    "GeneratorEntry",
    "GpuEntry",
    "ScaleUpEntry",
    "SwitchEntry",
    "SystemEntry",
    "VehicleComputeEntry",
    "get",
    "gpu",
    "names",
    "raw",
    "register_kind",
    "resolve",
    "suggest",
    "system",
]
