"""Units: named conversion constants and quantity parsing at the file edge.

Inside megapod every quantity is a float in SI base units with the unit in its name:
``power_w`` (watt), ``energy_wh`` (watt-hour), ``duration_s`` (second), ``rate_bps``
(bit per second), ``bw_bytes_per_s`` (byte per second), ``memory_bytes`` (byte),
``flops`` (floating-point operations per second), ``temp_c`` (degree Celsius).

Decimal prefixes (k = 10^3, G = 10^9) are used for everything, as datasheets do for bandwidth
and power. Binary prefixes appear only where a name says so (``KiB``, ``GiB``), and are defined
here once so that no module writes ``2**30`` inline.

Strings such as ``"35 kW"``, ``"3.9 MWh"``, ``"400 Gb/s"`` or ``"80 GiB"`` are parsed by
:func:`parse_quantity` when a file is read; a number without a unit is taken as already being
in the SI unit of the field.
"""

from __future__ import annotations

import math
import re
from typing import Final

from megapod.errors import UnitError

# Decimal prefixes
KILO: Final = 1e3
MEGA: Final = 1e6
GIGA: Final = 1e9
TERA: Final = 1e12
PETA: Final = 1e15
EXA: Final = 1e18
MILLI: Final = 1e-3

# Binary prefixes (bytes only)
KIB: Final = 1024.0
MIB: Final = 1024.0**2
GIB: Final = 1024.0**3
TIB: Final = 1024.0**4

# Time
MINUTE_S: Final = 60.0
HOUR_S: Final = 3600.0
DAY_S: Final = 86400.0
YEAR_S: Final = 365.0 * DAY_S
HOURS_PER_YEAR: Final = 8760

# Energy
WH_PER_J: Final = 1.0 / 3600.0
J_PER_WH: Final = 3600.0

BITS_PER_BYTE: Final = 8.0

_PREFIX: Final[dict[str, float]] = {
    "": 1.0,
    "m": MILLI,
    "k": KILO,
    "K": KILO,
    "M": MEGA,
    "G": GIGA,
    "T": TERA,
    "P": PETA,
    "E": EXA,
}


def _prefixed(base: dict[str, float], prefixes: str = "kKMGTPE") -> dict[str, float]:
    table: dict[str, float] = {}
    for symbol, factor in base.items():
        table[symbol] = factor
        for p in prefixes:
            table[p + symbol] = factor * _PREFIX[p]
    return table


#: Dimension name -> {unit symbol -> factor to the SI unit of that dimension}.
UNITS: Final[dict[str, dict[str, float]]] = {
    "power": _prefixed({"W": 1.0}),
    "energy": {
        **_prefixed({"Wh": 1.0}),
        **{k: v * WH_PER_J for k, v in _prefixed({"J": 1.0}).items()},
    },
    "rate": {
        **_prefixed({"b/s": 1.0, "bps": 1.0, "bit/s": 1.0}),
        **{k: v * BITS_PER_BYTE for k, v in _prefixed({"B/s": 1.0}).items()},
    },
    "bandwidth": {
        **_prefixed({"B/s": 1.0}),
        **{k: v / BITS_PER_BYTE for k, v in _prefixed({"b/s": 1.0, "bps": 1.0}).items()},
    },
    "memory": {
        **_prefixed({"B": 1.0}),
        "KiB": KIB,
        "MiB": MIB,
        "GiB": GIB,
        "TiB": TIB,
    },
    "flops": _prefixed({"FLOP/s": 1.0, "FLOPS": 1.0, "flop/s": 1.0}),
    "time": {
        "ms": MILLI,
        "s": 1.0,
        "min": MINUTE_S,
        "h": HOUR_S,
        "d": DAY_S,
        "day": DAY_S,
        "days": DAY_S,
        "y": YEAR_S,
        "yr": YEAR_S,
    },
    "temperature": {"C": 1.0, "°C": 1.0, "degC": 1.0},
    "length": {"m": 1.0, "km": KILO, "mm": MILLI},
    "count": {"": 1.0, "k": KILO, "M": MEGA, "G": GIGA, "T": TERA},
}

#: The SI unit of each dimension, for messages.
SI_UNIT: Final[dict[str, str]] = {
    "power": "W",
    "energy": "Wh",
    "rate": "b/s",
    "bandwidth": "B/s",
    "memory": "B",
    "flops": "FLOP/s",
    "time": "s",
    "temperature": "°C",
    "length": "m",
    "count": "",
}

_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)?\s*$")


def parse_quantity(value: object, dimension: str) -> float:
    """Return ``value`` as a float in the SI unit of ``dimension``.

    ``value`` may be a number (already SI) or a string such as ``"35 kW"``. Fahrenheit is
    refused on purpose: write temperatures in °C.

    Raises:
        UnitError: the value is not a number, the unit is unknown, or it belongs to another
            dimension (``"35 kg"`` for a power).
    """
    if isinstance(value, bool):
        raise UnitError(f"expected a {dimension} quantity, got a boolean {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        match = _QUANTITY.match(value)
        if match is None:
            raise UnitError(
                f"{value!r} is not a {dimension} quantity: write a number and a unit, "
                f"e.g. '10 {_example_unit(dimension)}'"
            )
        number = float(match.group(1))
        unit = (match.group(2) or "").strip()
        table = {"": 1.0, **UNITS[dimension]}
        if unit not in table:
            other = [d for d, t in UNITS.items() if unit in t and d != dimension]
            hint = f" ({unit!r} is a unit of {other[0]})" if other and unit else ""
            raise UnitError(
                f"{value!r}: unknown {dimension} unit {unit!r}{hint}; "
                f"use one of {', '.join(_common_units(dimension))}"
            )
        number *= table[unit]
    else:
        raise UnitError(f"expected a {dimension} quantity, got {type(value).__name__} {value!r}")
    if not math.isfinite(number):
        raise UnitError(f"{value!r} is not a finite number")
    return number


def require_unit(text: str, dimension: str) -> str:
    """``text`` if it carries a unit; a bare number is refused (a flag is read by a person, who
    may mean days where SI means seconds)."""
    match = _QUANTITY.match(text)
    if match is not None and not match.group(2):
        raise UnitError(
            f"{text!r} has no unit: write the {dimension} with one, e.g. '{text} {_example_unit(dimension)}'"
        )
    return text


def _common_units(dimension: str) -> list[str]:
    common = {
        "power": ["W", "kW", "MW", "GW"],
        "energy": ["Wh", "kWh", "MWh", "GWh", "J", "MJ"],
        "rate": ["Mb/s", "Gb/s", "Tb/s", "GB/s"],
        "bandwidth": ["GB/s", "TB/s", "Gb/s"],
        "memory": ["GB", "TB", "GiB", "TiB"],
        "flops": ["TFLOP/s", "PFLOP/s"],
        "time": ["ms", "s", "min", "h", "d"],
        "temperature": ["°C", "C"],
        "length": ["m", "km"],
        "count": ["", "k", "M"],
    }
    return common[dimension]


def _example_unit(dimension: str) -> str:
    return _common_units(dimension)[1 if dimension != "temperature" else 0]
