"""The twin: jobs, failures, grid events and weather driven through the event kernel.

The twin wires its components and owns the loop. Each component has one job and claims its
own event kinds (:mod:`megapod.sim.twin.events`):

* :mod:`~megapod.sim.twin.ledger` — every job's state and accounts, the work clock;
* :mod:`~megapod.sim.twin.scheduler` — queues, placement, backfill, preemption, cancellation;
* :mod:`~megapod.sim.twin.plant` — feed, battery, generators, weather and cooling;
* :mod:`~megapod.sim.twin.faults` — failures, repairs, hot spares, grid events;
* :mod:`~megapod.sim.twin.tiers` — the compute tiers (the pods, :mod:`~megapod.sim.twin.pods`).

Arrivals (the trace, then submitted jobs) and completions (a heap on the work clock) are the
loop's own two event sources beside the kernel's timed events.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Sequence

import numpy as np

from megapod import catalog
from megapod.catalog.reliability import ReliabilityEntry
from megapod.errors import SpecError
from megapod.registry import known
from megapod.sim.engine import EventKernel
from megapod.sim.twin.cluster import Cluster
from megapod.sim.twin.dispatch import (
    DISPATCH_POLICIES,
    Dispatcher,
    DispatchPolicy,
    cars_per_gpu,
    gpu_decode_tokens_per_s,
    pod_usd_per_mtok,
)
from megapod.sim.twin.events import EventKind, Handlers, schedule
from megapod.sim.twin.faults import Faults
from megapod.sim.twin.grid_profile import GridProfile, grid_profile, hour_index
from megapod.sim.twin.jobs import FLEET_KINDS, JobSet, build_jobs
from megapod.sim.twin.layout import Layout, build_layout
from megapod.sim.twin.ledger import CANCELLED, DONE, QUEUED, RUNNING, WAITING, JobLedger
from megapod.sim.twin.nodemap import NodeMapper
from megapod.sim.twin.plant import PowerPlant
from megapod.sim.twin.pods import PodTier
from megapod.sim.twin.policies import CHECKPOINT_POLICIES, OUTAGE_RESPONSES, PLACEMENTS
from megapod.sim.twin.pools import describe_pod_nodes
from megapod.sim.twin.queueing import QUEUE_POLICIES
from megapod.sim.twin.results import Recorder, SimResult, build_result
from megapod.sim.twin.scheduler import Scheduler
from megapod.sim.twin.tiers import TIER_BUILDERS, Tier, TierSite
from megapod.sim.twin.views import JobRequest, NodeMap, Snapshot
from megapod.spec.scenario import Scenario
from megapod.units import KILO, MEGA

ProgressFn = Callable[[float, float], None]


#: The twin's parts that refer to one another (emptied by :meth:`Twin.close`); the result,
#: the layout and the recorder are left as they are.
_WIRED = ("ledger", "scheduler", "plant", "faults", "cluster", "dispatcher", "handlers")


class Twin:
    """One run of a scenario. Build it (no side effects), then either :meth:`run` it to the
    horizon or drive it: :meth:`advance_to`, :meth:`submit`, :meth:`cancel`, the operator's
    power settings (:meth:`set_gpu_cap`, :meth:`set_battery_reserve`, :meth:`set_grid_limit`),
    :meth:`snapshot`, :meth:`node_map` and finally :meth:`result`. ``run()`` is
    ``advance_to(horizon)`` then ``result()``.

    ``tiers``: compute tiers beside the site's pods (see :mod:`megapod.sim.twin.tiers`); their
    partitions join the pods' in the queues. A site with a ``fleet:`` section gets its fleet as
    the last tier (unless ``scenario.fleet.enabled`` is false), and ``policies.dispatch`` sends
    the jobs that may run there (:mod:`megapod.sim.twin.dispatch`).
    """

    def __init__(
        self, scenario: Scenario, progress: ProgressFn | None = None, *, tiers: Sequence[Tier] = ()
    ) -> None:
        self.sc = scenario
        self.progress = progress
        self.rng = np.random.default_rng(scenario.seed)
        pol = scenario.policies
        self.queue_policy = QUEUE_POLICIES.lookup(pol.queue, "policies.queue")
        self.placement = PLACEMENTS.lookup(pol.placement, "policies.placement")
        self.ckpt_fn = CHECKPOINT_POLICIES.lookup(pol.checkpoint.policy, "policies.checkpoint.policy")
        self.outage = OUTAGE_RESPONSES.lookup(pol.outage, "policies.outage")
        self.layout: Layout = build_layout(scenario)
        self.reliability = self._reliability()
        #: The compute tiers, in the order of their nodes, partitions and power groups.
        self.pods = PodTier(scenario, self.layout, self.reliability)
        self.tiers: list[Tier] = [self.pods, *tiers]
        #: The site's fleet as a tier (None without one), and how jobs get there.
        self.fleet_tier: Tier | None = None
        self.dispatch: DispatchPolicy | None = None
        if scenario.site.fleet is not None and scenario.fleet.enabled:
            known("compute tier")  # imports the module that builds the fleet's tier
            self.fleet_tier = TIER_BUILDERS.lookup("fleet", "site.fleet")(scenario)
            self.tiers.append(self.fleet_tier)
            self.dispatch = DISPATCH_POLICIES.lookup(pol.dispatch, "policies.dispatch")()
        node_gpus: list[int] = []
        node_part: list[int] = []
        part_names: list[str] = []
        self.node_group: list[int] = []
        self._offsets: list[tuple[int, int, int]] = []
        groups = 0
        for tier in self.tiers:
            nodes = tier.nodes
            self._offsets.append((len(node_gpus), len(part_names), groups))
            node_part.extend(len(part_names) + p for p in nodes.partition)
            self.node_group.extend(groups + g for g in nodes.group)
            node_gpus.extend(nodes.gpus)
            part_names.extend(nodes.partition_names)
            groups += len(nodes.group_names)
        self.groups = groups
        self.cluster = Cluster(node_gpus, node_part, part_names)
        describe_pod_nodes(self.cluster, self.layout, scenario)
        part_gpus = [p.up_gpus for p in self.cluster.partitions]
        #: Partitions of the pods (the first tier): workload jobs are drawn onto these only.
        self.pod_parts = len(self.pods.nodes.partition_names)
        self.jobs: JobSet = build_jobs(
            scenario, part_names[: self.pod_parts], part_gpus[: self.pod_parts], self.rng, self.cluster
        )
        self.dispatcher: Dispatcher | None = None
        self._dispatch_make: Callable[[JobLedger], Dispatcher] | None = None
        if self.dispatch is not None:
            self._dispatch_make = self._dispatcher(self.dispatch, self._offsets[-1][1])
        self.grid: GridProfile = grid_profile(scenario)
        self._started = False
        self.clock = 0.0
        self._result: SimResult | None = None
        self._mapper: NodeMapper | None = None

    def _dispatcher(self, policy: DispatchPolicy, fleet_part: int) -> Callable[[JobLedger], Dispatcher]:
        """The dispatch of fleet-eligible jobs between the pods and the fleet, made on the
        run's ledger when the run starts (costs and names are checked now)."""
        fleet = self.sc.site.fleet
        assert fleet is not None
        pods = self.sc.site.pods
        first_node = {p: n for n, p in reversed(list(enumerate(self.layout.node_partition)))}
        gpu_of = [
            pods[self.layout.node_design[first_node[p]]].racks[0].server.gpu for p in range(self.pod_parts)
        ]
        ratio = [cars_per_gpu(fleet, g) for g in gpu_of]
        usd_gpu_h = self.sc.fleet.pod_usd_per_gpu_h
        if usd_gpu_h is None and policy.name == "cheapest":
            raise SpecError(
                "fleet.pod_usd_per_gpu_h",
                "the 'cheapest' dispatch compares the tiers' costs: give the pods' cost of a GPU-hour "
                "(megapod simulate fills it from the site's price table)",
            )
        pods_mtok = (
            pod_usd_per_mtok(usd_gpu_h, gpu_decode_tokens_per_s(fleet, gpu_of[0]))
            if usd_gpu_h is not None
            else math.inf
        )
        eligible = np.isin(self.jobs.kind, FLEET_KINDS).tolist()
        price = fleet.economics.price_usd_per_mtok
        return lambda led: Dispatcher(
            policy, led, self.cluster, eligible, fleet_part, ratio, pods_mtok, price
        )

    def _reliability(self) -> ReliabilityEntry | None:
        f = self.sc.failures
        if not f.enabled or f.rate_scale == 0:
            return None
        entry = catalog.get("reliability", f.catalog)
        if not isinstance(entry, ReliabilityEntry):  # pragma: no cover - kind ties the model
            raise SpecError("failures.catalog", f"{f.catalog!r} is not a reliability entry")
        return entry

    # ------------------------------------------------------------------ setup
    def _ensure_started(self) -> None:
        """Build the components and schedule the scenario's own events (once, on first use)."""
        if self._started:
            return
        self._started = True
        sc = self.sc
        self.ledger = led = JobLedger(
            sc, self.jobs, self.cluster, self.node_group, self.groups, self.ckpt_fn, self.pods.rate_per_gpu_s
        )
        self.rec = Recorder(self.groups)
        self.kernel = kernel = EventKernel()
        fed = list(range(len(self.pods.nodes.gpus)))  # the pods are on the site's supply
        self.plant = PowerPlant(
            sc,
            self.layout,
            led,
            self.cluster,
            self.tiers,
            self.node_group,
            fed,
            self.outage,
            self.rec,
            self._changed_all,
        )
        admission = [
            tier.admission_w_per_gpu(g) for tier in self.tiers for g in range(len(tier.nodes.group_names))
        ]
        self.scheduler = sched = Scheduler(
            sc, led, self.cluster, self.plant, self.queue_policy, self.placement, self.outage, admission
        )
        if self._dispatch_make is not None:  # arrivals choose their tier before they queue
            self.dispatcher = self._dispatch_make(led)
            sched.enqueue = self.dispatcher.wrap(sched.enqueue)
        self.faults = Faults(
            sc, led, self.cluster, self.node_group, self.tiers, self.plant, self.rng, self.rec, sched.changed
        )
        self.handlers = Handlers()
        for i, (tier, (node0, part0, group0)) in enumerate(zip(self.tiers, self._offsets, strict=True)):
            tier.attach(
                TierSite(self.cluster, led, kernel, i, len(self.tiers), node0, part0, group0, sched.changed)
            )
        if len(self.tiers) > 1:  # the pods have no events of their own
            n = len(self.tiers)
            self.handlers.on(EventKind.TIER, lambda p: self.tiers[p % n].on_event(p // n))
        components = (self.faults, self.plant, sched)
        for comp in components:
            comp.register(self.handlers)
        for comp in components:
            comp.start(kernel)
        self._handler_table = dict(self.handlers)
        self.clock = 0.0
        self._next_arrival = 0
        self._late: list[tuple[float, int]] = []
        self._events = 0
        self._next_report = 0.0

    def close(self) -> None:
        """Free the run's state now; the twin takes no more steps (its result stays valid).

        The components refer to one another (callbacks, the handler table, the tiers' views
        of the site), so once the twin is dropped only Python's cycle collector could free
        them, later, and until then every full collection walks their per-job lists: about
        30 ms on the Philly replay, paid inside whatever runs next. Emptying each component
        breaks those cycles and lets them go at once.
        """
        parts: list[object] = [getattr(self, name, None) for name in _WIRED]
        parts.append(getattr(getattr(self, "scheduler", None), "queue", None))
        for tier in getattr(self, "tiers", ()):
            parts += [tier, getattr(tier, "site", None)]
        for part in parts:
            if part is not None and hasattr(part, "__dict__"):
                vars(part).clear()
        vars(self).clear()

    def _changed_all(self) -> None:
        self.scheduler.changed_all()

    @property
    def started(self) -> bool:
        """Whether the run has begun (its state exists)."""
        return self._started

    @property
    def total_gpus(self) -> int:
        """GPUs installed over every tier."""
        return self.cluster.total_gpus

    def _check_open(self) -> None:
        if self._result is not None:
            raise RuntimeError("the run is finished: result() was taken; build a new Twin to run again")
        self._ensure_started()

    # -------------------------------------------------------------- open twin
    def advance_to(self, t_s: float) -> None:
        """Process every event at or before ``t_s`` (capped at the horizon); the clock then reads
        ``t_s``. Events of one instant are all handled before the scheduler runs once."""
        self._check_open()
        if not t_s >= self.clock:
            raise ValueError(f"cannot advance to {t_s} s: the clock already reads {self.clock} s")
        until = min(t_s, self.sc.horizon_s)
        self._loop(until)
        self.clock = until

    def submit(self, job: JobRequest) -> int:
        """A job arriving while the twin runs, at ``job.submit_s`` or now if that is earlier or
        unset; returns its index in the job table."""
        self._check_open()
        at = self.clock if job.submit_s is None else max(job.submit_s, self.clock)
        part = self._partition_of(job)
        if job.job_id in self.ledger.ids():
            raise SpecError("job_id", f"{job.job_id!r} is already a job of this run")
        pt = self.cluster.partitions[part]
        size = pt.size_gpus
        if job.gpus > size:
            raise SpecError("gpus", f"{job.gpus:,} GPUs is more than the {size:,} of its partition")
        j = self.ledger.add(job, at, part)
        heapq.heappush(self._late, (at, j))
        return j

    def cancel(self, job_id: str) -> bool:
        """Cancel a job now (waiting, queued or running; a running job's GPUs are freed and its
        work done so far is kept in its accounts). False when the job has already ended."""
        self._check_open()
        j = self.ledger.ids().get(job_id)
        if j is None:
            raise SpecError("job_id", f"no job {job_id!r} in this run")
        return self.scheduler.cancel(j, max(self.clock, self.kernel.now_s))

    def preempt(self, job_id: str) -> bool:
        """Preempt a running job now: it writes a checkpoint (``checkpoint.write_s``), frees its
        GPUs and waits again, to restart from it (paying the restart time). False when the job
        is not running."""
        self._check_open()
        j = self.ledger.ids().get(job_id)
        if j is None:
            raise SpecError("job_id", f"no job {job_id!r} in this run")
        return self.scheduler.preempt(j, max(self.clock, self.kernel.now_s))

    # ------------------------------------------------------- operator actions
    def set_gpu_cap(self, cap_w: float | None) -> None:
        """Cap every GPU of the site at ``cap_w`` board watts from now (None lifts the cap).

        Busy GPUs draw at most the cap and jobs run at the speed the cap leaves by the DVFS
        power–speed law (:func:`megapod.physics.gpu_power.speed_fraction`, the law of the
        thermal cap). The cap in force is the lowest of this one, the cooling limit's and the
        grid limit's; :meth:`snapshot` reads it back (``gpu_cap_w``) beside this request
        (``gpu_cap_operator_w``). Raises :class:`SpecError` for a cap outside the range every
        design accepts: its GPUs' idle draw up to the highest TDP.
        """
        self._check_open()
        if cap_w is not None:
            lo, hi = self.plant.cap_range_w
            if not (isinstance(cap_w, int | float) and math.isfinite(cap_w) and lo <= cap_w <= hi):
                raise SpecError(
                    "gpu_cap_w",
                    f"{cap_w!r} W must be a number from {lo:g} W (the GPUs' idle draw) "
                    f"to {hi:g} W (their TDP)",
                )
            cap_w = float(cap_w)
        self._operator("gpu_cap_w", cap_w)

    def set_battery_reserve(self, soc: float | None) -> None:
        """Keep ``soc`` (0–1 of the battery's usable energy, as ``Snapshot.battery_soc``) in the
        battery from now: while a grid limit is in force the battery does not discharge below
        it, and the GPUs are capped instead so that the load fits the supply; in an outage (a
        grid event with no supply) the reserve is what it is for, and the battery may run
        empty. ``None`` or 0 keeps nothing back. Raises :class:`SpecError` outside [0, 1]."""
        self._check_open()
        if soc is not None:
            if not (isinstance(soc, int | float) and math.isfinite(soc) and 0.0 <= soc <= 1.0):
                raise SpecError("battery_reserve_soc", f"{soc!r} must be a state of charge from 0 to 1")
            soc = float(soc)
        self._operator("battery_reserve_soc", soc)

    def set_grid_limit(self, limit_w: float | None) -> None:
        """Limit the site's grid import to ``limit_w`` [W] from now (None lifts it).

        The limit (with the site's feed when lower: the *budget*) acts as a grid limit event
        does: the battery covers the load above it (down to its reserve), then the GPUs are
        capped so that the load fits; it never blacks the site out (when even idle GPUs do not
        fit, the site draws over it). Below the limit the battery recharges from the headroom.
        Jobs start only if the facility power with them stays within the budget (the
        scheduler's admission). Raises :class:`SpecError` unless the limit is above 0 W."""
        self._check_open()
        if limit_w is not None:
            if not (isinstance(limit_w, int | float) and math.isfinite(limit_w) and limit_w > 0):
                raise SpecError("grid_limit_w", f"{limit_w!r} W must be a finite power above 0 W")
            limit_w = float(limit_w)
        self._operator("grid_limit_w", limit_w)

    def _operator(self, name: str, value: float | None) -> None:
        """An operator action as an event at the clock, handled at once."""
        plant = self.plant
        plant.actions.append((name, value))
        schedule(self.kernel, max(self.clock, self.kernel.now_s), EventKind.OPERATOR, len(plant.actions) - 1)
        self._loop(self.clock)

    def _partition_of(self, job: JobRequest) -> int:
        names = [p.name for p in self.cluster.partitions]
        if job.partition is None:
            if self.pod_parts == 1:  # the pods' one partition (other tiers are asked for by name)
                return 0
            raise SpecError("partition", f"required on a site of several partitions: {', '.join(names)}")
        if job.partition not in names:
            raise SpecError("partition", f"unknown partition {job.partition!r}; known: {', '.join(names)}")
        return names.index(job.partition)

    def snapshot(self) -> Snapshot:
        """A typed, JSON-able view of the site at the clock: nodes, jobs, power, battery, thermal."""
        self._ensure_started()
        led = self.ledger
        plant = self.plant
        counts = [0, 0, 0, 0, 0]
        for st in led.state:
            counts[st] += 1
        queued = [j for j in range(len(led.state)) if led.state[j] == QUEUED]
        running = sorted(j for s in led.running for j in s)
        ids = led.job_ids()
        cap = plant.capacity_wh
        soc = plant.soc_at(self.clock)
        up = sum(1 for u in self.cluster.node_up if u)
        failed = sum(led.node_failed)
        hour = hour_index(np.array([self.clock]))
        return Snapshot(
            t_s=self.clock,
            horizon_s=self.sc.horizon_s,
            nodes_up=up,
            nodes_failed=failed,
            nodes_down=len(led.node_failed) - up - failed,
            gpus=self.total_gpus,
            gpus_busy=sum(led.busy_d),
            gpus_failed=sum(led.failed_d),
            gpus_down=sum(led.down_d),
            hot_spares=self.faults.spares,
            jobs_waiting=counts[WAITING],
            jobs_queued=counts[QUEUED],
            jobs_running=counts[RUNNING],
            jobs_done=counts[DONE],
            jobs_cancelled=counts[CANCELLED],
            queue=[ids[j] for j in sorted(queued, key=lambda j: (led.queued_since[j], j))],
            running=[ids[j] for j in running],
            it_power_w=plant.it_w(),
            facility_power_w=plant.facility_w(),
            battery_soc=soc / cap if cap > 0 else 0.0,
            battery_power_w=-plant.battery_rate_w,
            grid_limited=bool(plant.supply_limits),
            blackout=led.blackout,
            generators_on=plant.gen_on,
            outdoor_c=plant.outdoor_c,
            thermal_speed=plant.thermal_speed,
            gpu_cap_w=plant.gpu_cap_w,
            events=self._events,
            job_speed=led.speed,
            gpu_cap_operator_w=plant.operator_cap_w,
            grid_limit_w=plant.grid_limit_w,
            battery_reserve_soc=plant.reserve_soc,
            grid_import_w=plant.grid_import_w(),
            price_usd_per_mwh=float(self.grid.price_at(hour)[0]) * MEGA,
            carbon_kg_per_mwh=float(self.grid.carbon_at(hour)[0]) * KILO,
        )

    def node_map(self) -> NodeMap:
        """The site's pods node by node at the clock: one state code per node (running, capped,
        idle, failed, down) in the order pod design → replica → rack → server, and a row per
        pod design with its counts, power and cooling (:class:`~megapod.sim.twin.views.NodeMap`).
        Nodes of other tiers (a fleet) are not in it."""
        self._ensure_started()
        if self._mapper is None:
            self._mapper = NodeMapper(self.pods, self.cluster)
        return self._mapper.build(self.ledger, self.plant, self.clock)

    def result(self) -> SimResult:
        """The tables of the run up to the clock. The run ends here: running jobs are accounted
        to the clock and reported as running; the twin takes no more steps."""
        if self._result is not None:
            return self._result
        self._ensure_started()
        led = self.ledger
        end = self.clock
        led.now = end
        self.plant.sync_soc_only()
        self.rec.soc(end, self.plant.soc_wh)
        running = [j for s in led.running for j in s]
        queued = [j for j, st in enumerate(led.state) if st == QUEUED]
        for j in running + queued:  # account work and waits inside the horizon
            led.close(j, cancelled=False)
        self.rec.counters["events"] = self._events
        self._result = build_result(
            self.sc, led, self.rec, self.tiers, self.grid, self.layout.battery_energy_wh, end
        )
        return self._result

    def run(self) -> SimResult:
        """Run to the horizon and return the tables (nothing is written)."""
        self.advance_to(self.sc.horizon_s)
        return self.result()

    # ------------------------------------------------------------------ loop
    def _loop(self, until: float) -> None:
        kernel = self.kernel
        led = self.ledger
        sched = self.scheduler
        plant = self.plant
        submit = led.submit_times
        n = led.n_trace
        nxt = self._next_arrival
        late = self._late
        done_heap = led.done_heap
        kheap = kernel.heap
        peek = kernel.peek_s
        run_token = led.run_token
        state = led.state
        part = led.part
        dirty = sched.dirty
        enqueue = sched.enqueue
        finish = led.finish
        busy_d, failed_d, down_d = led.busy_d, led.failed_d, led.down_d
        rec_t = self.rec.t.append
        rec_v = self.rec.values.extend
        handlers = self._handler_table
        horizon = self.sc.horizon_s
        report_every = max(horizon / 200.0, 1.0)
        events = self._events
        pending = False  # events handled at ``led.now`` not yet followed by a scheduling pass
        inf = math.inf
        while True:
            t_arr = submit[nxt] if nxt < n else inf
            from_late = bool(late) and late[0][0] < t_arr
            if from_late:
                t_arr = late[0][0]
            while done_heap and run_token[done_heap[0][2]] != done_heap[0][1]:
                heapq.heappop(done_heap)
            t_done = (led.now + (done_heap[0][0] - led.v_now) / led.speed) if done_heap else inf
            t_k = peek() if kheap else inf
            t = t_arr if t_arr < t_done else t_done
            if t_k < t:
                t = t_k
            if pending and t > led.now:  # the instant is over: schedule once, then record it
                if dirty:
                    sched.run_dirty()
                    while done_heap and run_token[done_heap[0][2]] != done_heap[0][1]:
                        heapq.heappop(done_heap)
                    if done_heap:  # starts add completions; one may fall in this instant
                        t_done = led.now + (done_heap[0][0] - led.v_now) / led.speed
                        if t_done <= led.now:
                            continue
                        if t_done < t:
                            t = t_done
                    else:
                        t_done = inf
                pending = False
                if plant.supply_limits or plant.battery_rate_w != 0.0 or plant.grid_limit_w is not None:
                    speed = led.speed
                    plant.sync()  # may schedule battery events, even at this instant
                    t_k = kernel.peek_s()
                    if t_k < t:
                        t = t_k
                    if led.speed != speed:  # a grid cap moved: completions come at other times
                        t_done = (led.now + (done_heap[0][0] - led.v_now) / led.speed) if done_heap else inf
                        t = min(t_arr, t_done, t_k)
                rec_t(led.now)
                rec_v(busy_d)
                rec_v(failed_d)
                rec_v(down_d)
                if self.progress is not None and led.now >= self._next_report:
                    self.progress(led.now, horizon)
                    self._next_report = led.now + report_every
            if t > until:
                break
            led.v_now += (t - led.now) * led.speed
            led.now = t
            events += 1
            pending = True
            if t_done <= t_arr and t_done <= t_k:
                _, _, j = heapq.heappop(done_heap)
                led.v_now = max(led.v_now, _)
                finish(j)
                dirty.add(part[j])
            elif t_arr <= t_k:
                if from_late:
                    j = heapq.heappop(late)[1]
                else:
                    j = nxt
                    nxt += 1
                if state[j] == WAITING:
                    enqueue(j)
                    dirty.add(part[j])
            else:
                ev = kernel.pop()
                assert ev is not None
                handlers[ev[3]](ev[4])
        self._next_arrival = nxt
        self._events = events


def simulate(scenario: Scenario, progress: ProgressFn | None = None) -> SimResult:
    """Run ``scenario`` and return its per-job table, time series and summary."""
    twin = Twin(scenario, progress)
    try:
        return twin.run()
    finally:
        twin.close()


__all__ = ["Twin", "simulate"]
