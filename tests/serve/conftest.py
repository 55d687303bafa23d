"""Fixtures of the control-plane tests: both databases, apps on them, tokens of each role.

PostgreSQL is a private server started from the installed binaries by pytest-postgresql; when
none is installed the PostgreSQL cases skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import stat
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import EXAMPLES

ADMIN = "test-admin-token-0123456789"
SITE = EXAMPLES / "megapod.yaml"


def _pg_ctl() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return found[-1] if found else shutil.which("pg_ctl")


def _as_postgres_user(pg_ctl: str, folder: Path) -> str:
    """initdb refuses to run as root: a wrapper that runs each pg_ctl call as the ``postgres``
    user, with the data folder and log file moved from pytest's temp folder (which any other
    pytest run may make private again) into ``folder``, which that user owns."""
    folder.mkdir(mode=0o755, exist_ok=True)
    shutil.chown(folder, user="postgres")
    script = folder.parent / f"{folder.name}-pg_ctl"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, subprocess, sys\n"
        f"root, real = {str(folder)!r}, {pg_ctl!r}\n"
        "args, out, links = sys.argv[1:], [], []\n"
        "for i, a in enumerate(args):\n"
        "    prev = args[i - 1] if i else ''\n"
        "    key, eq, value = a.partition('=') if a.startswith(('--pgdata=', '--log=')) else ('', '', a)\n"
        "    if eq or prev in ('-D', '-l', '--pgdata', '--log'):\n"
        "        moved = os.path.join(root, os.path.basename(value))\n"
        "        links.append((value, moved))\n"
        "        a = key + eq + moved\n"
        "    out.append(a)\n"
        "for asked, moved in links:  # the plugin checks its own paths: point them at ours\n"
        "    if not os.path.lexists(asked):\n"
        "        os.symlink(moved, asked)\n"
        "code = subprocess.call(['runuser', '-u', 'postgres', '--', real, *out])\n"
        "if args[:1] == ['stop']:\n"
        "    for asked, _ in links:\n"
        "        if os.path.islink(asked):\n"
        "            os.unlink(asked)\n"
        "sys.exit(code)\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    atexit.register(script.unlink, missing_ok=True)
    return str(script)


PG_CTL = _pg_ctl()
if PG_CTL is not None:
    from pytest_postgresql import factories

    if os.geteuid() == 0 and shutil.which("runuser"):
        PG_CTL = _as_postgres_user(PG_CTL, Path(tempfile.gettempdir()) / f"megapod-test-pg-{os.getpid()}")
    pg_server = factories.postgresql_proc(
        executable=PG_CTL,
        port=None,
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    )
else:

    @pytest.fixture(scope="session")
    def pg_server() -> Any:
        """No PostgreSQL here: skip (fail under CI)."""
        reason = "PostgreSQL server binaries (pg_ctl) are not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}, and CI=true requires the PostgreSQL tests to run")
        pytest.skip(reason)


def _new_pg_database(proc: Any) -> str:
    import psycopg

    name = f"mp_{uuid.uuid4().hex[:10]}"
    auth = proc.user + (f":{proc.password}" if proc.password else "")
    with psycopg.connect(
        host=proc.host,
        port=proc.port,
        user=proc.user,
        password=proc.password or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{auth}@{proc.host}:{proc.port}/{name}"


@pytest.fixture(autouse=True)
def _scratch_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every service test in its own folder: what a server writes beside it (checkpoint
    folders, sweep results) never lands in the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'serve.db'}"
    return _new_pg_database(request.getfixturevalue("pg_server"))


@pytest.fixture
def database(db_url: str) -> Iterator[Any]:
    """The control plane's database on ``db_url``, migrated; disposed of afterwards."""
    from megapod.serve.store.db import Database

    db = Database(db_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file (for tests that need one database only)."""
    return f"sqlite:///{tmp_path / 'serve.db'}"


def settings_for(db_url: str, **kw: Any) -> Any:
    """Settings of a fast twin on ``db_url``."""
    from megapod.serve import Settings

    base: dict[str, Any] = {
        "site": SITE,
        "db_url": db_url,
        "speed": 200.0,
        "tick_s": 0.1,
        "telemetry_every_s": 0.2,
        "stream_interval_s": 0.1,
        "initial_admin_token": ADMIN,
    }
    base.update(kw)
    return Settings(**base)


class Api:
    """A started app with a token for each role."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.admin = {"Authorization": f"Bearer {ADMIN}"}
        self.operator = {"Authorization": f"Bearer {self.token('operator')}"}
        self.viewer = {"Authorization": f"Bearer {self.token('viewer')}"}

    def token(self, role: str) -> str:
        r = self.client.post("/api/v1/tokens", json={"name": f"t-{role}", "role": role}, headers=self.admin)
        assert r.status_code == 201, r.text
        token: str = r.json()["token"]
        return token

    @property
    def plane(self) -> Any:
        return self.client.app.state.plane


@pytest.fixture
def start_api() -> Iterator[Callable[..., Api]]:
    """Start apps (each stopped at the end of the test)."""
    from fastapi.testclient import TestClient

    from megapod.serve import create_app

    stack: list[Any] = []

    def start(db_url: str, backend_obj: Any = None, **kw: Any) -> Api:
        client = TestClient(create_app(settings_for(db_url, **kw), backend=backend_obj))
        client.__enter__()
        stack.append(client)
        return Api(client)

    yield start
    for client in reversed(stack):
        client.__exit__(None, None, None)


@pytest.fixture
def api(start_api: Callable[..., Api], db_url: str) -> Api:
    """A twin-backed app on each database."""
    return start_api(db_url)


@pytest.fixture(scope="session")
def _ray_session() -> Iterator[Any]:
    """A local Ray of two CPUs of the service tests' own, for the session: one that another
    test started (a sweep's, say) is replaced, so no task or placement group of theirs holds
    the CPUs these tests reserve."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False
    )
    yield ray
    ray.shutdown()


@pytest.fixture
def local_ray(_ray_session: Any) -> None:
    """The session's Ray with both CPUs free: a test starts only once what an earlier test
    ran there has let go (bounded; the failure lists what still holds them)."""
    ray = _ray_session
    deadline = time.monotonic() + 60.0
    while ray.available_resources().get("CPU", 0.0) < ray.cluster_resources().get("CPU", 0.0):
        if time.monotonic() > deadline:
            from ray.util import placement_group_table

            held = {k: v["state"] for k, v in placement_group_table().items() if v["state"] != "REMOVED"}
            pytest.fail(f"Ray's CPUs are still held after 60 s: placement groups {held}")
        time.sleep(0.2)
