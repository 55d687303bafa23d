"""Power-profile report: a JSON-ready summary, an HTML page of charts and a PNG figure.

Formatting and plotting only: every number comes from a
:class:`megapod.sim.power_profile.PowerProfileResult`. The HTML page uses the shared web
charts; the PNG (``--png``) is drawn with matplotlib, imported only when it is asked for.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from megapod.physics.power_dynamics import spectrum
from megapod.report import format as fmt
from megapod.sim.power_profile import PowerProfileResult
from megapod.units import KILO, MEGA
from megapod.web import Axis, Chart, Page, Series

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FloatArray = npt.NDArray[np.float64]

#: Points per plotted series (the window is binned to min/mean/max envelopes).
_PLOT_POINTS = 3000


def _envelope(x: FloatArray, points: int) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """Min, mean and max of ``x`` in ``points`` bins, and the bin length in samples."""
    k = max(1, x.size // points)
    n = x.size // k * k
    b = x[:n].reshape(-1, k)
    return b.min(axis=1), b.mean(axis=1), b.max(axis=1), k


def figure(result: PowerProfileResult) -> Figure:
    """Six panels: grid draw before/after, a zoom on the first seconds, the spectrum, SoC,
    one GPU's power against its NVML reading, and a zoom on the first failure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dt = result.resolution_s
    fig, axes = plt.subplots(3, 2, figsize=(13, 11.5))
    ax_w, ax_z, ax_s, ax_soc, ax_gpu, ax_f = axes.ravel()
    t_fail = result.failures_s[0] if result.failures_s else None
    runs = (result.baseline, *result.mitigations)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, run in enumerate(runs):
        lo, mean, hi, k = _envelope(run.grid_w, _PLOT_POINTS)
        t = (np.arange(mean.size) * k + k / 2) * dt
        c = colors[i % len(colors)]
        ax_w.fill_between(t, lo / MEGA, hi / MEGA, color=c, alpha=0.25 if i == 0 else 0.15, lw=0)
        ax_w.plot(t, mean / MEGA, color=c, lw=0.8, label=run.name)
        n_zoom = min(run.grid_w.size, round(20.0 / dt))
        tz = np.arange(n_zoom) * dt
        ax_z.plot(tz, run.grid_w[:n_zoom] / MEGA, color=c, lw=0.8, label=run.name)
        if t_fail is not None:
            a = max(0, round((t_fail - 10.0) / dt))
            b = min(run.grid_w.size, round((t_fail + 140.0) / dt))
            _, fm, _, fk = _envelope(run.grid_w[a:b], _PLOT_POINTS)
            ax_f.plot(
                a * dt + (np.arange(fm.size) * fk + fk / 2) * dt, fm / MEGA, color=c, lw=0.8, label=run.name
            )
        sp = spectrum(run.grid_w, dt)
        sel = (sp.frequency_hz > 0.02) & (sp.frequency_hz <= 50)
        ax_s.loglog(
            sp.frequency_hz[sel], np.maximum(sp.amplitude_w[sel], 1.0) / MEGA, color=c, lw=0.7, label=run.name
        )
        if run.battery is not None:
            soc = run.battery.soc_frac[1:]
            _, smean, _, sk = _envelope(soc, _PLOT_POINTS)
            ts = (np.arange(smean.size) * sk + sk / 2) * dt
            ax_soc.plot(ts, smean * 100, color=c, label=run.name)
    ax_w.set(title="Grid draw (band: min-max per bin)", xlabel="time [s]", ylabel="power [MW]")
    ax_z.set(title="First 20 s", xlabel="time [s]", ylabel="power [MW]")
    ax_s.axvspan(0.1, 20.0, color="0.9", zorder=0)
    ax_s.set(title="Amplitude spectrum (shaded: 0.1-20 Hz)", xlabel="frequency [Hz]", ylabel="amplitude [MW]")
    ax_soc.set(title="Battery state of charge", xlabel="time [s]", ylabel="SoC [%]")
    if not any(r.battery is not None for r in runs):
        ax_soc.text(0.5, 0.5, "no battery mitigation", ha="center", va="center", transform=ax_soc.transAxes)
    tg = np.arange(result.gpu_true_w.size) * dt
    ax_gpu.plot(tg, result.gpu_true_w, lw=0.8, label="model (true board power)")
    ax_gpu.plot(tg, result.gpu_nvml_w, lw=1.2, label="NVML reading (window model)")
    ax_gpu.set(title="One GPU: board power vs. what NVML reports", xlabel="time [s]", ylabel="power [W]")
    ax_f.set(title="Around the first failure (bin means)", xlabel="time [s]", ylabel="power [MW]")
    if t_fail is None:
        ax_f.text(0.5, 0.5, "no failure in the window", ha="center", va="center", transform=ax_f.transAxes)
    for ax in (ax_w, ax_z, ax_s, ax_soc, ax_gpu, ax_f):
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(
        f"{result.name}: {result.baseline.job.gpus:,} GPUs, step {result.baseline.job.step_time_s:.2f} s"
    )
    fig.tight_layout()
    return fig


def png_bytes(result: PowerProfileResult) -> bytes:
    """The figure as PNG."""
    import matplotlib.pyplot as plt

    fig = figure(result)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def table_rows(result: PowerProfileResult) -> list[list[str]]:
    """Rows of the comparison table, formatted for people."""
    rows = []
    for run in (result.baseline, *result.mitigations):
        m, c = run.metrics, run.cost
        rows.append(
            [
                run.name,
                fmt.power(m.mean_w),
                fmt.power(m.peak_w),
                fmt.fixed(m.max_ramp_w_per_s / MEGA, ",.3f"),
                fmt.power(m.swing_w),
                fmt.power(m.band.rms_w),
                fmt.fixed(m.band.peak_hz, ".2f"),
                "-" if c is None else f"{c.energy_overhead_fraction:+.1%}",
                "-" if c is None else f"{c.throughput_loss_fraction:.1%}",
                "-"
                if c is None or c.battery_energy_wh == 0
                else f"{c.battery_units}× {fmt.energy(c.battery_energy_wh)}",
                "-" if c is None or c.battery_energy_wh == 0 else fmt.fixed(c.battery_cycles_per_day, ".2f"),
                "-" if run.meets_limits is None else ("yes" if run.meets_limits else "NO"),
            ]
        )
    return rows


#: Column titles of :func:`table_rows`.
COLUMNS = (
    "run",
    "mean",
    "peak",
    "ramp MW/s",
    "swing",
    "0.1-20Hz rms",
    "f_pk Hz",
    "E/step",
    "thru loss",
    "battery",
    "EFC/day",
    "ok",
)


def sizing_line(result: PowerProfileResult) -> str:
    """One sentence with the battery sizing answer, or an empty string."""
    s = result.sizing
    if s is None:
        return ""
    if not s.feasible:
        return f"No bank of up to {s.units:,} × {s.unit} meets the limits."
    return (
        f"Smallest battery meeting the limits: {s.units:,} × {s.unit} = {fmt.power(s.power_w)} / "
        f"{fmt.energy(s.energy_wh)} (ramp {s.max_ramp_w_per_s / MEGA:,.3f} MW/s, "
        f"swing {fmt.power(s.swing_w)}, "
        f"{s.cycles_per_day:.2f} cycles/day)."
    )


def _log_envelope(f_hz: FloatArray, a: FloatArray, points: int) -> tuple[FloatArray, FloatArray]:
    """The largest amplitude in each of ``points`` log-spaced frequency bins (empty bins left out)."""
    if f_hz.size <= points:
        return f_hz, a
    edges = np.geomspace(f_hz[0], f_hz[-1] * (1 + 1e-12), points + 1)
    idx = np.searchsorted(edges, f_hz, side="right") - 1
    peak = np.full(points, -np.inf)
    np.maximum.at(peak, idx, a)
    centre = np.sqrt(edges[:-1] * edges[1:])
    keep = np.isfinite(peak)
    return centre[keep], peak[keep]


def charts(result: PowerProfileResult) -> list[Chart]:
    """The report's charts: grid draw before and after (min-max band per bin), the first 20 s,
    the amplitude spectrum, battery state of charge, one GPU against its NVML reading, and the
    window around the first failure."""
    dt = result.resolution_s
    t_fail = result.failures_s[0] if result.failures_s else None
    runs = (result.baseline, *result.mitigations)
    time_axis = Axis("time", "s", decimals=3)
    mw = Axis("power", "MW", decimals=3)
    draw, zoom, spec, soc, around = [], [], [], [], []
    for run in runs:
        lo, mean, hi, k = _envelope(run.grid_w, _PLOT_POINTS)
        t = (np.arange(mean.size) * k + k / 2) * dt
        draw.append(Series(run.name, t, mean / MEGA, band=(lo / MEGA, hi / MEGA)))
        n_zoom = min(run.grid_w.size, round(20.0 / dt))
        zoom_step = max(1, n_zoom // _PLOT_POINTS)
        tz = np.arange(0, n_zoom, zoom_step) * dt
        zoom.append(Series(run.name, tz, run.grid_w[:n_zoom:zoom_step] / MEGA))
        if t_fail is not None:
            a = max(0, round((t_fail - 10.0) / dt))
            b = min(run.grid_w.size, round((t_fail + 140.0) / dt))
            _, fm, _, fk = _envelope(run.grid_w[a:b], _PLOT_POINTS)
            around.append(Series(run.name, a * dt + (np.arange(fm.size) * fk + fk / 2) * dt, fm / MEGA))
        sp = spectrum(run.grid_w, dt)
        sel = (sp.frequency_hz > 0.02) & (sp.frequency_hz <= 50)
        f_hz, amp = _log_envelope(sp.frequency_hz[sel], np.maximum(sp.amplitude_w[sel], 1.0), _PLOT_POINTS)
        spec.append(Series(run.name, f_hz, amp / KILO))
        if run.battery is not None:
            s = run.battery.soc_frac[1:]
            _, smean, _, sk = _envelope(s, _PLOT_POINTS)
            soc.append(Series(run.name, (np.arange(smean.size) * sk + sk / 2) * dt, smean * 100))
    out = [
        Chart("Grid draw", time_axis, mw, tuple(draw), caption="line: bin mean; band: min to max per bin"),
        Chart("First 20 s", time_axis, mw, tuple(zoom)),
        Chart(
            "Amplitude spectrum",
            Axis("frequency", "Hz", log=True, decimals=3),
            Axis("amplitude", "kW", log=True, decimals=3),
            tuple(spec),
            spans=((0.1, 20.0, "0.1-20 Hz band"),),
            caption="largest amplitude per log-spaced frequency bin",
        ),
    ]
    if soc:
        out.append(Chart("Battery state of charge", time_axis, Axis("SoC", "%", decimals=2), tuple(soc)))
    tg = np.arange(result.gpu_true_w.size) * dt
    step = max(1, tg.size // _PLOT_POINTS)
    out.append(
        Chart(
            "One GPU: board power vs. what NVML reports",
            time_axis,
            Axis("power", "W", decimals=1),
            (
                Series("model (true board power)", tg[::step], result.gpu_true_w[::step]),
                Series("NVML reading (window model)", tg[::step], result.gpu_nvml_w[::step]),
            ),
        )
    )
    if around:
        out.append(Chart("Around the first failure (bin means)", time_axis, mw, tuple(around)))
    return out


def render_html(result: PowerProfileResult) -> str:
    """A self-contained HTML page: the comparison table, the sizing answer and the charts."""
    job = result.baseline.job
    page = Page(
        f"{result.name}: grid-facing power profile",
        subtitle=f"{job.gpus:,} GPUs in {job.groups:,} groups, step {job.step_time_s:.2f} s, "
        f"{result.baseline.grid_w.size:,} samples at {result.resolution_s * 1e3:g} ms",
    )
    runs = page.section("Runs")
    runs.table(COLUMNS, table_rows(result))
    line = sizing_line(result)
    if line:
        runs.text(line)
    if not any(r.battery is not None for r in (result.baseline, *result.mitigations)):
        runs.note("No battery mitigation in this scenario, so no state-of-charge chart.")
    if not result.failures_s:
        runs.note("No failure in the window.")
    section = page.section("Power over the window")
    for chart in charts(result):
        section.chart(chart)
    return page.render()
