"""The web app's fast path (`feeds.web.fastpath`) answers a repeated GET without the app,
but never with something no longer true: a search kept in memory is made again as soon as
another process commits a new or changed article (SQLite and PostgreSQL, real server on
loopback), and what it sends is header for header what the app's route sent."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from crawler.archive import open_archive
from crawler.archive.changes import ChangeProbe
from crawler.items import Article
from feeds.samples import fill_archive, sample_stories
from feeds.web.fastpath import FastPath
from feeds.web.http import Answer, Representation
from feeds.web.server import WebServer
from tests.conftest import ROOT
from tests.serving_support import app_server, http_get, published_app, serving

WORD = "زلزال"
"""A word no sample story has: only the articles these tests write match it."""




def _hits(server: WebServer) -> int:
    hits: int = server.config.app.fast_path.hits
    return hits


WRITER = """
import sys
from datetime import datetime, UTC
from crawler.archive import open_archive
from crawler.items import Article
url, link, title = sys.argv[1:4]
with open_archive(url) as archive:
    archive.upsert_article(Article(url=link, source="hespress", title=title, body_text=title + " نص الخبر",
                                   date_published=datetime(2031, 1, 1, tzinfo=UTC)))
"""


def write_in_another_process(archive_url: str, link: str, title: str) -> None:
    """One article stored (new, or changed under the same URL) by a process of its own."""
    subprocess.run([sys.executable, "-c", WRITER, archive_url, link, title], cwd=ROOT, check=True, timeout=120)


@pytest.fixture
def searched(archive_url: str, tmp_path: Path) -> Iterator[tuple[WebServer, str]]:
    archive = open_archive(archive_url)
    try:
        fill_archive(archive, sample_stories(20))
        archive.upsert_article(Article(url="https://www.hespress.com/first.html", source="hespress",
                                       title=f"{WORD} أول", body_text=f"{WORD} في الخبر الأول",
                                       date_published=datetime(2030, 1, 1, tzinfo=UTC)))
    finally:
        archive.close()
    with serving(app_server(tmp_path, archive_url)) as server:
        yield server, archive_url


def _titles(body: bytes) -> list[str]:
    return [item["title"] for item in json.loads(body)["items"]]


def test_a_kept_search_is_made_again_after_another_process_commits(searched: tuple[WebServer, str]) -> None:
    server, url = searched
    api = f"{server.url}/api/articles?q={quote(WORD)}"
    page = f"{server.url}/search?q={quote(WORD)}"
    status, _, first = http_get(api)
    assert status == 200 and _titles(first) == [f"{WORD} أول"]
    sources = f"{server.url}/api/sources"
    counted = {s["id"]: s for s in json.loads(http_get(sources)[2])["items"]}
    assert json.loads(http_get(sources)[2])["items"] == list(counted.values())
    assert http_get(page)[0] == 200
    hits = _hits(server)
    assert http_get(api)[2] == first and http_get(page)[0] == 200
    if url.startswith("sqlite"):
        # (PostgreSQL's token moves with any commit in the cluster: other tests' too)
        assert _hits(server) == hits + 2, "an unchanged archive: both answers come from the fast path"

    write_in_another_process(url, "https://www.hespress.com/second.html", f"{WORD} ثان")
    status, _, body = http_get(api)
    assert status == 200 and _titles(body) == [f"{WORD} ثان", f"{WORD} أول"], "a new article was hidden"
    status, _, html = http_get(page)
    assert status == 200 and f"{WORD} ثان" in html.decode("utf-8"), "the search page hid a new article"
    assert json.loads(http_get(sources)[2])["items"] != list(counted.values()), "the sources' counts did not move"
    second = json.loads(body)["items"][0]["id"]
    assert json.loads(http_get(f"{server.url}/api/articles/{second}")[2])["title"] == f"{WORD} ثان"

    # a changed article (same URL, new title): the next identical search shows the change
    write_in_another_process(url, "https://www.hespress.com/second.html", f"{WORD} معدل")
    status, _, body = http_get(api)
    assert status == 200 and _titles(body) == [f"{WORD} معدل", f"{WORD} أول"], "a changed article was hidden"
    assert json.loads(http_get(f"{server.url}/api/articles/{second}")[2])["title"] == f"{WORD} معدل"
    assert f"{WORD} معدل" in http_get(page)[2].decode("utf-8")


def test_the_change_token_moves_with_every_commit_and_only_then(archive_url: str) -> None:
    archive = open_archive(archive_url)
    other = open_archive(archive_url)
    probe = ChangeProbe(archive)
    try:
        before = probe.token()
        assert before is not None
        if archive.dialect == "sqlite":  # PostgreSQL's moves with any commit in the cluster: other tests' too
            assert probe.token() == before
            archive.search(None)  # reads change nothing
            assert probe.token() == before
        other.upsert_source("probe-src", name="x")  # another connection commits
        after = probe.token()
        assert after != before
        archive.upsert_source("probe-src", name="y")  # the probing Archive's own (other) connection commits
        assert probe.token() != after
    finally:
        probe.close()
        other.close()
        archive.close()


def _same_headers(slow: dict[str, str], fast: dict[str, str]) -> None:
    assert {k: v for k, v in fast.items() if k != "date"} == {k: v for k, v in slow.items() if k != "date"}


@pytest.mark.parametrize("headers", [{}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "br, gzip"}])
def test_fast_answers_are_the_routes_answers_header_for_header(tmp_path: Path, headers: dict[str, str]) -> None:
    with serving(published_app(tmp_path, 6)) as server:
        for path in ("/feeds/all.rss", "/feeds.opml", "/api/openapi.json", "/", "/feeds/",
                     f"/api/articles?q={quote('الحكومة')}", f"/search?q={quote('الحكومة')}", "/api/articles/1",
                     "/api/sources"):
            slow = http_get(server.url + path, headers)
            hits = _hits(server)
            fast = http_get(server.url + path, headers)
            assert _hits(server) == hits + 1, f"{path}: not answered by the fast path"
            assert slow[0] == fast[0] == 200 and fast[2] == slow[2]
            _same_headers(slow[1], fast[1])
            head = http_get(server.url + path, headers, "HEAD")
            assert head[0] == 200 and head[2] == b""
            _same_headers(slow[1], head[1])
            etag = slow[1]["etag"]
            cond = http_get(server.url + path, {**headers, "If-None-Match": etag})
            assert cond[0] == 304 and cond[2] == b"" and cond[1]["etag"] == etag
            assert "content-type" not in cond[1] and cond[1]["vary"] == "Accept-Encoding"
            if "last-modified" in slow[1]:
                assert http_get(server.url + path, {"If-Modified-Since": slow[1]["last-modified"]})[0] == 304


def test_kept_answers_are_bounded_in_number_and_bytes() -> None:
    class FakeRequest:
        method = "GET"

        def __init__(self, path: str, query: bytes = b"") -> None:
            self.scope: dict[str, Any] = {"path": path, "root_path": "", "query_string": query}

    fast = FastPath(max_entries=3, max_bytes=16 * 10_000)
    for i in range(5):
        fast.keep(FakeRequest(f"/x{i}"), Answer(Representation(b"x" * 100, "text/plain")))  # type: ignore[arg-type]
    assert len(fast) == 3
    fast.keep(FakeRequest("/big"), Answer(Representation(b"x" * 20_000, "text/plain")))  # type: ignore[arg-type]
    assert len(fast) == 3, "a body over a sixteenth of the budget is not kept"
    for i in range(20):
        fast.keep(FakeRequest(f"/y{i}"), Answer(Representation(b"x" * 8_000, "text/plain")))  # type: ignore[arg-type]
    assert len(fast) <= 3 and fast._bytes <= 16 * 10_000
    fast.keep(FakeRequest("/searched"), Answer(Representation(b"x", "text/plain")), archive=True, token=None)  # type: ignore[arg-type]
    assert ("", "/searched", b"") not in fast._entries, "an answer of unknown archive state is not kept"
    fast.keep(FakeRequest("/junk", b"q=" + b"x" * 4000), Answer(Representation(b"x", "text/plain")))  # type: ignore[arg-type]
    assert not any(k[1] == "/junk" for k in fast._entries), "a long query string is not kept"
