"""Many rows in one ``INSERT``: on PostgreSQL from one array per column (``unnest``).

SQLAlchemy writes the rows of a multi-row ``INSERT`` as one ``VALUES`` tuple each, so its text
(and psycopg's parse of it) changes with the number of rows; a statement over 4 kB is parsed
again at every use. ``INSERT … SELECT * FROM unnest(%(a)s::T[], …)`` has one text for any
number of rows: psycopg parses it once, and PostgreSQL prepares it after a few uses. SQLite
(in process, no parse on the wire) gets SQLAlchemy's own multi-row ``INSERT``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Executable,
    Insert,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from megapod.serve.store.models import Base


def insert_rows(
    s: Session,
    model: type[Base],
    rows: list[dict[str, Any]],
    returning: str | None = None,
    skip_conflicts_on: str | None = None,
) -> list[Any]:
    """Insert ``rows`` (dicts of column values) into ``model``'s table in one statement of
    ``s``'s transaction; a column a row leaves out takes its default (else NULL).
    ``skip_conflicts_on``: a unique column whose value, when already stored, skips the row
    (``ON CONFLICT DO NOTHING``). Returns the column ``returning`` of the rows inserted, in no
    set order (``[]`` without ``returning``)."""
    if not rows:
        return []
    table: Table = model.__table__  # type: ignore[assignment]
    names = tuple(dict.fromkeys(k for row in rows for k in row))
    if any(len(row) != len(names) for row in rows):
        rows = [{k: row[k] if k in row else _default(table.c[k]) for k in names} for row in rows]
    if s.get_bind().dialect.name != "postgresql":
        stmt: Insert = insert(table)
        if skip_conflicts_on is not None:
            stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=[skip_conflicts_on])
        if returning is None:
            s.execute(stmt, rows)
            return []
        return list(s.execute(stmt.returning(table.c[returning]), rows).scalars())
    unnest, columns = _unnest_insert(table, names, returning, skip_conflicts_on)
    arrays = {}
    for col in columns:
        values = [row[col.name] for row in rows] if col.name in names else [_default(col)] * len(rows)
        if isinstance(col.type, JSON):
            values = [None if v is None else json.dumps(v) for v in values]
        arrays[col.name] = values
    result = s.execute(unnest, arrays)
    return list(result.scalars()) if returning is not None else []


def _default(col: Column[Any]) -> Any:
    """The column's Python-side default value (None without one)."""
    default = col.default
    if default is None:
        return None
    return default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=64)
def _unnest_insert(
    table: Table, names: tuple[str, ...], returning: str | None, skip_conflicts_on: str | None
) -> tuple[Executable, list[Column[Any]]]:
    """The ``unnest`` statement of ``table`` for rows of ``names`` (and the columns with a
    default that the rows leave out), and its columns in order."""
    columns = [c for c in table.columns if c.name in names or (c.default is not None and not c.primary_key)]
    arrays = [
        cast(bindparam(c.name, type_=ARRAY(Text)), ARRAY(JSON))
        if isinstance(c.type, JSON)  # sent as text, read as JSON
        else bindparam(c.name, type_=ARRAY(c.type))
        for c in columns
    ]
    query: Select[Any] = select(literal_column("*")).select_from(func.unnest(*arrays))
    stmt = pg_insert(table).from_select([c.name for c in columns], query)
    if skip_conflicts_on is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[skip_conflicts_on])
    return (stmt if returning is None else stmt.returning(table.c[returning])), columns
