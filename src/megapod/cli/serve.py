"""``megapod serve SITE.yaml``: run the live control plane; ``megapod serve token create``.

The server's stack (FastAPI, SQLAlchemy, Ray, uvicorn) is imported inside the commands, so
that the rest of the CLI stays quick to start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from megapod.cli.flags import finite
from megapod.errors import SpecError


class _ServeGroup(TyperGroup):
    """``serve`` takes a site file *or* a subcommand (``token``) as its first word."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Hand ``token …`` to the subcommand; otherwise let options follow SITE."""
        if args and args[0] in self.commands:
            super().parse_args(ctx, [])  # the group's own options at their defaults
            ctx._protected_args, ctx.args = args[:1], args[1:]  # as the group itself does
            return list(ctx.args)
        ctx.allow_interspersed_args = True  # no subcommand comes after SITE
        return super().parse_args(ctx, args)


serve_app = typer.Typer(
    cls=_ServeGroup,
    invoke_without_command=True,
    add_completion=False,
    help="Run the live control plane of a site (REST API, dashboard, jobs on the twin or on Ray).",
)
token_app = typer.Typer(help="API tokens of a control plane's database.", no_args_is_help=True)
serve_app.add_typer(token_app, name="token")

DbOption = Annotated[
    str,
    typer.Option("--db", help="database URL: sqlite:///FILE or postgresql+psycopg://USER:PW@HOST/DB"),
]


def register(app: typer.Typer) -> None:
    """Add ``serve`` (and ``serve token``) to ``app``."""
    app.add_typer(serve_app, name="serve")


@serve_app.callback()
def serve(
    ctx: typer.Context,
    site: Annotated[Path | None, typer.Argument(help="site spec YAML", show_default=False)] = None,
    db: DbOption = "sqlite:///megapod-serve.db",
    backend: Annotated[
        str, typer.Option("--backend", help="twin (simulated site) or local (this machine)")
    ] = "twin",
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="scenario YAML for the twin instead of the default")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option("--ray-address", help="Ray cluster to join (default: start a local Ray)")
    ] = None,
    ray_cpus: Annotated[int, typer.Option("--ray-cpus", min=1, max=4096, help="CPUs of the local Ray")] = 2,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="port to listen on")] = 8000,
    speed: Annotated[
        float,
        typer.Option(
            "--speed", callback=finite, min=1e-6, max=1e7, help="simulated seconds per wall second (twin)"
        ),
    ] = 1.0,
    telemetry_every_s: Annotated[
        float,
        typer.Option(
            "--telemetry-every", callback=finite, min=0.1, max=3600, help="telemetry rollup cadence [s]"
        ),
    ] = 5.0,
    insecure_local: Annotated[
        bool,
        typer.Option(
            "--insecure-local", help="demo mode: auth off, every request acts as admin (loopback only)"
        ),
    ] = False,
    sweeps: Annotated[
        Path | None,
        typer.Option("--sweeps", help="folder of the sweep files clients may run (default: SITE's sweeps/)"),
    ] = None,
    sweep_out: Annotated[Path, typer.Option("--sweep-out", help="folder of the sweeps' results")] = Path(
        "megapod-sweeps"
    ),
    checkpoints: Annotated[
        Path, typer.Option("--checkpoints", help="folder of the jobs' checkpoint folders (local)")
    ] = Path("megapod-checkpoints"),
) -> None:
    """Run the control plane of SITE until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    if site is None:
        raise SpecError("serve", "give the site spec: megapod serve SITE.yaml")
    if backend not in ("twin", "local"):
        raise SpecError("--backend", f"{backend!r} is not a backend; use twin or local")
    if not site.is_file():
        raise SpecError(str(site), "site file not found")
    if sweeps is not None and not sweeps.is_dir():
        raise SpecError("--sweeps", f"{sweeps} is not a folder")
    import uvicorn

    from megapod.serve import Settings, create_app

    settings = Settings(
        site=site,
        db_url=db,
        backend=backend,  # type: ignore[arg-type]
        scenario=scenario,
        ray_address=ray_address,
        ray_num_cpus=ray_cpus,
        host=host,
        port=port,
        speed=speed,
        telemetry_every_s=telemetry_every_s,
        insecure_local=insecure_local,
        log_tokens=not insecure_local,
        sweep_dir=sweeps,
        sweep_out_dir=sweep_out,
        checkpoint_dir=checkpoints,
    )
    if insecure_local:
        typer.echo("warning: --insecure-local: auth is off, every request acts as admin 'local'", err=True)
    elif not settings.loopback:
        typer.echo(f"warning: listening on {host}, not loopback: use TLS in front of it", err=True)
    app = create_app(settings)
    typer.echo(f"megapod serve: {site} on http://{host}:{port} ({backend}, {db.split('://')[0]})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option("--role", help="viewer, operator or admin")],
    name: Annotated[str, typer.Option("--name", help="who holds the token")],
    db: DbOption = "sqlite:///megapod-serve.db",
) -> None:
    """Print a new token (it is stored hashed and shown only now)."""
    from megapod.serve import auth
    from megapod.serve.store import Database

    auth.check_role(role)
    database = Database(db)
    try:
        database.migrate()
        with database.session() as s:
            _, token = auth.create_token(s, name, role)
    finally:
        database.dispose()
    typer.echo(token)


@token_app.command("list")
def token_list(db: DbOption = "sqlite:///megapod-serve.db") -> None:
    """List the tokens' records (never the tokens)."""
    from sqlalchemy import select

    from megapod.serve.services.serialize import token_json
    from megapod.serve.store import Database
    from megapod.serve.store.models import Token

    database = Database(db)
    rows: list[dict[str, Any]]
    try:
        database.migrate()
        with database.session() as s:
            rows = [token_json(t) for t in s.scalars(select(Token).order_by(Token.id))]
    finally:
        database.dispose()
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        typer.echo(f"{r['id']:>4}  {r['role']:<8}  {r['name']}  ({state})")
