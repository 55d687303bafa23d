"""The power plant: the site's feed under grid limits, the battery, the generators and the
cooling plant's weather.

While the facility load exceeds the supply the battery (the pods' banks together) discharges
at the deficit, limited by its rated power; the state of charge is integrated analytically
between events and the empty time is an event, rescheduled whenever the load changes.
Generators add their power after their start time. An empty battery blacks the site out:
running jobs roll back and every node is down until power returns. Hourly weather sets the
plant COP and the thermal power cap of the GPUs (the job speed).

The operator's settings (:meth:`megapod.sim.twin.simulator.Twin.set_gpu_cap`,
``set_battery_reserve``, ``set_grid_limit``) act here too: a GPU cap beside the thermal one, a
state of charge the battery keeps back while the supply is limited (not in an outage), and a
grid import limit. Under the operator's limit the battery covers the deficit down to its
floor, and then the GPUs are capped (the *grid cap*) so that the facility load fits the supply.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from megapod.sim.engine import EventKernel
from megapod.sim.twin.cluster import Cluster
from megapod.sim.twin.events import EventKind, Handlers, schedule
from megapod.sim.twin.layout import Layout
from megapod.sim.twin.ledger import JobLedger
from megapod.sim.twin.policies import OutageResponse
from megapod.sim.twin.power import cap_speed
from megapod.sim.twin.results import Recorder
from megapod.sim.twin.tiers import Tier
from megapod.spec.scenario import Scenario
from megapod.units import HOUR_S

#: Margin kept beyond one checkpoint write when shedding before the battery runs out [s].
SHED_GUARD_S = 60.0
#: Energy above the floor below which the battery counts as at its floor, as a share of its
#: capacity (float round-off of the analytic integration).
FLOOR_TOLERANCE = 1e-9
#: Bisection steps when solving the grid cap (2^-50 of the idle-to-TDP span).
CAP_BISECTION_STEPS = 50


class PowerPlant:
    """Feed, battery, generators and cooling of the site.

    Args:
        scenario: the run's scenario (grid, weather).
        layout: the site's battery and generator ratings.
        ledger: jobs, node state and GPU counts.
        cluster: every node.
        tiers: the compute tiers (their power draw).
        node_group: power group of each node.
        fed_nodes: nodes on the site's supply (a blackout takes them down).
        outage: the outage response policy.
        rec: the recorder.
        changed_all: tell the scheduler that every partition may have changed.
    """

    def __init__(
        self,
        scenario: Scenario,
        layout: Layout,
        ledger: JobLedger,
        cluster: Cluster,
        tiers: list[Tier],
        node_group: list[int],
        fed_nodes: list[int],
        outage: OutageResponse,
        rec: Recorder,
        changed_all: Callable[[], None],
    ) -> None:
        self.sc = scenario
        self.layout = layout
        self.led = ledger
        self.cluster = cluster
        self.tiers = tiers
        self.node_group = node_group
        self.fed_nodes = fed_nodes
        fed = set(fed_nodes)
        self.fed_parts = sorted({cluster.node_partition[n] for n in fed})
        self.outage = outage
        self.rec = rec
        self.counters = rec.counters
        self.changed_all = changed_all
        self.capacity_wh = layout.battery_energy_wh
        self.soc_wh = layout.battery_energy_wh
        self.battery_t = 0.0
        self.battery_rate_w = 0.0  # + charging, - discharging
        self.supply_limits: dict[int, float] = {}
        self.gen_on = False
        self.empty_handle: int | None = None
        self.shed_handle: int | None = None
        self.outdoor_c = 20.0
        self.gpu_cap_w: float | None = None
        self.temps: Any = None
        #: What the cooling limit imposes (the enforced cap and speed also follow the operator).
        self.thermal_speed = 1.0
        self.thermal_cap_w: float | None = None
        #: The operator's settings (None: not set) and the cap the grid limit imposes.
        self.operator_cap_w: float | None = None
        self.grid_limit_w: float | None = None
        self.reserve_soc: float | None = None
        self.grid_cap_w: float | None = None
        self.feed_w = float(scenario.site.grid.feed_w)
        #: The operator's power budget: the feed, or the grid limit when lower [W]; None while no
        #: grid limit is set (no budget admission). A plain attribute: admission reads it often.
        self.budget_w: float | None = None
        #: Power drawn from the grid to charge the battery [W] (the operator's limit only).
        self.charge_draw_w = 0.0
        #: Operator actions in the order they were made (an ``OPERATOR`` event's payload).
        self.actions: list[tuple[str, float | None]] = []
        self._blackout_due = False
        idle = [d.gpu_idle_w for d in layout.designs]
        tdp = [d.gpu_tdp_w for d in layout.designs]
        #: Board caps the designs accept [W]: every design's idle floor up to the highest TDP.
        self.cap_range_w = (max(idle), max(tdp)) if idle else (0.0, 0.0)

    def register(self, handlers: Handlers) -> None:
        """Generators up, battery empty, shed before empty, hourly weather."""
        handlers.on(EventKind.GEN_UP, self._on_gen_up)
        handlers.on(EventKind.BATTERY_EMPTY, self._on_battery_empty)
        handlers.on(EventKind.SHED, self._on_shed)
        handlers.on(EventKind.WEATHER, self._on_weather)
        handlers.on(EventKind.OPERATOR, self._on_operator)

    def start(self, kernel: EventKernel) -> None:
        """The first weather hour (when weather is on)."""
        self.kernel = kernel
        self.temps = self._temperatures()
        if self.temps is not None:
            schedule(kernel, 0.0, EventKind.WEATHER, 0)

    def _temperatures(self) -> Any:
        if not self.sc.weather.enabled:
            return None
        from megapod.physics.climate import load_profile

        name = self.sc.weather.climate or self.sc.site.location.climate
        return load_profile(name).dry_bulb_c

    # ----------------------------------------------------------------- power
    def it_w(self) -> float:
        """IT load of every tier now [W]."""
        return sum(t.it_power_w(self.gpu_cap_w) for t in self.tiers)

    def facility_w(self) -> float:
        """What the site draws now [W]."""
        return sum(t.facility_power_w(self.outdoor_c, self.gpu_cap_w) for t in self.tiers)

    def _running(self) -> list[int]:
        running = self.led.running
        return [j for p in self.fed_parts for j in running[p]]

    def soc_at(self, t_s: float) -> float:
        """Battery energy at ``t_s`` at the rate in force [Wh]."""
        dt = t_s - self.battery_t
        soc = self.soc_wh + self.battery_rate_w * dt / HOUR_S if dt > 0 else self.soc_wh
        return min(self.capacity_wh, max(0.0, soc))

    def sync(self) -> None:
        """Integrate the SoC to now at the rate in force, then set the new rate and the
        empty-battery event. Discharge covers the deficit between load and supply; recharge
        runs at the bank's rated power times its round-trip efficiency once supply returns."""
        now = self.led.now
        lay = self.layout
        dt = now - self.battery_t
        cap = self.capacity_wh
        if dt > 0 and self.battery_rate_w != 0.0:
            self.soc_wh = min(cap, max(0.0, self.soc_wh + self.battery_rate_w * dt / HOUR_S))
        self.battery_t = now
        kernel = self.kernel
        if self.empty_handle is not None:
            kernel.cancel(self.empty_handle)
            self.empty_handle = None
        if self.shed_handle is not None:
            kernel.cancel(self.shed_handle)
            self.shed_handle = None
        if self.managed:
            self._sync_managed(now)
        elif self.supply_limits and not self.led.blackout:
            supply = min(self.supply_limits.values()) + (lay.generator_power_w if self.gen_on else 0.0)
            deficit = self.facility_w() - supply
            if deficit > lay.battery_power_w:
                self.soc_wh = 0.0 if self.soc_wh <= 0 else self.soc_wh
                self.battery_rate_w = 0.0
                self.empty_handle = schedule(kernel, now, EventKind.BATTERY_EMPTY)
            elif deficit > 0:
                self.battery_rate_w = -deficit
                t_empty = now + self.soc_wh * HOUR_S / deficit
                self.empty_handle = schedule(kernel, t_empty, EventKind.BATTERY_EMPTY)
                if self.outage.saves_before_empty() and any(self.led.running[p] for p in self.fed_parts):
                    t_shed = max(now, t_empty - self.led.write_s - SHED_GUARD_S)
                    self.shed_handle = schedule(kernel, t_shed, EventKind.SHED)
            else:
                self.battery_rate_w = 0.0
        elif self.soc_wh < cap and not self.supply_limits:
            self.battery_rate_w = lay.battery_power_w * lay.battery_charge_efficiency
        else:
            self.battery_rate_w = 0.0
        self.rec.soc(now, self.soc_wh)

    def sync_soc_only(self) -> None:
        """Bring the SoC to now without changing the rate."""
        now = self.led.now
        dt = now - self.battery_t
        if dt > 0 and self.battery_rate_w != 0.0:
            self.soc_wh = min(self.capacity_wh, max(0.0, self.soc_wh + self.battery_rate_w * dt / HOUR_S))
        self.battery_t = now

    @property
    def active(self) -> bool:
        """Whether the battery state moves (supply limited, or charging or discharging), or the
        operator's limit is in force (its grid cap follows the load)."""
        return bool(self.supply_limits) or self.battery_rate_w != 0.0 or self.grid_limit_w is not None

    # -------------------------------------------------------------- operator
    @property
    def managed(self) -> bool:
        """Whether an operator setting changes the battery's answer (a grid limit, a reserve
        above 0, or a grid cap still to be lifted); otherwise :meth:`sync` is the scenario's."""
        return self.grid_limit_w is not None or self.grid_cap_w is not None or bool(self.reserve_soc)

    def floor_wh(self) -> float:
        """Energy the battery keeps back now [Wh]: the reserve while the supply is limited,
        nothing in an outage (a supply limit of 0 in force)."""
        if not self.reserve_soc or any(v <= 0 for v in self.supply_limits.values()):
            return 0.0
        return self.reserve_soc * self.capacity_wh

    def apply_caps(self) -> bool:
        """Set the enforced GPU cap (the lowest of the thermal, operator and grid caps) and the
        job speed (the slowest the caps leave, by the DVFS law of
        :func:`~megapod.sim.twin.power.cap_speed`); True when either changed."""
        speed, cap = self.thermal_speed, self.thermal_cap_w
        extra = [c for c in (self.operator_cap_w, self.grid_cap_w) if c is not None]
        if extra:
            c = min(extra)
            speed = min(speed, cap_speed(self.layout.designs, c))
            cap = c if cap is None else min(cap, c)
        changed = speed != self.led.speed or cap != self.gpu_cap_w
        self.led.speed = speed
        self.gpu_cap_w = cap
        return changed

    def _ungridded_cap_w(self) -> float | None:
        caps = [c for c in (self.thermal_cap_w, self.operator_cap_w) if c is not None]
        return min(caps) if caps else None

    def _facility_at(self, cap_w: float | None) -> float:
        return sum(t.facility_power_w(self.outdoor_c, cap_w) for t in self.tiers)

    def facility_with_w(self, group: int, gpus: int) -> float:
        """Facility power if ``gpus`` more GPUs of power group ``group`` went busy now [W], at
        the thermal and operator caps (the physics of :meth:`facility_w`)."""
        busy = self.led.busy_d
        busy[group] += gpus
        try:
            return self._facility_at(self._ungridded_cap_w())
        finally:
            busy[group] -= gpus

    def _fit_cap(self, target_w: float) -> tuple[float | None, bool]:
        """The highest GPU cap at which the facility load fits ``target_w`` [W], by bisection
        (facility power rises with the cap); ``(None, True)`` when no grid cap is needed and
        ``(lowest cap, False)`` when even the idle floor does not fit."""
        lo, hi = self.cap_range_w
        top = self._ungridded_cap_w()
        hi = hi if top is None else min(hi, top)
        if self._facility_at(top) <= target_w:
            return None, True
        if hi <= lo or self._facility_at(lo) > target_w:
            return lo, False
        for _ in range(CAP_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            if self._facility_at(mid) <= target_w:
                lo = mid
            else:
                hi = mid
        return lo, True

    def _sync_managed(self, now: float) -> None:
        """:meth:`sync` under the operator's settings.

        The physical supply ``P`` is the scenario's grid limit in force (none: unlimited) plus
        the generators; the target ``T`` is ``P`` or the operator's limit when lower. The
        battery covers ``load − T`` down to :meth:`floor_wh`, at most its rated power. When it
        cannot (at its floor, or beyond its power) and the operator's limit or a reserve is in
        force, the GPUs are capped so that the load fits ``T`` plus what the battery still
        gives (the grid cap); when even the idle floor does not fit ``T``, the load is fitted
        to ``P`` and drawn over the operator's limit (a breach). A load the battery cannot
        carry over ``P`` blacks the site out, as under the scenario alone. With no grid event
        in force, the battery recharges from the headroom under the operator's limit."""
        lay = self.layout
        led = self.led
        kernel = self.kernel
        before = (led.speed, self.gpu_cap_w)
        limits = self.supply_limits
        gen = lay.generator_power_w if self.gen_on else 0.0
        phys = (min(limits.values()) + gen) if limits else math.inf
        op = math.inf if self.grid_limit_w is None else min(self.feed_w, self.grid_limit_w) + gen
        target = min(phys, op)
        self.charge_draw_w = 0.0
        self.grid_cap_w = None
        self._blackout_due = False
        floor = self.floor_wh()
        room = self.soc_wh - floor
        tol = FLOOR_TOLERANCE * max(self.capacity_wh, 1.0)
        if abs(room) <= tol:
            self.soc_wh = max(self.soc_wh, floor)
        room = room if room > tol else 0.0
        battery_w = lay.battery_power_w if room > 0 else 0.0
        if led.blackout or not math.isfinite(target):
            self.apply_caps()
            idle = led.blackout or self.soc_wh >= self.capacity_wh
            self.battery_rate_w = 0.0 if idle else lay.battery_power_w * lay.battery_charge_efficiency
        else:
            if self.grid_limit_w is not None or floor > 0:
                cap, fits = self._fit_cap(target + battery_w)
                if not fits and phys > target:  # cannot keep the operator's limit: keep the supply
                    cap, fits = self._fit_cap(phys + battery_w)
                self.grid_cap_w = cap
            self.apply_caps()
            load = self.facility_w()
            if load - phys > battery_w:  # the battery cannot carry the load: blackout
                self.battery_rate_w = 0.0
                self._blackout_due = True
                self.empty_handle = schedule(kernel, now, EventKind.BATTERY_EMPTY)
            elif load > target and battery_w > 0:
                rate = min(load - target, battery_w)  # beyond it, over the operator's limit
                self.battery_rate_w = -rate
                t_empty = now + room * HOUR_S / rate
                self.empty_handle = schedule(kernel, t_empty, EventKind.BATTERY_EMPTY)
                if (
                    limits
                    and self.outage.saves_before_empty()
                    and any(led.running[p] for p in self.fed_parts)
                ):
                    t_shed = max(now, t_empty - led.write_s - SHED_GUARD_S)
                    self.shed_handle = schedule(kernel, t_shed, EventKind.SHED)
            elif load < target and not limits and self.soc_wh < self.capacity_wh:
                self.charge_draw_w = min(lay.battery_power_w, target - load)
                self.battery_rate_w = self.charge_draw_w * lay.battery_charge_efficiency
            else:
                self.battery_rate_w = 0.0
        if (led.speed, self.gpu_cap_w) != before:
            self.rec.weather(now, self.outdoor_c, led.speed, self.gpu_cap_w)

    def grid_import_w(self) -> float:
        """Power drawn from the grid now [W]: the load and the battery's charging less what the
        battery and the generators supply (0 in a blackout)."""
        if self.led.blackout:
            return 0.0
        gen = self.layout.generator_power_w if self.gen_on else 0.0
        net = self.facility_w() + self.charge_draw_w + min(self.battery_rate_w, 0.0) - gen
        if self.battery_rate_w > 0 and self.charge_draw_w == 0.0:  # the scenario's recharge
            net += self.battery_rate_w / max(self.layout.battery_charge_efficiency, 1e-9)
        return max(net, 0.0)

    def _on_operator(self, i: int) -> None:
        """Operator action ``i`` takes effect: the setting changes, the battery and caps answer
        at once, and every partition is scheduled again (admission may change)."""
        name, value = self.actions[i]
        if name == "gpu_cap_w":
            self.operator_cap_w = value
        elif name == "battery_reserve_soc":
            self.reserve_soc = value
        elif name == "grid_limit_w":
            self.grid_limit_w = value
            self.budget_w = None if value is None else min(self.feed_w, value)
        else:  # pragma: no cover - the twin names the settings
            raise ValueError(f"unknown operator setting {name!r}")
        if self.apply_caps():
            self.rec.weather(self.led.now, self.outdoor_c, self.led.speed, self.gpu_cap_w)
        self.sync()
        self.changed_all()

    # ---------------------------------------------------------------- supply
    def supply_limited(self, i: int, limit_w: float) -> None:
        """Grid event ``i`` limits the supply to ``limit_w`` (0: an outage)."""
        self.supply_limits[i] = limit_w
        lay = self.layout
        if lay.generator_power_w > 0 and limit_w <= 0:
            schedule(self.kernel, self.led.now + lay.generator_start_s, EventKind.GEN_UP, i)
        self.outage.on_supply_limited(self)
        self.sync()

    def supply_restored(self, i: int) -> None:
        """Grid event ``i`` ends."""
        self.supply_limits.pop(i, None)
        if not self.supply_limits:
            self.gen_on = False
            if self.led.blackout:
                self._end_blackout()
        self.sync()
        self.changed_all()

    # ------------------------------------------------- what an outage response may use
    def expected_outage_s(self) -> float:
        """The scenario's mean outage, or the generators' start when they are sooner [s]."""
        lay = self.layout
        expected_s = self.sc.grid.mean_outage_s
        if lay.generator_power_w > 0:
            expected_s = min(expected_s, lay.generator_start_s)
        return expected_s

    def battery_deficit_w(self) -> float:
        """The load above the limited supply now [W]."""
        return self.facility_w() - min(self.supply_limits.values())

    def battery_can_carry(self, deficit_w: float, for_s: float) -> bool:
        """Within the battery's power, and its charge lasts ``for_s`` at ``deficit_w``."""
        return deficit_w <= self.layout.battery_power_w and self.soc_wh * HOUR_S / deficit_w >= for_s

    def running_jobs(self) -> list[int]:
        """Jobs running on the fed partitions."""
        return self._running()

    def shed_order(self, jobs: list[int]) -> list[int]:
        """Lowest priority first, then the newest."""
        led = self.led
        return sorted(jobs, key=lambda j: (led.prio[j], -led.run_start_s[j]))

    def save_and_stop(self, j: int) -> None:
        """Checkpoint and stop job ``j`` (counted as an outage checkpoint)."""
        self.led.stop(j, save=True, count_interrupt=False)
        self.counters["outage_checkpoints"] += 1

    def _on_shed(self, _: int) -> None:
        """The battery will be empty in about one checkpoint write: save every running job now."""
        self.shed_handle = None
        for j in sorted(self._running()):
            self.led.stop(j, save=True, count_interrupt=False)
            self.counters["outage_checkpoints"] += 1

    def _on_gen_up(self, i: int) -> None:
        if i in self.supply_limits:
            self.gen_on = True
            if self.led.blackout and self.layout.generator_power_w > 0:
                self._end_blackout()

    def _on_battery_empty(self, _: int) -> None:
        self.empty_handle = None
        self.sync_soc_only()
        led = self.led
        if self.managed and not self._blackout_due:
            self.sync()  # at its floor: the grid cap takes over, or a blackout becomes due
            return
        self._blackout_due = False
        if not self.supply_limits or led.blackout:
            return
        self.counters["blackouts"] += 1
        for p in self.fed_parts:
            for j in list(led.running[p]):
                led.stop(j, save=False, count_interrupt=True)
        led.blackout = True
        nodes = [n for n in self.fed_nodes if not led.node_failed[n]]
        self.cluster.set_many(nodes, False)
        group = self.node_group
        gpus = self.cluster.node_gpus
        for node in nodes:
            led.down_d[group[node]] += gpus[node]
        if not self.managed:  # empty; under a reserve the energy kept back stays
            self.soc_wh = 0.0
        self.battery_rate_w = 0.0

    def _end_blackout(self) -> None:
        """Power is back (grid or generators): every node not under repair comes up."""
        led = self.led
        led.blackout = False
        self.cluster.set_many([n for n in self.fed_nodes if not led.node_failed[n]], True)
        led.down_d[:] = [0] * len(led.down_d)
        self.changed_all()

    def _on_weather(self, hour: int) -> None:
        self.outdoor_c = float(self.temps[hour % len(self.temps)])
        schedule(self.kernel, self.led.now + HOUR_S, EventKind.WEATHER, hour + 1)
        speed, cap = 1.0, None
        for t in self.tiers:
            s, c = t.thermal(self.outdoor_c)
            if s < speed:
                speed, cap = s, c
        self.thermal_speed = speed
        self.thermal_cap_w = cap
        self.apply_caps()
        self.rec.weather(self.led.now, self.outdoor_c, self.led.speed, self.gpu_cap_w)
