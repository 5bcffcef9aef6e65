"""The archive pipeline's batched write (`ArchivePipeline._store`: new articles in
multi-row statements, the rest through `upsert_article`) stores what storing the same
items one at a time stores, on both backends: rows, search text, seen URLs, versions,
upsert actions and stories, for a batch mixing new articles, a key repeated inside the
batch, an archived article re-crawled, canonical URLs on the source's own other host and
on another site's, and another source on the same address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.utils.test import get_crawler

from crawler.archive import Archive
from crawler.items import Article
from pipelines.archive import ArchivePipeline
from pipelines.dedup import DedupPipeline

T0 = datetime(2024, 5, 1, 8, tzinfo=UTC)
BODY = "أعلنت وزارة الفلاحة عن برنامج جديد لدعم الفلاحين الصغار في جهة سوس ماسة خلال الموسم الحالي "


def art(n: int, **kw: Any) -> Article:
    fields: dict[str, Any] = {"url": f"https://le12.ma/a/{n}", "source": "le12", "title": f"عنوان الخبر {n}",
                              "body_text": f"{BODY * 3} رقم {n}", "date_published": T0 + timedelta(hours=n),
                              "fetched_at": T0 + timedelta(days=1)}
    fields.update(kw)
    return Article(**fields)


def first_batch() -> list[Article]:
    return [art(1, site_article_id="1"), art(2), art(50, body_text=BODY * 4)]


def second_batch() -> list[Article]:
    return [
        art(3, site_article_id="3"),
        art(4),
        art(3, site_article_id="3", body_text=f"{BODY} تحديث"),  # its key again, inside the batch
        art(2, body_text=f"{BODY * 2} تحديث"),  # archived by the first batch: a new version
        art(5, canonical_url="https://le12.ma/a/5?utm_source=x"),  # canonical on its own host
        art(6, canonical_url="https://alt.le12.ma/a/6"),  # on the source's other host
        art(7, canonical_url="https://hespress.com/a/7"),  # a wire copy: another site's address
        art(8, url="https://le12.ma/a/1", source="other"),  # another source on an archived address
        art(9, site_article_id="1", url="https://le12.ma/a/1-moved"),  # the site id of an archived one
        art(10, body_text=BODY * 4),  # same text as article 50: joins its story
        art(11),
    ]


class Crawl:
    def __init__(self, archive_url: str, data: Path) -> None:
        self.crawler = get_crawler(Spider, {"AKHBAR_ARCHIVE_URL": archive_url, "AKHBAR_DATA": str(data)})
        self.crawler.spider = self.crawler._create_spider("t")  # noqa: SLF001
        self.pipe = ArchivePipeline.from_crawler(self.crawler)
        self.dedup = DedupPipeline.from_crawler(self.crawler)
        self.pipe.open_spider()
        self.dedup.open_spider()
        self.pipe.hosts = ("https://le12.ma", "https://alt.le12.ma")
        self.dedup.hosts = self.pipe.hosts

    def write(self, items: list[Article], batched: bool) -> list[tuple[str, Any, Any]]:
        if batched:
            self.pipe._write(items)  # noqa: SLF001 - what a full batch's flush does
        else:
            for item in items:
                self.pipe._write([item])  # noqa: SLF001
        return [(i.url, *self._story(i)) for i in [self.dedup.process_item(i) for i in items]]

    def _story(self, item: Article) -> tuple[Any, Any]:
        return item.story_id, item.is_canonical

    @property
    def archive(self) -> Archive:
        assert self.pipe.archive is not None
        return self.pipe.archive

    def close(self) -> None:
        self.pipe.spider_closed(self.crawler.spider, "finished")
        self.dedup.close_spider()


def state(a: Archive) -> dict[str, Any]:
    skip = {"archived_at", "updated_at", "run_id"}
    return {
        "articles": [{k: v for k, v in r.items() if k not in skip}
                     for r in a.fetch("SELECT * FROM articles ORDER BY id")],
        "text": a.fetch("SELECT article_id, sort_key, title, body FROM article_text ORDER BY article_id"),
        "seen": a.fetch("SELECT url_key, source, article_id, last_fetched_at FROM seen_urls ORDER BY url_key"),
        "versions": a.fetch("SELECT article_id, version, title, body_text, content_hash FROM article_versions "
                            "ORDER BY article_id, version"),
        "stories": a.fetch("SELECT story_id, canonical_id, size FROM stories ORDER BY story_id"),
        "search": [r["id"] for r in a.search("الفلاحة", limit=50).items],
    }


@pytest.mark.parametrize("archive_url", ["sqlite", "postgres"], indirect=True)
def test_a_batch_stores_what_one_at_a_time_stores(archive_url: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.archive import bulk

    inserted_in_bulk = [0]
    real = bulk.insert_new

    def counting(archive: Archive, preps: Any, **kw: Any) -> list[int]:
        inserted_in_bulk[0] += len(preps)
        return real(archive, preps, **kw)

    monkeypatch.setattr(bulk, "insert_new", counting)
    if archive_url.startswith("sqlite"):
        urls = [archive_url, f"sqlite:///{tmp_path / 'one.sqlite3'}"]
    else:
        urls = [archive_url, archive_url.replace("?schema=t_", "?schema=t1_")]
    crawls = [Crawl(u, tmp_path / f"data{k}") for k, u in enumerate(urls)]
    try:
        out = []
        for crawl, batched in zip(crawls, (True, False)):
            crawl.write(first_batch(), batched)
            out.append(crawl.write(second_batch(), batched))
        assert out[0] == out[1]
        assert all(story for _, story, _ in out[0])
        batched_state, single_state = (state(c.archive) for c in crawls)
        assert batched_state == single_state
        # article 2 re-crawled, article 3 twice in the batch, article 1 under its site id
        assert len(batched_state["versions"]) == 3
        assert inserted_in_bulk[0] >= 6  # the batch really took the multi-row path
        stats = [c.crawler.stats.get_stats() for c in crawls]
        for key in ("archive/inserted", "archive/updated"):
            assert stats[0].get(key) == stats[1].get(key), key
    finally:
        for c in crawls:
            c.close()
        if not archive_url.startswith("sqlite"):
            from crawler.archive import open_archive

            extra = open_archive(urls[1], migrate=False)
            try:
                extra.drop_schema()
            finally:
                extra.close()


def test_an_address_a_foreign_canonical_declared_is_not_a_plain_insert_after_it() -> None:
    """`upsert_article` may key an article whose canonical is on another host under that
    declared address, so a later article of the same batch on that address must go
    through it too (the crawl and the import route their batches with `Existing.claim`)."""
    from crawler.archive import bulk

    wire = bulk.prepare(art(7, canonical_url="https://hespress.com/a/7"))
    same_address = bulk.prepare(art(12, url="https://hespress.com/a/7"))
    plain = bulk.prepare(art(13))
    assert wire.declared_key == same_address.url_key
    found = bulk.Existing({}, {})
    assert found.claim(wire) == (False, None)
    assert found.claim(same_address) == (False, None)
    assert found.claim(plain) == (True, None)
    assert bulk.Existing({}, {}).claim(same_address) == (True, None)  # alone, it is new
