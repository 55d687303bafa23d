"""The fleet tier's catalog: vehicle computers (``vehicles.yaml``), travel and charging
behaviour (``fleet_mobility.yaml``) and owners' home costs by region (``fleet_homes.yaml``).

Vehicle states over the day follow :class:`MobilityEntry`: four states (driving, parked at
home plugged in, parked at home unplugged, parked away) with hourly transition probabilities
built from a travel survey's trip rate, trip start times and trip duration. The same
probabilities drive the fleet engine's per-vehicle process; :meth:`MobilityEntry.expected_shares`
propagates the state distribution exactly (no sampling), so the spec can state the expected
hourly availability without running anything.
"""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from megapod.catalog.entry import CatalogEntry
from megapod.quantities import (
    BandwidthBytesPerS,
    DurationS,
    EnergyWh,
    Flops,
    Fraction,
    MemoryBytes,
    PowerW,
    RateBps,
)

#: The four vehicle states, in the order every state array uses.
STATES: tuple[str, ...] = ("driving", "home-plugged", "home-unplugged", "away")
DRIVING, HOME_PLUGGED, HOME_UNPLUGGED, AWAY = range(4)


class VehicleComputeEntry(CatalogEntry):
    """The onboard AI computer of an electric vehicle, as rentable compute, with the car
    around it: what keeping the car awake costs, its battery and what cycling it wears."""

    int8_ops: Flops = Field(gt=0, description="peak dense INT8 operations per second")
    fp16_flops: Flops
    memory_bytes: MemoryBytes = Field(gt=0)
    memory_bw_bytes_per_s: BandwidthBytesPerS = Field(gt=0)
    power_w: PowerW = Field(gt=0)
    uplink_rate_bps: RateBps = Field(gt=0, description="the car's own Wi-Fi link while parked")
    awake_overhead_w: PowerW = Field(description="what the rest of the car draws while it is kept awake")
    battery_energy_wh: EnergyWh = Field(gt=0, description="usable traction battery energy")
    driving_power_w: PowerW = Field(gt=0, description="mean battery draw while driving")
    battery_wear_usd_per_kwh: float = Field(ge=0, description="wear cost per kWh cycled through the battery")


def _hours(value: list[float], what: str) -> list[float]:
    if len(value) != 24:
        raise ValueError(f"{what} needs 24 hourly values, got {len(value)}")
    if any(v < 0 for v in value):
        raise ValueError(f"{what} values must be >= 0")
    return value


class MobilityEntry(CatalogEntry):
    """When cars drive, where they park and whether they are plugged in, hour by hour.

    Per hour ``h`` of a day of kind ``d`` (weekday or weekend), a parked car starts a trip at
    the rate ``λ_h = trips_per_day × f_d × share_h / (1 − p_drive)`` [1/h], where ``share_h`` is
    the normalized trip-start share and ``p_drive = trips_per_day × mean_trip_s / 86 400`` the
    share of the day spent driving. A trip lasts ``mean_trip_s`` on average; it ends at home
    with probability ``home_arrival_share[h]``, and a car arriving home is plugged in with
    probability ``home_plug_in_probability``; an unplugged car at home is plugged in later at
    ``late_plug_in_per_h``.
    """

    trips_per_vehicle_day: float = Field(gt=0, le=30)
    mean_trip_s: DurationS = Field(gt=0, le=6 * 3600)
    trip_start_share: list[float] = Field(description="relative trip starts by local hour (24)")
    home_arrival_share: list[Fraction] = Field(description="share of trips ending at home, by hour (24)")
    home_plug_in_probability: Fraction
    late_plug_in_per_h: float = Field(ge=0, le=1)
    weekend_trip_factor: float = Field(gt=0, le=3, description="weekend trip rate over the weekday's")

    @field_validator("trip_start_share")
    @classmethod
    def _starts(cls, value: list[float]) -> list[float]:
        _hours(value, "trip_start_share")
        if sum(value) <= 0:
            raise ValueError("trip_start_share is zero in every hour")
        return value

    @field_validator("home_arrival_share")
    @classmethod
    def _arrivals(cls, value: list[float]) -> list[float]:
        return _hours(value, "home_arrival_share")

    @property
    def driving_share(self) -> float:
        """Share of the day a car spends driving [-]."""
        return min(0.5, self.trips_per_vehicle_day * self.mean_trip_s / 86400.0)

    def departure_rate_per_s(self, hour: int, weekend: bool) -> float:
        """Rate at which a parked car starts a trip in local ``hour`` [1/s]."""
        total = sum(self.trip_start_share)
        factor = self.weekend_trip_factor if weekend else 1.0
        per_h = self.trips_per_vehicle_day * factor * self.trip_start_share[hour] / total
        return per_h / (1.0 - self.driving_share) / 3600.0

    def step_probabilities(self, hour: int, weekend: bool, step_s: float) -> tuple[float, float, float]:
        """``(depart, arrive, late_plug)``: the probabilities of starting a trip (a parked car),
        ending one (a driving car) and plugging in later (home, unplugged) within ``step_s``.

        ``arrive = min(1, step_s / mean_trip_s)``, so that a trip counted in whole steps
        (geometric, mean ``step_s / arrive``) lasts ``mean_trip_s`` on average."""
        depart = 1.0 - math.exp(-self.departure_rate_per_s(hour, weekend) * step_s)
        arrive = min(1.0, step_s / self.mean_trip_s)
        late = 1.0 - (1.0 - self.late_plug_in_per_h) ** (step_s / 3600.0)
        return depart, arrive, late

    def expected_shares(self, step_s: float = 300.0, weeks: int = 3) -> list[list[float]]:
        """Expected share of cars in each state (:data:`STATES` order) at the end of every step
        of a week (Monday 00:00 first), propagated exactly from everyone at home, plugged in,
        until the weekly cycle repeats (the last of ``weeks`` weeks)."""
        per_week = round(7 * 86400 / step_s)
        p = [0.0, 1.0, 0.0, 0.0]
        rows: list[list[float]] = []
        for step in range(weeks * per_week):
            k = step % per_week
            hour_of_week = int(k * step_s // 3600)
            hour, weekend = hour_of_week % 24, hour_of_week // 24 >= 5
            dep, arr, late = self.step_probabilities(hour, weekend, step_s)
            home = self.home_arrival_share[hour]
            plug = self.home_plug_in_probability
            arriving = p[DRIVING] * arr
            parked = p[HOME_PLUGGED] + p[HOME_UNPLUGGED] + p[AWAY]
            late_plug = p[HOME_UNPLUGGED] * (1 - dep) * late
            p = [
                p[DRIVING] - arriving + parked * dep,
                p[HOME_PLUGGED] * (1 - dep) + late_plug + arriving * home * plug,
                p[HOME_UNPLUGGED] * (1 - dep) - late_plug + arriving * home * (1 - plug),
                p[AWAY] * (1 - dep) + arriving * (1 - home),
            ]
            if step >= (weeks - 1) * per_week:
                rows.append(p)
        return rows

    def expected_hourly(self, state: int = HOME_PLUGGED, step_s: float = 300.0) -> list[float]:
        """Expected share of cars in ``state`` by hour of the day, averaged over the week."""
        rows = self.expected_shares(step_s)
        per_hour = round(3600 / step_s)
        out = [0.0] * 24
        for i, row in enumerate(rows):
            out[(i // per_hour) % 24] += row[state]
        return [v / (7 * per_hour) for v in out]


class HomeRegionEntry(CatalogEntry):
    """What an owner pays at home: electricity, the network link, and the charger's losses."""

    electricity_usd_per_kwh: float = Field(gt=0, le=5, description="residential retail price")
    uplink_rate_bps: RateBps = Field(gt=0, description="home broadband upload")
    downlink_rate_bps: RateBps = Field(gt=0, description="home broadband download")
    data_usd_per_gb: float = Field(ge=0, description="marginal price of a GB beyond the plan")
    charger_power_w: PowerW = Field(gt=0, description="home (Level 2) charger power")
    charger_efficiency: float = Field(gt=0, le=1, description="wall to car at low load")
    sources: dict[str, str] = Field(default_factory=dict, description="field -> source")
