"""Dedup pipeline: every archived article gets a story.

Runs with the archive pipeline (ITEM_PIPELINES 600; the archive is 500): it is the
archive pipeline's `BatchHook`, so a batch's stories are assigned in the transaction
that stores its articles, which also keeps ``articles.story_id`` / ``is_canonical``
in step for the whole story (an earlier report arriving later becomes the canonical
one). The item leaves with ``story_id`` and ``is_canonical`` as they stand once its
batch is committed, so the crawl's own JSON Lines output carries them too. An item
the archive stored on its own (its batch failed and was stored one at a time) gets
its story here, in a transaction of its own, as does every item when this pipeline
runs without the archive pipeline's hook. Nothing is ever dropped.

Concurrent crawls (two processes, or machines on one PostgreSQL archive) are
serialised on a lock for the assignment step only, which makes their stories the
ones a single crawl would produce. When the spider opens, articles archived without
a story (a crawl with dedup off, or one that died between the two steps) are given
theirs first.

Settings: ``DEDUP_ENABLED`` (default True), ``AKHBAR_ARCHIVE_URL`` (shared with the
archive pipeline). Stats: ``dedup/new_story``, ``dedup/joined``, ``dedup/renamed``,
``dedup/unarchived``, ``dedup/errors``, ``dedup/backfilled``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured

from crawler.archive import Archive, archive_url
from crawler.archive.base import UpsertResult
from crawler.archive.canonical import fold_url, url_host
from crawler.archive.shared import crawler_archive, release_crawler_archive
from crawler.dedup.stories import ArchiveDedup, StoryResult
from pipelines.archive import ArchivePipeline, archive_pipeline_for, source_hosts

logger = logging.getLogger(__name__)


class DedupPipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.url = archive_url(crawler.settings)
        self.stats = crawler.stats
        self.archive: Archive | None = None
        self.dedup: ArchiveDedup | None = None
        self.hosts: tuple[str, ...] = ()
        self._own_hosts: set[str] = set()
        self._store: ArchivePipeline | None = None
        self._assigned: dict[int, tuple[Any, StoryResult]] = {}
        """Items whose story their batch assigned (by ``id``; the item is kept to check
        identity), until they reach `process_item`."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> DedupPipeline:
        if not crawler.settings.getbool("DEDUP_ENABLED", True):
            raise NotConfigured("DEDUP_ENABLED is off")
        if not crawler.settings.getbool("ARCHIVE_ENABLED", True):
            raise NotConfigured("dedup keeps its index in the archive, and ARCHIVE_ENABLED is off")
        return cls(crawler)

    def open_spider(self) -> None:
        # the archive pipeline's own Archive object: with a second one, this thread would
        # wait on its other connection's write lock
        self.archive = crawler_archive(self.crawler, self.url)
        self.dedup = ArchiveDedup(self.archive)
        self.hosts = source_hosts(self.crawler.spider)
        self._own_hosts = {url_host(h) for h in self.hosts}
        n = self.dedup.index_missing()
        if n:
            logger.info("dedup: gave %d archived articles without a story theirs", n)
            self.stats.inc_value("dedup/backfilled", n)
        store = archive_pipeline_for(self.crawler)
        if store is not None and store.url == self.url:
            store.hooks.append(self)
            self._store = store

    def close_spider(self) -> None:
        if self._store is not None:
            self._store.hooks.remove(self)
            self._store = None
        self._assigned.clear()
        if self.archive is not None:
            archive, self.archive, self.dedup = self.archive, None, None
            release_crawler_archive(self.crawler, archive)

    # --- BatchHook: inside the archive pipeline's transaction -------------------------
    def begin(self) -> None:
        # the assignment lock before the batch's first write: on PostgreSQL two crawlers'
        # batches then never wait on each other's rows while holding it
        assert self.dedup is not None
        self.dedup.store.lock()

    def stored(self, batch: list[tuple[Any, UpsertResult]]) -> Callable[[], None]:
        assert self.dedup is not None
        results = self.dedup.assign_many([res.id for _, res in batch],
                                          new={res.id for _, res in batch if res.action == "inserted"})

        def committed() -> None:
            for (item, _), res in zip(batch, results):
                if res is not None:
                    self._assigned[id(item)] = (item, res)

        return committed

    # --- per item ----------------------------------------------------------------------
    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        if self.dedup is None:
            # closed already (an engine stopped without waiting for its items): the next
            # crawl's `index_missing` gives the stored article its story
            logger.warning("dedup: closed before %s arrived; its story comes with the next crawl", adapter.get("url"))
            self.stats.inc_value("dedup/late")
            return item
        done = self._assigned.pop(id(item), None)
        if done is not None and done[0] is item:
            res: StoryResult | None = done[1]
        else:
            try:
                aid = self._article_id(adapter)
                if aid is None:
                    # the archive pipeline could not store it (it logged why): no story, item kept
                    self.stats.inc_value("dedup/unarchived")
                    return item
                res = self.dedup.assign(aid)
            except Exception as exc:
                logger.error("dedup: could not assign a story to %s: %s", adapter.get("url"), exc, exc_info=True)
                self.stats.inc_value("dedup/errors")
                return item
        if res is None:
            self.stats.inc_value("dedup/unarchived")
            return item
        self.stats.inc_value("dedup/joined" if res.duplicates else "dedup/new_story")
        if res.renamed:
            self.stats.inc_value("dedup/renamed", len(res.renamed))
        adapter["story_id"] = res.story_id
        adapter["is_canonical"] = res.is_canonical
        try:
            if self._canonical_hint(adapter, res.story_id):
                self.stats.inc_value("dedup/canonical_hint")
        except Exception as exc:  # a hint is a hint: the story stands without it
            logger.warning("dedup: canonical hint for %s not recorded: %s", adapter.get("url"), exc)
        return item

    def _article_id(self, adapter: ItemAdapter) -> int | None:
        assert self.archive is not None
        return self.archive.article_id_for(adapter.item, hosts=self.hosts)

    def _canonical_hint(self, adapter: ItemAdapter, story_id: str) -> bool:
        """A report declaring another source's article as its canonical (a wire copy naming
        the original outlet) is never keyed on it (crawler/archive/base.py), but the claim is
        a hint that the two tell one story: when the texts did not join them, each story
        lists the other as related with score 1.0 (`related_stories`, "also reported by"
        pages). Returns True when a hint was recorded."""
        canonical, source, url = adapter.get("canonical_url"), adapter.get("source"), adapter.get("url")
        if not canonical or not source or canonical == url:
            return False
        host = url_host(canonical)
        if host in self._own_hosts or (url and host == url_host(url)):
            return False
        assert self.archive is not None
        row = self.archive.fetchone("SELECT source, story_id FROM articles WHERE url_key = ?", (fold_url(canonical),))
        if row is None or row["source"] == source or not row["story_id"] or row["story_id"] == story_id:
            return False
        with self.archive.transaction():
            for a, b in ((story_id, row["story_id"]), (row["story_id"], story_id)):
                self.archive.execute(
                    "INSERT INTO story_related (story_id, related_id, score) VALUES (?, ?, 1.0) "
                    "ON CONFLICT (story_id, related_id) DO UPDATE SET score = 1.0", (a, b))
        return True
