"""The files `publish` writes into ``DIR/public/`` (feeds, OPML, the static front page),
served from memory with conditional GET and compression (`feeds.web.http`).

A file's representation is kept keyed by (mtime, size): `publish` leaves both alone when
the bytes do not change, so a reader polling a feed gets the same ETag and Last-Modified
and a 304, and the file is read, hashed and compressed once per change, not per request.
A request for a file already in memory is answered on the event loop (a realpath and a
stat); reading, hashing and compressing a changed file run on a worker thread.

This module's router is the app's last: anything no other route took lands here, so it
also answers ``OPTIONS`` (204 with ``Allow``) and refuses other methods with 405.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from fastapi.routing import iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Match, Route, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from feeds.web.context import WebContext
from feeds.web.fastpath import fast_path
from feeds.web.http import Answer, Representation, choose_coding, error_response, send_answer

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
MAX_NAMES = 4096
"""URL names remembered with the file they resolved to (more files than that: start over)."""


class FeedFiles:
    """Files of one directory, kept in memory keyed by (mtime, size)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()  # it may not exist yet: `publish` makes it
        self._prefix = str(self.root) + os.sep
        self._cache: dict[str, tuple[tuple[int, int], Representation]] = {}
        self._by_name: dict[str, tuple[tuple[int, int, int, int], Representation, str]] = {}
        self._lock = threading.Lock()

    def resolve(self, url_path: str) -> Path | None:
        """The file `url_path` names, or None. One file has one URL: a trailing slash, an
        empty segment or a dot segment is not another name of it."""
        name = self._name(url_path)
        found = self._locate(name) if name else None
        return Path(found[0]) if found else None

    def _name(self, url_path: str) -> str | None:
        """The file name `url_path` gives under the root (not yet resolved), or None."""
        rel = unquote(url_path)
        if not rel.startswith("/") or rel.endswith("/") or "\x00" in rel:
            return None
        parts = rel[1:].split("/")
        # Hidden names include publish's temporaries; "." and ".." are refused with them.
        if any(not part or part.startswith(".") or "\\" in part for part in parts):
            return None
        return self._prefix + "/".join(parts)

    def _locate(self, name: str) -> tuple[str, os.stat_result] | None:
        """(real path, its stat) of the regular file `name` is inside the root."""
        try:
            # realpath, not the name: a symbolic link must not lead out of the root.
            path = os.path.realpath(name)
            if not path.startswith(self._prefix):
                return None
            st = os.stat(path)
        except (OSError, ValueError):  # no such file, or a name too long for the file system
            return None
        return (path, st) if stat.S_ISREG(st.st_mode) else None

    def cached(self, url_path: str) -> tuple[Representation | None, str | None]:
        """(the file's representation if it is in memory and unchanged, else None; the
        file's real path, None when there is no such file). Cheap: no read.

        One stat of the name answers a file already served: the same (device, inode) is
        the same file the name was resolved to before (inside the root), and the same
        (mtime, size) the same bytes; anything else is resolved again."""
        name = self._name(url_path)
        if name is None:
            return None, None
        try:
            st = os.stat(name)
        except (OSError, ValueError):
            return None, None
        seen = self._by_name.get(name)  # dict reads are atomic; the lock guards writers
        if seen is not None and seen[0] == (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size):
            return seen[1], seen[2]
        found = self._locate(name)
        if found is None:
            return None, None
        path, st = found
        hit = self._cache.get(path)
        if hit is not None and hit[0] == (st.st_mtime_ns, st.st_size):
            with self._lock:
                if len(self._by_name) >= MAX_NAMES:
                    self._by_name.clear()
                self._by_name[name] = ((st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size), hit[1], path)
            return hit[1], path
        return None, path

    def load(self, path: str) -> Representation | None:
        """Read `path` (a real path `cached` returned) into a new representation; blocking."""
        try:
            st = os.stat(path)
            key = (st.st_mtime_ns, st.st_size)
            hit = self._cache.get(path)
            if hit and hit[0] == key:
                return hit[1]
            with open(path, "rb") as fh:
                data = fh.read()
        except (FileNotFoundError, IsADirectoryError, PermissionError, NotADirectoryError):
            return None
        suffix = os.path.splitext(path)[1]
        ctype = CONTENT_TYPES.get(suffix) or (mimetypes.guess_type(path)[0] or "application/octet-stream")
        rep = Representation(data, ctype, last_modified=st.st_mtime, brotli_quality=FEED_BROTLI_QUALITY)
        with self._lock:
            self._cache[path] = (key, rep)
        return rep

    def get(self, url_path: str) -> Representation | None:
        """The file's representation (read if it changed); blocking."""
        rep, path = self.cached(url_path)
        if rep is None and path is not None:
            rep = self.load(path)
        return rep


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class RouteTable:
    """The path patterns and methods of the app's other routes, flattened once: the
    ``Allow`` of a path this module answers is one regex test per route, not a walk of the
    router per method."""

    def __init__(self, routes: list[Any]) -> None:
        self.entries: list[tuple[re.Pattern[str], frozenset[str]]] = []
        self.others: list[Any] = []  # routes without a plain pattern (mounts): asked the router's way
        for rc in iter_route_contexts(routes):
            if rc.original_route is CATCH_ALL:
                continue
            regex, methods = getattr(rc, "path_regex", None), getattr(rc, "methods", None)
            if isinstance(regex, re.Pattern) and methods:
                self.entries.append((regex, frozenset(methods)))
            else:
                self.others.append(rc.original_route)

    def methods(self, scope: Scope) -> set[str]:
        path = get_route_path(scope)
        found = {m for regex, methods in self.entries if regex.match(path) for m in methods}
        for route in self.others:
            found |= {m for m in _METHODS if route.matches({**scope, "method": m})[0] == Match.FULL}
        return found


_UNROUTED = "akhbar.unrouted"


def route_table(app: Any) -> RouteTable:
    table: RouteTable | None = getattr(app.state, "route_table", None)
    if table is None:
        table = app.state.route_table = RouteTable(app.router.routes)
    return table


def route_methods(request: Request) -> str | None:
    """``Allow`` for the request's path from the routes that take it (the admin's POST
    endpoints, say); None when only this module's route has that path."""
    if request.scope.get(_UNROUTED):  # `FilesFirst` found no route for this path
        return None
    methods = route_table(request.app).methods(request.scope) & set(_ORDER)
    if not methods:
        return None
    methods |= {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    return ", ".join(sorted(methods, key=_ORDER.index))


async def feed_file(request: Request) -> Response:
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
    rep, real = files.cached(path)
    if rep is None and real is not None:
        rep = await run_in_threadpool(files.load, real)  # a changed file: read and hash off the loop
    if rep is None:
        return error_response(404, "not found")
    if rep.compressible:
        coding = choose_coding(request.headers.get("accept-encoding"))
        if not rep.has_coding(coding):
            await run_in_threadpool(rep.encoded, coding)  # compressed once per change, off the loop
    ctx: WebContext = request.app.state.ctx
    answer = Answer(rep, {"Cache-Control": f"public, max-age={ctx.ttl_minutes * 60}"})
    if method == "GET":
        # true while the name still leads to the same unchanged file (one stat)
        fast_path(request).keep(request, answer, fresh=lambda: files.cached(path)[0] is rep)
    return send_answer(request, answer)


class _AnyMethod:
    """`feed_file` as an ASGI app: a Starlette route to an app (not a function) takes every
    method, so PROPFIND or TRACE get this module's 405 with the path's ``Allow``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await feed_file(Request(scope, receive))
        await response(scope, receive, send)


CATCH_ALL = Route("/{path:path}", _AnyMethod(), include_in_schema=False)


class FilesFirst:
    """A GET whose path no other route takes goes straight to `feed_file`: the router
    would walk every route (FastAPI's included routers are costly to match) only to land
    on `CATCH_ALL`, for the requests readers make most (feed polls). Pure ASGI, inside
    the app's error handling; other methods and routed paths go the router's way."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            if not route_table(scope["app"]).methods(scope):
                await CATCH_ALL.app({**scope, _UNROUTED: True}, receive, send)
                return
        await self.app(scope, receive, send)
