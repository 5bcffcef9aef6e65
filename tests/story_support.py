"""Stories for the story API and page tests: the labelled dedup set run through real dedup
into a real archive, and the app serving it on loopback."""

from __future__ import annotations

import gzip
import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI

from crawler.dedup import ArchiveDedup
from crawler.items import Article
from feeds.web.app import create_app
from feeds.web.context import WebContext
from feeds.web.server import WebServer

PAIRS = Path(__file__).parent / "fixtures" / "dedup" / "pairs.jsonl.gz"


def fixture_rows() -> list[dict[str, Any]]:
    with gzip.open(PAIRS, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def doc_url(doc: dict[str, Any]) -> str:
    return f"https://{doc['source']}.example/{doc['id']}"


def fill_labelled(archive: Any) -> None:
    """Every document of the labelled set as an article, each given its story by dedup."""
    dedup = ArchiveDedup(archive)
    for d in (r for r in fixture_rows() if r["type"] == "doc"):
        art = Article(
            url=doc_url(d), source=d["source"], title=d["title"], body_text=d["body"],
            date_published=datetime.fromisoformat(d["published"]).replace(tzinfo=UTC),
        )
        dedup.assign(archive.upsert_article(art).id)


@contextmanager
def running(data_dir: Path, archive_url: str | None, app: FastAPI | None = None) -> Iterator[WebServer]:
    """The real app (or `app`, built by `create_app`) under uvicorn on a free loopback port."""
    server = WebServer(app or create_app(WebContext(data_dir, archive_url))).start()
    assert server.server.started
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def get(server: WebServer, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    u = urlsplit(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()
