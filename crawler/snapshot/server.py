"""`SnapshotServer`: the five sites (and ``wpdemo`` on request) served on loopback.

One stdlib ``ThreadingHTTPServer`` per site, each in a daemon thread. Pages are
rendered on first request and cached; the sample is loaded once per process. With
``faults=True`` a few deterministic failures are injected (see docs/snapshot.md); with
``faults=[Fault(...), ...]`` a declarative plan (crawler/snapshot/faults.py, docs/faults.md).
With ``rename_classes=True`` every ``class`` and ``id`` of the HTML pages is renamed, as a
theme change would (crawler/snapshot/rename.py).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import threading
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from crawler.snapshot import faults as faultlib
from crawler.snapshot import permalinks as permalinklib
from crawler.snapshot import wordpress
from crawler.snapshot.catalog import Post, SiteCatalog, build_catalog, default_now, ground_truth
from crawler.snapshot.faults import Fault, FaultPlan, Injection
from crawler.snapshot.rename import ClassRenamer
from crawler.snapshot.renderers import Renderer, renderer_for
from crawler.snapshot.sites import FIVE_SITES, SITES, Section

logger = logging.getLogger(__name__)

# a 1x1 GIF stands in for every uploaded image
PIXEL = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
_PAGED = re.compile(r"^(?P<base>.*?)/page/(?P<n>\d+)$")
_POST_ID = re.compile(r"^/wp-json/wp/v2/(?P<kind>posts|media)/(?P<id>\d+)$")

Response = tuple[int, dict[str, str], bytes]


class SiteApp:
    """Routing and rendering for one site; thread-safe (immutable catalog, locked fault counters)."""

    def __init__(self, cat: SiteCatalog, faults: bool, plan: FaultPlan | None = None,
                 renamer: ClassRenamer | None = None) -> None:
        self.cat = cat
        self.renamer = renamer
        self.plan = plan
        self.r: Renderer = renderer_for(cat)
        self.faults = faults
        self._lock = threading.Lock()
        self._hits: dict[str, int] = {}
        self.requests: Counter[str] = Counter()
        """Every request's path and query as sent, counted (what a test checks was fetched once)."""
        self._cache: dict[str, str] = {}
        self.sections: dict[str, Section] = {
            unquote(cat.section_path(s)).rstrip("/"): s for s in cat.spec.sections
        }
        self.fault_plan: dict[str, tuple[int, int, dict[str, str]]] = {}
        """decoded path -> (status, how many first requests fail, extra headers)"""
        self.fault_urls: dict[str, tuple[int, int]] = {}
        if faults and len(cat.posts) > 4:
            biggest = max(cat.spec.sections, key=lambda s: len(cat.section_posts(s)))
            demo_faults: list[tuple[str, int, int, dict[str, str]]] = [
                (cat.posts[2].path, 503, 1, {}), (cat.posts[4].path, 429, 1, {"Retry-After": "1"})]
            if len(cat.section_posts(biggest)) > 10:
                demo_faults.append((cat.section_path(biggest, 2), 500, 2, {}))
            for path, status, times, headers in demo_faults:
                self.fault_plan[unquote(path)] = (status, times, headers)
                self.fault_urls[cat.url(path)] = (status, times)

    # --- plumbing ---------------------------------------------------------------
    def _html(self, text: str, status: int = 200) -> Response:
        charset = self.r.charset
        if self.renamer is not None:
            text = self.renamer.html(text)
        body = text.encode(charset, errors="xmlcharrefreplace")
        return status, {
            "Content-Type": f"text/html; charset={charset.upper() if charset == 'utf-8' else charset}",
            "Link": f'<{self.r.url("/wp-json/")}>; rel="https://api.w.org/"',
        }, body

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return status, {"Content-Type": "application/json; charset=UTF-8", **(headers or {})}, body

    @staticmethod
    def _text(text: str, ctype: str) -> Response:
        return 200, {"Content-Type": f"{ctype}; charset=UTF-8"}, text.encode("utf-8")

    def _cached(self, key: str, make: Any) -> str:
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = make()
        return hit

    def not_found(self) -> Response:
        body = '<main class="error-404"><h1>الصفحة غير موجودة</h1></main>\n'
        return self._html(self.r.page("404", "", body, "error404"), 404)

    def _injected_fault(self, key: str) -> Response | None:
        plan = self.fault_plan.get(key)
        if plan is None:
            return None
        status, times, headers = plan
        with self._lock:
            n = self._hits.get(key, 0)
            self._hits[key] = n + 1
        if n >= times:
            return None
        logger.info("%s: injected %d for %s (request %d)", self.cat.spec.id, status, key, n + 1)
        return status, {"Content-Type": "text/html; charset=UTF-8", **headers}, f"<h1>{status}</h1>".encode()

    def planned_fault(self, raw_path: str) -> Fault | None:
        if self.plan is None:
            return None
        parts = urlsplit(raw_path)
        return self.plan.pick(self.cat.spec.id, unquote(parts.path) or "/", parts.query)

    # --- routing ----------------------------------------------------------------
    def handle(self, raw_path: str) -> Response:
        parts = urlsplit(raw_path)
        path = unquote(parts.path) or "/"
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        fault = self._injected_fault(path)
        if fault is not None:
            return fault
        if path.startswith("/wp-json"):
            return self.api(path, params)
        if path == "/robots.txt":
            return self._text(wordpress.robots(self.r), "text/plain")
        if path in ("/sitemap.xml", "/sitemap_index.xml"):
            return self._text(wordpress.sitemap_index(self.r), "application/xml")
        if path == "/post-sitemap.xml":
            return self._text(self._cached(path, lambda: wordpress.post_sitemap(self.r)), "application/xml")
        if path.startswith("/wp-content/uploads/"):
            return 200, {"Content-Type": "image/gif"}, PIXEL
        if path == "/":
            if "p" in params and params["p"].isdigit():
                post = self.cat.by_id.get(int(params["p"]))
                if post is None:
                    return self.not_found()
                if post.path == f"/?p={post.id}":  # "Plain" permalinks: this is the article's address
                    return self._injected_fault(post.path) or self.article(post)
                return 301, {"Location": self.r.url(post.path)}, b""
            if params.get("action") == "ajax_listing":
                return self.ajax_listing(params)
            return self._html(self._cached("/", self.r.home))
        stripped = path.rstrip("/")
        if stripped in ("/feed", "/rss"):
            return self._text(self._cached("/feed", lambda: wordpress.rss(self.r, self.cat.posts, self.cat.spec.name, "/feed/")), "application/rss+xml")
        if stripped.endswith("/feed"):
            section = self.sections.get(stripped[: -len("/feed")])
            if section is not None:
                posts = self.cat.section_posts(section)
                feed_path = self.cat.section_path(section).rstrip("/") + "/feed/"
                return self._text(wordpress.rss(self.r, posts, f"{section.name} - {self.cat.spec.name}", feed_path), "application/rss+xml")
        post = self.cat.by_path.get(path) or self.cat.by_path.get(stripped + "/") or self.cat.by_path.get(stripped)
        if post is not None:
            return self.article(post)
        section, page = self.sections.get(stripped), 1
        m = _PAGED.match(stripped)
        if section is None and m:
            section, page = self.sections.get(m["base"].rstrip("/")), int(m["n"])
        if section is not None:
            html = self.r.listing(section, page)
            return self._html(html) if html is not None else self.not_found()
        return self.not_found()

    def article(self, post: Post) -> Response:
        return self._html(self._cached(post.path, lambda: self.r.article(post)))

    def ajax_listing(self, params: dict[str, str]) -> Response:
        paged = params.get("paged") or "1"
        page = int(paged) if paged.isdigit() and int(paged) > 0 else 1
        chunk = self.cat.posts[(page - 1) * 10 : page * 10]
        return self._html("".join(self.r.card(p) for p in chunk))

    def api(self, path: str, params: dict[str, str]) -> Response:
        path = path.rstrip("/")
        try:
            if path == "/wp-json/wp/v2/posts":
                items, total, pages = wordpress.api_posts(self.r, params)
                return self._json(items, headers={"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)})
            if path == "/wp-json/wp/v2/categories":
                cats = wordpress.api_categories(self.r)
                return self._json(cats, headers={"X-WP-Total": str(len(cats)), "X-WP-TotalPages": "1"})
            m = _POST_ID.match(path)
            if m:
                pid = int(m["id"])
                if m["kind"] == "posts" and pid in self.cat.by_id:
                    return self._json(wordpress.post_json(self.r, self.cat.by_id[pid], "_embed" in params))
                owner = self.cat.by_id.get(pid - 1)
                if m["kind"] == "media" and owner is not None:
                    return self._json({"id": pid, "source_url": self.r.url(owner.image_path), "media_type": "image",
                                       "mime_type": "image/jpeg", "post": owner.id})
                raise wordpress.ApiError(404, "rest_post_invalid_id", "Invalid post ID.")
            if path == "/wp-json":
                return self._json({"name": self.cat.spec.name, "url": self.r.url("/"), "namespaces": ["wp/v2"]})
            raise wordpress.ApiError(404, "rest_no_route", "No route was found matching the URL and request method.")
        except wordpress.ApiError as exc:
            return exc.status, {"Content-Type": "application/json; charset=UTF-8"}, exc.body()


class _Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    app: SiteApp  # set on the per-site subclass

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK
        # stall every keep-alive response ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _render(self) -> Response:
        try:
            return self.app.handle(self.path)
        except Exception:  # a rendering bug must answer 500, not kill the connection silently
            logger.exception("%s: error serving %s", self.app.cat.spec.id, self.path)
            return 500, {"Content-Type": "text/plain; charset=UTF-8"}, b"internal error"

    def _respond(self, head_only: bool) -> None:
        # counted here, not in SiteApp.handle: a planned fault may answer without rendering
        with self.app._lock:
            self.app.requests[self.path] += 1
        fault = self.app.planned_fault(self.path)
        if fault is not None:
            faultlib.serve(fault, self, self._render, head_only)
            return
        status, headers, body = self._render()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._respond(head_only=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head_only=True)

    def log_message(self, fmt: str, *args: Any) -> None:
        logger.debug("%s %s", self.app.cat.spec.id, fmt % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a crawler killed or giving up mid-request (timeouts, size limits, kill -9 in the
        # tests) resets its connection: expected, not a traceback on stderr
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            logger.debug("client %s went away", client_address)
            return
        super().handle_error(request, client_address)


class SnapshotServer:
    """Serve the offline snapshot of the news sites on loopback; see docs/snapshot.md."""

    def __init__(
        self,
        sites: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
        now: datetime | None = None,
        faults: bool | Iterable[Fault] = False,
        rename_classes: bool = False,
        rename_seed: int | None = None,
        permalinks: str | None = None,
    ) -> None:
        self.sites = list(sites) if sites is not None else list(FIVE_SITES)
        unknown = [s for s in self.sites if s not in SITES]
        if unknown:
            raise ValueError(f"snapshot: unknown site(s) {unknown}; known: {sorted(SITES)}")
        if now is not None and now.tzinfo is None:
            raise ValueError("snapshot: `now` must be timezone-aware")
        self.host = host
        self.ports = dict(ports or {})
        self.now = now or default_now()
        # True: the fixed demo faults (docs/snapshot.md); a list: a declarative plan
        self.faults = faults is True
        self.plan = FaultPlan([] if isinstance(faults, bool) else faults)
        # One renamer for all sites of this server: a seed (random unless given) per run.
        self.renamer = ClassRenamer(rename_seed) if rename_classes else None
        # a name or WordPress structure (crawler/snapshot/permalinks.py); checked before any port opens
        self.permalinks = permalinks
        permalinklib.resolve(permalinks)
        self._servers: dict[str, _Server] = {}
        self._threads: list[threading.Thread] = []
        self._apps: dict[str, SiteApp] = {}

    @property
    def base_urls(self) -> dict[str, str]:
        if not self._servers:
            raise RuntimeError("snapshot: server not started")
        url_host = "127.0.0.1" if self.host in ("", "0.0.0.0", "::") else self.host
        return {s: f"http://{url_host}:{srv.server_address[1]}" for s, srv in self._servers.items()}

    def start(self) -> SnapshotServer:
        if self._servers:
            return self
        try:
            for site in self.sites:
                srv = _Server((self.host, self.ports.get(site, 0)), _Handler)
                srv.daemon_threads = True
                self._servers[site] = srv
        except OSError:
            self.stop()
            raise
        for site, url in self.base_urls.items():
            cat = build_catalog(site, url, self.now, self.faults, self.permalinks)
            app = self._apps[site] = SiteApp(cat, self.faults, self.plan, self.renamer)
            srv = self._servers[site]
            srv.RequestHandlerClass = type(f"{site}Handler", (_Handler,), {"app": app})
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, name=f"snapshot-{site}", daemon=True)
            t.start()
            self._threads.append(t)
        logger.info("snapshot: serving %s", ", ".join(f"{s}={u}" for s, u in self.base_urls.items()))
        return self

    def stop(self) -> None:
        for srv in self._servers.values():
            if self._threads:
                srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(timeout=2)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> SnapshotServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def articles(self, site: str) -> list[dict[str, Any]]:
        """Ground truth: what `site` publishes, newest first (see docs/snapshot.md for the fields)."""
        app = self._apps.get(site)
        if app is None:
            raise KeyError(f"snapshot: site {site!r} is not being served")
        return [ground_truth(app.cat, p, app.r.displayed_date(p)) for p in app.cat.posts]

    def hits(self, site: str) -> Counter[str]:
        """Requests `site` has answered so far: path and query as sent -> how many times."""
        app = self._apps[site]
        with app._lock:
            return Counter(app.requests)

    def fault_plan(self, site: str) -> dict[str, tuple[int, int]]:
        """Injected faults of `site`: URL -> (status, number of failing first requests)."""
        return dict(self._apps[site].fault_urls)

    def set_faults(self, faults: Iterable[Fault]) -> None:
        """Replace the declarative fault plan (hit counters restart) while serving."""
        self.plan.replace(faults)

    def fault_log(self, site: str | None = None) -> list[Injection]:
        """Every fault injected so far (site, decoded path, kind, request number), in order."""
        return [i for i in list(self.plan.log) if site is None or i.site == site]
