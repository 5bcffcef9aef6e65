"""Loopback HTTP servers for tests: any server run on a daemon thread for the length of a
block, a stdlib server around a test's own handler, one reply helper for those handlers,
and the project's web app over a freshly filled and published SQLite archive."""

from __future__ import annotations

import threading
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
from feeds.serve import FeedServer, make_server

S = TypeVar("S", bound=BaseServer)


@contextmanager
def serving(server: S) -> Iterator[S]:
    """Serve `server` on a daemon thread inside the block; shut it down and close its socket
    after, whatever the block raised."""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


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


def published_app(data: Path, stories: int | list[FeedStory] = 12) -> FeedServer:
    """The web app (not serving yet) over ``data/archive.sqlite3`` filled with `stories`
    (sample stories when a number), its feeds published in `data` for its own address."""
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    archive = open_archive(url)
    try:
        fill_archive(archive, sample_stories(stories) if isinstance(stories, int) else stories)
        server = make_server(data, url, "127.0.0.1", 0)
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
