"""One Archive per crawler (crawler/archive/shared.py), on both backends: the archive and
dedup pipelines, the seen-set, the failed-URL store and the monitors of one crawler use
one `Archive` object (one connection per thread), it stays open until the last of them
is done, whatever the order they shut down in, and is closed exactly once; two
crawlers in one process get separate archives. Then a real two-site crawl of the
offline snapshot, in a subprocess, counts the Archive objects and connections it made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from itemadapter import ItemAdapter
from scrapy.utils.test import get_crawler

from crawler.archive import Archive, open_archive
from crawler.archive.shared import crawler_archive, crawler_archive_users, release_crawler_archive, using_crawler_archive
from crawler.items import Article
from crawler.ops.monitors import MonitorsExtension
from pipelines.archive import ArchivePipeline
from pipelines.dedup import DedupPipeline
from spiders.le12 import Le12Spider

ROOT = Path(__file__).resolve().parent.parent


class Crawl:
    """The archive-using components of one crawler, built the way Scrapy builds them."""

    def __init__(self, archive_url: str, data: Path) -> None:
        self.crawler = get_crawler(Le12Spider, {
            "AKHBAR_ARCHIVE_URL": archive_url, "AKHBAR_DATA": str(data),
            "AKHBAR_FAILED_STORE": "crawler.ops.failed_urls.FailedUrlsStore",
            "AKHBAR_SEEN_STORE": "crawler.archive.seen.ArchiveSeenStore",
        })
        self.spider = Le12Spider.from_crawler(self.crawler, source="le12")  # seen-set and failed store
        self.crawler.spider = self.spider
        self.pipe = ArchivePipeline.from_crawler(self.crawler)
        self.dedup = DedupPipeline.from_crawler(self.crawler)
        self.monitors = MonitorsExtension.from_crawler(self.crawler)
        self.pipe.open_spider()
        self.dedup.open_spider()

    def components(self) -> dict[str, Archive]:
        assert self.dedup.dedup is not None
        return {"archive pipeline": self.pipe.archive, "dedup pipeline": self.dedup.archive,
                "dedup": self.dedup.dedup.archive, "dedup store": self.dedup.dedup.store.archive,
                "seen": self.spider.seen.archive, "failed": self.spider.failed.failed.archive}

    def article(self, n: int) -> str | None:
        """Article `n` through the archive then the dedup pipeline; its story id."""
        item = Article(url=f"https://le12.ma/article/{n}/", source="le12", title=f"خبر رقم {n} عن المغرب",
                       body_text=f"نص الخبر رقم {n} " * 20,
                       date_published=datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=n))
        return ItemAdapter(self.dedup.process_item(self.pipe.process_item(item))).get("story_id")


def count_closes(archive: Archive) -> list[int]:
    """Counts the real `close` calls on this object (the registry closes it, not the test)."""
    calls = [0]
    real = archive.close

    def close() -> None:
        calls[0] += 1
        real()

    archive.close = close  # type: ignore[method-assign]
    return calls


def test_the_registry_shares_per_crawler_and_url_and_counts_users(archive_url: str, tmp_path: Path) -> None:
    crawler = get_crawler(settings_dict={"AKHBAR_ARCHIVE_URL": archive_url})
    a = crawler_archive(crawler)
    try:
        assert crawler_archive(crawler) is a and crawler_archive_users(crawler, a) == 2
        with using_crawler_archive(crawler, archive_url) as b:
            assert b is a and crawler_archive_users(crawler, a) == 3
        other_url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
        with using_crawler_archive(crawler, other_url) as other:
            assert other is not a and other.url == other_url
        release_crawler_archive(crawler, a)
        assert crawler_archive_users(crawler, a) == 1 and a.fetchval("SELECT COUNT(*) FROM articles") == 0
    finally:
        release_crawler_archive(crawler, a)
    assert crawler_archive_users(crawler, a) == 0 and a._conns == []
    with pytest.raises(ValueError, match="released once too often"):
        release_crawler_archive(crawler, a)
    # the next user of a closed one gets a fresh, open archive
    with using_crawler_archive(crawler) as again:
        assert again is not a and again.fetchval("SELECT COUNT(*) FROM articles") == 0


def test_components_of_one_crawler_share_one_archive_and_connection(archive_url: str, tmp_path: Path) -> None:
    crawl = Crawl(archive_url, tmp_path)
    archive = crawl.pipe.archive
    assert archive is not None
    closes = count_closes(archive)
    assert all(a is archive for a in crawl.components().values()), crawl.components()
    crawl.monitors.spider_opened(crawl.spider)
    assert crawl.monitors._archive is archive
    # pipelines, seen-set and failed store on this thread: one connection between them
    ids = [crawl.article(n) for n in range(4)]
    assert all(ids)
    crawl.spider.failed.record("https://le12.ma/article/99/", source="le12", reason="http 500", status=500)
    assert crawl.spider.seen.is_fresh("https://le12.ma/article/1/", source="le12")
    assert len(archive._conns) == 1
    # the monitors' record runs on a worker thread: that thread's own connection, same object
    report = {"run_id": crawl.pipe.run_id, "source": "le12", "spider": "le12", "health": "ok", "monitors": []}
    worker = threading.Thread(target=crawl.monitors._record, args=(report,))
    worker.start()
    worker.join()
    assert len(archive._conns) == 2 and crawler_archive_users(crawl.crawler, archive) == 5
    crawl.dedup.close_spider()
    crawl.spider.seen.close()
    crawl.spider.failed.close()
    crawl.pipe.spider_closed(crawl.spider, "finished")
    assert closes == [0]  # the monitors still hold it
    release_crawler_archive(crawl.crawler, crawl.monitors._archive)
    assert closes == [1] and archive._conns == []
    with open_archive(archive_url) as check:
        run = next(r for r in check.runs() if r["id"] == report["run_id"])
        assert run["status"] == "finished" and run["health"] == "ok" and run["stats"]["archive/inserted"] == 4
        assert check.fetchval("SELECT COUNT(DISTINCT story_id) FROM articles") == len(set(ids))


ORDERS = {
    # Scrapy's: pipelines' close_spider, then the spider_closed handlers
    "dedup-first": ("dedup", "archive", "seen", "failed"),
    "archive-first": ("archive", "failed", "dedup", "seen"),
    "stores-first": ("seen", "failed", "dedup", "archive"),
}


@pytest.mark.parametrize("order", ORDERS)
def test_the_archive_stays_open_until_the_last_user_whatever_the_order(archive_url: str, tmp_path: Path,
                                                                      order: str) -> None:
    crawl = Crawl(archive_url, tmp_path)
    archive = crawl.pipe.archive
    assert archive is not None
    closes = count_closes(archive)
    crawl.article(1)
    second = Article(url="https://le12.ma/article/2/", source="le12", title="خبر ثان", body_text="نص آخر " * 30)
    crawl.pipe.process_item(second)  # archived; its story comes with dedup's last item
    run_id = crawl.pipe.run_id

    # each component's last use of the archive, then its release
    def archive_done() -> None:
        crawl.pipe.spider_closed(crawl.spider, "finished")  # finish_run, then release

    def dedup_done() -> None:
        assert ItemAdapter(crawl.dedup.process_item(second)).get("story_id")
        crawl.dedup.close_spider()

    def seen_done() -> None:
        assert crawl.spider.seen.is_fresh("https://le12.ma/article/1/", source="le12")
        crawl.spider.seen.close()

    def failed_done() -> None:
        crawl.spider.failed.record("https://le12.ma/article/98/", source="le12", reason="http 503", status=503)
        crawl.spider.failed.close()

    steps = {"archive": archive_done, "dedup": dedup_done, "seen": seen_done, "failed": failed_done}
    for i, name in enumerate(ORDERS[order]):
        steps[name]()
        last = i == len(ORDERS[order]) - 1
        assert closes == [1 if last else 0], name
        assert crawler_archive_users(crawl.crawler, archive) == len(ORDERS[order]) - 1 - i
    assert archive._conns == []
    # a second close signal (Scrapy may send spider_closed to a store twice) releases nothing more
    crawl.spider.seen.close()
    crawl.spider.failed.close()
    crawl.dedup.close_spider()
    assert closes == [1]
    with open_archive(archive_url) as check:
        run = next(r for r in check.runs() if r["id"] == run_id)
        assert run["status"] == "finished" and run["stats"]["archive/inserted"] == 2
        assert check.fetchval("SELECT COUNT(*) FROM failed_urls") == 1
        assert check.fetchval("SELECT COUNT(*) FROM articles WHERE story_id IS NULL") == 0


def test_two_crawlers_in_one_process_get_separate_archives(archive_url: str, tmp_path: Path) -> None:
    one, two = Crawl(archive_url, tmp_path / "one"), Crawl(archive_url, tmp_path / "two")
    a, b = one.pipe.archive, two.pipe.archive
    assert a is not None and b is not None and a is not b
    assert all(x is a for x in one.components().values()) and all(x is b for x in two.components().values())
    closes_a, closes_b = count_closes(a), count_closes(b)
    one.article(1)
    for done in (one.dedup.close_spider, one.spider.seen.close, one.spider.failed.close):
        done()
    one.pipe.spider_closed(one.spider, "finished")
    assert closes_a == [1] and closes_b == [0]
    # the other crawl goes on with its own
    assert two.article(1) and two.article(2)
    for done in (two.dedup.close_spider, two.spider.seen.close, two.spider.failed.close):
        done()
    two.pipe.spider_closed(two.spider, "finished")
    assert closes_b == [1]


PROBE = r'''
"""A real `akhbar crawl` of two snapshot sites in one process, counting Archive objects,
their connections (per thread) and closes, and checking which object each component holds."""
import json
import sys
import threading
from pathlib import Path

from crawler.archive.postgres import PostgresArchive
from crawler.archive.sqlite import SQLiteArchive

made: dict[int, dict] = {}


def instrument(cls):
    init, connect, close = cls.__init__, cls._connect, cls.close

    def __init__(self, *a, **k):
        init(self, *a, **k)
        made[id(self)] = {"threads": [], "closes": 0, "conns_at_close": None}

    def _connect(self):
        made[id(self)]["threads"].append(threading.get_ident())
        return connect(self)

    def close_(self):
        rec = made[id(self)]
        rec["closes"] += 1
        if rec["conns_at_close"] is None:
            rec["conns_at_close"] = len(self._conns)
        close(self)

    cls.__init__, cls._connect, cls.close = __init__, _connect, close_


instrument(SQLiteArchive)
instrument(PostgresArchive)
seen: dict[str, dict] = {}


class Probe:
    """Which Archive each component of its crawler holds, at the first scraped item."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals

        probe = cls(crawler)
        crawler.signals.connect(probe.item_scraped, signal=signals.item_scraped)
        return probe

    def item_scraped(self, item, response, spider):
        if spider.source_id in seen:
            return
        from crawler.ops.monitors import MonitorsExtension
        from pipelines.archive import ArchivePipeline
        from pipelines.dedup import DedupPipeline

        pipes = {type(p): p for p in self.crawler.engine.scraper.itemproc.middlewares}
        exts = {type(e): e for e in self.crawler.extensions.middlewares}
        dedup = pipes[DedupPipeline]
        held = {"archive": pipes[ArchivePipeline].archive, "dedup": dedup.archive, "dedup store": dedup.dedup.store.archive,
                "seen": spider.seen.archive, "failed": spider.failed.failed.archive,
                "monitors": exts[MonitorsExtension]._archive}
        seen[spider.source_id] = {k: id(v) for k, v in held.items()}


if __name__ == "__main__":
    from scrapy.utils.project import get_project_settings

    from crawler.commands.crawl import crawl_sites
    from crawler.snapshot import SnapshotServer

    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    sites = ["le12", "rue20"]
    extensions = {**get_project_settings().getdict("EXTENSIONS"), "__main__.Probe": 900}
    with SnapshotServer(sites=sites) as snap:
        stats = crawl_sites(sites, data, base_urls=snap.base_urls, settings={"EXTENSIONS": extensions})
    out.write_text(json.dumps({"made": list(made.values()), "ids": list(made), "seen": seen,
                               "scraped": {s: st.get("item_scraped_count", 0) for s, st in stats.items()}}))
'''


def test_a_real_two_site_crawl_opens_one_archive_per_crawler(archive_url: str, tmp_path: Path) -> None:
    script = tmp_path / "probe_crawl.py"
    script.write_text(PROBE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AKHBAR_")}
    env.update(AKHBAR_ARCHIVE_URL=archive_url, AKHBAR_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    out = tmp_path / "probe.json"
    run = subprocess.run([sys.executable, str(script), str(tmp_path / "data"), str(out)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    # no component used a closed archive, nor failed to judge or record its run
    assert "Traceback" not in run.stderr and "could not" not in run.stderr, run.stderr[-3000:]
    probe = json.loads(out.read_text())
    assert all(n > 0 for n in probe["scraped"].values()), probe["scraped"]
    held = probe["seen"]
    assert set(held) == {"le12", "rue20"}
    for site, ids in held.items():
        assert len(set(ids.values())) == 1, (site, ids)  # every component: one object
    assert held["le12"]["archive"] != held["rue20"]["archive"]
    # two crawlers: two Archive objects, nothing else opened one; each closed exactly once
    assert sorted(probe["ids"]) == sorted({held["le12"]["archive"], held["rue20"]["archive"]})
    for rec in probe["made"]:
        assert rec["closes"] == 1, rec
        # one connection per thread that used it: the reactor's and the monitors' worker's
        assert len(rec["threads"]) == len(set(rec["threads"])) == rec["conns_at_close"] <= 2, rec
    with open_archive(archive_url) as check:
        runs = {r["source"]: r for r in check.runs()}
    for site in ("le12", "rue20"):
        assert runs[site]["status"] == "finished" and runs[site]["health"] == "ok", runs[site]
        assert runs[site]["articles_new"] == probe["scraped"][site]
