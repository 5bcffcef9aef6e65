"""Hostile content through the real pipeline: the XSS corpus (tests/fixtures/xss/payloads.json)
in titles, bodies, summaries, authors, image URLs, canonical URLs and links of articles run
through `akhbar import` (validate → dates → topics → archive → dedup), published and served.
Every output is read back as a client reads it — RSS/Atom parsed as XML (and by feedparser),
the HTML inside them unescaped once, the JSON Feed, the API's JSON, the front page, source
pages, search results and the static index — and audited with an HTML parser: no script,
style, frames, plugins, forms, SVG/MathML, no event handler or style attribute, no URL whose
scheme is not http(s)/mailto. Headless Chromium then renders the page and every served HTML
fragment without any CSP and checks that no payload ran (a control page proves it would see one)."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
from lxml import etree

from crawler.archive import open_archive
from feeds.query import publish
from feeds.web.server import WebServer
from tests.browser_support import chromium_cmd, dump_dom
from tests.conftest import FIXTURES, ROOT
from tests.serving_support import app_server, serving

CORPUS = json.loads((FIXTURES / "xss" / "payloads.json").read_text(encoding="utf-8"))["payloads"]
SOURCES = {"hespress": "www.hespress.com", "hibapress": "ar.hibapress.com", "le12": "le12.ma",
           "rue20": "rue20.com", "belpresse": "www.belpresse.com"}
TITLE_WORD = "تجربة"
MARK_ATTR = "data-pwned"
N_ALSO = 6  # payload articles also reported by a second site under a hostile title and URL

FORBIDDEN_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "form",
    "input", "button", "textarea", "select", "option", "base", "meta", "link", "template", "noscript",
    "marquee", "video", "audio", "source", "track", "body", "html", "head", "title", "xmp", "plaintext",
    "noembed", "noframes", "portal", "dialog", "animate", "set", "use", "image",
}
URL_ATTRS = {"href", "src", "action", "formaction", "data", "poster", "background", "srcset", "xlink:href",
             "cite", "longdesc", "usemap", "ping", "manifest", "codebase", "dynsrc", "lowsrc", "values", "to", "from"}
SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")


def marker(pid: str) -> str:
    return f"document.documentElement.setAttribute('{MARK_ATTR}','{pid}')"


def payload(p: dict[str, str]) -> str:
    return p["payload"].replace("{M}", marker(p["id"]))


# --- the audit ---------------------------------------------------------------------------

@dataclass
class Audit(HTMLParser):
    """Elements of a document or fragment and every unsafe thing about them."""

    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        self.tags.append((tag, values))
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if name in ("style", "srcdoc"):
                self.problems.append(f"<{tag} {name}={value[:60]!r}>")
            if name in URL_ATTRS:
                for url in (value.split(",") if name == "srcset" else [value]):
                    squeezed = re.sub(r"[\x00-\x20\x7f]+", "", url).lower()
                    m = _SCHEME.match(squeezed)
                    if m and m.group(1) not in SAFE_SCHEMES:
                        self.problems.append(f"<{tag} {name}={value[:60]!r}> {m.group(1)}: URL")

    handle_startendtag = handle_starttag


def audit(html_text: str) -> Audit:
    a = Audit()
    a.feed(html_text)
    a.close()
    return a


def assert_safe_fragment(html_text: str, where: str) -> None:
    a = audit(html_text)
    bad = [t for t, _ in a.tags if t in FORBIDDEN_TAGS]
    assert not bad and not a.problems, (where, bad, a.problems, html_text[:400])


def assert_plain_text(text: str, where: str) -> None:
    """A field readers may render as HTML (titles, summaries, authors) holds no markup."""
    a = audit(text)
    assert not a.tags, (where, a.tags, text[:300])


def assert_safe_url(url: str, where: str) -> None:
    assert url.startswith(("http://", "https://")), (where, url)
    assert not re.search(r"[\s\"'<>`\\]", url), (where, url)


PAGE_TAGS = {"html", "head", "meta", "title", "link", "style", "body", "header", "h1", "a", "form", "input", "button",
             "nav", "main", "h2", "article", "h3", "p", "span", "time", "div", "ul", "li", "footer",
             "select", "option", "label", "bdi"}  # the search form's filters; <bdi> isolates what the reader typed
FORM_FIELDS = {("input", "q"), ("input", "since"), ("input", "until"), ("select", "source"), ("select", "topic")}


def assert_safe_page(page: str, where: str) -> None:
    a = audit(page)
    tags = [t for t, _ in a.tags]
    assert set(tags) <= PAGE_TAGS, (where, set(tags) - PAGE_TAGS)
    assert tags.count("style") == 1 and tags.count("form") == 1 and tags.count("html") == 1, where
    assert tags.count("title") == 1 and tags.count("body") == 1, where
    assert not a.problems, (where, a.problems)
    for tag, attrs in a.tags:
        if tag == "meta":
            assert set(attrs) in ({"charset"}, {"name", "content"}), (where, attrs)
        if tag == "link":
            assert attrs.get("rel") in ("alternate", "outline") and attrs["href"].startswith("/feeds"), (where, attrs)
        if tag == "form":
            assert attrs.get("action") == "/search", (where, attrs)
        if tag in ("input", "select"):
            assert (tag, attrs.get("name")) in FORM_FIELDS, (where, attrs)
            assert attrs.get("type") in (None, "search", "date"), (where, attrs)
        if tag == "a":
            href = attrs.get("href", "")
            assert href.startswith(("/", "http://", "https://")), (where, href)
            if href.startswith("http"):
                assert_safe_url(href, where)
    # The page's own <title> is text: nothing a payload wrote may close it early.
    m = re.search(r"<title>(.*?)</title>", page, re.S)
    assert m and "<" not in m.group(1), where


# --- the archive, through the real import ----------------------------------------------

def _sample_articles(n: int) -> list[dict[str, Any]]:
    """`n` real articles of distinct stories from the snapshot's bundled sample."""
    out, seen = [], set()
    with gzip.open(ROOT / "crawler" / "snapshot" / "data" / "sample.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            paras = r["paragraphs"] if isinstance(r["paragraphs"], list) else json.loads(r["paragraphs"].replace("'", '"'))
            if r["story_key"] in seen or len(paras) < 2:
                continue
            seen.add(r["story_key"])
            out.append({"title": r["title"], "paragraphs": paras})
            if len(out) == n:
                break
    assert len(out) == n
    return out


def hostile_records() -> list[dict[str, Any]]:
    sources = list(SOURCES)
    base = _sample_articles(len(CORPUS))
    records = []
    for i, (p, art) in enumerate(zip(CORPUS, base)):
        src = sources[i % len(sources)]
        evil = payload(p)
        paras = art["paragraphs"]
        url = f"https://{SOURCES[src]}/xss/{i}.html"
        rec: dict[str, Any] = {
            "url": url, "source": src, "language": "ar", "section_raw": "سياسة",
            "date_published_raw": f"2025-07-16T{8 + i // 60:02d}:{i % 60:02d}:00+01:00",
            "body_text": "\n\n".join(paras),
        }
        if p["kind"] == "html":
            rec |= {
                "title": f"{TITLE_WORD} {i} {art['title']} {evil}",
                "summary": f"{evil} {paras[0][:120]}",
                "author": f"كاتب {evil}",
                "body_html": f"<p>{paras[0]}</p>{evil}<p>{' '.join(paras[1:])}</p>",
                "image_url": f"https://{SOURCES[src]}/img/{i}.jpg",
            }
        else:
            rec |= {
                "title": f"{TITLE_WORD} {i} {art['title']}",
                "summary": paras[0][:120],
                "author": "هيئة التحرير",
                "body_html": f'<p>{paras[0]}</p><p><a href="{evil}">رابط</a> <img src="{evil}" alt="صورة"></p>'
                             f"<p>{' '.join(paras[1:])}</p>",
                "image_url": evil,
                "canonical_url": evil,
            }
        records.append(rec)
    # The same report on a second site, later, under a hostile title and URL: it becomes
    # an "also reported by" link of the first one's story.
    for i in range(N_ALSO):
        first = records[i]
        src = sources[(i + 1) % len(sources)]
        evil = payload(CORPUS[i])
        records.append({
            **{k: first[k] for k in ("body_text", "body_html", "summary", "language", "section_raw")},
            "url": f"https://{SOURCES[src]}/also/{i}.html?x=\"><script>{marker('also')}</script>",
            "source": src, "title": f"{TITLE_WORD} نقل {i} {evil}", "author": f"<b onclick=\"{marker('also')}\">ناقل</b>",
            "date_published_raw": f"2025-07-16T{12 + i // 60:02d}:{i % 60:02d}:00+01:00",
            "image_url": f"https://{SOURCES[src]}/img/also-{i}.jpg",
        })
    return records


@dataclass
class Site:
    server: WebServer
    data: Path
    url: str

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        c = http.client.HTTPConnection(self.server.host, self.server.port, timeout=30)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("xss")
    jsonl = data / "hostile.jsonl"
    records = hostile_records()
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("AKHBAR_ARCHIVE_URL", "AKHBAR_SOURCES", "AKHBAR_ADMIN_TOKEN")}
    run = subprocess.run([sys.executable, "-m", "crawler.cli", "--data", str(data), "import", str(jsonl)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    archive = open_archive(url)
    assert archive.fetchval("SELECT COUNT(*) FROM articles") == len(records)  # nothing dropped or lost
    assert archive.fetchval("SELECT COUNT(*) FROM articles WHERE is_canonical = ?", (archive.enc_bool(False),)) == N_ALSO
    server = app_server(data, url)
    publish(data, archive, limit=100, base_url=server.url)
    archive.close()
    with serving(server):
        yield Site(server, data, url)


FEEDS = ["all"] + [f"source-{s}" for s in SOURCES]
RSS_NS = {"content": "http://purl.org/rss/1.0/modules/content/", "dc": "http://purl.org/dc/elements/1.1/",
          "media": "http://search.yahoo.com/mrss/"}
ATOM = "{http://www.w3.org/2005/Atom}"


# --- feeds -------------------------------------------------------------------------------

def test_rss_feeds_carry_no_live_markup(site: Site) -> None:
    entries = 0
    for name in FEEDS:
        status, _, body = site.get(f"/feeds/{name}.rss")
        assert status == 200
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0, (name, parsed.get("bozo_exception"))
        root = etree.fromstring(body)
        for item in root.iter("item"):
            entries += name == "all"
            where = f"{name}.rss {item.findtext('guid')}"
            assert_plain_text(item.findtext("title") or "", where + " title")
            # RSS descriptions may be HTML (feedgen puts the content there when there is no summary).
            assert_safe_fragment(item.findtext("description") or "", where + " description")
            assert_plain_text(item.findtext("dc:creator", namespaces=RSS_NS) or "", where + " dc:creator")
            # content:encoded is HTML escaped once into XML text: unescaped, it must be safe HTML.
            assert_safe_fragment(item.findtext("content:encoded", namespaces=RSS_NS) or "", where + " content")
            assert_safe_url(item.findtext("link") or "", where + " link")
            for el, attr in ((item.find("enclosure"), "url"), (item.find("media:content", RSS_NS), "url"),
                             (item.find("source"), "url")):
                if el is not None:
                    assert_safe_url(el.get(attr), where + " " + el.tag)
    assert entries == len(CORPUS)  # one entry per story, none lost to the payloads


def test_atom_feeds_carry_no_live_markup(site: Site) -> None:
    for name in FEEDS:
        status, _, body = site.get(f"/feeds/{name}.atom")
        assert status == 200
        assert feedparser.parse(body).bozo == 0, name
        for entry in etree.fromstring(body).iter(f"{ATOM}entry"):
            where = f"{name}.atom {entry.findtext(f'{ATOM}id')}"
            for tag in ("title", "summary"):
                el = entry.find(f"{ATOM}{tag}")
                if el is not None:
                    assert el.get("type") in (None, "text"), where
                    assert_plain_text(el.text or "", f"{where} {tag}")
            assert_plain_text(entry.findtext(f"{ATOM}author/{ATOM}name") or "", where + " author")
            content = entry.find(f"{ATOM}content")
            assert content is not None and content.get("type") == "html"
            assert_safe_fragment(content.text or "", where + " content")
            for link in entry.iter(f"{ATOM}link"):
                assert_safe_url(link.get("href"), f"{where} link {link.get('rel')}")


def test_json_feeds_carry_no_live_markup(site: Site) -> None:
    also_links = 0
    for name in FEEDS:
        status, _, body = site.get(f"/feeds/{name}.json")
        assert status == 200
        doc = json.loads(body)
        for item in doc["items"]:
            where = f"{name}.json {item['id']}"
            assert_safe_fragment(item["content_html"], where)
            for text in (item["title"], item.get("summary", ""), *(a["name"] for a in item.get("authors", []))):
                assert_plain_text(text, where)
            assert_safe_url(item["url"], where + " url")
            if "image" in item:
                assert_safe_url(item["image"], where + " image")
            for other in item["_akhbar"]["also_reported_by"]:
                assert_safe_url(other["url"], where + " also")
                assert_plain_text(other["title"], where + " also title")
                also_links += name == "all"
    assert also_links == N_ALSO


def test_payload_text_survives_as_text(site: Site) -> None:
    """Sanitising removes what runs, not the article: Arabic text around every payload is kept."""
    _, _, body = site.get("/feeds/all.json")
    items = json.loads(body)["items"]
    titles = " ".join(i["title"] for i in items)
    for n in range(len(CORPUS)):
        assert f"{TITLE_WORD} {n} " in titles
    assert all(re.search(r"[\u0621-\u064a]{3}", i["content_html"]) for i in items)


# --- the API -----------------------------------------------------------------------------

def test_api_html_fields_are_sanitised_and_json_is_inert(site: Site) -> None:
    with open_archive(site.url) as archive:
        ids = [r["id"] for r in archive.fetch("SELECT id FROM articles ORDER BY id")]
    assert len(ids) == len(CORPUS) + N_ALSO
    for aid in ids:
        status, headers, body = site.get(f"/api/articles/{aid}")
        assert status == 200
        assert headers["content-type"].startswith("application/json") and headers["x-content-type-options"] == "nosniff"
        # Even sniffed as HTML, the JSON has no tag in it: <, > and & travel as \\u escapes.
        assert not re.search(rb"<[a-zA-Z/!]", body), body[:300]
        item = json.loads(body)
        assert_safe_fragment(item["body_html"], f"/api/articles/{aid} body_html")
        assert re.search(r"[\u0621-\u064a]{3}", item["body_html"])
    for path in ("/api/articles?limit=100", f"/api/articles?q={quote(TITLE_WORD)}&limit=100", "/api/sources"):
        status, _, body = site.get(path)
        assert status == 200 and not re.search(rb"<[a-zA-Z/!]", body), path


# --- the front page ----------------------------------------------------------------------

def _pages(site: Site) -> dict[str, str]:
    paths = ["/", f"/search?q={quote(TITLE_WORD)}", *(f"/?source={s}" for s in SOURCES), "/?topic=politics"]
    # A payload typed into the search box is reflected in the page (heading, input, notice).
    paths += [f"/search?q={quote(payload(p))}" for p in CORPUS[:12]]
    pages = {}
    for path in paths:
        status, headers, body = site.get(path)
        assert status in (200, 400), (path, status)
        assert "script-src" not in headers["content-security-policy"] and "default-src 'none'" in headers["content-security-policy"]
        pages[path] = body.decode("utf-8")
    pages["public/index.html"] = (site.data / "public" / "index.html").read_text(encoding="utf-8")
    return pages


def test_front_page_source_pages_and_search_results_are_escaped(site: Site) -> None:
    pages = _pages(site)
    shown = 0
    for where, page in pages.items():
        assert_safe_page(page, where)
        shown += page.count('<article class="story"')
    # Every payload article was on some page (the latest 30 per page, every source page).
    seen = {n for page in pages.values() for n in range(len(CORPUS)) if f"{TITLE_WORD} {n} " in page}
    assert seen == set(range(len(CORPUS)))
    assert sum(page.count("أوردته أيضاً") for page in pages.values()) >= N_ALSO


def test_status_page_carries_no_live_markup(site: Site) -> None:
    # Its own inline styles and SVG chart are allowed; scripts, handlers and bad URLs are not.
    status, _, body = site.get("/status")
    assert status == 200
    a = audit(body.decode("utf-8"))
    assert "script" not in {t for t, _ in a.tags}
    assert not [p for p in a.problems if "style=" not in p], a.problems


# --- in a browser ------------------------------------------------------------------------

def _render(chromium: str, html_file: Path, profile: Path) -> str:
    return dump_dom(chromium_cmd(chromium, profile, budget_ms=5000), html_file.as_uri())


def _html_start(dom: str) -> str:
    m = re.search(r"<html[^>]*>", dom)
    assert m, dom[:500]
    return m.group(0)


@pytest.mark.browser
def test_no_payload_runs_in_chromium(site: Site, chromium: str, tmp_path: Path) -> None:
    # Served HTML saved to files and opened without the server's CSP: escaping and
    # sanitising alone must keep every payload inert.
    pages = _pages(site)
    front = tmp_path / "front.html"
    front.write_text(pages["/"] + "".join(pages[f"/?source={s}"] for s in SOURCES), encoding="utf-8")
    fragments = [json.loads(site.get(f"/feeds/{n}.json")[2])["items"] for n in FEEDS]
    with open_archive(site.url) as archive:
        ids = [r["id"] for r in archive.fetch("SELECT id FROM articles ORDER BY id")]
    api_html = [json.loads(site.get(f"/api/articles/{aid}")[2])["body_html"] for aid in ids]
    reader = tmp_path / "reader.html"
    reader.write_text('<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>reader</title></head><body>'
                      + "".join(f"<article>{i['content_html']}</article>" for items in fragments for i in items)
                      + "".join(f"<article>{h}</article>" for h in api_html) + "</body></html>", encoding="utf-8")
    # The control: the same corpus unsanitised does run, so the check below can fail.
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>control</title></head><body>'
                       + "".join(f"<div>{payload(p)}</div>" for p in CORPUS if p["kind"] == "html") + "</body></html>",
                       encoding="utf-8")
    assert MARK_ATTR in _html_start(_render(chromium, control, tmp_path / "profile"))
    for f in (front, reader):
        dom = _render(chromium, f, tmp_path / "profile")
        assert MARK_ATTR not in _html_start(dom), (f.name, _html_start(dom))
        assert re.search(r"<title>(أخبار|reader)", dom), f.name  # no payload rewrote the title
        assert "<article" in dom
