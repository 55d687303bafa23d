"""A Python client of the ``megapod serve`` API (synchronous, on httpx).

Every method sends one request (``stream``, ``wait_job`` and ``follow_logs`` keep asking) and
returns the server's JSON as a :class:`typing.TypedDict` of the shapes docs/serve.md lists,
so a value is a plain ``dict`` that type checkers know the keys of. An answer of 4xx or 5xx
raises :class:`ApiError` with the status and the server's message; a connection that fails
raises httpx's :class:`httpx.TransportError`.

::

    from megapod.client import Client

    with Client("http://127.0.0.1:8000", token="mpt_...") as api:
        job = api.submit_job("train-7-try-1", gpus=72, work_s=3600, name="train-7")
        done = api.wait_job(job["id"], timeout_s=120)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Literal, TypedDict, cast

import httpx

JobState = Literal["pending", "queued", "running", "done", "failed", "cancelled"]
Role = Literal["viewer", "operator", "admin"]
#: Job states that do not change any more.
FINAL_STATES: frozenset[str] = frozenset({"done", "failed", "cancelled"})
#: Unset: a keyword the caller did not give (``None`` is a value: it lifts a cap).
_UNSET: Any = object()


class ApiError(Exception):
    """An answer of 4xx or 5xx: the HTTP status and the server's ``detail`` message.

    Attributes:
        status: HTTP status code (``422`` bad value, ``409`` conflict, ``401``/``403`` auth, ...).
        message: the server's message, naming the field, the value and the limit.
        retry_after_s: the server's ``Retry-After`` [s] on a ``429``, else ``None``.
    """

    def __init__(self, status: int, message: str, retry_after_s: float | None = None) -> None:
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s
        super().__init__(f"HTTP {status}: {message}")


class Health(TypedDict):
    """``GET /healthz``."""

    status: str
    backend: str
    database: str
    schema: str
    version: str


class Principal(TypedDict):
    """Who a token belongs to."""

    name: str
    role: Role


class State(TypedDict, total=False):
    """The compact live state (``GET /api/v1/site/state`` and each stream event); the main
    keys are typed here, the full list is in docs/serve.md."""

    t_s: float
    speed: float
    backend: str
    wall_time: str
    gpus: int
    gpus_busy: int
    jobs_pending: int
    jobs_queued: int
    jobs_running: int
    jobs_done: int
    jobs_failed: int
    jobs_cancelled: int
    it_power_w: float | None
    facility_power_w: float | None
    budget_w: float
    battery_soc: float | None
    gpu_cap_w: float | None
    gpu_cap_w_requested: float | None
    last_event_id: int


class Job(TypedDict):
    """A job as the server keeps it."""

    id: str
    name: str
    idempotency_key: str
    state: JobState
    gpus: int
    work_s: float | None
    partition: str | None
    queue: str | None
    priority: int
    command: list[str] | None
    entrypoint: str | None
    args: list[Any]
    submitted_by: str
    created_at: str
    started_at: str | None
    ended_at: str | None
    sim_submit_s: float | None
    sim_start_s: float | None
    sim_end_s: float | None
    exit_code: int | None
    message: str
    log_lines: int


class JobPage(TypedDict):
    """A page of jobs, newest first, and how many match in all."""

    items: list[Job]
    total: int


class LogLine(TypedDict):
    """One output line of a job, numbered from 0."""

    seq: int
    line: str


class LogPage(TypedDict):
    """Output lines and the offset to ask for next."""

    items: list[LogLine]
    next_offset: int


class Event(TypedDict):
    """A failure, outage, limit breach, operator action or job transition."""

    id: int
    at: str
    sim_t_s: float | None
    kind: str
    severity: Literal["info", "warning", "critical"]
    message: str
    data: dict[str, Any]


class AuditEntry(TypedDict):
    """Who did what through the API."""

    id: int
    at: str
    actor: str
    role: str
    action: str
    target: str
    detail: dict[str, Any]


class Point(TypedDict):
    """One telemetry rollup."""

    at: str
    sim_t_s: float
    metric: str
    mean: float
    min: float
    max: float
    n: int


class Series(TypedDict):
    """Telemetry rollups of one scope, oldest first."""

    scope: str
    points: list[Point]


class Power(TypedDict):
    """Budget, cap (requested and enforced), settings and present power [W]."""

    budget_w: float
    feed_w: float
    grid_limit_w: float | None
    battery_reserve_soc: float | None
    gpu_cap_w_requested: float | None
    gpu_cap_w_enforced: float | None
    it_power_w: float | None
    facility_power_w: float | None
    backend: str


class TokenInfo(TypedDict):
    """A token's record (never the token)."""

    id: int
    name: str
    role: Role
    created_at: str
    revoked_at: str | None


class NewToken(TokenInfo):
    """A token just created: the only answer that shows the token itself."""

    token: str


class Client:
    """The API of one ``megapod serve`` at ``base_url``, called with ``token``.

    Args:
        base_url: where the server listens, e.g. ``http://127.0.0.1:8000``.
        token: an API token (``None`` on a server started with ``--insecure-local``).
        timeout_s: seconds to wait for each answer.
        http: an httpx client to send the requests with instead of a new one (e.g. FastAPI's
            ``TestClient`` of an app); ``base_url`` is then taken from it.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000",
        token: str | None = None,
        *,
        timeout_s: float = 10.0,
        http: httpx.Client | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._own = http is None
        self._http = http if http is not None else httpx.Client(base_url=base_url, timeout=timeout_s)
        self._headers = headers
        self.timeout_s = timeout_s

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections (of an httpx client this one made)."""
        if self._own:
            self._http.close()

    # ------------------------------------------------------------------ plumbing
    def request(self, method: str, path: str, *, json_body: Any = None, **params: Any) -> Any:
        """Send one request and return the decoded JSON (``None`` for ``204``); the query
        parameters are the keywords whose value is not ``None``."""
        query = {k: v for k, v in params.items() if v is not None}
        r = self._http.request(
            method,
            path,
            params=query or None,
            json=json_body,
            headers=self._headers,
        )
        if r.status_code >= 400:
            raise _error_of(r)
        return None if r.status_code == 204 else r.json()

    # ------------------------------------------------------------------ service and site
    def health(self) -> Health:
        """Liveness, backend, database and version (needs no token)."""
        return cast(Health, self.request("GET", "/healthz"))

    def whoami(self) -> Principal:
        """The name and role of this client's token."""
        return cast(Principal, self.request("GET", "/api/v1/session"))

    def site(self) -> dict[str, Any]:
        """Name, description, backend, spec, inventory and live state of the site."""
        return cast(dict[str, Any], self.request("GET", "/api/v1/site"))

    def state(self) -> State:
        """The compact live state."""
        return cast(State, self.request("GET", "/api/v1/site/state"))

    def site_map(self) -> dict[str, Any]:
        """Pods, racks and nodes, aggregated per pod design."""
        return cast(dict[str, Any], self.request("GET", "/api/v1/site/map"))

    def pods(self) -> list[dict[str, Any]]:
        """Every pod design."""
        return cast(list[dict[str, Any]], self.request("GET", "/api/v1/pods")["items"])

    def pod(self, name: str) -> dict[str, Any]:
        """One pod design (``ApiError`` 404 when unknown)."""
        return cast(dict[str, Any], self.request("GET", f"/api/v1/pods/{_seg(name)}"))

    def nodes(self, pod: str | None = None, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """A page of nodes: ``{"items": [...], "total": n}``."""
        return cast(dict[str, Any], self.request("GET", "/api/v1/nodes", pod=pod, offset=offset, limit=limit))

    # ------------------------------------------------------------------ jobs
    def submit_job(
        self,
        idempotency_key: str | None = None,
        *,
        gpus: int = 1,
        work_s: float | None = None,
        name: str | None = None,
        partition: str | None = None,
        queue: str | None = None,
        priority: int = 0,
        command: list[str] | None = None,
        entrypoint: str | None = None,
        args: list[Any] | None = None,
        retries: int = 2,
    ) -> Job:
        """Submit a job under ``idempotency_key`` (a fresh random key when ``None``).

        The server answers the job already accepted when the same key comes again with the
        same body, so a submit whose answer was lost is simply sent again: up to ``retries``
        more times here when the connection fails or the server answers ``429``/``503``.
        """
        body: dict[str, Any] = {
            "idempotency_key": idempotency_key or f"py-{uuid.uuid4().hex}",
            "gpus": gpus,
            "priority": priority,
            "args": list(args or []),
        }
        optional: dict[str, Any] = {"work_s": work_s, "name": name, "partition": partition, "queue": queue}
        optional |= {"command": command, "entrypoint": entrypoint}
        body |= {k: v for k, v in optional.items() if v is not None}
        for attempt in range(retries + 1):
            try:
                return cast(Job, self.request("POST", "/api/v1/jobs", json_body=body))
            except httpx.TransportError:
                if attempt == retries:
                    raise
                time.sleep(min(0.1 * 2**attempt, 2.0))
            except ApiError as exc:
                if exc.status not in (429, 503) or attempt == retries:
                    raise
                time.sleep(min(exc.retry_after_s or 0.1 * 2**attempt, 5.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def jobs(
        self,
        state: JobState | None = None,
        queue: str | None = None,
        name: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> JobPage:
        """Jobs newest first, filtered by state, queue and name."""
        q = {"state": state, "queue": queue, "name": name, "offset": offset, "limit": limit}
        return cast(JobPage, self.request("GET", "/api/v1/jobs", **q))

    def job(self, job_id: str) -> Job:
        """One job (``ApiError`` 404 when unknown)."""
        return cast(Job, self.request("GET", f"/api/v1/jobs/{_seg(job_id)}"))

    def cancel_job(self, job_id: str) -> Job:
        """Cancel a job that has not ended (``ApiError`` 409 when it has)."""
        return cast(Job, self.request("POST", f"/api/v1/jobs/{_seg(job_id)}/cancel"))

    def preempt_job(self, job_id: str) -> Job:
        """Preempt a running job on ``local``: it may checkpoint, then waits again (409 when
        it is not running, or on the twin)."""
        return cast(Job, self.request("POST", f"/api/v1/jobs/{_seg(job_id)}/preempt"))

    def job_logs(self, job_id: str, offset: int = 0, limit: int = 1000) -> LogPage:
        """Output lines of a job from ``offset`` on."""
        path = f"/api/v1/jobs/{_seg(job_id)}/logs"
        return cast(LogPage, self.request("GET", path, offset=offset, limit=limit))

    def wait_job(
        self,
        job_id: str,
        until: frozenset[str] | set[str] = FINAL_STATES,
        timeout_s: float = 60.0,
        poll_s: float = 0.2,
    ) -> Job:
        """Ask for the job every ``poll_s`` until its state is one of ``until`` (by default:
        it has ended); :class:`TimeoutError` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            job = self.job(job_id)
            if job["state"] in until:
                return job
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is {job['state']} after {timeout_s:g} s")
            time.sleep(poll_s)

    def follow_logs(self, job_id: str, poll_s: float = 0.5, timeout_s: float = 3600.0) -> Iterator[LogLine]:
        """Every output line of a job, as it comes, until the job has ended and no line is
        left; :class:`TimeoutError` after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        offset = 0
        while True:
            ended = self.job(job_id)["state"] in FINAL_STATES  # before reading: no line is missed
            page = self.job_logs(job_id, offset)
            yield from page["items"]
            offset = page["next_offset"]
            if page["items"]:
                continue
            if ended:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} still running after {timeout_s:g} s")
            time.sleep(poll_s)

    # ------------------------------------------------------------------ records
    def events(self, kind: str | None = None, since_id: int = 0, limit: int = 100) -> list[Event]:
        """Events after ``since_id``, oldest first."""
        page = self.request("GET", "/api/v1/events", kind=kind, since_id=since_id, limit=limit)
        return cast(list[Event], page["items"])

    def audit(self, since_id: int = 0, limit: int = 100) -> list[AuditEntry]:
        """Audit rows after ``since_id``, oldest first."""
        page = self.request("GET", "/api/v1/audit", since_id=since_id, limit=limit)
        return cast(list[AuditEntry], page["items"])

    def telemetry_scopes(self) -> list[str]:
        """Scopes that have telemetry (``site``, ``gpu:0``, ...)."""
        return cast(list[str], self.request("GET", "/api/v1/telemetry/scopes")["scopes"])

    def telemetry(
        self, scope: str = "site", metric: str | None = None, since_s: float | None = None, limit: int = 600
    ) -> Series:
        """The most recent rollups of one scope (and metric), oldest first."""
        q = {"scope": scope, "metric": metric, "since_s": since_s, "limit": limit}
        return cast(Series, self.request("GET", "/api/v1/telemetry", **q))

    # ------------------------------------------------------------------ power
    def power(self) -> Power:
        """Budget, cap (requested and enforced), settings and present power."""
        return cast(Power, self.request("GET", "/api/v1/power"))

    def set_cap(self, gpu_cap_w: float | None) -> Power:
        """Set the per-GPU power cap [W]; ``None`` lifts it."""
        return cast(Power, self.request("PUT", "/api/v1/power/cap", json_body={"gpu_cap_w": gpu_cap_w}))

    def set_power_settings(self, battery_reserve_soc: Any = _UNSET, grid_limit_w: Any = _UNSET) -> Power:
        """Set the battery reserve (state of charge, 0–1) and/or the grid limit [W]."""
        body = {"battery_reserve_soc": battery_reserve_soc, "grid_limit_w": grid_limit_w}
        body = {k: v for k, v in body.items() if v is not _UNSET}
        return cast(Power, self.request("PUT", "/api/v1/power/settings", json_body=body))

    # ------------------------------------------------------------------ tokens (admin)
    def tokens(self) -> list[TokenInfo]:
        """Every token's record."""
        return cast(list[TokenInfo], self.request("GET", "/api/v1/tokens")["items"])

    def create_token(self, name: str, role: Role) -> NewToken:
        """A new token for ``name`` with ``role``; ``["token"]`` is shown only in this answer."""
        return cast(NewToken, self.request("POST", "/api/v1/tokens", json_body={"name": name, "role": role}))

    def revoke_token(self, token_id: int) -> None:
        """Revoke a token: its requests answer 401 from now on."""
        self.request("DELETE", f"/api/v1/tokens/{int(token_id)}")

    # ------------------------------------------------------------------ stream
    def stream(self, interval_s: float | None = None, max_events: int | None = None) -> Iterator[State]:
        """The live state from ``GET /api/v1/stream`` (Server-Sent Events), one :class:`State`
        every ``interval_s`` (the server's default when ``None``), ``max_events`` of them or
        until the caller stops iterating."""
        query = {
            k: v for k, v in {"interval_s": interval_s, "max_events": max_events}.items() if v is not None
        }
        read_s = max(self.timeout_s, 3 * (interval_s or 1.0))
        timeout = httpx.Timeout(self.timeout_s, read=read_s) if self._own else httpx.USE_CLIENT_DEFAULT
        with self._http.stream(
            "GET", "/api/v1/stream", params=query or None, headers=self._headers, timeout=timeout
        ) as r:
            if r.status_code >= 400:
                r.read()
                raise _error_of(r)
            kind, data = "message", list[str]()
            for line in r.iter_lines():
                if not line:  # an event ends at a blank line
                    if kind == "state" and data:
                        yield cast(State, json.loads("\n".join(data)))
                    kind, data = "message", []
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].removeprefix(" "))


def wait_until_up(base_url: str, timeout_s: float = 120.0, alive: Callable[[], bool] | None = None) -> None:
    """Wait until the server at ``base_url`` answers ``/healthz`` with ``ok``; raise
    ``TimeoutError`` after ``timeout_s``, or ``RuntimeError`` as soon as ``alive()`` (say, a
    check that the server's process still runs) answers false."""
    deadline = time.monotonic() + timeout_s
    while True:
        if alive is not None and not alive():
            raise RuntimeError(f"the server at {base_url} stopped before it answered")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).json().get("status") == "ok":
                return
        except (httpx.HTTPError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server at {base_url} did not answer within {timeout_s:g} s")
        time.sleep(0.2)


def _seg(value: str) -> str:
    """``value`` as one path segment (``/`` and the like escaped)."""
    from urllib.parse import quote

    return quote(value, safe="")


def _error_of(r: httpx.Response) -> ApiError:
    """The :class:`ApiError` of an answer of 4xx or 5xx."""
    try:
        body = r.json()
        message = str(body["detail"]) if isinstance(body, dict) and "detail" in body else r.text
    except ValueError:
        message = r.text or r.reason_phrase
    retry = r.headers.get("retry-after")
    try:
        retry_s = float(retry) if retry is not None else None
    except ValueError:
        retry_s = None
    return ApiError(r.status_code, message, retry_s)
