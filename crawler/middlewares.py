"""Downloader middlewares: retry that honours ``Retry-After``; charset repair; redirect
loops; article pages cut before ``</html>``; robots.txt rules for every request,
including those waiting for the file.

Replaces Scrapy's `RetryMiddleware` (same settings: ``RETRY_ENABLED``, ``RETRY_TIMES``,
``RETRY_HTTP_CODES``). When a 429 or 503 carries ``Retry-After`` (seconds or an HTTP
date), the retry is held back that long and the domain's download slot is slowed to at
least that delay, so no other request hits the server before it asked. A delay above
``RETRY_AFTER_MAX`` (default 120 s) is capped: the crawl must not hang on one server.
"""

from __future__ import annotations

import codecs
import logging
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _ScrapyRobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.defer import Deferred
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
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("RETRY_AFTER_MAX", 120.0)

    # Scrapy awaits a coroutine process_response (async middleware methods are supported); only
    # RetryMiddleware's own signature is synchronous, so the override differs in type alone.
    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = None
        if response.status in RETRY_AFTER_CODES:
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        # the status message alone, as Scrapy's: the reason names a stats key
        # (retry/reason_count/<reason>), and a URL in it made one key per retried URL
        retry = self._retry(request, response_status_message(response.status))
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


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
# What a decoder ends on when nothing was declared, or what a server declares by habit
_GUESSES = {"utf-8", "cp1252", "latin-1", "iso8859-1", "ascii"}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


class CharsetMiddleware:
    """Decode a page by its bytes when its declared charset contradicts them.

    Sites serve windows-1256 labelled UTF-8, and the reverse, or declare nothing: Scrapy
    then decodes by the header and the Arabic text comes out as replacement characters
    or Latin mojibake. Bytes that are valid UTF-8 (and not ASCII) are UTF-8 whatever the
    label says (windows-1256 text is practically never valid UTF-8); bytes that are not,
    labelled UTF-8 or with no useful label, are decoded by their ``<meta charset>`` when
    it names something else, else by ``CHARSET_FALLBACK`` (default windows-1256, the
    legacy encoding of Arabic sites). Stat: ``akhbar/charset_fixed``.
    """

    def __init__(self, fallback: str, stats: Any = None) -> None:
        self.fallback = fallback
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> CharsetMiddleware:
        if not crawler.settings.getbool("CHARSET_FIX_ENABLED", True):
            raise NotConfigured("CHARSET_FIX_ENABLED is off")
        fallback = _codec(crawler.settings.get("CHARSET_FALLBACK", "windows-1256"))
        if fallback is None:
            raise NotConfigured("CHARSET_FALLBACK names no known codec")
        return cls(fallback, crawler.stats)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        if not isinstance(response, TextResponse) or not response.body or response.body.isascii():
            return response
        declared = _codec(response.encoding)
        try:
            response.body.decode("utf-8")
            right = "utf-8"
        except UnicodeDecodeError:
            right = None
        if right is None:
            if declared not in _GUESSES:
                return response  # a specific non-UTF-8 label the bytes do not contradict
            m = _META_CHARSET.search(response.body, 0, 8192)
            meta = _codec(m.group(1).decode("ascii")) if m else None
            right = meta if meta and meta not in _GUESSES else self.fallback
        if right == declared:
            return response
        logger.info("%s: declared %s, decoded as %s", response.url, response.encoding, right)
        if self.stats is not None:
            self.stats.inc_value("akhbar/charset_fixed")
        return response.replace(encoding=right)


class RedirectLoopMiddleware:
    """End a redirect that leads back to a URL of its own chain, as a failure.

    Scrapy's duplicate filter silently drops the request that closes such a loop
    (A → B → A): no errback runs, and the article would vanish without a trace. Raising
    ``IgnoreRequest("redirect loop ...")`` instead sends it to the errback, which records
    it (crawler/ops/failed_urls.py). Sits just outside RedirectMiddleware (600) so it
    sees the 3xx first. Stat: ``akhbar/redirect_loop``.
    """

    def __init__(self, stats: Any = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedirectLoopMiddleware:
        if not crawler.settings.getbool("REDIRECT_ENABLED", True):
            raise NotConfigured("REDIRECT_ENABLED is off")
        return cls(crawler.stats)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        location = response.headers.get(b"Location")
        if not (300 <= response.status < 400) or not location:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            if self.stats is not None:
                self.stats.inc_value("akhbar/redirect_loop")
            raise IgnoreRequest(f"redirect loop: {' -> '.join([*chain, target])}")
        return response


_HTML_END = re.compile(rb"</html\s*>", re.I)


class TruncatedHtmlMiddleware:
    """Retry, then fail, an article page whose HTML stops before ``</html>``.

    The HTTP answer was whole (its Content-Length held) but the page was not: a proxy or
    a dying PHP worker cut it. Extracted as it stood, it was archived with part of its
    body and, being fresh from then on, never fetched again. It is retried like a 5xx
    (``RETRY_TIMES``); when every attempt is cut it becomes ``IgnoreRequest("truncated
    page ...")``, which the errback records in failed_urls for the next run. Only 200
    HTML answers to article requests are checked; ``TRUNCATED_HTML_CHECK=False`` turns it
    off for a site whose pages leave out ``</html>``. Stat: ``akhbar/truncated_html``.
    """

    TAIL = 64 * 1024  # where </html> must be: trailing comments and scripts stay well under

    def __init__(self, crawler: Any, max_retry_times: int) -> None:
        self.crawler = crawler
        self.max_retry_times = max_retry_times

    @classmethod
    def from_crawler(cls, crawler: Any) -> TruncatedHtmlMiddleware:
        settings = crawler.settings
        if not settings.getbool("TRUNCATED_HTML_CHECK", True):
            raise NotConfigured("TRUNCATED_HTML_CHECK is off")
        return cls(crawler, settings.getint("RETRY_TIMES") if settings.getbool("RETRY_ENABLED") else 0)

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        if (not request.meta.get("akhbar_article") or response.status != 200
                or not isinstance(response, HtmlResponse) or _HTML_END.search(response.body[-self.TAIL:])):
            return response
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("akhbar/truncated_html")
        retry = None
        if not request.meta.get("dont_retry"):
            retry = get_retry_request(request, spider=self.crawler.spider, reason="truncated html",
                                      max_retry_times=request.meta.get("max_retry_times", self.max_retry_times))
        if retry is not None:
            return retry
        raise IgnoreRequest(f"truncated page: no </html> in its {len(response.body)} bytes")


class RobotsTxtMiddleware(_ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every request waiting for the rules.

    Requests that arrive while a site's robots.txt is still downloading all await the
    one Deferred Scrapy keeps for it; the first awaiter takes its result and the others
    got None, which Scrapy reads as "no robots.txt": a disallowed section requested at
    start (several start requests at once) was fetched anyway. Each waiter here gets its
    own Deferred, relayed from the shared one, which keeps its result for the next.
    """

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        shared = self._parsers.get(netloc)
        if isinstance(shared, Deferred):
            waiter: Deferred[Any] = Deferred()

            def relay(result: Any) -> Any:
                waiter.callback(result)
                return result

            shared.addBoth(relay)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)
