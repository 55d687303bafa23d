"""Human-readable numbers for terminal and HTML reports (formatting only, no physics)."""

from __future__ import annotations

import math

from megapod.units import GIGA, KILO, MEGA, PETA, TERA


def power(power_w: float) -> str:
    """``1.23 MW`` / ``456 kW`` / ``12 W``."""
    if abs(power_w) >= 1e9:
        return f"{power_w / 1e9:,.2f} GW"
    if abs(power_w) >= MEGA:
        return f"{power_w / MEGA:,.2f} MW"
    if abs(power_w) >= KILO:
        return f"{power_w / KILO:,.1f} kW"
    return f"{power_w:,.0f} W"


def energy(energy_wh: float) -> str:
    """``3.85 MWh`` / ``12.0 kWh``."""
    if abs(energy_wh) >= 1e9:
        return f"{energy_wh / 1e9:,.2f} GWh"
    if abs(energy_wh) >= MEGA:
        return f"{energy_wh / MEGA:,.2f} MWh"
    if abs(energy_wh) >= KILO:
        return f"{energy_wh / KILO:,.1f} kWh"
    return f"{energy_wh:,.0f} Wh"


def flops(flops: float) -> str:
    """Peak throughput in PFLOP/s or EFLOP/s."""
    if flops >= 1e18:
        return f"{flops / 1e18:,.2f} EFLOP/s"
    if flops >= PETA:
        return f"{flops / PETA:,.1f} PFLOP/s"
    return f"{flops / TERA:,.1f} TFLOP/s"


def rate(rate_bps: float) -> str:
    """Network rate in Tb/s or Gb/s."""
    if rate_bps >= TERA:
        return f"{rate_bps / TERA:,.1f} Tb/s"
    return f"{rate_bps / GIGA:,.0f} Gb/s"


def memory(memory_bytes: float) -> str:
    """Decimal TB or GB."""
    if memory_bytes >= PETA:
        return f"{memory_bytes / PETA:,.2f} PB"
    if memory_bytes >= TERA:
        return f"{memory_bytes / TERA:,.1f} TB"
    return f"{memory_bytes / GIGA:,.0f} GB"


def minutes(value_min: float) -> str:
    """Minutes, or ``-`` for none and ``∞`` for unbounded."""
    if math.isinf(value_min):
        return "∞"
    if value_min <= 0:
        return "-"
    return f"{value_min:,.1f} min"
