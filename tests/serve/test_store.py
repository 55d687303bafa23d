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


def test_the_job_list_reads_a_page_of_its_index(api: Api) -> None:
    """The list's order (newest first, ties by id) is an index, so a page is read from it and
    nothing is sorted (migration 0005), on either database."""
    from sqlalchemy import inspect, text

    from megapod.serve.services.jobs import _job_queries

    db = api.plane.db
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(db.engine).get_indexes("jobs")}
    assert indexes["ix_jobs_created_at_id"] == ["created_at", "id"]
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jobs (id, idempotency_key, request_hash, name, state, gpus, priority,"
                " args, submitted_by, created_at, message, log_lines)"
                " VALUES (:id, :id, 'h', 'n', 'done', 1, 0, '[]', 'x', :at, '', 0)"
            ),
            [
                {"id": f"j-{i:05d}", "at": f"2026-01-01 00:{i // 60 % 60:02d}:{i % 60:02d}"}
                for i in range(3000)
            ],
        )
        conn.execute(text("ANALYZE jobs" if db.backend == "postgresql" else "ANALYZE"))
    _, page = _job_queries(())
    sql = str(page.params(offset=0, limit=20).compile(db.engine, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN " if db.backend == "postgresql" else "EXPLAIN QUERY PLAN "
    with db.engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(text(explain + sql.replace("\n", " ")), {}))
    assert "ix_jobs_created_at_id" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
