"""Story assignment over a persistent index.

Each report is compared with the reports that share an LSH band key with it; every
verified duplicate links the two, and a story is a connected component of those
links. The edge set does not depend on arrival order (candidate generation and the
pairwise decision are symmetric and every report meets every earlier one), so the
stories do not either: a crawl split over two processes gives the same stories as
one crawl, provided additions are serialised (the SQL store takes a lock for that).

A story's id derives from its *head*, the member with the earliest
``(date_published, key)``: the same set of reports always gets the same id. It
changes only when an earlier report of the story arrives or two stories merge, and
`Assignment.renamed` reports that so callers can update what they keep.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from crawler.dedup.fingerprint import DedupParams, Fingerprint, Fingerprinter

logger = logging.getLogger(__name__)

NO_DATE = "~"  # sorts after every ISO timestamp: undated reports are never the head


def published_key(value: datetime | str | None) -> str:
    """Sortable UTC ISO string for a publication date (naive datetimes are taken as UTC)."""
    if value is None or value == "":
        return NO_DATE
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return NO_DATE
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def hours_between(a: str, b: str) -> float | None:
    """Hours between two `published_key` values; None when either is undated."""
    if a == NO_DATE or b == NO_DATE:
        return None
    return (datetime.fromisoformat(a) - datetime.fromisoformat(b)).total_seconds() / 3600.0


EPOCH_DAYS = 16
"""The LSH index is partitioned by publication epoch: a report is looked up and
indexed in its epoch, and also in the neighbouring one when it lies within
`EPOCH_OVERLAP_HOURS` of the boundary. Every pair published within 48 h of each other
is thus compared (and the relation stays symmetric: order-independent), while index
writes and lookups touch only the recent part of the index, so their cost does not
grow with the archive."""
EPOCH_OVERLAP_HOURS = 24.0
_EPOCH_SHIFT = 47
_BASE_MASK = (1 << _EPOCH_SHIFT) - 1
_EPOCH0 = datetime(1970, 1, 1)


def _day_number(published: str) -> float:
    if published == NO_DATE:
        return 0.0
    return (datetime.fromisoformat(published) - _EPOCH0).total_seconds() / 86400.0


def epochs_for(published: str) -> list[int]:
    """The index epochs a report with this `published_key` is looked up and stored in."""
    day = _day_number(published)
    e = int(day // EPOCH_DAYS)
    out = [e]
    into = day - e * EPOCH_DAYS
    w = EPOCH_OVERLAP_HOURS / 24.0
    if into < w and e > 0:
        out.append(e - 1)
    elif EPOCH_DAYS - into < w:
        out.append(e + 1)
    return out


def epoch_keys(band_keys: Sequence[int], published: str) -> list[int]:
    """Band keys placed in the report's epochs (63-bit: 16 bits of epoch, 47 of hash)."""
    return [(e << _EPOCH_SHIFT) | (k & _BASE_MASK) for e in epochs_for(published) for k in band_keys]


def story_id_for(head: Head) -> str:
    """``s`` + the head's publication day (hex, so ids sort roughly by date and index
    inserts stay local) + a hash of its key."""
    day = int(_day_number(head.published))
    return f"s{day:05x}" + hashlib.blake2b(head.key.encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class Head:
    published: str
    key: str

    def sort(self) -> tuple[str, str]:
        return (self.published, self.key)


@dataclass
class IndexedDoc:
    doc_id: int
    key: str
    published: str
    story_id: str


class IndexStore(Protocol):
    """What the engine needs from storage. Implementations: `MemoryStore` (tests,
    pair evaluation) and `crawler.dedup.sqlstore.SqlStore` (the archive)."""

    def find(self, key: str, doc_id: int | None) -> tuple[IndexedDoc, Fingerprint] | None: ...

    def remove(self, doc: IndexedDoc, fp: Fingerprint, keys: Sequence[int]) -> None: ...

    def candidates(self, band_keys: Sequence[int], limit: int) -> list[int]: ...

    def load(self, doc_ids: Sequence[int]) -> list[tuple[IndexedDoc, Fingerprint]]: ...

    def heads(self, story_ids: Sequence[str]) -> dict[str, Head]: ...

    def add(self, key: str, published: str, story_id: str, fp: Fingerprint, doc_id: int | None,
            keys: Sequence[int], new_story: bool = False) -> int: ...

    def rename_story(self, old: str, new: str) -> None: ...

    def set_head(self, story_id: str, head: Head | None) -> None: ...

    def recompute_head(self, story_id: str) -> Head | None: ...

    def add_related(self, story_id: str, scores: dict[str, float], top: int) -> None: ...

    def prefetch(self, reports: Sequence[tuple[Sequence[int], int | None]], limit: int,
                 *, known_new: bool = False) -> None:
        """Read ahead what a batch of reports (epoch band keys, doc id) will look up."""

    def alone(self, keys: Sequence[Sequence[int]]) -> list[bool]:
        """After `prefetch` of a batch: for each report (its epoch band keys), whether
        none of its keys is held by an indexed report or by another of the batch, so
        that it can have no candidate while the batch is added (a report added
        earlier in the batch holds only keys counted here; nothing else adds keys)."""


@dataclass
class Assignment:
    story_id: str
    doc_id: int
    duplicates: int = 0
    """How many indexed reports this one was verified a near-duplicate of."""
    renamed: dict[str, str] = field(default_factory=dict)
    """Story ids that no longer exist → the id their reports now carry."""
    related: dict[str, float] = field(default_factory=dict)
    unchanged: bool = False


class StoryIndex:
    def __init__(self, store: IndexStore, params: DedupParams | None = None,
                 fingerprinter: Fingerprinter | None = None) -> None:
        self.store = store
        self.fingerprinter = fingerprinter or Fingerprinter(params)
        self.params = self.fingerprinter.params

    def add(self, key: str, *, title: str | None, body: str | None, summary: str | None = None,
            published: datetime | str | None = None, doc_id: int | None = None) -> Assignment:
        """Index one report and return its story. `key` identifies the report (the
        archive's folded URL); `doc_id` is its archive id where the store needs one.
        Call inside the store's transaction."""
        fp = self.fingerprinter.fingerprint(title=title, body=body, summary=summary)
        return self.add_fingerprint(key, fp, published_key(published), doc_id)

    def add_batch(self, reports: Sequence[tuple[str, Fingerprint, str, int | None]],
                  *, known_new: bool | Sequence[bool] = False,
                  keys: Sequence[list[int]] | None = None) -> list[Assignment]:
        """`add_fingerprint` for each (key, fingerprint, published key, doc id) in order:
        the same stories, with the store reading what the batch needs ahead in a few
        queries. `known_new`: for all reports or each; `keys`: their `epoch_keys` when
        the caller has them (computed where the fingerprints were). Call inside the
        store's transaction."""
        new = [known_new] * len(reports) if isinstance(known_new, bool) else list(known_new)
        if keys is None:
            keys = [epoch_keys(fp.band_keys, published) for _key, fp, published, _doc_id in reports]
        self.store.prefetch([(k, r[3]) for k, r in zip(keys, reports)], self.params.max_candidates,
                            known_new=all(new))
        alone = self.store.alone(keys)
        return [self.add_fingerprint(key, fp, published, doc_id, known_new=n, keys=k, alone=n and a)
                for (key, fp, published, doc_id), n, k, a in zip(reports, new, keys, alone)]

    def add_fingerprint(self, key: str, fp: Fingerprint, published: str, doc_id: int | None = None,
                        *, known_new: bool = False, keys: list[int] | None = None,
                        alone: bool = False) -> Assignment:
        """`known_new`: the caller knows the report is not indexed yet (a rebuild);
        `keys`: its `epoch_keys`, when the caller has them; `alone`: the store says no
        report holds any of them (`IndexStore.alone`), so there is no candidate to look up."""
        store, p = self.store, self.params
        renamed: dict[str, str] = {}
        found = None if known_new else store.find(key, doc_id)
        if found is not None:
            old, old_fp = found
            if old.published == published and _same(old_fp, fp):
                return Assignment(old.story_id, old.doc_id, unchanged=True)
            # a report whose text or date changed: take it out of its story (which gets
            # a new head, hence maybe a new id, when it was the head), then index it anew
            store.remove(old, old_fp, epoch_keys(old_fp.band_keys, old.published))
            rest = store.recompute_head(old.story_id)
            if rest is None:
                store.set_head(old.story_id, None)
            else:
                moved = story_id_for(rest)
                if moved != old.story_id:
                    store.rename_story(old.story_id, moved)
                    renamed[old.story_id] = moved
                store.set_head(moved, rest)

        matched: set[str] = set()
        related: dict[str, float] = {}
        dups = 0
        if keys is None:
            keys = epoch_keys(fp.band_keys, published)
        cands = [] if alone else store.candidates(keys, p.max_candidates)
        for doc, cfp in store.load(cands):
            cmp = self.fingerprinter.compare(fp, cfp, hours_between(published, doc.published))
            if cmp.duplicate:
                matched.add(doc.story_id)
                dups += 1
            elif cmp.score >= p.related_score and cmp.score > related.get(doc.story_id, 0.0):
                related[doc.story_id] = cmp.score

        head = Head(published, key)
        heads = store.heads(sorted(matched))
        for h in heads.values():
            if h.sort() < head.sort():
                head = h
        story = story_id_for(head)
        for old_id in sorted(matched):
            if old_id != story:
                store.rename_story(old_id, story)
                renamed[old_id] = story
        doc_id = store.add(key, published, story, fp, doc_id, keys, new_story=not matched)
        store.set_head(story, head)

        related = {renamed.get(s, s): v for s, v in related.items()}
        related = {s: v for s, v in related.items() if s != story}
        if related:
            store.add_related(story, related, p.related_top)
        return Assignment(story, doc_id, dups, renamed, related)


def _same(a: Fingerprint, b: Fingerprint) -> bool:
    return a.size == b.size and bool((a.shingles == b.shingles).all()) and a.figures == b.figures
