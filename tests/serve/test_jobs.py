"""Jobs on the twin: idempotent submit, list and filter, cancel, and a restart that keeps them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text
from tests.serve.conftest import Api
from tests.serve.helpers import wait_for

from megapod.serve.store.models import Allocation, Job


def submit(api: Api, key: str, **kw: Any) -> Any:
    body = {"idempotency_key": key, "gpus": 8, "work_s": 60.0, **kw}
    return api.client.post("/api/v1/jobs", json=body, headers=api.operator)


def job(api: Api, job_id: str) -> dict[str, Any]:
    r = api.client.get(f"/api/v1/jobs/{job_id}", headers=api.viewer)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_submit_is_idempotent(api: Api) -> None:
    first = submit(api, "same-key")
    assert first.status_code == 201
    again = submit(api, "same-key")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = submit(api, "same-key", gpus=16)
    assert other.status_code == 409 and "idempotency_key" in other.json()["detail"]
    with api.plane.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 1
    assert api.client.get("/metrics").text.count("megapod_jobs_submitted_total 1.0") == 1


def test_job_runs_to_done_and_is_listed(api: Api) -> None:
    c, v = api.client, api.viewer
    done = submit(api, "short", name="short", work_s=30.0, queue="research").json()
    long = submit(api, "long", name="long", work_s=1e6).json()
    wait_for(lambda: job(api, done["id"])["state"] == "done")
    d = job(api, done["id"])
    assert d["started_at"] is not None
    # times are seen at the loop's steps; a job cannot end before its arrival plus its work
    assert d["sim_end_s"] >= d["sim_submit_s"] + 30.0 and d["sim_start_s"] >= d["sim_submit_s"]
    wait_for(lambda: job(api, long["id"])["state"] == "running")
    assert c.get("/api/v1/jobs?state=running", headers=v).json()["items"][0]["id"] == long["id"]
    assert [j["name"] for j in c.get("/api/v1/jobs?queue=research", headers=v).json()["items"]] == ["short"]
    assert c.get("/api/v1/jobs?name=long", headers=v).json()["total"] == 1
    page = c.get("/api/v1/jobs?limit=1", headers=v).json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["items"][0]["name"] == "long"
    kinds = [e["kind"] for e in c.get("/api/v1/events", headers=v).json()["items"]]
    assert "job_started" in kinds and "job_done" in kinds
    assert api.plane.latest["gpus_busy"] >= 8


def test_cancel(api: Api) -> None:
    c = api.client
    j = submit(api, "to-cancel", work_s=1e6).json()
    wait_for(lambda: job(api, j["id"])["state"] == "running")
    r = c.post(f"/api/v1/jobs/{j['id']}/cancel", headers=api.operator)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    again = c.post(f"/api/v1/jobs/{j['id']}/cancel", headers=api.operator)
    assert again.status_code == 409 and "already ended" in again.json()["detail"]
    assert c.post("/api/v1/jobs/j-nope/cancel", headers=api.operator).status_code == 404
    wait_for(lambda: api.plane.latest["gpus_busy"] == 0)
    with api.plane.db.session() as s:
        open_allocs = s.scalar(
            select(func.count()).select_from(Allocation).where(Allocation.released_at.is_(None))
        )
    assert open_allocs == 0
    assert any(
        a["action"] == "job.cancel" for a in c.get("/api/v1/audit", headers=api.viewer).json()["items"]
    )


def test_a_job_the_site_cannot_hold_is_refused_and_not_stored(api: Api) -> None:
    r = submit(api, "too-big", gpus=100_000)
    assert r.status_code == 422 and r.json()["detail"].startswith("gpus:")
    assert api.client.get("/api/v1/jobs", headers=api.viewer).json()["total"] == 0
    r = submit(api, "no-work", work_s=None)
    assert r.status_code == 422 and "work_s" in r.json()["detail"]


def test_restart_keeps_state(start_api: Callable[..., Api], db_url: str) -> None:
    a = start_api(db_url)
    ids = [submit(a, f"r{i}", work_s=1e6 if i else 20.0).json()["id"] for i in range(3)]
    wait_for(lambda: job(a, ids[0])["state"] == "done" and job(a, ids[1])["state"] == "running")
    clock = a.plane.backend.clock_s()
    a.client.__exit__(None, None, None)  # stop the first server

    b = start_api(db_url)  # a new app on the same database
    assert b.plane.backend.clock_s() >= clock  # the twin resumed where it stopped
    listed = {j["id"]: j for j in b.client.get("/api/v1/jobs", headers=b.viewer).json()["items"]}
    assert set(listed) == set(ids)
    assert listed[ids[0]]["state"] == "done"
    wait_for(lambda: job(b, ids[1])["state"] == "running")
    assert submit(b, "r1", work_s=1e6).json()["id"] == ids[1]  # the key still answers the same job
    with b.plane.db.session() as s:
        open_allocs = s.scalar(
            select(func.count()).select_from(Allocation).where(Allocation.released_at.is_(None))
        )
        running = s.scalar(select(func.count()).select_from(Job).where(Job.state == "running"))
        admins = s.scalar(select(func.count()).select_from(Job))
    assert open_allocs == running  # nothing leaked from before the restart
    assert admins == 3
    kinds = [e["kind"] for e in b.client.get("/api/v1/events", headers=b.viewer).json()["items"]]
    assert kinds.count("server_start") == 2


def test_a_read_survives_a_connection_the_database_dropped(api: Api) -> None:
    """The reader engine pings no connection before a read: a read on a pooled connection the
    database server has closed is run again on a new one, not answered with a 500."""
    db = api.plane.db
    if db.backend != "postgresql":
        pytest.skip("only a database server drops connections")
    j = submit(api, "kept").json()
    assert job(api, j["id"])["id"] == j["id"]  # the reader's pool now holds a connection
    with db.reader.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    assert job(api, j["id"])["id"] == j["id"]
    listed = api.client.get("/api/v1/jobs", headers=api.viewer)
    assert listed.status_code == 200 and listed.json()["total"] == 1


def test_a_write_after_an_idle_while_survives_a_connection_the_database_dropped(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer pings a pooled connection that has been idle (here: any, ``PING_IDLE_S`` = 0)
    and takes a new one when the database server has closed it; one in steady use it does not
    ping (a round trip less for every transaction)."""
    from megapod.serve.store import db as store

    db = api.plane.db
    if db.backend != "postgresql":
        pytest.skip("only a database server drops connections")
    pings: list[object] = []
    real_ping = db.engine.dialect.do_ping
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda c: (pings.append(c), real_ping(c))[1])
    with api.plane.lock:  # no step of the loop takes the writer's connections meanwhile
        for _ in range(3):
            with db.session() as s:
                s.execute(text("SELECT 1"))
        assert pings == []  # in steady use
        monkeypatch.setattr(store, "PING_IDLE_S", 0.0)
        with db.session() as s:
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with db.reader.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    j = submit(api, "after-a-drop")  # its batch, or a step before it, meets the closed one
    assert j.status_code == 201, j.text
    assert pings and job(api, j.json()["id"])["state"] in ("pending", "queued", "running", "done")


def test_concurrent_submits_share_one_transaction(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Submits waiting for the plane's lock are written together (group commit): each is
    answered as if alone: a new key is stored once, a resent key gets its job back, a key
    reused for another body is a conflict, and a job the backend refuses is not stored."""
    from megapod.errors import SpecError
    from megapod.serve.auth import Principal
    from megapod.serve.services import jobs
    from megapod.serve.store.models import AuditEntry

    plane = api.plane
    who = Principal(token_id=1, name="batcher", role="operator")
    sizes: list[int] = []
    write = jobs._write_batch
    monkeypatch.setattr(jobs, "_write_batch", lambda p, b: (sizes.append(len(b)), write(p, b))[1])
    first, _ = jobs.submit(plane, who, {"idempotency_key": "old", "gpus": 8, "work_s": 60.0})
    bodies = [{"idempotency_key": f"new-{i}", "gpus": 8, "work_s": 60.0} for i in range(5)]
    bodies += [
        {"idempotency_key": "old", "gpus": 8, "work_s": 60.0},  # resent
        {"idempotency_key": "old", "gpus": 16, "work_s": 60.0},  # another body, same key
        {"idempotency_key": "twice", "gpus": 8, "work_s": 60.0},
        {"idempotency_key": "twice", "gpus": 8, "work_s": 60.0},  # the same key in one batch
        {"idempotency_key": "refused", "gpus": 8},  # the twin needs work_s
    ]
    answers: dict[int, Any] = {}

    def run(i: int) -> None:
        try:
            answers[i] = jobs.submit(plane, who, bodies[i])
        except Exception as exc:  # the answer under test
            answers[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    with plane.lock:  # every submit joins the queue while the lock is held elsewhere
        for t in threads:
            t.start()
        wait_for(lambda: len(plane.pending_submits) == len(bodies))
    for t in threads:
        t.join(10)
    assert sizes == [1, len(bodies)]
    assert all(answers[i][1] for i in range(5))
    assert answers[5][0]["id"] == first["id"] and answers[5][1] is False  # its state may have moved on
    assert isinstance(answers[6], jobs.Conflict)
    assert sorted(isinstance(answers[i], tuple) and answers[i][1] for i in (7, 8)) == [False, True]
    assert answers[7][0]["id"] == answers[8][0]["id"]
    assert isinstance(answers[9], SpecError)
    with plane.db.session() as s:
        keys = sorted(s.scalars(select(Job.idempotency_key)))
        audited = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "job.submit")
        )
    assert keys == sorted(["old", "twice", *(f"new-{i}" for i in range(5))])
    assert audited == len(keys)


def test_more_submits_waiting_than_a_batch_are_all_answered(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request that holds the lock writes batch after batch until its own is written
    (here it finds four submissions ahead of it, batches of two)."""
    from megapod.serve.auth import Principal
    from megapod.serve.services import jobs

    monkeypatch.setattr(jobs, "MAX_BATCH", 2)
    who = Principal(token_id=1, name="many", role="operator")
    ahead = [
        jobs.PendingSubmit(who, body, jobs.request_hash(body))
        for body in ({"idempotency_key": f"ahead-{i}", "gpus": 1, "work_s": 5.0} for i in range(4))
    ]
    api.plane.pending_submits.extend(ahead)
    _, created = jobs.submit(api.plane, who, {"idempotency_key": "last", "gpus": 1, "work_s": 5.0})
    assert created and all(item.result is not None and item.result[1] for item in ahead)
    assert not api.plane.pending_submits


def test_a_step_whose_transaction_fails_loses_nothing(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step whose commit fails (a locked or lost database) leaves the jobs' states in memory
    as they were, so the next step writes the job's end and frees its allocations; the
    backend's events drained in it are written by the next step, once."""
    from megapod.serve.backends.base import BackendEvent

    plane = api.plane
    j: dict[str, Any] = {"id": None}  # the job, once submitted
    failed: list[int] = []
    add_events, drain = plane._add_events, plane.backend.drain_events
    marker = BackendEvent("node_failed", "a marker drained in the failed step", "warning")

    def fail_once(s: Any, events: list[BackendEvent]) -> list[int]:
        if not failed and any(e.kind == "job_done" and e.data.get("job_id") == j["id"] for e in events):
            failed.append(1)
            raise RuntimeError("the database refused the step")
        return list(add_events(s, events))

    emitted: list[int] = []

    def drain_with_marker() -> list[BackendEvent]:  # once, in the step that sees the job end
        status = plane.backend.job_status(j["id"]) if j["id"] else None
        if emitted or status is None or status.state != "done":
            return list(drain())
        emitted.append(1)
        return [*drain(), marker]

    monkeypatch.setattr(plane, "_add_events", fail_once)
    monkeypatch.setattr(plane.backend, "drain_events", drain_with_marker)
    j = submit(api, "ends-in-a-failed-step", work_s=60.0).json()
    wait_for(lambda: job(api, j["id"])["state"] == "done")
    assert failed
    with plane.db.session() as s:
        open_allocs = s.scalar(
            select(func.count())
            .select_from(Allocation)
            .where(Allocation.job_id == j["id"], Allocation.released_at.is_(None))
        )
    assert open_allocs == 0
    events = api.client.get("/api/v1/events?limit=1000", headers=api.viewer).json()["items"]
    done = [e for e in events if e["kind"] == "job_done" and e["data"].get("job_id") == j["id"]]
    assert len(done) == 1
    assert emitted and sum(e["message"] == marker.message for e in events) == 1


def test_a_requeue_between_two_steps_is_seen_by_its_restart_count(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job stopped and started again between two steps of the control loop (neither step saw
    it wait) is still a requeue: its event is written, the first run's allocations are closed
    and the second run's opened."""
    from megapod.serve.backends.base import JobStatus

    plane = api.plane
    j = submit(api, "twice-run", work_s=1e6).json()
    wait_for(lambda: job(api, j["id"])["state"] == "running")
    real = plane.backend.job_status
    again = JobStatus("running", sim_start_s=1.0, message="preempted", resources=[("again", 8)], restarts=1)
    monkeypatch.setattr(
        plane.backend, "job_status", lambda job_id: again if job_id == j["id"] else real(job_id)
    )
    plane.tick()
    with plane.db.session() as s:
        allocs = {
            (a.resource, a.released_at is None)
            for a in s.scalars(select(Allocation).where(Allocation.job_id == j["id"]))
        }
    assert ("again", True) in allocs and all(not open_ for r, open_ in allocs if r != "again")
    events = api.client.get("/api/v1/events?kind=job_requeued", headers=api.viewer).json()["items"]
    assert [e["data"]["job_id"] for e in events] == [j["id"]]
    plane.tick()  # the same restart count again: nothing more
    events = api.client.get("/api/v1/events?kind=job_requeued", headers=api.viewer).json()["items"]
    assert len(events) == 1
