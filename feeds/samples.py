"""Synthetic stories for tests, the benchmark and trying the builders by hand.

Deterministic for a given seed; the text is Arabic, dates are aware, and the
caller can inject hostile HTML to check sanitising.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from feeds.model import FeedStory, OtherReport

SOURCES = {"hespress": "هسبريس", "le12": "LE12", "rue20": "زنقة 20", "belpresse": "بلبريس", "hibapress": "هبة بريس"}
_WORDS = "الحكومة المغربية البرلمان الرباط الدار البيضاء مراكش الاقتصاد الفلاحة الأمطار المنتخب الوطني وزارة الصحة التعليم الشباب المدينة الجهة".split()
_TOPICS = ("politics", "economy", "society", "sports", "world", "culture", "regions")
START = datetime(2025, 7, 16, 12, 0, tzinfo=timezone(timedelta(hours=1)))


def sample_stories(n: int, *, seed: int = 1, body_html: str | None = None, start: datetime = START) -> list[FeedStory]:
    """`n` stories, newest first, one minute apart; every third has another report."""
    rnd = random.Random(seed)
    sources = list(SOURCES)
    out = []
    for i in range(n):
        src = sources[i % len(sources)]
        other = sources[(i + 1) % len(sources)]
        words = " ".join(rnd.choice(_WORDS) for _ in range(8))
        published = start - timedelta(minutes=i)
        out.append(
            FeedStory(
                url=f"https://www.{src}.ma/article-{i}.html",
                title=f"خبر {i}: {words}",
                source=src,
                source_name=SOURCES[src],
                published=published,
                updated=published + timedelta(minutes=5) if i % 4 == 0 else None,
                story_id=f"story-{i}",
                summary=f"ملخص الخبر {i} {words}",
                body_html=body_html if body_html is not None else f"<p>{words}</p><p>فقرة ثانية {i}</p>",
                author=f"{SOURCES[src]} من الرباط",
                topic=_TOPICS[i % len(_TOPICS)],
                image_url=f"https://www.{src}.ma/images/{i}.jpg" if i % 2 == 0 else None,
                also_reported_by=[OtherReport(other, SOURCES[other], f"https://www.{other}.ma/news-{i}.html", f"نفس الخبر {i}")]
                if i % 3 == 0
                else [],
            )
        )
    return out


def fill_archive(archive: object, stories: list[FeedStory]) -> int:
    """Store `stories` in a real archive as articles: each canonical report, plus one
    non-canonical article per "also reported by" entry, sharing its story id."""
    from crawler.items import Article

    items = []
    for s in stories:
        items.append(
            Article(
                url=s.url, source=s.source, canonical_url=s.url, title=s.title, body_html=s.body_html,
                summary=s.summary, author=s.author, image_url=s.image_url, date_published=s.published,
                date_modified=s.updated if s.updated != s.published else None, topic=s.topic,
                topic_confidence=1.0, story_id=s.story_id, is_canonical=True,
            )
        )
        for k, o in enumerate(s.also_reported_by):
            items.append(
                Article(
                    url=o.url, source=o.source, title=o.title, body_html=s.body_html, summary=s.summary,
                    date_published=s.published + timedelta(minutes=10 + k), topic=s.topic,
                    story_id=s.story_id, is_canonical=False,
                )
            )
    archive.upsert_many(items)  # type: ignore[attr-defined]
    return len(items)


def sample_feeds(stories: list[FeedStory], names: dict[str, str] | None = None, limit: int = 50) -> list:
    """The whole feed set over an in-memory story list (what `feeds.query` reads from
    the archive): ``[(FeedSpec, [FeedStory, ...]), ...]``, newest first, `limit` each."""
    from feeds.model import feed_specs

    ordered = sorted(stories, key=lambda s: s.published, reverse=True)
    out = []
    for spec in feed_specs(names if names is not None else SOURCES):
        if spec.kind == "topic":
            chosen = [s for s in ordered if s.topic == spec.value]
        elif spec.kind == "source":
            chosen = [s for s in ordered if s.source == spec.value]
        else:
            chosen = ordered
        out.append((spec, chosen[:limit]))
    return out
