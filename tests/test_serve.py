"""The HTTP app, for real on loopback: feeds with ETag/Last-Modified answered 304
with no body, gzip, Cache-Control, the front page and search from a real SQLite
archive, and newsboat subscribing over HTTP."""

from __future__ import annotations

import gzip
import http.client
import io
import os
import sqlite3
import subprocess
import threading
import time
import urllib.request
import urllib.response
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest

from crawler.archive import open_archive
from feeds.model import story_guid
from feeds.query import publish
from feeds.samples import fill_archive, sample_stories
from feeds.web.server import WebServer
from tests.serving_support import published_app, serving


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[tuple[WebServer, Path, str]]:
    with serving(published_app(tmp_path, 80)) as server:
        yield server, tmp_path, f"sqlite:///{tmp_path / 'archive.sqlite3'}"


def request(server: WebServer, path: str, headers: dict[str, str] | None = None, method: str = "GET",
            conn: http.client.HTTPConnection | None = None) -> tuple[int, dict[str, str], bytes]:
    c = conn or http.client.HTTPConnection(server.host, server.port, timeout=10)
    c.request(method, path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    hdrs = {k.lower(): v for k, v in r.getheaders()}
    if conn is None:
        c.close()
    return r.status, hdrs, body


def test_feed_served_with_validators_and_cache_headers(site) -> None:
    server, _, _ = site
    status, h, body = request(server, "/feeds/all.rss")
    assert status == 200
    assert h["content-type"].startswith("application/rss+xml")
    assert h["etag"].startswith('"') and h["etag"].endswith('"')
    assert "max-age=900" in h["cache-control"]
    assert int(h["content-length"]) == len(body)
    parsedate_to_datetime(h["last-modified"])
    d = feedparser.parse(body)
    assert d.bozo == 0 and len(d.entries) == 50 and d.feed.ttl == "15"
    status, h, _ = request(server, "/feeds/all.atom")
    assert status == 200 and h["content-type"].startswith("application/atom+xml")
    status, h, _ = request(server, "/feeds/all.json")
    assert status == 200 and h["content-type"].startswith("application/feed+json")
    status, h, _ = request(server, "/feeds.opml")
    assert status == 200 and h["content-type"].startswith("text/x-opml")


def test_conditional_get_answers_304_without_body(site) -> None:
    server, _, _ = site
    _, h, body = request(server, "/feeds/topic-politics.atom")
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    # Same keep-alive connection: a stray body after the 304 would corrupt the next response.
    status, h304, body304 = request(server, "/feeds/topic-politics.atom", {"If-None-Match": h["etag"]}, conn=conn)
    assert status == 304 and body304 == b""
    assert h304["etag"] == h["etag"] and "content-length" not in h304 or h304.get("content-length") == "0"
    status, _, again = request(server, "/feeds/topic-politics.atom", conn=conn)
    assert status == 200 and again == body
    status, _, b = request(server, "/feeds/topic-politics.atom", {"If-None-Match": f'"nope", {h["etag"]}'}, conn=conn)
    assert status == 304 and b == b""
    status, _, b = request(server, "/feeds/topic-politics.atom", {"If-Modified-Since": h["last-modified"]}, conn=conn)
    assert status == 304 and b == b""
    earlier = formatdate(parsedate_to_datetime(h["last-modified"]).timestamp() - 3600, usegmt=True)
    status, _, b = request(server, "/feeds/topic-politics.atom", {"If-Modified-Since": earlier}, conn=conn)
    assert status == 200 and b == body
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    status, _, b = request(server, "/feeds/topic-politics.atom",
                           {"If-None-Match": '"other"', "If-Modified-Since": h["last-modified"]}, conn=conn)
    assert status == 200 and b == body
    conn.close()


def test_feedparser_conditional_get_over_http(site) -> None:
    server, _, _ = site
    first = feedparser.parse(server.url + "/feeds/all.atom")
    assert first.bozo == 0 and first.status == 200 and first.etag
    second = feedparser.parse(server.url + "/feeds/all.atom", etag=first.etag)
    assert second.status == 304 and second.entries == []
    third = feedparser.parse(server.url + "/feeds/all.atom", modified=first.modified)
    assert third.status == 304


def test_gzip_when_accepted(site) -> None:
    server, _, _ = site
    _, plain_h, plain = request(server, "/feeds/all.rss")
    status, h, body = request(server, "/feeds/all.rss", {"Accept-Encoding": "gzip, deflate"})
    assert status == 200 and h["content-encoding"] == "gzip" and "accept-encoding" in h["vary"].lower()
    assert gzip.decompress(body) == plain and len(body) < len(plain)
    assert h["etag"] != plain_h["etag"]
    status, _, b = request(server, "/feeds/all.rss", {"Accept-Encoding": "gzip", "If-None-Match": h["etag"]})
    assert status == 304 and b == b""
    status, h, _ = request(server, "/feeds/all.rss", {"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in h


def test_head_and_not_found(site) -> None:
    server, public_parent, _ = site
    status, h, body = request(server, "/feeds/all.rss", method="HEAD")
    assert status == 200 and body == b"" and int(h["content-length"]) > 0
    (public_parent / "public" / "feeds" / ".tmp-all.rss.x").write_bytes(b"half")
    (public_parent / "secret.txt").write_text("no")
    for path in ("/feeds/nope.rss", "/feeds/.tmp-all.rss.x", "/../secret.txt", "/%2e%2e/secret.txt", "/feeds/../../secret.txt"):
        status, _, body = request(server, path)
        assert status == 404, path
        assert b"half" not in body and b"no" != body


def test_republish_keeps_validators_unless_content_changes(site) -> None:
    server, data_dir, url = site
    _, h1, _ = request(server, "/feeds/source-le12.rss")
    _, hp1, _ = request(server, "/feeds/topic-politics.rss")
    time.sleep(1.1)
    archive = open_archive(url)
    try:
        report = publish(data_dir, archive, base_url=server.url)
        assert report.written == [] and report.unchanged
        _, h2, _ = request(server, "/feeds/source-le12.rss")
        assert (h2["etag"], h2["last-modified"]) == (h1["etag"], h1["last-modified"])
        # a new le12 politics story changes le12's and politics' feeds, not sports'
        from dataclasses import replace

        new = replace(sample_stories(1)[0], url="https://www.le12.ma/new.html", source="le12", source_name="LE12",
                      story_id="story-new", topic="politics", also_reported_by=[],
                      published=sample_stories(1)[0].published.replace(hour=23))
        fill_archive(archive, [new])
        report = publish(data_dir, archive, base_url=server.url)
    finally:
        archive.close()
    assert "feeds/source-le12.rss" in report.written and "feeds/topic-sports.rss" in report.unchanged
    status, h3, body = request(server, "/feeds/source-le12.rss", {"If-None-Match": h1["etag"]})
    assert status == 200 and h3["etag"] != h1["etag"]
    assert feedparser.parse(body).entries[0].id == story_guid(new.url)
    status, _, _ = request(server, "/feeds/topic-politics.rss", {"If-None-Match": hp1["etag"]})
    assert status == 200


def test_front_page_from_archive(site) -> None:
    server, _, _ = site
    status, h, body = request(server, "/")
    assert status == 200 and h["content-type"].startswith("text/html")
    page = body.decode()
    assert '<html lang="ar" dir="rtl">' in page
    assert "script-src" not in h["content-security-policy"] and "default-src 'none'" in h["content-security-policy"]
    assert 'type="application/rss+xml"' in page and 'href="/feeds/all.rss"' in page
    assert 'type="application/atom+xml"' in page and 'type="application/feed+json"' in page
    assert "خبر 0:" in page and "أوردته أيضاً" in page and "يوليوز 2025" in page
    status, _, body = request(server, "/?topic=sports")
    page = body.decode()
    assert status == 200 and 'href="/feeds/topic-sports.rss"' in page and "رياضة" in page
    status, _, _ = request(server, "/?topic=nope")
    assert status == 404
    status, _, body = request(server, "/search?q=" + quote("خبر 7:"))
    assert status == 200 and "خبر 7:" in body.decode()
    status, _, body = request(server, "/search?q=" + quote('"خبر 7:'))
    assert status == 200 and '<html lang="ar" dir="rtl">' in body.decode()
    # the query is searched without its lone quote, and the page says so
    assert 'class="notice"' in body.decode() and "unbalanced quote" in body.decode() and "خبر 7:" in body.decode()
    status, h, _ = request(server, "/", {"Accept-Encoding": "gzip"})
    assert h["content-encoding"] == "gzip"


@pytest.mark.newsboat
def test_newsboat_subscribes_over_http(site, newsboat: str, tmp_path: Path) -> None:
    server, _, _ = site
    home = tmp_path / "home"
    (home / ".newsboat").mkdir(parents=True)
    # newsboat keys items by guid across feeds: subscribe to two feeds with no story in common
    feeds = [server.url + "/feeds/topic-politics.rss", server.url + "/feeds/topic-sports.atom"]
    urls = home / "urls"
    urls.write_text("\n".join(feeds) + "\n")
    cache = home / "cache.db"
    config = home / "config"
    config.write_text("")
    env = {**os.environ, "HOME": str(home), "LANG": "C.UTF-8", "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local/share")}
    run = subprocess.run([newsboat, "-u", str(urls), "-c", str(cache), "-C", str(config), "-x", "reload", "print-unread"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT feedurl, title, url, guid FROM rss_item").fetchall()
    by_feed: dict[str, list[tuple[str, str, str]]] = {}
    for feedurl, title, url, guid in rows:
        by_feed.setdefault(feedurl, []).append((title, url, guid))
    stories = {s.url: s for s in sample_stories(80)}
    expected = {
        feeds[0]: {u for u, s in stories.items() if s.topic == "politics"},
        feeds[1]: {u for u, s in stories.items() if s.topic == "sports"},
    }
    assert {f: {url for _, url, _ in v} for f, v in by_feed.items()} == expected
    for title, url, guid in by_feed[feeds[0]] + by_feed[feeds[1]]:
        assert title == stories[url].title and guid == story_guid(url)
    assert run.stdout.strip().startswith(str(len(rows)))  # "23 unread articles"


def test_json_api_and_openapi(site) -> None:
    import json

    server, _, _ = site
    status, h, body = request(server, "/api/openapi.json")
    assert status == 200 and h["content-type"].startswith("application/json")
    doc = json.loads(body)
    assert doc["openapi"].startswith("3.") and "/api/articles" in doc["paths"]
    status, _, body = request(server, "/api/articles?topic=sports&limit=5")
    assert status == 200
    payload = json.loads(body)
    items = payload.get("items") or payload.get("articles")
    assert items and all(a["topic"] == "sports" for a in items)
    status, _, body = request(server, "/api/articles?limit=nope")
    assert status == 400 and "error" in json.loads(body)
    status, _, _ = request(server, "/api/nothing")
    assert status == 404


def test_many_requests_do_not_leak_connections(site) -> None:
    server, _, _ = site

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    def hammer_round() -> None:
        errors: list[Exception] = []

        def hammer() -> None:
            try:
                for _ in range(25):
                    assert request(server, "/")[0] == 200
                    assert request(server, "/feeds/all.atom")[0] == 200
            except Exception as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        time.sleep(0.2)

    hammer_round()  # warms the worker threads (each keeps one archive connection)
    before = open_fds()
    hammer_round()
    # 400 more requests, no more descriptors: bounded by the pool, not by requests
    # (thread-per-request kept ~2 per request: the SQLite file and its WAL)
    assert open_fds() - before < 10


def test_akhbar_serve_command(tmp_path: Path) -> None:
    import signal
    import sys

    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    a = open_archive(url)
    fill_archive(a, sample_stories(10))
    a.close()
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "--data", str(tmp_path), "serve", "--port", "0"],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("published ")
        assert lines[1].startswith("front page  http://127.0.0.1:")
        base = lines[1].split()[-1].rstrip("/")
        host, port = base.removeprefix("http://").split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        c.request("GET", "/feeds/all.rss")
        r = c.getresponse()
        d = feedparser.parse(r.read())
        assert r.status == 200 and d.bozo == 0 and len(d.entries) == 10
        assert d.feed.link == base + "/"  # feed links default to where it serves
        c.close()
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0


def test_brotli_preferred_each_encoding_with_its_own_etag(site) -> None:
    import brotli

    server, _, _ = site
    _, plain_h, plain = request(server, "/feeds/all.atom")
    status, br_h, br_body = request(server, "/feeds/all.atom", {"Accept-Encoding": "gzip, deflate, br"})
    assert status == 200 and br_h["content-encoding"] == "br" and "accept-encoding" in br_h["vary"].lower()
    assert brotli.decompress(br_body) == plain and int(br_h["content-length"]) == len(br_body) < len(plain)
    _, gz_h, _ = request(server, "/feeds/all.atom", {"Accept-Encoding": "br;q=0, gzip"})
    assert gz_h["content-encoding"] == "gzip"
    assert len({plain_h["etag"], br_h["etag"], gz_h["etag"]}) == 3
    assert request(server, "/feeds/all.atom", {"Accept-Encoding": "*"})[1]["content-encoding"] == "br"
    assert "content-encoding" not in request(server, "/feeds/all.atom", {"Accept-Encoding": "identity"})[1]
    # a reader that switched encodings still has a valid validator: 304, no body
    for etag in (plain_h["etag"], br_h["etag"], gz_h["etag"]):
        status, h304, body = request(server, "/feeds/all.atom", {"Accept-Encoding": "br", "If-None-Match": etag})
        assert status == 304 and body == b"" and h304["etag"] == br_h["etag"]


class BrotliDecoding(urllib.request.BaseHandler):
    """What a brotli-aware reader does: decode ``Content-Encoding: br`` before parsing
    (feedparser itself only decodes gzip and deflate)."""

    def __init__(self) -> None:
        self.codings: list[str | None] = []

    def http_response(self, req: urllib.request.Request, response: Any) -> Any:
        import brotli

        coding = response.headers.get("Content-Encoding")
        self.codings.append(coding)
        if coding != "br":
            return response
        headers = response.headers
        del headers["Content-Encoding"]
        decoded = urllib.response.addinfourl(io.BytesIO(brotli.decompress(response.read())), headers, response.url,
                                             response.code)
        decoded.msg = response.msg
        return decoded


def test_feedparser_conditional_get_with_brotli_and_gzip(site) -> None:
    server, _, _ = site
    url = server.url + "/feeds/topic-politics.rss"
    plain = feedparser.parse(request(server, "/feeds/topic-politics.rss")[2])
    br = BrotliDecoding()
    first = feedparser.parse(url, request_headers={"Accept-encoding": "br, gzip"}, handlers=[br])
    assert br.codings == ["br"] and first.status == 200 and first.bozo == 0
    assert [e.id for e in first.entries] == [e.id for e in plain.entries] and first.etag.endswith('-br"')
    again = feedparser.parse(url, etag=first.etag, request_headers={"Accept-encoding": "br, gzip"}, handlers=[br])
    assert again.status == 304 and again.entries == []
    since = feedparser.parse(url, modified=first.modified, request_headers={"Accept-encoding": "br"}, handlers=[br])
    assert since.status == 304
    # feedparser's own gzip: its own ETag, and the brotli one still validates the gzip copy
    gz = feedparser.parse(url)
    assert gz.status == 200 and gz.etag.endswith('-gz"') and [e.id for e in gz.entries] == [e.id for e in plain.entries]
    assert feedparser.parse(url, etag=first.etag).status == 304


def test_one_url_per_file(site) -> None:
    server, _, _ = site
    assert request(server, "/feeds/all.rss")[0] == 200
    for path in ("/feeds/all.rss/", "//feeds/all.rss", "/feeds//all.rss", "/feeds/./all.rss", "/feeds/all.rss%2F",
                 "/feeds/all"):
        status, h, body = request(server, path)
        assert status == 404 and h["content-type"].startswith("application/json"), path


def test_api_docs_are_served_offline(site) -> None:
    import re

    server, _, _ = site
    status, h, body = request(server, "/api/docs")
    page = body.decode()
    assert status == 200 and "script-src 'self'" in h["content-security-policy"]
    assert "unsafe-inline" not in h["content-security-policy"].split("script-src", 1)[1].split(";")[0]
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs and not [r for r in refs if "//" in r], refs  # nothing from another host
    assert "<script>" not in page  # no inline script: the CSP would refuse it
    for ref in refs:
        status, h, body = request(server, "/api/" + ref)
        assert status == 200 and body, ref
    status, h, body = request(server, "/api/docs/init.js")
    assert b"openapi.json" in body
    assert request(server, "/api")[0] == 302


@pytest.mark.browser
def test_api_docs_render_in_chromium_under_their_csp(site, chromium: str, tmp_path: Path) -> None:
    import re

    from tests.browser_support import chromium_cmd, dump_dom

    server, _, _ = site
    dom = dump_dom(chromium_cmd(chromium, tmp_path / "profile", budget_ms=8000), server.url + "/api/docs")
    # Swagger UI ran (from this server's files) and listed the generated document's operations
    paths = set(re.findall(r'data-path="([^"]+)"', dom))
    assert {"/api/articles", "/api/articles/{id}", "/api/sources", "/api/runs", "/api/status"} <= paths, dom[:1000]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "PROPFIND", "TRACE"])
def test_read_only_methods_answer_405_with_allow(site, method: str) -> None:
    import json

    server, _, _ = site
    for path in ("/", "/feeds/all.rss", "/api/articles", "/api/articles/1", "/search", "/nothing"):
        status, h, body = request(server, path, method=method)
        assert status == 405 and h["allow"] == "GET, HEAD, OPTIONS", (method, path, status)
        assert method in json.loads(body)["error"]
    status, h, body = request(server, "/api/articles", method="OPTIONS")
    assert status == 204 and h["allow"] == "GET, HEAD, OPTIONS" and body == b""


def test_keep_alive_survives_a_refused_body(site) -> None:
    server, _, _ = site
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("POST", "/api/articles", body=b"x" * 5000)
        r = conn.getresponse()
        assert r.status == 405 and r.read()
        # the unread body did not end up parsed as the next request
        assert request(server, "/feeds/all.rss", conn=conn)[0] == 200
    finally:
        conn.close()


def test_feeds_directory_lists_every_published_feed(site) -> None:
    import re

    server, data, _ = site
    status, h, body = request(server, "/feeds/")
    page = body.decode()
    assert status == 200 and h["content-type"].startswith("text/html") and '<html lang="ar" dir="rtl">' in page
    assert "default-src 'none'" in h["content-security-policy"] and 'href="/feeds.opml"' in page
    links = set(re.findall(r'href="(/feeds/[^"]+)"', page))
    published = {"/" + p.relative_to(data / "public").as_posix() for p in (data / "public" / "feeds").iterdir()}
    assert links == published and len(links) > 30
    assert request(server, "/feeds")[0] == 301


def test_without_an_archive_the_published_files_are_served(tmp_path: Path) -> None:
    from tests.serving_support import app_server

    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    with open_archive(url) as a:
        fill_archive(a, sample_stories(10))
        publish(tmp_path, a)
    (tmp_path / "archive.sqlite3").unlink()  # the files alone
    with serving(app_server(tmp_path, None)) as server:
        status, _, body = request(server, "/feeds/all.rss")
        assert status == 200 and len(feedparser.parse(body).entries) == 10
        status, h, body = request(server, "/")
        assert status == 200 and body == (tmp_path / "public" / "index.html").read_bytes()
        assert request(server, "/feeds/")[0] == 200
        status, _, body = request(server, "/api/articles")
        assert status == 503 and b"no archive" in body
        status, _, body = request(server, "/search?q=x")
        assert status == 503 and "البحث غير متاح" in body.decode()
    assert not (tmp_path / "archive.sqlite3").exists()  # nothing opened one behind our back
