"""The fleet tier: parked electric vehicles whose onboard computers are rented while idle.

A :class:`Fleet` names the vehicle computer, the travel and charging behaviour
(``mobility``), the owners' home costs (``home``), the owners' limits, the work it runs, how
results are validated and how owners are paid. Every section has defaults, so the two lines
``vehicles`` and ``module`` make a fleet. ``availability`` (the expected share of vehicles
parked at home and plugged in, by hour) is computed from ``mobility`` when it is not given.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from megapod import catalog
from megapod.catalog.vehicle import HomeRegionEntry, MobilityEntry
from megapod.quantities import DurationS, Efficiency, Fraction, MemoryBytes
from megapod.registry import require
from megapod.spec.base import MAX_COUNT, SpecModel, VehicleRef, _resolver

MobilityRef = Annotated[MobilityEntry, _resolver("mobility")]
HomeRef = Annotated[HomeRegionEntry, _resolver("home-region")]

#: State of charge the simulated home charger fills a battery to (a common daily charge limit);
#: the fleet engine charges to it, so an owner's floor must stay below it.
CHARGE_LIMIT_SOC = 0.9

#: Largest fleet the spec accepts, in vehicles.
MAX_VEHICLES = 100 * MAX_COUNT


class OwnerLimits(SpecModel):
    """What every owner allows: the battery floor, the hours, the data, leaving without notice.

    Compute stops when the state of charge falls to ``min_soc`` and resumes only once it is
    back at ``min_soc + soc_hysteresis`` (no flapping around the threshold).
    """

    min_soc: Fraction = Field(0.5, description="no compute at or below this state of charge")
    soc_hysteresis: Fraction = Field(0.05, description="resume only above min_soc + this")
    allowed_hours: list[int] = Field(default_factory=lambda: list(range(24)), min_length=1)
    data_cap_bytes_per_month: MemoryBytes = Field(300e9, gt=0, description="bytes moved for compute")
    allow_unplugged: bool = Field(False, description="compute at home on battery, above min_soc")
    departure_notice_s: DurationS = Field(0.0, le=24 * 3600, description="notice before driving off")
    notice_share: Fraction = Field(0.0, description="share of departures announced with that notice")

    @field_validator("allowed_hours")
    @classmethod
    def _hours(cls, value: list[int]) -> list[int]:
        bad = [h for h in value if not 0 <= h <= 23]
        if bad:
            raise ValueError(f"allowed hours are 0..23 (local time); got {bad}")
        return sorted(set(value))

    @model_validator(mode="after")
    def _band(self) -> OwnerLimits:
        if self.min_soc + self.soc_hysteresis > 1.0:
            raise ValueError(
                f"min_soc + soc_hysteresis = {self.min_soc + self.soc_hysteresis:.2f}: must be <= 1"
            )
        return self


class FleetWork(SpecModel):
    """Batch inference in work units: tokens of a model per unit, bytes in and out, a deadline.

    A token costs ``2 × model_params`` operations (a forward pass; Kaplan et al. 2020). A car
    runs ``min(peak × compute_efficiency / flops_per_token, batch × memory_bw / weight_bytes)``
    tokens per second (compute or memory-bandwidth bound, whichever binds).
    """

    kind: Literal["batch-inference"] = "batch-inference"
    model_params: float = Field(8e9, gt=0, le=1e13, description="parameters of the model")
    dtype: Literal["int8", "fp16"] = "int8"
    batch: int = Field(32, ge=1, le=4096, description="sequences decoded together")
    tokens_per_unit: float = Field(1.5e6, gt=0, le=1e12)
    input_bytes_per_unit: MemoryBytes = Field(6e6, description="prompts and unit description")
    output_bytes_per_unit: MemoryBytes = Field(6e6, description="generated text uploaded")
    deadline_s: DurationS = Field(12 * 3600.0, gt=0, description="from submission to accepted")
    compute_efficiency: Efficiency = Field(0.3, description="achieved share of peak when compute bound")
    rate_band: tuple[float, float] = Field(
        (0.6, 1.2), description="low and high multipliers of the achieved rate (model uncertainty)"
    )
    units_per_hour: float | None = Field(
        None, gt=0, description="submitted units per hour; omitted: a backlog that never runs dry"
    )

    @field_validator("rate_band")
    @classmethod
    def _band(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = value
        if not 0 < low <= 1 <= high <= 10:
            raise ValueError(f"rate_band {list(value)}: needs 0 < low <= 1 <= high <= 10")
        return value

    @property
    def flops_per_token(self) -> float:
        """Operations per token [FLOP]."""
        return 2.0 * self.model_params

    @property
    def weight_bytes(self) -> float:
        """Model weights in memory [B] (1 byte a parameter at int8, 2 at fp16)."""
        return self.model_params * (1.0 if self.dtype == "int8" else 2.0)


class FleetValidation(SpecModel):
    """How results are trusted: replicas, quorum, re-issue, and adaptive replication.

    ``fixed`` sends every unit to ``replicas`` distinct cars and accepts it once ``quorum``
    results agree. ``adaptive`` (as BOINC does) sends a unit to one car when that car has
    returned ``trust_after`` consecutive valid results, except for a ``spot_check`` share that
    still get the full quorum. ``faulty_share`` of the cars return a wrong result with
    probability ``faulty_error_rate``; wrong results never agree with each other.
    """

    replication: Literal["fixed", "adaptive"] = "fixed"
    replicas: int = Field(2, ge=1, le=16)
    quorum: int = Field(2, ge=1, le=16)
    max_replicas: int = Field(8, ge=1, le=64, description="a unit fails after this many issued")
    timeout_s: DurationS = Field(4 * 3600.0, gt=0, description="a replica not back by then is re-issued")
    trust_after: int = Field(10, ge=1, le=10_000)
    spot_check: Fraction = 0.1
    faulty_share: Fraction = 0.02
    faulty_error_rate: Fraction = 0.5

    @model_validator(mode="after")
    def _counts(self) -> FleetValidation:
        if self.quorum > self.replicas:
            raise ValueError(f"quorum {self.quorum} > replicas {self.replicas}: it could never be met")
        if self.max_replicas < self.replicas:
            raise ValueError(f"max_replicas {self.max_replicas} < replicas {self.replicas}")
        return self

    @property
    def replicas_per_unit(self) -> float:
        """Replicas an accepted unit takes at least: ``replicas`` (fixed), or once every car is
        trusted ``spot_check · replicas + (1 − spot_check)`` (adaptive; re-issues after losses
        and wrong results come on top) [count]."""
        if self.replication == "fixed":
            return float(self.replicas)
        return self.spot_check * self.replicas + (1.0 - self.spot_check)


class FleetEconomics(SpecModel):
    """What customers pay and how owners are paid.

    ``schemes`` are payout schemes (registry ``payout scheme``), all computed on the same run.
    ``owner_share`` is the owners' share of revenue (revenue share, PPLNS); ``pps_usd_per_mtok``
    is pay-per-share's fixed price per million validated tokens, paid for every replica that
    matched the accepted result; ``pplns_window`` is PPLNS's N, in validated shares.
    """

    price_usd_per_mtok: float = Field(0.05, gt=0, le=1000, description="customer price")
    owner_share: Fraction = 0.7
    pps_usd_per_mtok: float = Field(0.015, ge=0, le=1000)
    pplns_window: int = Field(5000, ge=1, le=100_000_000)
    schemes: list[str] = Field(
        default_factory=lambda: ["pay-per-share", "pplns", "revenue-share"], min_length=1
    )

    @field_validator("schemes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        for name in value:
            require("payout scheme", name)
        if len(set(value)) != len(value):
            raise ValueError("a payout scheme is listed twice")
        return value


class Fleet(SpecModel):
    """Vehicles enrolled in the compute fleet: the cars, their owners, the work and the money.

    ``availability`` gives, for each hour of the day (0-23, local time), the fraction of
    enrolled vehicles parked at home and plugged in; when omitted it is the expectation of the
    ``mobility`` process (:meth:`MobilityEntry.expected_hourly`). The fleet engine always runs
    the process itself.

    ``simulated_vehicles`` runs that many cars (a random sample of identical owners) and scales
    counts and money to ``vehicles``; omitted, every car is simulated.
    """

    vehicles: int = Field(ge=1, le=MAX_VEHICLES)
    module: VehicleRef
    availability: list[Fraction] = Field(min_length=24, max_length=24)
    max_power_draw_w_per_vehicle: float = Field(
        600.0, gt=0, description="cap on the charger draw for compute, per vehicle [W]"
    )
    mobility: MobilityRef = Field(default="us-nhts-2022", validate_default=True)
    home: HomeRef = Field(default="us-average", validate_default=True)
    owner: OwnerLimits = Field(default_factory=OwnerLimits)
    work: FleetWork = Field(default_factory=FleetWork)
    validation: FleetValidation = Field(default_factory=FleetValidation)
    economics: FleetEconomics = Field(default_factory=FleetEconomics)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    horizon_s: DurationS = Field(7 * 86400.0, ge=3600, le=366 * 86400)
    step_s: DurationS = Field(300.0, ge=10, le=3600)
    simulated_vehicles: int | None = Field(None, ge=1, le=MAX_VEHICLES)

    @model_validator(mode="before")
    @classmethod
    def _expected_availability(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("availability") is not None:
            return data
        mobility: Any = data.get("mobility", "us-nhts-2022")
        try:
            if isinstance(mobility, MobilityEntry):
                entry = mobility
            elif isinstance(mobility, dict) and "catalog" in mobility:
                fields = {k: v for k, v in mobility.items() if k != "catalog"}
                entry = catalog.resolve("mobility", str(mobility["catalog"]), fields)  # type: ignore[assignment]
            elif isinstance(mobility, dict):
                entry = MobilityEntry.model_validate({"name": "custom-mobility", **mobility})
            else:
                entry = catalog.get("mobility", str(mobility))  # type: ignore[assignment]
        except Exception:  # the field's own validator reports it, at its path
            return data
        return {**data, "availability": [round(a, 4) for a in entry.expected_hourly()]}

    @field_validator("availability")
    @classmethod
    def _not_all_zero(cls, value: list[float]) -> list[float]:
        if not any(value):
            raise ValueError("availability is zero in every hour: the fleet could never run")
        return value

    @field_validator("step_s")
    @classmethod
    def _divides_an_hour(cls, value: float) -> float:
        if abs(3600.0 / value - round(3600.0 / value)) > 1e-9:
            raise ValueError(f"{value:g} s: the step must divide an hour (e.g. 5 min, 10 min, 15 min)")
        return value

    @model_validator(mode="after")
    def _owners_can_compute(self) -> Fleet:
        if self.owner.min_soc >= CHARGE_LIMIT_SOC:
            raise ValueError(
                f"owner.min_soc = {self.owner.min_soc:.2f}: must be below the {CHARGE_LIMIT_SOC:.0%} "
                "the simulated cars charge to, or no car could ever compute"
            )
        return self

    @model_validator(mode="after")
    def _steps(self) -> Fleet:
        if self.horizon_s / self.step_s > 200_000:
            raise ValueError(
                f"horizon_s / step_s = {self.horizon_s / self.step_s:,.0f} steps: at most 200,000"
            )
        return self

    @property
    def simulated(self) -> int:
        """Cars the engine runs (``simulated_vehicles``, at most ``vehicles``)."""
        return min(self.vehicles, self.simulated_vehicles or self.vehicles)
