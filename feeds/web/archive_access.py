"""The app's access to the archive: one `Archive` read on a fixed pool of threads.

`Archive` keeps one connection per thread. Run on uvicorn's default threadpool (whose
idle threads exit and new ones start), that would open a connection per thread ever
started and never close them; here archive work runs on this module's own executor,
whose threads live as long as the app, so the open connections are bounded by its size
whatever the traffic, on SQLite (file descriptors, WAL readers) and PostgreSQL (server
backends) alike, and each connection is only ever used by its own thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from fastapi import Request

from crawler.archive import Archive, open_archive
from crawler.archive.changes import ChangeProbe

logger = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_THREADS = 8
"""Archive threads (and connections) per app: searches are CPU-bound in SQLite, so more
threads than cores only queue inside the database."""


class ArchiveAccess:
    def __init__(self, url: str, threads: int = DEFAULT_THREADS) -> None:
        self.url = url
        self.archive: Archive = open_archive(url)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="akhbar-archive")
        self.changes = ChangeProbe(self.archive)
        # PostgreSQL's token is a round trip: on a thread of its own, so a kept answer's
        # check never waits behind searches queued on the archive threads.
        self._probe_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="akhbar-change-token")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(archive, *args, **kwargs)`` on an archive thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(fn, self.archive, *args, **kwargs))

    async def token(self) -> object | None:
        """The archive's change token (`crawler.archive.changes`); None: unknown."""
        if self.changes.cheap:
            return self.changes.token()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._probe_pool, self.changes.token)

    async def run_versioned(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[object | None, T]:
        """(the change token read just before, ``fn(archive, ...)``): a result may be
        reused while the token stays the same."""
        if self.changes.cheap:
            return self.changes.token(), await self.run(fn, *args, **kwargs)

        def both(archive: Archive) -> tuple[object | None, T]:
            return self.changes.token(), fn(archive, *args, **kwargs)

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(both, self.archive))

    def reap_dead_runs(self) -> None:
        """Runs left "running" by a crawl killed while the server was down are settled
        before anything shows them."""
        from crawler.ops.reaper import reap_dead_runs

        self._pool.submit(reap_dead_runs, self.archive).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._probe_pool.shutdown(wait=True, cancel_futures=True)
        self.changes.close()
        self.archive.close()


def get_access(request: Request) -> ArchiveAccess | None:
    """The app's archive access; None when it serves the feed files only."""
    access: ArchiveAccess | None = getattr(request.app.state, "archive", None)
    return access
