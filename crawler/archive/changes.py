"""A token that changes whenever anything is committed to the archive, by any connection
of any process: what a reader's cache of query results compares before reusing one.

SQLite: ``PRAGMA data_version`` on a connection of its own that never writes (the value
changes when *another* connection commits, this process's included). PostgreSQL: the
current snapshot (``xmin:xmax:in-progress xids``), which changes whenever a writing
transaction gets its id or ends, in any database of the cluster (conservative).

Read the token *before* the query whose result is kept: a commit between the two then
shows as a changed token at the next look, so a result is never reused past a commit it
may not have seen. Kept apart from the write path: nothing here writes.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from crawler.archive.base import Archive

logger = logging.getLogger(__name__)


class ChangeProbe:
    def __init__(self, archive: Archive) -> None:
        self.dialect = archive.dialect
        self._conn: Any = archive._connect()  # its own connection: it must never commit anything
        self._lock = threading.Lock()
        if self.dialect == "sqlite":
            # A busy database answers None at once instead of making the caller wait.
            self._conn.execute("PRAGMA busy_timeout = 0")
            self._sql = "PRAGMA data_version"
        else:
            self._sql = "SELECT pg_current_snapshot()::text"

    @property
    def cheap(self) -> bool:
        """Whether `token` is a local call (SQLite: microseconds, fine on an event loop)
        rather than a round trip to a server."""
        return self.dialect == "sqlite"

    def token(self) -> object | None:
        """The archive's change token now; None when it cannot be read (treat as changed)."""
        with self._lock:
            try:
                row = self._conn.execute(self._sql).fetchone()
            except Exception as exc:  # noqa: BLE001  # any failure: no reuse, never an error
                logger.debug("change token unreadable: %s", exc)
                return None
        if row is None:
            return None
        return next(iter(row.values())) if isinstance(row, dict) else row[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
