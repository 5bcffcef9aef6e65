"""`NewsSpider`: the shared crawl plan every site spider runs.

A site spider names its page object and its discovery order; this base does the rest:

* **discovery paths** — ``wp-json`` (``/wp-json/wp/v2/posts?_embed``, paged by
  ``X-WP-TotalPages``), ``rss`` (``/feed/``), ``sitemap`` (``/sitemap.xml``, index or
  urlset), ``sections`` (the site's section listings, following ``rel=next``). They are
  tried in order; the next one starts only when the current one fails (4xx/5xx after
  retries) or keeps no article at all.
* **what counts as an article** — entries of the REST API, RSS/Atom feeds and post/news
  sitemaps are articles whatever the shape of their URL, as long as they are on the site
  (its host, or a host its discovery pages were redirected to) and stay there after
  redirects. The spider's ``article_url`` pattern only ranks links found on HTML listing
  pages (and in sitemaps not named for posts or news): a link matching it is an article; a
  link of another shape is *probed* — fetched at a lower priority and kept when the page is
  an article by its content (``spiders.article_evidence``: JSON-LD ``Article``, ``og:type``
  article, a real body) — within ``AKHBAR_DISCOVERY_PROBE_BUDGET`` fetches per run
  (``akhbar/discovery_probe/*``). When the budget runs out, the next discovery path starts
  as well. A path that finds entries but keeps none says how many it found and why each
  kind was rejected, in the log and the run record (``spiders.discovery_tally``).
* **incremental crawling** — every article URL is checked with
  ``self.seen.is_fresh(url, source=...)``; fresh ones are skipped (``akhbar/skipped_fresh``)
  and a listing / API / feed page whose articles are all fresh ends paging. Not after a
  run of the source that did not finish (killed, crashed, shut down) or whose discovery
  failed (it fell back to a shorter path such as the feed): that run may have archived
  the newest pages' articles and not the older ones, so this one pages past
  fresh pages (and goes on from the feed to the next path) up to the limit
  (``akhbar/resume_deep``). ``source.max_pages`` caps the pages followed per path.
* **extraction** — article pages are always fetched and parsed by the page object; values
  discovery already knows (API categories, RSS creator, ...) are passed as hints that
  only fill gaps. A failing extraction is logged and counted (``akhbar/extract_error``,
  ``akhbar/extract_error_urls``) and the crawl goes on.
* **failed URLs** — an article request that fails for good is recorded with its reason
  (``crawler.ops.failed_urls``, ``AKHBAR_FAILED_STORE``); the next run re-queues the
  source's failed URLs before discovery. So is a listing or API page past the first that
  fails for good (``discovery <path> page N: ...``): an incremental run stops paging at
  the first all-fresh page, so without it the articles behind the failed page would never
  be reached again; the retry pages on from there. Hostile discovery input (a DTD in a feed or
  sitemap, invalid JSON) is stripped or counted, never a stop (docs/faults.md).

Arguments: ``-a source=<id>`` (default: the spider name) and ``-a base_url=...`` (default:
the config's base_url), so the same spider crawls the live site or the offline snapshot;
``-a discovery=sections,rss`` overrides the discovery order.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, ClassVar
from urllib.parse import urlencode, urljoin, urlparse

import scrapy
from parsel import Selector
from scrapy import signals
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.sitemap import Sitemap
from twisted.python.failure import Failure

from crawler.archive.runs import record_layers, run_id_for
from crawler.config import DISCOVERY_PATHS, Source, load_sources
from crawler.items import Article
from crawler.ops.failed_urls import FailedUrlsStore, NoFailedStore, failed_store_for, failure_reason, failure_request
from crawler.seen import SeenStore, seen_store_for
from spiders.article_evidence import article_evidence
from spiders.discovery_tally import DiscoveryTally
from spiders.extract import clean_text
from spiders.page import ArticlePage

logger = logging.getLogger(__name__)

# Articles already discovered go before the next listing / API page: discovery then stays
# one page ahead of the downloads instead of queueing every article of the site at once
# (a 100,000-article crawl held ~250 MB of pending requests before this).
ARTICLE_PRIORITY = 10
# Links of unknown shape are checked after the known articles, before the next listing page.
PROBE_PRIORITY = 5
# Unknown-shape listing links fetched per run to judge by their content (a setting).
DEFAULT_PROBE_BUDGET = 200
# A child sitemap named for posts or news (Yoast post-sitemap.xml, core wp-sitemap-posts-post-1.xml,
# sitemap-news.xml): its entries are articles. Page, taxonomy and author sitemaps are not.
_POST_SITEMAP = re.compile(r"post|news|article", re.I)
_NOT_POST_SITEMAP = re.compile(r"page|categor|tag|taxonom|author|user|attachment|product", re.I)

# The sitemap protocol allows 50 MB uncompressed; pages get DOWNLOAD_MAXSIZE.
SITEMAP_MAXSIZE = 50 * 1024 * 1024
# failed_urls reasons of discovery pages (not articles): re-queued with their callback
_FAILED_PROBE = "probe: "
_FAILED_DISCOVERY = re.compile(r"^discovery (?P<path>[\w-]+) page (?P<page>\d+): ")
# A DTD in the prolog (internal subset included): feeds and sitemaps never need one, and
# it is where entity bombs and external entities live.
_DOCTYPE = re.compile(rb"<!DOCTYPE\b(?:[^\[>]*\[.*?\]\s*>|[^>]*>)", re.S | re.I)


def strip_doctype(body: bytes) -> tuple[bytes, bool]:
    """`body` without a DOCTYPE declaration before its root element; whether one was removed."""
    m = _DOCTYPE.search(body, 0, 65536)
    if m is None or b"<" in body[:m.start()].replace(b"<?", b"").replace(b"<!--", b""):
        return body, False
    return body[: m.start()] + body[m.end():], True


def _host(url: str) -> str:
    netloc = urlparse(url).netloc.lower()
    return netloc[4:] if netloc.startswith("www.") else netloc


def is_post_sitemap(url: str) -> bool:
    """True for a sitemap whose name says it lists posts or news (not pages or terms)."""
    name = urlparse(url).path.rsplit("/", 1)[-1]
    return bool(_POST_SITEMAP.search(name)) and not _NOT_POST_SITEMAP.search(name)


def _html_text(fragment: str | None) -> str | None:
    if not fragment:
        return None
    if "<" not in fragment and "&" not in fragment:
        # plain text (most titles and term names): no markup to parse
        return clean_text(fragment)
    return clean_text(scrapy.Selector(text=f"<div>{fragment}</div>").xpath("string(//div)").get())


class NewsSpider(scrapy.Spider):
    page_class: ClassVar[type[ArticlePage]] = ArticlePage
    discovery: ClassVar[tuple[str, ...] | None] = None
    """Discovery order; None means the source config's ``discovery`` list."""
    section_paths: ClassVar[tuple[str, ...]] = ()
    """Section listing paths (relative to base_url) for the ``sections`` path."""
    listing_link_css: ClassVar[str] = (
        "article h2 a::attr(href), article h3 a::attr(href), h2.entry-title a::attr(href), "
        "h3.entry-title a::attr(href)"
    )
    next_page_css: ClassVar[str] = 'link[rel="next"]::attr(href), a.next::attr(href), a[rel="next"]::attr(href)'
    article_url: ClassVar[re.Pattern[str] | None] = None
    """The shape of the site's article URLs as far as anyone knows: it ranks links found on
    listing pages (a match is an article; another shape is probed by its content). None:
    every listing link is an article. Entries of the REST API, feeds and post sitemaps are
    articles whatever their shape."""
    custom_settings: dict[str, Any] | None = {}

    source_id: str
    source: Source
    seen: SeenStore
    failed: FailedUrlsStore | NoFailedStore

    def __init__(
        self,
        *args: Any,
        source: str | None = None,
        base_url: str | None = None,
        discovery: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.source_id = source or self.name
        sources = load_sources()
        if self.source_id not in sources:
            raise ValueError(f"{self.name}: unknown source {self.source_id!r}; known: {', '.join(sources)}")
        self.source = sources[self.source_id]
        self.base_url = (base_url or self.source.base_url).rstrip("/")
        self.seen = _NoSeen()
        self.failed = NoFailedStore()
        # -a discovery=sections,rss overrides the site's order (one path, or a different order).
        override = [p.strip() for p in discovery.split(",") if p.strip()] if discovery else None
        self._paths = list(override or type(self).discovery or self.source.discovery)
        self.discovery_label = "-".join(self._paths)
        unknown = [p for p in self._paths if p not in DISCOVERY_PATHS]
        if unknown:
            raise ValueError(f"{self.source_id}: unknown discovery path(s) {unknown}; known: {DISCOVERY_PATHS}")
        self._round: dict[str, Any] = {}
        self._deep = False
        # hosts the site answers on: its base URL's, and any its discovery pages redirect to
        self._site_hosts = {_host(self.base_url)}
        self.tally = DiscoveryTally(self._inc)
        self.probe_budget = DEFAULT_PROBE_BUDGET
        self._probed: set[str] = set()
        self._abandoned: set[str] = set()
        self._budget_moved_on = False

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.seen = seen_store_for(crawler)
        spider.failed = failed_store_for(crawler)
        raw = crawler.settings.get("AKHBAR_DISCOVERY_PROBE_BUDGET", DEFAULT_PROBE_BUDGET)
        try:
            spider.probe_budget = max(0, int(raw))
        except (TypeError, ValueError):
            raise ValueError(f"AKHBAR_DISCOVERY_PROBE_BUDGET must be a whole number of fetches, not {raw!r}") from None
        crawler.signals.connect(spider._request_dropped, signal=signals.request_dropped)
        return spider

    # --- helpers ----------------------------------------------------------------------
    def url(self, path: str) -> str:
        return urljoin(self.base_url + "/", path.lstrip("/"))

    def _inc(self, key: str, n: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key, n)

    def on_site(self, url: str) -> bool:
        return _host(url) in self._site_hosts

    def is_article_url(self, url: str) -> bool:
        """On the site and of the site's article shape (`article_url`): ranks listing links."""
        return self.on_site(url) and (self.article_url is None or bool(self.article_url.search(url)))

    def _note_redirect(self, response: Response) -> None:
        """A discovery page of the site redirected elsewhere (http -> https, apex -> www,
        hibapress.com -> ar.hibapress.com): the site answers there too."""
        first = (response.meta.get("redirect_urls") or [None])[0]
        if first and self.on_site(first) and not self.on_site(response.url):
            self.logger.info("%s: the site also answers on %s (redirected from %s)", self.source_id,
                             _host(response.url), first)
            self._site_hosts.add(_host(response.url))

    def article_requests(self, items: Iterable[tuple[str, dict[str, Any]]], *, trusted: bool = True,
                         path: str | None = None, base: str | None = None) -> tuple[list[Request], int]:
        """Requests for the articles among `items` that are not fresh (probe requests for
        links of unknown shape among them), and how many articles were kept.

        `trusted` entries (REST API, feed, post/news sitemap, earlier failures) are articles
        whatever the shape of their URL, when on the site; the others (listing links) when
        `is_article_url` says so, else they are probed while the budget lasts."""
        requests: list[Request] = []
        n = 0
        unique: set[str] = set()
        for raw, hints in items:
            try:
                url = urljoin(base or self.base_url + "/", raw.strip())
                scheme = urlparse(url).scheme
            except ValueError:  # "http://[bad": hostile or broken, not an address
                url, scheme = raw, ""
            if url in unique or (not trusted and url in self._probed):  # a card links its article twice
                continue
            unique.add(url)
            self.tally.entry(path)
            if scheme not in ("http", "https"):
                self.tally.reject(path, "not_web")
                continue
            if not self.on_site(url):
                self.tally.reject(path, "offsite")
                continue
            fresh = self.seen.is_fresh(url, source=self.source_id)
            if not trusted and not fresh and not self.is_article_url(url):
                requests.extend(self._probe(url, hints, path))
                continue
            n += 1
            self.tally.kept(path)
            if fresh:
                self._inc("akhbar/skipped_fresh")
                if hints.get("via") == "failed":  # archived meanwhile (another crawler)
                    self.failed.succeeded([url])
                continue
            requests.append(
                Request(
                    url,
                    callback=self.parse_article,
                    errback=self.article_failed,
                    meta={"akhbar_article": True},
                    cb_kwargs={"hints": hints},
                    priority=ARTICLE_PRIORITY,
                )
            )
        return requests, n

    # --- probes: listing links of unknown shape ----------------------------------------------
    def _probe(self, url: str, hints: dict[str, Any], path: str | None) -> list[Request]:
        """A request judging `url` by its content; [] when already judged or over budget
        (then, once, the next discovery path starts too: this one cannot be followed fully)."""
        if path in self._abandoned:  # its first pages kept nothing; the next path runs
            self.tally.reject(path, "given_up")
            return []
        if len(self._probed) >= self.probe_budget:
            self.tally.reject(path, "over_budget")
            self._inc("akhbar/discovery_probe/over_budget")
            return self._budget_spent(path)
        self._probed.add(url)
        self.tally.probed(path)
        self._inc("akhbar/discovery_probe/requested")
        if path == self._round.get("path"):
            self._round["pending"] += 1  # the path's outcome waits for the judgement
        return [Request(url, callback=self.parse_probe, errback=self.probe_failed,
                        meta={"akhbar_article": True, "akhbar_probe": True, "akhbar_discovery": path},
                        cb_kwargs={"hints": {**hints, "via": hints.get("via") or "listing"}},
                        priority=PROBE_PRIORITY)]

    def _budget_spent(self, path: str | None) -> list[Request]:
        if self._budget_moved_on or path != self._round.get("path") or not self._paths:
            return []
        self._budget_moved_on = True
        self.logger.warning("%s: probe budget spent (%d links of unknown shape, AKHBAR_DISCOVERY_PROBE_BUDGET); "
                            "%s goes on with what it knows and %s starts as well",
                            self.source_id, self.probe_budget, path, self._paths[0])
        return self._next_path()

    def parse_probe(self, response: Response, hints: dict[str, Any] | None = None) -> Iterator[Any]:
        path = response.meta.get("akhbar_discovery")
        if not self.on_site(response.url):  # redirected away: whatever it is, not the site's
            self.logger.info("%s: probe %s redirected to another site (%s)", self.source_id,
                             (response.meta.get("redirect_urls") or [response.url])[0], response.url)
            self._inc("akhbar/discovery_probe/offsite_redirect")
            self.tally.judged(path, False, "offsite")
            yield from self._probe_done(response, False)
            return
        extracted = self._extract(response, hints, record_failure=False)
        evidence = article_evidence(*extracted) if extracted is not None else None
        if extracted is None or evidence is None:
            self.logger.debug("%s: %s is not an article by its content", self.source_id, response.url)
            self._inc("akhbar/discovery_probe/not_article")
            self.tally.judged(path, False)
            if (hints or {}).get("via") == "failed":  # judged at last: no longer waiting in failed_urls
                self.failed.succeeded([(response.meta.get("redirect_urls") or [response.url])[0]])
            yield from self._probe_done(response, False)
            return
        self._inc("akhbar/discovery_probe/article")
        self._inc(f"akhbar/discovery_probe/evidence/{evidence}")
        self.tally.judged(path, True)
        yield from self._emit(response, *extracted)
        yield from self._probe_done(response, True)

    def probe_failed(self, failure: Failure) -> list[Request]:
        request = failure_request(failure)
        path = request.meta.get("akhbar_discovery")
        response = getattr(failure.value, "response", None)
        self.logger.warning("%s: probe of %s failed: %s", self.source_id, request.url,
                            response.status if response is not None else failure.getErrorMessage())
        self._inc("akhbar/discovery_probe/failed")
        self.tally.judged(path, False, "probe_failed")
        reason, status = failure_reason(failure)
        if reason is not None:
            # kept as a probe: the retry judges it by its content again
            self.failed.record((request.meta.get("redirect_urls") or [request.url])[0], source=self.source_id,
                               reason=f"probe: {reason}", status=status)
        return self._probe_done(request, False)

    def _request_dropped(self, request: Request, spider: scrapy.Spider) -> None:
        """A probe the scheduler refused (its URL was already requested, say as an article
        retried from failed_urls): its judgement will never come, so the path must not
        wait for it."""
        if spider is not self or not request.meta.get("akhbar_probe"):
            return
        self._inc("akhbar/discovery_probe/duplicate")
        self.tally.judged(request.meta.get("akhbar_discovery"), False, "duplicate")
        for follow in self._probe_done(request, False):  # a fallback's first requests
            self.crawler.engine.crawl(follow)

    def _probe_done(self, response_or_request: Any, article: bool) -> list[Request]:
        path = response_or_request.meta.get("akhbar_discovery")
        if path != self._round.get("path"):
            return []
        return self._settle(int(article))

    # --- discovery control ----------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        self._deep = self._after_unfinished_run()
        # What failed for good last time goes first: it has waited longest.
        for request in self.failed_requests():
            yield request
        for request in self._next_path():
            yield request

    def _after_unfinished_run(self) -> bool:
        last_status = getattr(self.seen, "last_run_status", None)
        status = last_status(self.source_id, run_id_for(self.crawler)) if last_status else None
        if status in (None, "finished"):
            return False
        self.logger.info("%s: the last run did not get through (%s): paging past fresh pages, up to %d per path",
                         self.source_id, status, self.source.max_pages)
        self._inc("akhbar/resume_deep")
        return True

    def failed_requests(self) -> list[Request]:
        rows = self.failed.pending(self.source_id)
        pages = [(row, m) for row in rows if (m := _FAILED_DISCOVERY.match(row["reason"] or ""))]
        requests = [self._failed_page_request(row["url"], m["path"], int(m["page"])) for row, m in pages
                    if m["path"] in DISCOVERY_PATHS and _host(row["url"]) == _host(self.base_url)]
        articles = [row for row in rows if not _FAILED_DISCOVERY.match(row["reason"] or "")]
        # a probe that failed is judged by its content again; other URLs were articles already
        probes = [row for row in articles if (row["reason"] or "").startswith(_FAILED_PROBE)]
        requests += self.article_requests(((row["url"], {"via": "failed"}) for row in articles if row not in probes),
                                          path="failed")[0]
        requests += self.article_requests(((row["url"], {"via": "failed"}) for row in probes), trusted=False,
                                          path="failed")[0]
        if requests:
            self.logger.info("%s: retrying %d URLs that failed in earlier runs", self.source_id, len(requests))
            self._inc("akhbar/failed_urls/requeued", len(requests))
        return requests

    def _failed_page_request(self, url: str, path: str, page: int) -> Request:
        # not a first page: it takes no part in the path's fallback accounting, and pages on
        # from itself until an all-fresh page as any later page does
        callback = {"wp-json": self.parse_api, "rss": self.parse_feed, "sitemap": self.parse_sitemap,
                    "sections": self.parse_listing}[path]
        meta: dict[str, Any] = {"akhbar_discovery": path, "akhbar_page": page, "akhbar_failed_page": True}
        if path == "sitemap":
            meta["download_maxsize"] = SITEMAP_MAXSIZE
        return Request(url, callback=callback, errback=self.discovery_failed, meta=meta)

    def _discovery_page_failed(self, request: Request, why: str, status: int | None) -> None:
        """Keep a failed page past the first in failed_urls; the next run starts from it."""
        meta = request.meta
        if meta.get("akhbar_first") or (meta.get("akhbar_page", 1) <= 1 and not meta.get("akhbar_failed_page")):
            self.failed.run_error(f"discovery failed: {why}", url=request.url)
            return
        reason = f"discovery {meta.get('akhbar_discovery')} page {meta.get('akhbar_page', 1)}: {why}"
        self.failed.record(request.url, source=self.source_id, reason=reason, status=status)

    def _discovery_page_read(self, response: Response) -> None:
        if response.meta.get("akhbar_failed_page"):
            self.failed.succeeded([response.url])

    def _next_path(self) -> list[Request]:
        while self._paths:
            path = self._paths.pop(0)
            requests = list(self._path_requests(path))
            if requests:
                self.logger.info("%s: discovering through %s", self.source_id, path)
                self._round = {"path": path, "pending": len(requests), "found": 0}
                self._budget_moved_on = False
                return requests
        self.logger.info("%s: no discovery path left", self.source_id)
        return []

    def _path_requests(self, path: str) -> Iterator[Request]:
        meta = {"akhbar_discovery": path, "akhbar_first": True, "akhbar_page": 1}
        if path == "wp-json":
            yield Request(self._api_url(1), callback=self.parse_api, errback=self.discovery_failed, meta=meta)
        elif path == "rss":
            yield Request(self.url("/feed/"), callback=self.parse_feed, errback=self.discovery_failed, meta=meta)
        elif path == "sitemap":
            yield Request(self.url("/sitemap.xml"), callback=self.parse_sitemap, errback=self.discovery_failed,
                          meta={**meta, "download_maxsize": SITEMAP_MAXSIZE})
        elif path == "sections":
            for p in self.section_paths:
                yield Request(self.url(p), callback=self.parse_listing, errback=self.discovery_failed, meta=dict(meta))

    def _first_page_done(self, response_or_request: Any, found: int) -> list[Request]:
        """Account a first page of the current path; start the next path when all came back empty."""
        meta = response_or_request.meta
        if not meta.get("akhbar_first") or meta.get("akhbar_discovery") != self._round.get("path"):
            return []
        return self._settle(found)

    def _settle(self, found: int) -> list[Request]:
        """One awaited outcome of the current path (a first page, a probe) came back with
        `found` articles; when none is awaited any more and none was found, fall back."""
        self._round["found"] += found
        self._round["pending"] -= 1
        if self._round["pending"] > 0 or self._round["found"] > 0:
            return []
        path = self._round["path"]
        tally = self.tally.path(path)
        self._abandoned.add(path)
        self._inc(f"akhbar/discovery_fallback/{path}")
        if tally.entries:
            summary = tally.summary()
            self.logger.warning("%s: %s kept no article (%s); falling back", self.source_id, path, summary)
            self.failed.run_error(f"discovery {path} kept no article: {summary}", url=None)
        else:
            self.logger.warning("%s: %s found no entries; falling back", self.source_id, path)
        return self._next_path()

    def discovery_failed(self, failure: Failure) -> list[Request]:
        request = failure_request(failure)
        response = getattr(failure.value, "response", None)
        status = response.status if response is not None else None
        self.logger.warning("%s: discovery request %s failed: %s", self.source_id, request.url,
                            status or failure.getErrorMessage())
        self._inc(f"akhbar/discovery_error/{request.meta.get('akhbar_discovery')}")
        reason, _ = failure_reason(failure)
        if reason is None:  # excluded by robots.txt: policy, not a failure
            return self._first_page_done(request, 0)
        self._discovery_page_failed(request, reason, status)
        return [*self._first_page_done(request, 0), *self._api_page_after(request)]

    def _api_page_after(self, request: Request) -> list[Request]:
        """The REST API page after a failed one: its URL is known, so the run goes on past
        the gap (the failed page itself waits in failed_urls)."""
        meta = request.meta
        page, total = meta.get("akhbar_page", 1), meta.get("akhbar_total", 0)
        if meta.get("akhbar_discovery") != "wp-json" or meta.get("akhbar_first") or not page < min(total, self.source.max_pages):
            return []
        return [Request(self._api_url(page + 1), callback=self.parse_api, errback=self.discovery_failed,
                        meta={"akhbar_discovery": "wp-json", "akhbar_page": page + 1, "akhbar_total": total})]

    def _should_page(self, response: Response, found: int, requests: list[Request]) -> bool:
        page = response.meta.get("akhbar_page", 1)
        if page >= self.source.max_pages:
            return False
        if found and not requests and not self._deep:
            self.logger.info("%s: page %d of %s is all fresh; stop paging", self.source_id, page, response.url)
            return False
        return found > 0

    def _next_meta(self, response: Response) -> dict[str, Any]:
        return {"akhbar_discovery": response.meta.get("akhbar_discovery"),
                "akhbar_page": response.meta.get("akhbar_page", 1) + 1}

    # --- wp-json ------------------------------------------------------------------------
    def _api_url(self, page: int) -> str:
        query = urlencode({"per_page": min(self.source.per_page, 100), "page": page, "_embed": 1})
        return self.url("/wp-json/wp/v2/posts") + "?" + query

    def parse_api(self, response: Response) -> Iterator[Request]:
        try:
            posts = json.loads(response.text)
        except (ValueError, AttributeError, RecursionError):  # RecursionError: hostile nesting
            posts = None
            self._inc("akhbar/invalid_json")
        if not isinstance(posts, list):
            self.logger.warning("%s: REST API answered no post list at %s", self.source_id, response.url)
            request = response.request
            assert request is not None  # Scrapy sets it on every response it hands to a callback
            self._discovery_page_failed(request, "invalid JSON" if posts is None else "no post list",
                                        response.status)
            yield from self._first_page_done(response, 0)
            yield from self._api_page_after(request)
            return
        self._discovery_page_read(response)
        self._note_redirect(response)
        requests, found = self.article_requests(
            (self.api_hints(p) for p in posts if isinstance(p, dict) and p.get("link")), path="wp-json", base=response.url)
        yield from requests
        yield from self._first_page_done(response, found)
        page = response.meta.get("akhbar_page", 1)
        try:
            total = int((response.headers.get(b"X-WP-TotalPages") or b"0").decode() or 0)
        except ValueError:
            total = 0
        if page < total and self._should_page(response, found, requests):
            yield Request(self._api_url(page + 1), callback=self.parse_api, errback=self.discovery_failed,
                          meta={**self._next_meta(response), "akhbar_total": total})

    def api_hints(self, post: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        embedded = post.get("_embedded") or {}
        cats: list[str] = []
        tags: list[str] = []
        for group in embedded.get("wp:term") or []:
            for term in group or []:
                if not isinstance(term, dict) or not term.get("name"):
                    continue
                name = clean_text(_html_text(term["name"]))
                if term.get("taxonomy") == "category" and name:
                    cats.append(name)
                elif term.get("taxonomy") == "post_tag" and name:
                    tags.append(name)
        authors = [a.get("name") for a in embedded.get("author") or [] if isinstance(a, dict)]
        media = [m.get("source_url") for m in embedded.get("wp:featuredmedia") or [] if isinstance(m, dict)]
        date = None
        if post.get("date_gmt"):
            date = f"{post['date_gmt']}+00:00"
        elif post.get("date"):
            date = post["date"]
        hints = {
            "via": "api",
            "site_article_id": str(post["id"]) if post.get("id") else None,
            "title": _html_text((post.get("title") or {}).get("rendered")),
            "summary": _html_text((post.get("excerpt") or {}).get("rendered")),
            "section_raw": cats[0] if cats else None,
            "tags": tags or None,
            "author": first_str(authors),
            "image_url": first_str(media),
            "date_published_raw": date,
            "date_modified_raw": f"{post['modified_gmt']}+00:00" if post.get("modified_gmt") else None,
        }
        return str(post["link"]), {k: v for k, v in hints.items() if v}

    # --- rss ------------------------------------------------------------------------------
    def parse_feed(self, response: Response) -> Iterator[Request]:
        # Scrapy decodes by the Content-Type charset or the <?xml encoding=...?> declaration.
        response = self._without_doctype(response)
        text = response.text if isinstance(response, TextResponse) else response.body.decode("utf-8", "replace")
        try:
            sel = Selector(text=text, type="xml") if text.strip() else None
        except Exception:  # lxml raises several types on garbage
            sel = None
        items = []
        if sel is not None:
            sel.remove_namespaces()
            for item in sel.xpath("//item"):
                link = clean_text(item.xpath("link/text()").get()) or clean_text(item.xpath("guid/text()").get())
                if not link:
                    continue
                cats = [c for c in (clean_text(x) for x in item.xpath("category/text()").getall()) if c]
                items.append((link, {k: v for k, v in {
                    "via": "rss",
                    "title": clean_text(item.xpath("title/text()").get()),
                    "author": clean_text(item.xpath("creator/text()").get()),
                    "section_raw": cats[0] if cats else None,
                    "date_published_raw": clean_text(item.xpath("pubDate/text()").get()),
                }.items() if v}))
            items += self._atom_entries(sel)
        self._note_redirect(response)
        requests, found = self.article_requests(items, path="rss", base=response.url)
        yield from requests
        yield from self._first_page_done(response, found)
        # A feed holds only the latest items: when every one of them is new, older articles
        # may be missing too, so the next path goes deeper (an incremental run stops here).
        if found and (len(requests) == found or self._deep) and response.meta.get("akhbar_first") and self._paths:
            self.logger.info("%s: %s; continuing with %s for older articles", self.source_id,
                             "resuming an unfinished run" if self._deep else "whole feed is new", self._paths[0])
            yield from self._next_path()

    @staticmethod
    def _atom_entries(sel: Selector) -> list[tuple[str, dict[str, Any]]]:
        """Atom 1.0 entries (``/feed/atom/``, Blogger, many CMSs): the alternate link, else an
        ``id`` that is a web address (namespaces already removed)."""
        entries = []
        for entry in sel.xpath("//entry"):
            ids = [i for i in (clean_text(x) for x in entry.xpath("id/text()").getall()) if i and i.startswith("http")]
            link = first_str(entry.xpath("link[not(@rel) or @rel='alternate']/@href").getall()) or first_str(ids)
            if not link:
                continue
            cats = [c for c in (clean_text(x) for x in entry.xpath("category/@term").getall()) if c]
            entries.append((link, {k: v for k, v in {
                "via": "rss",
                "title": clean_text(" ".join(entry.xpath("title//text()").getall())),
                "author": clean_text(entry.xpath("author/name/text()").get()),
                "section_raw": cats[0] if cats else None,
                "date_published_raw": clean_text(entry.xpath("published/text()").get())
                or clean_text(entry.xpath("updated/text()").get()),
            }.items() if v}))
        return entries

    # --- sitemap ------------------------------------------------------------------------
    def _without_doctype(self, response: Response) -> Response:
        # parsel and Scrapy's Sitemap already parse with resolve_entities=False; dropping the
        # DTD as well keeps the items of a feed that carries an entity bomb readable.
        body, stripped = strip_doctype(response.body)
        if not stripped:
            return response
        self.logger.warning("%s: DOCTYPE removed from %s (entities are never expanded)", self.source_id, response.url)
        self._inc("akhbar/xml_doctype_stripped")
        return response.replace(body=body)

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        response = self._without_doctype(response)
        try:
            sitemap = Sitemap(response.body)
        except Exception:  # lxml raises several types on garbage
            sitemap = None
        if sitemap is None:
            yield from self._first_page_done(response, 0)
            return
        entries = list(sitemap)
        self._note_redirect(response)
        if sitemap.type == "sitemapindex":
            # Newest sitemaps first when lastmod is known (Yoast numbers post-sitemapN oldest first).
            dated = sorted(((e.get("lastmod") or "", e["loc"]) for e in entries if e.get("loc")), reverse=True)
            locs = [loc for _, loc in dated] if any(lm for lm, _ in dated) else [e["loc"] for e in entries if e.get("loc")]
            posts = [u for u in locs if is_post_sitemap(u)] or [u for u in locs if _POST_SITEMAP.search(u)] or locs
            posts = posts[: self.source.max_pages]
            if posts and response.meta.get("akhbar_first") and self._round.get("path") == "sitemap":
                self._round["pending"] += len(posts)
            for u in posts:
                yield Request(urljoin(response.url, u), callback=self.parse_sitemap, errback=self.discovery_failed,
                              meta={"akhbar_discovery": "sitemap", "akhbar_first": True, "akhbar_page": 1,
                                    "download_maxsize": SITEMAP_MAXSIZE})
            # The index itself found nothing; its child sitemaps (counted above) decide.
            yield from self._first_page_done(response, 0)
            return
        urls = sorted(
            ((e.get("lastmod") or "", e["loc"]) for e in entries if e.get("loc")), reverse=True
        )[: self.source.per_page * self.source.max_pages]
        # A post or news sitemap lists articles; any other (pages, terms, or a bare urlset
        # of everything) is ranked like a listing page.
        trusted = is_post_sitemap(response.url) or any("news" in e for e in entries)
        requests, found = self.article_requests(
            ((u, {"via": "sitemap", "date_modified_raw": lm or None}) for lm, u in urls),
            trusted=trusted, path="sitemap", base=response.url)
        yield from requests
        yield from self._first_page_done(response, found)

    # --- section listings ------------------------------------------------------------------
    def parse_listing(self, response: Response) -> Iterator[Request]:
        self._discovery_page_read(response)
        self._note_redirect(response)
        links = response.css(self.listing_link_css).getall()
        hints = {"via": "listing"}
        requests, found = self.article_requests(((link, dict(hints)) for link in links), trusted=False,
                                                path=response.meta.get("akhbar_discovery") or "sections",
                                                base=response.url)
        yield from requests
        yield from self._first_page_done(response, found)
        # links being probed count as found for paging: they are the listing's articles
        # unless their content says otherwise
        probes = sum(1 for r in requests if r.meta.get("akhbar_probe"))
        nxt = first_str(response.css(self.next_page_css).getall())
        if nxt and self._should_page(response, found + probes, requests):
            yield Request(response.urljoin(nxt), callback=self.parse_listing, errback=self.discovery_failed,
                          meta=self._next_meta(response))

    # --- articles -------------------------------------------------------------------------
    def parse_article(self, response: Response, hints: dict[str, Any] | None = None) -> Iterator[Any]:
        extracted = self._extract(response, hints)
        if extracted is not None:
            yield from self._emit(response, *extracted)

    def _extract(self, response: Response, hints: dict[str, Any] | None,
                 record_failure: bool = True) -> tuple[ArticlePage, Article] | None:
        """The page object and its article; None when extraction failed (logged, counted,
        and for a known article kept in failed_urls)."""
        try:
            page = self.page_class(response, hints, default_language=self.source.language)
            return page, page.to_article(self.source_id)
        except Exception as exc:  # one bad page must not end the crawl
            if not record_failure:  # a probe: a page that cannot be read is no article
                self.logger.info("%s: probe %s unreadable: %r", self.source_id, response.url, exc)
                return None
            self.logger.error("%s: extraction failed for %s: %r", self.source_id, response.url, exc, exc_info=True)
            self._inc("akhbar/extract_error")
            if self.crawler.stats is not None:
                urls = list(self.crawler.stats.get_value("akhbar/extract_error_urls") or [])
                urls.append(response.url)
                self.crawler.stats.set_value("akhbar/extract_error_urls", urls)
            # kept for the next run: a fixed extractor (or page) gets it then
            requested = (response.meta.get("redirect_urls") or [response.url])[0]
            self.failed.record(requested, source=self.source_id, reason=f"extraction failed: {exc!r}"[:300],
                               status=response.status)
            return None

    def _emit(self, response: Response, page: ArticlePage, article: Article) -> Iterator[Article]:
        if not self.on_site(response.url):
            # an entry of the site that lands on another one is not the site's article
            first = (response.meta.get("redirect_urls") or [response.url])[0]
            self.logger.warning("%s: %s redirected to another site (%s); not kept", self.source_id, first, response.url)
            self._inc("akhbar/article_offsite_redirect")
            return
        if response.meta.get("warc_record"):
            article.warc_record = response.meta["warc_record"]
        record_layers(self.crawler.stats, page.field_layers, article)  # per-run layer counts (docs/monitoring.md)
        self._inc("akhbar/articles_extracted")
        yield article

    def closed(self, reason: str) -> None:
        # a path that kept some entries and rejected others said nothing yet: one line each
        for path, tally in self.tally.paths.items():
            if tally.rejected:
                self.logger.info("%s: discovery %s: %s", self.source_id, path, tally.summary())

    def article_failed(self, failure: Failure) -> None:
        response = getattr(failure.value, "response", None)
        self.logger.warning("%s: article %s failed: %s", self.source_id, failure_request(failure).url,
                            response.status if response is not None else failure.getErrorMessage())
        if self.failed.failed_request(failure, source=self.source_id) is None:
            return  # excluded by robots.txt: policy, not a failure
        self._inc("akhbar/article_fetch_error")


def first_str(values: Iterable[Any]) -> str | None:
    for v in values:
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


class _NoSeen:
    def is_fresh(self, url: str, *, source: str | None = None) -> bool:
        return False
