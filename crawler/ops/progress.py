"""Live crawl progress: pages, articles and errors per source.

On a terminal (stderr is a TTY) one line per source is redrawn in place at most once a
second; otherwise (a log file, `akhbar run`'s crawl processes, CI) a plain line is logged
every ``PROGRESS_INTERVAL`` seconds and once at close, so logs stay greppable.

Settings: ``PROGRESS_ENABLED`` (default True), ``PROGRESS_INTERVAL`` (seconds between
plain lines, default 30), ``PROGRESS_TTY`` (force the live display on or off; default:
whether stderr is a terminal).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

from scrapy import signals
from scrapy.exceptions import NotConfigured

logger = logging.getLogger(__name__)

REDRAW_SECONDS = 1.0


def counts(stats: dict[str, Any]) -> dict[str, int]:
    """Pages answered, articles scraped, and errors (download failures, HTTP 4xx/5xx
    answers, spider exceptions, extraction errors, articles dropped or not stored)."""
    http = sum(int(v) for k, v in stats.items()
               if k.startswith("downloader/response_status_count/") and k.rsplit("/", 1)[1][:1] in "45")
    errors = (http + int(stats.get("downloader/exception_count", 0)) + int(stats.get("spider_exceptions", 0) or 0)
              + sum(int(v) for k, v in stats.items() if k.startswith("spider_exceptions/"))
              + int(stats.get("akhbar/extract_error", 0)) + int(stats.get("item_dropped_count", 0))
              + int(stats.get("archive/errors", 0)))
    return {
        "pages": int(stats.get("response_received_count", 0)),
        "articles": int(stats.get("item_scraped_count", 0)),
        "errors": errors,
    }


def line_for(source: str, c: dict[str, int], state: str = "") -> str:
    tail = f"  {state}" if state else ""
    return f"{source:<12} {c['pages']:>6} pages {c['articles']:>6} articles {c['errors']:>5} errors{tail}"


class Board(logging.Filter):
    """The live display shared by every crawler of a process: one line per source,
    redrawn together (cursor up, clear line) so parallel crawls do not interleave.
    It also sits as a filter on the root log handlers: when a log line was written since
    the last redraw, the board is drawn again below it instead of over it."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.lines: dict[str, str] = {}
        self.drawn = 0
        self.last = 0.0
        self.logged = False
        for handler in logging.root.handlers:
            handler.addFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        self.logged = True
        return True

    def update(self, source: str, text: str, *, force: bool = False) -> None:
        self.lines[source] = text
        now = time.monotonic()
        if not force and now - self.last < REDRAW_SECONDS:
            return
        self.last = now
        out = []
        if self.drawn and not self.logged:
            out.append(f"\x1b[{self.drawn}F")  # back to the first line drawn last time
        self.logged = False
        for line in self.lines.values():
            out.append(f"\x1b[2K{line}\n")
        self.stream.write("".join(out))
        self.stream.flush()
        self.drawn = len(self.lines)


_boards: dict[int, Board] = {}


def board_for(stream: TextIO) -> Board:
    return _boards.setdefault(id(stream), Board(stream))


class ProgressExtension:
    def __init__(self, crawler: Any, *, live: bool, interval: float, stream: TextIO) -> None:
        self.crawler = crawler
        self.live = live
        self.interval = interval
        self.stream = stream
        self.source = "?"
        self._task: Any = None
        self._last_plain = 0.0

    @classmethod
    def from_crawler(cls, crawler: Any) -> "ProgressExtension":
        s = crawler.settings
        if not s.getbool("PROGRESS_ENABLED", True):
            raise NotConfigured("PROGRESS_ENABLED is off")
        forced = s.get("PROGRESS_TTY")
        live = sys.stderr.isatty() if forced in (None, "") else s.getbool("PROGRESS_TTY")
        ext = cls(crawler, live=live, interval=s.getfloat("PROGRESS_INTERVAL", 30.0), stream=sys.stderr)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        from twisted.internet import task

        source = getattr(spider, "source", None)
        self.source = str(getattr(source, "id", source) or spider.name)
        self._last_plain = time.monotonic()
        self._task = task.LoopingCall(self.tick)
        self._task.start(REDRAW_SECONDS if self.live else min(self.interval, 5.0), now=False)

    def tick(self) -> None:
        c = counts(self.crawler.stats.get_stats())
        if self.live:
            board_for(self.stream).update(self.source, line_for(self.source, c, "crawling"))
        elif time.monotonic() - self._last_plain >= self.interval:
            self._last_plain = time.monotonic()
            logger.info("progress %s: %d pages, %d articles, %d errors", self.source, c["pages"], c["articles"], c["errors"])

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        c = counts(self.crawler.stats.get_stats())
        if self.live:
            board_for(self.stream).update(self.source, line_for(self.source, c, reason), force=True)
        logger.info("progress %s: %d pages, %d articles, %d errors (%s)", self.source, c["pages"], c["articles"],
                    c["errors"], reason)
