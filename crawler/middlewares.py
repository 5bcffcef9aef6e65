"""Retry that honours ``Retry-After``.

Replaces Scrapy's `RetryMiddleware` (same settings: ``RETRY_ENABLED``, ``RETRY_TIMES``,
``RETRY_HTTP_CODES``). When a 429 or 503 carries ``Retry-After`` (seconds or an HTTP
date), the retry is held back that long and the domain's download slot is slowed to at
least that delay, so no other request hits the server before it asked. A delay above
``RETRY_AFTER_MAX`` (default 120 s) is capped: the crawl must not hang on one server.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

logger = logging.getLogger(__name__)

RETRY_AFTER_CODES = {429, 503}


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("RETRY_AFTER_MAX", 120.0)

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = None
        if response.status in RETRY_AFTER_CODES:
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        retry = self._retry(request, f"{response.status} {response.url}")
        if retry is None:
            return response
        if wait:
            wait = min(wait, self.max_wait)
            logger.info("%s answered %d with Retry-After: waiting %.1f s", response.url, response.status, wait)
            self._slow_slot(request, wait)
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("retry/retry_after_honoured")
            # Twisted's clock, so this works under any reactor, asyncio or not.
            from twisted.internet import reactor

            await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        return retry

    def _slow_slot(self, request: Request, wait: float) -> None:
        """Raise the domain slot's delay so other requests also wait; AutoThrottle eases it later."""
        engine = getattr(self.crawler, "engine", None)
        downloader = getattr(engine, "downloader", None)
        if downloader is None:
            return
        key = downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        if slot is not None and slot.delay < wait:
            slot.delay = wait
