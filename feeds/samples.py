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
