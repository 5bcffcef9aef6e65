"""HTTP input a client controls cannot make the server fail or leak: out-of-range dates,
NUL bytes and malformed conditional-GET headers, strict ids, no server paths in public
responses (issue: a hostile reader)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from serving_support import published_app, serving

from crawler.archive import QueryError, open_archive
from feeds.web.server import WebServer


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[WebServer, Path]]:
    server = published_app(tmp_path, 10)
    with open_archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}") as a:
        a.start_run("run-1", spider="le12", source="le12", warc_file=str(tmp_path / "warc" / "run-1.warc.gz"))
        a.finish_run("run-1", status="finished", stats={"item_scraped_count": 3})
        a.execute("UPDATE articles SET warc_record = ? WHERE id = (SELECT MIN(id) FROM articles)",
                  (a.enc_json({"file": str(tmp_path / "warc" / "run-1.warc.gz"), "offset": 0, "record_id": "x"}),))
    with serving(server):
        yield server, tmp_path


def get(server: WebServer, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("query", [
    "since=" + quote("9999-12-31T23:59:59-23:59"), "until=" + quote("0001-01-01T00:00:00+23:59"),
    "source=le%0012", "topic=a%00", "story=s%00", "since=2026-13-01", "until=" + quote("nonsense"),
])
def test_bad_filters_are_400_not_500(site: Any, query: str) -> None:
    server, _ = site
    status, body = get(server, f"/api/articles?{query}")
    assert status == 400, body
    assert json.loads(body)["error"]


@pytest.mark.parametrize("aid", ["1_0", "%D9%A1", "+1", "1e1", "0x1"])
def test_article_ids_are_parsed_strictly(site: Any, aid: str) -> None:
    server, _ = site
    assert get(server, f"/api/articles/{aid}")[0] == 400


@pytest.mark.parametrize("ims", ["Mon, 01 Jan 99999999 00:00:00 GMT", "Sat, 31 Dec 9999 23:59:59 -2359",
                                 "garbage", "Thu, 01 Jan 0000 00:00:00 GMT"])
def test_malformed_if_modified_since_is_ignored(site: Any, ims: str) -> None:
    server, _ = site
    status, body = get(server, "/feeds/all.rss", {"If-Modified-Since": ims})
    assert status == 200 and body.startswith(b"<?xml")


def test_no_server_path_in_public_responses(site: Any) -> None:
    server, data = site
    for path in ("/api/runs", "/api/articles?limit=100", "/api/articles/1", "/api/status"):
        status, body = get(server, path)
        assert status == 200, path
        assert str(data).encode() not in body and b"/tmp/" not in body, path
    runs = json.loads(get(server, "/api/runs")[1])["items"]
    assert runs[0]["warc_file"] == "run-1.warc.gz" and "pid" not in runs[0] and "host" not in runs[0]


def test_out_of_range_dates_and_nul_are_query_errors_on_both_backends(archive_url: str) -> None:
    with open_archive(archive_url) as a:
        for kw in ({"since": "9999-12-31T23:59:59-23:59"}, {"until": "0001-01-01T00:00:00+23:59"},
                   {"source": "a\x00"}, {"topic": "\x00"}, {"story": "x\x00y"}):
            with pytest.raises(QueryError):
                a.search(None, **kw)
