"""Feed builders: every feed parses (feedparser, bozo 0) with the right guids,
dates, links, language, categories, enclosures; HTML is sanitised; output is
byte-stable."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from lxml import etree

from feeds.build import FeedContext, build_feed_files, build_opml, plain_text, sanitize_html
from feeds.model import FeedSpec, FeedStory, OtherReport, feed_specs, story_guid
from feeds.samples import SOURCES, sample_stories

CTX = FeedContext(base_url="http://feeds.test")

XSS = (
    '<p>نص سليم</p><script>alert("x1")</script><img src="https://img.test/a.jpg" onerror="alert(2)">'
    '<a href="javascript:alert(3)">c</a><iframe src="https://evil.test/"></iframe><style>body{color:red}</style>'
    '<svg onload="alert(4)"><circle/></svg><p onclick="alert(5)">t</p>'
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCg2KTwvc2NyaXB0Pg==">d</a><object data="x.swf"></object>'
    '<form action="https://evil.test/"><input name="p"></form><a href="JaVaScRiPt:alert(7)">e</a>'
    '<a href=" javascript:alert(8)">f</a><img src=x onmouseover=alert(9)><body onload=alert(10)>'
)
FORBIDDEN = re.compile(
    r"<script|<iframe|<style|<object|<form|<input|<svg|<body|\bon[a-z]+\s*=|javascript:|data:text/html|alert\(",
    re.IGNORECASE,
)


def _unescaped(data: bytes) -> str:
    # Feed content is HTML escaped into XML (or JSON): undo every escaping layer.
    text = data.decode("utf-8")
    for _ in range(3):
        text = html.unescape(text)
    return text.replace("\\u003c", "<").replace('\\"', '"')


def _all_files(stories: list[FeedStory], names: dict[str, str] | None = None) -> dict[str, bytes]:
    specs = feed_specs(names or SOURCES)
    feeds = []
    for spec in specs:
        if spec.kind == "all":
            chosen = stories
        elif spec.kind == "topic":
            chosen = [s for s in stories if s.topic == spec.value]
        else:
            chosen = [s for s in stories if s.source == spec.value]
        feeds.append((spec, chosen[:50]))
    return build_feed_files(feeds, CTX)


def parse(path: str, data: bytes) -> feedparser.FeedParserDict:
    d = feedparser.parse(data)
    assert d.bozo == 0, f"{path}: {d.get('bozo_exception')}"
    return d


def test_every_feed_parses_with_right_guids_dates_links() -> None:
    stories = sample_stories(120)
    files = _all_files(stories)
    specs = feed_specs(SOURCES)
    # topics without a story get no feed (sample stories use 7 of the 16 topics)
    empty_topics = {t for t in (s.value for s in specs if s.kind == "topic")} - {s.topic for s in stories}
    assert len(empty_topics) == 9
    assert len(files) == (len(specs) - len(empty_topics)) * 3 + 1
    by_url = {s.url: s for s in stories}
    for path, data in files.items():
        if not path.endswith((".rss", ".atom")):
            continue
        d = parse(path, data)
        assert d.version == ("rss20" if path.endswith(".rss") else "atom10")
        assert d.feed.language == "ar" if path.endswith(".rss") else d.feed.get("language") == "ar"
        assert len(d.entries) <= 50
        published = [e.published_parsed for e in d.entries]
        assert published == sorted(published, reverse=True), "newest first"
        for e in d.entries:
            s = by_url[e.link]
            assert e.id == story_guid(s.url) == s.guid
            assert datetime(*e.published_parsed[:6], tzinfo=UTC) == s.published.astimezone(UTC)
            if path.endswith(".atom"):
                assert datetime(*e.updated_parsed[:6], tzinfo=UTC) == s.updated.astimezone(UTC)
            assert e.title == s.title
            assert e.author == s.author
            assert {t.term for t in e.tags} & {s.topic, "سياسة", "اقتصاد", "مجتمع", "رياضة", "دولي", "فن وثقافة", "جهات"}
    d = parse("all.rss", files["feeds/all.rss"])
    assert len(d.entries) == 50
    assert d.feed.ttl == "15"
    assert d.feed.link == "http://feeds.test/"
    # topic feeds hold only their topic, source feeds only their source
    d = parse("x", files["feeds/topic-sports.atom"])
    assert d.entries and all(e.tags[0].term == "sports" for e in d.entries)
    d = parse("x", files["feeds/source-le12.rss"])
    assert d.entries and all(e.link.startswith("https://www.le12.ma/") for e in d.entries)


def test_atom_has_xml_lang_ar_and_proper_links() -> None:
    stories = sample_stories(6)
    files = _all_files(stories)
    root = etree.fromstring(files["feeds/all.atom"])
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "ar"
    # Atom requires an author per entry: a feed-level one covers entries without a byline
    assert root.findtext("{http://www.w3.org/2005/Atom}author/{http://www.w3.org/2005/Atom}name")
    d = parse("all.atom", files["feeds/all.atom"])
    first = d.entries[0]  # sample 0: has an image and another report
    rels = {(link.rel, link.href) for link in first.links}
    assert ("alternate", stories[0].url) in rels
    assert ("related", stories[0].also_reported_by[0].url) in rels
    assert ("enclosure", stories[0].image_url) in rels
    assert sum(1 for link in first.links if link.rel == "alternate") == 1
    assert "أوردته أيضاً" in first.content[0].value and "le12" in first.content[0].value
    rss = parse("all.rss", files["feeds/all.rss"])
    enclosure = [link for link in rss.entries[0].links if link.rel == "enclosure"]
    assert enclosure and enclosure[0].href == stories[0].image_url and enclosure[0].type == "image/jpeg"
    assert not [link for link in rss.entries[1].links if link.rel == "enclosure"]  # sample 1 has no image
    assert rss.entries[0].media_content[0]["url"] == stories[0].image_url
    assert rss.entries[0].summary.startswith("ملخص الخبر 0")


def test_guid_is_stable_under_edits() -> None:
    s = sample_stories(1)[0]
    edited = replace(
        s, title="عنوان معدل", body_html="<p>نص جديد</p>", updated=s.published + timedelta(hours=3), summary="جديد"
    )
    a = parse("a", _all_files([s])["feeds/all.atom"]).entries[0]
    b = parse("b", _all_files([edited])["feeds/all.atom"]).entries[0]
    assert a.id == b.id == story_guid(s.url)
    assert a.title != b.title and a.updated_parsed != b.updated_parsed
    assert story_guid("https://www.le12.ma/x") != story_guid("https://www.le12.ma/y")


def test_output_is_byte_stable_and_dates_come_from_data() -> None:
    one = _all_files(sample_stories(40))
    two = _all_files(sample_stories(40))
    assert one == two
    d = parse("x", one["feeds/all.atom"])
    newest = max(s.updated for s in sample_stories(40))
    assert datetime(*d.feed.updated_parsed[:6], tzinfo=UTC) == newest.astimezone(UTC)


def test_xss_payloads_never_reach_a_feed() -> None:
    stories = sample_stories(9, body_html=XSS)
    stories[1] = replace(stories[1], title='<script>alert("t")</script>عنوان <img src=x onerror=alert(1)>',
                         summary='<a href="javascript:alert(1)">ملخص</a>', author="<b onclick=alert(1)>كاتب</b>",
                         url="https://www.le12.ma/x.html", image_url="javascript:alert(1)",
                         also_reported_by=[OtherReport("rue20", "<script>x</script>زنقة", "javascript:alert(1)", "t")])
    files = _all_files(stories)
    assert "alert" not in files.pop("feeds.opml").decode()  # OPML has its own <body>, and no story
    for path, data in files.items():
        text = _unescaped(data)
        found = FORBIDDEN.findall(text)
        assert not found, f"{path}: {found}"
        if path.endswith(".atom"):
            d = parse(path, data)
            if not d.entries:
                continue
            assert "نص سليم" in d.entries[0].content[0].value  # the safe part survives
            assert 'src="https://img.test/a.jpg"' in d.entries[0].content[0].value
    d = parse("all.rss", files["feeds/all.rss"])
    assert d.entries[1].title == "عنوان"


def test_sanitizer_and_plain_text_units() -> None:
    assert sanitize_html('<a href="https://x.test/" onclick="y()">a</a>') == '<a href="https://x.test/" rel="noopener noreferrer nofollow">a</a>'
    assert sanitize_html("<p>a\x00b\x1fc\ufffe</p>") == "<p>abc</p>"
    assert plain_text("a < b &amp; <i>c</i>\x0b") == "a < b & c"
    assert plain_text(None) == ""
    # escaped markup inside real markup must not come back as a tag
    assert plain_text("<b>x</b>&lt;script&gt;alert(1)&lt;/script&gt;") == "x"
    assert plain_text("<i>a</i> &amp;lt;b&amp;gt;") == "a &lt;b&gt;"


def test_xml_forbidden_characters_are_stripped() -> None:
    s = sample_stories(1)[0]
    s = replace(s, title="عنوان\x00\x08\x1b\ufffe", summary="ملخص\x0c", body_html="<p>نص\x01</p>", author="كاتب\x02")
    files = _all_files([s])
    for path in ("feeds/all.rss", "feeds/all.atom"):
        e = parse(path, files[path]).entries[0]
        assert e.title == "عنوان"
        assert e.author == "كاتب"
    item = json.loads(files["feeds/all.json"])["items"][0]
    assert item["title"] == "عنوان" and item["content_html"].startswith("<p>نص</p>")


def test_json_feed_1_1() -> None:
    stories = sample_stories(60)
    files = _all_files(stories)
    doc = json.loads(files["feeds/all.json"])
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["language"] == "ar"
    assert doc["feed_url"] == "http://feeds.test/feeds/all.json"
    assert len(doc["items"]) == 50
    first = doc["items"][0]
    assert first["id"] == stories[0].guid and first["url"] == stories[0].url
    assert datetime.fromisoformat(first["date_published"]) == stories[0].published
    assert datetime.fromisoformat(first["date_modified"]) == stories[0].updated
    assert first["authors"] == [{"name": stories[0].author}]
    assert first["tags"] == [stories[0].topic]
    assert first["image"] == stories[0].image_url
    assert first["_akhbar"]["also_reported_by"][0]["url"] == stories[0].also_reported_by[0].url


def test_opml_lists_every_feed() -> None:
    specs = feed_specs(SOURCES)
    data = build_opml(specs, CTX)
    root = etree.fromstring(data)
    urls = {o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")}
    assert urls == {f"http://feeds.test/feeds/{s.key}.rss" for s in specs}
    assert len(urls) == 1 + 16 + len(SOURCES)


def test_naive_dates_are_refused() -> None:
    with pytest.raises(ValueError):
        FeedStory(url="https://x.test/", title="t", source="x", source_name="x", published=datetime(2025, 1, 1))


def test_empty_feed_is_valid() -> None:
    # A source feed is published even before its first story (a topic feed is not: below).
    files = build_feed_files([(FeedSpec("source-x", "x", "x", "source", "x"), [])], CTX)
    assert set(files) == {"feeds/source-x.rss", "feeds/source-x.atom", "feeds/source-x.json", "feeds.opml"}
    for path, data in files.items():
        if path.endswith((".rss", ".atom")):
            assert parse(path, data).entries == []


def test_empty_topic_gets_no_feed_until_it_has_a_story() -> None:
    video = FeedSpec("topic-video", "فيديو", "فيديو", "topic", "video")
    sports = FeedSpec("topic-sports", "رياضة", "رياضة", "topic", "sports")
    story = sample_stories(1)[0]
    files = build_feed_files([(video, []), (sports, [story])], CTX)
    assert sorted(files) == ["feeds.opml", "feeds/topic-sports.atom", "feeds/topic-sports.json", "feeds/topic-sports.rss"]
    outlines = {o.get("xmlUrl") for o in etree.fromstring(files["feeds.opml"]).iter("outline") if o.get("xmlUrl")}
    assert outlines == {"http://feeds.test/feeds/topic-sports.rss"}
    files = build_feed_files([(video, [story]), (sports, [story])], CTX)
    assert parse("v", files["feeds/topic-video.rss"]).entries[0].link == story.url
    outlines = {o.get("xmlUrl") for o in etree.fromstring(files["feeds.opml"]).iter("outline") if o.get("xmlUrl")}
    assert "http://feeds.test/feeds/topic-video.rss" in outlines
