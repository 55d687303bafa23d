"""The fleet engine: cars come and go, work units are issued, validated by quorum and paid for.

:class:`FleetRun` holds one run; :meth:`FleetRun.step` advances it one time step and
:meth:`FleetRun.run` to the horizon; :func:`simulate` does both and returns a
:class:`~megapod.fleet.results.FleetResult`. A step, in order:

1. cars move (:class:`~megapod.fleet.availability.VehicleProcess`); a car that drives off
   loses its replica, and a replica not back within ``timeout_s`` is given up: both are
   re-issued;
2. cars that may compute run their replica for the step (an unplugged car only while its
   battery stays at or above the owner's minimum); finished replicas report a result;
3. a unit whose largest agreeing group reaches its quorum is accepted, its other replicas are
   cancelled; a unit past its deadline, or out of replicas, fails;
4. idle cars that may compute get new replicas — only of units they have not run, and only if
   the unit's runtime fits both the expected parked time left and the unit's deadline. A car
   that finished a replica mid-step starts the next one with the rest of the step.

A car that computes in a step is awake, and draws its computer and the awake car, for the
whole step.

The engine never prints and writes nothing; all randomness is the run's own generator.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from megapod.catalog.vehicle import HOME_PLUGGED, HOME_UNPLUGGED, STATES
from megapod.fleet.availability import VehicleProcess
from megapod.fleet.rules import next_reputation, runs_alone
from megapod.fleet.units import CORRECT, LOST, WRONG, UnitPool
from megapod.fleet.work import UnitCost, check_work
from megapod.spec.fleet import Fleet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Days in the data-cap month.
CAP_MONTH_S = 30 * 86400.0


class FleetRun:
    """One run of a fleet, advanced step by step.

    Args:
        fleet: the fleet spec.
        cost: the unit cost (from :func:`~megapod.fleet.work.check_work`; computed when omitted).
        arrivals: units submitted at each step (the demand of another run, e.g. the jobs a
            twin sent to the fleet); omitted, ``work.units_per_hour`` decides.
    """

    def __init__(self, fleet: Fleet, cost: UnitCost | None = None, arrivals: IntArray | None = None) -> None:
        self.fleet = fleet
        self.arrivals = arrivals
        self.cost = cost if cost is not None else check_work(fleet)
        self.rng = np.random.default_rng(fleet.seed)
        n = self.n = fleet.simulated
        self.cars = VehicleProcess(fleet, n, self.rng)
        v = fleet.validation
        self.error_rate = np.where(self.rng.random(n) < v.faulty_share, v.faulty_error_rate, 0.0)
        self.pool = UnitPool(v.max_replicas)
        self.step_index = 0
        self.steps = math.ceil(fleet.horizon_s / fleet.step_s)
        # the replica each car holds: unit index in the pool (-1: none), slot, progress [s]
        self.unit = np.full(n, -1, dtype=np.int64)
        self.slot = np.zeros(n, dtype=np.int64)
        self.progress = np.zeros(n)
        self.started_s = np.zeros(n)
        self.reputation = np.zeros(n, dtype=np.int64)
        # per-car accounts
        self.wall_wh = np.zeros(n)
        self.battery_wh = np.zeros(n)
        self.data_bytes = np.zeros(n)
        self.data_month = np.zeros(n)
        self.busy_s = np.zeros(n)
        # counters
        self.counts = dict.fromkeys(
            (
                "replicas_issued",
                "results_correct",
                "results_wrong",
                "lost_departure",
                "lost_timeout",
                "cancelled",
                "units_accepted",
                "units_accepted_wrong",
                "units_failed",
                "units_expired_unissued",
            ),
            0,
        )
        self.wasted_s = 0.0
        self.min_soc_computing = math.inf
        self.min_issue_slack_s = math.inf
        # acceptance log: shares (car, tokens) and blocks (share count after each, quorum)
        self._share_hosts: list[IntArray] = []
        self._block_sizes: list[IntArray] = []
        self._block_quorum: list[IntArray] = []
        # by hour of day: steps seen, cars eligible, cars busy, cars in each state
        self.hour_steps = np.zeros(24)
        self.hour_eligible = np.zeros(24)
        self.hour_busy = np.zeros(24)
        self.hour_states = np.zeros((24, len(STATES)))
        self.eligible_car_s = 0.0

    # --- one step ---------------------------------------------------------------------------

    def step(self) -> None:
        """Advance the run by one step."""
        t = self.step_index
        dt = self.fleet.step_s
        now = t * dt
        cars = self.cars
        if now > 0 and now % CAP_MONTH_S < dt:
            self.data_month[:] = 0.0
        departed = cars.move(t)
        busy = self.unit >= 0
        self._lose(departed & busy, "lost_departure")
        timeout = (self.unit >= 0) & (now - self.started_s > self.fleet.validation.timeout_s)
        self._lose(timeout, "lost_timeout")
        can = cars.can_compute(t)
        leftover = self._compute(can, dt)
        self._settle(now + dt)
        self._submit(can, now)
        self._issue(can, now, dt, leftover)
        self._observe(t, can)
        self.step_index += 1

    def run(self) -> None:
        """Advance to the horizon."""
        while self.step_index < self.steps:
            self.step()

    def _lose(self, cars: BoolArray, why: str) -> None:
        idx = np.flatnonzero(cars)
        if idx.size == 0:
            return
        self.pool.report(self.unit[idx], self.slot[idx], np.full(idx.size, LOST, dtype=np.int8))
        self.wasted_s += float(self.progress[idx].sum())
        self.counts[why] += int(idx.size)
        self.unit[idx] = -1
        self.progress[idx] = 0.0

    def _compute(self, can: BoolArray, dt: float) -> FloatArray:
        fleet, cars = self.fleet, self.cars
        running = can & (self.unit >= 0)
        energy_wh = (fleet.module.power_w + fleet.module.awake_overhead_w) * dt / 3600.0
        paused = cars.draw_battery(running, energy_wh)
        running &= ~paused
        on_battery = running & (cars.state == HOME_UNPLUGGED)
        if running.any():
            self.min_soc_computing = min(self.min_soc_computing, float(cars.soc[running].min()))
        self.progress[running] += dt
        runtime = self.cost.runtime_s
        done = running & (self.progress >= runtime)
        leftover = np.where(done, self.progress - runtime, 0.0)
        used = np.where(running, dt, 0.0) - leftover
        self.busy_s += used
        plugged = running & (cars.state == HOME_PLUGGED)
        # a car that computes in a step stays awake for all of it
        self.wall_wh[plugged] += energy_wh / fleet.home.charger_efficiency
        self.battery_wh[on_battery] += energy_wh
        idx = np.flatnonzero(done)
        if idx.size:
            wrong = self.rng.random(idx.size) < self.error_rate[idx]
            outcome = np.where(wrong, WRONG, CORRECT).astype(np.int8)
            self.pool.report(self.unit[idx], self.slot[idx], outcome)
            self.counts["results_wrong"] += int(wrong.sum())
            self.counts["results_correct"] += int((~wrong).sum())
            self.unit[idx] = -1
            self.progress[idx] = 0.0
        return leftover

    def _settle(self, end_s: float) -> None:
        """Accept units at quorum, fail the hopeless ones, and drop both from the pool."""
        pool = self.pool
        n = pool.size
        if n == 0:
            return
        agree = pool.agreeing()
        accepted = agree >= pool.quorum[:n]
        correct, _ = pool.counts()
        out_of_replicas = (pool.issued[:n] >= pool.slots) & (pool.in_flight[:n] == 0)
        late = pool.deadline_s[:n] <= end_s
        failed = ~accepted & (out_of_replicas | late)
        acc = np.flatnonzero(accepted)
        if acc.size:
            good = correct[acc] >= pool.quorum[acc]
            res = pool.results[acc]
            code = np.where(good, CORRECT, WRONG)[:, None]
            share = res == code
            rows, cols = np.nonzero(share)
            hosts = pool.hosts[acc][rows, cols]
            self._share_hosts.append(hosts)
            self._block_sizes.append(share.sum(axis=1))
            self._block_quorum.append(pool.quorum[acc].copy())
            self.counts["units_accepted"] += int(acc.size)
            self.counts["units_accepted_wrong"] += int((~good).sum())
            credited = np.bincount(hosts, minlength=self.n)
            caught = np.zeros(self.n, dtype=bool)
            wrong_rows, wrong_cols = np.nonzero(good[:, None] & (res == WRONG))
            caught[pool.hosts[acc][wrong_rows, wrong_cols]] = True
            self.reputation = next_reputation(self.reputation, credited, caught)
        never = failed & (pool.issued[:n] == 0)
        self.counts["units_failed"] += int((failed & ~never).sum())
        self.counts["units_expired_unissued"] += int(never.sum())
        closed = accepted | failed
        if not closed.any():
            return
        # replicas still running on closed units are cancelled
        holders = np.flatnonzero((self.unit >= 0) & closed[np.maximum(self.unit, 0)])
        if holders.size:
            self.wasted_s += float(self.progress[holders].sum())
            self.counts["cancelled"] += int(holders.size)
            self.unit[holders] = -1
            self.progress[holders] = 0.0
        index = pool.compact(~closed)
        busy = self.unit >= 0
        self.unit[busy] = index[self.unit[busy]]

    def _submit(self, can: BoolArray, now: float) -> None:
        fleet = self.fleet
        work, v = fleet.work, fleet.validation
        deadline = now + work.deadline_s
        quorum, replicas = v.quorum, v.replicas
        if self.arrivals is not None:
            t = self.step_index
            count = int(self.arrivals[t]) if t < len(self.arrivals) else 0
        elif work.units_per_hour is not None:
            count = int(self.rng.poisson(work.units_per_hour * fleet.step_s / 3600.0))
        else:  # a backlog that never runs dry: enough units for every idle car that may compute
            idle = int((can & (self.unit < 0)).sum())
            open_need = int(self.pool.need().sum()) if self.pool.size else 0
            per_unit = 1 if v.replication == "adaptive" else replicas
            count = max(0, math.ceil((idle - open_need) / per_unit))
        self.pool.add(count, deadline, quorum, replicas)

    def _issue(self, can: BoolArray, now: float, dt: float, leftover: FloatArray) -> None:
        fleet, pool, cars = self.fleet, self.pool, self.cars
        runtime = self.cost.runtime_s
        start_s = now + dt
        if pool.size == 0 or cars.remaining_s(self.step_index + 1) < runtime:
            return
        unit_bytes = fleet.work.input_bytes_per_unit + fleet.work.output_bytes_per_unit
        free = (
            can
            & (self.unit < 0)
            & (cars.depart_at < 0)
            & (self.data_month + unit_bytes <= fleet.owner.data_cap_bytes_per_month)
        )
        v = fleet.validation
        for _ in range(pool.slots + 1):
            hosts = np.flatnonzero(free)
            if hosts.size == 0:
                break
            hosts = self.rng.permutation(hosts)
            due = pool.deadline_s[: pool.size] - start_s >= runtime
            units = np.flatnonzero((pool.need() > 0) & due)
            k = min(units.size, hosts.size)
            if k == 0:
                break
            units, hosts = units[:k], hosts[:k]
            clash = (pool.hosts[units] == hosts[:, None]).any(axis=1)
            units, hosts = units[~clash], hosts[~clash]
            if units.size == 0:
                break
            first = pool.issued[units] == 0
            slots = pool.assign(units, hosts)
            if v.replication == "adaptive" and first.any():
                trusted = runs_alone(
                    self.reputation[hosts], v.trust_after, self.rng.random(units.size), v.spot_check
                )
                solo = units[first & trusted]
                pool.quorum[solo] = 1
                pool.target[solo] = 1
            self.unit[hosts] = units
            self.slot[hosts] = slots
            self.progress[hosts] = leftover[hosts]
            self.busy_s[hosts] += leftover[hosts]  # the rest of the step, on the new unit
            self.started_s[hosts] = start_s - leftover[hosts]
            self.data_bytes[hosts] += unit_bytes
            self.data_month[hosts] += unit_bytes
            self.counts["replicas_issued"] += int(hosts.size)
            slack = min(
                cars.remaining_s(self.step_index + 1) - runtime,
                float((pool.deadline_s[units] - start_s).min()) - runtime,
            )
            self.min_issue_slack_s = min(self.min_issue_slack_s, slack)
            free[hosts] = False

    def _observe(self, t: int, can: BoolArray) -> None:
        h = self.cars.hour(t)
        self.hour_steps[h] += 1
        eligible = int(can.sum())
        self.hour_eligible[h] += eligible
        self.eligible_car_s += eligible * self.fleet.step_s
        self.hour_busy[h] += int((self.unit >= 0).sum())
        self.hour_states[h] += np.bincount(self.cars.state, minlength=len(STATES))

    # --- what the run produced --------------------------------------------------------------

    def share_log(self) -> tuple[IntArray, IntArray, IntArray]:
        """Validated shares' cars, and each accepted unit's share count and quorum."""
        cat = np.concatenate
        empty = np.zeros(0, dtype=np.int64)
        return (
            cat(self._share_hosts).astype(np.int64) if self._share_hosts else empty,
            cat(self._block_sizes).astype(np.int64) if self._block_sizes else empty,
            cat(self._block_quorum).astype(np.int64) if self._block_quorum else empty,
        )
