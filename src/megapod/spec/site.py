"""Pods and sites: the top of the spec."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from megapod import catalog
from megapod.catalog.climate_normals import climate_names
from megapod.quantities import PowerW
from megapod.spec.base import MAX_COUNT, MAX_SITE_GPUS, SpecModel
from megapod.spec.cooling import Cooling
from megapod.spec.fabric import Fabric, InterPod
from megapod.spec.fleet import Fleet
from megapod.spec.hardware import Rack
from megapod.spec.power import PowerSystem


class Pod(SpecModel):
    """A self-contained pod design: racks, fabric, power and cooling; replicated ``count`` times."""

    name: str = Field(min_length=1)
    count: int = Field(1, ge=1, le=MAX_COUNT)
    racks: list[Rack] = Field(min_length=1)
    fabric: Fabric
    power: PowerSystem
    cooling: Cooling

    @property
    def gpus(self) -> int:
        """GPUs in one pod."""
        return sum(r.count * r.gpus for r in self.racks)

    @property
    def servers(self) -> int:
        """Servers in one pod."""
        return sum(r.count * r.servers for r in self.racks)

    @property
    def rack_count(self) -> int:
        """Racks in one pod."""
        return sum(r.count for r in self.racks)


class Location(SpecModel):
    """Where the site stands: its climate profile and its grid region."""

    climate: str = Field(min_length=1, description="hourly climate profile name")
    grid_region: str = Field("", description="grid carbon-intensity / price profile name")

    @field_validator("climate")
    @classmethod
    def _known_climate(cls, v: str) -> str:
        known = climate_names()
        if v not in known:
            raise ValueError(f"unknown climate profile {v!r}; known: {', '.join(known)}")
        return v

    @field_validator("grid_region")
    @classmethod
    def _known_region(cls, v: str) -> str:
        known = catalog.names("grid-region")
        if v and v not in known:
            raise ValueError(f"unknown grid region {v!r}; known: {', '.join(known)}")
        return v


class Grid(SpecModel):
    """The site's utility interconnection."""

    feed_w: PowerW = Field(gt=0, description="interconnection capacity at the site substation")


class Site(SpecModel):
    """A site: pods joined by an inter-pod fabric, one grid feed, an optional fleet tier."""

    name: str = Field(min_length=1)
    description: str = ""
    location: Location
    grid: Grid
    pods: list[Pod] = Field(min_length=1, max_length=1000)
    inter_pod: InterPod | None = None
    fleet: Fleet | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Site:
        gpus = self.gpus
        if gpus > MAX_SITE_GPUS:
            raise ValueError(
                f"the site has {gpus:,} GPUs, above the limit of {MAX_SITE_GPUS:,}; "
                "check the pod and rack counts"
            )
        names = [p.name for p in self.pods]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"pod names must be unique; repeated: {', '.join(dupes)}")
        return self

    @property
    def gpus(self) -> int:
        """GPUs in the whole site (excluding the fleet tier)."""
        return sum(p.count * p.gpus for p in self.pods)

    @property
    def pod_count(self) -> int:
        """Pods in the site, replicas counted."""
        return sum(p.count for p in self.pods)
