"""Backends of the control plane: the twin (a simulated site) and local (this machine)."""

from __future__ import annotations

from megapod.serve.backends.base import Backend, BackendConflict, BackendEvent, JobSpec, JobStatus

__all__ = ["Backend", "BackendConflict", "BackendEvent", "JobSpec", "JobStatus", "make_backend"]


def make_backend(settings: object, site: object) -> Backend:
    """The backend ``settings.backend`` names, for ``site`` (imports it only when chosen)."""
    from megapod.serve.settings import Settings
    from megapod.spec.site import Site

    assert isinstance(settings, Settings) and isinstance(site, Site)
    if settings.backend == "twin":
        from megapod.serve.backends.twin import TwinBackend

        return TwinBackend(site, settings)
    from megapod.serve.backends.local import LocalBackend

    return LocalBackend(settings)
