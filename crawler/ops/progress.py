"""Live crawl progress: pages, articles and errors per source.

On a terminal (stderr is a TTY) one line per source is redrawn in place at most once a
second; otherwise (a log file, `akhbar run`'s crawl processes, CI) a plain line is logged
every ``PROGRESS_INTERVAL`` seconds and once at close, so logs stay greppable.

With ``PROGRESS_FILE`` set (`akhbar run` sets ``DIR/progress/<source>.json`` for each crawl
it starts), the counts are also written there as JSON every second, so the scheduler can
draw the same live lines on its own terminal for crawls whose output goes to a log file.

Settings: ``PROGRESS_ENABLED`` (default True), ``PROGRESS_INTERVAL`` (seconds between
plain lines, default 30), ``PROGRESS_TTY`` (force the live display on or off; default:
whether stderr is a terminal), ``PROGRESS_FILE``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
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
        self.draw(force=force)

    def replace(self, lines: dict[str, str], *, force: bool = False) -> None:
        """Show exactly these lines (sources no longer running drop out)."""
        self.lines = dict(lines)
        self.draw(force=force)

    def clear(self) -> None:
        """Erase the lines drawn last (when nothing was written below them since)."""
        if self.drawn and not self.logged:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
            self.stream.flush()
        self.drawn = 0
        self.logged = False
        self.last = 0.0

    def draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < REDRAW_SECONDS:
            return
        self.last = now
        out = []
        if self.drawn and not self.logged:
            out.append(f"\x1b[{self.drawn}F\x1b[J")  # back to the first line drawn last time, clear below
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
    def __init__(self, crawler: Any, *, live: bool, interval: float, stream: TextIO, path: Path | None = None) -> None:
        self.crawler = crawler
        self.live = live
        self.interval = interval
        self.stream = stream
        self.path = path
        self.source = "?"
        self._task: Any = None
        self._last_plain = 0.0

    @classmethod
    def from_crawler(cls, crawler: Any) -> ProgressExtension:
        s = crawler.settings
        if not s.getbool("PROGRESS_ENABLED", True):
            raise NotConfigured("PROGRESS_ENABLED is off")
        forced = s.get("PROGRESS_TTY")
        live = sys.stderr.isatty() if forced in (None, "") else s.getbool("PROGRESS_TTY")
        path = Path(s.get("PROGRESS_FILE")) if s.get("PROGRESS_FILE") else None
        ext = cls(crawler, live=live, interval=s.getfloat("PROGRESS_INTERVAL", 30.0), stream=sys.stderr, path=path)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        from twisted.internet import task

        source = getattr(spider, "source", None)
        self.source = str(getattr(source, "id", source) or spider.name)
        self._last_plain = time.monotonic()
        self._task = task.LoopingCall(self.tick)
        self._task.start(REDRAW_SECONDS if self.live or self.path else min(self.interval, 5.0), now=False)

    def tick(self) -> None:
        c = counts(self.crawler.stats.get_stats())
        self._write(c, "crawling")
        if self.live:
            board_for(self.stream).update(self.source, line_for(self.source, c, "crawling"))
        elif time.monotonic() - self._last_plain >= self.interval:
            self._last_plain = time.monotonic()
            logger.info("progress %s: %d pages, %d articles, %d errors", self.source, c["pages"], c["articles"], c["errors"])

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self._task is not None and self._task.running:
            self._task.stop()
        c = counts(self.crawler.stats.get_stats())
        self._write(c, reason)
        if self.live:
            board_for(self.stream).update(self.source, line_for(self.source, c, reason), force=True)
        logger.info("progress %s: %d pages, %d articles, %d errors (%s)", self.source, c["pages"], c["articles"],
                    c["errors"], reason)

    def _write(self, c: dict[str, int], state: str) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"source": self.source, **c, "state": state}), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:  # a display aid: never worth failing a crawl over
            logger.debug("progress file %s: %s", self.path, exc)


def read_progress(path: Path) -> dict[str, Any] | None:
    """What a crawl last wrote to its PROGRESS_FILE (None: nothing yet)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
