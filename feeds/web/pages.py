"""The HTML pages: the front page, a topic or a source (``/?topic=``, ``/?source=``),
search with its filters (``/search?q=&source=&topic=&since=&until=``) and ``/status``.

Rendered from the Jinja2 templates (`feeds.web.templating`); served with conditional GET
and compression like the feeds, a CSP that allows no script at all, ``nosniff`` and no
referrer. Without an archive, ``/`` is the static ``public/index.html`` `publish` wrote.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from crawler.archive import Archive, QueryError, SearchTimeout
from feeds.page import Notice, PageContext, render_page
from feeds.web.archive_access import get_access
from feeds.web.fastpath import fast_path
from feeds.web.http import HTML_TYPE, Answer, Representation, error_response, send, send_answer
from feeds.web.templating import render

logger = logging.getLogger(__name__)

PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; form-action 'self'; "
            "frame-ancestors 'self'; base-uri 'none'")
PAGE_MAX_AGE = 60
PAGE_LIMIT = 30
FRONT_CACHE_SECONDS = 10.0
"""How long a rendered front, topic or source page is reused while nothing was published
(a publish renews it at once): well inside the minute it may be cached downstream."""
SECURITY_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Referrer-Policy": "no-referrer"}
KEPT_PAGE_HEADERS = {"Cache-Control": f"public, max-age={PAGE_MAX_AGE}", **SECURITY_HEADERS}
"""A 200 page's own headers (pages kept by `feeds.web.fastpath` are sent with these again)."""

HEALTH_LABELS: dict[str, str] = {"ok": "سليم", "degraded": "متدهور", "failing": "متعطل", "unknown": "لم يُفحص بعد"}
HEALTH_COLOURS: dict[str, str] = {"ok": "#0b6e4f", "degraded": "#b26a00", "failing": "#b3261e", "unknown": "#5b6570"}
RUN_STATUS_LABELS: dict[str, str] = {"finished": "اكتمل", "running": "جارٍ", "failed": "فشل", "interrupted": "توقف",
                                     "crashed": "انهار", "shutdown": "أوقف"}
MONITOR_LABELS: dict[str, str] = {
    "no_articles": "وجود مقالات",
    "site_answered": "استجابة الموقع",
    "min_articles": "الحد الأدنى من المقالات",
    "coverage/title": "تغطية العناوين",
    "coverage/body_text": "تغطية النصوص",
    "coverage/date_published": "تغطية تواريخ النشر",
    "coverage/section_raw": "تغطية الأقسام",
    "error_rate": "نسبة الأخطاء",
    "finish_reason": "اكتمال الجولة",
    "crawl_process": "عملية الزحف",
    "selectors_stale/title": "محددات العناوين",
    "selectors_stale/body_text": "محددات النصوص",
    "selectors_stale/date_published_raw": "محددات التواريخ",
}
CHART = {"W": 300, "H": 80, "PAD": 14}

router = APIRouter(include_in_schema=False)


def page_response(request: Request, html_text: str, status: int = 200, *, max_age: int | None = PAGE_MAX_AGE) -> Response:
    cache = f"public, max-age={max_age}" if max_age is not None else "no-cache"
    return send(request, Representation(html_text.encode("utf-8"), HTML_TYPE), status,
                {"Cache-Control": cache, **SECURITY_HEADERS})


def _param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    value = value.strip() if value else None
    return value or None


def _store(archive: Archive, names: dict[str, str]) -> Any:
    from feeds.query import ArchiveStore

    return ArchiveStore(archive, names)


@dataclass
class PageCache:
    """Rendered pages and the menu context, keyed by the state of ``public/feeds/`` (its
    mtime and the index's: `publish` changes them when it writes), so each is built once
    per publish, not per request. Search results are never kept here (`search` leaves
    its pages to `feeds.web.fastpath`, under the archive's change token)."""

    feeds_dir: str
    index_file: str
    _menu: tuple[tuple[int, int], PageContext] | None = None
    _pages: dict[tuple[str | None, str | None], tuple[tuple[int, int], float, Representation]] = field(
        default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def published(self) -> tuple[int, int]:
        """What changes when `publish` runs: the feed directory's and index's mtimes."""
        out = []
        for name in (self.feeds_dir, self.index_file):
            try:
                out.append(os.stat(name).st_mtime_ns)
            except OSError:
                out.append(0)
        return out[0], out[1]

    def menu(self, base: PageContext, state: tuple[int, int]) -> PageContext:
        """The page context with the topics that have a published feed (the menu links only
        those: a topic with no article yet has no feed, and its page would be empty)."""
        menu = self._menu
        if menu is not None and menu[0] == state:
            return menu[1]
        present = set(os.listdir(self.feeds_dir)) if os.path.isdir(self.feeds_dir) else set()
        published = frozenset(tid for tid, _ in base.topics if f"topic-{tid}.rss" in present)
        ctx = replace(base, published_topics=published)
        self._menu = (state, ctx)
        return ctx

    def page(self, key: tuple[str | None, str | None], state: tuple[int, int]) -> Representation | None:
        hit = self._pages.get(key)
        if hit is not None and hit[0] == state and time.monotonic() - hit[1] < FRONT_CACHE_SECONDS:
            return hit[2]
        return None

    def keep(self, key: tuple[str | None, str | None], state: tuple[int, int], rep: Representation) -> None:
        with self._lock:
            self._pages[key] = (state, time.monotonic(), rep)


def page_cache(request: Request) -> PageCache:
    cache: PageCache | None = getattr(request.app.state, "page_cache", None)
    if cache is None:
        public = request.app.state.ctx.public
        cache = request.app.state.page_cache = PageCache(str(public / "feeds"), str(public / "index.html"))
    return cache


@router.get("/")
@router.get("/index.html")
async def front(request: Request) -> Response:
    access = get_access(request)
    if access is None:
        rep = request.app.state.feed_files.get("/index.html")
        if rep is None:
            return error_response(404, "no archive configured and no public/index.html")
        return send(request, rep, headers={"Cache-Control": f"public, max-age={PAGE_MAX_AGE}"})
    cache = page_cache(request)
    state = cache.published()
    ctx = cache.menu(request.app.state.page_context, state)
    topic, source = _param(request, "topic"), _param(request, "source")
    if topic and topic not in dict(ctx.topics):
        return error_response(404, f"unknown topic {topic[:100]!r}")
    if source and source not in ctx.sources:
        return error_response(404, f"unknown source {source[:100]!r}")
    key = (topic, source)
    rep = cache.page(key, state)  # bounded: known topics and sources only
    if rep is None:
        stories = await access.run(lambda a: _store(a, ctx.sources).latest(topic=topic, source=source, limit=PAGE_LIMIT))
        rep = Representation(render_page(stories, ctx, topic=topic, source=source).encode("utf-8"), HTML_TYPE)
        cache.keep(key, state, rep)
    return _kept_page(request, cache, key, rep)


def _kept_page(request: Request, cache: PageCache, key: tuple[str | None, str | None], rep: Representation) -> Response:
    """A page of `cache`, answered again without the app while the cache holds it."""
    answer = Answer(rep, KEPT_PAGE_HEADERS)
    fast_path(request).keep(request, answer, fresh=lambda: cache.page(key, cache.published()) is rep)
    return send_answer(request, answer)


def _day(value: str | None) -> str | None:
    """A date the form's ``<input type=date>`` can show again (YYYY-MM-DD), else None."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


@router.get("/search")
async def search(request: Request) -> Response:
    """Search results, filtered by source, topic and dates; with no words, the newest
    reports matching the filters.

    A page without errors is kept (`feeds.web.fastpath`) while the archive (its change
    token, read before the search) and the published menu stay the same."""
    cache = page_cache(request)
    state = cache.published()
    ctx = cache.menu(request.app.state.page_context, state)
    access = get_access(request)
    token: object | None = None
    q = _param(request, "q")
    topic, source = _param(request, "topic"), _param(request, "source")
    since, until = _param(request, "since"), _param(request, "until")
    notices: list[Notice] = []
    status = 200
    if topic and topic not in dict(ctx.topics):
        notices.append(Notice("موضوع غير معروف:", topic))
        topic, status = None, 400
    if source and source not in ctx.sources:
        notices.append(Notice("مصدر غير معروف:", source))
        source, status = None, 400
    stories: list[Any] = []
    if access is None:
        notices.append(Notice("البحث غير متاح: لا أرشيف لهذا الخادم."))
        status = 503
    elif status == 200:
        from crawler.archive.search import query_hints

        notices += [Notice("قُرئ البحث هكذا:", hint) for hint in query_hints(q)]
        try:
            token, stories = await access.run_versioned(lambda a: _store(a, ctx.sources).search(
                q, limit=PAGE_LIMIT, source=source, topic=topic, since=since, until=until))
        except QueryError as exc:  # a malformed search or filter: say so on the page
            logger.info("search %r refused: %s", q, exc)
            notices.append(Notice("تعذّر البحث:", str(exc)))
            status = 400
        except SearchTimeout as exc:  # past the search budget: the page says so, 503
            logger.warning("search %r stopped: %s", q, exc)
            notices.append(Notice("استغرق البحث وقتاً طويلاً فأُوقف؛ ضيّق البحث وأعد المحاولة."))
            status = 503
    html_text = render_page(stories, ctx, topic=topic, source=source, query=q, since=_day(since), until=_day(until),
                            notices=notices, search_page=True)
    if status != 200:
        return page_response(request, html_text, status)
    answer = Answer(Representation(html_text.encode("utf-8"), HTML_TYPE), KEPT_PAGE_HEADERS)
    fast_path(request).keep(request, answer, fresh=lambda: cache.published() == state, token=token, archive=True)
    return send_answer(request, answer)


def render_status_page(status: Mapping[str, Any]) -> str:
    """The whole /status document from a status dict (`Status.to_dict()`)."""
    days = [date.fromisoformat(d) for d in status["days"]]
    sources = status["sources"]
    counts = {h: sum(1 for s in sources if s["health"] == h) for h in HEALTH_LABELS}
    summary = " · ".join(f"{HEALTH_LABELS[h]}: {n}" for h, n in counts.items() if n)
    return render("status.html", title="حالة المصادر", sources=sources, days=days, summary=summary,
                  generated=datetime.fromisoformat(status["generated_at"]), health_labels=HEALTH_LABELS,
                  colours=HEALTH_COLOURS, run_labels=RUN_STATUS_LABELS, monitor_labels=MONITOR_LABELS, **CHART)


@router.get("/status")
@router.get("/status/")
async def status_page(request: Request) -> Response:
    """Each source's health, last and next run, articles per day."""
    from crawler.ops.health import source_status

    access = get_access(request)
    if access is None:
        return error_response(404, "no archive configured")
    status = await access.run(lambda a: source_status(a).to_dict())
    return page_response(request, render_status_page(status), max_age=None)


@router.get("/feeds")
async def feed_list_moved(request: Request) -> Response:
    return RedirectResponse(f"{request.scope.get('root_path', '')}/feeds/", status_code=301)


@router.get("/feeds/")
async def feed_list(request: Request) -> Response:
    """Every feed published in ``DIR/public/feeds/`` (all, topics, sources), each in its
    three formats, and the OPML list: what a reader subscribes to."""
    from feeds.model import feed_specs

    cache = page_cache(request)
    state = cache.published()
    rep = cache.page(("/feeds/", None), state)
    if rep is None:
        ctx: PageContext = request.app.state.page_context
        present = {p.stem for p in (request.app.state.ctx.public / "feeds").glob("*.rss")}
        specs = [s for s in feed_specs(ctx.sources, ctx.topics) if s.key in present]
        groups = [(label, [s for s in specs if s.kind == kind])
                  for kind, label in (("all", "كل الأخبار"), ("topic", "المواضيع"), ("source", "المصادر"))]
        html_text = render("feeds.html", title="الخلاصات", groups=[g for g in groups if g[1]],
                           formats=[("rss", "RSS"), ("atom", "Atom"), ("json", "JSON Feed")])
        rep = Representation(html_text.encode("utf-8"), HTML_TYPE)
        cache.keep(("/feeds/", None), state, rep)
    return _kept_page(request, cache, ("/feeds/", None), rep)


@router.get("/api")
@router.get("/api/")
async def api_root(request: Request) -> Response:
    """The API's address leads to its documentation."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/api/docs", status_code=302)
