"""Human-readable numbers for terminal and HTML reports (formatting only, no physics)."""

from __future__ import annotations

import math

from megapod.units import GIGA, KILO, MEGA, PETA, TERA


def _not_finite(value: float) -> str | None:
    """``–`` for NaN (a figure that could not be computed), ``∞``/``-∞`` for an unbounded one,
    ``None`` for a finite value."""
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return None


def _si(value: float, unit: str) -> str:
    """``value`` with G, M, k or no prefix on ``unit``: 2 decimals from M up, 1 for k."""
    if (shown := _not_finite(value)) is not None:
        return shown
    if abs(value) >= GIGA:
        return f"{value / GIGA:,.2f} G{unit}"
    if abs(value) >= MEGA:
        return f"{value / MEGA:,.2f} M{unit}"
    if abs(value) >= KILO:
        return f"{value / KILO:,.1f} k{unit}"
    return f"{value:,.0f} {unit}"


def power(power_w: float) -> str:
    """``1.23 MW`` / ``456 kW`` / ``12 W``."""
    return _si(power_w, "W")


def energy(energy_wh: float) -> str:
    """``3.85 MWh`` / ``12.0 kWh``."""
    return _si(energy_wh, "Wh")


def flops(flops: float) -> str:
    """Peak throughput in PFLOP/s or EFLOP/s."""
    if (shown := _not_finite(flops)) is not None:
        return shown
    if flops >= 1e18:
        return f"{flops / 1e18:,.2f} EFLOP/s"
    if flops >= PETA:
        return f"{flops / PETA:,.1f} PFLOP/s"
    return f"{flops / TERA:,.1f} TFLOP/s"


def rate(rate_bps: float) -> str:
    """Network rate in Tb/s or Gb/s."""
    if (shown := _not_finite(rate_bps)) is not None:
        return shown
    if rate_bps >= TERA:
        return f"{rate_bps / TERA:,.1f} Tb/s"
    return f"{rate_bps / GIGA:,.0f} Gb/s"


def memory(memory_bytes: float) -> str:
    """Decimal TB or GB."""
    if (shown := _not_finite(memory_bytes)) is not None:
        return shown
    if memory_bytes >= PETA:
        return f"{memory_bytes / PETA:,.2f} PB"
    if memory_bytes >= TERA:
        return f"{memory_bytes / TERA:,.1f} TB"
    return f"{memory_bytes / GIGA:,.0f} GB"


def minutes(value_min: float) -> str:
    """Minutes, or ``-`` for none and ``∞`` for unbounded."""
    if math.isinf(value_min):
        return "∞"
    if math.isnan(value_min) or value_min <= 0:
        return "-"
    return f"{value_min:,.1f} min"


def count(value: float) -> str:
    """A large count with a word-free prefix: ``15.6 T``, ``405 B``, ``2.5 M``, ``12.0 k``, ``950``
    (never scientific notation)."""
    if (shown := _not_finite(value)) is not None:
        return shown
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (MEGA, "M"), (KILO, "k")):
        if abs(value) >= scale:
            scaled = value / scale
            digits = 0 if abs(scaled) >= 100 else 1 if abs(scaled) >= 10 else 2
            return f"{scaled:,.{digits}f} {suffix}"
    return f"{value:,.0f}"


def pipeline_stages(layers: int | None, pp: int) -> str:
    """`` (80 layers over pp 9: uneven stages of 8–9)`` where ``pp`` stages do not split the
    model's layers evenly (an odd-looking layout explains itself); ``""`` where they do."""
    if not layers or pp <= 1 or layers % pp == 0:
        return ""
    return f" ({layers} layers over pp {pp}: uneven stages of {layers // pp}–{-(-layers // pp)})"


def fixed(value: float, spec: str) -> str:
    """``format(value, spec)`` for a finite value (``fixed(0.6071, ".3f")`` → ``0.607``), ``–``
    or ``∞`` for one that is not (never ``nan``)."""
    shown = _not_finite(value)
    return shown if shown is not None else format(value, spec)


def number(value: float, significant: int = 4) -> str:
    """``value`` for people: about ``significant`` significant digits, thousands separators, no
    trailing zeros, never scientific notation (``1.25e9`` → ``1,250,000,000``, ``207.8``,
    ``0.000123456`` → ``0.0001235``); ``∞`` and ``–`` for what is not finite."""
    if (shown := _not_finite(value)) is not None:
        return shown
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = min(12, max(0, significant - 1 - magnitude))
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
