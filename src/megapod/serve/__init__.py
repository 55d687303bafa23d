"""``megapod serve``: the live control plane of a site (FastAPI, SQLAlchemy, Ray).

Build an app with :func:`create_app` from :class:`Settings`; ``megapod serve SITE.yaml`` runs
it under uvicorn. See docs/serve.md.
"""

from megapod.serve.app import create_app
from megapod.serve.settings import Settings

__all__ = ["Settings", "create_app"]
