"""The control plane: one backend, one database, and the loop that keeps them in step.

The loop steps the backend every ``tick_s``, writes what changed (job states, allocations,
logs, events) to the database, rolls telemetry up at a fixed cadence and keeps the compact
live state the API and the stream read. Everything that must survive a restart is in the
database; what is held here (the latest state, the telemetry being rolled up) is rebuilt.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, Update, bindparam, func, select, update
from sqlalchemy.orm import Session

from megapod.serve import auth
from megapod.serve.backends import Backend, BackendEvent, JobSpec, make_backend
from megapod.serve.backends.base import FINAL_STATES
from megapod.serve.settings import Settings
from megapod.serve.store import Database
from megapod.serve.store.bulk import insert_rows
from megapod.serve.store.models import Allocation, Event, Job, JobLog, Setting, TelemetryRollup, utcnow
from megapod.spec.site import Site

if TYPE_CHECKING:
    from megapod.serve.services.jobs import PendingSubmit

log = logging.getLogger("megapod.serve")

ACTIVE_STATES = ("pending", "queued", "running")
CLOCK_KEY = "backend.clock_s"
#: Events, and log lines of each job, that a failed step keeps for the next at most (the
#: oldest go first while the database refuses writes).
CARRY_MAX = 10_000
#: How often the loop saves the backend's clock [wall s].
CLOCK_EVERY_S = 1.0
POWER_KEYS = ("power.gpu_cap_w", "power.grid_limit_w", "power.battery_reserve_soc")


def load_site_for(settings: Settings) -> Site:
    """The site of ``settings``: the spec file, or the scenario's site when one is given."""
    if settings.scenario is not None:
        from megapod.spec.scenario import load_scenario

        return load_scenario(settings.scenario).site
    from megapod.spec import load_site

    return load_site(settings.site)


def spec_of(job: Job) -> JobSpec:
    """The backend's view of a stored job."""
    return JobSpec(
        job_id=job.id,
        gpus=job.gpus,
        work_s=job.work_s,
        partition=job.partition,
        queue=job.queue,
        priority=job.priority,
        command=job.command,
        entrypoint=job.entrypoint,
        args=list(job.args or []),
    )


def get_setting(s: Session, key: str, default: Any = None) -> Any:
    """A stored setting's value, or ``default``."""
    row = s.get(Setting, key)
    return default if row is None else row.value


def put_setting(s: Session, key: str, value: Any) -> None:
    """Store a setting (insert or update)."""
    row = s.get(Setting, key)
    if row is None:
        s.add(Setting(key=key, value=value))
    else:
        row.value = value
        row.updated_at = utcnow()


#: The columns of the jobs a step writes, as stored.
_STEP_JOBS = select(Job.id, Job.state, Job.started_at, Job.message, Job.gpus).where(
    Job.id.in_(bindparam("ids", expanding=True))
)


@dataclass
class _StepWrites:
    """What a step writes of its jobs, each kind in one statement (:meth:`execute`)."""

    #: Each job's changed columns, with its ``id`` (a bulk ``UPDATE`` by primary key).
    jobs: list[dict[str, Any]] = field(default_factory=list)
    #: New allocations, as rows.
    allocations: list[dict[str, Any]] = field(default_factory=list)
    #: Jobs requeued: the allocations of their run end before the new ones are written.
    requeued: list[str] = field(default_factory=list)
    #: Jobs ended: their allocations end (after the new ones, a job may start and end in one step).
    released: list[str] = field(default_factory=list)
    #: Jobs the loop stops following once the step has committed (ended, or not stored).
    inactive: list[str] = field(default_factory=list)

    def execute(self, s: Session, now: datetime) -> None:
        """The step's writes of its jobs, in that order, in ``s``'s transaction."""
        if self.requeued:
            s.execute(release_allocations(self.requeued, now))
        insert_rows(s, Allocation, self.allocations)
        if self.jobs:
            s.execute(update(Job), self.jobs)
        if self.released:
            s.execute(release_allocations(self.released, now))


def release_allocations(job_ids: list[str], now: datetime) -> Update:
    """The statement that ends the open allocations of ``job_ids`` at ``now``."""
    return (
        update(Allocation)
        .where(Allocation.job_id.in_(job_ids), Allocation.released_at.is_(None))
        .values(released_at=now)
        .execution_options(synchronize_session=False)
    )


class ControlPlane:
    """The running service's state: settings, site, database, backend and the step loop."""

    def __init__(self, settings: Settings, backend: Backend | None = None) -> None:
        self.settings = settings
        self.site = load_site_for(settings)
        self.db = Database(settings.db_url)
        self.backend = backend if backend is not None else make_backend(settings, self.site)
        self.lock = threading.RLock()
        self.latest: dict[str, Any] = {}
        self.revision = ""
        self.energy_j = {"it": 0.0, "facility": 0.0}
        self.submitted_total = 0
        #: Submissions waiting for the transaction that writes them (``services.jobs.submit``).
        self.pending_submits: deque[PendingSubmit] = deque()
        self._active: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._acc: dict[tuple[str, str], list[float]] = {}
        self._last_flush = time.monotonic()
        self._last_clock = 0.0
        self._breaches: set[str] = set()
        self._last_event_id = 0
        #: Each active job's (state, restarts) at the last step.
        self._seen: dict[str, tuple[str, int]] = {}
        self._clock_saved_at = -math.inf
        #: Events and job logs of a step whose transaction failed, written by the next.
        self._carried_events: list[BackendEvent] = []
        self._carried_logs: dict[str, list[str]] = {}
        self._counts: dict[str, int] = {}
        self._counts_dirty = True
        self._power: dict[str, Any] | None = None
        self.started = False

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        """Migrate the database, make the first admin token, start the backend, resume the
        jobs that were active, and start the loop."""
        self.revision = self.db.migrate()
        with self.db.session() as s:
            if auth.count_tokens(s) == 0:
                _, token = auth.create_token(s, "admin", "admin", self.settings.initial_admin_token)
                if self.settings.log_tokens and self.settings.initial_admin_token is None:
                    sys.stderr.write(f"megapod serve: first admin token (shown once): {token}\n")
            clock = float(get_setting(s, CLOCK_KEY, 0.0) or 0.0)
            cap = get_setting(s, "power.gpu_cap_w")
        with self.lock:
            self.backend.start(clock if self.backend.name == "twin" else 0.0)
            self._last_clock = self.backend.clock_s()
            if cap is not None:
                try:
                    self.backend.set_gpu_cap(float(cap))
                except Exception as exc:  # a cap this backend cannot take: say so, keep going
                    self.record_event(
                        BackendEvent("operator_action", f"stored cap not applied: {exc}", "warning")
                    )
            self._apply_power_settings()
            self._resume()
        self.record_event(
            BackendEvent(
                "server_start",
                f"server started on the {self.backend.name} backend at t = {self._last_clock:.0f} s",
                sim_t_s=self._last_clock,
                data={"backend": self.backend.name, "schema": self.revision},
            )
        )
        self._refresh_state()
        self.started = True
        self._thread = threading.Thread(target=self._loop, name="megapod-serve-loop", daemon=True)
        self._thread.start()

    def _apply_power_settings(self) -> None:
        """Hand the stored grid limit and battery reserve (the spec's reserve by default) to
        the backend (the twin acts on them; other backends keep them as settings)."""
        power = self.power_settings()
        for key, apply in (
            ("grid_limit_w", self.backend.set_grid_limit),
            ("battery_reserve_soc", self.backend.set_battery_reserve),
        ):
            value = power.get(key)
            if value is None:
                continue
            try:
                apply(float(value))
            except Exception as exc:  # a setting this backend cannot take: say so, keep going
                self.record_event(
                    BackendEvent("operator_action", f"stored {key} not applied: {exc}", "warning")
                )

    def _resume(self) -> None:
        """Hand the jobs that were active before a restart to the new backend."""
        now = utcnow()
        clock = self.backend.clock_s()
        with self.db.session() as s:
            s.execute(update(Allocation).where(Allocation.released_at.is_(None)).values(released_at=now))
            jobs = s.scalars(select(Job).where(Job.state.in_(ACTIVE_STATES)).order_by(Job.created_at)).all()
            for job in jobs:
                spec = spec_of(job)
                if self.backend.name == "twin" and job.work_s is not None:
                    done_s = clock - job.sim_start_s if job.state == "running" and job.sim_start_s else 0.0
                    left = job.work_s - max(done_s, 0.0)
                    if left <= 0:
                        job.state, job.ended_at, job.sim_end_s = "done", now, clock
                        continue
                    spec = JobSpec(**{**spec.__dict__, "work_s": left})
                elif job.state == "running":
                    job.message = "restarted: the server stopped while it ran"
                try:
                    self.backend.submit(spec)
                except Exception as exc:
                    job.state, job.ended_at, job.message = "failed", now, f"not resumed: {exc}"
                    continue
                job.state = "pending"
                self._active.add(job.id)

    def stop(self) -> None:
        """Stop the loop, save the clock, release the backend and the database."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        if self.started:
            with self.lock:
                clock = self.backend.clock_s()
                self.backend.stop()
            try:
                self._flush_telemetry()
                with self.db.session() as s:
                    put_setting(s, CLOCK_KEY, clock)
            except Exception:  # the database may already be gone at shutdown
                log.exception("could not save the clock at shutdown")
        self.started = False
        self.db.dispose()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.tick_s):
            try:
                self.tick()
            except Exception:  # keep serving; the next tick tries again
                log.exception("control-plane step failed")

    # ------------------------------------------------------------------ step
    def tick(self) -> None:
        """One step: advance the backend, then record what changed (under the lock, so that a
        submit or cancel never interleaves with the writes of a step)."""
        with self.lock:
            self._tick()

    def _tick(self) -> None:
        self.backend.step()
        clock = self.backend.clock_s()
        # what a step whose transaction failed left unwritten comes first (see the except below)
        events, logs = self._carried_events + self.backend.drain_events(), self._carried_logs
        for job_id, lines in self.backend.drain_logs().items():
            logs.setdefault(job_id, []).extend(lines)
        self._carried_events, self._carried_logs = [], {}
        statuses = {j: self.backend.job_status(j) for j in list(self._active)}
        st = self.backend.state()
        samples = self.backend.samples()
        dt = max(clock - self._last_clock, 0.0)
        self._last_clock = clock
        for key, name in (("it", "it_power_w"), ("facility", "facility_power_w")):
            if isinstance(st.get(name), int | float):
                self.energy_j[key] += float(st[name]) * dt
        now = utcnow()
        changed = {
            j: st_
            for j, st_ in statuses.items()
            if st_ is not None and (st_.state, st_.restarts) != self._seen.get(j)
        }
        save_clock = time.monotonic() - self._clock_saved_at >= CLOCK_EVERY_S
        events += self._breach_events(st, clock)  # before the session: it may read settings
        try:
            if changed or logs or save_clock:
                self._write_step(changed, events, logs, clock if save_clock else None, now)
            else:
                self.record_events(events)
        except BaseException:
            # nothing of the step is lost: its jobs' changes are seen again at the next step
            # (the views in memory move only after a commit), its events and logs carried
            if len(events) > CARRY_MAX or any(len(lines) > CARRY_MAX for lines in logs.values()):
                log.warning(
                    "the database refuses writes: keeping the last %d events and log lines", CARRY_MAX
                )
            self._carried_events = events[-CARRY_MAX:]
            self._carried_logs = {j: lines[-CARRY_MAX:] for j, lines in logs.items()}
            raise
        for scope, metrics in samples.items():
            for metric, value in metrics.items():
                acc = self._acc.setdefault((scope, metric), [0.0, value, value, 0.0])
                acc[0] += value
                acc[1] = min(acc[1], value)
                acc[2] = max(acc[2], value)
                acc[3] += 1
        if time.monotonic() - self._last_flush >= self.settings.telemetry_every_s:
            self._flush_telemetry()
        self._refresh_state(st)

    def _write_step(
        self,
        changed: dict[str, Any],
        events: list[BackendEvent],
        logs: dict[str, list[str]],
        clock: float | None,
        now: datetime,
    ) -> None:
        """A step's writes and events in one transaction (one commit, one WAL flush, a step;
        each kind of write one statement for all its jobs); ``clock``: the clock to save, if
        it is time to. The jobs' states in memory follow once it has committed."""
        job_events: list[BackendEvent] = []
        writes = _StepWrites()
        with self.db.session() as s:
            found = {r.id: r for r in s.execute(_STEP_JOBS, {"ids": list(changed)})}
            for job_id, status in changed.items():
                restarts = self._seen.get(job_id, ("", 0))[1]
                self._apply_status(found.get(job_id), job_id, status, now, job_events, writes, restarts)
            writes.execute(s, now)
            for job_id, lines in logs.items():
                self._append_logs(s, job_id, lines)
            if clock is not None:
                put_setting(s, CLOCK_KEY, clock)
            ids = self._add_events(s, [*events, *job_events])
        if clock is not None:
            self._clock_saved_at = time.monotonic()
        self._active.difference_update(writes.inactive)
        for job_id, status in changed.items():
            if job_id in self._active:
                self._seen[job_id] = (status.state, status.restarts)
            else:
                self._seen.pop(job_id, None)
        self._last_event_id = max(self._last_event_id, *ids, 0)
        self._counts_dirty = self._counts_dirty or bool(changed)

    def _apply_status(
        self,
        job: Row[str, str, datetime | None, str, int] | None,
        job_id: str,
        status: Any,
        now: datetime,
        events: list[BackendEvent],
        writes: _StepWrites,
        restarts_seen: int = 0,
    ) -> None:
        """Add a job's new status to the step's ``writes`` (``job``: its row as stored, of the
        columns of :data:`_STEP_JOBS`). ``restarts_seen``: the job's restarts at the last step;
        more now means it was requeued (and may be running again already)."""
        if job is None or job.state in FINAL_STATES:
            writes.inactive.append(job_id)
            return
        requeued = job.state == "running" and (status.state == "queued" or status.restarts > restarts_seen)
        if status.state == job.state and not requeued:
            return
        values: dict[str, Any] = {"id": job_id, "state": status.state}
        message = job.message
        if requeued:  # preempted, or a rank was lost: the run's allocations end now
            writes.requeued.append(job_id)
            message = status.message or message
            events.append(
                BackendEvent(
                    "job_requeued",
                    f"job {job_id} waits again" + (f": {status.message}" if status.message else ""),
                    "warning",
                    self.backend.clock_s(),
                    {"job_id": job_id},
                )
            )
        if status.state == "running" or (status.state in FINAL_STATES and job.started_at is None):
            values["started_at"] = job.started_at or now
            values["sim_start_s"] = status.sim_start_s
            writes.allocations.extend(
                {"job_id": job_id, "resource": resource, "gpus": gpus, "allocated_at": now}
                for resource, gpus in status.resources
            )
            if status.state == "running":
                events.append(
                    BackendEvent(
                        "job_started",
                        f"job {job_id} started on {job.gpus} GPUs",
                        sim_t_s=status.sim_start_s,
                        data={"job_id": job_id},
                    )
                )
        if status.state in FINAL_STATES:
            values.update(ended_at=now, sim_end_s=status.sim_end_s, exit_code=status.exit_code)
            message = status.message or message
            writes.released.append(job_id)
            writes.inactive.append(job_id)
            severity = "warning" if status.state == "failed" else "info"
            events.append(
                BackendEvent(
                    f"job_{status.state}",
                    f"job {job_id} {status.state}" + (f": {status.message}" if status.message else ""),
                    severity,
                    status.sim_end_s,
                    {"job_id": job_id, "exit_code": status.exit_code},
                )
            )
        if message != job.message:
            values["message"] = message
        writes.jobs.append(values)

    def _append_logs(self, s: Session, job_id: str, lines: list[str]) -> None:
        job = s.get(Job, job_id)
        if job is None:
            return
        start = job.log_lines
        s.add_all(JobLog(job_id=job_id, seq=start + i, line=line) for i, line in enumerate(lines))
        job.log_lines = start + len(lines)

    def _breach_events(self, st: dict[str, Any], clock: float) -> list[BackendEvent]:
        power = self.power_settings()
        budget = self.budget_w(power)
        checks = []
        facility = st.get("facility_power_w")
        drawn = st.get("grid_import_w")  # the twin: what the grid gives, net of the battery
        if isinstance(facility, int | float):
            power_w = float(drawn) if isinstance(drawn, int | float) else float(facility)
            what = "grid import" if isinstance(drawn, int | float) else "facility power"
            checks.append(
                (
                    "power",
                    power_w > budget * (1 + 1e-9),
                    f"{what} {power_w:,.0f} W is above the budget of {budget:,.0f} W",
                    {"facility_power_w": facility, "grid_import_w": drawn, "budget_w": budget},
                )
            )
        soc, reserve = st.get("battery_soc"), power.get("battery_reserve_soc")
        if isinstance(soc, int | float) and isinstance(reserve, int | float):
            checks.append(
                (
                    "battery_reserve",
                    soc < reserve,
                    f"battery state of charge {soc:.0%} is below the reserve of {reserve:.0%}",
                    {"battery_soc": soc, "battery_reserve_soc": reserve},
                )
            )
        out = []
        for name, breached, message, data in checks:
            if breached and name not in self._breaches:
                self._breaches.add(name)
                out.append(BackendEvent("limit_breach", message, "critical", clock, {"limit": name, **data}))
            elif not breached and name in self._breaches:
                self._breaches.discard(name)
                out.append(
                    BackendEvent(
                        "limit_cleared",
                        f"{name} limit no longer breached",
                        "info",
                        clock,
                        {"limit": name, **data},
                    )
                )
        return out

    def _flush_telemetry(self) -> None:
        """Write the rollups of the samples since the last flush (kept for the next one when
        the write fails)."""
        acc = self._acc
        self._last_flush = time.monotonic()
        if not acc:
            return
        now, clock = utcnow(), self._last_clock
        with self.db.session() as s:
            insert_rows(
                s,
                TelemetryRollup,
                [
                    {
                        "at": now,
                        "sim_t_s": clock,
                        "scope": scope,
                        "metric": metric,
                        "mean": v[0] / v[3],
                        "min": v[1],
                        "max": v[2],
                        "n": int(v[3]),
                    }
                    for (scope, metric), v in acc.items()
                ],
            )
        self._acc = {}

    # ------------------------------------------------------------------ records
    def job_changed(self, job_id: str, active: bool) -> None:
        """Note that a job was stored or ended outside the loop (submit, cancel)."""
        if active:
            self._active.add(job_id)
        else:
            self._active.discard(job_id)
            self._seen.pop(job_id, None)
        self._counts_dirty = True

    def record_event(self, ev: BackendEvent) -> int:
        """Store an event; returns its id."""
        return self.record_events([ev])[0]

    def record_events(self, events: list[BackendEvent]) -> list[int]:
        """Store events in one transaction, in order; returns their ids (in no set order)."""
        if not events:
            return []
        with self.db.session() as s:
            ids = self._add_events(s, events)
        self._last_event_id = max(self._last_event_id, *ids)
        return ids

    def _add_events(self, s: Session, events: list[BackendEvent]) -> list[int]:
        """Add events to the session's transaction, in order; returns their ids, in no set
        order (the caller notes the largest as the last event once the transaction has
        committed)."""
        if not events:
            return []
        rows = [
            {
                "kind": e.kind,
                "severity": e.severity,
                "message": e.message,
                "sim_t_s": e.sim_t_s,
                "data": e.data,
            }
            for e in events
        ]
        return [int(i) for i in insert_rows(s, Event, rows, returning="id")]

    def power_settings(self, reload: bool = False) -> dict[str, Any]:
        """The stored power settings, with the spec's battery reserve as the default (read from
        the database once, and again after each change through :meth:`changed_power`)."""
        if self._power is not None and not reload:
            return dict(self._power)
        with self.db.session() as s:
            values = {k.split(".", 1)[1]: get_setting(s, k) for k in POWER_KEYS}
        if values["battery_reserve_soc"] is None:
            reserves = [p.power.battery.reserve_soc for p in self.site.pods if p.power.battery is not None]
            values["battery_reserve_soc"] = max(reserves) if reserves else None
        self._power = values
        return dict(values)

    def changed_power(self) -> None:
        """Re-read the power settings after a change, and refresh the live state."""
        self.power_settings(reload=True)
        self._refresh_state()

    def budget_w(self, power: dict[str, Any] | None = None) -> float:
        """The site's power budget: its grid feed, or the operator's grid limit when lower [W]."""
        power = self.power_settings() if power is None else power
        feed = float(self.site.grid.feed_w)
        limit = power.get("grid_limit_w")
        return min(feed, float(limit)) if isinstance(limit, int | float) else feed

    def _refresh_state(self, st: dict[str, Any] | None = None) -> None:
        if st is None:
            with self.lock:
                st = self.backend.state()
        if self._counts_dirty:
            self._counts_dirty = False
            with self.db.session() as s:
                self._counts = {
                    str(k): int(v) for k, v in s.execute(select(Job.state, func.count()).group_by(Job.state))
                }
        counts = self._counts
        power = self.power_settings()
        state = {
            "backend": self.backend.name,
            "wall_time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            **st,
            "jobs_pending": counts.get("pending", 0),
            "jobs_queued": counts.get("queued", 0),
            "jobs_running": counts.get("running", 0),
            "jobs_done": counts.get("done", 0),
            "jobs_failed": counts.get("failed", 0),
            "jobs_cancelled": counts.get("cancelled", 0),
            "budget_w": self.budget_w(power),
            "battery_reserve_soc": power["battery_reserve_soc"],
            "gpu_cap_w_requested": power["gpu_cap_w"],
            "grid_limit_w": power["grid_limit_w"],
            "last_event_id": self._last_event_id,
        }
        self.latest = state
