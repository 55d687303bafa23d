"""Failure statistics of large GPU clusters (``reliability.yaml``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from megapod.catalog.entry import CatalogEntry
from megapod.quantities import DurationS


class FailureComponent(CatalogEntry):
    """One failure category: its share of the interruptions and its repair time."""

    source: str = "see the parent entry"
    interruptions: float = Field(ge=0, description="count in the reference observation")
    repair_s: DurationS = Field(description="time the failed node is out of service")


class ReliabilityEntry(CatalogEntry):
    """Unexpected job interruptions observed on a cluster, split by component.

    The superposed rate per GPU is ``Σ interruptions / (gpus · observed_s)`` [1/(GPU·s)]:
    failures of independent components add (superposition of Poisson processes).
    """

    gpus: int = Field(ge=1, description="GPUs in the observed job or cluster")
    observed_s: DurationS = Field(gt=0)
    components: list[FailureComponent] = Field(min_length=1)

    @model_validator(mode="after")
    def _counts(self) -> ReliabilityEntry:
        if sum(c.interruptions for c in self.components) <= 0:
            raise ValueError("at least one component must have interruptions > 0")
        return self

    @property
    def rate_per_gpu_s(self) -> float:
        """Superposed interruption rate of one GPU [1/s]."""
        return sum(c.interruptions for c in self.components) / (self.gpus * self.observed_s)
