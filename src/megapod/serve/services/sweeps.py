"""Design sweeps as control-plane jobs: run a sweep file of the server's sweep folder.

Clients name a sweep file by its name; only the files of the folder the server was started
with (``Settings.sweep_dir``) can be run, so a request never makes the server read a path of
its choosing. One sweep runs at a time, in a worker thread, through :func:`megapod.sweep.run`
(serially in the server's process, or on Ray); its progress is written to the ``sweeps`` table
as points finish and its results (the point store, the table, the Pareto front and the HTML
report) go to ``Settings.sweep_out_dir/<id>``. A server stopped mid-sweep runs it again on
start: the point store skips every finished point, so nothing done is lost or done twice.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from megapod.errors import MegapodError, SpecError
from megapod.serve.auth import Principal
from megapod.serve.backends.base import BackendEvent
from megapod.serve.services.audit import audit
from megapod.serve.services.jobs import Conflict, NotFound
from megapod.serve.store.models import SweepRun, utcnow

if TYPE_CHECKING:
    from megapod.serve.plane import ControlPlane
    from megapod.sweep import SweepProgress

#: Seconds between progress writes of a running sweep.
PROGRESS_EVERY_S = 1.0
#: States a sweep does not leave.
SWEEP_FINAL = frozenset({"done", "failed"})


def sweep_json(run: SweepRun) -> dict[str, Any]:
    """The API's view of a sweep."""
    return {
        "id": run.id,
        "name": run.name,
        "file": run.file,
        "state": run.state,
        "backend": run.backend,
        "max_points": run.max_points,
        "points_done": run.points_done,
        "points_total": run.points_total,
        "points_failed": run.points_failed,
        "eta_s": run.eta_s,
        "summary": run.summary,
        "message": run.message,
        "submitted_by": run.submitted_by,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "report": f"/api/v1/sweeps/{run.id}/report" if run.state == "done" else None,
    }


class SweepService:
    """Queues sweeps and runs them one at a time in a worker thread."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.folder = plane.settings.sweep_dir
        self.out_root = plane.settings.sweep_out_dir
        self._todo: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ files
    def files(self) -> list[str]:
        """Names of the sweep files the server may run (``*.yaml`` of its sweep folder)."""
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(p.name for p in self.folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())

    def _path(self, name: str) -> Path:
        names = self.files()
        if name not in names:
            known = ", ".join(names) if names else "none (start the server with --sweeps DIR)"
            raise SpecError("file", f"{name!r} is not a sweep file of this server; files: {known}")
        assert self.folder is not None
        return self.folder / name

    # ------------------------------------------------------------------ life
    def start(self) -> None:
        """Queue again every sweep a stopped server left unfinished, and start the worker."""
        with self.plane.db.session() as s:
            left = s.scalars(
                select(SweepRun.id)
                .where(SweepRun.state.in_(("queued", "running")))
                .order_by(SweepRun.created_at)
            ).all()
        for sweep_id in left:
            self._todo.put(sweep_id)
        self._thread = threading.Thread(target=self._work, name="megapod-sweeps", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the worker to stop after its present point (a running sweep resumes on start)."""
        self._todo.put(None)
        if self._thread is not None:
            self._thread.join(timeout_s)

    # ------------------------------------------------------------------ API
    def submit(self, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
        """Accept a sweep of one of the server's files; it runs after those before it."""
        path = self._path(str(body["file"]))
        from megapod.spec.sweep import load_sweep

        sw = load_sweep(path)  # a file that does not load is refused now, not in the worker
        run = SweepRun(
            id="s-" + uuid.uuid4().hex[:12],
            name=sw.spec.name,
            file=path.name,
            state="queued",
            backend=body.get("backend") or "serial",
            max_points=body.get("max_points"),
            summary={},
            message="",
            submitted_by=who.name,
        )
        run.out_dir = str(self.out_root / run.id)
        with self.plane.db.session() as s:
            s.add(run)
            audit(s, who, "sweep.submit", run.id, file=run.file, max_points=run.max_points)
            s.flush()
            out = sweep_json(run)
        self._todo.put(run.id)
        return out

    def list(self, limit: int = 100) -> dict[str, Any]:
        """Sweeps, newest first."""
        with self.plane.db.session() as s:
            rows = s.scalars(select(SweepRun).order_by(SweepRun.created_at.desc()).limit(limit)).all()
            return {"items": [sweep_json(r) for r in rows]}

    def get(self, sweep_id: str) -> dict[str, Any]:
        """One sweep (404 when unknown)."""
        with self.plane.db.session() as s:
            run = s.get(SweepRun, sweep_id)
            if run is None:
                raise NotFound(f"sweep_id: no sweep {sweep_id!r}")
            return sweep_json(run)

    def report_path(self, sweep_id: str) -> Path:
        """The finished sweep's HTML report (409 while it runs)."""
        sweep = self.get(sweep_id)
        if sweep["state"] != "done":
            raise Conflict(f"sweep {sweep_id} has no report yet ({sweep['state']})")
        with self.plane.db.session() as s:
            run = s.get(SweepRun, sweep_id)
            assert run is not None
            return Path(run.out_dir) / "report.html"

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while (sweep_id := self._todo.get()) is not None:
            self._run(sweep_id)

    def _update(self, sweep_id: str, **values: Any) -> SweepRun:
        with self.plane.db.session() as s:
            run = s.get(SweepRun, sweep_id)
            assert run is not None
            for k, v in values.items():
                setattr(run, k, v)
            s.flush()
            s.expunge(run)
            return run

    def _run(self, sweep_id: str) -> None:
        import megapod.sweep
        from megapod.spec.sweep import load_sweep

        with self.plane.db.session() as s:
            run = s.get(SweepRun, sweep_id)
            if run is None or run.state in SWEEP_FINAL:
                return
            file, backend, max_points, out_dir = run.file, run.backend, run.max_points, Path(run.out_dir)
        self._update(sweep_id, state="running", started_at=utcnow(), message="")
        self._event("sweep_started", sweep_id, f"sweep {sweep_id} ({file}) started")
        last = [0.0]

        def progress(p: SweepProgress) -> None:
            if time.monotonic() - last[0] >= PROGRESS_EVERY_S or p.done == p.total:
                last[0] = time.monotonic()
                self._update(
                    sweep_id, points_done=p.done, points_total=p.total, points_failed=p.failed, eta_s=p.eta_s
                )

        try:
            sw = load_sweep(self._path(file))
            table = megapod.sweep.run(
                sw,
                out=out_dir,
                max_points=max_points,
                progress=progress,
                backend="ray" if backend == "ray" else "serial",
                ray_address=self.plane.settings.ray_address if backend == "ray" else None,
            )
            megapod.sweep.save(table, out_dir)
        except (MegapodError, OSError, ValueError) as exc:
            self._update(sweep_id, state="failed", ended_at=utcnow(), message=str(exc))
            self._event("sweep_failed", sweep_id, f"sweep {sweep_id} failed: {exc}", "warning")
            return
        front = megapod.sweep.pareto_front(table)
        summary = {
            "points": len(table),
            "by_status": {str(k): int(v) for k, v in table["status"].value_counts().items()},
            "objectives": dict(table.attrs.get("objectives") or {}),
            "pareto_points": [int(p) for p in front["point"]],
        }
        self._update(
            sweep_id,
            state="done",
            ended_at=utcnow(),
            summary=summary,
            points_done=len(table),
            points_total=len(table),
            eta_s=0.0,
        )
        self._event("sweep_done", sweep_id, f"sweep {sweep_id} done: {len(table)} points")

    def _event(self, kind: str, sweep_id: str, message: str, severity: str = "info") -> None:
        self.plane.record_event(
            BackendEvent(kind, message, severity, self.plane.backend.clock_s(), {"sweep_id": sweep_id})
        )
