"""Publications that validation cases cite (``publications.yaml``), with the year of each run.

A case names its source by a citation key (``megatron21: Table 1`` cites ``megatron21``). A
case file written before the schema's ``year`` field was added gives no year; the year of the
software stack is then taken from this table, by the exact key, never by reading digits out
of a label. A key the table does not know means a current stack.
"""

from __future__ import annotations

from pydantic import Field

from megapod.catalog.entry import CatalogEntry


class PublicationEntry(CatalogEntry):
    """One publication of measured training runs: its full citation and the year of the runs."""

    year: int = Field(ge=2015, le=2100, description="year the runs were made (software stack)")
    citation: str = Field(min_length=3)


def register() -> None:
    """Register the ``publication`` kind with the catalog (once)."""
    from megapod import catalog

    if "publication" not in catalog.KINDS:
        catalog.register_kind("publication", "publications.yaml", PublicationEntry)


def publication_year(key: str) -> PublicationEntry | None:
    """The entry of citation ``key``, or None when the catalog does not know it."""
    from megapod import catalog

    register()
    if key not in catalog.names("publication"):
        return None
    entry = catalog.get("publication", key)
    return entry if isinstance(entry, PublicationEntry) else None
