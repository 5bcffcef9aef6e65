"""Loopback HTTP servers for tests: any server run on a daemon thread for the length of a
block, a stdlib server around a test's own handler, one reply helper for those handlers,
and the project's web app over a freshly filled and published SQLite archive."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import BaseServer
from typing import Self, TypeVar

from crawler.archive import open_archive
from feeds.model import FeedStory
from feeds.query import publish
from feeds.samples import fill_archive, sample_stories
from feeds.web.app import build_app
from feeds.web.server import WebServer

S = TypeVar("S", BaseServer, WebServer)


@contextmanager
def serving(server: S) -> Iterator[S]:
    """Serve `server` (a stdlib server or the web app's `WebServer`) on a daemon thread
    inside the block; shut it down and close its socket after, whatever the block raised."""
    if isinstance(server, WebServer):
        server.start()  # returns once the app's startup (archive, parts) is done
    else:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def http_get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Status, lower-cased headers and body of one request; an HTTP error status is an answer, not an exception."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def loopback_server(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A threading stdlib server for `handler` on a free 127.0.0.1 port (not serving yet)."""
    return ThreadingHTTPServer(("127.0.0.1", 0), handler)


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    """Answer with `body` and its length (a test handler's whole response)."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def app_server(data: Path, archive_url: str | None, **options: object) -> WebServer:
    """The web app over `data` and `archive_url` on a free 127.0.0.1 port (not serving yet)."""
    return WebServer(build_app(data, archive_url, **options), "127.0.0.1", 0)  # type: ignore[arg-type]


def published_app(data: Path, stories: int | list[FeedStory] = 12) -> WebServer:
    """The web app (not serving yet) over ``data/archive.sqlite3`` filled with `stories`
    (sample stories when a number), its feeds published in `data` for its own address."""
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    archive = open_archive(url)
    try:
        fill_archive(archive, sample_stories(stories) if isinstance(stories, int) else stories)
        server = app_server(data, url)
        publish(data, archive, base_url=server.url)
    finally:
        archive.close()
    return server


class LoopbackService:
    """Base of a test's own HTTP service (a webhook receiver, a rewriting proxy): its
    handler on a free loopback port, served inside a ``with`` block."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = loopback_server(handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._serving: AbstractContextManager[ThreadingHTTPServer] | None = None

    def __enter__(self) -> Self:
        self._serving = serving(self.server)
        self._serving.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._serving is not None
        self._serving.__exit__(None, None, None)


# --- a small site of a test's own, crawled as a configured source ------------------------

class SitesAt:
    """What the crawl helper (`test_faults.crawl`) reads of a snapshot server: where each
    site is served; for a test's own loopback sites."""

    def __init__(self, base_urls: dict[str, str]) -> None:
        self.base_urls = base_urls


def article_page(title: str, paragraph: str, *, head: str = "", paragraphs: int = 6) -> bytes:
    """A minimal Arabic article page: `title` as <title> and <h1>, `paragraph` (with
    ``{k}`` for its number) repeated in a WordPress-like content block, `head` added to the
    <head> after a publication date."""
    return ('<!doctype html><html lang="ar"><head><meta charset="utf-8">'
            f"<title>{title}</title>{head}"
            '<meta property="article:published_time" content="2025-07-16T10:00:00+01:00"></head>'
            f'<body><article><h1>{title}</h1><div class="entry-content">'
            + "".join(f"<p>{paragraph.format(k=k)}</p>" for k in range(paragraphs))
            + "</div></article></body></html>").encode()


def rss(base: str, links: list[str]) -> bytes:
    """An RSS 2.0 feed of `base` listing `links` (dated a minute apart)."""
    items = "".join(f"<item><title>t{i}</title><link>{link}</link>"
                    f"<pubDate>Wed, 16 Jul 2025 10:{i % 60:02d}:00 +0000</pubDate></item>" for i, link in enumerate(links))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>site</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()


def sources_with(tmp_path: Path, source: str, base: str, extra: str = "") -> Path:
    """The bundled sources file plus ``[sources.<source>]``: the generic WordPress spider
    reading the RSS feed at `base`."""
    path = tmp_path / "sources.toml"
    path.write_text((Path(__file__).resolve().parent.parent / "crawler" / "sources.toml").read_text(encoding="utf-8")
                    + f'\n[sources.{source}]\nname = "{source}"\nbase_url = "{base}"\nspider = "wordpress"\n'
                      f'discovery = ["rss"]\n{extra}', encoding="utf-8")
    return path
