"""Job reads kept in memory (``store/cache.py``): emptied by every kind of write of the jobs
table on either database, never by other tables, and never stale when reads race a writer."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session
from tests.serve.conftest import Api

from megapod.serve.store.cache import ReadCache
from megapod.serve.store.db import Database
from megapod.serve.store.models import Event, Job


def test_an_answer_is_kept_and_the_least_recently_used_dropped() -> None:
    cache = ReadCache(max_entries=2)
    loads: list[str] = []

    def load(key: str) -> str:
        loads.append(key)
        return key.upper()

    assert cache.get("a", lambda: load("a")) == "A"
    assert cache.get("a", lambda: load("a")) == "A"
    cache.get("b", lambda: load("b"))
    cache.get("a", lambda: load("a"))  # "a" is now the most recent
    cache.get("c", lambda: load("c"))  # so "b" goes
    cache.get("a", lambda: load("a"))
    cache.get("b", lambda: load("b"))
    assert loads == ["a", "b", "c", "b"]
    assert (cache.hits, cache.misses, len(cache)) == (3, 4, 2)
    assert cache.get("n", lambda: None, keep=lambda v: v is not None) is None
    assert "n" not in cache._answers
    with pytest.raises(ValueError, match="max_entries"):
        ReadCache(0)


def test_an_answer_loaded_while_a_writer_committed_is_not_kept() -> None:
    cache = ReadCache()

    def load_during_a_commit() -> str:
        cache.invalidate()  # a writer's commit ends while this read runs
        return "old"

    assert cache.get("k", load_during_a_commit) == "old"
    assert cache.get("k", lambda: "new") == "new"


JOBS = cast(Table, Job.__table__)


def _job_row(**kw: Any) -> dict[str, Any]:
    key = uuid.uuid4().hex
    return {"id": key[:12], "idempotency_key": key, "request_hash": "0" * 64, "gpus": 1, **kw}


def _read_state(db: Database, job_id: str) -> str | None:
    """The job's state through the cache, as the API reads it."""
    return db.job_reads.get(
        ("job", job_id),
        lambda: db.read(lambda c: c.execute(select(Job.state).where(Job.id == job_id)).scalar()),
    )


def test_every_kind_of_write_of_the_jobs_table_empties_the_cache(database: Database) -> None:
    db = database
    row = _job_row()
    with db.session() as s:  # an ORM flush
        s.add(Job(**row))
    assert _read_state(db, row["id"]) == "pending"
    writes: list[tuple[str, Callable[[Session], object], str | None]] = [
        ("ORM attribute", lambda s: setattr(s.get(Job, row["id"]), "state", "queued"), "queued"),
        (
            "bulk UPDATE",
            lambda s: s.execute(update(Job).where(Job.id == row["id"]).values(state="running")),
            "running",
        ),
        (
            "Core UPDATE on the session's connection",
            lambda s: s.connection().execute(update(JOBS).where(JOBS.c.id == row["id"]).values(state="done")),
            "done",
        ),
        ("bulk DELETE", lambda s: s.execute(delete(Job).where(Job.id == row["id"])), None),
    ]
    for what, write, expected in writes:
        assert _read_state(db, row["id"]) == _read_state(db, row["id"])  # now kept
        generation = db.job_reads.generation
        with db.session() as s:
            write(s)
        assert db.job_reads.generation > generation, what
        assert _read_state(db, row["id"]) == expected, what
    with db.session() as s:  # a Core INSERT, as the group commit writes
        s.connection().execute(insert(JOBS), [row])
    assert _read_state(db, row["id"]) == "pending"


def test_reads_and_writes_of_other_tables_keep_the_answers(database: Database) -> None:
    db = database
    row = _job_row()
    with db.session() as s:
        s.add(Job(**row))
    _read_state(db, row["id"])
    generation = db.job_reads.generation
    with db.session() as s:
        s.add(Event(kind="operator_action", severity="info", message="x"))
        s.scalars(select(Job)).all()
        job = s.get(Job, row["id"])
        assert job is not None
        job.state = "pending"  # set to the value it has: nothing written
    db.read(lambda c: c.execute(select(Job.id)).all())
    assert db.job_reads.generation == generation
    hits = db.job_reads.hits
    _read_state(db, row["id"])
    assert db.job_reads.hits == hits + 1


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=0, max_value=2**31))
def test_reads_racing_a_writer_end_on_what_it_committed(sqlite_seed_url: str, seed: int) -> None:
    """A writer thread moves a job through states, committing each, while a reader reads it
    through the cache as fast as it can; every answer is a state the writer committed, and
    once the writer is done the cache answers its last one."""
    import random

    rng = random.Random(seed)
    states = [rng.choice(["pending", "queued", "running", "done"]) for _ in range(60)]
    db = Database(sqlite_seed_url)
    db.migrate()
    try:
        row = _job_row()
        with db.session() as s:
            s.add(Job(**row))
        seen: list[str | None] = []
        done = threading.Event()

        def reader() -> None:
            while not done.is_set():
                seen.append(_read_state(db, row["id"]))

        t = threading.Thread(target=reader)
        t.start()
        for state in states:
            with db.session() as s:
                s.execute(update(Job).where(Job.id == row["id"]).values(state=state))
        done.set()
        t.join()
        assert set(seen) <= {"pending", *states}
        assert _read_state(db, row["id"]) == states[-1]
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def sqlite_seed_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One SQLite file for the examples of the property test (each example adds its own job)."""
    return f"sqlite:///{tmp_path_factory.mktemp('race') / 'race.db'}"


def test_the_api_answers_each_change_of_a_job_at_once(api: Api) -> None:
    """Through the API: a job read (kept), cancelled, read again: the new state, at once; the
    list likewise."""
    job = api.client.post(
        "/api/v1/jobs", json={"idempotency_key": "k-cache", "gpus": 1, "work_s": 1e6}, headers=api.operator
    ).json()
    for _ in range(2):
        first = api.client.get(f"/api/v1/jobs/{job['id']}", headers=api.viewer).json()
        listed = api.client.get("/api/v1/jobs", headers=api.viewer).json()
    assert first["state"] != "cancelled" and listed["items"][0]["id"] == job["id"]
    cache = api.plane.db.job_reads
    metrics = api.client.get("/metrics").text
    assert f'megapod_job_reads_total{{cache="hit"}} {float(cache.hits)}' in metrics
    assert f'megapod_job_reads_total{{cache="miss"}} {float(cache.misses)}' in metrics
    r = api.client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=api.operator)
    assert r.status_code == 200, r.text
    assert api.client.get(f"/api/v1/jobs/{job['id']}", headers=api.viewer).json()["state"] == "cancelled"
    assert api.client.get("/api/v1/jobs", headers=api.viewer).json()["items"][0]["state"] == "cancelled"
