"""Engine, sessions and migrations of the control plane's database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from megapod.errors import SpecError
from megapod.serve.store.cache import ReadCache, watch_writes

#: A pooled PostgreSQL connection idle this long is pinged before it is used again [s].
PING_IDLE_S = 1.0

#: Connections an SQLite engine keeps open: anyio's worker threads (40) and the server's own.
SQLITE_POOL = 48

T = TypeVar("T")

#: Folder of the Alembic environment shipped inside the package.
MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use when it has been idle :data:`PING_IDLE_S` or more,
    and take a new one when the ping fails; a connection in steady use is not pinged (the
    pool's ``pre_ping`` costs a round trip for every transaction). A connection the database
    server drops while in steady use fails its next statement, and SQLAlchemy then renews
    every connection of the pool."""

    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("megapod_idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception:
            alive = False
        if not alive:
            raise DisconnectionError("the database server dropped an idle connection")

    def checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["megapod_idle_since"] = time.monotonic()

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)


def make_engine(url: str, reads_only: bool = False) -> Engine:
    """An engine for ``url`` (``sqlite:///FILE`` or ``postgresql+psycopg://…``).

    ``reads_only`` (PostgreSQL): an engine for statements that each stand alone, in autocommit
    (no BEGIN and ROLLBACK round trips; each statement sees what was committed when it ran, as
    under the default READ COMMITTED anyway) and without the pool's ping before each use (a
    ``SELECT 1`` round trip): :meth:`Database.read` retries a read once on a connection found
    dropped instead (SQLAlchemy's "optimistic" disconnect handling)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise SpecError(
            "db", f"{url!r} is not a database URL (sqlite:///FILE or postgresql+psycopg://…)"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        # a pool as large as the threads that may hold a connection at once (the request
        # threads, the control loop, the sweep runner): a connection opened past the pool is
        # closed on return and opened again next time, with its pragmas (~0.2 ms each time)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=SQLITE_POOL,
            max_overflow=SQLITE_POOL,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        if reads_only:
            return create_engine(parsed, isolation_level="AUTOCOMMIT", pool_size=5, max_overflow=10)
        engine = create_engine(parsed, pool_size=5, max_overflow=10)
        _ping_when_idle(engine)
        return engine
    raise SpecError(
        "db", f"{backend!r} databases are not supported; use sqlite:///FILE or postgresql+psycopg://…"
    )


def migrate(engine: Engine) -> str:
    """Apply every Alembic migration not yet applied; returns the schema's head revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return current_revision(engine)


def current_revision(engine: Engine) -> str:
    """The revision the database is at ('' before any migration)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() or ""


class Database:
    """An engine and its session factory; ``session()`` is a unit of work committed on exit."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.backend = self.engine.dialect.name
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        #: The engine of :meth:`read` (see ``make_engine(reads_only=True)``); SQLite's driver
        #: begins no transaction for a SELECT, and switching it to autocommit costs time.
        self.reader = self.engine if self.backend == "sqlite" else make_engine(url, reads_only=True)
        #: Answers of job reads, emptied after each transaction that wrote the jobs table (see
        #: :mod:`megapod.serve.store.cache`).
        self.job_reads = ReadCache()
        watch_writes(self.engine, "jobs", self.job_reads)

    def migrate(self) -> str:
        """Apply the migrations (see :func:`migrate`)."""
        return migrate(self.engine)

    def tables(self) -> list[str]:
        """Names of the tables the database holds."""
        return sorted(inspect(self.engine).get_table_names())

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed when the block ends, rolled back when it raises."""
        s = self._factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def read(self, query: Callable[[Connection], T]) -> T:
        """``query`` on a connection of the reader engine; run once more on a fresh connection
        when the first one had been dropped (a restarted database server)."""
        try:
            with self.reader.connect() as conn:
                return query(conn)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.reader.connect() as conn:
            return query(conn)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()
