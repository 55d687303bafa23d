"""``megapod predict``: training-step validation, layout search, serving, time to train."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from megapod.cli.console import make_console
from megapod.cli.flags import finite
from megapod.report.format import number, pipeline_stages
from megapod.units import GIB

if TYPE_CHECKING:
    from megapod.physics.perf import Hardware
    from megapod.planner.layout import ValidationReport

# The library is imported inside each command, so that ``megapod --help`` stays cheap.

JsonFlag = Annotated[bool, typer.Option("--json", help="print one JSON document for machines")]
ModelOpt = Annotated[str, typer.Option("--model", help="model preset, e.g. llama3-70b")]
GpuOpt = Annotated[str, typer.Option("--gpu", help="catalog GPU, e.g. h100-sxm")]
DomainOpt = Annotated[
    int | None, typer.Option("--domain", min=1, max=1_000_000, help="scale-up domain [GPUs]")
]
ScaleOutOpt = Annotated[
    float | None,
    typer.Option(
        "--scale-out-gbps", min=0.001, max=1e6, callback=finite, help="scale-out rate per GPU [Gb/s]"
    ),
]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="bf16, fp16 or fp8")]

predict_app = typer.Typer(help="Predict training and serving performance.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the ``predict`` command group to ``app``."""
    app.add_typer(predict_app, name="predict")


@predict_app.command("train")
def train(
    case_file: Annotated[Path, typer.Argument(help="validation cases (validation/SCHEMA.md)")],
    as_json: JsonFlag = False,
) -> None:
    """Predict each published training run of CASE_FILE and compare with what was measured.

    Every case is answered; a case that cannot be (a layout that does not divide, does not
    fit memory …) gets an ``error``, and the command then exits with code 2.
    """
    from megapod.planner.layout import validate_cases
    from megapod.spec.training_case import read_cases

    report = validate_cases(read_cases(case_file))
    if as_json:
        typer.echo(json.dumps([p.as_dict() for p in report.predictions]))
    else:
        _print_validation(case_file, report)
    failed = [p for p in report.predictions if p.error is not None]
    for p in failed:
        typer.echo(f"error: case {p.id}: {p.error}", err=True)
    if failed:
        raise typer.Exit(2)


def _print_validation(case_file: Path, report: ValidationReport) -> None:
    table = Table(title=f"Training-step predictions: {case_file}")
    for col in ("case", "layout", "TFLOP/s pred", "meas", "err %", "step s pred", "meas", "MFU", "mem GiB"):
        table.add_column(
            col, justify="left" if col in ("case", "layout") else "right", no_wrap=col in ("case", "layout")
        )
    for p in report.predictions:
        if p.result is None:
            table.add_row(p.id, f"[red]error: {p.error}[/red]", *[""] * 7)
            continue
        r = p.result
        err = p.errors_pct().get("tflops_per_gpu")
        table.add_row(
            p.id,
            r.layout.describe(),
            f"{r.tflops_per_gpu:.1f}",
            _num(p.measured.get("tflops_per_gpu"), ".1f"),
            _num(err, "+.1f"),
            f"{r.step_time_s:.2f}",
            _num(p.measured.get("step_time_s"), ".2f"),
            f"{r.mfu:.3f}",
            f"{r.memory_per_gpu_gib:.1f}",
        )
    console = make_console()
    console.print(table)
    for p in report.predictions:  # what the model chose or assumed beyond the layout
        keys = ("global_batch", "dtype", "memory_check")
        said = [f"{key}: {p.assumptions[key]}" for key in keys if key in p.assumptions]
        if p.result is not None and p.assumptions.get("year") is None:
            said.append(f"year: {p.assumptions.get('year_from', 'not given')}")
        if said:
            console.print(f"{p.id}: " + "; ".join(said), highlight=False)
    for figure in ("tflops_per_gpu", "step_time_s", "mfu", "tokens_per_s_per_gpu"):
        mape = report.mape(figure)
        if mape is not None:
            console.print(f"MAPE {figure}: {mape:.1f}% over {report.counted(figure)} cases", highlight=False)


@predict_app.command("layouts")
def layouts(
    model: ModelOpt,
    gpu: GpuOpt,
    gpus: Annotated[int, typer.Option("--gpus", min=1, max=10_000_000, help="GPUs of the run")],
    global_batch: Annotated[
        int, typer.Option("--global-batch", min=1, max=100_000_000, help="sequences per step")
    ],
    dtype: DtypeOpt = "bf16",
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="layouts to show")] = 5,
    domain: DomainOpt = None,
    scale_out_gbps: ScaleOutOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Search the parallel layouts of a model on a GPU count and show the fastest."""
    from megapod.physics.perf import model_preset
    from megapod.planner.prediction import predict_training

    hw = _hardware(gpu, domain, scale_out_gbps)
    shape = model_preset(model)
    found = predict_training(shape, hw, gpus, global_batch, dtype, top)
    if as_json:
        doc = found.as_dict()
        del doc["run"]
        typer.echo(json.dumps(doc))
        return
    table = Table(
        title=f"{model} on {gpus} × {gpu}, batch {global_batch} ({found.valid:,} "
        f"valid of {found.evaluated:,} layouts)"
    )
    for col in ("layout", "step s", "MFU", "TFLOP/s", "tok/s/GPU", "bubble %", "comm %", "mem GiB"):
        table.add_column(col, justify="left" if col == "layout" else "right", no_wrap=col == "layout")
    for r in found.layouts:
        table.add_row(
            r.layout.describe() + pipeline_stages(shape.layers, r.layout.pp),
            f"{r.step_time_s:.2f}",
            f"{r.mfu:.3f}",
            f"{r.tflops_per_gpu:.0f}",
            f"{r.tokens_per_s_per_gpu:,.0f}",
            f"{100 * r.bubble_fraction:.1f}",
            f"{100 * r.exposed_comm_s / r.step_time_s:.1f}",
            f"{r.memory_per_gpu_gib:.1f}",
        )
    make_console().print(table)


@predict_app.command("serve")
def serve(
    model: ModelOpt,
    gpu: GpuOpt,
    tp: Annotated[int, typer.Option("--tp", min=1, max=1024)] = 1,
    pp: Annotated[int, typer.Option("--pp", min=1, max=1024)] = 1,
    batch: Annotated[int, typer.Option("--batch", min=1, max=1_000_000, help="concurrent sequences")] = 1,
    prompt: Annotated[int, typer.Option("--prompt", min=1, max=100_000_000, help="prompt tokens")] = 1024,
    output: Annotated[int, typer.Option("--output", min=1, max=100_000_000, help="generated tokens")] = 256,
    dtype: DtypeOpt = "bf16",
    domain: DomainOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Predict prefill and decode latency, throughput, KV cache and tokens per joule."""
    from megapod.physics.perf import model_preset
    from megapod.physics.perf.inference import serve as predict_serving

    hw = _hardware(gpu, domain, None)
    r = predict_serving(model_preset(model), hw, tp, pp, batch, prompt, output, dtype)
    doc = {
        "model": model,
        "gpu": gpu,
        "tp": tp,
        "pp": pp,
        "batch": batch,
        "prompt": prompt,
        "output": output,
        "dtype": dtype,
        "prefill_s": r.prefill_s,
        "decode_step_s": r.decode_step_s,
        "request_latency_s": r.request_latency_s,
        "prefill_tokens_per_s_per_gpu": r.prefill_tokens_per_s_per_gpu,
        "decode_tokens_per_s": r.decode_tokens_per_s,
        "decode_tokens_per_s_per_gpu": r.decode_tokens_per_s_per_gpu,
        "kv_cache_per_gpu_gib": r.kv_cache_per_gpu_bytes / GIB,
        "memory_per_gpu_gib": r.memory_per_gpu_bytes / GIB,
        "max_batch": r.max_batch,
        "gpu_power_w": r.gpu_power_w,
        "tokens_per_joule": r.tokens_per_joule,
    }
    if as_json:
        typer.echo(json.dumps(doc))
        return
    _print_pairs(f"Serving {model} on tp{tp}·pp{pp} {gpu}", doc)


@predict_app.command("time-to-train")
def time_to_train(
    model: ModelOpt,
    gpu: GpuOpt,
    gpus: Annotated[int, typer.Option("--gpus", min=1, max=10_000_000, help="GPUs of the run")],
    tokens: Annotated[str, typer.Option("--tokens", help="tokens to train, e.g. 15T, 2e12")],
    global_batch: Annotated[
        int, typer.Option("--global-batch", min=1, max=100_000_000, help="sequences per step")
    ],
    dtype: DtypeOpt = "bf16",
    domain: DomainOpt = None,
    scale_out_gbps: ScaleOutOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Wall time (before failures), GPU-hours and GPU energy with the fastest layout."""
    from megapod.physics.perf import model_preset
    from megapod.planner.prediction import parse_tokens, predict_training, run_dict

    hw = _hardware(gpu, domain, scale_out_gbps)
    count = parse_tokens(tokens, "--tokens")
    found = predict_training(model_preset(model), hw, gpus, global_batch, dtype, 1, count)
    assert found.run is not None
    doc = {"model": model, "gpu": gpu, "gpus": gpus, **run_dict(found.run)}
    if as_json:
        typer.echo(json.dumps(doc))
        return
    _print_pairs(f"Training {model} on {gpus} × {gpu}", doc)


def _hardware(gpu: str, domain: int | None, scale_out_gbps: float | None) -> Hardware:
    from megapod.physics.perf import Hardware

    return Hardware.from_gpu(gpu, domain, scale_out_gbps * 1e9 if scale_out_gbps else None)


def _num(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _print_pairs(title: str, doc: dict[str, Any]) -> None:
    table = Table(title=title, show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in doc.items():
        if isinstance(value, float):
            shown = number(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            shown = f"{value:,}"
        else:
            shown = str(value)
        table.add_row(key, shown)
    make_console().print(table)
