"""The bundled sample turned into what each emulated site publishes.

`load_sample()` reads ``data/sample.jsonl.gz`` once; `build_catalog()` re-dates its
records against `now` (each record stores its age in minutes, so corpus order is kept)
and gives every post its site's URL. `enlarge(n)` swaps in, for this process, a sample
grown to `n` distinct articles (benchmarks; see `enlarged_sample`).
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from crawler.snapshot import permalinks as permalinklib
from crawler.snapshot.sites import FIVE_SITES, SITES, Section, SiteSpec

logger = logging.getLogger(__name__)
FIVE_SITE_IDS = frozenset(FIVE_SITES)

SAMPLE_PATH = Path(__file__).with_name("data") / "sample.jsonl.gz"
CASABLANCA = ZoneInfo("Africa/Casablanca")


@lru_cache(maxsize=1)
def load_sample(path: Path = SAMPLE_PATH) -> tuple[dict[str, Any], ...]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh if line.strip())


_enlarged: tuple[dict[str, Any], ...] | None = None

# Variants are dated after the sample's 30 days, spread evenly over this span.
ENLARGED_SPAN_MINUTES = 2 * 365 * 24 * 60
# Share of a variant's words replaced by other words of the text pool: a 3-word shingle
# survives with probability (1 - 0.35)^3 ~ 0.27, far below any near-duplicate threshold,
# so every variant is its own story, while the text stays Arabic news vocabulary.
ENLARGED_REPLACE = 0.35
# Variant ids start far above the sample's (site ids are < 1,000,000) and step by 2 so
# that a post's media id (id + 1) never names another post.
ENLARGED_FIRST_ID = 5_000_000
_SENTENCE_END = re.compile(r"(?<=[.!؟])(?=[^\W\d_])")


def sample_records() -> tuple[dict[str, Any], ...]:
    """The records every catalog is built from: the bundled sample, or the enlarged one."""
    return _enlarged if _enlarged is not None else load_sample()


def enlarge(n: int | None, corpus: Path | None = None, seed: int = 7) -> int:
    """Serve `n` articles over the five sites from now on in this process (None: the
    bundled sample again); returns how many records the catalogs will hold."""
    global _enlarged
    _enlarged = None if n is None else enlarged_sample(n, corpus, seed)
    return len(sample_records())


def _corpus_texts(corpus: Path) -> list[tuple[str, list[str]]]:
    files = [corpus] if corpus.is_file() else sorted(corpus.rglob("*.jsonl.gz"))
    out: list[tuple[str, list[str]]] = []
    for file in files:
        with gzip.open(file, "rt", encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                title, body = (rec.get("title") or "").strip(), rec.get("body") or ""
                if title and len(body) > 200:
                    out.append((title, _paragraphs(body)))
    return out


def _paragraphs(body: str) -> list[str]:
    """The corpus lost its paragraph breaks: cut at sentence ends glued to a letter,
    then merge into paragraphs of at least ~300 characters."""
    paras: list[str] = []
    cur = ""
    for sentence in _SENTENCE_END.split(body.strip()):
        cur = f"{cur} {sentence}".strip() if cur else sentence.strip()
        if len(cur) >= 300:
            paras.append(cur)
            cur = ""
    if cur:
        paras.append(cur)
    return paras


def enlarged_sample(n: int, corpus: Path | None = None, seed: int = 7) -> tuple[dict[str, Any], ...]:
    """At least `n` distinct articles over the five sites: the bundled sample's records as
    they are, then variants of them until `n` is reached.

    Variant `v` keeps a sample record's site, section, category, author and tags (so
    every spider, section map and date format is exercised as usual), gets its own id,
    slug, URL and date (older than the sample, evenly over two years) and a text: a
    corpus article's (with `corpus`, round-robin; else the sample record's own) with 35 %
    of its words replaced by words drawn from the whole text pool, so dedup sees
    distinct stories, not 20,000 copies of 257. Deterministic for a given `seed`.
    """
    base = [r for r in load_sample() if r["site"] in FIVE_SITE_IDS]
    records = list(base)
    if n <= len(records):
        return tuple(records[:n])
    pool = _corpus_texts(corpus) if corpus is not None else [(r["title"], list(r["paragraphs"])) for r in base]
    if not pool:
        raise ValueError(f"snapshot: no usable article in {corpus}")
    vocab = [w for title, paras in pool[:2000] for w in " ".join([title, *paras]).split()]
    rng = random.Random(seed)
    count = n - len(records)
    step = ENLARGED_SPAN_MINUTES / count
    oldest = max(r["age_minutes"] for r in base)
    for v in range(count):
        tmpl = base[v % len(base)]
        title, paras = pool[v % len(pool)]
        vid = ENLARGED_FIRST_ID + 2 * v
        records.append({
            **tmpl,
            "id": vid,
            "slug": f"{tmpl['slug'][:60]}-{vid}",
            "title": _perturb(title, rng, vocab),
            "paragraphs": [_perturb(p, rng, vocab) for p in paras],
            "age_minutes": oldest + 60 + int(v * step),
            "modified_after_minutes": 0,
            "story_key": f"variant-{vid}",
            "role": "variant",
            "edits": [],
            "tails": [],
        })
    return tuple(records)


def _perturb(text: str, rng: random.Random, vocab: list[str]) -> str:
    words = text.split()
    k = int(len(words) * ENLARGED_REPLACE)
    if k:
        for pos, word in zip(rng.sample(range(len(words)), k), rng.choices(vocab, k=k)):
            words[pos] = word
    return " ".join(words)


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
        return self.published.astimezone(UTC)

    @property
    def modified_utc(self) -> datetime:
        return self.modified.astimezone(UTC)

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
    permalinks: str | None = None
    """The permalink structure posts are served under (None: the site's own URLs)."""

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
    return datetime.now(UTC).replace(second=0, microsecond=0)


def build_catalog(site: str, base_url: str, now: datetime, faults: bool = False,
                  permalinks: str | None = None) -> SiteCatalog:
    """`permalinks`: a name or structure of `crawler.snapshot.permalinks` (None: the site's own)."""
    spec = SITES[site]
    structure = permalinklib.resolve(permalinks)
    posts: list[Post] = []
    for rec in sample_records():
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
        if structure is None:
            post.path = post_path(site, post.slug, post.id, published)
        else:
            post.path = permalinklib.render(structure, slug_path=q(post.slug), post_id=post.id, local=published,
                                            category_path=q(post.section.slug))
        posts.append(post)
    posts.sort(key=lambda p: (p.published, p.id), reverse=True)
    cat = SiteCatalog(spec=spec, base_url=base_url.rstrip("/"), now=now, posts=posts, permalinks=structure)
    for p in posts:
        if unquote(p.path) in cat.by_path:
            raise ValueError(f"snapshot: {site}: two posts share the path {p.path} (permalinks {permalinks!r})")
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
