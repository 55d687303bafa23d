"""The schema is created by the migrations at start, and starting again changes nothing."""

from __future__ import annotations

from tests.serve.conftest import Api


def head_revision() -> str:
    """The newest revision of the migrations shipped in the package."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from megapod.serve.store.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_migrations_run_at_start(api: Api) -> None:
    plane = api.plane
    head = head_revision()
    assert head >= "0002"  # the fleet tables' revision is in the chain
    assert plane.revision == head
    tables = set(plane.db.tables())
    expected = {"jobs", "allocations", "events", "telemetry", "tokens", "audit_log", "job_logs", "settings"}
    expected |= {
        "fleet_owners",
        "fleet_vehicles",
        "fleet_batches",
        "fleet_units",
        "fleet_replicas",
        "fleet_postings",
    }
    assert expected <= tables
    assert "alembic_version" in tables
    assert plane.db.migrate() == head  # idempotent
    health = api.client.get("/healthz").json()
    assert health["status"] == "ok" and health["schema"] == head
    assert health["database"] in ("sqlite", "postgresql")


def test_tokens_are_stored_hashed(api: Api) -> None:
    from sqlalchemy import select

    from megapod.serve.store.models import Token

    token = api.token("viewer")
    with api.plane.db.session() as s:
        hashes = list(s.scalars(select(Token.token_hash)))
    assert token not in hashes and all(len(h) == 64 for h in hashes)
