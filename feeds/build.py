"""Build feed files (RSS 2.0, Atom 1.0, JSON Feed 1.1) and the OPML list, as bytes.

RSS and Atom go through feedgen; JSON Feed is plain `json`. Every builder is
deterministic: the same stories give the same bytes (feed-level dates come from
the newest entry, never from the clock), which is what lets `publish` leave
unchanged files untouched and lets HTTP caches answer 304.

Article HTML is untrusted: it is sanitised once per story with nh3 (no script,
style, iframe, form, event handler or ``javascript:``/``data:`` URL survives) and
text fields lose any markup and every character XML forbids.
"""

from __future__ import annotations

import html
import json
import logging
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import feedgen.feed  # noqa: F401  (feedgen.util needs lxml.etree imported first)
import nh3
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from feeds.model import EPOCH, FeedSpec, FeedStory, xml_safe

logger = logging.getLogger(__name__)

GENERATOR = "Akhbar"
FEED_AUTHOR = "أخبار (Akhbar)"
DEFAULT_TTL_MINUTES = 15
JSONFEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
HUB_PATH = "websub"
"""The app's own WebSub hub, under the base URL (feeds/web/websub.py)."""

_SAFE_SCHEMES = {"http", "https", "mailto"}
_HTML_CLEANER = nh3.Cleaner(
    # ammonia's default tag set has no script/style/iframe/object/form/input; keep
    # it, drop the image-map tags whose href nobody needs in a feed.
    tags=set(nh3.ALLOWED_TAGS) - {"area", "map"},
    clean_content_tags={"script", "style"},
    url_schemes=_SAFE_SCHEMES,
    link_rel="noopener noreferrer nofollow",
)
_TEXT_CLEANER = nh3.Cleaner(tags=set(), clean_content_tags={"script", "style"})
_TEXT_PASSES = 16
_TAG_OPEN = re.compile(r"<(?=[A-Za-z!/?])")


def sanitize_html(fragment: str | None) -> str:
    """Untrusted article HTML -> safe HTML fragment (XML-safe too)."""
    if not fragment:
        return ""
    return _HTML_CLEANER.clean(xml_safe(fragment))


def plain_text(text: str | None) -> str:
    """A text field with any markup dropped, XML-forbidden characters removed,
    whitespace collapsed; the result is plain text (escape it where it is output)."""
    if not text:
        return ""
    text = xml_safe(text)
    # Repeat to a fixed point: unescaping can reveal markup (``&lt;script&gt;`` inside
    # real tags, or the raw text of <iframe>/<title>/<noscript>, one layer per pass),
    # and RSS readers render <description> and often <title> as HTML.
    for _ in range(_TEXT_PASSES):
        if "<" not in text:
            break
        cleaned = html.unescape(_TEXT_CLEANER.clean(text))
        if cleaned == text:
            break
        text = cleaned
    # Deeper nesting than the passes peel is an attack, not a headline: what still
    # opens a tag loses its "<".
    text = _TAG_OPEN.sub("", text)
    return " ".join(text.split())


# Characters no valid URL holds raw: percent-encoded, so a URL stays one attribute value
# even in a reader that pastes it into HTML without escaping.
_URL_UNSAFE = re.compile(r"[\s\x00-\x20\x7f-\x9f\"'<>`\\{}|^]")


def safe_url(url: str | None) -> str:
    """`url` when it is an http(s) URL, else '' (a feed link must never be javascript:),
    with quotes, angle brackets, blanks and controls percent-encoded."""
    if not url:
        return ""
    url = xml_safe(url).strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("http", "https"):
        return ""
    return _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8")), url)


def _image_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(url.split("?", 1)[0])
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


@dataclass
class FeedContext:
    """What every feed of one publish shares."""

    base_url: str = "http://127.0.0.1:8080"
    """Where ``public/`` is served; feed self links and home page links start with it."""
    ttl_minutes: int = DEFAULT_TTL_MINUTES
    topic_names: dict[str, str] | None = None
    """Topic id -> Arabic name, for categories' labels."""
    hubs: tuple[str, ...] | None = None
    """WebSub hubs every feed names (``rel="hub"``); None: the app's own, under `base_url`."""

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def hub_urls(self) -> tuple[str, ...]:
        return self.hubs if self.hubs is not None else (self.url(HUB_PATH),)

    def topic_label(self, topic: str) -> str:
        if self.topic_names is None:
            from crawler.taxonomy import TOPICS

            self.topic_names = {t.id: t.ar for t in TOPICS}
        return self.topic_names.get(topic, topic)


@dataclass
class PreparedStory:
    """A story with every field cleaned once, shared by all the feeds it appears in."""

    story: FeedStory
    guid: str
    url: str
    title: str
    summary: str
    content_html: str
    author: str
    source_name: str
    image_url: str
    also: list[tuple[str, str, str]]
    """(source name, url, title) of the other reports, cleaned."""


def story_page_url(story: FeedStory, ctx: FeedContext | None) -> str:
    """The story page comparing every report of `story` ('' without a story id or context)."""
    if ctx is None or not story.story_id:
        return ""
    return ctx.url("story/" + quote(story.story_id, safe=""))


def prepare(story: FeedStory, ctx: FeedContext | None = None) -> PreparedStory:
    body = sanitize_html(story.body_html)
    summary = plain_text(story.summary)
    title = plain_text(story.title) or summary[:120] or story.url
    also = [(plain_text(o.source_name), u, plain_text(o.title)) for o in story.also_reported_by if (u := safe_url(o.url))]
    parts = [body or (f"<p>{html.escape(summary)}</p>" if summary else "")]
    if also:
        links = "، ".join(
            f'<a href="{html.escape(u)}" title="{html.escape(t)}">{html.escape(n)}</a>' for n, u, t in also
        )
        compare = story_page_url(story, ctx)
        if compare:  # the reports side by side, with what each changed
            links += f' (<a class="story-page" href="{html.escape(compare)}">قارن بين التقارير</a>)'
        parts.append(f'<p class="also-reported">أوردته أيضاً: {links}</p>')
    return PreparedStory(
        story=story,
        guid=story.guid,
        url=safe_url(story.url) or story.url,
        title=title,
        summary=summary,
        content_html="\n".join(p for p in parts if p),
        author=plain_text(story.author),
        source_name=plain_text(story.source_name),
        image_url=safe_url(story.image_url),
        also=also,
    )


class _AtomLinks(BaseEntryExtension):
    """Writes an Atom entry's ``<link>`` elements.

    feedgen 1.0's `atom_entry` drops every link's ``rel``/``type``/``title`` (it
    rebinds its loop variable), which would turn the related reports and the
    image into extra "alternate" links; this replaces them with correct ones.
    """

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []

    def extend_atom(self, entry: Any) -> Any:
        for old in entry.findall("link"):
            entry.remove(old)
        for attrs in self.links:
            xml_elem("link", entry, **attrs)
        return entry


class _HubLinks(BaseExtension):
    """Writes the WebSub ``<atom:link rel="hub">`` of an RSS channel, after its self link
    (feedgen's RSS writer keeps only the ``self`` one of the feed's links)."""

    def __init__(self) -> None:
        self.hubs: tuple[str, ...] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}

    def extend_rss(self, rss_feed: Any) -> Any:
        channel = rss_feed.find("channel")
        at = next((i + 1 for i, el in enumerate(channel) if el.tag == f"{{{ATOM_NS}}}link"), 3)
        for offset, hub in enumerate(self.hubs):
            el = channel.makeelement(f"{{{ATOM_NS}}}link", {"href": hub, "rel": "hub"})
            channel.insert(at + offset, el)
        return rss_feed


def _last_updated(items: list[PreparedStory]) -> datetime:
    # Feed-level dates come from the data so an unchanged set rebuilds byte-identical.
    return max((p.story.updated or p.story.published for p in items), default=EPOCH)


def _home(spec: FeedSpec, ctx: FeedContext) -> str:
    """The front page view matching a feed."""
    return ctx.url("/") if spec.kind == "all" else ctx.url(f"/?{spec.kind}={spec.value}")


def _generator(spec: FeedSpec, items: list[PreparedStory], ctx: FeedContext) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc")
    fg.load_extension("media")
    fg.register_extension("akhbar_hubs", _HubLinks, atom=False, rss=True)
    fg.akhbar_hubs.hubs = ctx.hub_urls()
    fg.id(ctx.url(spec.paths()["atom"]))
    fg.title(xml_safe(spec.title))
    fg.subtitle(xml_safe(spec.description))
    fg.description(xml_safe(spec.description))
    fg.language("ar")
    fg.generator(GENERATOR)
    fg.author(name=FEED_AUTHOR)  # Atom: entries without a byline inherit it (author is required)
    fg.ttl(ctx.ttl_minutes)
    last = _last_updated(items)
    fg.updated(last)
    fg.lastBuildDate(last)
    for p in items:
        s = p.story
        fe = fg.add_entry(order="append")
        fe.id(p.guid)
        fe.guid(p.guid, permalink=False)
        fe.title(p.title)
        fe.link(href=p.url, rel="alternate", type="text/html")
        fe.register_extension("akhbar_links", _AtomLinks, atom=True, rss=False)
        links = [{"href": p.url, "rel": "alternate", "type": "text/html"}]
        links += [{"href": u, "rel": "related", "type": "text/html", "title": t or n} for n, u, t in p.also]
        fe.published(s.published)
        fe.updated(s.updated)
        if p.summary:
            fe.summary(p.summary)
        if p.content_html:
            fe.content(p.content_html, type="html")
        if p.author:
            fe.author(name=p.author)
            fe.dc.dc_creator(p.author)
        if s.topic:
            fe.category(term=s.topic, label=ctx.topic_label(s.topic), scheme=ctx.url("/topics"))
        if p.image_url:
            kind = _image_type(p.image_url)
            fe.enclosure(p.image_url, "0", kind)
            fe.media.content(url=p.image_url, medium="image", type=kind)
            links.append({"href": p.image_url, "rel": "enclosure", "type": kind})
        fe.akhbar_links.links = links
        fe.source(title=p.source_name or s.source, url=ctx.url(f"feeds/source-{s.source}.rss"))
    return fg


def build_rss(spec: FeedSpec, items: list[PreparedStory], ctx: FeedContext, fg: FeedGenerator | None = None) -> bytes:
    fg = fg or _generator(spec, items, ctx)
    # feedgen's RSS <link> is the last link given; the self link goes to atom:link.
    fg.link([{"href": ctx.url(spec.paths()["rss"]), "rel": "self", "type": "application/rss+xml"},
             {"href": _home(spec, ctx), "rel": "alternate", "type": "text/html"}], replace=True)  # hubs: _HubLinks
    return fg.rss_str(pretty=True)


def build_atom(spec: FeedSpec, items: list[PreparedStory], ctx: FeedContext, fg: FeedGenerator | None = None) -> bytes:
    fg = fg or _generator(spec, items, ctx)
    fg.link([{"href": _home(spec, ctx), "rel": "alternate", "type": "text/html"},
             {"href": ctx.url(spec.paths()["atom"]), "rel": "self", "type": "application/atom+xml"},
             *({"href": hub, "rel": "hub"} for hub in ctx.hub_urls())], replace=True)
    return fg.atom_str(pretty=True)


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def build_json(spec: FeedSpec, items: list[PreparedStory], ctx: FeedContext) -> bytes:
    """JSON Feed 1.1; "also reported by" travels in the ``_akhbar`` extension too."""
    home = _home(spec, ctx)
    out_items = []
    for p in items:
        s = p.story
        item: dict = {"id": p.guid, "url": p.url, "title": p.title, "content_html": p.content_html}
        if p.summary:
            item["summary"] = p.summary
        if p.image_url:
            item["image"] = p.image_url
        item["date_published"] = _iso(s.published)
        item["date_modified"] = _iso(s.updated or s.published)
        if p.author:
            item["authors"] = [{"name": p.author}]
        if s.topic:
            item["tags"] = [s.topic]
        item["language"] = "ar"
        item["_akhbar"] = {
            "source": s.source,
            "source_name": p.source_name,
            "story_id": s.story_id,
            "topic": s.topic,
            "also_reported_by": [{"source_name": n, "url": u, "title": t} for n, u, t in p.also],
        }
        if p.also and s.story_id:
            item["_akhbar"]["story_url"] = story_page_url(s, ctx)
        out_items.append(item)
    doc = {
        "version": JSONFEED_VERSION,
        "title": xml_safe(spec.title),
        "description": xml_safe(spec.description),
        "home_page_url": home,
        "feed_url": ctx.url(spec.paths()["json"]),
        "hubs": [{"type": "WebSub", "url": hub} for hub in ctx.hub_urls()],
        "language": "ar",
        "authors": [{"name": FEED_AUTHOR}],
        "items": out_items,
    }
    # No indent: only the compact form goes through json's C encoder.
    return (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8")


def build_opml(specs: Iterable[FeedSpec], ctx: FeedContext, title: str = "أخبار — كل الخلاصات") -> bytes:
    """OPML 2.0 listing every feed (its RSS file; Atom and JSON sit beside it)."""
    groups = {"all": "كل الأخبار", "topic": "المواضيع", "source": "المصادر"}
    by_kind: dict[str, list[FeedSpec]] = {}
    for spec in specs:
        by_kind.setdefault(spec.kind, []).append(spec)
    e = html.escape
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{e(title)}</title></head>",
        "  <body>",
    ]
    for kind, label in groups.items():
        if kind not in by_kind:
            continue
        lines.append(f'    <outline text="{e(label)}" title="{e(label)}">')
        for spec in by_kind[kind]:
            home = _home(spec, ctx)
            lines.append(
                f'      <outline type="rss" text="{e(spec.title)}" title="{e(spec.title)}" language="ar"'
                f' xmlUrl="{e(ctx.url(spec.paths()["rss"]))}" htmlUrl="{e(home)}"/>'
            )
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def build_feed_files(
    feeds: list[tuple[FeedSpec, list[FeedStory]]], ctx: FeedContext
) -> dict[str, bytes]:
    """Every file of the feed set: relative path -> bytes (feeds + ``feeds.opml``).

    A story appearing in several feeds is sanitised once. A topic feed with no story is
    left out, files and OPML entry alike: a reader would subscribe to a feed that may never
    get an item (a topic that only some site's section gives, such as video). It appears
    with its first article; `write_files` removes its files should it ever be empty again.
    """
    feeds = [(spec, stories) for spec, stories in feeds if stories or spec.kind != "topic"]
    prepared: dict[int, PreparedStory] = {}
    files: dict[str, bytes] = {}
    for spec, stories in feeds:
        items = []
        for s in stories:
            p = prepared.get(id(s))
            if p is None:
                p = prepared[id(s)] = prepare(s, ctx)
            items.append(p)
        paths = spec.paths()
        fg = _generator(spec, items, ctx)  # one generator serves both XML formats
        files[paths["rss"]] = build_rss(spec, items, ctx, fg)
        files[paths["atom"]] = build_atom(spec, items, ctx, fg)
        files[paths["json"]] = build_json(spec, items, ctx)
    files["feeds.opml"] = build_opml([spec for spec, _ in feeds], ctx)
    return files
