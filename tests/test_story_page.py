"""`/story/{id}` on the running app over a real archive: every outlet's report side by side,
each marked with what it changed against the first report; hostile reports stay inert
text; feed entries link the page; and headless Chromium renders it right to left with the
marks painted."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.responses import HTMLResponse
from lxml import etree
from markupsafe import escape as html_escape

from crawler.archive import open_archive
from crawler.items import Article
from feeds.build import FeedContext, build_feed_files
from feeds.query import feeds_from_archive
from feeds.samples import fill_archive, sample_stories
from feeds.web.app import create_app
from feeds.web.context import WebContext
from feeds.web.server import WebServer
from feeds.web.story import MAX_COMPARED
from tests.browser_support import check_results, chromium_cmd, dump_dom
from tests.conftest import FIXTURES
from tests.story_support import doc_url, fill_labelled, fixture_rows, get, running

BASE_DOC = "hespress-0f3fb9e204e511ebb7b0646e69d991ea"
"""The labelled set's most reported story: one Hespress report and its takes by four sites."""
HOSTILE_STORY = "s-hostile-0001"
CORPUS = json.loads((FIXTURES / "xss" / "payloads.json").read_text(encoding="utf-8"))["payloads"]
MARK_ATTR = "data-pwned"
WORD = "تجربة"


def payload(p: dict[str, str]) -> str:
    return p["payload"].replace("{M}", f"document.documentElement.setAttribute('{MARK_ATTR}','{p['id']}')")


def hostile_articles() -> list[Article]:
    """Two reports of one story with every payload of the XSS corpus in their title, text,
    HTML and links: the first as stored text, the second as HTML with one word changed
    and a paragraph of payloads added."""
    evil = [payload(p) for p in CORPUS]
    paragraphs = [f"{WORD} فقرة {i} قال المصدر إن {e} الأمر انتهى" for i, e in enumerate(evil)]
    t0 = datetime(2025, 7, 16, 9, 0, tzinfo=UTC)
    first = Article(
        url='https://www.hespress.com/x?a="><script>document.title="pwned"</script>', source="hespress",
        canonical_url="javascript:document.documentElement.setAttribute('data-pwned','canonical')",
        title=f"{WORD} عنوان {evil[0]} {evil[5]}", body_text="\n\n".join(paragraphs),
        date_published=t0, story_id=HOSTILE_STORY, is_canonical=True,
    )
    changed = [p.replace("انتهى", "استمر") if i == 1 else p for i, p in enumerate(paragraphs)]
    second = Article(
        url="https://www.hibapress.com/y.html", source="hibapress",
        title=f"{WORD} نقل <b onclick=\"document.title='pwned'\">{evil[7]}</b>",
        body_html="".join(f"<p>{p}</p>" for p in changed) + f"<p>{WORD} مضافة {' '.join(evil)}</p><script>document.title='pwned'</script>",
        date_published=t0 + timedelta(hours=1), story_id=HOSTILE_STORY, is_canonical=False,
    )
    return [first, second]


MANY_STORY = "s-many-reports-01"


def many_reports(n: int) -> list[Article]:
    """One story reported `n` times (as a bulletin copied everywhere): more than are compared."""
    t0 = datetime(2025, 7, 17, 8, 0, tzinfo=UTC)
    sources = ["hespress", "le12", "rue20", "belpresse", "hibapress"]
    return [
        Article(url=f"https://www.{sources[i % 5]}.ma/many-{i}.html", source=sources[i % 5],
                title=f"نشرة الطقس {i}", body_text=f"أمطار رعدية مرتقبة بعدد من المناطق\n\nتحديث رقم {i}",
                date_published=t0 + timedelta(minutes=i), story_id=MANY_STORY, is_canonical=i == 0)
        for i in range(n)
    ]


# --- the site ---------------------------------------------------------------------------------

CHECK_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="f" src="/story/{story}" style="width:1400px;height:1000px"></iframe><div id="out"></div>
<script>
window.addEventListener('load', function () {
  var out = document.getElementById('out');
  function set(k, v) { out.setAttribute('data-' + k, String(v)); }
  try {
    var w = document.getElementById('f').contentWindow, d = w.document;
    var reports = d.querySelectorAll('article.report');
    var first = reports[0].getBoundingClientRect(), second = reports[1].getBoundingClientRect();
    var ins = d.querySelector('.para.replaced ins'), del = d.querySelector('.para.replaced del');
    var added = d.querySelector('.para.added');
    set('html-dir', d.documentElement.getAttribute('dir'));
    set('lang', d.documentElement.getAttribute('lang'));
    set('direction', w.getComputedStyle(d.querySelector('.reports')).direction);
    set('reports', reports.length);
    set('first-right', Math.round(first.right)); set('second-right', Math.round(second.right));
    set('top-gap', Math.round(Math.abs(first.top - second.top)));
    set('ins', d.querySelectorAll('ins').length); set('del', d.querySelectorAll('del').length);
    set('ins-bg', w.getComputedStyle(ins).backgroundColor);
    set('del-line', w.getComputedStyle(del).textDecorationLine);
    set('ins-visible', ins.getBoundingClientRect().width > 0 ? 'yes' : 'no');
    set('added-bg', w.getComputedStyle(added).backgroundColor);
    set('scripts', d.scripts.length);
    set('pwned', d.documentElement.getAttribute('data-pwned') || d.title == 'pwned' ? 'yes' : 'no');
  } catch (e) { out.setAttribute('data-error', String(e)); }
});
</script></body></html>"""


class Site:
    def __init__(self, server: WebServer, data: Path, url: str, story_id: str) -> None:
        self.server, self.data, self.url, self.story_id = server, data, url, story_id

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        status, headers, body = get(self.server, path)
        return status, headers, body.decode("utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("story")
    url = f"sqlite:///{data / 'archive.sqlite3'}"
    with open_archive(url) as archive:
        fill_labelled(archive)
        archive.upsert_many(hostile_articles())
        archive.upsert_many(many_reports(MAX_COMPARED + 3))
        fill_archive(archive, sample_stories(9))
        base = next(r for r in fixture_rows() if r.get("id") == BASE_DOC)
        story_id = archive.fetchval("SELECT story_id FROM articles WHERE url = ?", (doc_url(base),))
    app = create_app(WebContext(data, url))
    # A test-only page on the same origin, so its script may read the framed story page.
    app.add_api_route("/story-check.html", lambda: HTMLResponse(CHECK_PAGE.replace("{story}", story_id)))
    app.router.routes.insert(0, app.router.routes.pop())  # before the app's catch-all for files
    with running(data, url, app) as server:
        yield Site(server, data, url, story_id)


# --- auditing ---------------------------------------------------------------------------------

PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "a", "main", "p", "span",
             "div", "article", "time", "ins", "del", "section", "ul", "li", "footer", "bdi"}


class Page(HTMLParser):
    """Every element of a page, with its attributes, and the text inside ``<ins>``/``<del>``."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.open: list[str] = []
        self.marked: dict[str, list[str]] = {"ins": [], "del": []}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in ("meta",):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        for mark in ("ins", "del"):
            if mark in self.open:
                self.marked[mark].append(data)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


def assert_inert(text: str) -> Page:
    page = Page(text)
    tags = {t for t, _ in page.tags}
    assert tags <= PAGE_TAGS, tags - PAGE_TAGS
    for tag, attrs in page.tags:
        assert not [k for k in attrs if k.startswith("on") or k in ("style", "srcdoc")], (tag, attrs)
        href = attrs.get("href")
        if href is not None:
            assert href.startswith(("/", "https://", "http://")), href
            assert not re.search(r"[\s\"'<>`]", href), href
    title = re.search(r"<title>(.*?)</title>", text, re.DOTALL)
    assert title and "<" not in title.group(1)
    return page


# --- the page ---------------------------------------------------------------------------------

def test_reports_side_by_side_each_with_its_changes(site: Site) -> None:
    status, headers, text = site.get(f"/story/{site.story_id}")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in headers["content-security-policy"] and "script-src" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert text.startswith("<!DOCTYPE html>") and '<html lang="ar" dir="rtl">' in text
    page = assert_inert(text)
    _, _, api = get(site.server, f"/api/stories/{site.story_id}")
    story = json.loads(api)
    members = [story["canonical"], *story["also_reported_by"]]
    reports = page.all("article")
    assert [r["id"] for r in reports] == [f"report-{m['id']}" for m in members]
    assert reports[0]["class"] == "report first" and "التقرير الأول" in text
    # Links to every original, in the story's order.
    originals = [a["href"] for a in page.all("a", class_="original")]
    assert originals == [m["canonical_url"] for m in members]
    # What each report changed is marked: the paragraph one site added, the words another
    # changed; the counts shown are the API's.
    ops = [a["data-op"] for _, a in page.tags if "data-op" in a]
    assert ops.count("added") == sum(o["changes"]["summary"]["added"] for o in story["also_reported_by"])
    assert ops.count("replaced") == sum(o["changes"]["summary"]["replaced"] for o in story["also_reported_by"])
    assert "added" in ops and "replaced" in ops
    words_added = [w for o in story["also_reported_by"] for p in o["changes"]["paragraphs"] for w in p["words_added"]]
    # (a word: letters with their tashkeel, which \w alone does not take)
    assert set(words_added) <= set(re.findall(r"[\w\u064B-\u065F\u0670]+", " ".join(page.marked["ins"])))
    assert page.marked["del"], "a report that dropped words shows them struck"
    assert re.search(r'<p class="para added" data-op="added"><span class="op">مضافة</span><ins>', text)
    for o in story["also_reported_by"]:
        s = o["changes"]["summary"]
        assert f"كلمات مضافة: {s['words_added']} · محذوفة: {s['words_removed']}" in text
    related = [a["href"] for a in page.all("a") if a["href"].startswith("/story/")]
    assert related == [f"/story/{quote(r['story_id'])}" for r in story["related"]]
    status, headers, body = get(site.server, f"/story/{site.story_id}", "HEAD")
    assert status == 200 and body == b"" and headers["content-type"].startswith("text/html")


def test_the_story_page_is_framed_like_the_apps_other_pages(site: Site) -> None:
    """One frame (base.html) for every page: the same head, shared stylesheet and site
    header as /feeds/, the title in its "أخبار — ..." form."""
    from feeds.web.templating import TEMPLATES

    _, _, story = site.get(f"/story/{site.story_id}")
    _, _, missing = site.get("/story/s0000000000000000")
    status, _, feeds = site.get("/feeds/")
    assert status == 200
    shared_css = (TEMPLATES / "base.css").read_text(encoding="utf-8").strip()
    for page in (story, missing):
        assert page.split("<title>")[0] == feeds.split("<title>")[0]
        assert shared_css in page and '<header>\n<h1><a href="/">أخبار</a></h1>' in page
    assert "<title>أخبار — خبر غير موجود</title>" in missing
    _, _, api = get(site.server, f"/api/stories/{site.story_id}")
    first = json.loads(api)["canonical"]["title"]
    assert f"<title>أخبار — {html_escape(first)}</title>" in story


@pytest.mark.parametrize("story_id", ["s0000000000000000", "%27%3B%20drop", "a" * 65, "%3Cscript%3E"])
def test_unknown_story_gets_the_arabic_404_page(site: Site, story_id: str) -> None:
    status, headers, text = site.get(f"/story/{story_id}")
    assert status == 404 and headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in headers["content-security-policy"]
    assert '<html lang="ar" dir="rtl">' in text and "خبر غير موجود" in text
    assert_inert(text)
    assert "<script>" not in text


def test_hostile_reports_are_inert_text(site: Site) -> None:
    status, _, text = site.get(f"/story/{HOSTILE_STORY}")
    assert status == 200
    page = assert_inert(text)
    assert len(page.all("article")) == 2
    # The reports' text survives as text: every paragraph is shown, the changed word is marked.
    assert all(f"{WORD} فقرة {i} " in text for i in range(len(CORPUS)))
    assert "استمر" in " ".join(page.marked["ins"])
    assert "انتهى" in " ".join(page.marked["del"])
    # javascript: canonical URL refused; the quote-laden URL percent-encoded into one attribute.
    originals = [a["href"] for a in page.all("a", class_="original")]
    assert originals[0].startswith("https://www.hespress.com/x?a=%22%3E%3Cscript%3E")
    # The API serves the same text as JSON strings, with no byte a sniffer could read as a tag.
    status, headers, raw = get(site.server, f"/api/stories/{HOSTILE_STORY}")
    assert status == 200 and headers["x-content-type-options"] == "nosniff"
    assert not re.search(rb"<[a-zA-Z/!]", raw), raw[:300]
    changes = json.loads(raw)["also_reported_by"][0]["changes"]
    assert changes["summary"]["added"] >= 1  # (the HTML report's payload paragraph, and what its tags split)
    inserted = " ".join(g["text"] for p in changes["paragraphs"] for g in p["segments"] if g["op"] == "insert")
    assert "استمر" in inserted


def test_a_story_with_many_reports_compares_the_first_ones_and_lists_the_rest(site: Site) -> None:
    status, _, raw = get(site.server, f"/api/stories/{MANY_STORY}")
    others = json.loads(raw)["also_reported_by"]
    assert status == 200 and len(others) == MAX_COMPARED + 2
    assert all(o["changes"] for o in others[:MAX_COMPARED]) and not any(o["changes"] for o in others[MAX_COMPARED:])
    assert [p["op"] for p in others[0]["changes"]["paragraphs"]] == ["kept", "replaced"]
    status, _, text = site.get(f"/story/{MANY_STORY}")
    assert status == 200 and text.count('<article class="report') == MAX_COMPARED + 3
    assert text.count("لم يُقارن هذا التقرير") == 2
    assert_inert(text)


def test_without_an_archive_the_story_is_unavailable(tmp_path: Path) -> None:
    with running(tmp_path, None) as server:
        status, _, raw = get(server, "/api/stories/s0000000000000000")
        assert status == 503 and json.loads(raw) == {"error": "no archive configured"}
        status, _, body = get(server, "/story/s0000000000000000")
        assert status == 404 and "خبر غير موجود" in body.decode("utf-8")


# --- the feeds link it ---------------------------------------------------------------------

def test_feed_entries_link_the_story_page(site: Site) -> None:
    with open_archive(site.url) as archive:
        feeds = feeds_from_archive(archive, limit=50)
    files = build_feed_files(feeds, FeedContext(base_url=site.server.url))
    items = json.loads(files["feeds/all.json"])["items"]
    linked = [i for i in items if i["_akhbar"]["also_reported_by"]]
    assert len(linked) >= 3
    for item in linked:
        story_url = f"{site.server.url}/story/{item['_akhbar']['story_id']}"
        assert item["_akhbar"]["story_url"] == story_url
        assert f'<a class="story-page" href="{story_url}">' in item["content_html"]
        # The link leads to the page with every report of the story.
        status, _, text = site.get(story_url[len(site.server.url):])
        assert status == 200
        # (a feed names one report per other site; the page shows them all)
        originals = [a["href"] for a in Page(text).all("a", class_="original")]
        assert item["url"] == originals[0]
        assert {o["url"] for o in item["_akhbar"]["also_reported_by"]} <= set(originals[1:])
    assert all("story_url" not in i["_akhbar"] for i in items if not i["_akhbar"]["also_reported_by"])
    # RSS and Atom carry the same content (HTML as text inside the XML).
    rss = etree.fromstring(files["feeds/all.rss"])
    # (feedgen puts the content in <description> when an entry has no summary)
    content = [(item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or "") + (item.findtext("description") or "")
               for item in rss.iter("item")]
    assert sum('class="story-page"' in c for c in content) == len(linked)
    atom = etree.fromstring(files["feeds/all.atom"])
    assert sum('class="story-page"' in (el.text or "") for el in atom.iter("{http://www.w3.org/2005/Atom}content")) == len(linked)


# --- in a browser -----------------------------------------------------------------------------

@pytest.mark.browser
def test_chromium_renders_the_reports_right_to_left_with_the_marks(site: Site, chromium: str, tmp_path: Path) -> None:
    cmd = chromium_cmd(chromium, tmp_path / "profile", window="1500,1100")
    attrs = check_results(dump_dom(cmd, site.server.url + "/story-check.html"))
    assert attrs["data-html-dir"] == "rtl" and attrs["data-lang"] == "ar" and attrs["data-direction"] == "rtl"
    assert int(attrs["data-reports"]) >= 5
    # Side by side, the first report on the right where an Arabic reader starts.
    assert int(attrs["data-top-gap"]) < 5, attrs
    assert int(attrs["data-first-right"]) > int(attrs["data-second-right"]), attrs
    # The marks are painted: inserted words on green, removed ones struck through.
    assert int(attrs["data-ins"]) > 0 and int(attrs["data-del"]) > 0
    assert attrs["data-ins-bg"] == "rgb(215, 245, 221)" and attrs["data-ins-visible"] == "yes"
    assert "line-through" in attrs["data-del-line"]
    assert attrs["data-added-bg"] == "rgb(215, 245, 221)"
    assert attrs["data-scripts"] == "0" and attrs["data-pwned"] == "no"


@pytest.mark.browser
def test_chromium_runs_no_payload_of_a_hostile_story(site: Site, chromium: str, tmp_path: Path) -> None:
    """Rendered as served (under its CSP) and from a file without any CSP: nothing runs."""
    cmd = chromium_cmd(chromium, tmp_path / "profile", budget_ms=5000)
    served = dump_dom(cmd, f"{site.server.url}/story/{HOSTILE_STORY}")
    _, _, text = site.get(f"/story/{HOSTILE_STORY}")
    page = tmp_path / "hostile.html"
    page.write_text(text, encoding="utf-8")
    bare = dump_dom(cmd, page.as_uri())
    for dom in (served, bare):
        html_tag = re.search(r"<html[^>]*>", dom)
        assert html_tag and MARK_ATTR not in html_tag.group(0), html_tag
        assert "<title>pwned</title>" not in dom
        assert f"{WORD} فقرة 0 " in dom
    # A control: the same check sees a payload that does run.
    control = tmp_path / "control.html"
    control.write_text(f"<html><body><script>{payload(CORPUS[0]).removeprefix('<script>').removesuffix('</script>')}</script></body></html>")
    assert MARK_ATTR in re.search(r"<html[^>]*>", dump_dom(cmd, control.as_uri())).group(0)
    # A screenshot proves the page paints (kept beside the test's tmp files for inspection).
    shot = tmp_path / "story.png"
    run = subprocess.run([*cmd, "--window-size=1400,1000", f"--screenshot={shot}", f"{site.server.url}/story/{site.story_id}"],
                         check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.stat().st_size > 10_000, run.stderr[-2000:]
