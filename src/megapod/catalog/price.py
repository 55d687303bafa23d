"""Price tables (``prices.yaml``) and grid regions (``grid_regions.yaml``): cost and carbon data.

Every figure is in US dollars and SI units as its field name says. A spec or goal may name a
table and override any field (``{catalog: us-2025, battery_usd_per_wh: 0.25}``).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from megapod.catalog.entry import CatalogEntry


class PriceTableEntry(CatalogEntry):
    """Capex and opex prices for a site, each field in USD per the unit its name states.

    ``gpu_installed_usd`` is per GPU *installed*: the GPU with its share of the server or
    rack-scale system (CPUs, memory, NICs, chassis). ``cooling_usd_per_w`` is per watt of
    heat-rejection capacity, by cooling plant type (``cooling.yaml`` names).
    """

    gpu_installed_usd: dict[str, float] = Field(min_length=1)
    switch_usd: float = Field(ge=0, description="one scale-out switch")
    nic_port_usd: float = Field(ge=0, description="one NIC port with its optics and cable")
    electrical_usd_per_w: float = Field(ge=0, description="substation, switchgear, UPS, PDU per W IT")
    cooling_usd_per_w: dict[str, float] = Field(min_length=1)
    building_usd_per_w: float = Field(ge=0, description="shell, core and fit-out per W IT")
    battery_usd_per_wh: float = Field(ge=0)
    generator_usd_per_w: float = Field(ge=0)
    it_maintenance_fraction_per_year: float = Field(ge=0, le=1)
    facility_maintenance_fraction_per_year: float = Field(ge=0, le=1)
    staff_usd_per_w_year: float = Field(ge=0, description="operations staff per W of IT per year")
    it_life_years: float = Field(gt=0)
    facility_life_years: float = Field(gt=0)
    sources: dict[str, str] = Field(default_factory=dict, description="field -> source")


class GridRegionEntry(CatalogEntry):
    """A grid region's typical-year carbon intensity and energy price, as shapes around means.

    Hourly value = mean × ``monthly_shape[month]`` × ``hourly_shape[hour]``; the shapes are
    normalized to a mean of 1 when the profile is built, so the annual mean is the stated one.
    ``tou_peak_hours`` (local hours) get ``tou_peak_multiplier`` on the price, others
    ``tou_offpeak_multiplier``, before normalization.
    """

    carbon_g_per_kwh: float = Field(ge=0, description="annual mean grid carbon intensity")
    carbon_hourly_shape: list[float] = Field(min_length=24, max_length=24)
    carbon_monthly_shape: list[float] = Field(min_length=12, max_length=12)
    price_usd_per_kwh: float = Field(ge=0, description="annual mean energy price, industrial")
    tou_peak_hours: list[int] = Field(default_factory=list)
    tou_peak_multiplier: float = Field(1.0, gt=0)
    tou_offpeak_multiplier: float = Field(1.0, gt=0)
    price_monthly_shape: list[float] = Field(default_factory=lambda: [1.0] * 12, min_length=12, max_length=12)

    @field_validator("carbon_hourly_shape", "carbon_monthly_shape", "price_monthly_shape")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(v <= 0 for v in value):
            raise ValueError("shape multipliers must be > 0")
        return value

    @field_validator("tou_peak_hours")
    @classmethod
    def _hours(cls, value: list[int]) -> list[int]:
        if any(not 0 <= h <= 23 for h in value):
            raise ValueError("peak hours are 0..23")
        return value
