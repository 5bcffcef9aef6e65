"""`akhbar serve`: one HTTP app for the feed files, the JSON API and the front page.

Standard library only (`http.server` on a worker pool): the app is small, and a reader
polling feeds every few minutes is served from memory with conditional GET:

- static files under ``DIR/public/`` carry a strong ETag (a hash of the bytes) and
  Last-Modified (the file's mtime, which `publish` leaves alone when the bytes do
  not change); If-None-Match, else If-Modified-Since, is answered 304 with no body;
- Cache-Control ``max-age`` matches the feeds' RSS ``ttl``;
- gzip when the client accepts it (``Vary: Accept-Encoding``), with its own ETag;
- ``/api/...`` goes to `crawler.api`, ``/`` and ``/search`` render the front page;
- everything is read-only: any other method than GET/HEAD/OPTIONS is a 405 with
  ``Allow``, (the admin endpoints moved to the ASGI app, feeds/web/admin.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import mimetypes
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from feeds.build import DEFAULT_TTL_MINUTES

logger = logging.getLogger(__name__)

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
_COMPRESSIBLE = ("text/", "application/rss", "application/atom", "application/feed", "application/json",
                 "application/xml", "image/svg")
_MIN_GZIP = 256
DEFAULT_WORKERS = 16
KEEPALIVE_TIMEOUT_S = 15
MAX_BODY = 64 * 1024
"""Request bodies are only read by the admin endpoints, which need a few bytes."""
READ_METHODS = ("GET", "HEAD", "OPTIONS")
ALLOW = "GET, HEAD, OPTIONS"
ADMIN_PREFIX = "/api/admin"
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"


@dataclass
class Representation:
    """A response body ready to send, with its validators."""

    body: bytes
    content_type: str
    etag: str
    last_modified: float | None = None
    gz: bytes | None = None

    def gzipped(self) -> bytes:
        if self.gz is None:
            # mtime=0: the same bytes always compress to the same bytes (stable ETag).
            self.gz = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self.gz


_JSON_HTML_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def json_body(payload: Any) -> bytes:
    """JSON with ``<``, ``>`` and ``&`` as ``\\u`` escapes: the same data, but no byte of
    it can be read as markup by a client that sniffs or embeds it."""
    text = json.dumps(payload, ensure_ascii=False, default=str).translate(_JSON_HTML_ESCAPES)
    return (text + "\n").encode("utf-8")


def strong_etag(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'


def _accepts_gzip(header: str | None) -> bool:
    if not header:
        return False
    for part in header.split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "x-gzip", "*"):
            q = params.strip()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


def _etag_matches(header: str, etags: set[str]) -> bool:
    if header.strip() == "*":
        return True
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):
            tag = tag[2:]  # weak comparison is what If-None-Match uses
        if tag in etags:
            return True
    return False


class StaticFiles:
    """Files of one directory, kept in memory keyed by (mtime, size)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[Path, tuple[tuple[int, int], Representation]] = {}
        self._lock = threading.Lock()

    def resolve(self, url_path: str) -> Path | None:
        rel = unquote(url_path).lstrip("/")
        if not rel or "\x00" in rel or any(part.startswith(".") for part in rel.split("/")):
            return None  # hidden files include publish's temporaries
        try:
            path = (self.root / rel).resolve()
            if self.root not in path.parents or not path.is_file():
                return None
        except OSError:  # a name too long for the file system, say: no such file
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
        except FileNotFoundError:
            return None
        ctype = CONTENT_TYPES.get(path.suffix) or (mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        rep = Representation(data, ctype, strong_etag(data), st.st_mtime)
        with self._lock:
            self._cache[path] = (key, rep)
        return rep


class App:
    """Routes and renders; one instance shared by the server's threads."""

    def __init__(
        self,
        public_dir: Path,
        *,
        store: Any = None,
        api: Any = None,
        page_context: Any = None,
        ttl_minutes: int = DEFAULT_TTL_MINUTES,
        page_max_age: int = 60,
        admin: Any = None,
    ) -> None:
        self.static = StaticFiles(public_dir)
        self.admin = admin
        self.store = store
        self.api = api
        self.page_context = page_context
        self.max_age = ttl_minutes * 60
        self.page_max_age = page_max_age

    # Each handler returns (status, Representation | None, extra headers).
    def route(self, method: str, target: str, headers: Any, body: bytes = b"") -> tuple[int, Representation | None, dict[str, str]]:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            return self.admin_call(method, path, query, headers, body)
        if method == "OPTIONS":
            return HTTPStatus.NO_CONTENT, None, {"Allow": ALLOW}
        if method not in READ_METHODS:
            status, rep, extra = self.error(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} not allowed: this site is read-only")
            return status, rep, {**extra, "Allow": ALLOW}
        if path in ("/", "/index.html", "/search"):
            return self.front_page(path, query)
        if path in ("/status", "/status/"):
            return self.status_page()
        if path == "/api" or path.startswith("/api/"):
            # The API tells "limit=" (refused: not an integer) from no limit at all.
            return self.api_call(method, path, parse_qs(parts.query, keep_blank_values=True))
        rep = self.static.get(path)
        if rep is None:
            return self.error(HTTPStatus.NOT_FOUND, "not found")
        return HTTPStatus.OK, rep, {"Cache-Control": f"public, max-age={self.max_age}"}

    def error(self, status: int, message: str) -> tuple[int, Representation, dict[str, str]]:
        body = json_body({"error": message})
        return status, Representation(body, "application/json; charset=utf-8", strong_etag(body)), {
            "Cache-Control": "no-store"
        }

    def front_page(self, path: str, query: dict[str, list[str]]) -> tuple[int, Representation | None, dict[str, str]]:
        from feeds.page import render_page

        if self.store is None or self.page_context is None:
            rep = self.static.get("/index.html")
            if rep is None:
                return self.error(HTTPStatus.NOT_FOUND, "no archive configured and no public/index.html")
            return HTTPStatus.OK, rep, {"Cache-Control": f"public, max-age={self.page_max_age}"}
        q = (query.get("q") or [""])[0].strip()
        topic = (query.get("topic") or [None])[0]
        source = (query.get("source") or [None])[0]
        topics = dict(self.page_context.topics)
        if topic and topic not in topics:
            return self.error(HTTPStatus.NOT_FOUND, f"unknown topic {topic!r}")
        if source and source not in self.page_context.sources:
            return self.error(HTTPStatus.NOT_FOUND, f"unknown source {source!r}")
        status, notice = HTTPStatus.OK, None
        try:
            if q:
                from crawler.archive.search import query_hints

                notice = " · ".join(query_hints(q)) or None
                stories = self.store.search(q, limit=30)
            else:
                stories = self.store.latest(topic=topic, source=source, limit=30)
        except ValueError as exc:  # a malformed search: say so on the page
            logger.info("search %r refused: %s", q, exc)
            stories, status, notice = [], HTTPStatus.BAD_REQUEST, str(exc)
        html_text = render_page(stories, self.page_context, topic=topic, source=source, query=q or None, notice=notice)
        body = html_text.encode("utf-8")
        rep = Representation(body, "text/html; charset=utf-8", strong_etag(body))
        return status, rep, {
            "Cache-Control": f"public, max-age={self.page_max_age}",
            "Content-Security-Policy": PAGE_CSP,
            "Referrer-Policy": "no-referrer",
        }

    def admin_call(self, method: str, path: str, query: dict[str, list[str]], headers: Any,
                   body: bytes) -> tuple[int, Representation, dict[str, str]]:
        if self.admin is None:  # off: indistinguishable from a path that does not exist
            return self.error(HTTPStatus.NOT_FOUND, f"no such API path: {path}")
        status, payload, extra = self.admin.handle(method, path, query, headers, body)
        body_out = json_body(payload)
        return status, Representation(body_out, "application/json; charset=utf-8", strong_etag(body_out)), extra

    def status_page(self) -> tuple[int, Representation | None, dict[str, str]]:
        """Each source's health, last and next run, articles per day (feeds/status_page.py)."""
        from feeds.status_page import status_page_html

        if self.store is None:
            return self.error(HTTPStatus.NOT_FOUND, "no archive configured")
        body = status_page_html(self.store.archive).encode("utf-8")
        rep = Representation(body, "text/html; charset=utf-8", strong_etag(body))
        return HTTPStatus.OK, rep, {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP,
                                    "Referrer-Policy": "no-referrer"}

    def api_call(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Representation, dict[str, str]]:
        if self.api is None:
            return self.error(HTTPStatus.SERVICE_UNAVAILABLE, "no archive configured")
        try:
            status, payload = self.api(method, path, query)
        except Exception as exc:  # the API reports its own 4xx; anything else is ours
            logger.exception("API %s failed", path)
            return self.error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {type(exc).__name__}")
        body = json_body(payload)
        rep = Representation(body, "application/json; charset=utf-8", strong_etag(body))
        return status, rep, {"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"}


class Handler(BaseHTTPRequestHandler):
    server_version = "Akhbar"
    protocol_version = "HTTP/1.1"
    timeout = KEEPALIVE_TIMEOUT_S  # an idle keep-alive connection frees its worker
    app: App  # set on the subclass made by make_server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s " + format, self.address_string(), *args)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._respond(head=False)

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method without a do_<METHOD> with 501; every other
        # method (POST, PUT, DELETE, PATCH, OPTIONS, anything) goes through the app,
        # which answers 405 with Allow, or the admin endpoints.
        if name.startswith("do_"):
            return self._respond
        raise AttributeError(name)

    def _read_body(self) -> bytes | None:
        """The request body, b"" when none; None when it cannot be read (the
        connection is then closed after the answer, so no stray bytes follow)."""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return None
        if length <= 0:
            return b""
        if length > MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def _respond(self, *, head: bool | None = None) -> None:
        head = self.command == "HEAD" if head is None else head
        body = self._read_body()
        try:
            if body is None and self.command not in ("GET", "HEAD"):
                status, rep, extra = self.app.error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                                                    f"request bodies are limited to {MAX_BODY} bytes with a Content-Length")
            else:
                status, rep, extra = self.app.route(self.command, self.path, self.headers, body or b"")
        except Exception:
            logger.exception("handling %s failed", self.path)
            status, rep, extra = self.app.error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error")
        if self.close_connection:  # a body was left unread: say so, then hang up
            extra = {**extra, "Connection": "close"}
        if rep is None:  # 204: headers only
            self.send_response(status)
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            return
        use_gzip = len(rep.body) >= _MIN_GZIP and rep.content_type.startswith(_COMPRESSIBLE) and _accepts_gzip(
            self.headers.get("Accept-Encoding")
        )
        etag = rep.etag[:-1] + '-gz"' if use_gzip else rep.etag
        headers = {"ETag": etag, "Content-Type": rep.content_type, "Vary": "Accept-Encoding",
                   "X-Content-Type-Options": "nosniff", **extra}
        if rep.last_modified is not None:
            headers["Last-Modified"] = formatdate(rep.last_modified, usegmt=True)
        if status == HTTPStatus.OK and self._not_modified(rep, {rep.etag, etag}):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            for k in ("ETag", "Last-Modified", "Cache-Control", "Vary"):
                if k in headers:
                    self.send_header(k, headers[k])
            self.end_headers()
            return
        body = rep.gzipped() if use_gzip else rep.body
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_modified(self, rep: Representation, etags: set[str]) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:
            # RFC 9110: when If-None-Match is present, If-Modified-Since is ignored.
            return _etag_matches(inm, etags)
        ims = self.headers.get("If-Modified-Since")
        if ims and rep.last_modified is not None:
            try:
                since = parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError, OverflowError, IndexError):  # malformed: ignored (RFC 9110)
                return False
            if since > time.time() + 60:  # a date in the future is not a date the client saw us send
                return False
            return int(rep.last_modified) <= since
        return False


class FeedServer(HTTPServer):
    """HTTP server answering on a fixed pool of worker threads.

    Not thread-per-request: the archive keeps one connection per thread, so a pool
    bounds the open connections (and file descriptors) however many requests come.
    Idle keep-alive connections are dropped after `Handler.timeout` seconds so they
    cannot hold the workers.
    """

    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, on_close: Callable[[], None] | None = None,
                 workers: int = DEFAULT_WORKERS) -> None:
        handler = type("BoundHandler", (Handler,), {"app": app})
        super().__init__(address, handler)
        self.app = app
        self._on_close = on_close
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="akhbar-http")

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self._process, request, client_address)

    def _process(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.app.admin is not None:
            self.app.admin.close()
        if self._on_close:
            self._on_close()
            self._on_close = None


def make_app(data_dir: Path, archive_url: str | None = None, *, ttl_minutes: int = DEFAULT_TTL_MINUTES) -> tuple[App, Callable[[], None] | None]:
    """The app over ``data_dir/public`` and, when given, the archive at `archive_url`."""
    public = Path(data_dir) / "public"
    public.mkdir(parents=True, exist_ok=True)
    admin = None  # the admin endpoints moved to the ASGI app (feeds/web/admin.py)
    if archive_url is None:
        return App(public, ttl_minutes=ttl_minutes, admin=admin), None
    from feeds.query import ArchiveStore, api_dispatcher, default_page_context

    store = ArchiveStore.open(archive_url)
    from crawler.ops.reaper import reap_dead_runs

    reap_dead_runs(store.archive)  # a run killed while the server was down must not show "running"
    app = App(
        public,
        store=store,
        api=api_dispatcher(store.archive),
        page_context=default_page_context(),
        ttl_minutes=ttl_minutes,
        admin=admin,
    )
    return app, store.close


def make_server(data_dir: Path, archive_url: str | None, host: str = "127.0.0.1", port: int = 8080, *,
                ttl_minutes: int = DEFAULT_TTL_MINUTES) -> FeedServer:
    """A server (not yet serving): call ``serve_forever()``, later ``shutdown()`` and
    ``server_close()``. Port 0 picks a free port; ``server.url`` says which."""
    app, on_close = make_app(Path(data_dir), archive_url, ttl_minutes=ttl_minutes)
    return FeedServer((host, port), app, on_close)
