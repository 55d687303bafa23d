"""The schema is created by the migrations at start, and starting again changes nothing."""

from __future__ import annotations

from tests.serve.conftest import Api


def test_migrations_run_at_start(api: Api) -> None:
    plane = api.plane
    assert plane.revision == "0001"
    tables = set(plane.db.tables())
    expected = {"jobs", "allocations", "events", "telemetry", "tokens", "audit_log", "job_logs", "settings"}
    assert expected <= tables
    assert "alembic_version" in tables
    assert plane.db.migrate() == "0001"  # idempotent
    health = api.client.get("/healthz").json()
    assert health["status"] == "ok" and health["schema"] == "0001"
    assert health["database"] in ("sqlite", "postgresql")


def test_tokens_are_stored_hashed(api: Api) -> None:
    from sqlalchemy import select

    from megapod.serve.store.models import Token

    token = api.token("viewer")
    with api.plane.db.session() as s:
        hashes = list(s.scalars(select(Token.token_hash)))
    assert token not in hashes and all(len(h) == 64 for h in hashes)
