"""Re-extraction of archived articles from their kept responses (``akhbar reextract``).

`ReextractSpider` fetches nothing: its ``start`` reads each selected article's response
back from the run's WARC file (`crawler.warc.read_record`), runs the source's page object
over it with the discovery hints the record kept, and yields the new `Article` into the
project's item pipelines (validate, dates, topics, archive, dedup), exactly as a crawl
would. `reextract` runs it in one Scrapy process and returns the stats. The command, its
counts and exit status are in `crawler.commands.reextract`; docs/archive.md.

Stats: ``reextract/selected``, ``reextract/reread``, ``reextract/missing_warc``,
``reextract/extract_error``, ``reextract/dropped``, plus the pipelines' own (``archive/updated``, ``archive/unchanged``...)
and the layer counts (``akhbar/layer/...``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import scrapy
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse
from scrapy.spiderloader import get_spider_loader

from crawler.archive.runs import record_layers
from crawler.archive.shared import crawler_archive, release_crawler_archive
from crawler.config import load_sources
from crawler.middlewares import CharsetMiddleware
from crawler.warc import WarcReadError, WarcResponse, read_record
from spiders.base import NewsSpider
from spiders.page import ArticlePage

logger = logging.getLogger(__name__)

STAT = "reextract/"


def reextract(data_dir: Path, url: str, *, sources: list[str] | None = None, since: datetime | None = None,
              settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Re-extract the selected archived articles through the item pipelines in one Scrapy
    run without requests; returns its stats (``reextract/reread``, ``archive/updated``...)
    and ``reextract/problems``, one line per article not re-extracted."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    project = get_project_settings()
    project.set("AKHBAR_DATA", str(data_dir), priority="cmdline")
    project.set("AKHBAR_ARCHIVE_URL", url, priority="cmdline")
    project.set("LOG_LEVEL", os.environ.get("AKHBAR_LOG_LEVEL", "WARNING"), priority="cmdline")
    project.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    # Not a crawl of a site: nothing for the monitors to judge or the progress line to show.
    project.set("MONITORS_ENABLED", False, priority="cmdline")
    project.set("PROGRESS_ENABLED", False, priority="cmdline")
    project.set("STATS_DUMP", False, priority="cmdline")
    for k, v in (settings or {}).items():
        project.set(k, v, priority="cmdline")
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        logging.getLogger("scrapy").setLevel(logging.WARNING)
    process = CrawlerProcess(project)
    crawler = process.create_crawler(ReextractSpider)
    process.crawl(crawler, sources=sources, since=since)
    process.start()
    stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
    spider = getattr(crawler, "spider", None)
    # the report's lines, not kept with the run's stats (there may be thousands)
    stats[f"{STAT}problems"] = list(getattr(spider, "problems", []))
    return stats


class ReextractSpider(scrapy.Spider):
    """Yields one re-extracted `Article` per selected archived article; fetches nothing."""

    name = "reextract"
    custom_settings = {"ROBOTSTXT_OBEY": False}

    def __init__(self, *args: Any, sources: list[str] | None = None, since: datetime | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.only_sources = list(sources or [])
        self.since = since
        self._pages: dict[str, tuple[type[ArticlePage], str]] = {}
        self.problems: list[str] = []
        """One line per article not re-extracted: ``article <id> <url>: <reason>``."""
        self._ids: dict[str, int] = {}
        """URL -> article id of the items in flight, for the report of a dropped one."""
        self._charset: CharsetMiddleware | None = None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ReextractSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.item_dropped, signal=scrapy.signals.item_dropped)
        crawler.signals.connect(spider.item_scraped, signal=scrapy.signals.item_scraped)
        return spider

    def item_dropped(self, item: Any, exception: BaseException, **_: Any) -> None:
        url = getattr(item, "url", None)
        # counted as failed from Scrapy's item_dropped_count; this names the article
        self._problem("dropped", {"id": self._ids.pop(url or "", None), "url": url},
                      f"dropped by the pipelines: {exception}")

    def item_scraped(self, item: Any, **_: Any) -> None:
        self._ids.pop(getattr(item, "url", None) or "", None)

    def _problem(self, key: str, row: dict[str, Any], reason: str) -> None:
        stats = self.crawler.stats
        stats.inc_value(f"{STAT}{key}")
        line = f"article {row.get('id')} {row.get('url')}: {reason}"
        self.problems.append(line)
        (self.logger.warning if key == "missing_warc" else self.logger.error)("%s", line)

    def _article_ids(self, archive: Any) -> list[int]:
        where, params = [], []
        if self.only_sources:
            where.append(f"source IN ({', '.join('?' * len(self.only_sources))})")
            params += self.only_sources
        if self.since is not None:
            where.append("fetched_at >= ?")
            params.append(archive.enc_datetime(self.since))
        sql = "SELECT id FROM articles" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        # ids first: the pipelines write these rows while this walks them
        return [int(r["id"]) for r in archive.fetch(sql, params)]

    async def start(self) -> AsyncIterator[Any]:
        try:  # the crawl's own decoding fix (a declared charset contradicting the bytes)
            self._charset = CharsetMiddleware.from_crawler(self.crawler)
        except NotConfigured:  # off for the crawls too
            self._charset = None
        archive = crawler_archive(self.crawler)
        try:
            ids = self._article_ids(archive)
            self.logger.info("reextract: %d articles selected", len(ids))
            self.crawler.stats.set_value(f"{STAT}selected", len(ids))
            for aid in ids:
                row = archive.get_article(aid)
                if row is None:  # deleted meanwhile
                    continue
                article = self.reextract_one(row)
                if article is not None:
                    yield article
        finally:
            release_crawler_archive(self.crawler, archive)

    def reextract_one(self, row: dict[str, Any]) -> Any:
        """The re-extracted `Article` for one archived row, or None (counted, reported)."""
        data = Path(self.settings.get("AKHBAR_DATA") or "data")
        if not row.get("warc_record"):
            self._problem("missing_warc", row, "no WARC record kept for it")
            return None
        try:
            kept = read_record(data, row["warc_record"])
        except WarcReadError as exc:
            self._problem("missing_warc", row, str(exc))
            return None
        self.crawler.stats.inc_value(f"{STAT}reread")
        try:
            page_class, language = self._page_for(row["source"])
            response = self._response(kept, row)
            page = page_class(response, kept.hints, default_language=language, fetched_at=row.get("fetched_at"))
            article = page.to_article(row["source"])
        except Exception as exc:  # one bad page must not end the run
            self._problem("extract_error", row, f"extraction failed: {exc!r}")
            self.logger.debug("extraction failed", exc_info=True)
            return None
        record_layers(self.crawler.stats, page.field_layers, article)
        # Same identity (the archive keys on these), same fetch: content changes, the article does not.
        article.url = row["url"]
        article.canonical_url = row.get("canonical_url") or article.canonical_url
        article.site_article_id = row.get("site_article_id") or article.site_article_id
        article.warc_record = row["warc_record"]
        article.http_status = row.get("http_status") or article.http_status
        self._ids[article.url] = int(row["id"])
        return article

    def _page_for(self, source: str) -> tuple[type[ArticlePage], str]:
        if source not in self._pages:
            src = load_sources(self.settings.get("AKHBAR_SOURCES")).get(source)
            if src is None:
                raise ValueError(f"source {source!r} is not in the sources file")
            spider_cls = get_spider_loader(self.settings).load(src.spider)
            if not issubclass(spider_cls, NewsSpider):
                raise ValueError(f"spider {src.spider!r} of source {source!r} is no NewsSpider: it has no page class")
            self._pages[source] = (spider_cls.page_class, src.language)
        return self._pages[source]

    def _response(self, kept: WarcResponse, row: dict[str, Any]) -> HtmlResponse:
        response = HtmlResponse(url=kept.url or row["url"], status=kept.status, headers=kept.headers, body=kept.body)
        if self._charset is None:
            return response
        return self._charset.process_response(None, response)  # type: ignore[arg-type,return-value]
