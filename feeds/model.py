"""The input of the feed builders: one `FeedStory` per story, and the feed set.

A story is shown once, through its canonical report; the other sites' reports of
the same story ride along as ``also_reported_by``. Builders take these plain
objects, never archive rows, so they can be tested with hand-built lists and fed
from either archive backend.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF):
# lxml refuses them outright, and a feed with one would not parse at all.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def xml_safe(text: str | None) -> str:
    """`text` with every character XML forbids removed ('' for None)."""
    if not text:
        return ""
    return _XML_FORBIDDEN.sub("", text)


def story_guid(canonical_url: str) -> str:
    """Stable entry id: a name-based UUID of the canonical URL.

    Derived from the URL only, so editing a report (new title, new body, new
    modified date) never changes it and readers do not show the story twice.
    """
    return uuid.uuid5(uuid.NAMESPACE_URL, canonical_url).urn


@dataclass(frozen=True)
class OtherReport:
    """Another site's report of the same story ("also reported by")."""

    source: str
    """Source id (``le12``)."""
    source_name: str
    """Display name (``LE12``, ``هسبريس``)."""
    url: str
    title: str = ""


@dataclass(frozen=True)
class RelatedStory:
    """A different story on a close subject (front page only)."""

    title: str
    url: str
    source_name: str = ""


@dataclass
class FeedStory:
    """One story as a feed entry: the canonical report's fields plus its siblings."""

    url: str
    """The canonical report's canonical URL (entry link, and the guid's seed)."""
    title: str
    source: str
    source_name: str
    published: datetime
    """Aware publication datetime of the canonical report."""
    updated: datetime | None = None
    """Aware last-modified datetime; defaults to `published`."""
    story_id: str | None = None
    summary: str | None = None
    body_html: str | None = None
    """As published; the builders sanitise it."""
    author: str | None = None
    topic: str | None = None
    image_url: str | None = None
    also_reported_by: list[OtherReport] = field(default_factory=list)
    related: list[RelatedStory] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.published.tzinfo is None:
            raise ValueError(f"FeedStory {self.url}: published date must be timezone-aware")
        if self.updated is None or self.updated < self.published:
            self.updated = self.published
        elif self.updated.tzinfo is None:
            raise ValueError(f"FeedStory {self.url}: updated date must be timezone-aware")

    @property
    def guid(self) -> str:
        return story_guid(self.url)


@dataclass(frozen=True)
class FeedSpec:
    """One feed of the set: which stories, what it is called, where its files go."""

    key: str
    """File stem under ``public/feeds/``: ``all``, ``topic-politics``, ``source-le12``."""
    title: str
    description: str
    kind: str
    """``all``, ``topic`` or ``source``."""
    value: str | None = None
    """The topic id or source id it filters on (None for ``all``)."""

    def paths(self) -> dict[str, str]:
        """Format -> path relative to the public directory."""
        return {fmt: f"feeds/{self.key}.{ext}" for fmt, ext in FORMATS.items()}


FORMATS: dict[str, str] = {"rss": "rss", "atom": "atom", "json": "json"}
"""Feed format -> file extension; the extension also picks the Content-Type when served."""


def feed_specs(sources: dict[str, str], topics: list[tuple[str, str]] | None = None) -> list[FeedSpec]:
    """The whole feed set: all, one per topic, one per source.

    `sources` maps source id -> display name; `topics` is ``[(id, arabic name)]``
    (default: every topic of `crawler.taxonomy`).
    """
    if topics is None:
        from crawler.taxonomy import TOPICS

        topics = [(t.id, t.ar) for t in TOPICS]
    specs = [FeedSpec("all", "أخبار — كل الأخبار", "آخر الأخبار المغربية من كل المصادر", "all")]
    for tid, name in topics:
        specs.append(FeedSpec(f"topic-{tid}", f"أخبار — {name}", f"آخر أخبار {name}", "topic", tid))
    for sid, name in sources.items():
        specs.append(FeedSpec(f"source-{sid}", f"أخبار — {name}", f"آخر أخبار {name}", "source", sid))
    return specs
