"""Failed URLs: what failed for good is recorded, retried by the next run, never lost.

A URL fails for good when Scrapy's retries are exhausted (5xx, 429, timeouts, resets,
short bodies), when it cannot succeed as served (404, a body over ``DOWNLOAD_MAXSIZE``
before or after decompression, a redirect loop, HTML cut before ``</html>`` on every
attempt) or when its page was dropped (no title, no body). `FailedUrls` keeps one row per URL in the archive's ``failed_urls`` table
(migration 310): reason, last HTTP status, attempts, first/last failure, run. The next
run of the source re-queues its failed URLs before discovery (`NewsSpider.start`) until
``FAILED_URLS_MAX_ATTEMPTS`` runs have failed on them; a later success deletes the row.
Robots.txt exclusions are policy, not failures: counted, never recorded or retried.

`FailedUrlsStore` is the crawl component (``AKHBAR_FAILED_STORE``, built with
``from_crawler``; ``FAILED_URLS_ENABLED=False`` or ``ARCHIVE_ENABLED=False`` turn it off):
the spider base calls `failed()` from its errbacks and `pending()` at start; it listens
to ``item_scraped`` (success: delete) and ``item_dropped`` (record the drop reason) itself.
Each failure is also appended to the run's ``errors`` and counted
(``akhbar/failed_urls/recorded``, ``.../cleared``, ``.../requeued``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request
from scrapy.utils.misc import load_object
from twisted.python.failure import Failure

from crawler.archive import Archive
from crawler.archive.base import now_utc
from crawler.archive.canonical import fold_url
from crawler.archive.runs import run_id_for
from crawler.archive.shared import crawler_archive, release_crawler_archive

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 5
ROBOTS = "robots.txt"


class FailedUrls:
    """The ``failed_urls`` table of one archive."""

    def __init__(self, archive: Archive, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> None:
        self.archive = archive
        self.max_attempts = max_attempts

    def record(self, url: str, *, source: str | None, reason: str, status: int | None = None,
               run_id: str | None = None) -> int:
        """Record (or count again) a failure of `url`; returns its number of attempts."""
        a = self.archive
        key = fold_url(url)
        now = a.enc_datetime(now_utc())
        with a.transaction():
            a.execute(
                """INSERT INTO failed_urls (url_key, url, source, reason, status, attempts, first_failed_at,
                       last_failed_at, run_id) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)
                   ON CONFLICT (url_key) DO UPDATE SET url = excluded.url, source = excluded.source,
                       reason = excluded.reason, status = excluded.status,
                       attempts = failed_urls.attempts + 1, last_failed_at = excluded.last_failed_at,
                       run_id = excluded.run_id""",
                (key, url, source, reason[:500], status, now, now, run_id),
            )
            return int(a.fetchval("SELECT attempts FROM failed_urls WHERE url_key = ?", (key,)) or 1)

    def clear(self, urls: Iterable[str | None]) -> int:
        """Forget the failures of `urls` (any spelling); returns rows deleted."""
        keys = sorted({fold_url(u) for u in urls if u})
        if not keys:
            return 0
        marks = ", ".join("?" for _ in keys)
        return self.archive.execute(f"DELETE FROM failed_urls WHERE url_key IN ({marks})", keys)

    def pending(self, source: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Failed URLs of `source` still to retry (fewer than max_attempts), oldest failure first."""
        return self.archive.fetch(
            "SELECT * FROM failed_urls WHERE source = ? AND attempts < ? ORDER BY last_failed_at LIMIT ?",
            (source, self.max_attempts, limit),
        )

    def rows(self, source: str | None = None) -> list[dict[str, Any]]:
        if source is None:
            return self.archive.fetch("SELECT * FROM failed_urls ORDER BY source, last_failed_at")
        return self.archive.fetch("SELECT * FROM failed_urls WHERE source = ? ORDER BY last_failed_at", (source,))


def failure_request(failure: Failure) -> Request:
    """The request an errback's `failure` is about."""
    # Scrapy sets `request` on the Failure it hands to an errback; Twisted's class does not declare it
    return failure.request  # type: ignore[attr-defined]


def failure_reason(failure: Failure) -> tuple[str | None, int | None]:
    """(reason, HTTP status) of a failed request; reason None for a robots.txt exclusion."""
    exc = failure.value
    response = getattr(exc, "response", None)
    status = getattr(response, "status", None)
    name = type(exc).__name__
    message = failure.getErrorMessage()
    if status is not None:
        return f"http {status}", status
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in message:
            return None, None
        if "redirect loop" in message:
            return "redirect loop", None
        if "max redirections" in message:
            return "redirect loop (REDIRECT_MAX_TIMES redirects)", None
        if "DOWNLOAD_MAXSIZE" in message:
            return "too large after decompression (DOWNLOAD_MAXSIZE)", None
        if message.startswith("egress: "):
            return f"refused by egress policy: {message[8:200]}", None
        if message.startswith("truncated page"):
            return "truncated page (no </html>)", 200
        return f"ignored: {message}", None
    if name == "DownloadCancelledError" or "maxsize" in message.lower():
        return "too large (DOWNLOAD_MAXSIZE)", None
    if name in ("DownloadTimeoutError", "TimeoutError", "TCPTimedOutError"):
        return "timeout (DOWNLOAD_TIMEOUT)", None
    if name == "ResponseDataLossError":
        return "connection lost mid-body (shorter than Content-Length)", None
    if name in ("DownloadFailedError", "ResponseFailed", "ConnectionLost", "ConnectionDone"):
        return f"connection lost: {message[:200]}", None
    if name == "DNSLookupError" and "egress: " in message:
        return f"refused by egress policy: {message.split('egress: ', 1)[1][:200]}", None
    if name in ("DownloadConnectionRefusedError", "ConnectionRefusedError", "ConnectError"):
        return f"connection refused: {message[:200]}", None
    return f"{name}: {message[:200]}", None


class FailedUrlsStore:
    """Crawl component: records failures of one crawl, deletes rows on success."""

    def __init__(self, crawler: Any, failed: FailedUrls) -> None:
        self.crawler = crawler
        self.failed = failed
        self._closed = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> FailedUrlsStore:
        settings = crawler.settings
        if not settings.getbool("FAILED_URLS_ENABLED", True) or not settings.getbool("ARCHIVE_ENABLED", True):
            raise NotConfigured("failed URLs are kept in the archive; FAILED_URLS_ENABLED or ARCHIVE_ENABLED is off")
        archive = crawler_archive(crawler)  # the crawl's shared one, released at close
        store = cls(crawler, FailedUrls(archive, max_attempts=settings.getint("FAILED_URLS_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS)))
        crawler.signals.connect(store.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(store.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(store.close, signal=signals.spider_closed)
        return store

    def _inc(self, key: str, n: int = 1) -> None:
        # built with the spider, before the crawl has its stats: look them up when counting
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(key, n)

    def pending(self, source: str) -> list[dict[str, Any]]:
        try:
            return self.failed.pending(source)
        except Exception:  # an unreadable table must not stop the crawl
            logger.warning("failed URLs of %s could not be read", source, exc_info=True)
            return []

    def failed_request(self, failure: Failure, *, source: str | None) -> str | None:
        """Record a request that failed for good; returns the reason (None: robots.txt)."""
        reason, status = failure_reason(failure)
        # after redirects, the URL that was asked for: the retry must ask for it again
        request = failure_request(failure)
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        if reason is None:
            self._inc("akhbar/robots_disallowed")
            return None
        self.record(url, source=source, reason=reason, status=status)
        return reason

    def record(self, url: str, *, source: str | None, reason: str, status: int | None = None) -> None:
        run_id = run_id_for(self.crawler)
        try:
            attempts = self.failed.record(url, source=source, reason=reason, status=status, run_id=run_id)
            self.failed.archive.add_run_error(run_id, f"failed: {reason}", url=url)
        except Exception:
            logger.error("could not record the failure of %s (%s)", url, reason, exc_info=True)
            return
        self._inc("akhbar/failed_urls/recorded")
        logger.warning("failed for good (attempt %d): %s: %s", attempts, url, reason)

    def run_error(self, message: str, url: str | None = None) -> None:
        try:
            self.failed.archive.add_run_error(run_id_for(self.crawler), message, url=url)
        except Exception:
            logger.debug("could not record the error on the run", exc_info=True)

    def succeeded(self, urls: Iterable[str | None]) -> None:
        try:
            n = self.failed.clear(urls)
        except Exception:
            logger.warning("could not clear failed URLs", exc_info=True)
            return
        if n:
            self._inc("akhbar/failed_urls/cleared", n)

    # --- signals -------------------------------------------------------------------
    def item_scraped(self, item: Any, response: Any, spider: Any) -> None:
        self.succeeded(_urls_of(item, response))

    def item_dropped(self, item: Any, response: Any, exception: BaseException, spider: Any) -> None:
        urls = _urls_of(item, response)
        if not urls:
            return
        why = str(exception).split(":", 1)[0].strip() or type(exception).__name__
        source = getattr(spider, "source_id", None)
        # keyed on the URL that was requested, so the retry asks for the same thing
        requested = (getattr(response, "meta", None) or {}).get("redirect_urls", [None])[0] if response is not None else None
        self.record(requested or urls[0], source=source, reason=f"dropped: {why}",
                    status=getattr(response, "status", None))

    def close(self, *args: Any, **kwargs: Any) -> None:
        if not self._closed:
            self._closed = True
            release_crawler_archive(self.crawler, self.failed.archive)


class NoFailedStore:
    """Failed URLs not kept (archive off): failures are only logged and counted."""

    def pending(self, source: str) -> list[dict[str, Any]]:
        return []

    def failed_request(self, failure: Failure, *, source: str | None) -> str | None:
        return failure_reason(failure)[0]

    def record(self, url: str, *, source: str | None, reason: str, status: int | None = None) -> None:
        return None

    def run_error(self, message: str, url: str | None = None) -> None:
        return None

    def succeeded(self, urls: Iterable[str | None]) -> None:
        return None


def failed_store_for(crawler: Any) -> FailedUrlsStore | NoFailedStore:
    path = crawler.settings.get("AKHBAR_FAILED_STORE")
    if not path:
        return NoFailedStore()
    try:
        return load_object(path).from_crawler(crawler)
    except NotConfigured:
        return NoFailedStore()


def _urls_of(item: Any, response: Any) -> list[str]:
    from itemadapter import ItemAdapter

    urls: list[str] = []
    try:
        adapter = ItemAdapter(item)
        urls += [u for u in (adapter.get("url"), adapter.get("canonical_url")) if isinstance(u, str)]
    except TypeError:
        pass
    if response is not None:
        urls.append(response.url)
        urls += list((getattr(response, "meta", None) or {}).get("redirect_urls", []))
    return list(dict.fromkeys(urls))
