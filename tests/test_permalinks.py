"""Discovery does not depend on the shape of article URLs (issue 14 §1).

The snapshot serves the five sites under other permalink structures
(`SnapshotServer(permalinks=...)`); every site spider, in a real crawl over loopback HTTP
in a subprocess (as tests/test_spiders.py runs them), must still archive every article:
entries of the REST API, feeds and post sitemaps are articles whatever their URL, and a
listing link of unknown shape is probed and kept by its content. A path that keeps
nothing says what it found and why it rejected it, in the log and in the run record.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from serving_support import loopback_server, reply, serving
from test_spiders import FAST, SITES, _env, _read

from crawler.archive import open_archive
from crawler.archive.canonical import fold_url
from crawler.snapshot import SnapshotServer
from crawler.snapshot.permalinks import STRUCTURES, resolve
from spiders.article_evidence import article_evidence
from spiders.belpresse import BelpresseArticlePage
from spiders.hespress import HespressArticlePage
from spiders.hibapress import HibapressArticlePage
from spiders.le12 import Le12ArticlePage
from spiders.page import ArticlePage
from spiders.rue20 import Rue20ArticlePage

# The four WordPress structures, and Hespress's pre-2021 CMS shape (/<section>/<id>.html)
STRUCTURE_NAMES = ["category", "query", "day", "id", "section-id"]
PAGES: dict[str, type[ArticlePage]] = {
    "hespress": HespressArticlePage, "hibapress": HibapressArticlePage, "le12": Le12ArticlePage,
    "rue20": Rue20ArticlePage, "belpresse": BelpresseArticlePage,
}
# What each site's article pages prove themselves an article by, in the snapshot
EVIDENCE = {"hespress": "og:type", "hibapress": "json-ld", "le12": "json-ld", "rue20": "json-ld", "belpresse": "body"}

CRAWL = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from crawler.commands.crawl import crawl_sites\n"
    "args = json.loads(sys.argv[1])\n"
    "stats = crawl_sites(args['sites'], Path(args['data']), base_urls=args['urls'], settings=args['settings'])\n"
    "Path(args['data'], 'stats.json').write_text(json.dumps(stats, default=str))\n"
)
# Site spiders with a discovery order of their own (-a discovery=...), one Scrapy process
CRAWL_PATHS = (
    "import json, sys\n"
    "from scrapy.crawler import CrawlerProcess\n"
    "from scrapy.utils.project import get_project_settings\n"
    "args = json.loads(sys.argv[1])\n"
    "settings = get_project_settings()\n"
    "settings.setdict(args['settings'], priority='cmdline')\n"
    "process = CrawlerProcess(settings)\n"
    "crawlers = []\n"
    "for site, path, url in args['runs']:\n"
    "    crawler = process.create_crawler(site)\n"
    "    crawlers.append((site, crawler))\n"
    "    process.crawl(crawler, base_url=url, discovery=path)\n"
    "process.start()\n"
    "stats = {site: dict(c.stats.get_stats()) for site, c in crawlers}\n"
    "open(args['stats'], 'w').write(json.dumps(stats, default=str))\n"
)


def crawl_mirror(handler: Any, tmp_path: Path, source: str, discovery: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """`akhbar crawl SOURCE -O out.jsonl` (a subprocess) of `handler` served on loopback as a
    sources-file entry using the Belpress spider with `discovery` (a TOML list)."""
    data = tmp_path / "data"
    with serving(loopback_server(handler)) as server:
        toml = tmp_path / "sources.toml"
        toml.write_text(f'[sources.{source}]\nbase_url = "http://127.0.0.1:{server.server_address[1]}"\n'
                        f'spider = "belpresse"\ndiscovery = {discovery}\n', encoding="utf-8")
        out = tmp_path / "out.jsonl"
        sets = [a for k, v in FAST.items() for a in ("-s", f"{k}={v}")]
        proc = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "--data", str(data), "crawl", source, "-O", str(out), *sets],
            cwd=ROOT, env=_env(data, AKHBAR_SOURCES=str(toml)), capture_output=True, text=True, timeout=120,
        )
    return proc, out

def _archived(data: Path) -> dict[str, set[str]]:
    with open_archive(f"sqlite:///{data / 'archive.sqlite3'}") as archive:
        rows = archive.fetch("SELECT source, url FROM articles")
    out: dict[str, set[str]] = {}
    for row in rows:
        out.setdefault(row["source"], set()).add(row["url"])
    return out


def _runs(data: Path, source: str) -> list[dict[str, Any]]:
    with open_archive(f"sqlite:///{data / 'archive.sqlite3'}") as archive:
        return archive.runs(source=source)


def _publishable(snap: SnapshotServer, site: str) -> set[str]:
    return {a["url"] for a in snap.articles(site) if a["title"]}


def _run(script: str, args: dict[str, Any], data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(args)],
        cwd=ROOT, env=_env(data, **env), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


# --- the snapshot's option ------------------------------------------------------------------

def test_snapshot_serves_every_article_under_each_structure() -> None:
    for name in ["site", *STRUCTURES]:
        with SnapshotServer(sites=["hespress", "belpresse"], permalinks=name) as snap:
            for site in ("hespress", "belpresse"):
                articles = snap.articles(site)
                assert len({a["path"] for a in articles}) == len(articles)
                for a in articles[:3]:
                    with urllib.request.urlopen(a["url"]) as r:
                        html = r.read().decode(r.headers.get_content_charset() or "utf-8")
                    assert r.url == a["url"], (name, site)
                    assert f'rel="canonical" href="{a["url"]}"' in html
                if name == "query":
                    assert articles[0]["path"] == f"/?p={articles[0]['id']}"
                elif name == "category":
                    assert articles[0]["path"].startswith(f"/{articles[0]['section']}/")
    with SnapshotServer(sites=["le12"], permalinks="/%year%/%post_id%/%postname%.htm") as snap:
        a = snap.articles("le12")[0]
        assert a["path"] == f"/{a['published']:%Y}/{a['id']}/" + a["path"].split("/")[-1]
        assert a["path"].endswith(".htm")
        with urllib.request.urlopen(a["url"]) as r:
            assert r.status == 200


def test_guid_redirects_unless_it_is_the_permalink() -> None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with SnapshotServer(sites=["rue20"]) as snap:
        a = snap.articles("rue20")[0]
        with pytest.raises(urllib.error.HTTPError) as err:
            opener.open(f"{snap.base_urls['rue20']}/?p={a['id']}")
        assert err.value.code == 301 and err.value.headers["Location"] == a["url"]
    with SnapshotServer(sites=["rue20"], permalinks="query") as snap:
        a = snap.articles("rue20")[0]
        with opener.open(a["url"]) as r:
            assert r.status == 200 and a["title"] in r.read().decode()


@pytest.mark.parametrize("bad", ["/%foo%/", "no-slash", "/%year%/", "/?q=%post_id%"])
def test_bad_structures_are_refused(bad: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="permalinks"):
        SnapshotServer(permalinks=bad)
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "--data", str(tmp_path), "snapshot", "serve", "--port-base", "0",
         "--permalinks", bad],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0 and "permalinks" in proc.stderr
    assert resolve("category") == "/%category%/%postname%/" and resolve("site") is None


def test_query_permalinks_keep_distinct_archive_keys() -> None:
    """`/?p=ID` is a query URL: the archive's folding must keep the id (the crawl test
    below checks the whole chain: dedup of requests, seen-set and archive)."""
    keys = {fold_url(f"http://127.0.0.1:8001/?p={i}") for i in (1, 2, 3)}
    assert len(keys) == 3
    assert fold_url("https://www.example.ma/?p=7&utm_source=x") == fold_url("http://example.ma/?p=7")


# --- article by content -----------------------------------------------------------------

def _page(cls: type[ArticlePage], url: str) -> ArticlePage:
    with urllib.request.urlopen(url) as r:
        return cls.from_bytes(url, r.read(), headers={"Content-Type": r.headers["Content-Type"]})


@pytest.mark.parametrize("site", SITES)
def test_article_evidence_on_snapshot_pages(site: str) -> None:
    """Articles prove themselves articles (each site by what its pages carry); its
    listing pages and home page do not, though they are full of article text and links."""
    with SnapshotServer(sites=[site], permalinks="category") as snap:
        base = snap.base_urls[site]
        for a in snap.articles(site)[:5]:
            page = _page(PAGES[site], a["url"])
            assert article_evidence(page, page.to_article(site)) == EVIDENCE[site], a["url"]
        app = snap._apps[site]
        section = next(s for s in app.cat.spec.sections if app.cat.section_posts(s))
        for path in (app.cat.section_path(section), "/"):
            page = _page(PAGES[site], base + path)
            assert article_evidence(page, page.to_article(site)) is None, path


# --- crawls -------------------------------------------------------------------------------

@pytest.mark.parametrize("structure", STRUCTURE_NAMES)
def test_every_site_archives_every_article(structure: str, tmp_path: Path) -> None:
    """The five spiders with their own discovery orders, the sites under `structure`."""
    with SnapshotServer(sites=SITES, permalinks=structure) as snap:
        args = {"sites": SITES, "data": str(tmp_path), "urls": snap.base_urls, "settings": FAST}
        proc = _run(CRAWL, args, tmp_path)
        archived = _archived(tmp_path)
        for site in SITES:
            assert archived.get(site, set()) == _publishable(snap, site), (structure, site)
    assert "found no" not in proc.stderr and "kept no article" not in proc.stderr
    stats = json.loads((tmp_path / "stats.json").read_text())
    for site in SITES:
        assert not stats[site].get("akhbar/extract_error"), site
        assert not any(k.startswith("akhbar/discovery_fallback") for k in stats[site]), (site, structure)


# Listing pages are where the URL pattern still matters: it ranks, the content decides.
LISTING_SITES = ["hespress", "hibapress"]


@pytest.mark.parametrize("structure", ["category", "query", "day", "id"])
def test_listing_links_of_unknown_shape_are_probed(structure: str, tmp_path: Path) -> None:
    with SnapshotServer(sites=LISTING_SITES, permalinks=structure) as snap:
        runs = [(site, "sections", snap.base_urls[site]) for site in LISTING_SITES]
        stats_file = tmp_path / "stats.json"
        _run(CRAWL_PATHS, {"runs": runs, "settings": FAST, "stats": str(stats_file)}, tmp_path)
        archived = _archived(tmp_path)
        stats = json.loads(stats_file.read_text())
        for site in LISTING_SITES:
            truth = _publishable(snap, site)
            assert archived.get(site, set()) == truth, (structure, site)
            s = stats[site]
            # a link matching the site's pattern is fetched as an article, the others probed
            pattern_hits = sum(1 for u in truth if _spider_pattern(site).search(u))
            assert s.get("akhbar/discovery_probe/requested", 0) == len(truth) - pattern_hits, (structure, site)
            assert s.get("akhbar/discovery_probe/article", 0) == len(truth) - pattern_hits
            assert not s.get("akhbar/discovery_probe/not_article")
            assert s["akhbar/discovery/sections/kept"] == len(truth)


def _spider_pattern(site: str) -> Any:
    from spiders.hespress import HespressSpider
    from spiders.hibapress import HibapressSpider

    pattern = {"hespress": HespressSpider, "hibapress": HibapressSpider}[site].article_url
    assert pattern is not None
    return pattern


def test_probe_budget_is_counted_and_the_next_path_takes_over(tmp_path: Path) -> None:
    """Hiba Press lists 53 articles of unknown shape; 10 probes are allowed: the rest are
    counted as left unchecked, the REST API starts as well, and nothing is lost."""
    with SnapshotServer(sites=["hibapress"], permalinks="category") as snap:
        runs = [("hibapress", "sections,wp-json", snap.base_urls["hibapress"])]
        stats_file = tmp_path / "stats.json"
        proc = _run(CRAWL_PATHS, {"runs": runs, "settings": {**FAST, "AKHBAR_DISCOVERY_PROBE_BUDGET": "10"},
                                  "stats": str(stats_file)}, tmp_path)
        assert _archived(tmp_path)["hibapress"] == _publishable(snap, "hibapress")
    s = json.loads(stats_file.read_text())["hibapress"]
    assert s["akhbar/discovery_probe/requested"] == 10
    assert s["akhbar/discovery/sections/rejected/over_budget"] >= 1
    assert s["akhbar/discovery_probe/over_budget"] == s["akhbar/discovery/sections/rejected/over_budget"]
    assert "probe budget spent" in proc.stderr and "hibapress: discovering through wp-json" in proc.stderr
    # the run's end sums up the path that kept some and rejected others (listing pages met
    # after the budget ran out are not paged on: the REST API lists the rest)
    over = s["akhbar/discovery/sections/rejected/over_budget"]
    assert (f"hibapress: discovery sections: {10 + over} entries found, 10 kept: {over} of unknown URL shape "
            "left unchecked (probe budget spent)") in proc.stderr


def test_budget_from_the_environment(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from scrapy.utils.project import get_project_settings as g; "
         "print(g().getint('AKHBAR_DISCOVERY_PROBE_BUDGET'))"],
        cwd=ROOT, env=_env(tmp_path, AKHBAR_DISCOVERY_PROBE_BUDGET="7"), capture_output=True, text=True, timeout=60,
    )
    assert proc.stdout.strip() == "7", proc.stderr


# --- a path that keeps nothing says why ---------------------------------------------------

def test_a_path_that_keeps_nothing_says_what_it_found_and_why(tmp_path: Path) -> None:
    """A mirror (crawled by the Belpress spider, whose URL pattern ranks sitemap links) whose
    REST API links another host and a ``mailto:``, and whose bare sitemap lists a static page
    (Yoast's og:type article, but a page) and a category page: each path says how many
    entries it found and why it kept none, in the log and in the run's record; the feed's
    article, of no known shape, is archived."""
    pages = {
        "/about/": '<html><head><meta property="og:type" content="article"></head><body class="page page-id-2">'
                   '<h1>من نحن</h1>' + "<p>جريدة إلكترونية مغربية مستقلة تأسست قبل عشر سنوات.</p>" * 9 + "</body></html>",
        "/category/x/": '<html><head><meta property="og:type" content="website"></head><body class="archive category">'
                        '<article><h2><a href="/a/">عنوان</a></h2></article></body></html>',
        "/a/": '<html><head><meta property="og:type" content="article"><title>خبر</title></head><body class="single">'
               '<article><h1 class="entry-title">خبر اليوم</h1><div class="entry-content">'
               + "<p>فقرة أولى طويلة بما يكفي لتكون نص مقال حقيقي في الموقع.</p>" * 8 + "</div></article></body></html>",
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path.startswith("/wp-json/wp/v2/posts"):
                posts = [{"id": i, "link": f"https://mirror.example/{i}/"} for i in range(3)]
                posts.append({"id": 9, "link": "mailto:desk@example.ma"})
                reply(self, 200, json.dumps(posts).encode(), "application/json")
            elif self.path == "/sitemap.xml":
                urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in ("/about/", "/category/x/"))
                body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
                reply(self, 200, body.encode(), "application/xml")
            elif self.path == "/feed/":
                rss = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>'
                       f"<item><title>t</title><link>{base}/a/</link></item></channel></rss>")
                reply(self, 200, rss.encode(), "application/rss+xml")
            elif self.path in pages:
                reply(self, 200, pages[self.path].encode(), "text/html; charset=utf-8")
            else:
                reply(self, 404, b"not found", "text/plain")

        def log_message(self, *args: Any) -> None:
            pass

    proc, out = crawl_mirror(Handler, tmp_path, "mirror", '["wp-json", "sitemap", "rss"]')
    data = tmp_path / "data"
    assert proc.returncode == 0, proc.stderr[-3000:]
    api = "wp-json kept no article (4 entries found, none kept: 3 on another site, 1 not web addresses)"
    sitemap = "sitemap kept no article (2 entries found, none kept: 2 not articles by their content)"
    assert api in proc.stderr and sitemap in proc.stderr
    assert "found no articles" not in proc.stderr
    errors = [e["message"] for e in _runs(data, "mirror")[0]["errors"]]
    assert f"discovery {api.replace(' (', ': ')[:-1]}" in errors
    assert f"discovery {sitemap.replace(' (', ': ')[:-1]}" in errors
    assert [i["url"].rsplit("/", 2)[-2] for i in _read(out)] == ["a"]
    assert "'akhbar/discovery_probe/not_article': 2" in proc.stderr


def test_a_probe_that_fails_for_good_is_judged_again_by_the_next_run(tmp_path: Path) -> None:
    """Nothing lost: a link of unknown shape answering 503 past its retries is kept in
    failed_urls as a probe; the next run fetches it first, judges it by its content and
    archives it."""
    from urllib.parse import unquote

    from crawler.snapshot.faults import Fault

    with SnapshotServer(sites=["hibapress"], permalinks="category") as snap:
        victim = snap.articles("hibapress")[3]
        snap.set_faults([Fault("status", site="hibapress", match=unquote(victim["path"]), times=2,
                               params={"status": 503})])
        runs = [("hibapress", "sections", snap.base_urls["hibapress"])]
        settings = {**FAST, "RETRY_TIMES": "1"}
        stats_file = tmp_path / "stats.json"
        _run(CRAWL_PATHS, {"runs": runs, "settings": settings, "stats": str(stats_file)}, tmp_path)
        first = json.loads(stats_file.read_text())["hibapress"]
        assert first["akhbar/discovery_probe/failed"] == 1
        assert first["akhbar/discovery/sections/rejected/probe_failed"] == 1
        truth = _publishable(snap, "hibapress")
        assert _archived(tmp_path)["hibapress"] == truth - {victim["url"]}
        with open_archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}") as archive:
            rows = archive.fetch("SELECT url, reason FROM failed_urls")
        assert [(r["url"], r["reason"]) for r in rows] == [(victim["url"], "probe: http 503")]
        _run(CRAWL_PATHS, {"runs": runs, "settings": settings, "stats": str(stats_file)}, tmp_path)
        second = json.loads(stats_file.read_text())["hibapress"]
        assert second["akhbar/failed_urls/requeued"] == 1
        assert second["akhbar/discovery/failed/probed"] == 1
        assert _archived(tmp_path)["hibapress"] == truth
        with open_archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}") as archive:
            assert archive.fetch("SELECT url FROM failed_urls") == []


def test_a_probe_refused_as_a_duplicate_does_not_hold_the_path(tmp_path: Path) -> None:
    """An article that failed for good through the REST API is retried first by the next
    run; the listing's link to it, of unknown shape, makes a probe the scheduler drops as a
    duplicate: it is counted, and the path's accounting does not wait for it."""
    from urllib.parse import unquote

    from crawler.snapshot.faults import Fault

    with SnapshotServer(sites=["hibapress"], permalinks="category") as snap:
        victim = snap.articles("hibapress")[2]
        snap.set_faults([Fault("status", site="hibapress", match=unquote(victim["path"]), times=2,
                               params={"status": 503})])
        base = snap.base_urls["hibapress"]
        settings = {**FAST, "RETRY_TIMES": "1"}
        stats_file = tmp_path / "stats.json"
        _run(CRAWL_PATHS, {"runs": [("hibapress", "wp-json", base)], "settings": settings,
                           "stats": str(stats_file)}, tmp_path)
        with open_archive(f"sqlite:///{tmp_path / 'archive.sqlite3'}") as archive:
            assert [r["reason"] for r in archive.fetch("SELECT reason FROM failed_urls")] == ["http 503"]
        proc = _run(CRAWL_PATHS, {"runs": [("hibapress", "sections", base)], "settings": {**settings, "AKHBAR_RECHECK_HOURS": "0"},
                                  "stats": str(stats_file)}, tmp_path)
        s = json.loads(stats_file.read_text())["hibapress"]
        assert s["akhbar/failed_urls/requeued"] == 1
        assert s["akhbar/discovery_probe/duplicate"] == 1
        assert s["akhbar/discovery/sections/rejected/duplicate"] == 1
        assert s["akhbar/discovery_probe/article"] == len(_publishable(snap, "hibapress")) - 1
        assert _archived(tmp_path)["hibapress"] == _publishable(snap, "hibapress")
    assert "found no" not in proc.stderr and "kept no article" not in proc.stderr


@pytest.mark.parametrize("structure", ["category", "query"])
def test_each_sites_other_paths_alone(structure: str, tmp_path: Path) -> None:
    """Each spider's fallback path forced alone (as tests/test_spiders.py does with the
    sites' own URLs): the REST API, the feed and the post sitemap are taken as they are,
    Hespress's listings are probed."""
    from test_spiders import ALTERNATIVES

    with SnapshotServer(sites=SITES, permalinks=structure) as snap:
        runs = [(site, path, snap.base_urls[site]) for site, path, _ in ALTERNATIVES]
        stats_file = tmp_path / "stats.json"
        _run(CRAWL_PATHS, {"runs": runs, "settings": FAST, "stats": str(stats_file)}, tmp_path)
        archived = _archived(tmp_path)
        for site, path, expected in ALTERNATIVES:
            truth = _publishable(snap, site)
            if expected is None:
                assert archived.get(site) == truth, (structure, site, path)
            else:  # the feed's latest items
                newest = {a["url"] for a in snap.articles(site)[:expected]}
                assert archived.get(site) == newest, (structure, site, path)
    stats = json.loads(stats_file.read_text())
    assert stats["hespress"]["akhbar/discovery_probe/article"] == len(_publishable(snap, "hespress"))
    for site in ("hibapress", "le12", "rue20", "belpresse"):
        assert not stats[site].get("akhbar/discovery_probe/requested"), site


def test_atom_feed_entries_are_articles_whatever_their_shape(tmp_path: Path) -> None:
    """An Atom feed (WordPress ``/feed/atom/``, other CMSs) is one of the site's own lists:
    its entries, a ``/?p=ID`` and a ``/news/<slug>`` no pattern knows, are archived, with
    the entry's author as a hint the page lacks."""
    body = "".join(f"<p>الفقرة رقم {i} من نص المقال، طويلة بما يكفي لتكون نصا حقيقيا.</p>" for i in range(8))
    page = ('<html><head><title>{t}</title></head><body class="single"><article><h1 class="entry-title">{t}</h1>'
            '<div class="entry-content">' + body + "</div></article></body></html>")
    titles = {"/?p=5": "الخبر الأول", "/news/second-story": "الخبر الثاني"}
    pages = {p: page.format(t=t) for p, t in titles.items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            if self.path == "/feed/":
                entries = "".join(
                    f'<entry><title type="html">{t}</title><link rel="alternate" href="{base}{p}"/>'
                    f"<id>{base}/?p={i}</id><author><name>كاتب {i}</name></author>"
                    f'<category term="جهات"/><published>2025-07-16T10:00:00+01:00</published></entry>'
                    for i, (p, t) in enumerate(titles.items())
                )
                atom = f'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>{entries}</feed>'
                reply(self, 200, atom.encode(), "application/atom+xml; charset=UTF-8")
            elif self.path in pages:
                reply(self, 200, pages[self.path].encode(), "text/html; charset=utf-8")
            else:
                reply(self, 404, b"not found", "text/plain")

        def log_message(self, *args: Any) -> None:
            pass

    proc, out = crawl_mirror(Handler, tmp_path, "atomic", '["rss"]')
    assert proc.returncode == 0, proc.stderr[-3000:]
    items = {i["url"].split(":", 2)[2].split("/", 1)[1]: i for i in _read(out)}
    assert set(items) == {"?p=5", "news/second-story"}
    assert items["?p=5"]["title"] == "الخبر الأول" and items["?p=5"]["author"] == "كاتب 0"
    assert items["news/second-story"]["section_raw"] == "جهات"
    assert items["news/second-story"]["date_published_raw"] == "2025-07-16T10:00:00+01:00"
    assert "'akhbar/discovery/rss/kept': 2" in proc.stderr


def test_entries_sorted_by_trust_and_shape() -> None:
    """`article_requests` in isolation: trusted entries kept whatever their shape (two
    ``?p=`` URLs stay two requests), hostile and foreign ones rejected with their reason;
    listing links of the site's shape are articles, others probed until the budget ends."""
    from scrapy.utils.test import get_crawler

    from spiders.belpresse import BelpresseSpider

    crawler = get_crawler(BelpresseSpider, {"AKHBAR_DISCOVERY_PROBE_BUDGET": 1})
    spider = BelpresseSpider.from_crawler(crawler)
    site = "https://www.belpresse.com"
    requests, kept = spider.article_requests(
        [("http://[bad/x", {}), ("javascript:void(0)", {}), (f"{site}/?p=3", {}), (f"{site}/?p=4", {}),
         (f"{site}/?p=4", {}), ("https://other.ma/2024/05/x/", {})], path="wp-json")
    assert [r.url for r in requests] == [f"{site}/?p=3", f"{site}/?p=4"] and kept == 2
    assert spider.tally.path("wp-json").summary() == "5 entries found, 2 kept: 2 not web addresses, 1 on another site"
    requests, kept = spider.article_requests(
        [("/siyasa/a/", {"via": "listing"}), ("/2024/05/b/", {"via": "listing"}), ("/siyasa/c/", {"via": "listing"})],
        trusted=False, path="sections", base=f"{site}/category/siyasa/")
    assert [(r.url, bool(r.meta.get("akhbar_probe"))) for r in requests] == [
        (f"{site}/siyasa/a/", True), (f"{site}/2024/05/b/", False)]
    assert requests[0].callback == spider.parse_probe and requests[0].priority < requests[1].priority
    assert kept == 1
    stats = crawler.stats.get_stats()
    assert stats["akhbar/discovery_probe/requested"] == 1 and stats["akhbar/discovery_probe/over_budget"] == 1
    assert spider.tally.path("sections").summary() == (
        "3 entries found, 1 kept, 1 being checked: 1 of unknown URL shape left unchecked (probe budget spent)")


def test_a_budget_that_is_not_a_number_is_a_clear_error() -> None:
    from scrapy.utils.test import get_crawler

    from spiders.hespress import HespressSpider

    with pytest.raises(ValueError, match="AKHBAR_DISCOVERY_PROBE_BUDGET must be a whole number.*'lots'"):
        HespressSpider.from_crawler(get_crawler(HespressSpider, {"AKHBAR_DISCOVERY_PROBE_BUDGET": "lots"}))
