"""Archive pipeline: every article that reaches it is upserted into the archive,
and each spider run is recorded as a crawl run (start, end, status, stats, errors).

Idempotent: a re-crawled article updates its row in place (earlier versions of a
changed body are kept); it is never stored twice. A failed write is logged, counted
(``archive/errors``) and recorded on the run; the item still goes on down the
pipeline and the crawl continues.

The archive is the crawler's shared one (`crawler.archive.shared`), held from
``open_spider`` until the run is finished at ``spider_closed``.

Settings: ``AKHBAR_ARCHIVE_URL`` (default: SQLite under ``AKHBAR_DATA``),
``ARCHIVE_ENABLED`` (default True).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.archive import Archive, archive_url
from crawler.archive.runs import run_id_for, warc_path
from crawler.archive.shared import crawler_archive, release_crawler_archive

logger = logging.getLogger(__name__)


class ArchivePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.url = archive_url(crawler.settings)
        self.archive: Archive | None = None
        self.run_id: str | None = None
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> "ArchivePipeline":
        if not crawler.settings.getbool("ARCHIVE_ENABLED", True):
            raise NotConfigured("ARCHIVE_ENABLED is off")
        pipe = cls(crawler)
        crawler.signals.connect(pipe.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipe.spider_error, signal=signals.spider_error)
        return pipe

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.archive = crawler_archive(self.crawler, self.url)
        self.run_id = run_id_for(self.crawler)
        source = getattr(spider, "source", None)
        source_id = getattr(source, "id", source)
        if not isinstance(source_id, str):
            source_id = None
        self.archive.start_run(self.run_id, spider=spider.name, source=source_id)
        if source_id:
            self._record_source(source_id)
        logger.info("archive %s: run %s started", self.url.split("?")[0], self.run_id)

    def _record_source(self, source_id: str) -> None:
        from crawler.config import load_sources

        try:
            src = load_sources(self.crawler.settings.get("AKHBAR_SOURCES")).get(source_id)
        except Exception:  # the crawl reports a broken sources file itself
            src = None
        assert self.archive is not None
        if src is None:
            self.archive.upsert_source(source_id)
        else:
            self.archive.upsert_source(src.id, name=src.name, name_en=src.name_en, base_url=src.base_url, language=src.language)

    def process_item(self, item: Any) -> Any:
        assert self.archive is not None
        try:
            result = self.archive.upsert_article(item, run_id=self.run_id, hosts=source_hosts(self.crawler.spider))
        except Exception as exc:
            url = _url_of(item)
            logger.error("archive: could not store %s: %s", url, exc, exc_info=True)
            self.stats.inc_value("archive/errors")
            try:
                self.archive.add_run_error(self.run_id or "", f"archive: {exc}", url=url)
            except Exception:
                logger.debug("could not record the error on the run", exc_info=True)
            return item
        self.stats.inc_value(f"archive/{result.action}")
        return item

    def spider_error(self, failure: Any, response: Any, spider: Any) -> None:
        if self.archive is None or self.run_id is None:
            return
        try:
            self.archive.add_run_error(self.run_id, f"spider: {failure.getErrorMessage()}", url=getattr(response, "url", None))
        except Exception:
            logger.debug("could not record the error on the run", exc_info=True)

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.archive is None or self.run_id is None:
            return
        status = "finished" if reason == "finished" else reason
        warc = warc_path(self.crawler.settings, self.run_id)
        try:
            self.archive.finish_run(
                self.run_id,
                status=status,
                stats=self.stats.get_stats(),
                warc_file=str(warc) if warc.exists() else None,
            )
            logger.info("archive: run %s %s", self.run_id, status)
        finally:
            archive, self.archive = self.archive, None
            release_crawler_archive(self.crawler, archive)


def source_hosts(spider: Any) -> tuple[str, ...]:
    """The hosts a crawl's articles may declare canonical URLs on and be keyed by them: the
    address crawled (``--base-url`` too), the source's configured ``base_url`` and its
    optional ``hosts = [...]``. Anything else is another site's address."""
    hosts: list[str] = []
    base = getattr(spider, "base_url", None)
    if isinstance(base, str):
        hosts.append(base)
    source = getattr(spider, "source", None)
    if source is not None and not isinstance(source, str):
        hosts.append(getattr(source, "base_url", "") or "")
        extra = (getattr(source, "raw", None) or {}).get("hosts") or ()
        hosts.extend(str(h) for h in extra if isinstance(h, str))
    return tuple(h for h in hosts if h)


def _url_of(item: Any) -> str | None:
    from itemadapter import ItemAdapter

    try:
        return ItemAdapter(item).get("url")
    except TypeError:
        return None
