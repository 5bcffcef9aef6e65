"""Archive pipeline: every article that reaches it is upserted into the archive,
and each spider run is recorded as a crawl run (start, end, status, stats, errors).

Idempotent: a re-crawled article updates its row in place (earlier versions of a
changed body are kept); it is never stored twice. A failed write is logged, counted
(``archive/errors``) and recorded on the run; the item still goes on down the
pipeline and the crawl continues.

Writes are batched: up to ``ARCHIVE_BATCH_ITEMS`` articles (the project sets 32) are
stored in one transaction, together with their stories (the dedup pipeline's
`BatchHook` runs inside it), once the batch is full or ``ARCHIVE_BATCH_SECONDS``
after its first article. One commit per batch instead of two per article is most of
what a crawl's storage costs. An item waits (its ``process_item`` is awaitable) until
its batch is committed, so it leaves the pipeline stored, with its story. Nothing is
lost to a ``kill -9``: a URL is marked seen (``seen_urls``) in the transaction that
stores its article, so the articles of an uncommitted batch are simply not seen yet,
and the next crawl fetches them again (tests/test_kill_resume.py). When a batch fails
(a bad item, a lock timeout), it is rolled back and its articles are stored one at a
time, each with its own error handling. ``ARCHIVE_BATCH_ITEMS = 1`` (the default
outside the project settings) stores each article before ``process_item`` returns.

The archive is the crawler's shared one (`crawler.archive.shared`), held from
``open_spider`` until the run is finished at ``spider_closed``.

Settings: ``AKHBAR_ARCHIVE_URL`` (default: SQLite under ``AKHBAR_DATA``),
``ARCHIVE_ENABLED`` (default True), ``ARCHIVE_BATCH_ITEMS`` (default 1, at most
500), ``ARCHIVE_BATCH_SECONDS`` (default 1.0).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.archive import Archive, archive_url
from crawler.archive.base import UpsertResult, now_utc
from crawler.archive.runs import run_id_for, warc_path
from crawler.archive.shared import crawler_archive, release_crawler_archive

logger = logging.getLogger(__name__)

MAX_BATCH_ITEMS = 500
"""Ids of a batch go into one ``IN (...)`` list: well under every SQLite build's limit."""


class BatchHook(Protocol):
    """Work done inside a batch's transaction, after its articles are stored (the dedup
    pipeline's story assignment). `begin` runs first in the transaction (locks to take
    before any write); `stored` gets the batch's items with their upsert results and
    returns what to do once the transaction has committed (stats, item fields), or None.
    An exception rolls the batch back: its articles are then stored one at a time
    without the hooks."""

    def begin(self) -> None: ...

    def stored(self, batch: list[tuple[Any, UpsertResult]]) -> Callable[[], None] | None: ...


_pipelines: weakref.WeakKeyDictionary[Any, ArchivePipeline] = weakref.WeakKeyDictionary()


def archive_pipeline_for(crawler: Any) -> ArchivePipeline | None:
    """The crawler's archive pipeline (None when it is not enabled), for `BatchHook`s."""
    return _pipelines.get(crawler)


class ArchivePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.url = archive_url(crawler.settings)
        self.archive: Archive | None = None
        self.run_id: str | None = None
        self.stats = crawler.stats
        settings = crawler.settings
        self.batch_items = min(MAX_BATCH_ITEMS, max(1, settings.getint("ARCHIVE_BATCH_ITEMS", 1)))
        self.batch_seconds = max(0.0, settings.getfloat("ARCHIVE_BATCH_SECONDS", 1.0))
        self.hooks: list[BatchHook] = []
        self.hosts: tuple[str, ...] = ()
        self._batch: list[tuple[Any, Any]] = []
        """Items waiting for the next commit, each with the Deferred its caller awaits."""
        self._timer: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchivePipeline:
        if not crawler.settings.getbool("ARCHIVE_ENABLED", True):
            raise NotConfigured("ARCHIVE_ENABLED is off")
        pipe = cls(crawler)
        crawler.signals.connect(pipe.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipe.spider_error, signal=signals.spider_error)
        _pipelines[crawler] = pipe
        return pipe

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.archive = crawler_archive(self.crawler, self.url)
        self.run_id = run_id_for(self.crawler)
        self.hosts = source_hosts(spider)
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
        """The item once stored: itself when batches are off, else an awaitable that
        gives it back when its batch has committed."""
        if self.batch_items <= 1:
            self._write([item])
            return item
        from twisted.internet.defer import Deferred

        waiter: Deferred[None] = Deferred()
        self._batch.append((item, waiter))
        if len(self._batch) >= self.batch_items:
            self.flush()
        elif self._timer is None:
            from scrapy.utils.asyncio import call_later

            self._timer = call_later(self.batch_seconds, self._on_timer)
        return _after(waiter, item)

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> None:
        """Store the waiting batch now and release its items."""
        if self._timer is not None:
            timer, self._timer = self._timer, None
            timer.cancel()
        batch, self._batch = self._batch, []
        if not batch:
            return
        try:
            self._write([item for item, _ in batch])
        finally:
            for _, waiter in batch:
                waiter.callback(None)

    def _write(self, items: list[Any]) -> None:
        """Store `items` in one transaction with the hooks' work, else one at a time."""
        assert self.archive is not None
        archive = self.archive
        done: list[Callable[[], None]] = []
        try:
            with archive.transaction():
                for hook in self.hooks:
                    hook.begin()
                results = self._store(items) if len(items) > 1 else \
                    [archive.upsert_article(items[0], run_id=self.run_id, hosts=self.hosts)]
                stored = list(zip(items, results))
                for hook in self.hooks:
                    after = hook.stored(stored)
                    if after is not None:
                        done.append(after)
        except Exception as exc:
            if len(items) > 1:
                logger.warning("archive: a batch of %d articles failed (%s); storing them one at a time",
                               len(items), exc)
                self.stats.inc_value("archive/batch_retried")
            else:
                logger.debug("archive: storing %s with its story failed; storing it alone", _url_of(items[0]),
                             exc_info=True)
            for item in items:
                self._write_one(item)
            return
        for _item, result in stored:
            self.stats.inc_value(f"archive/{result.action}")
        for after in done:
            after()

    def _store(self, items: list[Any]) -> list[UpsertResult]:
        """Upsert a batch inside the caller's transaction, in order: runs of articles no
        row holds yet go in a few multi-row statements (`crawler.archive.bulk`, the rows
        `upsert_article` would write, as the importer writes them); the rest (an archived
        key, a key an earlier article of the batch holds, a canonical URL on another host,
        a record `upsert_article` refuses) one at a time through `upsert_article`. Per
        article that saves the source upsert, two key lookups and the sort-key probe, and
        a statement's Python overhead on each insert (issue 18)."""
        from crawler.archive import bulk

        assert self.archive is not None
        archive = self.archive
        sqlite = archive.dialect == "sqlite"
        preps: list[bulk.Prepared | None] = []
        for item in items:
            try:
                preps.append(bulk.prepare(item, sqlite=sqlite))
            except Exception:  # upsert_article raises it again, in order, and the batch is redone
                preps.append(None)
        found = bulk.lookup(archive, [p for p in preps if p is not None])
        results: list[UpsertResult | None] = [None] * len(items)
        segment: list[tuple[int, bulk.Prepared]] = []
        now = now_utc()

        def insert_segment() -> None:
            if segment:
                ids = bulk.insert_new(archive, [p for _, p in segment], run_id=self.run_id, now=now)
                for (i, _), aid in zip(segment, ids):
                    results[i] = UpsertResult(aid, "inserted", 1)
                segment.clear()

        for i, (item, p) in enumerate(zip(items, preps)):
            if p is not None and found.claim(p)[0]:
                segment.append((i, p))
            else:
                insert_segment()
                results[i] = archive.upsert_article(item, run_id=self.run_id, hosts=self.hosts)
        insert_segment()
        return [r for r in results if r is not None]

    def _write_one(self, item: Any) -> None:
        assert self.archive is not None
        try:
            result = self.archive.upsert_article(item, run_id=self.run_id, hosts=self.hosts)
        except Exception as exc:
            url = _url_of(item)
            logger.error("archive: could not store %s: %s", url, exc, exc_info=True)
            self.stats.inc_value("archive/errors")
            try:
                self.archive.add_run_error(self.run_id or "", f"archive: {exc}", url=url)
            except Exception:
                logger.debug("could not record the error on the run", exc_info=True)
            return
        self.stats.inc_value(f"archive/{result.action}")

    def close_spider(self) -> None:
        # Scrapy closes the pipelines once no item is in progress, so nothing should be
        # waiting here; a batch that is (an engine stopped another way) is stored, not lost
        if self.archive is not None:
            self.flush()

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
        self.flush()
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


async def _after(waiter: Any, item: Any) -> Any:
    from scrapy.utils.defer import maybe_deferred_to_future

    await maybe_deferred_to_future(waiter)
    return item


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
