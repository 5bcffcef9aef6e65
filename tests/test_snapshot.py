"""The offline snapshot server, fetched over real HTTP on loopback.

Checks the contract of docs/snapshot-contract.md: discovery surfaces (robots,
sitemaps, RSS, REST API), listing pagination, each site's article markup and date
format, belpresse's windows-1256, the bundled sample and the injected faults.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import feedparser
import pytest
from parsel import Selector

from crawler.arabic import normalize
from crawler.config import load_sources
from crawler.snapshot import SnapshotServer
from crawler.snapshot.catalog import load_sample
from crawler.snapshot.sites import FIVE_SITES

ROOT = Path(__file__).resolve().parent.parent

NOW = datetime(2025, 7, 16, 13, 30, tzinfo=UTC)
ALL_SITES = [*FIVE_SITES, "wpdemo"]

# the article link of a listing card, per site (docs/snapshot-contract.md)
CARD_LINK = {
    "hespress": "div.card a.stretched-link::attr(href)",
    "hibapress": "ul#posts-container li div h2 a::attr(href)",
    "le12": "article.post h3.entry-title",  # the link wraps the title: see card_links()
    "rue20": "article h2.entry-title a::attr(href)",
    "belpresse": "div.bp-item a.bp-link::attr(href)",
    "wpdemo": "article h2.entry-title a::attr(href)",
}


def fetch(url: str) -> tuple[int, Message, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def get_ok(url: str) -> bytes:
    status, _, body = fetch(url)
    assert status == 200, f"{url} answered {status}"
    return body


def page(url: str, encoding: str = "utf-8") -> Selector:
    return Selector(text=get_ok(url).decode(encoding))


@pytest.fixture(scope="module")
def snap() -> Iterator[SnapshotServer]:
    # how fast it starts is bench.snapshot's figure (target < 1 s), not a test's
    with SnapshotServer(sites=ALL_SITES, now=NOW) as srv:
        yield srv


# --- the bundled sample ------------------------------------------------------


def test_sample_is_small_and_spread_over_sites_and_sections() -> None:
    sample = load_sample()
    assert len(sample) <= 300
    assert len({r["corpus_id"] for r in sample}) <= 260
    per_site = Counter(r["site"] for r in sample)
    for site in FIVE_SITES:
        assert per_site[site] >= 50, site
        sections = Counter(r["section"] for r in sample if r["site"] == site)
        assert len(sections) >= 6, site
        assert len({r["category"] for r in sample if r["site"] == site}) == 6, site
    assert (ROOT / "crawler/snapshot/data/sample.jsonl.gz").stat().st_size < 1_000_000


def test_sample_has_republished_groups_with_wire_edits() -> None:
    sample = load_sample()
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in sample:
        groups.setdefault(r["story_key"], []).append(r)
    multi = [g for g in groups.values() if len(g) > 1]
    assert len(multi) >= 18
    for g in multi:
        assert 2 <= len(g) <= 3
        assert len({r["site"] for r in g}) == len(g), "a republished story appears once per site"
        assert len({r["corpus_id"] for r in g}) == 1
        assert sum(r["role"] == "original" for r in g) == 1
        copies = [r for r in g if r["role"] == "copy"]
        assert all(r["edits"] for r in copies)
        original = next(r for r in g if r["role"] == "original")
        for c in copies:
            assert (c["title"], c["paragraphs"]) != (original["title"], original["paragraphs"])
    kinds = Counter(e for r in sample for e in r["edits"])
    for kind in ("title_reworded", "site_label", "dateline", "sayyid", "closing_added", "closing_cut",
                 "truncated", "tashkeel", "hamza", "indic_digits", "read_also_tail", "app_tail"):
        assert kinds[kind] >= 2, kind


def test_sample_has_bulletin_hard_negatives() -> None:
    bulletins = [r for r in load_sample() if r["role"] == "bulletin"]
    assert len(bulletins) >= 2
    assert len({r["story_key"] for r in bulletins}) == len(bulletins)
    assert len({r["site"] for r in bulletins}) == len(bulletins)
    titles = [re.sub(r"\d+", "N", r["title"]) for r in bulletins]
    assert len(set(titles)) == 1, "same template, different figures"
    ages = sorted(r["age_minutes"] for r in bulletins)
    assert all(b - a >= 1380 for a, b in zip(ages, ages[1:])), "published on different days"


def test_sample_bodies_are_split_into_paragraphs() -> None:
    sample = load_sample()
    several = sum(len(r["paragraphs"]) >= 3 for r in sample)
    assert several / len(sample) > 0.8
    glued = re.compile(r"(?<=\w\w)[.!؟][\u0621-\u064A]")  # not the abbreviation و.م.ع
    assert not any(glued.search(p) for r in sample for p in r["paragraphs"])


def test_sections_map_to_topics_except_the_deliberately_unmapped(snap: SnapshotServer) -> None:
    sources = load_sources()
    unmapped = 0
    for site in FIVE_SITES:
        for art in snap.articles(site):
            topic = sources[site].topic_for_section(art["section_name"])
            if art["section_mapped"]:
                assert topic is not None, (site, art["section_name"])
            else:
                assert topic is None, (site, art["section_name"])
                unmapped += 1
    assert unmapped >= 6


# --- discovery surfaces ------------------------------------------------------


@pytest.mark.parametrize("site", ALL_SITES)
def test_robots_and_sitemaps_list_every_article(snap: SnapshotServer, site: str) -> None:
    base = snap.base_urls[site]
    robots = get_ok(base + "/robots.txt").decode()
    assert "Disallow: /wp-admin/" in robots
    sitemap_url = re.search(r"^Sitemap: (\S+)$", robots, re.M)
    assert sitemap_url and sitemap_url.group(1) == base + "/sitemap.xml"
    index = Selector(text=get_ok(sitemap_url.group(1)).decode(), type="xml")
    index.remove_namespaces()
    children = index.xpath("//sitemap/loc/text()").getall()
    assert children == [base + "/post-sitemap.xml"]
    urlset = Selector(text=get_ok(children[0]).decode(), type="xml")
    urlset.remove_namespaces()
    locs = urlset.xpath("//url/loc/text()").getall()
    assert locs == [a["url"] for a in snap.articles(site)]
    assert len(urlset.xpath("//url/lastmod/text()").getall()) == len(locs)


@pytest.mark.parametrize("site", ALL_SITES)
def test_rss_feed_parses_with_full_content(snap: SnapshotServer, site: str) -> None:
    arts = snap.articles(site)
    feed = feedparser.parse(get_ok(snap.base_urls[site] + "/feed/"))
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert len(feed.entries) == 20
    for entry, art in zip(feed.entries, arts):
        assert entry.link == art["url"]
        assert entry.title == art["title"]
        assert art["paragraphs"][-1][:40] in html.unescape(entry.content[0].value)
        assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == art["published"]
        assert entry.tags[0].term == art["section_name"]
        assert entry.author
    if site == "rue20":
        assert feed.entries[0].summary.endswith(f"الخبر {arts[0]['title']} ظهر أولاً على زنقة 20.")


def test_section_feed(snap: SnapshotServer) -> None:
    feed = feedparser.parse(get_ok(snap.base_urls["hespress"] + "/politique/feed/"))
    assert feed.bozo == 0
    assert feed.entries and all(e.tags[0].term == "سياسة" for e in feed.entries)


@pytest.mark.parametrize("site", ALL_SITES)
def test_rest_api_pages_through_every_post(snap: SnapshotServer, site: str) -> None:
    base = snap.base_urls[site]
    arts = snap.articles(site)
    seen: list[int] = []
    page_no = 1
    while True:
        status, headers, body = fetch(f"{base}/wp-json/wp/v2/posts?per_page=20&page={page_no}&_embed")
        if status == 400:
            err = json.loads(body)
            assert err["code"] == "rest_post_invalid_page_number"
            break
        assert status == 200
        assert headers["X-WP-Total"] == str(len(arts))
        assert headers["X-WP-TotalPages"] == str(-(-len(arts) // 20))
        for post in json.loads(body):
            seen.append(post["id"])
            assert post["_embedded"]["wp:term"][0][0]["taxonomy"] == "category"
            assert post["_embedded"]["author"][0]["name"]
            assert post["_embedded"]["wp:featuredmedia"][0]["source_url"].startswith(base)
        page_no += 1
    assert page_no - 1 == -(-len(arts) // 20)
    assert seen == [a["id"] for a in arts], "newest first, each post once"


def test_rest_api_post_fields_and_dates(snap: SnapshotServer) -> None:
    base = snap.base_urls["hespress"]
    art = snap.articles("hespress")[0]
    post = json.loads(get_ok(f"{base}/wp-json/wp/v2/posts?per_page=1"))[0]
    for key in ("id", "date", "date_gmt", "modified", "modified_gmt", "link", "slug", "status", "type",
                "title", "content", "excerpt", "author", "categories", "tags", "featured_media"):
        assert key in post, key
    assert post["link"] == art["url"]
    assert "_embedded" not in post
    # WordPress `date` is Casablanca wall time without offset, `date_gmt` UTC
    assert post["date_gmt"] == art["published"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert post["date"] == art["published"].strftime("%Y-%m-%dT%H:%M:%S")
    local = datetime.fromisoformat(post["date"])
    assert local - datetime.fromisoformat(post["date_gmt"]) == art["published"].utcoffset()


def test_rest_api_filters_and_caps(snap: SnapshotServer) -> None:
    base = snap.base_urls["hibapress"]
    arts = snap.articles("hibapress")
    status, headers, body = fetch(f"{base}/wp-json/wp/v2/posts?per_page=500")
    assert status == 200 and len(json.loads(body)) == len(arts) and headers["X-WP-TotalPages"] == "1"
    politics = json.loads(get_ok(f"{base}/wp-json/wp/v2/posts?per_page=100&categories=3"))
    assert politics and {p["categories"][0] for p in politics} == {3}
    assert len(politics) == sum(a["section"] == "section-3" for a in arts)
    cut = arts[9]["published"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = json.loads(get_ok(f"{base}/wp-json/wp/v2/posts?per_page=100&after={cut}"))
    assert [p["id"] for p in after] == [a["id"] for a in arts[:9]]
    before = json.loads(get_ok(f"{base}/wp-json/wp/v2/posts?per_page=100&before={cut}"))
    assert [p["id"] for p in before] == [a["id"] for a in arts[10:]]
    cats = json.loads(get_ok(f"{base}/wp-json/wp/v2/categories"))
    assert {c["name"] for c in cats} >= {"سياسة", "رياضة", "متفرقات"}
    assert fetch(f"{base}/wp-json/wp/v2/posts?page=0")[0] == 400


# --- listings ----------------------------------------------------------------


def card_links(site: str, sel: Selector, base: str) -> list[str]:
    if site == "le12":
        hrefs = [a.attrib["href"] for a in sel.css("article.post a") if a.css("h3.entry-title")]
    else:
        hrefs = sel.css(CARD_LINK[site]).getall()
    return [urljoin(base, h) for h in hrefs]


@pytest.mark.parametrize("site", ALL_SITES)
def test_listing_pagination_reaches_every_article_once(snap: SnapshotServer, site: str) -> None:
    base = snap.base_urls[site]
    enc = "windows-1256" if site == "belpresse" else "utf-8"
    cats = json.loads(get_ok(f"{base}/wp-json/wp/v2/categories"))
    found: list[str] = []
    multi_page = 0
    for cat in cats:
        url: str | None = cat["link"]
        if cat["count"] == 0:
            # a section the sample leaves empty still answers, with no cards
            assert not card_links(site, page(cat["link"], enc), base)
            continue
        pages = 0
        while url:
            sel = page(url, enc)
            links = card_links(site, sel, base)
            assert 0 < len(links) <= 10
            found += links
            pages += 1
            nxt = sel.css('link[rel="next"]::attr(href)').get()
            if nxt:
                assert sel.css(f'a[href="{nxt}"]'), "a visible next-page link too"
            url = nxt
        multi_page += pages > 1
    assert multi_page >= 1
    assert sorted(found) == sorted(a["url"] for a in snap.articles(site))
    assert len(found) == len(set(found))


def test_listing_past_the_end_is_404(snap: SnapshotServer) -> None:
    assert fetch(snap.base_urls["hespress"] + "/politique/page/99/")[0] == 404
    assert fetch(snap.base_urls["le12"] + "/no/such/page/")[0] == 404


def test_hespress_cards(snap: SnapshotServer) -> None:
    sel = page(snap.base_urls["hespress"] + "/politique/")
    card = sel.css("div.card")[0]
    assert card.css("span.cat::text").get() == "سياسة"
    assert card.css("h3.card-title::text").get()
    assert card.css("small.text-muted.time::text").get()
    assert card.css("img.wp-post-image::attr(src)").get()


# --- article pages -----------------------------------------------------------

MOROCCAN = "يناير|فبراير|مارس|أبريل|ماي|يونيو|يوليوز|غشت|شتنبر|أكتوبر|نونبر|دجنبر"
EGYPTIAN = "يناير|فبراير|مارس|أبريل|مايو|يونيو|يوليو|أغسطس|سبتمبر|أكتوبر|نوفمبر|ديسمبر"
WEEKDAY = "الإثنين|الثلاثاء|الأربعاء|الخميس|الجمعة|السبت|الأحد"


def body_texts(sel: Selector, css: str) -> list[str]:
    return [" ".join(p.css("::text").getall()).strip() for p in sel.css(css)]


def check_common(sel: Selector, art: dict[str, Any], para_css: str) -> None:
    assert sel.css('link[rel="canonical"]::attr(href)').get() == art["url"]
    assert sel.css('meta[property="og:title"]::attr(content)').get() == art["title"]
    assert sel.css('meta[property="og:url"]::attr(content)').get() == art["url"]
    paras = body_texts(sel, para_css)
    for p in art["paragraphs"]:
        assert p in paras
    # boilerplate is present in the page (and must be skipped by the extractors)
    assert "اقرأ أيضا" in sel.css(".read-also strong::text").get("")
    assert sel.css("footer")
    assert sel.css(".share-buttons")


def test_hespress_article(snap: SnapshotServer) -> None:
    for art in snap.articles("hespress")[:12]:
        sel = page(art["url"])
        check_common(sel, art, "div.article-content p")
        assert sel.css("h1.post-title::text").get() == art["title"]
        date = sel.css("span.date-post::text").get()
        assert date == art["date_displayed"]
        assert re.fullmatch(rf"({WEEKDAY}) \d{{1,2}} ({MOROCCAN}) \d{{4}} - \d\d:\d\d", date)
        assert sel.css("span.author a::text").get() == art["author"]
        assert sel.css("div.post-thumbnail.featured-img img::attr(src)").get() == art["image_url"]
        assert sel.css("section.box-tags a.tag_post_tag::text").getall() == art["tags"]
        assert sel.css("ol.breadcrumb li")[1].css("::text").get() == art["section_name"]
        assert sel.css('meta[property="article:published_time"]::attr(content)').get() == art["published"].isoformat()
        assert not sel.css('script[type="application/ld+json"]')
        assert len(sel.css("div.article-content p")) >= 2
    displayed = [a["date_displayed"] for a in snap.articles("hespress")]
    assert any(re.search(r" 0\d ", d) for d in displayed), "some old-CMS zero-padded days"


def test_hibapress_article(snap: SnapshotServer) -> None:
    shown = set()
    for art in snap.articles("hibapress"):
        sel = page(art["url"])
        check_common(sel, art, ".entry-content p")
        assert sel.css("div.entry-header h1.post-title.entry-title::text").get() == art["title"]
        date = sel.css("span.date.meta-item::text").get()
        assert date == art["date_displayed"] and date.startswith("منذ ")
        shown.add(date.split()[-1] if date.split()[-1] != "واحد" else date.split()[-2])
        shown.add(date.split()[-1] if date.split()[-1] != "واحدة" else date.split()[-2])
        assert body_texts(sel, ".entry-content p")[0] == art["author"]
        assert art["author"].startswith("هبة بريس")
        assert sel.css("div.featured-area-inner img::attr(src)").get() == art["image_url"]
        graph = json.loads(sel.css("script.yoast-schema-graph::text").get())["@graph"]
        news = next(n for n in graph if "NewsArticle" in n["@type"])
        assert news["headline"] == art["title"]
        assert datetime.fromisoformat(news["datePublished"]) == art["published"]
        assert news["articleSection"] == [art["section_name"]]
        meta = sel.css('meta[property="article:published_time"]::attr(content)').get()
        assert datetime.fromisoformat(meta).utcoffset() is not None
    # minutes, hours, days and weeks all appear
    for units in (("دقيقة", "دقائق", "دقيقتين"), ("ساعة", "ساعات", "ساعتين"), ("يوم", "أيام", "يومين"), ("أسبوع", "أسابيع", "أسبوعين")):
        assert shown & set(units), units


def test_hibapress_relative_dates_follow_now() -> None:
    later = NOW + timedelta(days=3)
    with SnapshotServer(sites=["hibapress"], now=later) as srv:
        arts = srv.articles("hibapress")
        # re-dated against the new `now`: same ages, later timestamps
        with SnapshotServer(sites=["hibapress"], now=NOW) as before:
            old = before.articles("hibapress")
        assert [a["published"] - b["published"] for a, b in zip(arts, old)] == [timedelta(days=3)] * len(arts)
        assert [a["date_displayed"] for a in arts] == [b["date_displayed"] for b in old]
        sel = page(arts[0]["url"])
        assert sel.css("span.date.meta-item::text").get() == arts[0]["date_displayed"]


def test_le12_article(snap: SnapshotServer) -> None:
    for art in snap.articles("le12")[:10]:
        sel = page(art["url"])
        check_common(sel, art, ".entry-content p")
        assert sel.css(".entry-header h1::text").get() == art["title"]
        date = sel.css("span.entry-time::text").get()
        assert re.fullmatch(r"[٠-٩]{2}-[٠-٩]{2}-[٠-٩]{4} [٠-٩]{2}:[٠-٩]{2}", date)
        local = art["published"]
        assert date.startswith(f"{local:%d-%m-%Y}".translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")))
        assert sel.css(".featured-image img::attr(src)").get() == art["image_url"]
        ld = json.loads(sel.css('script[type="application/ld+json"]::text').get())
        assert ld["@type"] == "NewsArticle" and ld["headline"] == art["title"]
        assert ld["articleSection"] == art["section_name"]


def test_rue20_article(snap: SnapshotServer) -> None:
    for art in snap.articles("rue20")[:10]:
        sel = page(art["url"])
        check_common(sel, art, "div.entry-content p")
        assert sel.css("h1.entry-title::text").get() == art["title"]
        date = sel.css("time.entry-date::text").get()
        assert re.search(rf"\d{{1,2}} ({EGYPTIAN}) \d{{4}}", date)
        assert datetime.fromisoformat(sel.css("time.entry-date::attr(datetime)").get()) == art["published"]
        assert re.fullmatch(r"زنقة 20 \| \S+( \S+)?", body_texts(sel, "div.entry-content p")[0])
        ld = json.loads(sel.css('script[type="application/ld+json"]::text').get())
        assert ld["@type"] == "NewsArticle" and ld["author"]["name"] == art["author"]


def test_belpresse_article_in_windows_1256(snap: SnapshotServer) -> None:
    for art in snap.articles("belpresse")[:10]:
        status, headers, raw = fetch(art["url"])
        assert status == 200
        assert headers.get_content_charset() == "windows-1256"
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        sel = Selector(text=raw.decode("windows-1256"))
        assert sel.css("meta[charset]::attr(charset)").get() == "windows-1256"
        check_common(sel, art, "div.bp-text p")
        assert sel.css("div.bp-headline h1::text").get() == art["title"]
        assert not sel.css('script[type="application/ld+json"]')
        assert not sel.css('meta[property^="article:"]')
        date = sel.css(".bp-date::text").get()
        assert re.fullmatch(rf"({WEEKDAY}) \d{{1,2}} [^/\d]+/({EGYPTIAN}) \d{{4}}", date), date
        assert date == art["date_displayed"]


def test_wpdemo_article(snap: SnapshotServer) -> None:
    arts = snap.articles("wpdemo")
    assert {a["section_name"] for a in arts} == {"سياسة", "اقتصاد", "رياضة"}
    for art in arts[:5]:
        sel = page(art["url"])
        check_common(sel, art, "article div.entry-content p")
        assert sel.css("article h1.entry-title::text").get() == art["title"]
        assert datetime.fromisoformat(sel.css("time.entry-date::attr(datetime)").get()) == art["published"]
        assert not sel.css('script[type="application/ld+json"]')


def test_dates_are_within_30_days_of_now_and_newest_first(snap: SnapshotServer) -> None:
    for site in ALL_SITES:
        arts = snap.articles(site)
        stamps = [a["published"] for a in arts]
        assert stamps == sorted(stamps, reverse=True)
        assert all(NOW - timedelta(days=30) <= s <= NOW for s in stamps)
        assert all(a["modified"] >= a["published"] for a in arts)
        assert all(s.second == 0 for s in stamps)


def test_republished_copies_are_served_by_different_sites(snap: SnapshotServer) -> None:
    by_key: dict[str, list[dict[str, Any]]] = {}
    for site in FIVE_SITES:
        for art in snap.articles(site):
            by_key.setdefault(art["story_key"], []).append(art)
    groups = [g for g in by_key.values() if len(g) > 1]
    assert len(groups) >= 18
    reworded = [a for g in groups for a in g if "title_reworded" in a["edits"]]
    assert reworded
    for a in reworded:
        sel = page(a["url"], "windows-1256" if a["site"] == "belpresse" else "utf-8")
        assert sel.css('meta[property="og:title"]::attr(content)').get() == a["title"]
    # normalising the hamza/tashkeel edits brings copies back to the original's wording
    for g in groups:
        titles = {normalize(a["title"]) for a in g if "title_reworded" not in a["edits"]}
        assert len(titles) == 1, titles


# --- faults ------------------------------------------------------------------


def test_no_faults_by_default(snap: SnapshotServer) -> None:
    for site in FIVE_SITES:
        for art in snap.articles(site)[:6]:
            assert fetch(art["url"])[0] == 200
        assert snap.fault_plan(site) == {}


def test_faults_are_deterministic_and_transient() -> None:
    with SnapshotServer(sites=FIVE_SITES, now=NOW, faults=True) as srv:
        for site in FIVE_SITES:
            arts = srv.articles(site)
            plan = srv.fault_plan(site)
            assert plan[arts[2]["url"]] == (503, 1)
            assert plan[arts[4]["url"]] == (429, 1)
            assert fetch(arts[2]["url"])[0] == 503
            assert fetch(arts[2]["url"])[0] == 200
            status, headers, _ = fetch(arts[4]["url"])
            assert status == 429 and headers["Retry-After"] == "1"
            assert fetch(arts[4]["url"])[0] == 200
            listing = [u for u, (st, _) in plan.items() if st == 500]
            assert len(listing) == 1
            assert [fetch(listing[0])[0] for _ in range(3)] == [500, 500, 200]
        broken = [a for a in srv.articles("hespress") if a["fault"] == "no_title"]
        assert len(broken) == 1
        sel = page(broken[0]["url"])
        assert not sel.css("h1.post-title") and not sel.css('meta[property="og:title"]::attr(content)').get()
        assert len(sel.css("div.article-content p")) >= 2


# --- the command ---------------------------------------------------------------


def test_snapshot_serve_command() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.cli", "snapshot", "serve", "--port-base", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        urls = {}
        for line in proc.stdout:
            if line.startswith("snapshot"):
                _, site, url = line.split()[:3]
                urls[site] = url
            if line.startswith("serving"):
                break
        assert list(urls) == list(FIVE_SITES)
        assert b"Sitemap:" in get_ok(urls["le12"] + "/robots.txt")
    finally:
        proc.terminate()
        proc.wait(timeout=5)


# --- small WordPress conveniences ------------------------------------------------


def test_guid_redirects_and_head_and_ajax_listing(snap: SnapshotServer) -> None:
    base = snap.base_urls["hespress"]
    art = snap.articles("hespress")[0]
    assert urllib.request.urlopen(f"{base}/?p={art['id']}", timeout=5).url == art["url"]
    req = urllib.request.Request(art["url"], method="HEAD")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200 and resp.read() == b"" and int(resp.headers["Content-Length"]) > 1000
    sel = page(f"{base}/?action=ajax_listing&paged=2")
    links = sel.css("div.card a.stretched-link::attr(href)").getall()
    assert links == [a["url"] for a in snap.articles("hespress")[10:20]]
    assert fetch(f"{base}/wp-json/wp/v2/posts?per_page=abc")[0] == 400
    assert fetch(f"{base}/wp-json/wp/v2/nothing")[0] == 404


def test_same_now_same_snapshot() -> None:
    with SnapshotServer(sites=["le12"], now=NOW) as a, SnapshotServer(sites=["le12"], now=NOW) as b:
        strip = [{k: v for k, v in x.items() if k not in ("url", "image_url")} for x in a.articles("le12")]
        assert strip == [{k: v for k, v in x.items() if k not in ("url", "image_url")} for x in b.articles("le12")]
        pa = get_ok(a.articles("le12")[5]["url"]).decode().replace(a.base_urls["le12"], "")
        pb = get_ok(b.articles("le12")[5]["url"]).decode().replace(b.base_urls["le12"], "")
        assert pa == pb


def test_unknown_site_and_naive_now_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown site"):
        SnapshotServer(sites=["nope"])
    with pytest.raises(ValueError, match="aware"):
        SnapshotServer(now=datetime(2025, 1, 1))
