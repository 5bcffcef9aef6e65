"""The files `publish` writes into ``DIR/public/`` (feeds, OPML, the static front page),
served from memory with conditional GET and compression (`feeds.web.http`).

A file's representation is kept keyed by (mtime, size): `publish` leaves both alone when
the bytes do not change, so a reader polling a feed gets the same ETag and Last-Modified
and a 304, and the file is read, hashed and compressed once per change, not per request.

This module's router is the app's last: anything no other route took lands here, so it
also answers ``OPTIONS`` (204 with ``Allow``) and refuses other methods with 405.
"""

from __future__ import annotations

import mimetypes
import threading
from pathlib import Path
from urllib.parse import unquote

from fastapi import Request
from starlette.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from feeds.web.context import WebContext
from feeds.web.http import Representation, error_response, send

CONTENT_TYPES: dict[str, str] = {
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
READ_METHODS = ("GET", "HEAD", "OPTIONS")
ALLOW = "GET, HEAD, OPTIONS"
FEED_BROTLI_QUALITY = 9
"""Feed files are compressed once per change: worth a denser setting than per-request pages."""


class FeedFiles:
    """Files of one directory, kept in memory keyed by (mtime, size)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()  # it may not exist yet: `publish` makes it
        self._cache: dict[Path, tuple[tuple[int, int], Representation]] = {}
        self._lock = threading.Lock()

    def resolve(self, url_path: str) -> Path | None:
        """The file `url_path` names, or None. One file has one URL: a trailing slash, an
        empty segment or a dot segment is not another name of it."""
        rel = unquote(url_path)
        if not rel.startswith("/") or rel.endswith("/") or "\x00" in rel:
            return None
        parts = rel[1:].split("/")
        # Hidden names include publish's temporaries; "." and ".." are refused with them.
        if any(not part or part.startswith(".") or "\\" in part for part in parts):
            return None
        try:
            path = self.root.joinpath(*parts).resolve()
            if self.root not in path.parents or not path.is_file():
                return None
        except (OSError, ValueError):  # a name too long for the file system, say: no such file
            return None
        return path

    def get(self, url_path: str) -> Representation | None:
        path = self.resolve(url_path)
        if path is None:
            return None
        try:
            st = path.stat()
            key = (st.st_mtime_ns, st.st_size)
            with self._lock:
                hit = self._cache.get(path)
            if hit and hit[0] == key:
                return hit[1]
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            return None
        ctype = CONTENT_TYPES.get(path.suffix) or (mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        rep = Representation(data, ctype, last_modified=st.st_mtime, brotli_quality=FEED_BROTLI_QUALITY)
        with self._lock:
            self._cache[path] = (key, rep)
        return rep


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def route_methods(request: Request) -> str | None:
    """``Allow`` for the request's path from the routes that take it (the admin's POST
    endpoints, say), asked the way the router asks them; None when only this module's
    route has that path."""
    methods = {m for m in _METHODS for route in request.app.router.routes
               if route is not CATCH_ALL and route.matches({**request.scope, "method": m})[0] == Match.FULL}
    if not methods:
        return None
    methods |= {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return ", ".join(sorted(methods, key=order.index))


def feed_file(request: Request) -> Response:
    """A file of ``DIR/public``; OPTIONS and 405 for every path no other route took."""
    method = request.method
    declared = route_methods(request)
    allow = declared or ALLOW
    if method == "OPTIONS":
        return Response(status_code=204, headers={"Allow": allow})
    if method not in READ_METHODS or declared is not None:  # a route of this path exists, not for this method
        return error_response(405, f"{method} not allowed here (allowed: {allow})", {"Allow": allow})
    path = request.url.path
    if path == "/api" or path.startswith("/api/"):
        return error_response(404, f"no such API path: {path[:200]}")
    files: FeedFiles = request.app.state.feed_files
    rep = files.get(path)
    if rep is None:
        return error_response(404, "not found")
    ctx: WebContext = request.app.state.ctx
    return send(request, rep, headers={"Cache-Control": f"public, max-age={ctx.ttl_minutes * 60}"})


class _AnyMethod:
    """`feed_file` as an ASGI app: a Starlette route to an app (not a function) takes every
    method, so PROPFIND or TRACE get this module's 405 with the path's ``Allow``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await run_in_threadpool(feed_file, Request(scope, receive))
        await response(scope, receive, send)


CATCH_ALL = Route("/{path:path}", _AnyMethod(), include_in_schema=False)
