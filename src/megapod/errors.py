"""The error types megapod raises on purpose.

Every error a user can cause derives from :class:`MegapodError`. Faces map them to a readable
line: the CLI to exit code 2, the API to HTTP 422. Anything else is a bug (exit code 1).
"""

from __future__ import annotations


class MegapodError(Exception):
    """Root of the errors a user can cause with bad input."""


class UnitError(MegapodError, ValueError):
    """A quantity has no unit, an unknown unit, or a unit of the wrong dimension."""


class SpecError(MegapodError, ValueError):
    """A site, scenario or goal description is invalid.

    Attributes:
        path: where in the document, e.g. ``pods[1].racks[0].count`` (empty for the document).
        problem: what is wrong, naming the value and the limit.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class CatalogError(MegapodError, KeyError):
    """A catalog name is unknown, or a catalog file is malformed."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InfeasibleError(MegapodError, ValueError):
    """A goal or layout cannot be met; the message says what would make it feasible."""
