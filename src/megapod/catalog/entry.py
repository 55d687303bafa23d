"""The base of every catalog entry: a name, a source, frozen values."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CatalogEntry(BaseModel):
    """One piece of hardware or one price/rate table, with where its numbers come from.

    ``source`` is a datasheet URL, a paper, a table, or ``"estimate: <why>"``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)  # user overrides too

    name: str = Field(min_length=1)
    source: str = Field(min_length=3)
    description: str = ""

    @property
    def is_estimate(self) -> bool:
        """True when the entry's source says its numbers are estimated."""
        return self.source.lower().startswith("estimate")
