"""The ``megapod`` command: parse, call the library, render.

Each command group lives in its own module with a ``register(app)`` function; this module
only assembles them and maps errors to exit codes: 0 ok, 2 bad input (one readable line on
stderr, no traceback), 1 internal error.

Importing this module stays cheap (``megapod --help`` answers at once): the command modules
import the heavy stack (scipy, pandas, matplotlib, numba) inside the commands that need it.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from megapod.errors import MegapodError

#: Modules that add commands to the app, each with ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: tuple[str, ...] = (
    "megapod.cli.spec_commands",
    "megapod.cli.predict",
    "megapod.cli.power_profile",
    "megapod.cli.plan",
    "megapod.cli.simulate",
    "megapod.cli.sweep",
    "megapod.cli.fleet",
    "megapod.cli.serve",
    "megapod.cli.agent",
)

app = typer.Typer(
    name="megapod",
    help="Design, simulate and operate modular AI data centers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version() -> str:
    """The installed package's version (the source tree's when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version("megapod")
    except metadata.PackageNotFoundError:
        from megapod import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"megapod {version()}")
        raise typer.Exit(0)


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Options that come before the command (``--version``)."""


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def run() -> None:
    """Entry point: run the app, turning errors into one line and an exit code."""
    try:
        code = app(standalone_mode=False)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:  # the reader (``| head``) stopped: no traceback, exit 1 as rich does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except MegapodError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except typer.TyperException as exc:  # usage errors: unknown option, missing argument
        typer.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2 if exc.exit_code == 2 else 1)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the one place that catches everything: report, exit 1
        if os.environ.get("MEGAPOD_DEBUG"):
            raise
        typer.echo(f"internal error ({type(exc).__name__}): {exc}", err=True)
        typer.echo("set MEGAPOD_DEBUG=1 for the traceback", err=True)
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)
