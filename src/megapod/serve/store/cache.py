"""Answers of reads of one table kept in memory until a transaction that wrote it commits.

The control plane is the only writer of its jobs (the twin's state lives in one process), so
it can keep the answers of job reads (one job, a page of the list) in memory, as the
Kubernetes API server answers reads from its watch cache, and drop them all when a
transaction that wrote the ``jobs`` table ends. :func:`watch_writes` finds those
transactions on the engine itself: every ``INSERT``, ``UPDATE`` or ``DELETE`` of the table
(ORM flushes, bulk and Core statements alike) marks its database connection, and the mark is
read when the connection goes back to the pool, after its commit. Nothing of the cache
outlives the process; it holds no state the database does not.

Why it is never stale: a read takes the cache's *generation* before it queries and keeps its
answer only if the generation has not moved when the query is done, and a writer moves the
generation and empties the cache after its commit, under the same lock. A read that began
before the commit either keeps its answer before the writer empties the cache, or finds the
generation moved and keeps nothing; a read that began after the commit queried the new rows.
A writer's own answer goes out after its connection is back in the pool, so whoever wrote a
job reads it back as written.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.sql.dml import UpdateBase

T = TypeVar("T")

#: Key of the mark on a connection's ``info`` (kept per database connection by the pool).
_MARK = "megapod_wrote"


class ReadCache:
    """Answers of reads by key, least recently used dropped past ``max_entries``, all dropped
    by :meth:`invalidate`. The answers are shared: callers must not change them."""

    def __init__(self, max_entries: int = 4096) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries: {max_entries} must be at least 1")
        self.max_entries = max_entries
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, load: Callable[[], T], keep: Callable[[T], bool] = lambda _: True) -> T:
        """The answer kept under ``key``, or ``load()``'s (kept when ``keep`` of it is true and
        no writer committed while it ran)."""
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                self.hits += 1
                return self._answers[key]  # type: ignore[no-any-return]
            generation = self.generation
            self.misses += 1
        answer = load()
        if keep(answer):
            with self._lock:
                if self.generation == generation:
                    self._answers[key] = answer
                    if len(self._answers) > self.max_entries:
                        self._answers.popitem(last=False)
        return answer

    def invalidate(self) -> None:
        """Drop every answer (a transaction that wrote the table has ended)."""
        with self._lock:
            self.generation += 1
            self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)


def watch_writes(engine: Engine, table: str, cache: ReadCache) -> None:
    """Empty ``cache`` after every transaction of ``engine`` that wrote ``table``: its
    ``INSERT``/``UPDATE``/``DELETE`` statements mark their connection, and a marked connection
    empties the cache when it is returned to the pool (after its commit or rollback)."""

    def mark(conn: Connection, statement: Any, *_: Any) -> None:
        if isinstance(statement, UpdateBase) and getattr(statement.table, "name", None) == table:
            conn.info[_MARK] = True

    def returned(_dbapi_conn: Any, record: Any) -> None:
        # a connection detached from its record cannot show its mark: empty the cache anyway
        if record is None or record.info.pop(_MARK, False):
            cache.invalidate()

    event.listen(engine, "after_execute", mark)
    event.listen(engine, "checkin", returned)  # on the engine: kept when its pool is made anew
