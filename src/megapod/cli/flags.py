"""Checks of command-line flags at the edge where they enter, before any work.

A float flag never takes ``nan`` or ``inf`` (a range check lets NaN through, since every
comparison with it is false), and a flag that carries a quantity needs its unit: a person who
writes ``--time-budget 20`` may mean minutes where SI means seconds.
"""

from __future__ import annotations

import math

import typer

from megapod.errors import SpecError, UnitError
from megapod.units import require_unit


def finite(value: float | None) -> float | None:
    """Typer callback of every float option: refuse a value that is not a finite number."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value}: give a finite number")
    return value


def with_unit(flag: str, text: str, dimension: str) -> str:
    """``text`` of ``flag`` if it carries a unit of ``dimension``; else one line naming the flag."""
    try:
        return require_unit(text, dimension)
    except UnitError as exc:
        raise SpecError(flag, str(exc)) from None


def ramp_with_unit(flag: str, text: str) -> str:
    """``text`` of ``flag`` if it is a power per second with its unit (``"10 MW/s"``)."""
    stripped = text.strip()
    power = stripped.removesuffix("/s")
    if power != stripped and power.strip():
        try:
            require_unit(power, "power")
        except UnitError:
            pass
        else:
            return text
    raise SpecError(flag, f"{text!r}: write the ramp as a power per second, e.g. '10 MW/s'")
