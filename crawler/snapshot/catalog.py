"""The bundled sample turned into what each emulated site publishes.

`load_sample()` reads ``data/sample.jsonl.gz`` once; `build_catalog()` re-dates its
records against `now` (each record stores its age in minutes, so corpus order is kept)
and gives every post its site's URL.
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from crawler.snapshot.sites import SITES, Section, SiteSpec

logger = logging.getLogger(__name__)

SAMPLE_PATH = Path(__file__).with_name("data") / "sample.jsonl.gz"
CASABLANCA = ZoneInfo("Africa/Casablanca")


@lru_cache(maxsize=1)
def load_sample(path: Path = SAMPLE_PATH) -> tuple[dict[str, Any], ...]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh if line.strip())


def q(part: str) -> str:
    """Percent-encode a path part the way WordPress prints Arabic slugs (lowercase hex)."""
    return quote(part, safe="-_.~").lower()


@dataclass
class Post:
    site: str
    id: int
    slug: str
    title: str
    paragraphs: list[str]
    author: str
    section: Section
    tags: list[str]
    published: datetime
    """Aware, Africa/Casablanca."""
    modified: datetime
    record: dict[str, Any]
    path: str = ""
    fault: str | None = None

    @property
    def published_utc(self) -> datetime:
        return self.published.astimezone(timezone.utc)

    @property
    def modified_utc(self) -> datetime:
        return self.modified.astimezone(timezone.utc)

    @property
    def media_id(self) -> int:
        return self.id + 1

    @property
    def image_path(self) -> str:
        return f"/wp-content/uploads/{self.published:%Y/%m}/{self.id}-1024x576.jpg"

    def lead_paragraphs(self) -> list[str]:
        """Body paragraphs as the site prints them: Hiba's desk and Zanqa 20's dateline come first."""
        if self.site == "hibapress":
            return [self.author, *self.paragraphs]
        if self.site == "rue20":
            return [self.record.get("dateline") or "زنقة 20 | الرباط", *self.paragraphs]
        return list(self.paragraphs)


@dataclass
class SiteCatalog:
    spec: SiteSpec
    base_url: str
    now: datetime
    posts: list[Post]
    """Newest first."""
    by_path: dict[str, Post] = field(default_factory=dict)
    by_id: dict[int, Post] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def section_posts(self, section: Section) -> list[Post]:
        return [p for p in self.posts if p.section.slug == section.slug]

    def section_path(self, section: Section, page: int = 1) -> str:
        sid = self.spec.id
        if sid == "hespress":
            base = f"/{q(section.slug)}/"
        elif sid == "hibapress":
            base = f"/{section.slug}.html"
        else:
            base = f"/category/{q(section.slug)}/"
        if page <= 1:
            return base
        return f"{base.rstrip('/')}/page/{page}/"


def post_path(site: str, slug: str, pid: int, local: datetime) -> str:
    if site == "hespress":
        return f"/{q(slug)}-{pid}.html"
    if site == "hibapress":
        return f"/details-{pid}.html"
    if site == "le12":
        return f"/article/{pid}/"
    if site == "rue20":
        return f"/{pid}.html"
    if site == "belpresse":
        return f"/{local:%Y/%m}/{q(slug)}/"
    return f"/{local:%Y/%m/%d}/{q(slug)}/"


def default_now() -> datetime:
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


def build_catalog(site: str, base_url: str, now: datetime, faults: bool = False) -> SiteCatalog:
    spec = SITES[site]
    posts: list[Post] = []
    for rec in load_sample():
        if rec["site"] != site:
            continue
        published = (now - timedelta(minutes=rec["age_minutes"])).astimezone(CASABLANCA)
        modified = published + timedelta(minutes=rec.get("modified_after_minutes") or 0)
        post = Post(
            site=site,
            id=int(rec["id"]),
            slug=rec["slug"],
            title=rec["title"],
            paragraphs=list(rec["paragraphs"]),
            author=rec["author"],
            section=spec.section(rec["section"]),
            tags=list(rec["tags"]),
            published=published,
            modified=modified,
            record=rec,
        )
        post.path = post_path(site, post.slug, post.id, published)
        posts.append(post)
    posts.sort(key=lambda p: (p.published, p.id), reverse=True)
    cat = SiteCatalog(spec=spec, base_url=base_url.rstrip("/"), now=now, posts=posts)
    for p in posts:
        cat.by_path[unquote(p.path)] = p
        cat.by_id[p.id] = p
    if faults and site == "hespress" and len(posts) > 6:
        posts[6].fault = "no_title"
        posts[6].title = ""
    return cat


def ground_truth(cat: SiteCatalog, post: Post, displayed: str) -> dict[str, Any]:
    rec = post.record
    tails = set(rec.get("tails") or ())
    return {
        "site": post.site,
        "id": post.id,
        "url": cat.url(post.path),
        "path": post.path,
        "title": post.title,
        "paragraphs": list(post.paragraphs),
        # what a good extractor returns: the page's paragraphs minus a wire copy's
        # boilerplate tail ("اقرأ أيضا: ...", app download line) if it has one
        "body_text": "\n\n".join(p for p in post.paragraphs if p not in tails),
        "author": post.author,
        "section": post.section.slug,
        "section_name": post.section.name,
        "section_mapped": post.section.mapped,
        "tags": list(post.tags),
        "image_url": cat.url(post.image_path),
        "published": post.published,
        "modified": post.modified,
        "date_displayed": displayed,
        "category": rec["category"],
        "story_key": rec["story_key"],
        "corpus_id": rec["corpus_id"],
        "role": rec["role"],
        "edits": list(rec["edits"]),
        "fault": post.fault,
    }
