"""One `Archive` per crawler, shared by the crawl's components.

The archive and dedup pipelines, the seen-set, the failed-URL store and the monitors
of one crawl all use the same archive. Each opening its own `Archive` gave the crawl
up to five SQLite connections to one file (each with its own 64 MiB page cache, which
every commit on another one invalidates) or as many PostgreSQL connections; and two
of them used in turn on one thread can deadlock (one holds the write lock the other
waits for). `crawler_archive(crawler)` instead returns one reference-counted `Archive`
per (crawler, archive URL): opened by the first user, closed when the last one calls
`release_crawler_archive`, whatever the order in which the components shut down.

An `Archive` keeps one connection per thread, so the components on the reactor thread
share one connection and a worker thread (the monitors' judging) gets its own. Two
crawlers in one process get separate archives.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from crawler.archive import Archive, archive_url, open_archive

logger = logging.getLogger(__name__)


@dataclass
class _Shared:
    archive: Archive
    users: int


# Weak keys: a crawler that is gone takes its entries with it (tests build many).
_by_crawler: weakref.WeakKeyDictionary[Any, dict[str, _Shared]] = weakref.WeakKeyDictionary()
# Released from the monitors' worker thread as well as the reactor thread.
_lock = threading.Lock()


def crawler_archive(crawler: Any, url: str | None = None) -> Archive:
    """The crawler's archive at `url` (default: its ``AKHBAR_ARCHIVE_URL``), opened on
    first use; every call must be paired with one `release_crawler_archive`."""
    url = url or archive_url(crawler.settings)
    with _lock:
        entries = _by_crawler.setdefault(crawler, {})
        shared = entries.get(url)
        if shared is None:
            # opened under the lock: two first users at once must get the same object
            shared = entries[url] = _Shared(open_archive(url), 0)
            logger.debug("archive %s opened for crawler %x", url.split("?")[0], id(crawler))
        shared.users += 1
        return shared.archive


def release_crawler_archive(crawler: Any, archive: Archive) -> None:
    """One user of `archive` is done with it; the last one closes it."""
    with _lock:
        entries = _by_crawler.get(crawler) or {}
        url = next((u for u, s in entries.items() if s.archive is archive), None)
        if url is None:
            raise ValueError("this archive is not in use by this crawler (released once too often?)")
        shared = entries[url]
        shared.users -= 1
        if shared.users:
            return
        del entries[url]
        if not entries:
            del _by_crawler[crawler]
    archive.close()
    logger.debug("archive %s closed for crawler %x", url.split("?")[0], id(crawler))


def crawler_archive_users(crawler: Any, archive: Archive) -> int:
    """How many users hold `archive` for `crawler` (0: closed, or never its archive)."""
    with _lock:
        return next((s.users for s in (_by_crawler.get(crawler) or {}).values() if s.archive is archive), 0)


@contextmanager
def using_crawler_archive(crawler: Any, url: str | None = None) -> Iterator[Archive]:
    """`crawler_archive` for the length of a ``with`` block."""
    archive = crawler_archive(crawler, url)
    try:
        yield archive
    finally:
        release_crawler_archive(crawler, archive)
