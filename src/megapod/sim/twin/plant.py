"""The power plant: the site's feed under grid limits, the battery, the generators and the
cooling plant's weather.

While the facility load exceeds the supply the battery (the pods' banks together) discharges
at the deficit, limited by its rated power; the state of charge is integrated analytically
between events and the empty time is an event, rescheduled whenever the load changes.
Generators add their power after their start time. An empty battery blacks the site out:
running jobs roll back and every node is down until power returns. Hourly weather sets the
plant COP and the thermal power cap of the GPUs (the job speed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from megapod.sim.engine import EventKernel
from megapod.sim.twin.cluster import Cluster
from megapod.sim.twin.events import EventKind, Handlers, schedule
from megapod.sim.twin.layout import Layout
from megapod.sim.twin.ledger import JobLedger
from megapod.sim.twin.policies import OutageResponse
from megapod.sim.twin.results import Recorder
from megapod.sim.twin.tiers import Tier
from megapod.spec.scenario import Scenario
from megapod.units import HOUR_S

#: Margin kept beyond one checkpoint write when shedding before the battery runs out [s].
SHED_GUARD_S = 60.0


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

    def register(self, handlers: Handlers) -> None:
        """Generators up, battery empty, shed before empty, hourly weather."""
        handlers.on(EventKind.GEN_UP, self._on_gen_up)
        handlers.on(EventKind.BATTERY_EMPTY, self._on_battery_empty)
        handlers.on(EventKind.SHED, self._on_shed)
        handlers.on(EventKind.WEATHER, self._on_weather)

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
        if self.supply_limits and not self.led.blackout:
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
                if self.outage.checkpoint_and_shed and any(self.led.running[p] for p in self.fed_parts):
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
        """Whether the battery state moves (supply limited, or charging or discharging)."""
        return bool(self.supply_limits) or self.battery_rate_w != 0.0

    # ---------------------------------------------------------------- supply
    def supply_limited(self, i: int, limit_w: float) -> None:
        """Grid event ``i`` limits the supply to ``limit_w`` (0: an outage)."""
        self.supply_limits[i] = limit_w
        lay = self.layout
        if lay.generator_power_w > 0 and limit_w <= 0:
            schedule(self.kernel, self.led.now + lay.generator_start_s, EventKind.GEN_UP, i)
        if self.outage.checkpoint_and_shed:
            self._shed()
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

    def _shed(self) -> None:
        """Outage-aware response: when the battery cannot carry the load for the expected outage,
        checkpoint running jobs now and stop them (lowest priority, then newest first) until the
        rest can be carried."""
        lay = self.layout
        led = self.led
        expected_s = self.sc.grid.mean_outage_s
        if lay.generator_power_w > 0:
            expected_s = min(expected_s, lay.generator_start_s)
        supply = min(self.supply_limits.values())
        running = sorted(self._running(), key=lambda j: (led.prio[j], -led.run_start_s[j]))
        for j in running:
            deficit = self.facility_w() - supply
            if deficit <= 0 or (
                deficit <= lay.battery_power_w and self.soc_wh * HOUR_S / deficit >= expected_s
            ):
                break
            led.stop(j, save=True, count_interrupt=False)
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
        self.led.speed = speed
        self.gpu_cap_w = cap
        self.rec.weather(self.led.now, self.outdoor_c, speed)
