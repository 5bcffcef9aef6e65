"""The Arabic front page: right to left, Moroccan dates, escaping, autodiscovery;
rendered in headless Chromium to check the computed direction and layout."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from feeds.arabic_date import arabic_date
from feeds.model import OtherReport, RelatedStory
from feeds.page import PageContext, render_page
from feeds.samples import SOURCES, sample_stories
from feeds.web.server import WebServer
from tests.browser_support import check_results, chromium_cmd, dump_dom
from tests.serving_support import published_app, serving

CTX = PageContext(topics=[("politics", "سياسة"), ("sports", "رياضة")], sources=dict(SOURCES))
PAYLOAD_TITLE = '<img src=x onerror="document.body.setAttribute(\'data-pwned\',1)">عنوان <script>document.title="pwned"</script>'


def test_arabic_dates_in_moroccan_time() -> None:
    # Morocco is UTC+1, except during Ramadan (UTC+0): April 2022 fell in Ramadan.
    assert arabic_date(datetime(2022, 4, 8, 23, 56, tzinfo=UTC)) == "الجمعة 8 أبريل 2022 - 23:56"
    assert arabic_date(datetime(2025, 7, 16, 11, 0, tzinfo=UTC)) == "الأربعاء 16 يوليوز 2025 - 12:00"
    assert arabic_date(datetime(2025, 8, 1, 23, 30, tzinfo=UTC)) == "السبت 2 غشت 2025 - 00:30"
    months = [arabic_date(datetime(2025, m, 15, 12, tzinfo=UTC)).split()[2] for m in range(1, 13)]
    assert months == ["يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر", "أكتوبر", "نونبر", "دجنبر"]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_page_structure_escaping_and_autodiscovery() -> None:
    stories = sample_stories(5)
    stories[0] = replace(
        stories[0], title=PAYLOAD_TITLE, summary='<a href="javascript:alert(1)">ملخص</a>', author="<b onclick=x()>كاتب</b>",
        also_reported_by=[OtherReport("le12", "LE12", "javascript:alert(1)", "x"), OtherReport("rue20", "زنقة 20", "https://www.rue20.ma/a", "خبر")],
        related=[RelatedStory("خبر قريب", "https://www.le12.ma/rel.html", "LE12"), RelatedStory("<script>x</script>", "javascript:x", "")],
    )
    page = render_page(stories, CTX)
    p = _Collect()
    p.feed(page)
    tags = [t for t, _ in p.tags]
    assert p.tags[0] == ("html", {"lang": "ar", "dir": "rtl"})
    assert "script" not in tags and "iframe" not in tags
    assert not re.search(r"\son[a-z]+=|javascript:", page, re.IGNORECASE)
    img = [a for t, a in p.tags if t == "img"]
    assert img == []  # the payload's <img> is text, not an element
    assert "عنوان" in page and "ملخص" in page and "كاتب" in page
    alternates = {(a["type"], a["href"]) for t, a in p.tags if t == "link" and a.get("rel") == "alternate"}
    assert alternates == {("application/rss+xml", "/feeds/all.rss"), ("application/atom+xml", "/feeds/all.atom"),
                          ("application/feed+json", "/feeds/all.json")}
    assert any(t == "form" and a.get("role") == "search" for t, a in p.tags)
    assert any(t == "input" and a.get("name") == "q" for t, a in p.tags)
    hrefs = [a.get("href") for t, a in p.tags if t == "a"]
    assert "https://www.rue20.ma/a" in hrefs and "https://www.le12.ma/rel.html" in hrefs
    assert "أوردته أيضاً" in page and "أخبار ذات صلة" in page
    assert arabic_date(stories[1].published) in page
    assert page.count('<article class="story"') == 5
    topic_page = render_page(stories[:1], CTX, topic="sports")
    assert 'href="/feeds/topic-sports.rss"' in topic_page and 'href="/feeds/all.rss"' in topic_page
    search_page = render_page([], CTX, query='"><script>alert(1)</script>')
    assert "<script>" not in search_page and "لا نتائج" in search_page


CHECK_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="f" src="/" style="width:1000px;height:800px"></iframe><div id="out"></div>
<script>
window.addEventListener('load', function () {
  var out = document.getElementById('out');
  try {
    var w = document.getElementById('f').contentWindow, d = w.document;
    var story = d.querySelector('article.story'), src = story.querySelector('.meta .source');
    var box = story.getBoundingClientRect(), s = src.getBoundingClientRect();
    out.setAttribute('data-html-dir', d.documentElement.getAttribute('dir'));
    out.setAttribute('data-lang', d.documentElement.getAttribute('lang'));
    out.setAttribute('data-direction', w.getComputedStyle(story).direction);
    out.setAttribute('data-body-direction', w.getComputedStyle(d.body).direction);
    out.setAttribute('data-right-gap', Math.round(box.right - s.right));
    out.setAttribute('data-left-gap', Math.round(s.left - box.left));
    out.setAttribute('data-stories', d.querySelectorAll('article.story').length);
    out.setAttribute('data-scripts', d.scripts.length);
    out.setAttribute('data-pwned', d.body.getAttribute('data-pwned') || d.title == 'pwned' ? 'yes' : 'no');
    out.setAttribute('data-first-title', story.querySelector('h3').textContent);
  } catch (e) { out.setAttribute('data-error', String(e)); }
});
</script></body></html>"""


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[WebServer, Path]]:
    stories = sample_stories(12)
    stories[0] = replace(stories[0], title=PAYLOAD_TITLE)
    with serving(published_app(tmp_path, stories)) as server:
        yield server, tmp_path


@pytest.mark.browser
def test_chromium_renders_stories_right_to_left(served, chromium: str, tmp_path: Path) -> None:
    server, data_dir = served
    # Same origin as the page, so the check script may read the framed document.
    (data_dir / "public" / "rtl-check.html").write_text(CHECK_PAGE, encoding="utf-8")
    cmd = chromium_cmd(chromium, tmp_path / "chromium-profile", window="1100,900")
    attrs = check_results(dump_dom(cmd, server.url + "/rtl-check.html"))
    assert attrs["data-html-dir"] == "rtl" and attrs["data-lang"] == "ar"
    assert attrs["data-direction"] == "rtl" and attrs["data-body-direction"] == "rtl"
    assert int(attrs["data-stories"]) == 12
    # The source name starts a line of an RTL paragraph: hugging the right edge.
    assert int(attrs["data-right-gap"]) < 40 < int(attrs["data-left-gap"]), attrs
    assert attrs["data-scripts"] == "0" and attrs["data-pwned"] == "no"
    assert "عنوان" in attrs["data-first-title"]
    # a screenshot proves the page paints (kept beside the test's tmp files for inspection)
    shot = tmp_path / "front.png"
    run = subprocess.run([*cmd[:-2], f"--screenshot={shot}", server.url + "/"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and shot.stat().st_size > 10_000, run.stderr[-2000:]


# --- search with its filters, served ------------------------------------------------------

OLD = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)


def _older(n: int) -> list:
    """`n` stories two weeks before the samples, under their own URLs and story ids."""
    return [replace(s, url=s.url.replace("/article-", "/old-"), story_id=f"old-{k}", also_reported_by=[],
                    title=s.title.replace("خبر", "قديم"))
            for k, s in enumerate(sample_stories(n, seed=2, start=OLD))]


@pytest.fixture()
def searchable(tmp_path: Path) -> Iterator[WebServer]:
    with serving(published_app(tmp_path, sample_stories(25) + _older(10))) as server:
        yield server


def _page(server: WebServer, path_and_query: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(server.url + path_and_query, timeout=30) as r:
            return r.status, r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def _results(page: str) -> list[str]:
    """The report each result card links to (not its "also reported by" links)."""
    return re.findall(r'<h3><a href="([^"]+)"', page)


def test_search_page_honours_source_topic_and_date_filters(searchable: WebServer) -> None:
    from urllib.parse import urlencode

    q = {"q": "خبر"}
    status, everything = _page(searchable, "/search?" + urlencode(q))
    assert status == 200 and len({u.split("/")[2] for u in _results(everything)}) == 5
    status, page = _page(searchable, "/search?" + urlencode({**q, "source": "hespress"}))
    found = _results(page)
    # hespress's own stories and its reports of other outlets' stories, nothing else
    assert status == 200 and len(found) > 5 and all(u.startswith("https://www.hespress.ma/") for u in found)
    # the control shows the filter in force, and the page offers every source and topic
    assert '<option value="hespress" selected>' in page and '<select name="topic">' in page
    assert 'href="/feeds/source-hespress.rss"' in page
    status, page = _page(searchable, "/search?" + urlencode({**q, "topic": "sports"}))
    stories = {s.url: s for s in sample_stories(25)}
    canonical = [u for u in _results(page) if u in stories]
    assert status == 200 and canonical and all(stories[u].topic == "sports" for u in canonical)
    assert '<option value="sports" selected>' in page
    # dates: the older stories only before 2025-07-10, the samples only after
    status, page = _page(searchable, "/search?" + urlencode({"q": "قديم", "until": "2025-07-10"}))
    assert status == 200 and len(_results(page)) == 10 and all("/old-" in u for u in _results(page))
    assert 'name="until" value="2025-07-10"' in page
    status, page = _page(searchable, "/search?" + urlencode({"since": "2025-07-10", "source": "le12"}))
    assert status == 200 and _results(page) and all(u.startswith("https://www.le12.ma/") for u in _results(page))
    status, page = _page(searchable, "/search?" + urlencode({"q": "قديم", "since": "2025-07-10"}))
    assert status == 200 and _results(page) == [] and "لا نتائج" in page


def test_search_page_refuses_bad_filters_in_arabic(searchable: WebServer) -> None:
    from urllib.parse import urlencode

    status, page = _page(searchable, "/search?" + urlencode({"q": "خبر", "source": "<nope>"}))
    assert status == 400 and "مصدر غير معروف" in page and "<bdi" in page and "&lt;nope&gt;" in page
    assert _results(page) == []
    status, page = _page(searchable, "/search?" + urlencode({"q": "خبر", "since": "2025-13-45"}))
    assert status == 400 and "تعذّر البحث" in page and '<html lang="ar" dir="rtl">' in page


def test_front_page_and_search_results_link_each_story_page(searchable: WebServer) -> None:
    from urllib.parse import quote

    _, front = _page(searchable, "/")
    assert 'href="/story/story-0"' in front and front.count('class="story-link"') == front.count('<article class="story"')
    _, results = _page(searchable, "/search?q=" + quote("خبر 7:"))
    assert 'href="/story/story-7"' in results


def _menu_topics(page: str) -> set[str]:
    nav = re.search(r'<nav class="topics"[^>]*>(.*?)</nav>', page, re.S)
    assert nav, "no topic menu"
    return set(re.findall(r'href="/\?topic=([\w-]+)"', nav.group(1)))


def test_topic_menu_links_only_topics_that_have_a_feed(tmp_path: Path) -> None:
    # two topics with articles; every other topic of the taxonomy has none, so no feed
    stories = [replace(s, topic="politics" if i % 2 else "sports") for i, s in enumerate(sample_stories(6))]
    with serving(published_app(tmp_path, stories)) as server:
        feeds = {p.name for p in (tmp_path / "public" / "feeds").glob("topic-*.rss")}
        assert feeds == {"topic-politics.rss", "topic-sports.rss"}
        for path in ("/", "/search?q=x"):
            status, body = _page(server, path)
            assert status == 200 and _menu_topics(body) == {"politics", "sports"}, path
    static = (tmp_path / "public" / "index.html").read_text(encoding="utf-8")
    assert _menu_topics(static) == {"politics", "sports"}
    # the page context without that knowledge (a caller that renders by hand) keeps every topic
    assert _menu_topics(render_page(stories, CTX)) == {"politics", "sports"}
    assert PageContext(topics=CTX.topics, sources=CTX.sources, published_topics=frozenset({"sports"})).menu_topics() == [
        ("sports", "رياضة")]
