"""Capex, opex, TCO and unit costs of a site from a price table (``prices.yaml``).

Pure arithmetic, US dollars and SI units. Equations (docs/facility-model.md, "Cost"):

* Capex = GPUs installed + network (switches + NIC ports) + electrical plant (per W of IT
  design load) + cooling plant (per W of heat capacity, by plant type) + building shell (per W
  of IT) + batteries (per Wh) + generators (per W).
* Annual opex = energy (Σ_h P_facility,h · price_h · 1 h, with the region's time-of-use
  prices) + IT maintenance (fraction of IT capex) + facility maintenance (fraction of facility
  capex) + staff (per W of IT per year).
* TCO over N years = capex + Σ_{y=1..N} opex / (1 + r)^y (r = 0: undiscounted).
* Annualized cost = IT capex / IT life + facility capex / facility life + opex (straight-line
  depreciation); $/GPU-hour = annualized cost / (GPUs · 8,760 h); a run or a served token is
  charged its share of wall time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from megapod.catalog.price import GridRegionEntry, PriceTableEntry
from megapod.errors import CatalogError
from megapod.physics.carbon import shaped_year
from megapod.units import HOUR_S, HOURS_PER_YEAR, KILO, MEGA

FloatArray = npt.NDArray[np.float64]


def hourly_price_usd_per_wh(region: GridRegionEntry) -> FloatArray:
    """Hourly energy price of ``region`` over a typical year [USD/Wh], mean = the cited mean.

    The daily shape is ``tou_peak_multiplier`` in the peak hours and ``tou_offpeak_multiplier``
    otherwise, times the monthly shape; :func:`megapod.physics.carbon.shaped_year` rescales.
    """
    daily = [
        region.tou_peak_multiplier if h in region.tou_peak_hours else region.tou_offpeak_multiplier
        for h in range(24)
    ]
    return shaped_year(region.price_usd_per_kwh / KILO, daily, region.price_monthly_shape)


@dataclass(frozen=True)
class Capex:
    """Capital cost by component [USD]."""

    gpus_usd: float
    network_usd: float
    electrical_usd: float
    cooling_usd: float
    building_usd: float
    battery_usd: float
    generator_usd: float

    @property
    def it_usd(self) -> float:
        """IT equipment: GPUs with their servers, and the network."""
        return self.gpus_usd + self.network_usd

    @property
    def facility_usd(self) -> float:
        """Power and cooling plant, building, batteries and generators."""
        return (
            self.electrical_usd + self.cooling_usd + self.building_usd + self.battery_usd + self.generator_usd
        )

    @property
    def total_usd(self) -> float:
        """All capital cost."""
        return self.it_usd + self.facility_usd

    def as_dict(self) -> dict[str, float]:
        """Components and totals, JSON-ready."""
        return {
            **asdict(self),
            "it_usd": self.it_usd,
            "facility_usd": self.facility_usd,
            "total_usd": self.total_usd,
        }


@dataclass(frozen=True)
class Opex:
    """Operating cost per year by component [USD/year]."""

    energy_usd: float
    it_maintenance_usd: float
    facility_maintenance_usd: float
    staff_usd: float

    @property
    def total_usd(self) -> float:
        """All operating cost per year."""
        return self.energy_usd + self.it_maintenance_usd + self.facility_maintenance_usd + self.staff_usd

    def as_dict(self) -> dict[str, float]:
        """Components and total, JSON-ready."""
        return {**asdict(self), "total_usd": self.total_usd}


def gpu_price_usd(prices: PriceTableEntry, gpu: str) -> float:
    """Installed price of one GPU of type ``gpu`` [USD]; unknown types raise CatalogError."""
    if gpu not in prices.gpu_installed_usd:
        raise CatalogError(
            f"price table {prices.name!r} has no price for gpu {gpu!r}; "
            f"add gpu_installed_usd.{gpu} to the table or an override"
        )
    return prices.gpu_installed_usd[gpu]


def capex(
    prices: PriceTableEntry,
    *,
    gpus_by_type: dict[str, int],
    switches: int,
    nic_ports: int,
    it_design_w: float,
    cooling_plant: str,
    cooling_capacity_w: float,
    battery_energy_wh: float,
    generator_w: float,
) -> Capex:
    """Capital cost of a site by component [USD] (module docstring for the equations)."""
    if cooling_plant not in prices.cooling_usd_per_w:
        raise CatalogError(f"price table {prices.name!r} has no price for cooling plant {cooling_plant!r}")
    return Capex(
        gpus_usd=sum(n * gpu_price_usd(prices, g) for g, n in gpus_by_type.items()),
        network_usd=switches * prices.switch_usd + nic_ports * prices.nic_port_usd,
        electrical_usd=it_design_w * prices.electrical_usd_per_w,
        cooling_usd=cooling_capacity_w * prices.cooling_usd_per_w[cooling_plant],
        building_usd=it_design_w * prices.building_usd_per_w,
        battery_usd=battery_energy_wh * prices.battery_usd_per_wh,
        generator_usd=generator_w * prices.generator_usd_per_w,
    )


def energy_cost_usd(
    facility_w: npt.ArrayLike, price_usd_per_wh: npt.ArrayLike, step_s: float = HOUR_S
) -> float:
    """Cost of drawing ``facility_w`` each step at ``price_usd_per_wh`` [USD]: Σ P·Δt·price."""
    p = np.asarray(facility_w, dtype=np.float64)
    price = np.asarray(price_usd_per_wh, dtype=np.float64)
    return float(np.sum(p * price)) * step_s / HOUR_S


def annual_opex(prices: PriceTableEntry, cap: Capex, energy_usd_per_year: float, it_design_w: float) -> Opex:
    """Operating cost per year [USD/year]."""
    return Opex(
        energy_usd=energy_usd_per_year,
        it_maintenance_usd=cap.it_usd * prices.it_maintenance_fraction_per_year,
        facility_maintenance_usd=cap.facility_usd * prices.facility_maintenance_fraction_per_year,
        staff_usd=it_design_w * prices.staff_usd_per_w_year,
    )


def tco_usd(cap: Capex, opex: Opex, years: float, discount_rate: float = 0.0) -> float:
    """Total cost of ownership over ``years`` [USD]: capex + discounted yearly opex.

    Whole years are discounted at year end; a fractional last year is charged pro rata.
    """
    if years < 0:
        raise ValueError("years must be ≥ 0")
    whole = int(years)
    factors = sum((1.0 + discount_rate) ** -y for y in range(1, whole + 1))
    factors += (years - whole) * (1.0 + discount_rate) ** -(whole + 1)
    return cap.total_usd + opex.total_usd * factors


def annualized_cost_usd(prices: PriceTableEntry, cap: Capex, opex: Opex) -> float:
    """Yearly cost with straight-line depreciation of IT and facility capex [USD/year]."""
    return cap.it_usd / prices.it_life_years + cap.facility_usd / prices.facility_life_years + opex.total_usd


def cost_per_gpu_hour_usd(annualized_usd: float, gpus: int) -> float:
    """Cost of one GPU-hour [USD]: annualized cost / (GPUs · 8,760 h)."""
    return annualized_usd / (gpus * HOURS_PER_YEAR) if gpus > 0 else float("inf")


def run_cost_usd(annualized_usd: float, wall_s: float) -> float:
    """Cost of holding the whole site for ``wall_s`` seconds [USD]."""
    return annualized_usd * wall_s / (HOURS_PER_YEAR * HOUR_S)


def cost_per_million_tokens_usd(annualized_usd: float, tokens_per_s: float) -> float:
    """Serving cost per million tokens [USD] at a sustained ``tokens_per_s``."""
    if tokens_per_s <= 0:
        return float("inf")
    return annualized_usd / (tokens_per_s * HOURS_PER_YEAR * HOUR_S) * MEGA
