"""``megapod agent --server URL --token T``: run this machine as a car of the compute fleet.

The agent's stack (numpy kernels, httpx) is imported inside the command, so that
``megapod --help`` stays quick.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from megapod.cli.flags import finite
from megapod.errors import SpecError


def register(app: typer.Typer) -> None:
    """Add ``agent`` to ``app``."""
    app.command("agent")(agent)


def agent(
    server: Annotated[str, typer.Option("--server", help="control plane URL, e.g. http://127.0.0.1:8000")],
    token: Annotated[
        str | None,
        typer.Option("--token", help="the vehicle's token (or MEGAPOD_AGENT_TOKEN)", show_default=False),
    ] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="folder for checkpoints")] = None,
    max_units: Annotated[int, typer.Option("--max-units", min=1, max=1000, help="leases per ask")] = 2,
    report_batch: Annotated[
        int, typer.Option("--report-batch", min=1, max=5000, help="results per upload (1: one request each)")
    ] = 1,
    poll_s: Annotated[
        float,
        typer.Option("--poll", callback=finite, min=0.01, max=3600, help="wait when there is no work [s]"),
    ] = 2.0,
    idle_exit_s: Annotated[
        float | None,
        typer.Option(
            "--idle-exit", callback=finite, min=0, max=1e7, help="stop after this long without work [s]"
        ),
    ] = None,
    max_units_total: Annotated[
        int | None, typer.Option("--max-units-total", min=1, max=10**9, help="stop after this many units")
    ] = None,
    module: Annotated[
        str, typer.Option("--module", help="catalog car of the simulated battery")
    ] = "tesla-ai4",
    home: Annotated[str, typer.Option("--home", help="catalog home region (charger)")] = "us-average",
    soc: Annotated[
        float, typer.Option("--soc", callback=finite, min=0, max=1, help="simulated starting state of charge")
    ] = 0.8,
    unplugged: Annotated[
        bool, typer.Option("--unplugged", help="the simulated car is off its charger")
    ] = False,
    battery_speed: Annotated[
        float,
        typer.Option(
            "--battery-speed",
            callback=finite,
            min=1e-6,
            max=1e6,
            help="simulated battery seconds per wall second",
        ),
    ] = 1.0,
    simulated: Annotated[
        bool, typer.Option("--simulated-battery", help="simulate the battery even if this machine has one")
    ] = False,
    hour: Annotated[int | None, typer.Option("--hour", min=0, max=23, help="fix the local hour")] = None,
    checkpoint_steps: Annotated[
        int, typer.Option("--checkpoint-steps", min=1, max=10**6, help="kernel steps between checkpoints")
    ] = 16,
) -> None:
    """Lease work units from the fleet coordinator, run them, checkpoint, upload results."""
    import logging
    import signal

    from megapod.agent import Agent, AgentOptions, SimulatedBattery, SystemBattery
    from megapod.agent.battery import PowerSource

    token = token or os.environ.get("MEGAPOD_AGENT_TOKEN")
    if not token:
        raise SpecError("--token", "give the vehicle's token (--token or MEGAPOD_AGENT_TOKEN)")
    if not server.startswith(("http://", "https://")):
        raise SpecError("--server", f"{server!r}: expected a URL starting with http:// or https://")
    logging.basicConfig(level=logging.INFO, format="megapod agent: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    power: PowerSource
    if not simulated and SystemBattery.present():
        power = SystemBattery()
    else:
        power = SimulatedBattery(module, home, soc=soc, plugged_in=not unplugged, speed=battery_speed)
    options = AgentOptions(
        server=server,
        token=token,
        state_dir=state_dir,
        max_units=max_units,
        report_batch=report_batch,
        poll_s=poll_s,
        idle_exit_s=idle_exit_s,
        max_units_total=max_units_total,
        checkpoint_steps=checkpoint_steps,
        hour=hour,
    )
    runner = Agent(options, power)

    def _stop(signum: int, _frame: object) -> None:  # SIGTERM: stop like Ctrl-C (checkpoints stay)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        stats = runner.run()
    finally:
        runner.close()
    typer.echo(
        json.dumps(
            {
                "units_run": stats.units_run,
                "results_sent": stats.results_sent,
                "statuses": stats.statuses,
                "resumed": stats.resumed,
                "given_up": stats.given_up,
                "data_bytes": stats.data_bytes,
            }
        )
    )
