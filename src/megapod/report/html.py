"""The report pages' builder, kept under its old name: see :mod:`megapod.web.page`.

``HtmlReport`` is :class:`megapod.web.page.Page`: a self-contained page of sections with text,
key figures, tables and interactive charts (:mod:`megapod.web.charts`)."""

from __future__ import annotations

from megapod.web.page import Cell, Page, Section, Table

HtmlReport = Page

__all__ = ["Cell", "HtmlReport", "Section", "Table"]
