"""`IndexStore` in plain dicts: for tests, pair evaluation and one-off runs.

Not for the crawler: its memory grows with the archive. The crawler uses
`crawler.dedup.sqlstore.SqlStore`, which keeps the index in the archive.
"""

from __future__ import annotations

from collections.abc import Sequence

from crawler.dedup.engine import Head, IndexedDoc
from crawler.dedup.fingerprint import Fingerprint


class MemoryStore:
    def __init__(self) -> None:
        self.docs: dict[int, tuple[IndexedDoc, Fingerprint]] = {}
        self.by_key: dict[str, int] = {}
        self.bands: dict[int, list[int]] = {}
        self.stories: dict[str, set[int]] = {}
        self.story_heads: dict[str, Head] = {}
        self.related: dict[str, dict[str, float]] = {}
        self._next = 1

    # --- IndexStore ---------------------------------------------------------------
    def find(self, key: str, doc_id: int | None = None) -> tuple[IndexedDoc, Fingerprint] | None:
        i = self.by_key.get(key)
        return self.docs[i] if i is not None else None

    def remove(self, doc: IndexedDoc, fp: Fingerprint, keys: Sequence[int]) -> None:
        self.docs.pop(doc.doc_id)
        del self.by_key[doc.key]
        for k in keys:
            ids = self.bands.get(k)
            if ids and doc.doc_id in ids:
                ids.remove(doc.doc_id)
        self.stories[doc.story_id].discard(doc.doc_id)

    def candidates(self, band_keys: Sequence[int], limit: int) -> list[int]:
        shared: dict[int, int] = {}
        for k in band_keys:
            for i in self.bands.get(k, ()):
                shared[i] = shared.get(i, 0) + 1
        # as the SQL store: most shared keys first, then the latest
        return sorted(shared, key=lambda i: (-shared[i], -i))[:limit]

    def alone(self, keys: Sequence[Sequence[int]]) -> list[bool]:
        return [False] * len(keys)  # no shortcut: every report is looked up

    def load(self, doc_ids: Sequence[int]) -> list[tuple[IndexedDoc, Fingerprint]]:
        return [self.docs[i] for i in doc_ids]

    def heads(self, story_ids: Sequence[str]) -> dict[str, Head]:
        return {s: self.story_heads[s] for s in story_ids if s in self.story_heads}

    def add(self, key: str, published: str, story_id: str, fp: Fingerprint, doc_id: int | None,
            keys: Sequence[int], new_story: bool = False) -> int:
        i = doc_id if doc_id is not None else self._next
        self._next = max(self._next, i) + 1
        self.docs[i] = (IndexedDoc(i, key, published, story_id), fp)
        self.by_key[key] = i
        for k in keys:
            self.bands.setdefault(k, []).append(i)
        self.stories.setdefault(story_id, set()).add(i)
        return i

    def rename_story(self, old: str, new: str) -> None:
        members = self.stories.pop(old, set())
        for i in members:
            self.docs[i][0].story_id = new
        self.stories.setdefault(new, set()).update(members)
        self.story_heads.pop(old, None)
        mine = self.related.pop(old, {})
        target = self.related.setdefault(new, {})
        for s, v in mine.items():
            target[s] = max(v, target.get(s, 0.0))
        for rel in self.related.values():
            if old in rel:
                v = rel.pop(old)
                rel[new] = max(v, rel.get(new, 0.0))
        for s in (new,):
            self.related.get(s, {}).pop(s, None)

    def set_head(self, story_id: str, head: Head | None) -> None:
        if head is None:
            self.story_heads.pop(story_id, None)
            self.stories.pop(story_id, None)
            self.related.pop(story_id, None)
        else:
            self.story_heads[story_id] = head

    def recompute_head(self, story_id: str) -> Head | None:
        members = [self.docs[i][0] for i in self.stories.get(story_id, ())]
        if not members:
            return None
        first = min(members, key=lambda d: (d.published, d.key))
        return Head(first.published, first.key)

    def add_related(self, story_id: str, scores: dict[str, float], top: int) -> None:
        for a, b, v in [(story_id, s, v) for s, v in scores.items()] + [(s, story_id, v) for s, v in scores.items()]:
            rel = self.related.setdefault(a, {})
            rel[b] = max(v, rel.get(b, 0.0))
            if len(rel) > top:
                for s, _ in sorted(rel.items(), key=lambda kv: -kv[1])[top:]:
                    del rel[s]

    def prefetch(self, reports: Sequence[tuple[Sequence[int], int | None]], limit: int,
                 *, known_new: bool = False) -> None:
        """Nothing to read ahead: everything is in memory."""

    # --- reading ------------------------------------------------------------------
    def story_of(self, key: str) -> str:
        return self.docs[self.by_key[key]][0].story_id
