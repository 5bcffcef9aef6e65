"""The archive-backed seen-set (`crawler.seen.SeenStore`): spiders skip URLs the
archive already holds when they were fetched within the re-check window.

The window is the source's ``recheck_hours`` from the sources config; the
``AKHBAR_RECHECK_HOURS`` setting, when set, overrides it for every source
(``-s AKHBAR_RECHECK_HOURS=0`` re-fetches everything).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from scrapy import signals

from crawler.archive import Archive
from crawler.archive.shared import crawler_archive, release_crawler_archive

logger = logging.getLogger(__name__)

DEFAULT_RECHECK_HOURS = 24.0


class ArchiveSeenStore:
    def __init__(self, archive: Archive, *, windows: dict[str, timedelta] | None = None,
                 default: timedelta = timedelta(hours=DEFAULT_RECHECK_HOURS), override: timedelta | None = None) -> None:
        self.archive = archive
        self.windows = windows or {}
        self.default = default
        self.override = override
        self._crawler: Any = None
        """The crawler whose shared archive this is (`from_crawler`): released, not closed."""
        self._closed = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchiveSeenStore:
        from crawler.config import load_sources

        settings = crawler.settings
        windows: dict[str, timedelta] = {}
        try:
            windows = {sid: timedelta(hours=s.recheck_hours) for sid, s in load_sources(settings.get("AKHBAR_SOURCES")).items()}
        except Exception as exc:  # a broken sources file is reported by the crawl itself
            logger.warning("seen store: no per-source re-check windows (%s)", exc)
        raw = settings.get("AKHBAR_RECHECK_HOURS")
        override = timedelta(hours=float(raw)) if raw not in (None, "") else None
        store = cls(crawler_archive(crawler), windows=windows, override=override)
        store._crawler = crawler
        crawler.signals.connect(store.close, signal=signals.spider_closed)
        return store

    def window(self, source: str | None) -> timedelta:
        if self.override is not None:
            return self.override
        return self.windows.get(source or "", self.default)

    def is_fresh(self, url: str, *, source: str | None = None) -> bool:
        window = self.window(source)
        if window <= timedelta(0):
            return False
        try:
            return self.archive.is_fresh(url, window)
        except Exception:  # an unreachable archive means "fetch it", never a lost article
            logger.warning("seen store lookup failed for %s; fetching", url, exc_info=True)
            return False

    def last_run_status(self, source: str, current: str | None = None) -> str | None:
        """Status of `source`'s latest run other than `current` (None: no earlier run, or
        the archive could not say); a finished run whose discovery failed somewhere (a first
        listing, API or feed page given up on) is ``finished, discovery failed``."""
        try:
            row = self.archive.fetchone(
                "SELECT status, errors FROM crawl_runs WHERE source = ? AND id <> ? "
                "ORDER BY started_at DESC, id DESC LIMIT 1",
                (source, current or ""),
            )
        except Exception:
            logger.warning("seen store: the last run of %s could not be read", source, exc_info=True)
            return None
        if row is None:
            return None
        errors = row["errors"]
        if isinstance(errors, str):  # SQLite keeps JSON as text
            try:
                errors = json.loads(errors)
            except ValueError:
                errors = []
        if row["status"] == "finished" and any(isinstance(e, dict) and str(e.get("message", "")).startswith("discovery failed")
                                               for e in errors or []):
            return "finished, discovery failed"
        return row["status"]

    def close(self, *args: Any, **kwargs: Any) -> None:
        if self._closed:
            return
        self._closed = True
        if self._crawler is None:
            self.archive.close()
        else:
            release_crawler_archive(self._crawler, self.archive)
