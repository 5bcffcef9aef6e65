"""The Arabic, right-to-left front page: topics, latest stories, search.

Rendered server-side from `FeedStory` objects with every value escaped; the page
carries no script at all (and is served with a CSP forbidding scripts), so an
XSS payload in a title or a summary is inert text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Protocol, Sequence
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from feeds.build import plain_text, safe_url
from feeds.model import FeedStory

MOROCCO = ZoneInfo("Africa/Casablanca")

# Months as Moroccan papers print them (the French-derived names, not the Levantine
# كانون/تشرين ones nor the Egyptian يوليو/أغسطس).
MONTHS_MA = ("يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر", "أكتوبر", "نونبر", "دجنبر")
WEEKDAYS_AR = ("الإثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")


def arabic_date(dt: datetime, tz: ZoneInfo = MOROCCO) -> str:
    """``الجمعة 8 أبريل 2022 - 23:56`` in Moroccan time, as Hespress prints dates."""
    local = dt.astimezone(tz)
    return f"{WEEKDAYS_AR[local.weekday()]} {local.day} {MONTHS_MA[local.month - 1]} {local.year} - {local:%H:%M}"


class StoryStore(Protocol):
    """Where the page gets its stories (the archive, through `feeds.query`)."""

    def latest(self, *, topic: str | None = None, source: str | None = None, limit: int = 30) -> list[FeedStory]: ...

    def search(self, query: str, *, limit: int = 30) -> list[FeedStory]: ...


@dataclass
class PageContext:
    topics: list[tuple[str, str]]
    """(id, Arabic name) of every topic, in menu order."""
    sources: dict[str, str]
    """Source id -> display name."""
    feed_prefix: str = "/feeds/"
    extra_links: list[tuple[str, str]] = field(default_factory=list)


BASE_CSS = """
:root{--ink:#1d232b;--muted:#5b6570;--line:#e3e6ea;--accent:#0b6e4f}
*{box-sizing:border-box}
body{margin:0;font-family:"Noto Naskh Arabic","Amiri","Noto Sans Arabic",Tahoma,sans-serif;color:var(--ink);
background:#fafbfc;line-height:1.7;text-align:start}
header{background:#fff;border-bottom:1px solid var(--line);padding:.8rem 1.2rem}
header h1{margin:0;font-size:1.6rem}header h1 a{color:var(--accent);text-decoration:none}
"""
"""What every Arabic page of the web app shares (front page, status page)."""

_CSS = BASE_CSS + """form.search{display:flex;gap:.4rem;margin:.6rem 0}
form.search input{flex:1;padding:.4rem .6rem;font:inherit;border:1px solid var(--line);border-radius:4px}
form.search button{font:inherit;padding:.3rem .9rem}
nav.topics{display:flex;flex-wrap:wrap;gap:.3rem .9rem}
nav.topics a{color:var(--ink);text-decoration:none}nav.topics a.current{color:var(--accent);font-weight:bold}
main{max-width:52rem;margin:0 auto;padding:1rem 1.2rem}
article.story{background:#fff;border:1px solid var(--line);border-radius:6px;padding:.8rem 1rem;margin:0 0 .9rem}
article.story h3{margin:0 0 .2rem;font-size:1.2rem}article.story h3 a{color:var(--ink);text-decoration:none}
.meta{color:var(--muted);font-size:.9rem;margin:0}.summary{margin:.4rem 0}
.also,.related{font-size:.9rem;margin:.3rem 0 0}.related ul{margin:0;padding-inline-start:1.2rem}
footer{max-width:52rem;margin:0 auto;padding:1rem 1.2rem;color:var(--muted);font-size:.9rem}
"""


def document_start(title: str, css: str, head_extra: Sequence[str] = ()) -> list[str]:
    """The lines every page of the web app opens with, through the site's heading: an
    Arabic right-to-left document titled "أخبار — `title`" (escaped here)."""
    return [
        "<!DOCTYPE html>",
        '<html lang="ar" dir="rtl">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>أخبار — {escape(title)}</title>",
        *head_extra,
        f"<style>{css}</style>",
        "</head>",
        "<body>",
        "<header>",
        '<h1><a href="/">أخبار</a></h1>',
    ]


def _feed_links(prefix: str, key: str, label: str) -> list[str]:
    return [
        f'<link rel="alternate" type="application/rss+xml" title="{escape(label)} (RSS)" href="{escape(prefix + key)}.rss">',
        f'<link rel="alternate" type="application/atom+xml" title="{escape(label)} (Atom)" href="{escape(prefix + key)}.atom">',
        f'<link rel="alternate" type="application/feed+json" title="{escape(label)} (JSON Feed)" href="{escape(prefix + key)}.json">',
    ]


def _story_html(s: FeedStory, ctx: PageContext) -> str:
    e = escape
    title = plain_text(s.title) or s.url
    url = safe_url(s.url)
    source_name = plain_text(s.source_name) or ctx.sources.get(s.source, s.source)
    meta = [f'<span class="source">{e(source_name)}</span>']
    meta.append(f'<time datetime="{e(s.published.isoformat())}">{e(arabic_date(s.published))}</time>')
    topic_names = dict(ctx.topics)
    if s.topic:
        meta.append(
            f'<a class="topic" href="/?{e(urlencode({"topic": s.topic}))}">{e(topic_names.get(s.topic, s.topic))}</a>'
        )
    author = plain_text(s.author)
    if author:
        meta.append(f'<span class="author">{e(author)}</span>')
    parts = [
        '<article class="story" lang="ar">',
        f'<h3><a href="{e(url)}" rel="noopener noreferrer">{e(title)}</a></h3>',
        f'<p class="meta">{" · ".join(meta)}</p>',
    ]
    summary = plain_text(s.summary)
    if summary:
        parts.append(f'<p class="summary">{e(summary)}</p>')
    others = [(plain_text(o.source_name), safe_url(o.url), plain_text(o.title)) for o in s.also_reported_by]
    others = [o for o in others if o[1]]
    if others:
        links = "، ".join(
            f'<a href="{e(u)}" title="{e(t)}" rel="noopener noreferrer">{e(n)}</a>' for n, u, t in others
        )
        parts.append(f'<p class="also">أوردته أيضاً: {links}</p>')
    related = [(plain_text(r.title), safe_url(r.url), plain_text(r.source_name)) for r in s.related]
    related = [r for r in related if r[1]]
    if related:
        items = "".join(
            f'<li><a href="{e(u)}" rel="noopener noreferrer">{e(t or u)}</a>'
            + (f' <span class="source">({e(n)})</span>' if n else "")
            + "</li>"
            for t, u, n in related
        )
        parts.append(f'<div class="related">أخبار ذات صلة:<ul>{items}</ul></div>')
    parts.append("</article>")
    return "\n".join(parts)


def render_page(
    stories: list[FeedStory],
    ctx: PageContext,
    *,
    topic: str | None = None,
    source: str | None = None,
    query: str | None = None,
    notice: str | None = None,
) -> str:
    """The whole HTML document for the front page, a topic, a source or a search."""
    e = escape
    topic_names = dict(ctx.topics)
    if query:
        heading = f"نتائج البحث عن «{query}»"
        key, label = "all", "كل الأخبار"
    elif topic:
        heading = topic_names.get(topic, topic)
        key, label = f"topic-{topic}", heading
    elif source:
        heading = ctx.sources.get(source, source)
        key, label = f"source-{source}", heading
    else:
        heading = "آخر الأخبار"
        key, label = "all", "كل الأخبار"
    head_links = _feed_links(ctx.feed_prefix, key, f"أخبار — {label}")
    if key != "all":
        head_links += _feed_links(ctx.feed_prefix, "all", "أخبار — كل الأخبار")
    head_links.append('<link rel="outline" type="text/x-opml" title="كل الخلاصات (OPML)" href="/feeds.opml">')
    home_cls = "" if (topic or source or query) else ' class="current"'
    nav = [f'<a href="/"{home_cls}>الرئيسية</a>']
    for tid, name in ctx.topics:
        cls = ' class="current"' if tid == topic else ""
        nav.append(f'<a href="/?{e(urlencode({"topic": tid}))}"{cls}>{e(name)}</a>')
    body = [f'<p class="notice" role="alert">{e(notice)}</p>'] if notice else []
    body += [_story_html(s, ctx) for s in stories]
    if not stories:
        body.append('<p class="empty">لا توجد أخبار.</p>' if not query else '<p class="empty">لا نتائج.</p>')
    sources_nav = " · ".join(
        f'<a href="/?{e(urlencode({"source": sid}))}">{e(name)}</a>' for sid, name in ctx.sources.items()
    )
    return "\n".join(
        [
            *document_start(heading, _CSS, head_links),
            '<form class="search" role="search" action="/search" method="get">',
            f'<input type="search" name="q" value="{e(query or "")}" placeholder="ابحث في الأرشيف" aria-label="بحث">',
            '<button type="submit">بحث</button>',
            "</form>",
            f'<nav class="topics" aria-label="المواضيع">{"".join(nav)}</nav>',
            "</header>",
            "<main>",
            f"<h2>{e(heading)}</h2>",
            *body,
            "</main>",
            "<footer>",
            f'<p class="sources">المصادر: {sources_nav}</p>',
            f'<p class="feeds">الخلاصات: <a href="{e(ctx.feed_prefix + key)}.rss">RSS</a> · '
            f'<a href="{e(ctx.feed_prefix + key)}.atom">Atom</a> · <a href="{e(ctx.feed_prefix + key)}.json">JSON Feed</a> · '
            '<a href="/feeds.opml">OPML</a> · <a href="/api">API</a> · <a href="/status">حالة المصادر</a></p>',
            "</footer>",
            "</body>",
            "</html>",
            "",
        ]
    )
