"""Static report pages: a title, sections of text, key figures, tables and charts.

A page renders to one self-contained HTML string: the style sheet, plotly.js (from the installed
``plotly`` package) and the shared chart script are inlined and every chart's data is embedded
as JSON, so the file opens offline in any browser. Building a page writes nothing; the face
saves the string.

Example::

    page = Page("Plan: llama3-405b", subtitle="cortex, austin-tx")
    s = page.section("Summary", "One paragraph of text.")
    s.highlight("GPUs", "16,384")
    s.table(["item", "USD"], [["GPUs", 1.2e9]], title="Capex")
    s.chart(line_chart(...))
    html = page.render()
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from numbers import Real
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from megapod.report import format as fmt
from megapod.web import assets
from megapod.web.charts import Chart

if TYPE_CHECKING:
    from pandas import DataFrame

_FOOTER = "megapod report: every figure is computed from the spec, catalog and models named above."


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


def table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "", float_format: str | None = None
) -> Table:
    """A table from headings and rows of values, numbers right-aligned: integers with thousands
    separators, other numbers by ``float_format`` (a ``str.format`` pattern) or, by default,
    with :func:`megapod.report.format.number` (4 significant digits, never in scientific notation)."""
    return Table([str(c) for c in columns], [[_cell(v, float_format) for v in row] for row in rows], title)


def frame_table(
    frame: DataFrame, title: str = "", index: bool = False, float_format: str | None = None
) -> Table:
    """A table from a pandas DataFrame (column names as headings)."""
    columns = ([str(frame.index.name or "")] if index else []) + [str(c) for c in frame.columns]
    records = zip(frame.index, frame.itertuples(index=False), strict=True)
    rows = [([idx] if index else []) + list(row) for idx, row in records]
    return table(columns, rows, title, float_format)


@dataclass
class Section:
    """A titled section: paragraphs, highlighted key figures, then tables and charts in the
    order they were added, then notes."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    highlights: list[tuple[str, str]] = field(default_factory=list)
    blocks: list[Table | Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self, paragraph: str) -> Section:
        """Add a paragraph (escaped)."""
        self.paragraphs.append(paragraph)
        return self

    def highlight(self, key: str, value: str) -> Section:
        """Add a key figure shown as a tile."""
        self.highlights.append((key, value))
        return self

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        title: str = "",
        float_format: str | None = None,
    ) -> Section:
        """Add a table; numbers are right-aligned and formatted as :func:`table` does."""
        self.blocks.append(table(columns, rows, title, float_format))
        return self

    def dataframe(
        self, frame: DataFrame, title: str = "", index: bool = False, float_format: str | None = None
    ) -> Section:
        """Add a pandas DataFrame as a table (column names as headings)."""
        self.blocks.append(frame_table(frame, title, index, float_format))
        return self

    def chart(self, chart: Chart) -> Section:
        """Add an interactive chart."""
        self.blocks.append(chart)
        return self

    def add(self, block: Table | Chart | str) -> Section:
        """Add a table, a chart or (a string) a paragraph."""
        if isinstance(block, str):
            return self.text(block)
        self.blocks.append(block)
        return self

    def note(self, text: str) -> Section:
        """Add a small-print note (assumptions, sources)."""
        self.notes.append(text)
        return self


@dataclass
class Page:
    """A report page: a title, an optional subtitle, sections, a footer line."""

    title: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)
    footer: str = _FOOTER

    def section(self, title: str, *paragraphs: str) -> Section:
        """Append a new section and return it for filling."""
        s = Section(title, list(paragraphs))
        self.sections.append(s)
        return s

    def charts(self) -> list[Chart]:
        """Every chart on the page, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]

    def render(self) -> str:
        """The whole page as one self-contained HTML string (text autoescaped)."""
        specs = [c.to_spec() for c in self.charts()]
        return _template().render(
            page=self,
            is_chart=lambda b: isinstance(b, Chart),
            css=Markup(assets.static_text("megapod.css")),
            plotly_js=Markup(_script_safe(assets.plotly_js())) if specs else "",
            charts_js=Markup(_script_safe(assets.static_text("charts.js"))),
            chart_data=Markup(_json_safe(json.dumps(specs, separators=(",", ":"), allow_nan=False))),
        )


def report_page(
    title: str,
    sections: Mapping[str, Sequence[Chart | Table | str]],
    *,
    subtitle: str = "",
    footer: str = _FOOTER,
) -> str:
    """A whole report page in one call: ``sections`` maps each section title to its blocks in
    order (a :class:`Chart`, a :class:`Table` from :func:`table`, or a string paragraph).
    Returns the self-contained HTML (nothing is written)."""
    page = Page(title, subtitle, footer=footer)
    for name, blocks in sections.items():
        s = page.section(name)
        for block in blocks:
            s.add(block)
    return page.render()


def _script_safe(code: str) -> str:
    """JavaScript that cannot close the ``<script>`` element it is inlined into."""
    return code.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")


def _json_safe(text: str) -> str:
    """JSON that cannot close its ``<script>`` element or open an HTML comment."""
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def _cell(value: Any, float_format: str | None) -> Cell:
    if isinstance(value, bool):
        return Cell(str(value), False)
    if isinstance(value, Real):
        number = float(value)
        if isinstance(value, float) or not number.is_integer():
            text = fmt.number(number) if float_format is None else float_format.format(number)
            return Cell(text, True)
        return Cell(f"{round(number):,}", True)
    return Cell(str(value), False)


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(assets.template_text("page.html.j2"))
