"""A scenario: a site, a workload, policies, fault models, a horizon and a seed, in one file.

``load_scenario(path)`` reads it with the same loader and error rules as a site: every problem
is a :class:`~megapod.errors.SpecError` naming the field path. Paths inside a scenario (the
site, trace files, partition layouts) are relative to the scenario file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from megapod.errors import MegapodError, SpecError
from megapod.quantities import DurationS, PowerW
from megapod.registry import require
from megapod.spec.base import SpecModel
from megapod.spec.loader import read_document, validate
from megapod.spec.power_profile import PowerProfileSpec
from megapod.spec.site import Site
from megapod.spec.workload import Workload

#: Longest horizon a scenario may ask for: ten years.
MAX_HORIZON_S = 10 * 365 * 86400.0


class Partitions(SpecModel):
    """Split the site's nodes into partitions (virtual clusters); a job uses only its own.

    ``nodes_csv`` has columns ``<name>,num_nodes`` (e.g. the Philly VC layout); partitions take
    consecutive nodes in file order.
    """

    nodes_csv: str = Field(min_length=1, description="CSV of partition -> node count, relative path")
    unknown: Literal["drop", "largest"] = Field(
        "drop", description="jobs of partitions missing from the layout: drop them or use the largest"
    )


class CheckpointPolicySpec(SpecModel):
    """How often running jobs checkpoint, and what a checkpoint and a restart cost."""

    policy: str = Field("young-daly", description="checkpoint-interval registry name")
    _policy = field_validator("policy")(lambda v: require("checkpoint policy", v))
    interval_s: DurationS = Field(3600.0, gt=0, description="interval for the 'fixed' policy")
    write_s: DurationS = Field(60.0, description="time one checkpoint write stalls the job")
    restart_s: DurationS = Field(600.0, description="time to restart a job after an interruption")
    restart_per_gpu_s: DurationS = Field(
        0.0, ge=0, le=3600, description="restart time added per GPU of the job (larger jobs restart slower)"
    )


class Policies(SpecModel):
    """The swappable decisions, each a registry name."""

    queue: str = Field("fifo", description="queueing policy registry name")
    placement: str = Field("consolidated", description="placement policy registry name")
    outage: str = Field("none", description="outage response registry name")
    power_cap_w: PowerW | None = Field(None, gt=0, description="site IT power cap for admission")
    checkpoint: CheckpointPolicySpec = Field(default_factory=CheckpointPolicySpec)
    las_threshold_gpu_s: float = Field(
        3600.0 * 8, gt=0, description="attained-service step between LAS priority levels"
    )
    queue_weights: dict[str, float] = Field(
        default_factory=dict,
        description="fair-share weight per queue name (> 0); queues not listed weigh 1 (equal shares)",
    )
    dispatch: str = Field(
        "fleet-first", description="dispatch policy registry name: which tier a fleet-eligible job goes to"
    )

    # policy names are checked when the scenario loads, not when it first runs
    _queue = field_validator("queue")(lambda v: require("queueing policy", v))
    _placement = field_validator("placement")(lambda v: require("placement policy", v))
    _outage = field_validator("outage")(lambda v: require("outage response", v))
    _dispatch = field_validator("dispatch")(lambda v: require("dispatch policy", v))

    @field_validator("queue_weights")
    @classmethod
    def _positive_weights(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, w in v.items() if not w > 0 or w == float("inf")]
        if bad:
            raise ValueError(f"weights must be positive and finite: {', '.join(sorted(bad))}")
        return v


class FleetTierOptions(SpecModel):
    """The site's vehicle fleet (``site.fleet``) as a compute tier of the twin.

    With ``enabled`` (the default) a site that has a ``fleet:`` section gets the fleet as a
    second tier beside its pods; jobs of kind ``batch-inference`` (``workload.synthetic.
    fleet_share``) may go there, as ``policies.dispatch`` decides. Without a fleet on the site
    this section does nothing.
    """

    enabled: bool = Field(True, description="add the site's fleet as a tier (no effect without one)")
    pod_usd_per_gpu_h: float | None = Field(
        None,
        gt=0,
        le=10_000,
        description="the pods' cost of a GPU-hour for the 'cheapest' dispatch; "
        "megapod simulate fills it from the site's price table when absent",
    )


class Failures(SpecModel):
    """Component failures: rates from the reliability catalog, scaled, with repair times."""

    enabled: bool = True
    catalog: str = Field("llama3-h100", description="reliability catalog entry")
    rate_scale: float = Field(1.0, ge=0, le=1000)
    hot_spares: int = Field(0, ge=0, description="spare nodes per pod that replace a failed one at once")


class OutageEvent(SpecModel):
    """One grid event at a fixed time: a full outage, or a power limit on the site feed."""

    start_s: DurationS
    duration_s: DurationS = Field(gt=0)
    limit_w: PowerW | None = Field(None, description="feed limit during the event; absent = outage")


class GridEvents(SpecModel):
    """Grid outages and power-limit events: listed, and/or drawn as a Poisson process."""

    events: list[OutageEvent] = Field(default_factory=list)
    outages_per_year: float = Field(0.0, ge=0, le=1000)
    mean_outage_s: DurationS = Field(1800.0, gt=0)
    generator_start_s: DurationS | None = Field(
        None, description="generator pickup time (default: the pod's generator entry, else none)"
    )


class Weather(SpecModel):
    """Hourly outdoor temperature from the site's climate profile derates cooling."""

    enabled: bool = True
    climate: str | None = Field(None, description="profile name; default: the site's location")


class Energy(SpecModel):
    """Energy price and grid carbon intensity.

    By default both are the hourly typical-year profiles of the site's grid region
    (``site.location.grid_region``): time-of-use price and hourly carbon intensity. A region
    named here replaces the site's; a flat value replaces that signal's profile.
    """

    grid_region: str | None = Field(
        None, min_length=1, description="grid-region profile name; default: the site's location"
    )
    price_usd_per_mwh: float | None = Field(
        None, ge=0, le=100_000, description="flat energy price; default: the region's hourly price"
    )
    carbon_kg_per_mwh: float | None = Field(
        None, ge=0, le=10_000, description="flat carbon intensity; default: the region's hourly profile"
    )


class Output(SpecModel):
    """What the run records."""

    resolution_s: DurationS = Field(3600.0, gt=0, description="time-series bin width")
    jobs_table: bool = True


#: Synthetic jobs a run may draw (each costs about 200 bytes of state in the twin).
MAX_SYNTHETIC_JOBS = 50_000_000


class Scenario(SpecModel):
    """A site run through time."""

    name: str = Field(min_length=1)
    description: str = ""
    site: Site
    workload: Workload
    horizon_s: DurationS = Field(gt=0, le=MAX_HORIZON_S)
    seed: int = Field(0, ge=0)
    partitions: Partitions | None = None
    policies: Policies = Field(default_factory=Policies)
    failures: Failures = Failures()
    fleet: FleetTierOptions = FleetTierOptions()
    grid: GridEvents = GridEvents()
    weather: Weather = Weather()
    energy: Energy = Energy()
    output: Output = Output()
    #: Optional grid-facing power-dynamics profile of a training job.
    power_profile: PowerProfileSpec | None = None
    #: Folder that relative paths in the scenario are read from (set by :func:`load_scenario`).
    base_dir: str = "."

    @model_validator(mode="after")
    def _bins(self) -> Scenario:
        bins = self.horizon_s / self.output.resolution_s
        if bins > 2_000_000:
            raise ValueError(f"horizon / output.resolution_s = {bins:,.0f} bins; at most 2,000,000 are kept")
        syn = self.workload.synthetic
        if syn is not None and syn.jobs is None and syn.arrival_rate_per_s is not None:
            expected = syn.arrival_rate_per_s * self.horizon_s
            if expected > MAX_SYNTHETIC_JOBS:  # said before any memory is asked for
                raise ValueError(
                    f"workload.synthetic.arrival_rate_per_s {syn.arrival_rate_per_s:g}/s over the "
                    f"{self.horizon_s:,.0f} s horizon is about {expected:,.0f} jobs; at most "
                    f"{MAX_SYNTHETIC_JOBS:,} (lower the rate or set 'jobs')"
                )
        return self

    def resolve(self, relative: str) -> Path:
        """A path from the scenario, resolved against the scenario's folder."""
        p = Path(relative)
        return p if p.is_absolute() else Path(self.base_dir) / p


#: Fields that hold file paths, checked to exist at load time.
_PATH_FIELDS: tuple[tuple[str, ...], ...] = (
    ("workload", "trace", "path"),
    ("workload", "trace", "nodes_csv"),
    ("workload", "synthetic", "fit_to"),
    ("partitions", "nodes_csv"),
)


def scenarios_naming(site_file: Path, limit: int = 50) -> list[str]:
    """Scenario files beside ``site_file`` or in a ``scenarios/`` folder there whose ``site:``
    is that file (at most ``limit`` files are read)."""
    target = site_file.resolve()
    folder = target.parent
    found: list[str] = []
    candidates = sorted([*folder.glob("*.yaml"), *(folder / "scenarios").glob("*.yaml")])[:limit]
    for f in candidates:
        try:
            site = read_document(f).get("site")
        except (MegapodError, AttributeError):  # not a mapping, or not readable: not one
            continue
        if isinstance(site, str) and (f.parent / site).resolve() == target:
            found.append(os.path.relpath(f))
    return found


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; relative paths are taken from its folder."""
    p = Path(path)
    doc = read_document(p)
    base = p.resolve().parent
    name = str(p)
    if "pods" in doc and "horizon_s" not in doc:
        naming = scenarios_naming(p)
        hint = f"these name this site: {', '.join(naming)}" if naming else "see examples/scenarios/"
        raise SpecError(name, f"this is a site spec; simulate takes a scenario that names a site ({hint})")
    site = doc.get("site")
    if isinstance(site, str):
        from megapod.spec import load_site

        site_path = Path(site) if Path(site).is_absolute() else base / site
        if not site_path.is_file():
            raise SpecError(f"{name}: site", f"site file {site!r} not found (looked in {base})")
        doc = {**doc, "site": load_site(site_path)}
    for fields in _PATH_FIELDS:
        value = _dig(doc, fields)
        if isinstance(value, str):
            target = Path(value) if Path(value).is_absolute() else base / value
            if not target.is_file():
                raise SpecError(
                    f"{name}: {'.'.join(fields)}",
                    f"file {value!r} not found (relative to {base}); shared traces live in "
                    "../shared/data/traces beside the checkout",
                )
    doc = {**doc, "base_dir": str(base)}
    return validate(Scenario, doc, name)


def _dig(doc: dict[str, Any], fields: tuple[str, ...]) -> Any:
    current: Any = doc
    for f in fields:
        if not isinstance(current, dict):
            return None
        current = current.get(f)
    return current
