"""The Arabic, right-to-left front page: topics, latest stories, search.

Rendered server-side by the web app's Jinja2 templates (``feeds/web/templates/front.html``,
autoescaped) from `FeedStory` objects; `publish` writes the same page as the static
``public/index.html``. The page carries no script at all (and is served with a CSP
forbidding scripts), so an XSS payload in a title or a summary is inert text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from feeds.model import FeedStory


class StoryStore(Protocol):
    """Where the page gets its stories (the archive, through `feeds.query`)."""

    def latest(self, *, topic: str | None = None, source: str | None = None, limit: int = 30) -> list[FeedStory]: ...

    def search(self, query: str | None, *, limit: int = 30, source: str | None = None, topic: str | None = None,
               since: str | None = None, until: str | None = None) -> list[FeedStory]: ...


@dataclass
class PageContext:
    topics: list[tuple[str, str]]
    """(id, Arabic name) of every topic, in menu order."""
    sources: dict[str, str]
    """Source id -> display name."""
    feed_prefix: str = "/feeds/"
    extra_links: list[tuple[str, str]] = field(default_factory=list)
    published_topics: frozenset[str] | None = None
    """Topics that have a feed (an article); the menu links only these. None: every topic."""

    def menu_topics(self) -> list[tuple[str, str]]:
        """The topics the menu links: a topic with no article has no feed and no page yet."""
        if self.published_topics is None:
            return self.topics
        return [(tid, name) for tid, name in self.topics if tid in self.published_topics]


@dataclass(frozen=True)
class Notice:
    """A message on a page: Arabic `text`, and an optional `detail` shown isolated
    (``<bdi>``) as it may be English or quote what the reader typed."""

    text: str
    detail: str | None = None


def render_page(
    stories: list[FeedStory],
    ctx: PageContext,
    *,
    topic: str | None = None,
    source: str | None = None,
    query: str | None = None,
    notice: str | None = None,
    notices: list[Notice] | None = None,
    since: str | None = None,
    until: str | None = None,
    search_page: bool | None = None,
) -> str:
    """The whole HTML document for the front page, a topic, a source or a search (with
    its filters: a source, a topic, dates)."""
    from feeds.web.templating import render

    topic_names = dict(ctx.topics)
    search_page = bool(query) if search_page is None else search_page
    if search_page:
        heading, key, label = "البحث في الأرشيف", "all", "كل الأخبار"
        if query:
            heading = f"نتائج البحث عن «{query}»"
        if source and not topic:
            key, label = f"source-{source}", ctx.sources.get(source, source)
        elif topic and not source:
            key, label = f"topic-{topic}", topic_names.get(topic, topic)
    elif topic:
        heading = topic_names.get(topic, topic)
        key, label = f"topic-{topic}", heading
    elif source:
        heading = ctx.sources.get(source, source)
        key, label = f"source-{source}", heading
    else:
        heading, key, label = "آخر الأخبار", "all", "كل الأخبار"
    all_notices = list(notices or [])
    if notice:
        all_notices.insert(0, Notice(notice))
    return render("front.html", title=heading, heading=heading, key=key, label=label, stories=stories,
                  topics=ctx.topics, menu_topics=ctx.menu_topics(), topic_names=topic_names, sources=ctx.sources, feed_prefix=ctx.feed_prefix,
                  topic=topic, source=source, query=query, since=since, until=until, notices=all_notices,
                  search_page=search_page)
