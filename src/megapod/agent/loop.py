"""The vehicle agent's loop: report the car's state, lease units it can finish, run them,
checkpoint, and upload the results.

One pass: read the power state (:mod:`megapod.agent.battery`) and the owner's limits (from
the server), apply the battery latch with hysteresis (:func:`megapod.fleet.rules.soc_latch`)
and the allowed hours; if the car may compute, ask ``POST /api/v1/fleet/work`` for units whose
runtime at the car's measured rate fits the time it has left (until the allowed hours end, or
the battery reaches the owner's floor when unplugged) and whose bytes fit what is left of the
owner's monthly data cap (:mod:`megapod.agent.datacap`); run each with its kernel
(:mod:`megapod.fleet.kernels`), a checkpoint every ``checkpoint_steps`` steps, stopping (and
keeping the checkpoint) when the limits say so; upload the round's results, several per
request when ``report_batch`` > 1. Checkpoints left by a previous run of the agent are resumed first.

The loop logs (``logging``) and never prints. Its HTTP calls are its own (httpx), retried on
connection errors, 5xx and 429.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from megapod.agent import checkpoint
from megapod.agent.battery import PowerSource, PowerState
from megapod.agent.datacap import DataMeter
from megapod.errors import MegapodError
from megapod.fleet.kernels import KERNELS, KernelState
from megapod.fleet.rules import soc_latch

log = logging.getLogger("megapod.agent")

#: Test-only: when set to 1 the agent reports wrong results (to test the quorum).
CORRUPT_ENV = "MEGAPOD_AGENT_CORRUPT"
#: Share of a lease the agent keeps in hand: it gives a unit up at this share of its lease.
LEASE_MARGIN = 0.95
#: Longest runtime a car asks for [s] (the API's limit).
MAX_RUNTIME_S = 366 * 86400.0


class AgentError(MegapodError):
    """The server refused the agent (unknown token, bad request): the message says why."""


@dataclass(frozen=True)
class AgentOptions:
    """How the agent runs.

    Attributes:
        server: base URL of the control plane (``http://127.0.0.1:8000``).
        token: the vehicle's token (``mpv_…``).
        state_dir: folder for checkpoints (``None``: no checkpoints).
        max_units: leases asked for at a time.
        report_batch: most results uploaded per request (1: one request per result); the
            results of a round of leases are uploaded when the round ends.
        poll_s: wait between asks when there is no work or the car may not compute [s].
        idle_exit_s: stop after this long without work (``None``: run until stopped) [s].
        max_units_total: stop after this many units (``None``: no limit).
        checkpoint_steps: kernel steps between checkpoints and limit checks.
        hour: the local hour to use (``None``: this machine's local time).
        timeout_s: HTTP timeout [s].
    """

    server: str
    token: str
    state_dir: Path | None = None
    max_units: int = 2
    report_batch: int = 1
    poll_s: float = 2.0
    idle_exit_s: float | None = None
    max_units_total: int | None = None
    checkpoint_steps: int = 16
    hour: int | None = None
    timeout_s: float = 30.0


@dataclass
class AgentStats:
    """What a run of the agent did."""

    units_run: int = 0
    results_sent: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    resumed: int = 0
    given_up: int = 0
    paused_s: float = 0.0
    data_bytes: int = 0  # compute traffic in the owner's current 30-day window [B]
    data_capped: int = 0  # asks for work skipped because the data cap was reached


def hours_left_s(allowed: list[int], hour: int, minute_s: float) -> float:
    """Seconds from now (``minute_s`` into ``hour``) until the owner's allowed hours end."""
    ok = set(allowed)
    if hour not in ok:
        return 0.0
    if len(ok) == 24:
        return math.inf
    left = 3600.0 - minute_s
    h = (hour + 1) % 24
    while h in ok:
        left += 3600.0
        h = (h + 1) % 24
    return left


class Agent:
    """The loop of one car.

    Args:
        options: how to run.
        power: the car's power state.
        client: HTTP client (made from ``options`` when omitted; tests pass one).
        clock, sleep: wall clock [s] and how to wait (tests pass their own).
    """

    def __init__(
        self,
        options: AgentOptions,
        power: PowerSource,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.power = power
        self.http = client or httpx.Client(
            base_url=options.server.rstrip("/"),
            headers={"Authorization": f"Bearer {options.token}"},
            timeout=options.timeout_s,
        )
        self.clock, self.sleep = clock, sleep
        self.limits: dict[str, Any] = {}
        self.latch: bool | None = None
        self.tokens_per_s: float | None = None
        self.stats = AgentStats()
        self.data = DataMeter(options.state_dir)
        self._queue: list[tuple[int, str]] = []
        self._computed = False
        self._corrupt = os.environ.get(CORRUPT_ENV) == "1"
        self._salt = hashlib.sha256(options.token.encode()).hexdigest()

    # ------------------------------------------------------------------ HTTP
    def _call(self, method: str, path: str, body: Any = None, metered: bool = False) -> Any:
        """One request, retried; ``metered``: its bodies count against the data cap."""
        delay = 0.2
        for attempt in range(8):
            try:
                r = self.http.request(method, path, json=body)
            except httpx.TransportError as exc:
                log.warning("%s %s: %s (try %d)", method, path, exc, attempt + 1)
                self.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if metered:
                self.data.add(len(r.request.content) + len(r.content))
            if r.status_code == 429 or r.status_code >= 500:
                self.sleep(float(r.headers.get("Retry-After", delay)))
                delay = min(delay * 2, 5.0)
                continue
            if r.status_code >= 400:
                try:
                    detail = r.json().get("detail", r.text)
                except ValueError:
                    detail = r.text
                raise AgentError(f"{method} {path}: {r.status_code} {detail}")
            return r.json()
        raise AgentError(f"{method} {path}: the server did not answer after 8 tries")

    # ------------------------------------------------------------------ state
    def refresh_limits(self) -> dict[str, Any]:
        """The owner's limits, from the server."""
        self.limits = self._call("GET", "/api/v1/fleet/vehicle")["limits"]
        return self.limits

    def _hour(self) -> tuple[int, float]:
        if self.options.hour is not None:
            return self.options.hour, 0.0
        t = time.localtime()
        return t.tm_hour, t.tm_min * 60.0 + t.tm_sec

    def _power(self) -> PowerState:
        p = self.power.read(self._computed)  # drained for the compute since the last read
        self._computed = False
        min_soc, hyst = float(self.limits["min_soc"]), float(self.limits["soc_hysteresis"])
        start = p.soc >= min_soc + hyst if self.latch is None else self.latch
        self.latch = bool(soc_latch(p.soc, start, min_soc, hyst))
        return p

    def may_compute(self, p: PowerState) -> bool:
        """Whether the owner's limits allow compute now (plug, battery latch, hour)."""
        if not p.plugged_in and not self.limits.get("allow_unplugged", False):
            return False
        return bool(self.latch) and self._hour()[0] in self.limits["allowed_hours"]

    def runtime_left_s(self, p: PowerState) -> float:
        """How long the car may compute from now: until its allowed hours end, and, when
        unplugged, until its battery reaches the owner's floor [s]."""
        hour, into = self._hour()
        left = hours_left_s(self.limits["allowed_hours"], hour, into)
        if not p.plugged_in:
            left = min(left, self.power.seconds_to(float(self.limits["min_soc"])))
        return min(left, MAX_RUNTIME_S)

    # ------------------------------------------------------------------ the loop
    def run(self) -> AgentStats:
        """Run until idle for ``idle_exit_s`` or ``max_units_total`` units are done."""
        self.refresh_limits()
        for path in checkpoint.pending(self.options.state_dir):
            lease, state = checkpoint.load(path)
            self.stats.resumed += 1
            self._run_unit(lease, state)
        self.flush()
        idle_since = self.clock()
        while not self._enough():
            p = self._power()
            leases: list[dict[str, Any]] = []
            round_start_bytes = self.data.moved_bytes
            if self.may_compute(p):
                runtime_s = self.runtime_left_s(p)
                cap = float(self.limits.get("data_cap_bytes_per_month", math.inf))
                room = self.data.units_allowed(cap, self._room())
                body: dict[str, Any] = {
                    "state": {
                        "plugged_in": p.plugged_in,
                        "soc": round(p.soc, 6),
                        "latch": bool(self.latch),
                        "hour": self._hour()[0],
                        "tokens_per_s": self.tokens_per_s,
                    },
                    "max_units": room,
                    "max_runtime_s": runtime_s,
                }
                if room == 0:
                    if self.stats.data_capped == 0:
                        log.info(
                            "data cap: %d of %.0f B moved this month; no new units",
                            self.data.window_bytes,
                            cap,
                        )
                    self.stats.data_capped += 1
                elif runtime_s > 0:
                    leases = self._call("POST", "/api/v1/fleet/work", body, metered=True)["items"]
            if not leases:
                self.flush()
                if (
                    self.options.idle_exit_s is not None
                    and self.clock() - idle_since >= self.options.idle_exit_s
                ):
                    break
                self.sleep(self.options.poll_s)
                self.refresh_limits()
                continue
            for lease in leases:
                kernel = KERNELS.lookup(lease["kernel"], "kernel")
                self._run_unit(lease, kernel.start(lease["params"], int(lease["seed"])))
                if len(self._queue) >= self.options.report_batch:
                    self.flush()
            self.flush()  # what a round leased is reported before its leases run out
            self.data.saw_units(self.data.moved_bytes - round_start_bytes, len(leases))
            idle_since = self.clock()
        self.flush()
        self.stats.data_bytes = self.data.window_bytes
        return self.stats

    def _room(self) -> int:
        if self.options.max_units_total is None:
            return self.options.max_units
        return max(1, min(self.options.max_units, self.options.max_units_total - self.stats.units_run))

    def _enough(self) -> bool:
        total = self.options.max_units_total
        return total is not None and self.stats.units_run >= total

    def _run_unit(self, lease: dict[str, Any], state: KernelState) -> None:
        """Run a lease to its end from ``state``, checkpointing; queue its result."""
        kernel = KERNELS.lookup(lease["kernel"], "kernel")
        params = lease["params"]
        rid = int(lease["replica_id"])
        folder = self.options.state_dir
        if "local_deadline" not in lease:
            lease = {**lease, "local_deadline": time.time() + LEASE_MARGIN * float(lease["lease_s"])}
        deadline = float(lease["local_deadline"])
        computed_s, start_step = 0.0, state.step
        while state.step < kernel.steps(params):
            if time.time() > deadline:
                log.info("lease %d: given up at step %d (lease ran out)", rid, state.step)
                checkpoint.drop(folder, rid)
                self.stats.given_up += 1
                return
            p = self._power()
            if not self.may_compute(p):
                if folder is not None:
                    checkpoint.save(folder, lease, state)
                self.sleep(self.options.poll_s)
                self.stats.paused_s += self.options.poll_s
                continue
            t0 = self.clock()
            state = kernel.advance(params, state, self.options.checkpoint_steps)
            self._computed = True
            computed_s += self.clock() - t0
            if folder is not None and state.step < kernel.steps(params):
                checkpoint.save(folder, lease, state)
        result = kernel.digest(params, state)
        if self._corrupt:
            result = hashlib.sha256((result + self._salt).encode()).hexdigest()
        done = (state.step - start_step) / max(kernel.steps(params), 1)
        if computed_s > 0 and done > 0:
            rate = float(lease["tokens"]) * done / computed_s
            self.tokens_per_s = rate if self.tokens_per_s is None else 0.5 * (self.tokens_per_s + rate)
        self.stats.units_run += 1
        self._queue.append((rid, result))

    def flush(self) -> None:
        """Upload the queued results (one request, or one per result with ``report_batch`` 1)."""
        if not self._queue:
            return
        items = [{"replica_id": rid, "result": res} for rid, res in self._queue]
        if self.options.report_batch <= 1:
            answers = []
            for item in items:
                try:
                    answers.append(self._call("POST", "/api/v1/fleet/results", item, metered=True))
                except AgentError as exc:  # a lease the server no longer knows: drop it
                    log.warning("result of lease %s refused: %s", item["replica_id"], exc)
                    answers.append({"replica_id": item["replica_id"], "status": "refused"})
        else:
            answers = []
            for i in range(0, len(items), 5000):
                chunk = {"items": items[i : i + 5000]}
                answers += self._call("POST", "/api/v1/fleet/results/batch", chunk, metered=True)["items"]
        for a in answers:
            self.stats.statuses[a["status"]] = self.stats.statuses.get(a["status"], 0) + 1
            checkpoint.drop(self.options.state_dir, int(a["replica_id"]))
        self.stats.results_sent += len(items)
        self._queue.clear()

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()
