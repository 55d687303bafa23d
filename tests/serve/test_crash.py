"""kill -9 in the middle of a stream of keyed submits: after a restart on the same database and
the clients' retries, no accepted job is lost, none is there twice and no allocation stays open
(on SQLite and on PostgreSQL)."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from tests.serve.helpers import wait_for
from tests.serve.process import ServeProcess

from megapod.client import ApiError, Client
from megapod.serve.store import Database
from megapod.serve.store.models import Allocation, Job

SUBMITS = 200
THREADS = 8
#: Accepted submits after which the server is killed.
KILL_AFTER = 60
#: A job runs 1.2 s of wall time at --speed 100: several loop steps see it hold its GPUs.
GPUS, WORK_S, SPEED = 8, 120.0, "100"


def body(key: str) -> dict[str, Any]:
    return {"idempotency_key": key, "gpus": GPUS, "work_s": WORK_S, "name": key}


def submit_all(base_url: str, token: str, keys: list[str], answers: dict[str, str], lost: set[str]) -> None:
    """Submit ``keys`` from ``THREADS`` threads; an answered key goes to ``answers`` (its job id),
    one whose answer did not come (connection refused or cut, a 5xx) to ``lost``."""
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for k in keys:
        todo.put(k)
    guard = threading.Lock()
    refused: list[str] = []

    def work() -> None:
        with Client(base_url, token=token, timeout_s=5.0) as c:
            while True:
                try:
                    key = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    job = c.submit_job(**body(key), retries=0)
                except (httpx.TransportError, ApiError) as exc:
                    if isinstance(exc, ApiError) and exc.status < 500:
                        with guard:
                            refused.append(f"{key}: {exc}")
                        continue
                    with guard:
                        lost.add(key)
                    continue
                with guard:
                    assert answers.setdefault(key, job["id"]) == job["id"], key
                    lost.discard(key)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not refused, refused


def open_allocations(db_url: str) -> list[tuple[str, str]]:
    """(job id, job state) of every allocation not released."""
    db = Database(db_url)
    try:
        with db.session() as s:
            q = select(Allocation.job_id, Job.state).join(Job).where(Allocation.released_at.is_(None))
            return [(str(j), str(st)) for j, st in s.execute(q)]
    finally:
        db.dispose()


def test_kill_9_mid_stream_loses_and_duplicates_nothing(tmp_path: Path, db_url: str) -> None:
    srv = ServeProcess(tmp_path, db_url, "--speed", SPEED)
    srv.start()
    keys = [f"crash-{i:03d}" for i in range(SUBMITS)]
    answers: dict[str, str] = {}
    lost: set[str] = set()
    try:
        admin = Client(srv.base_url, token=srv.admin_token())
        token = admin.create_token("load", "operator")["token"]
        admin.close()
        clients = threading.Thread(target=submit_all, args=(srv.base_url, token, keys, answers, lost))
        clients.start()
        wait_for(lambda: len(answers) >= KILL_AFTER, timeout_s=30, every_s=0.002)
        srv.kill()
        accepted_before_kill = dict(answers)
        clients.join(timeout=120)
        assert not clients.is_alive()
        assert lost, "the kill came after every submit was answered: nothing was tested"
        assert set(answers) | lost == set(keys)

        held_at_kill = open_allocations(db_url)
        srv.start()  # the same database, the same port
        # the restart released what the killed server held; what is open now is held anew
        assert all(state == "running" for _, state in open_allocations(db_url)), held_at_kill
        retried = set(lost)
        submit_all(srv.base_url, token, sorted(retried), answers, lost)
        assert not lost and set(answers) == set(keys)

        with Client(srv.base_url, token=token) as c:
            # every key sent once more answers the job it was first given: none is made twice
            for key in keys:
                assert c.submit_job(**body(key), retries=0)["id"] == answers[key]
            listed = c.jobs(limit=1000)
            assert listed["total"] == SUBMITS
            assert {j["idempotency_key"]: j["id"] for j in listed["items"]} == answers
            for key, job_id in accepted_before_kill.items():  # accepted before the kill: kept
                assert c.job(job_id)["idempotency_key"] == key
            wait_for(lambda: c.jobs(state="done")["total"] == SUBMITS, timeout_s=60, every_s=0.2)
            assert c.state()["gpus_busy"] == 0
    finally:
        srv.stop()
    assert open_allocations(db_url) == []
    db = Database(db_url)
    try:
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Job)) == SUBMITS
            assert s.scalar(select(func.count(func.distinct(Job.idempotency_key)))) == SUBMITS
            states = {
                str(k): int(n) for k, n in s.execute(select(Job.state, func.count()).group_by(Job.state))
            }
            assert states == {"done": SUBMITS}
            ran = s.execute(
                select(Allocation.job_id, func.sum(Allocation.gpus)).group_by(Allocation.job_id)
            ).all()
            assert ran and all(gpus >= GPUS for _, gpus in ran)  # each job held its GPUs (once per run)
    finally:
        db.dispose()
