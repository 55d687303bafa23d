"""A small self-contained HTML report: title, sections, tables, figures as embedded PNG.

The page has no external resources (CSS inline, figures as ``data:image/png;base64``), so it
opens in any browser from a file without a server. Building a report writes nothing: call
:meth:`HtmlReport.render` for the HTML string and let the face save it.

Example::

    report = HtmlReport("Plan: llama3-405b", subtitle="cortex, austin-tx")
    s = report.section("Summary", "One paragraph of text.")
    s.highlight("GPUs", "16,384")
    s.table(["item", "USD"], [["GPUs", 1.2e9]], title="Capex")
    s.figure("Power over the year", fig)       # a matplotlib Figure
    html = report.render()
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from numbers import Real
from typing import TYPE_CHECKING, Any

import jinja2

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure
    from pandas import DataFrame

_TEMPLATE = "html_report.html.j2"


@dataclass(frozen=True)
class Cell:
    """One table cell: its text and whether it is a number (right-aligned)."""

    text: str
    numeric: bool


@dataclass
class Table:
    """A table: column headings and rows of cells."""

    columns: list[str]
    rows: list[list[Cell]]
    title: str = ""


@dataclass(frozen=True)
class Figure:
    """An embedded PNG image."""

    title: str
    png_base64: str
    caption: str = ""


@dataclass
class Section:
    """A titled section: paragraphs, highlighted key figures, tables, figures, notes."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    highlights: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self, paragraph: str) -> Section:
        """Add a paragraph (escaped)."""
        self.paragraphs.append(paragraph)
        return self

    def highlight(self, key: str, value: str) -> Section:
        """Add a key figure shown as a tile."""
        self.highlights.append((key, value))
        return self

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "",
              float_format: str = "{:,.4g}") -> Section:
        """Add a table; numbers are formatted with ``float_format`` and right-aligned."""
        self.tables.append(Table([str(c) for c in columns],
                                 [[_cell(v, float_format) for v in row] for row in rows], title))
        return self

    def dataframe(self, frame: DataFrame, title: str = "", index: bool = False,
                  float_format: str = "{:,.4g}") -> Section:
        """Add a pandas DataFrame as a table (column names as headings)."""
        columns = ([str(frame.index.name or "")] if index else []) + [str(c) for c in frame.columns]
        records = zip(frame.index, frame.itertuples(index=False), strict=True)
        rows = [([idx] if index else []) + list(row) for idx, row in records]
        return self.table(columns, rows, title, float_format)

    def figure(self, title: str, fig: MplFigure, caption: str = "", dpi: int = 110) -> Section:
        """Add a matplotlib figure, embedded as a base64 PNG."""
        self.figures.append(Figure(title, figure_to_base64_png(fig, dpi), caption))
        return self

    def note(self, text: str) -> Section:
        """Add a small-print note (assumptions, sources)."""
        self.notes.append(text)
        return self


@dataclass
class HtmlReport:
    """A report: a title, an optional subtitle, sections, a footer line."""

    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)
    footer: str = "megapod report: every figure is computed from the spec, catalog and models named above."

    def section(self, title: str, *paragraphs: str) -> Section:
        """Append a new section and return it for filling."""
        s = Section(title, list(paragraphs))
        self.sections.append(s)
        return s

    def render(self) -> str:
        """The whole page as one HTML string (autoescaped)."""
        return _template().render(report=self)


def figure_to_base64_png(fig: MplFigure, dpi: int = 110) -> str:
    """Encode a matplotlib figure as base64 PNG text."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def new_figure(width_in: float = 9.0, height_in: float = 3.6) -> MplFigure:
    """A matplotlib Figure not tied to any GUI backend (no pyplot state)."""
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(width_in, height_in), layout="constrained")


def _cell(value: Any, float_format: str) -> Cell:
    if isinstance(value, bool):
        return Cell(str(value), False)
    if isinstance(value, Real):
        number = float(value)
        if isinstance(value, float) or not number.is_integer():
            return Cell(float_format.format(number), True)
        return Cell(f"{round(number):,}", True)
    return Cell(str(value), False)


@cache
def _template() -> jinja2.Template:
    text = resources.files("megapod.report").joinpath("templates", _TEMPLATE).read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(text)

