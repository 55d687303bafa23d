"""Many rows in one ``INSERT`` (``store/bulk.py``): the same rows stored on either database,
defaults filled, a used key skipped, the ids of the rows written returned."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from megapod.serve.store.bulk import insert_rows
from megapod.serve.store.db import Database
from megapod.serve.store.models import AuditEntry, Event, Job

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


def job_row(key: str, **kw: Any) -> dict[str, Any]:
    return {"id": f"j-{key}", "idempotency_key": key, "request_hash": "h", "gpus": 1, **kw}


def test_rows_and_defaults_are_stored_and_a_used_key_is_skipped(database: Database) -> None:
    db = database
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    with db.session() as s:
        first = insert_rows(s, Job, [job_row("a", args=["x", 1], created_at=at)], "id", "idempotency_key")
        again = insert_rows(
            s,
            Job,
            [job_row("a", id="j-other"), job_row("b", work_s=2.5, command=["run", "-n", 3])],
            "id",
            "idempotency_key",
        )
    assert first == ["j-a"] and again == ["j-b"]
    with db.session() as s:
        a, b = s.scalars(select(Job).order_by(Job.id)).all()
        assert (a.args, a.created_at.astimezone(UTC), a.work_s, a.command) == (["x", 1], at, None, None)
        assert (b.args, b.state, b.priority, b.message, b.log_lines) == ([], "pending", 0, "", 0)
        assert (b.work_s, b.command, b.created_at is not None) == (2.5, ["run", "-n", 3], True)
        assert insert_rows(s, AuditEntry, []) == []


def test_json_and_text_come_back_as_written(database: Database) -> None:
    db = database

    @settings(max_examples=25, deadline=None, database=None)
    @given(
        data=st.lists(st.dictionaries(st.text(max_size=6), json_values, max_size=4), min_size=1, max_size=5),
        message=st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")),
    )
    def check(data: list[dict[str, Any]], message: str) -> None:
        rows = [{"kind": "k", "message": message, "data": d} for d in data]
        with db.session() as s:
            ids = insert_rows(s, Event, rows, "id")
        assert len(ids) == len(rows)
        with db.session() as s:
            stored = s.scalars(select(Event).where(Event.id.in_(ids)).order_by(Event.id)).all()
            s.execute(delete(Event))
        assert sorted((e.message, repr(e.data)) for e in stored) == sorted((message, repr(d)) for d in data)
        assert all(e.severity == "info" and e.at is not None for e in stored)

    check()
