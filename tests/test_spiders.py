"""Spiders crawling the offline snapshot over real HTTP, in a subprocess (the Twisted reactor
cannot restart in-process).

One snapshot server with fault injection serves the five sites and ``wpdemo``; the five
site spiders crawl it once (module fixture), and each test checks one property of that
crawl against the snapshot's ground truth (`srv.articles(site)`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

from crawler.snapshot import SnapshotServer

SITES = ["hespress", "hibapress", "le12", "rue20", "belpresse"]
# Polite defaults make sense on the internet, not on loopback: no start delay.
FAST = {"AUTOTHROTTLE_START_DELAY": "0", "AUTOTHROTTLE_MAX_DELAY": "0.2", "LOG_LEVEL": "INFO"}
COVERED = ("title", "body_text", "date_published_raw", "section_raw", "url")
# Wire-copy tails the snapshot appends to some reports ("اقرأ أيضا: …", the app line): boilerplate.
TAIL_EDITS = {"read_also_tail", "app_tail"}


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, AKHBAR_DATA=str(data), PYTHONPATH=str(ROOT), **extra)
    env.pop("AKHBAR_SOURCES", None)
    env.update(extra)
    return env


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def expected_body(truth: dict[str, Any]) -> str:
    paras = list(truth["paragraphs"])
    if TAIL_EDITS & set(truth["edits"]):
        paras = paras[:-1]
    return "\n\n".join(paras)


@pytest.fixture(scope="module")
def snapshot():
    with SnapshotServer(sites=[*SITES, "wpdemo"], faults=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def crawl(snapshot: SnapshotServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """All five site spiders in one Scrapy process (as `akhbar crawl` runs them)."""
    data = tmp_path_factory.mktemp("crawl")
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from crawler.commands.crawl import crawl_sites\n"
        "args = json.loads(sys.argv[1])\n"
        "stats = crawl_sites(args['sites'], Path(args['data']), base_urls=args['urls'], settings=args['settings'])\n"
        "Path(args['data'], 'stats.json').write_text(json.dumps(stats, default=str))\n"
    )
    args = {"sites": SITES, "data": str(data), "urls": snapshot.base_urls, "settings": FAST}
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        cwd=ROOT, env=_env(data), capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    items: dict[str, list[dict[str, Any]]] = {s: [] for s in SITES}
    for item in _read(data / "items.jsonl"):
        items[item["source"]].append(item)
    stats = json.loads((data / "stats.json").read_text())
    return {"items": items, "stats": stats, "log": proc.stderr}


def _truth(snapshot: SnapshotServer, site: str) -> dict[str, dict[str, Any]]:
    return {a["url"]: a for a in snapshot.articles(site)}


@pytest.mark.parametrize("site", SITES)
def test_item_count_equals_ground_truth(site: str, snapshot: SnapshotServer, crawl: dict[str, Any]) -> None:
    truth = _truth(snapshot, site)
    publishable = {u for u, a in truth.items() if a["title"]}
    got = [i["url"] for i in crawl["items"][site]]
    assert len(got) == len(set(got)), "an article was emitted twice"
    assert set(got) == publishable
    assert len(got) >= 40


@pytest.mark.parametrize("site", SITES)
def test_field_coverage(site: str, crawl: dict[str, Any]) -> None:
    items = crawl["items"][site]
    for field in COVERED:
        have = sum(1 for i in items if i.get(field))
        assert have >= 0.99 * len(items), f"{site}: {field} on {have}/{len(items)}"
    for i in items:
        assert i["source"] == site
        assert i["language"] == "ar"
        assert i["http_status"] == 200
        assert i["fetched_at"] and (i["fetched_at"].endswith("+00:00"))
        assert i["canonical_url"] and i["image_url"] and i["image_url"].startswith("http://127.0.0.1:")
        assert i["extraction"]


@pytest.mark.parametrize("site", SITES)
def test_fields_match_ground_truth(site: str, snapshot: SnapshotServer, crawl: dict[str, Any]) -> None:
    truth = _truth(snapshot, site)
    for item in crawl["items"][site]:
        t = truth[item["url"]]
        assert item["title"] == t["title"]
        assert item["body_text"] == expected_body(t), item["url"]
        assert item["author"] == t["author"]
        assert item["section_raw"] == t["section_name"]
        assert item["image_url"] == t["image_url"]
        # Belpress prints the time in its own element after the date; readers see both.
        assert item["date_displayed_raw"].startswith(t["date_displayed"])
        if site != "belpresse":  # belpresse prints no id anywhere in its article pages
            assert item["site_article_id"] == str(t["id"])
        if site in ("hespress", "hibapress", "le12", "rue20"):  # JSON-LD / article:published_time
            assert item["date_published_raw"] == t["published"].isoformat()
            assert item["tags"] == t["tags"]


@pytest.mark.parametrize("site", SITES)
def test_no_boilerplate_in_bodies(site: str, crawl: dict[str, Any]) -> None:
    for item in crawl["items"][site]:
        body, html = item["body_text"], item["body_html"]
        for marker in ("اقرأ أيضا", "حمّلوا تطبيق", "النشرة الإخبارية", "جميع الحقوق محفوظة", "اتصل بنا"):
            assert marker not in body, (item["url"], marker)
        paras = body.split("\n\n")
        assert not {"إعلان", "فيسبوك", "تويتر", "واتساب", "فيسبوكتويترواتساب"} & set(paras)
        for css in ("share-buttons", "ad-slot", "read-also", "app-download", "<script", "<footer"):
            assert css not in html, (item["url"], css)


def test_faults_retried_and_no_title_dropped(snapshot: SnapshotServer, crawl: dict[str, Any]) -> None:
    for site in SITES:
        urls = {i["url"] for i in crawl["items"][site]}
        truth = _truth(snapshot, site)
        for url, (status, _times) in snapshot.fault_plan(site).items():
            if url in truth:  # an article answering 503 / 429 first still arrives
                assert url in urls, (site, status, url)
        stats = crawl["stats"][site]
        assert stats.get("retry/count", 0) >= 2, site
        assert stats.get("retry/retry_after_honoured", 0) >= 1, site  # the 429 with Retry-After
        assert not stats.get("akhbar/extract_error"), site
    assert crawl["stats"]["hespress"].get("akhbar/dropped/no_title") == 1
    dropped = [a for a in snapshot.articles("hespress") if a["fault"] == "no_title"]
    assert len(dropped) == 1
    assert dropped[0]["url"] not in {i["url"] for i in crawl["items"]["hespress"]}


def test_discovery_paths_in_site_order(crawl: dict[str, Any]) -> None:
    log = crawl["log"]
    assert "hespress: discovering through wp-json" in log
    assert "hibapress: discovering through sections" in log
    assert "le12: discovering through wp-json" in log
    # rue20's feed holds only the latest 20, all new on a first crawl: the sitemap goes deeper.
    assert "rue20: discovering through rss" in log and "rue20: discovering through sitemap" in log
    assert "belpresse: discovering through wp-json" in log


def test_scrapy_crawl_cli_and_incremental_recrawl(snapshot: SnapshotServer, tmp_path: Path) -> None:
    """`scrapy crawl le12 -a base_url=… -O …` works; a second run skips what the archive holds."""
    base = ["scrapy", "crawl", "le12", "-a", f"base_url={snapshot.base_urls['le12']}"]
    sets = [a for k, v in FAST.items() for a in ("-s", f"{k}={v}")]
    first = subprocess.run(
        [sys.executable, "-m", "scrapy.cmdline", *base[1:], "-O", str(tmp_path / "a.jsonl"), *sets],
        cwd=ROOT, env=_env(tmp_path / "data"), capture_output=True, text=True, timeout=120,
    )
    assert first.returncode == 0, first.stderr[-2000:]
    items = _read(tmp_path / "a.jsonl")
    assert len(items) == len(snapshot.articles("le12"))
    second = subprocess.run(
        [sys.executable, "-m", "scrapy.cmdline", *base[1:], "-O", str(tmp_path / "b.jsonl"), *sets],
        cwd=ROOT, env=_env(tmp_path / "data"), capture_output=True, text=True, timeout=120,
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert _read(tmp_path / "b.jsonl") == []
    assert f"'akhbar/skipped_fresh': {len(items)}" in second.stderr
    # The whole first API page was fresh: paging stopped, no article was requested.
    assert "'akhbar/articles_extracted'" not in second.stderr


def test_site_described_only_in_config(snapshot: SnapshotServer, tmp_path: Path) -> None:
    """A WordPress site with a [sources.mywp] entry and no code is crawled by the generic spider."""
    toml = tmp_path / "sources.toml"
    toml.write_text(
        "[sources.mywp]\n"
        'name = "موقع تجريبي"\n'
        f'base_url = "{snapshot.base_urls["wpdemo"]}"\n'
        'spider = "wordpress"\n'
        'discovery = ["wp-json", "rss"]\n'
        "[sources.mywp.sections]\n"
        '"سياسة" = "politics"\n"اقتصاد" = "economy"\n"رياضة" = "sports"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    sets = [a for k, v in FAST.items() for a in ("-s", f"{k}={v}")]
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "data"), "crawl", "mywp", "-O", str(out), *sets],
        cwd=ROOT, env=_env(tmp_path / "data", AKHBAR_SOURCES=str(toml)), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    items = _read(out)
    truth = _truth(snapshot, "wpdemo")
    assert {i["url"] for i in items} == set(truth)
    for item in items:
        t = truth[item["url"]]
        assert item["source"] == "mywp"
        assert item["title"] == t["title"]
        assert item["body_text"] == expected_body(t)
        assert item["section_raw"] == t["section_name"]
        assert item["author"] == t["author"]
        assert item["date_published_raw"] == t["published"].isoformat()
        assert item["image_url"] == t["image_url"]


def test_extraction_failure_is_counted_and_the_crawl_goes_on() -> None:
    """A page the page object cannot read is logged and counted with its URL; nothing is raised."""
    from scrapy.http import Request, Response
    from scrapy.utils.test import get_crawler

    from spiders.hespress import HespressSpider

    crawler = get_crawler(HespressSpider)
    spider = HespressSpider.from_crawler(crawler)
    url = "https://www.hespress.com/x-1.html"
    binary = Response(url, body=b"\x89PNG\r\n", request=Request(url))
    assert list(spider.parse_article(binary, {})) == []
    assert crawler.stats.get_value("akhbar/extract_error") == 1
    assert crawler.stats.get_value("akhbar/extract_error_urls") == [url]


def test_discovery_falls_back_when_the_rest_api_fails(tmp_path: Path) -> None:
    """REST API answering 503 → the RSS feed is used; its articles are fetched and extracted.
    One article answers 429 with ``Retry-After: 2`` once: it is retried no sooner than asked."""
    import time
    from http.server import BaseHTTPRequestHandler

    from pages_support import FIXTURES
    from serving_support import loopback_server, reply, serving

    pages = {
        "/2020/08/08/melilla-covid/": (FIXTURES / "wordpress/article-wpdemo.html", "utf-8"),
        "/2020/04/saham-assurance-corona/": (FIXTURES / "belpresse/article-2020-04-saham.html", "windows-1256"),
    }
    hits: list[str] = []
    times: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
            hits.append(self.path)
            if self.path == "/2020/08/08/melilla-covid/":
                times.append(time.monotonic())
                if len(times) == 1:
                    self.send_response(429)
                    self.send_header("Retry-After", "2")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path.startswith("/wp-json/"):
                reply(self, 503, b'{"code":"down"}', "application/json")
            elif self.path == "/feed/":
                items = "".join(
                    f"<item><title>t</title><link>{base}{p}</link><category>جهات</category>"
                    f"<pubDate>Sat, 08 Aug 2020 06:28:00 +0000</pubDate></item>"
                    for p in pages
                )
                rss = f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>x</title>{items}</channel></rss>'
                reply(self, 200, rss.encode("utf-8"), "application/rss+xml; charset=UTF-8")
            elif self.path in pages:
                path, charset = pages[self.path]
                reply(self, 200, path.read_bytes(), f"text/html; charset={charset}")
            else:
                reply(self, 404, b"not found", "text/plain")

        def log_message(self, *args: Any) -> None:
            pass

    with serving(loopback_server(Handler)) as server:
        toml = tmp_path / "sources.toml"
        toml.write_text(
            f'[sources.flaky]\nbase_url = "http://127.0.0.1:{server.server_address[1]}"\n'
            'discovery = ["wp-json", "rss"]\n',
            encoding="utf-8",
        )
        out = tmp_path / "out.jsonl"
        sets = [a for k, v in {**FAST, "RETRY_TIMES": "1"}.items() for a in ("-s", f"{k}={v}")]
        proc = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "--data", str(tmp_path / "data"), "crawl", "flaky", "-O", str(out), *sets],
            cwd=ROOT, env=_env(tmp_path / "data", AKHBAR_SOURCES=str(toml)), capture_output=True, text=True, timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert hits.count("/wp-json/wp/v2/posts?per_page=100&page=1&_embed=1") == 2  # first try + 1 retry
    assert "'akhbar/discovery_fallback/wp-json': 1" in proc.stderr
    assert len(times) == 2 and times[1] - times[0] >= 2.0, times
    assert "'retry/retry_after_honoured': 1" in proc.stderr
    items = {i["url"].rsplit(":", 1)[1].split("/", 1)[1]: i for i in _read(out)}
    assert set(items) == {p.lstrip("/") for p in pages}
    melilla = items["2020/08/08/melilla-covid/"]
    assert melilla["title"] == 'مليلية ترصد 3 إصابات جديدة بـ"كوفيد-19"'
    assert melilla["date_published_raw"] == "2020-08-08T07:28:00+01:00"  # page beats the feed's pubDate
    saham = items["2020/04/saham-assurance-corona/"]
    assert saham["title"] == "سَهام للتأمين تتعبأ إلى جانب المواطنين لمواجهة كورونا"  # windows-1256 decoded
    assert saham["date_published_raw"] == "Sat, 08 Aug 2020 06:28:00 +0000"  # no date on the page: the feed's


# Each site's fallback paths, forced with -a discovery=...: the path alone finds the articles.
ALTERNATIVES = [
    ("hespress", "sections", None),  # 6 section listings, paged by rel=next
    ("hibapress", "wp-json", None),
    ("le12", "rss", 20),  # a feed holds the latest 20 only, and no path follows it here
    ("rue20", "wp-json", None),
    ("belpresse", "sitemap", None),
]


def test_fallback_paths_alone(snapshot: SnapshotServer, tmp_path: Path) -> None:
    script = (
        "import json, sys\n"
        "from scrapy.crawler import CrawlerProcess\n"
        "from scrapy.utils.project import get_project_settings\n"
        "args = json.loads(sys.argv[1])\n"
        "settings = get_project_settings()\n"
        "settings.setdict(args['settings'], priority='cmdline')\n"
        "settings.set('FEEDS', {args['out'] + '/%(source_id)s-%(discovery_label)s.jsonl': {'format': 'jsonlines'}}, priority='cmdline')\n"
        "process = CrawlerProcess(settings)\n"
        "for site, path, url in args['runs']:\n"
        "    process.crawl(site, base_url=url, discovery=path)\n"
        "process.start()\n"
    )
    runs = [(site, path, snapshot.base_urls[site]) for site, path, _ in ALTERNATIVES]
    args = {"runs": runs, "out": str(tmp_path), "settings": FAST}
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        cwd=ROOT, env=_env(tmp_path / "data"), capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for site, path, expected in ALTERNATIVES:
        truth = _truth(snapshot, site)
        items = _read(tmp_path / f"{site}-{path}.jsonl")
        urls = {i["url"] for i in items}
        assert len(urls) == len(items)
        if expected is None:
            assert urls == {u for u, a in truth.items() if a["title"]}, (site, path)
        else:
            assert len(urls) == expected and urls <= set(truth), (site, path)
        assert all(i["title"] and i["body_text"] and i["section_raw"] and i["date_published_raw"] for i in items)
