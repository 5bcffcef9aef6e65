"""The archive end to end: a real crawl of the bundled snapshot into the archive
(WARC provenance, crawl runs, seen set), the archivists' commands (search, export,
import round trip) and the pipeline's error path, on SQLite and PostgreSQL.

Crawls and imports run `akhbar` in a subprocess: Twisted's reactor runs once per process.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.archive import open_archive
from crawler.commands.archive_cmds import EXPORT_COLUMNS
from crawler.items import Article
from tests.serving_support import serving

ROOT = Path(__file__).resolve().parent.parent


def akhbar(data: Path, *args: str, archive_url: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AKHBAR_ARCHIVE_URL": archive_url, "AKHBAR_LOG_LEVEL": "WARNING"}
    env.pop("AKHBAR_DATA", None)
    env.pop("AKHBAR_SOURCES", None)
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--data", str(data), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, input=stdin,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"akhbar {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def crawled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """One snapshot crawl of two sites per backend, shared by the tests that read it."""
    data = tmp_path_factory.mktemp("crawl") / "data"
    if request.param == "sqlite":
        url = f"sqlite:///{data / 'archive.sqlite3'}"
    else:
        url = f"{request.getfixturevalue('postgres_url')}?schema=akhbar_crawl_{uuid.uuid4().hex[:12]}"
    akhbar(data, "crawl", "--snapshot", "le12", "hespress", archive_url=url)
    yield data, url
    if request.param == "postgres":
        a = open_archive(url, migrate=False)
        a.drop_schema()  # type: ignore[attr-defined]
        a.close()


def test_crawl_archives_every_article_with_its_warc_record(crawled: tuple[Path, str]) -> None:
    data, url = crawled
    items = [json.loads(line) for line in (data / "items.jsonl").read_text(encoding="utf-8").splitlines()]
    assert items
    a = open_archive(url)
    try:
        assert a.count_articles() == len({(i["source"], i.get("site_article_id") or i["url"]) for i in items})
        checked = 0
        for item in items[:25]:
            got = a.find_article(item["url"], source=item["source"], site_article_id=item.get("site_article_id"))
            assert got is not None and got["title"] == item["title"]
            w = got["warc_record"]
            assert w and set(w) == {"file", "offset", "record_id"}
            with open(data / w["file"], "rb") as f:
                f.seek(w["offset"])
                record = next(iter(ArchiveIterator(f)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Record-ID") == w["record_id"]
            assert record.rec_headers.get_header("WARC-Target-URI") == got["url"]
            assert record.http_headers.get_statuscode() == "200"
            html = record.content_stream().read().decode("utf-8")
            assert max(re.findall(r"[\u0621-\u064A]+", got["title"]), key=len) in html
            checked += 1
        assert checked
        runs = a.runs()
        assert {r["source"] for r in runs} == {"le12", "hespress"}
        for r in runs:
            assert r["status"] == "finished" and r["finished_at"] is not None
            assert r["stats"].get("archive/inserted", 0) > 0
            assert r["warc_file"] and Path(r["warc_file"]).exists()
        # the seen-set now knows every archived URL
        assert all(a.is_fresh(i["url"], timedelta(hours=1)) for i in items)
    finally:
        a.close()


def test_recrawl_stores_nothing_twice(crawled: tuple[Path, str]) -> None:
    data, url = crawled
    a = open_archive(url)
    before = a.count_articles()
    a.close()
    # re-check window 0: every URL is fetched again and must update in place
    akhbar(data, "crawl", "--snapshot", "le12", "-s", "AKHBAR_RECHECK_HOURS=0", archive_url=url)
    a = open_archive(url)
    try:
        assert a.count_articles() == before
        latest = a.runs(limit=1)[0]
        assert latest["source"] == "le12" and latest["stats"].get("archive/inserted", 0) == 0
        assert latest["stats"].get("archive/unchanged", 0) + latest["stats"].get("archive/updated", 0) > 0
    finally:
        a.close()


def test_second_crawl_skips_what_the_archive_holds(archive_url: str, tmp_path: Path) -> None:
    """Incremental crawling: the same site at the same address, crawled twice; the second
    run skips every article URL the archive holds (re-check window) and stores nothing new."""
    from crawler.snapshot import SnapshotServer

    with SnapshotServer(sites=["hespress"]) as snap:
        sources = tmp_path / "sources.toml"
        text = (ROOT / "crawler" / "sources.toml").read_text(encoding="utf-8")
        sources.write_text(text.replace('base_url = "https://www.hespress.com"',
                                        f'base_url = "{snap.base_urls["hespress"]}"', 1), encoding="utf-8")
        data = tmp_path / "data"
        akhbar(data, "--sources", str(sources), "crawl", "hespress", archive_url=archive_url)
        a = open_archive(archive_url)
        first = a.runs(limit=1)[0]
        count = a.count_articles()
        a.close()
        assert first["stats"].get("archive/inserted", 0) == count > 0
        akhbar(data, "--sources", str(sources), "crawl", "hespress", archive_url=archive_url)
    a = open_archive(archive_url)
    try:
        second = a.runs(limit=1)[0]
        assert second["id"] != first["id"]
        assert second["stats"].get("akhbar/skipped_fresh", 0) >= count
        assert second["stats"].get("item_scraped_count", 0) == 0
        assert a.count_articles() == count
    finally:
        a.close()


def test_search_command_formats_and_errors(crawled: tuple[Path, str]) -> None:
    data, url = crawled
    a = open_archive(url)
    title = a.search(None, source="le12", limit=1).items[0]["title"]
    a.close()
    word = max(re.findall(r"[\u0621-\u064A]+", title), key=len)
    out = akhbar(data, "search", word, "--format", "json", "--source", "le12", archive_url=url).stdout
    body = json.loads(out)
    assert body["items"] and all(i["source"] == "le12" for i in body["items"])
    assert title in [i["title"] for i in body["items"]] or body["has_more"]
    rows = list(csv.DictReader(io.StringIO(akhbar(data, "search", word, "--format", "csv", archive_url=url).stdout)))
    assert rows and {"id", "title", "url"} <= set(rows[0])
    table = akhbar(data, "search", word, "--limit", "3", archive_url=url).stdout
    assert table.strip()
    lone = akhbar(data, "search", f'"{word}', "--format", "json", archive_url=url, check=False)
    assert lone.returncode == 0 and "unbalanced quote" in lone.stderr and "Traceback" not in lone.stderr
    assert json.loads(lone.stdout)["items"] and "unbalanced quote" in json.loads(lone.stdout)["hints"][0]
    bad = akhbar(data, "search", "x", "--since", "tomorrow", archive_url=url, check=False)
    assert bad.returncode == 2 and "bad date" in bad.stderr


def test_export_import_round_trip(crawled: tuple[Path, str], tmp_path: Path) -> None:
    data, url = crawled
    exported = akhbar(data, "export", archive_url=url).stdout
    records = [json.loads(line) for line in exported.splitlines()]
    a = open_archive(url)
    try:
        assert len(records) == a.count_articles()
        assert all(list(r) == list(EXPORT_COLUMNS) for r in records)
        first = a.get_article(records[0]["id"])
        assert records[0]["title"] == first["title"] and records[0]["tags"] == first["tags"]
    finally:
        a.close()
    # CSV: same rows, every column
    rows = list(csv.DictReader(io.StringIO(akhbar(data, "export", "--format", "csv", archive_url=url).stdout)))
    assert len(rows) == len(records) and set(rows[0]) == set(EXPORT_COLUMNS)
    # to a file, then into a fresh archive through the pipelines
    dump = tmp_path / "dump.jsonl"
    akhbar(data, "export", "--output", str(dump), archive_url=url)
    assert dump.read_text(encoding="utf-8") == exported
    target = url.replace("archive.sqlite3", "copy.sqlite3") if url.startswith("sqlite") else url.replace("?schema=", "?schema=copy_")
    try:
        proc = akhbar(tmp_path / "copy", "import", str(dump), archive_url=target)
        assert f"import: {len(records)} records read; imported {len(records)} (inserted {len(records)}, updated 0)" in proc.stderr
        b = open_archive(target)
        try:
            assert b.count_articles() == len(records)
            for rec in records:
                got = b.find_article(rec["url"], source=rec["source"], site_article_id=rec["site_article_id"])
                for name in ("url", "source", "canonical_url", "site_article_id", "title", "body_html", "body_text",
                             "summary", "author", "tags", "date_published_raw", "date_displayed_raw", "warc_record",
                             "extraction", "http_status", "image_url"):
                    assert got[name] == rec[name], name
                assert got["fetched_at"].isoformat() == rec["fetched_at"]
            # importing the same file again changes nothing
            proc = akhbar(tmp_path / "copy", "import", str(dump), archive_url=target)
            assert f"imported 0 (inserted 0, updated 0); skipped {len(records)} (unchanged (already stored) {len(records)})" \
                in proc.stderr.splitlines()[-1]
            assert b.count_articles() == len(records)
        finally:
            b.close()
    finally:
        if target.startswith("postgresql"):
            c = open_archive(target, migrate=False)
            c.drop_schema()  # type: ignore[attr-defined]
            c.close()


def test_import_reports_bad_records_and_keeps_the_good(archive_url: str, tmp_path: Path) -> None:
    f = tmp_path / "mixed.jsonl"
    good = {"url": "https://www.hespress.com/a-1.html", "source": "hespress", "title": "خبر جيد",
            "body_text": "نص", "date_published": "2024-02-03T10:00:00+01:00", "fetched_at": "2024-02-04T00:00:00Z",
            "tags": ["x"], "dataset_label": "kept in extra"}
    raw_date = {"url": "https://le12.ma/b-2", "source": "le12", "title": "تاريخ نصي", "body_text": "نص",
                "date_published": "الجمعة 8 أبريل 2022 - 23:56"}
    no_body = {"url": "https://le12.ma/c-3", "source": "le12", "title": "بلا نص"}
    f.write_text("\n".join([json.dumps(good, ensure_ascii=False), "{not json", json.dumps({"title": "no url"}),
                            json.dumps(raw_date, ensure_ascii=False), json.dumps(no_body, ensure_ascii=False), ""]), encoding="utf-8")
    proc = akhbar(tmp_path / "d", "import", str(f), archive_url=archive_url, check=False)
    # same pipelines as a crawl: the validation pipeline drops the article without a body;
    # two lines fail (not JSON, no url): exit 1, each named with its line and reason
    assert proc.returncode == 1
    assert "skipped 1 (dropped: no body 1)" in proc.stderr
    assert "failed 2 (invalid records 2)" in proc.stderr
    assert ":2: not JSON" in proc.stderr and ":3: url: required text field missing" in proc.stderr
    a = open_archive(archive_url)
    try:
        assert a.count_articles() == 2
        g = a.find_article(good["url"])
        assert g["date_published"].isoformat() == "2024-02-03T09:00:00+00:00"
        assert g["extra"]["dataset_label"] == "kept in extra"
        r = a.find_article(raw_date["url"])
        assert r["date_published_raw"] == raw_date["date_published"]
        assert a.runs(limit=1)[0]["spider"] == "import"
    finally:
        a.close()
    missing = akhbar(tmp_path / "d", "import", str(tmp_path / "nope.jsonl"), archive_url=archive_url, check=False)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_pipeline_failed_write_is_counted_and_the_item_goes_on(archive_url: str, tmp_path: Path) -> None:
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from pipelines.archive import ArchivePipeline

    crawler = get_crawler(Spider, {"AKHBAR_ARCHIVE_URL": archive_url, "AKHBAR_DATA": str(tmp_path)})
    crawler.spider = crawler._create_spider("t")
    pipe = ArchivePipeline.from_crawler(crawler)
    pipe.open_spider()
    ok = Article(url="https://rue20.com/1.html", source="rue20", title="خبر")
    bad = Article(url="", source="rue20", title="بلا رابط")
    assert pipe.process_item(ok) is ok
    assert pipe.process_item(bad) is bad
    stats = crawler.stats.get_stats()
    assert stats["archive/inserted"] == 1 and stats["archive/errors"] == 1
    run_id = pipe.run_id
    pipe.spider_closed(crawler.spider, "finished")
    a = open_archive(archive_url)
    try:
        run = next(r for r in a.runs() if r["id"] == run_id)
        assert run["status"] == "finished" and "url" in run["errors"][0]["message"]
    finally:
        a.close()


def test_serving_the_api_while_crawling(archive_url: str, tmp_path: Path) -> None:
    """A crawl writes while the HTTP app answers /api from the same archive: neither
    locks the other out, every answer is clean JSON, a bad query is a 400."""
    import threading
    import urllib.error
    import urllib.parse
    import urllib.request

    from tests.serving_support import app_server

    data = tmp_path / "data"
    open_archive(archive_url).close()
    with serving(app_server(data, archive_url)) as server:
        statuses: list[int] = []
        stop = threading.Event()

        def get(path: str) -> tuple[int, Any]:
            try:
                with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=30) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())

        def hammer() -> None:
            while not stop.is_set():
                statuses.append(get("/api/articles?limit=5")[0])
                statuses.append(get("/api/articles?q=" + urllib.parse.quote("المغرب"))[0])

        h = threading.Thread(target=hammer)
        h.start()
        try:
            crawl = subprocess.Popen(
                [sys.executable, "-m", "crawler.cli", "--data", str(data), "crawl", "--snapshot", "rue20"],
                cwd=ROOT, env={**os.environ, "AKHBAR_ARCHIVE_URL": archive_url, "AKHBAR_LOG_LEVEL": "WARNING"},
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            _, err = crawl.communicate(timeout=600)
            assert crawl.returncode == 0, err[-2000:]
        finally:
            stop.set()
            h.join(timeout=60)
        assert statuses and set(statuses) == {200}
        status, body = get("/api/articles?source=rue20&limit=100")
        assert status == 200 and body["items"]
        status, body = get("/api/articles?q=" + urllib.parse.quote('"مفتوح'))
        assert status == 200 and "unbalanced quote" in body["hints"][0]
        status, body = get("/api/articles?since=never")
        assert status == 400 and "bad date" in body["error"]
        status, doc = get("/api/openapi.json")
        assert status == 200 and "/api/runs" in doc["paths"]


def test_demo_once_leaves_the_archive_in_the_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k not in ("AKHBAR_ARCHIVE_URL", "AKHBAR_DATA")}
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), "demo", "--once"],
                          cwd=ROOT, env={**env, "AKHBAR_LOG_LEVEL": "WARNING"}, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = open_archive(data / "archive.sqlite3")
    try:
        lines = (data / "items.jsonl").read_text(encoding="utf-8").splitlines()
        assert a.count_articles() == len(lines) > 0
        assert len({r["source"] for r in a.runs()}) == 5
        assert list((data / "warc").glob("*.warc.gz"))
    finally:
        a.close()


def _open_each_at(urls: list[str], start: float, slot: float, out: Any) -> None:
    import time as _time

    failures = []
    for i, url in enumerate(urls):
        while _time.time() < start + i * slot:
            pass
        try:
            open_archive(url).close()
        except Exception as exc:  # reported to the parent, which fails the test
            failures.append(f"{url}: {exc!r}")
    out.put(failures)


def test_processes_opening_a_new_sqlite_archive_at_once_all_succeed(tmp_path: Path) -> None:
    # SQLite does not wait on its busy timeout to switch a new file to WAL: two imports
    # opening a fresh archive at once once lost one whole import to "database is locked".
    # Several processes open each of many fresh files in the same instant.
    import multiprocessing as mp
    import time as _time

    ctx = mp.get_context("spawn")
    urls = [f"sqlite:///{tmp_path / f'fresh{i}.sqlite3'}" for i in range(30)]
    out = ctx.Queue()
    start = _time.time() + 3  # after every spawned interpreter has imported the archive
    procs = [ctx.Process(target=_open_each_at, args=(urls, start, 0.15, out)) for _ in range(5)]
    for p in procs:
        p.start()
    failures = [f for _ in procs for f in out.get(timeout=180)]
    for p in procs:
        p.join(timeout=60)
    assert failures == []


def test_import_into_an_archive_that_cannot_open_fails_loudly(tmp_path: Path) -> None:
    records = tmp_path / "r.jsonl"
    records.write_text(json.dumps({"url": "https://rue20.com/1.html", "source": "rue20", "title": "خبر"}) + "\n")
    bad = f"sqlite:///{tmp_path / 'a-file'}/x.sqlite3"
    (tmp_path / "a-file").write_text("not a directory")
    res = akhbar(tmp_path / "data", "import", str(records), "--archive", bad, archive_url=bad, check=False)
    assert res.returncode == 1
    assert "cannot open the archive" in res.stderr and "Traceback" not in res.stderr
    res = akhbar(tmp_path / "data", "crawl", "le12", "--snapshot", "-s", f"AKHBAR_ARCHIVE_URL={bad}", archive_url=bad, check=False)
    assert res.returncode == 1 and "cannot open the archive" in res.stderr
