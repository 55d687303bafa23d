"""The control plane's store: SQLAlchemy models and Alembic migrations applied at start."""

from megapod.serve.store.db import Database, migrate

__all__ = ["Database", "migrate"]
