"""Jobs: submit (keyed by the client's idempotency key), list, get, cancel, logs."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from megapod.errors import SpecError
from megapod.serve.auth import Principal
from megapod.serve.backends.base import FINAL_STATES, BackendConflict, BackendEvent
from megapod.serve.plane import ControlPlane, spec_of
from megapod.serve.services.audit import audit
from megapod.serve.services.serialize import JOB_FIELDS, job_json, job_values
from megapod.serve.store.models import Job, JobLog, utcnow


class NotFound(LookupError):
    """A resource that does not exist (HTTP 404)."""


class Conflict(Exception):
    """A request at odds with the present state (HTTP 409)."""


def request_hash(body: dict[str, Any]) -> str:
    """Digest of a submission without its key: the same key must come with the same body."""
    rest = {k: v for k, v in body.items() if k != "idempotency_key"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def submit(plane: ControlPlane, who: Principal, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Accept a job, or answer the one already accepted under the same key.

    Returns the job and whether it was created now. The row is written and the backend takes
    the job in one transaction: when the backend refuses it, nothing is stored.
    """
    key = body["idempotency_key"]
    digest = request_hash(body)
    with plane.lock:
        job_id = f"j-{uuid.uuid4().hex[:12]}"
        try:
            # one transaction: the job and its audit row, then the backend takes the job. A
            # key already used fails the insert (the key is unique), and is answered below:
            # a resent submit is rare, so it is not looked up before every insert.
            with plane.db.session() as s:
                job = Job(
                    id=job_id,
                    idempotency_key=key,
                    request_hash=digest,
                    name=body.get("name") or job_id,
                    state="pending",
                    gpus=body["gpus"],
                    work_s=body.get("work_s"),
                    partition=body.get("partition"),
                    queue=body.get("queue"),
                    priority=body.get("priority", 0),
                    command=body.get("command"),
                    entrypoint=body.get("entrypoint"),
                    args=body.get("args") or [],
                    submitted_by=who.name,
                    sim_submit_s=plane.backend.clock_s(),
                    message="",
                    log_lines=0,
                )
                s.add(job)
                audit(s, who, "job.submit", job_id, gpus=job.gpus, idempotency_key=key)
                s.flush()
                plane.backend.submit(spec_of(job))  # refused: the transaction is rolled back
                out = job_json(job)
        except IntegrityError:  # the key was used before (by this server or another one)
            found = _by_key(plane, key, digest)
            if found is None:
                raise
            return found, False
        plane.job_changed(job_id, active=True)
        plane.submitted_total += 1
    return out, True


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
    is compiled and keyed anew too."""
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
    objects: a read needs no unit of work)."""
    asked = {k: v for k, v in zip(_FILTERS, (state, queue, name), strict=True) if v is not None}
    count, page = _job_queries(tuple(asked))
    with plane.db.reader.connect() as conn:
        total = int(conn.execute(count, asked).scalar_one())
        rows = conn.execute(page, {**asked, "offset": offset, "limit": limit}).all()
    return {"items": [job_values(r) for r in rows], "total": total}


def get_job(plane: ControlPlane, job_id: str) -> dict[str, Any]:
    """One job (read as a plain row)."""
    with plane.db.reader.connect() as conn:
        row = conn.execute(_GET_JOB, {"id": job_id}).first()
    if row is None:
        raise NotFound(f"job_id: no job {job_id!r}")
    return job_values(row)


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
        from sqlalchemy import update

        from megapod.serve.store.models import Allocation

        s.execute(
            update(Allocation)
            .where(Allocation.job_id == job_id, Allocation.released_at.is_(None))
            .values(released_at=now)
        )
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
