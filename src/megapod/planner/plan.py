"""The planner: from a training or serving goal and a pod design to a sized, costed site.

* Training: the performance model (:mod:`megapod.physics.perf`) picks the fastest layout on
  the GPUs of ``n`` whole pods; a first-order failure/checkpoint allowance
  (:mod:`megapod.planner.failures`) stretches the time; the fewest pods that meet the
  deadline (or the most a GPU budget allows, or the spec's own count) are sized by
  :mod:`megapod.planner.sizing`.
* Serving: every (tp, pp, batch) replica the performance model allows is scored by output
  tokens/s per GPU under the per-token latency bound; the replicas needed for the rate set the
  pods.
* Capability (the reverse question): the site as specified, for each model preset: time to
  train on a compute-optimal token count (20 tokens per parameter, Hoffmann et al. 2022) and
  the output tokens/s it serves.

Infeasible goals raise :class:`InfeasibleError` with what would make them feasible.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from megapod.errors import InfeasibleError, SpecError

if TYPE_CHECKING:
    import pandas as pd
from megapod.physics.perf import (
    Hardware,
    InferenceResult,
    TrainingRun,
    TransformerModel,
    model_preset,
    preset_names,
    serve,
    time_to_train,
)
from megapod.physics.perf.presets import model_from_shape
from megapod.physics.perf.search import divisors, search
from megapod.planner.failures import (
    FailureAllowance,
    failure_allowance,
    interruption_rate_per_gpu_s,
    reliability_entry,
)
from megapod.planner.grid_limits import GridLimitSizing, size_for_grid_limits
from megapod.planner.sizing import FacilitySizing, price_table, size_facility
from megapod.spec import Pod, Site
from megapod.spec.goal import ModelSpec, ServingGoal, TrainingGoal
from megapod.units import DAY_S, HOUR_S, YEAR_S

#: Largest number of pods the planner tries before declaring a deadline out of reach.
MAX_PODS = 4096
#: Pod counts above the fewest that meet a deadline whose cost per run is also compared (a
#: count whose GPUs divide the layout better can cost less although it has more pods).
COST_WINDOW_PODS = 8
#: Tokens per parameter of a compute-optimal run (Hoffmann et al., "Training Compute-Optimal
#: Large Language Models", 2022).
CHINCHILLA_TOKENS_PER_PARAM = 20.0


@dataclass(frozen=True)
class TrainingOutcome:
    """The training run the plan buys."""

    model: str
    tokens: float
    layout: dict[str, Any]
    gpus_used: int
    step_time_s: float
    step_phases_s: dict[str, float]
    mfu: float
    failure_free_s: float
    wall_s: float
    gpu_hours: float
    mean_gpu_power_w: float
    failures: FailureAllowance
    deadline_s: float | None
    run_cost_usd: float
    run_energy_wh: float
    run_co2_t: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        out = dict(self.__dict__)
        out["failures"] = self.failures.as_dict()
        out["wall_days"] = self.wall_s / DAY_S
        return out


@dataclass(frozen=True)
class ServingOutcome:
    """The serving fleet the plan buys."""

    model: str
    tokens_per_s_target: float
    tokens_per_s_capacity: float
    latency_per_token_s: float
    latency_bound_s: float
    context_len: int
    output_len: int
    replica: dict[str, Any]
    replicas: int
    gpus_used: int
    cost_per_million_tokens_usd: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Plan:
    """A planner result: the goal, the sized facility and what it buys."""

    kind: str
    site: str
    facility: FacilitySizing
    training: TrainingOutcome | None = None
    serving: ServingOutcome | None = None
    grid: GridLimitSizing | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """One JSON-ready document."""
        return {
            "kind": self.kind,
            "site": self.site,
            "facility": self.facility.as_dict(),
            "training": self.training.as_dict() if self.training else None,
            "serving": self.serving.as_dict() if self.serving else None,
            "grid": self.grid.as_dict() if self.grid else None,
            "notes": list(self.notes) + list(self.facility.notes),
        }

    def to_json(self) -> str:
        """The plan as one JSON document (what ``megapod plan --json`` prints)."""
        import json

        return json.dumps(self.as_dict(), default=float)

    def to_frame(self) -> pd.DataFrame:
        """One row a figure: ``section``, ``figure``, ``value`` (nested sections flattened)."""
        import pandas as pd

        rows = [
            (section, key, value)
            for section, body in self.as_dict().items()
            if isinstance(body, dict)
            for key, value in body.items()
            if not isinstance(value, dict | list)
        ]
        return pd.DataFrame(rows, columns=["section", "figure", "value"])


def resolve_model(model: str | ModelSpec) -> TransformerModel:
    """A preset by name, or a model given by its shape."""
    if isinstance(model, str):
        return model_preset(model)
    return model_from_shape(model, model.name)


def pick_pod(site: Site, gpu: str | None) -> Pod:
    """The first pod design of ``site`` (carrying ``gpu`` when given)."""
    if gpu is None:
        return site.pods[0]
    for pod in site.pods:
        if pod.racks[0].server.gpu.name == gpu:
            return pod
    have = sorted({p.racks[0].server.gpu.name for p in site.pods})
    raise InfeasibleError(
        f"no pod design of site {site.name!r} carries gpu {gpu!r}; it has {', '.join(have)}: "
        "pick one of those or add a pod design with that GPU"
    )


# --- training ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Trial:
    pods: int
    run: TrainingRun
    failures: FailureAllowance

    @property
    def wall_s(self) -> float:
        return self.run.wall_s / (1.0 - self.failures.waste_fraction)


def _train_on(
    model: TransformerModel, hw: Hardware, goal: TrainingGoal, gpus: int, rate: float, source: str
) -> tuple[TrainingRun, FailureAllowance]:
    """Fastest layout on at most ``gpus`` GPUs (a job may leave some idle), with failures.

    The layout search may use any GPU count up to ``gpus`` (``search(..., up_to=True)``), so
    more GPUs never give a slower fastest plan.
    """
    batch = global_batch_sequences(goal.global_batch_tokens, model.seq_len)
    best = search(model, hw, gpus, batch, goal.dtype, 1, up_to=True).best[0]
    run = time_to_train(model, hw, best.layout, goal.tokens)
    allowance = failure_allowance(run.gpus, run.wall_s, goal.checkpoint_s, goal.restart_s, rate, source)
    return run, allowance


def global_batch_sequences(batch_tokens: float, seq_len: int) -> int:
    """Sequences per step: ``batch_tokens / seq_len`` rounded to the nearest power of two
    (16 M tokens at 8,192 → 2,048 sequences, Llama 3's final batch)."""
    return int(2 ** max(0, round(math.log2(max(1.0, batch_tokens / seq_len)))))


def job_gpus(site: Site, pod: Pod, pods: int) -> int:
    """GPUs one training job may use on ``pods`` pods: all of them when the site has an
    inter-pod fabric, else one pod's (a job never spans pods that nothing joins)."""
    return pods * pod.gpus if site.inter_pod is not None else min(pods, 1) * pod.gpus


def job_hardware(site: Site, pod: Pod) -> Hardware:
    """The hardware of a job on ``pod``; groups that cross pods use the inter-pod links."""
    hw = Hardware.from_pod(pod)
    if site.inter_pod is None:
        return hw
    return hw.across_pods(site.inter_pod.uplink_rate_bps, site.inter_pod.oversubscription, pod.gpus)


@dataclass
class _Search:
    """What every trial of one training plan shares, and the trials made so far."""

    site: Site
    pod: Pod
    model: TransformerModel
    hw: Hardware
    goal: TrainingGoal
    rate: float
    source: str
    cache: dict[int, _Trial | None] = field(default_factory=dict)

    def trial(self, pods: int) -> _Trial | None:
        """The fastest run on ``pods`` pods (None when no layout fits), memoised by GPUs."""
        gpus = job_gpus(self.site, self.pod, pods)
        if gpus not in self.cache:
            try:
                run, allowance = _train_on(self.model, self.hw, self.goal, gpus, self.rate, self.source)
                self.cache[gpus] = _Trial(pods, run, allowance)
            except InfeasibleError:
                self.cache[gpus] = None
        found = self.cache[gpus]
        return None if found is None else _Trial(pods, found.run, found.failures)


def plan_training(site: Site, goal: TrainingGoal) -> Plan:
    """Size a site of whole pods for ``goal`` and report what the run costs.

    With a deadline, the cheapest pod count that meets it: the fewest that do (the fastest
    run on ``n`` pods never slows as ``n`` grows, so a bisection finds it), then the counts up
    to :data:`COST_WINDOW_PODS` above it, whose run may cost less (cost per run taken as
    pods × wall time, the facility being ``n`` identical pods). A job spans pods only when
    the site has an ``inter_pod`` fabric.
    """
    pod = pick_pod(site, goal.gpu)
    model = resolve_model(goal.model)
    hw = job_hardware(site, pod)
    rel = reliability_entry(goal.reliability)
    ctx = _Search(site, pod, model, hw, goal, interruption_rate_per_gpu_s(rel), rel.name)
    notes: list[str] = []
    if goal.gpu_budget is not None:
        pods = goal.gpu_budget // pod.gpus
        if pods < 1:
            raise InfeasibleError(
                f"a GPU budget of {goal.gpu_budget:,} is less than one pod "
                f"({pod.gpus:,} GPUs of pod design {pod.name!r}): raise the budget to ≥ {pod.gpus:,}"
            )
        trial = ctx.trial(pods)
        if trial is None:
            raise _no_layout(ctx, pods)
        if goal.deadline_s is not None and trial.wall_s > goal.deadline_s:
            need = _pods_for_deadline(ctx)
            raise InfeasibleError(
                f"{pods} pods ({pods * pod.gpus:,} GPUs) need {trial.wall_s / DAY_S:.1f} days, past the "
                f"{goal.deadline_s / DAY_S:.1f}-day deadline: " + _deadline_hint(need, pod, trial.wall_s)
            )
        chosen = trial
    elif goal.deadline_s is not None:
        found = _pods_for_deadline(ctx)
        if isinstance(found, str):
            raise InfeasibleError(found)
        chosen = _cheapest_from(ctx, found)
        if chosen.pods != found.pods:
            notes.append(
                f"{found.pods} pods are the fewest that meet the deadline; {chosen.pods} "
                "cost less per run (their GPUs divide the layout better)"
            )
    else:
        pods = pod.count
        trial = ctx.trial(pods)
        if trial is None:
            raise _no_layout(ctx, pods)
        notes.append(f"no deadline or GPU budget: planned on the spec's {pods} pod(s)")
        chosen = trial
    if site.inter_pod is None and chosen.pods > 1:
        notes.append("no inter_pod fabric: the training job runs on one pod")
    trial = chosen
    if trial.run.gpus < trial.pods * pod.gpus:
        notes.append(f"the layout uses {trial.run.gpus:,} of the {trial.pods * pod.gpus:,} GPUs")
    prices = price_table(goal.prices, goal.price_overrides)
    facility = size_facility(site, pod, trial.pods, trial.run.mean_gpu_power_w, prices, goal.years)
    grid = size_for_grid_limits(
        site,
        pod,
        trial.run.step,
        facility.battery_unit,
        facility.battery_units,
        goal.max_ramp_w_per_s,
        goal.max_swing_w,
    )
    if grid.feasible is False:  # an impossible grid limit is an impossible goal, like any other
        asked = " and ".join(
            text
            for value, text in (
                (goal.max_ramp_w_per_s, f"ramp ≤ {goal.max_ramp_w_per_s or 0:,.0f} W/s"),
                (goal.max_swing_w, f"swing ≤ {goal.max_swing_w or 0:,.0f} W"),
            )
            if value is not None
        )
        raise InfeasibleError(
            f"no bank of up to {grid.units:,} × {grid.unit} holds the grid limit ({asked}) for this run; "
            f"without a battery it ramps {grid.baseline_max_ramp_w_per_s:,.0f} W/s and swings "
            f"{grid.baseline_swing_w:,.0f} W over {grid.window_s:.0f} s: loosen the limit or plan fewer pods"
        )
    if grid.plan_units > facility.battery_units:  # the grid limit needs the larger bank: cost it
        facility = size_facility(
            site,
            pod,
            trial.pods,
            trial.run.mean_gpu_power_w,
            prices,
            goal.years,
            min_battery_units=grid.plan_units,
        )
    wall = trial.wall_s
    share = wall / YEAR_S
    outcome = TrainingOutcome(
        model=model.name,
        tokens=goal.tokens,
        layout=_layout_dict(trial.run, model.layers),
        gpus_used=trial.run.gpus,
        step_time_s=trial.run.step.step_time_s,
        mfu=trial.run.step.mfu,
        step_phases_s={p.name: p.duration_s for p in trial.run.step.phases},
        failure_free_s=trial.run.wall_s,
        wall_s=wall,
        gpu_hours=wall * trial.run.gpus / HOUR_S,
        mean_gpu_power_w=trial.run.mean_gpu_power_w,
        failures=trial.failures,
        deadline_s=goal.deadline_s,
        run_cost_usd=facility.annualized_cost_usd * share,
        run_energy_wh=facility.annual_facility_energy_wh * share,
        run_co2_t=facility.annual_co2_t * share,
    )
    return Plan("training", site.name, facility, training=outcome, grid=grid, notes=tuple(notes))


def _pods_for_deadline(ctx: _Search) -> _Trial | str:
    """Fewest pods that meet the deadline, or a message saying why none does.

    The fastest run on ``n`` pods is non-increasing in ``n`` (the layout search may leave
    GPUs idle), so doubling then bisecting finds the fewest.
    """
    goal, pod, model = ctx.goal, ctx.pod, ctx.model
    assert goal.deadline_s is not None
    first = _first_feasible(ctx)
    if first is None:
        raise _no_layout(ctx, 1)
    if first.wall_s <= goal.deadline_s:
        return first
    span = ctx.site.inter_pod is not None
    lo = first.pods
    hi_trial: _Trial | None = None
    best_wall = first.wall_s
    n = min(MAX_PODS, max(lo + 1, math.ceil(lo * first.wall_s / goal.deadline_s)))
    no_plan = MAX_PODS + 1  # fewest pods found with no plan (failure overheads past 100 %)
    while span and n <= MAX_PODS:
        t = ctx.trial(n)
        if t is None:
            no_plan = n
            break
        best_wall = min(best_wall, t.wall_s)
        if t.wall_s <= goal.deadline_s:
            hi_trial = t
            break
        lo = n
        if n == MAX_PODS:
            break
        n = min(MAX_PODS, n * 2)
    if span and hi_trial is None:
        # failures make the time with restarts grow again at large counts: look at the
        # doublings below the first count without a plan for the fastest (and a count that
        # meets the deadline, if one does)
        k = first.pods * 2
        while k < no_plan and k <= MAX_PODS:
            t = ctx.trial(k)
            if t is not None:
                best_wall = min(best_wall, t.wall_s)
                if t.wall_s <= goal.deadline_s:
                    hi_trial = t
                    break
                lo = k
            k *= 2
    if hi_trial is None:
        if not span:
            return (
                f"one pod ({pod.gpus:,} GPUs) trains {goal.tokens:,.0f} tokens of {model.name} in "
                f"{first.wall_s / DAY_S:.1f} days (fastest found), past the "
                f"{goal.deadline_s / DAY_S:.1f}-day deadline, and the site has no inter_pod fabric "
                "for a job to span pods: extend the deadline, train fewer tokens, or add an "
                "inter_pod fabric to the site"
            )
        return (
            f"no count of whole pods up to {MAX_PODS:,} ({MAX_PODS * pod.gpus:,} GPUs) finishes "
            f"{goal.tokens:,.0f} tokens of {model.name} within {goal.deadline_s / DAY_S:.1f} days "
            f"(fastest found: {best_wall / DAY_S:.1f} days): extend the deadline, train fewer tokens "
            "or use a faster pod design"
        )
    while hi_trial.pods - lo > 1:
        mid = (lo + hi_trial.pods) // 2
        t = ctx.trial(mid)
        if t is not None and t.wall_s <= goal.deadline_s:
            hi_trial = t
        else:
            lo = mid
    return hi_trial


def _cheapest_from(ctx: _Search, fewest: _Trial) -> _Trial:
    """The pod count from ``fewest`` up to :data:`COST_WINDOW_PODS` more with the lowest cost
    per run (pods × wall time); ties go to fewer pods.

    When the fewest pods' run uses all their GPUs, more pods cannot cost less (a run's
    GPU-hours do not fall as it is spread over more GPUs), so only a run that leaves GPUs
    idle is compared with its neighbours.
    """
    best = fewest
    if ctx.site.inter_pod is None or fewest.run.gpus >= fewest.pods * ctx.pod.gpus:
        return best
    for n in range(fewest.pods + 1, min(MAX_PODS, fewest.pods + COST_WINDOW_PODS) + 1):
        t = ctx.trial(n)
        if t is not None and t.pods * t.wall_s < best.pods * best.wall_s * (1.0 - 1e-9):
            best = t
    return best


def _deadline_hint(need: _Trial | str, pod: Pod, budget_wall_s: float) -> str:
    if isinstance(need, str):
        return need
    return (
        f"it takes at least {need.pods} pods ({need.pods * pod.gpus:,} GPUs) — raise the GPU budget "
        f"to ≥ {need.pods * pod.gpus:,} or, on this budget, extend the deadline to ≥ "
        f"{math.ceil(budget_wall_s / DAY_S * 10) / 10:.1f} days"
    )


def _first_feasible(ctx: _Search) -> _Trial | None:
    n = 1
    while n <= MAX_PODS:
        t = ctx.trial(n)
        if t is not None:
            return t
        if ctx.site.inter_pod is None:
            return None
        n *= 2
    return None


def _no_layout(ctx: _Search, pods: int) -> InfeasibleError:
    """The error for a model that fits no layout on ``pods`` pods, naming the minimum that works."""
    model, pod, goal = ctx.model, ctx.pod, ctx.goal
    first = _first_feasible(ctx) if pods < MAX_PODS else None
    try:
        _train_on(model, ctx.hw, goal, job_gpus(ctx.site, pod, pods), ctx.rate, ctx.source)
        reason = ""
    except InfeasibleError as exc:
        reason = f" ({exc})"
    if first is not None and first.pods > pods:
        return InfeasibleError(
            f"{model.name} fits no layout on {pods} pod(s) "
            f"({pods * pod.gpus:,} {pod.racks[0].server.gpu.name} "
            f"GPUs){reason}: it needs at least {first.pods} pods ({first.pods * pod.gpus:,} GPUs)"
        )
    return InfeasibleError(
        f"{model.name} fits no layout on pod design {pod.name!r} up to {MAX_PODS:,} pods{reason}: "
        "use GPUs with more memory, a smaller model, or a smaller global batch (global_batch_tokens)"
    )


def _layout_dict(run: TrainingRun, layers: int) -> dict[str, Any]:
    """The layout's degrees and options, with the model's ``layers`` (uneven pipeline stages show)."""
    lay = run.step.layout
    return {"layers": layers} | {
        k: getattr(lay, k)
        for k in (
            "tp",
            "pp",
            "dp",
            "cp",
            "ep",
            "micro_batch",
            "global_batch",
            "interleave",
            "recompute",
            "zero_stage",
            "dtype",
        )
    }


# --- serving -------------------------------------------------------------------------------


def best_replica(model: TransformerModel, hw: Hardware, goal: ServingGoal) -> InferenceResult:
    """The serving replica with the most output tokens/s per GPU under the latency bound."""
    best: InferenceResult | None = None
    fastest: InferenceResult | None = None
    tps = [t for t in divisors(model.heads) if t <= hw.scale_up_domain and model.ffn_hidden % t == 0]
    for tp in tps:
        for pp in (1, 2, 4, 8, 16):
            if pp > model.layers:
                continue
            batch = pp
            while batch <= 4096:
                try:
                    r = serve(model, hw, tp, pp, batch, goal.context_len, goal.output_len, goal.dtype)
                except InfeasibleError:
                    break
                if fastest is None or r.decode_step_s < fastest.decode_step_s:
                    fastest = r
                if r.decode_step_s <= goal.latency_per_token_s:
                    if best is None or r.decode_tokens_per_s_per_gpu > best.decode_tokens_per_s_per_gpu:
                        best = r
                else:
                    break
                batch *= 2
    if best is None:
        if fastest is None:
            raise InfeasibleError(
                f"{model.name} with {goal.context_len + goal.output_len:,}-token requests fits no "
                f"tp·pp replica of up to {max(tps) * 16} {hw.gpu.name} GPUs: shorten the context, "
                "use fp8 weights or GPUs with more memory"
            )
        raise InfeasibleError(
            f"no replica of {model.name} on {hw.gpu.name} decodes a token within "
            f"{goal.latency_per_token_s * 1e3:.1f} ms; "
            f"the fastest takes {fastest.decode_step_s * 1e3:.1f} ms "
            f"(tp={fastest.tp}, pp={fastest.pp}, batch {fastest.batch}): relax latency_per_token_s "
            f"to ≥ {fastest.decode_step_s * 1e3:.1f} ms"
        )
    return best


def plan_serving(site: Site, goal: ServingGoal) -> Plan:
    """Size a site of whole pods that serves ``goal.tokens_per_s`` under the latency bound."""
    pod = pick_pod(site, goal.gpu)
    model = resolve_model(goal.model)
    hw = Hardware.from_pod(pod)
    r = best_replica(model, hw, goal)
    replicas = math.ceil(goal.tokens_per_s / r.decode_tokens_per_s)
    gpus = replicas * r.gpus
    pods = math.ceil(gpus / pod.gpus)
    if pods > MAX_PODS:
        raise InfeasibleError(
            f"{goal.tokens_per_s:,.0f} tokens/s needs {pods:,} pods, above {MAX_PODS:,}: "
            "lower the rate or relax the latency bound"
        )
    total = pods * pod.gpus
    gpu = hw.gpu
    mean_gpu_w = (gpus * r.gpu_power_w + (total - gpus) * gpu.idle_w) / total
    prices = price_table(goal.prices, goal.price_overrides)
    facility = size_facility(site, pod, pods, mean_gpu_w, prices, goal.years)
    from megapod.physics.cost import cost_per_million_tokens_usd

    outcome = ServingOutcome(
        model=model.name,
        tokens_per_s_target=goal.tokens_per_s,
        tokens_per_s_capacity=replicas * r.decode_tokens_per_s,
        latency_per_token_s=r.decode_step_s,
        latency_bound_s=goal.latency_per_token_s,
        context_len=goal.context_len,
        output_len=goal.output_len,
        replica={
            "tp": r.tp,
            "pp": r.pp,
            "batch": r.batch,
            "gpus": r.gpus,
            "tokens_per_s": r.decode_tokens_per_s,
            "request_latency_s": r.request_latency_s,
            "memory_per_gpu_bytes": r.memory_per_gpu_bytes,
            "gpu_power_w": r.gpu_power_w,
        },
        replicas=replicas,
        gpus_used=gpus,
        cost_per_million_tokens_usd=cost_per_million_tokens_usd(
            facility.annualized_cost_usd, goal.tokens_per_s
        ),
    )
    return Plan("serving", site.name, facility, serving=outcome)


# --- the reverse question ----------------------------------------------------------------


@dataclass(frozen=True)
class Capability:
    """What one model preset does on the site as specified."""

    model: str
    params: float
    tokens: float
    train_days: float | None
    train_gpu_hours: float | None
    serve_tokens_per_s: float | None
    note: str = ""


def site_capability(
    site: Site,
    models: list[str] | None = None,
    latency_per_token_s: float = 0.05,
    gpu: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Capability]:
    """For each model preset: compute-optimal training time and serving rate on the site's pods.

    ``progress(done, total)`` is called after each model, if given."""
    pod = pick_pod(site, gpu)
    hw = Hardware.from_pod(pod)
    rel = reliability_entry("llama3-h100")
    rate = interruption_rate_per_gpu_s(rel)
    out: list[Capability] = []
    names = models or preset_names()
    for name in names:
        try:
            model = model_preset(name)
        except Exception as exc:
            raise SpecError("models", str(exc)) from None
        tokens = CHINCHILLA_TOKENS_PER_PARAM * model.params
        train = TrainingGoal(model=name, tokens=tokens)
        note = ""
        days = hours = None
        try:
            run, allowance = _train_on(
                model, job_hardware(site, pod), train, job_gpus(site, pod, pod.count), rate, rel.name
            )
            wall = run.wall_s / (1.0 - allowance.waste_fraction)
            days, hours = wall / DAY_S, wall * run.gpus / HOUR_S
        except InfeasibleError as exc:
            note = f"training: {exc}"
        tps = None
        try:
            r = best_replica(
                model, hw, ServingGoal(model=name, tokens_per_s=1.0, latency_per_token_s=latency_per_token_s)
            )
            tps = (pod.count * pod.gpus // r.gpus) * r.decode_tokens_per_s
        except InfeasibleError as exc:
            note = (note + "; " if note else "") + f"serving: {exc}"
        out.append(Capability(name, float(model.params), tokens, days, hours, tps, note))
        if progress is not None:
            progress(len(out), len(names))
    return out
