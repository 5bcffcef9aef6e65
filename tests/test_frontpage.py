"""The Arabic front page: right to left, Moroccan dates, escaping, autodiscovery;
rendered in headless Chromium to check the computed direction and layout."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator

import pytest

from feeds.model import OtherReport, RelatedStory
from feeds.page import PageContext, arabic_date, render_page
from feeds.samples import SOURCES, sample_stories
from feeds.web.server import WebServer
from tests.browser_support import check_results, chromium_cmd, dump_dom
from tests.serving_support import published_app, serving

CTX = PageContext(topics=[("politics", "سياسة"), ("sports", "رياضة")], sources=dict(SOURCES))
PAYLOAD_TITLE = '<img src=x onerror="document.body.setAttribute(\'data-pwned\',1)">عنوان <script>document.title="pwned"</script>'


def test_arabic_dates_in_moroccan_time() -> None:
    # Morocco is UTC+1, except during Ramadan (UTC+0): April 2022 fell in Ramadan.
    assert arabic_date(datetime(2022, 4, 8, 23, 56, tzinfo=timezone.utc)) == "الجمعة 8 أبريل 2022 - 23:56"
    assert arabic_date(datetime(2025, 7, 16, 11, 0, tzinfo=timezone.utc)) == "الأربعاء 16 يوليوز 2025 - 12:00"
    assert arabic_date(datetime(2025, 8, 1, 23, 30, tzinfo=timezone.utc)) == "السبت 2 غشت 2025 - 00:30"
    months = [arabic_date(datetime(2025, m, 15, 12, tzinfo=timezone.utc)).split()[2] for m in range(1, 13)]
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
