"""The app factory: ``create_app(settings)`` builds the FastAPI app of a control plane."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from megapod.serve.auth import TokenCache
from megapod.serve.backends import Backend
from megapod.serve.limits import BodyLimit
from megapod.serve.plane import ControlPlane
from megapod.serve.ratelimit import RateLimiter
from megapod.serve.settings import MAX_BODY_BYTES, Settings

API_VERSION = "v1"


def _version() -> str:
    from megapod import __version__

    return __version__


def create_app(settings: Settings, backend: Backend | None = None) -> FastAPI:
    """The app serving ``settings``' site. The database is migrated and the backend started
    when the app starts (its lifespan), and stopped when it stops; building it starts nothing.

    ``backend`` replaces the one ``settings.backend`` names (tests pass a prepared one).
    """
    from megapod.serve import metrics
    from megapod.serve.api import errors, fleet_routes, routes, stream, sweep_routes
    from megapod.serve.services.sweeps import SweepService

    plane = ControlPlane(settings, backend)
    sweeps = SweepService(plane)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        import anyio

        await anyio.to_thread.run_sync(plane.start)
        sweeps.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(sweeps.stop)
            await anyio.to_thread.run_sync(plane.stop)

    app = FastAPI(
        title="megapod control plane",
        version=_version(),
        description="Operate the site a megapod spec describes: jobs, power, events, telemetry.",
        lifespan=lifespan,
        responses=errors.RESPONSES,
    )
    app.state.plane = plane
    app.state.sweeps = sweeps
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings.rate_per_s, settings.rate_burst)
    app.state.token_cache = TokenCache()
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    errors.install(app)
    app.include_router(routes.router)
    app.include_router(stream.router)
    app.include_router(fleet_routes.router)
    app.include_router(sweep_routes.router)
    registry = metrics.registry_for(plane)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness: the server answers and its loop has started."""
        return {
            "status": "ok" if plane.started else "starting",
            "backend": plane.backend.name,
            "database": plane.db.backend,
            "schema": plane.revision,
            "version": _version(),
        }

    @app.get("/metrics", tags=["service"], response_class=Response)
    def prometheus() -> Response:
        """Prometheus text exposition."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    mount_dashboard(app)
    return app


def mount_dashboard(app: FastAPI) -> bool:
    """Serve the dashboard at ``/`` when ``megapod.web.dashboard`` is installed."""
    if (
        importlib.util.find_spec("megapod.web") is None
        or importlib.util.find_spec("megapod.web.dashboard") is None
    ):
        return False
    from megapod.web import dashboard

    dashboard.mount(app)
    return True
