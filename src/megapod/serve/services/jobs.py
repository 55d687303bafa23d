"""Jobs: submit (keyed by the client's idempotency key), list, get, cancel, logs."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, Select, bindparam, delete, func, select
from sqlalchemy.orm import Session

from megapod.errors import SpecError
from megapod.serve.auth import Principal
from megapod.serve.backends.base import FINAL_STATES, BackendConflict, BackendEvent
from megapod.serve.plane import ControlPlane, release_allocations, spec_of
from megapod.serve.services.audit import audit, audit_row, audit_rows
from megapod.serve.services.serialize import JOB_FIELDS, job_json, job_values
from megapod.serve.store.bulk import insert_rows
from megapod.serve.store.models import Job, JobLog, utcnow


class NotFound(LookupError):
    """A resource that does not exist (HTTP 404)."""


class Conflict(Exception):
    """A request at odds with the present state (HTTP 409)."""


def request_hash(body: dict[str, Any]) -> str:
    """Digest of a submission without its key: the same key must come with the same body."""
    rest = {k: v for k, v in body.items() if k != "idempotency_key"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


#: Submissions written in one transaction at most (well under SQLite's 32,766 bound variables
#: for the rows of one ``INSERT``).
MAX_BATCH = 64


@dataclass
class PendingSubmit:
    """One submission waiting for the transaction that writes it (see :func:`submit`)."""

    who: Principal
    body: dict[str, Any]
    digest: str
    #: The job as the API shows it, and whether it was created now (set once written).
    result: tuple[dict[str, Any], bool] | None = None
    error: BaseException | None = None

    @property
    def finished(self) -> bool:
        """Written, answered from an earlier submit of the same key, or refused."""
        return self.result is not None or self.error is not None


def submit(plane: ControlPlane, who: Principal, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Accept a job, or answer the one already accepted under the same key.

    Returns the job and whether it was created now. Submissions are written by group commit:
    each request joins :attr:`ControlPlane.pending_submits`, and whichever request holds the
    plane's lock writes every submission waiting then in one transaction, so concurrent
    submits share one commit (one WAL flush) instead of queueing for one each. A job is
    answered only after its transaction has committed; a job the backend refuses is not
    stored, and the others of its transaction are.
    """
    item = PendingSubmit(who, body, request_hash(body))
    plane.pending_submits.append(item)
    with plane.lock:
        while not item.finished:  # not written by an earlier holder (more than a batch may wait)
            batch = _take(plane.pending_submits)
            try:
                _write_batch(plane, batch)
            except BaseException as exc:
                for other in batch:
                    if not other.finished:
                        other.error = exc
    if item.error is not None:
        raise item.error
    assert item.result is not None
    return item.result


def _take(pending: deque[PendingSubmit]) -> list[PendingSubmit]:
    batch: list[PendingSubmit] = []
    while pending and len(batch) < MAX_BATCH:
        batch.append(pending.popleft())
    return batch


def _write_batch(plane: ControlPlane, batch: list[PendingSubmit]) -> None:
    """Write ``batch`` in one transaction (the caller holds the plane's lock): insert every job
    whose key is new (a key used before is skipped by the insert and answered by its job),
    hand those to the backend, delete the ones it refuses, audit the rest, commit."""
    clock = plane.backend.clock_s()
    now = utcnow()
    rows = [_job_row(item, clock, now) for item in batch]
    accepted: list[tuple[PendingSubmit, Job]] = []
    with plane.db.session() as s:
        created = set(insert_rows(s, Job, rows, returning="id", skip_conflicts_on="idempotency_key"))
        refused: list[str] = []
        audited: list[dict[str, Any]] = []
        for item, row in zip(batch, rows, strict=True):
            if row["id"] not in created:
                continue
            job = Job(**row)  # not added: the row is already written
            try:
                plane.backend.submit(spec_of(job))
            except Exception as exc:  # refused (or a fault of the backend): this job only, so
                item.error = exc  # that no job the backend took loses its row
                refused.append(job.id)
                continue
            audited.append(
                audit_row(
                    item.who, "job.submit", job.id, gpus=job.gpus, idempotency_key=row["idempotency_key"]
                )
            )
            accepted.append((item, job))
        if refused:
            s.execute(delete(Job).where(Job.id.in_(refused)))
        audit_rows(s, audited)
    for item, job in accepted:
        plane.job_changed(job.id, active=True)
        plane.submitted_total += 1
        item.result = (job_json(job), True)
    for item in batch:  # keys used before: the job stored under the key (409 for another body)
        if not item.finished:
            try:
                found = _by_key(plane, item.body["idempotency_key"], item.digest)
            except Conflict as exc:
                item.error = exc
                continue
            if found is None:  # the key's job was deleted meanwhile: not expected
                item.error = Conflict(f"idempotency_key: {item.body['idempotency_key']!r} is in use")
            else:
                item.result = (found, False)


def _job_row(item: PendingSubmit, clock: float, now: datetime) -> dict[str, Any]:
    """The ``jobs`` row of a submission (every column, so that the row is the answer too)."""
    body = item.body
    job_id = f"j-{uuid.uuid4().hex[:12]}"
    return {
        "id": job_id,
        "idempotency_key": body["idempotency_key"],
        "request_hash": item.digest,
        "name": body.get("name") or job_id,
        "state": "pending",
        "gpus": body["gpus"],
        "work_s": body.get("work_s"),
        "partition": body.get("partition"),
        "queue": body.get("queue"),
        "priority": body.get("priority", 0),
        "command": body.get("command"),
        "entrypoint": body.get("entrypoint"),
        "args": body.get("args") or [],
        "submitted_by": item.who.name,
        "created_at": now,
        "started_at": None,
        "ended_at": None,
        "sim_submit_s": clock,
        "sim_start_s": None,
        "sim_end_s": None,
        "exit_code": None,
        "message": "",
        "log_lines": 0,
    }


def _by_key(plane: ControlPlane, key: str, digest: str) -> dict[str, Any] | None:
    with plane.db.session() as s:
        return _by_key_in(s, key, digest)


def _by_key_in(s: Session, key: str, digest: str) -> dict[str, Any] | None:
    """The job accepted under ``key`` (409 when its body differs), or ``None``."""
    job = s.scalar(select(Job).where(Job.idempotency_key == key))
    if job is None:
        return None
    if job.request_hash != digest:
        raise Conflict(f"idempotency_key: {key!r} was used for a different job ({job.id})")
    return job_json(job)


_JOBS = Job.__table__
_FILTERS = ("state", "queue", "name")


@functools.cache
def _job_queries(filters: tuple[str, ...]) -> tuple[Select[Any], Select[Any]]:
    """The count and the page of jobs filtered on ``filters`` (bound parameters of those
    names, and ``offset``, ``limit``), built once: a statement built anew for every request
    is compiled and keyed anew too. (A count in each row of the page, ``count() OVER ()``,
    would save a round trip but read every matching row instead of a page of the index.)"""
    where = [_JOBS.c[f] == bindparam(f) for f in filters]
    count = select(func.count()).select_from(_JOBS).where(*where)
    page = (
        select(*(_JOBS.c[k] for k in JOB_FIELDS))
        .where(*where)
        .order_by(_JOBS.c.created_at.desc(), _JOBS.c.id.desc())
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    )
    return count, page


_GET_JOB = select(*(_JOBS.c[k] for k in JOB_FIELDS)).where(_JOBS.c.id == bindparam("id"))


def list_jobs(
    plane: ControlPlane,
    state: str | None = None,
    queue: str | None = None,
    name: str | None = None,
    offset: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """Jobs newest first, filtered by state, queue and name (read as plain rows, not ORM
    objects: a read needs no unit of work; kept until the jobs table is next written)."""
    asked = {k: v for k, v in zip(_FILTERS, (state, queue, name), strict=True) if v is not None}
    count, page = _job_queries(tuple(asked))

    def query(conn: Connection) -> dict[str, Any]:
        total = int(conn.execute(count, asked).scalar_one())
        rows = conn.execute(page, {**asked, "offset": offset, "limit": limit}).all()
        return {"items": [job_values(r) for r in rows], "total": total}

    key = ("list", *asked.items(), offset, limit)
    return plane.db.job_reads.get(key, lambda: plane.db.read(query))


def get_job(plane: ControlPlane, job_id: str) -> dict[str, Any]:
    """One job (read as a plain row; kept until the jobs table is next written, when found)."""

    def query(conn: Connection) -> dict[str, Any] | None:
        row = conn.execute(_GET_JOB, {"id": job_id}).first()
        return None if row is None else job_values(row)

    job = plane.db.job_reads.get(("job", job_id), lambda: plane.db.read(query), keep=lambda j: j is not None)
    if job is None:
        raise NotFound(f"job_id: no job {job_id!r}")
    return job


def cancel(plane: ControlPlane, who: Principal, job_id: str) -> dict[str, Any]:
    """Cancel a job that has not ended (409 when it has)."""
    with plane.lock, plane.db.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise NotFound(f"job_id: no job {job_id!r}")
        if job.state in FINAL_STATES:
            raise Conflict(f"job {job_id} has already ended ({job.state})")
        with contextlib.suppress(SpecError):  # not handed to the backend (yet): the record is enough
            plane.backend.cancel(job_id)
        plane.backend.step()
        status = plane.backend.job_status(job_id)
        now = utcnow()
        job.state = "cancelled"
        job.ended_at = now
        job.sim_end_s = plane.backend.clock_s() if status is None else status.sim_end_s
        job.message = "cancelled by " + who.name
        s.execute(release_allocations([job_id], now))
        audit(s, who, "job.cancel", job_id)
        out = job_json(job)
    plane.job_changed(job_id, active=False)
    plane.record_event(
        BackendEvent(
            "job_cancelled",
            f"job {job_id} cancelled by {who.name}",
            sim_t_s=out["sim_end_s"],
            data={"job_id": job_id, "by": who.name},
        )
    )
    return out


def preempt(plane: ControlPlane, who: Principal, job_id: str) -> dict[str, Any]:
    """Preempt a running job: its ranks get time to checkpoint, then it waits again (409 when
    it is not running or the backend cannot preempt)."""
    with plane.lock:
        with plane.db.session() as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFound(f"job_id: no job {job_id!r}")
            if job.state != "running":
                raise Conflict(f"job {job_id} is not running ({job.state})")
        try:
            stopped = plane.backend.preempt(job_id)
        except BackendConflict as exc:
            raise Conflict(str(exc)) from None
        if not stopped:
            raise Conflict(f"job {job_id} is not running")
        with plane.db.session() as s:
            audit(s, who, "job.preempt", job_id)
    plane.record_event(
        BackendEvent(
            "operator_action",
            f"job {job_id} preempted by {who.name}",
            sim_t_s=plane.backend.clock_s(),
            data={"action": "preempt", "job_id": job_id, "by": who.name},
        )
    )
    plane.tick()  # the job's new state (queued) and its released allocation are written now
    return get_job(plane, job_id)


def logs(plane: ControlPlane, job_id: str, offset: int = 0, limit: int = 1000) -> dict[str, Any]:
    """Output lines of a job from ``offset`` on."""
    with plane.db.session() as s:
        if s.get(Job, job_id) is None:
            raise NotFound(f"job_id: no job {job_id!r}")
        rows = s.execute(
            select(JobLog.seq, JobLog.line)
            .where(JobLog.job_id == job_id, JobLog.seq >= offset)
            .order_by(JobLog.seq)
            .limit(limit)
        ).all()
    items = [{"seq": int(seq), "line": str(line)} for seq, line in rows]
    return {"items": items, "next_offset": int(rows[-1][0]) + 1 if rows else offset}
