"""The dedup index in the archive (SQLite or PostgreSQL), and story upkeep there.

Tables (migration 100 in `crawler.archive.migrations`):

- ``dedup_band (band_key, article_id)``, primary key on both: the LSH index. A band
  key is the report's 16-day publication epoch (high 16 bits) and a 47-bit hash of
  (band number, the band's MinHash rows), so "which reports of this epoch share band
  b's hash h" is one indexed lookup on ``band_key``; a report's keys (24 whole-text
  bands and up to 14 passage keys, `crawler.dedup.fingerprint`) go in one ``IN (...)``. The epoch prefix keeps writes and lookups in the recent part of the
  B-tree: their cost does not grow with the archive.
- ``dedup_doc (article_id PK, story_id, published, key, shingles, figures)``: what
  verification needs: the distinct shingle hashes in order (4 bytes each) and the
  figures; read only for candidates.
- ``stories (story_id PK, head_published, head_key, canonical_id, size, updated_at)``.
- ``story_related (story_id, related_id, score)``: the few most similar other stories.
- ``dedup_state (name PK, value)``: the index parameters it was built with.

Nothing of the index is kept in memory: every lookup is a query, so memory stays flat
as the archive grows, and several processes or machines share one index. Additions
are serialised (SQLite: the write lock ``BEGIN IMMEDIATE`` takes; PostgreSQL: a
transaction-scoped advisory lock), which is what makes concurrent crawls produce
the stories one crawl would (see `crawler.dedup.engine`).

The archive's ``articles.story_id`` / ``is_canonical`` columns are kept in step in
the same transaction: canonical = earliest ``date_published``, ties lowest id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from itertools import chain, repeat
from typing import Any

from crawler.dedup.engine import Head, IndexedDoc
from crawler.dedup.fingerprint import DedupParams, Fingerprint, Fingerprinter

logger = logging.getLogger(__name__)

DEDUP_LOCK_KEY = 0x616B6464  # "akdd": the advisory lock serialising story assignment

INDEX_PARAMS = ("shingle_size", "bands", "rows", "lead_shingles", "lead_bands", "passage_window", "passage_keys", "seed")
"""Parameters the stored index depends on: changing one needs ``akhbar dedup --rebuild``."""


_LEGACY = {"passage_keys": 0, "passage_window": DedupParams.passage_window}
"""Index parameters an archive indexed before they existed has (no passage keys)."""


class IndexMismatch(RuntimeError):
    pass


_FLUSH_ROWS = 400  # band rows per INSERT (800 parameters: under every SQLite build's limit)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class SqlStore:
    """`IndexStore` over an open archive. Use inside ``archive.transaction()`` after
    `lock()`; `StoryIndex` does the rest."""

    def __init__(self, archive: Any, fingerprinter: Fingerprinter) -> None:
        self.archive = archive
        self.fp = fingerprinter
        self.touched: set[str] = set()
        """Stories whose membership changed in this transaction (canonical to refresh)."""
        self._fresh: dict[str, int] = {}
        """Stories created by `add` with one report, not written to ``stories`` yet."""
        self._rows: list[tuple[int, int]] = []
        """Band rows of this transaction not written yet: `flush` writes them sorted, in
        a few large statements (half the cost of one statement per report), and
        `candidates` sees them meanwhile (`_pend`, `_multi`). Bounded by one
        transaction's reports."""
        self._pend: dict[int, int] = {}
        self._multi: dict[int, list[int]] = {}

    # --- setup ----------------------------------------------------------------------
    def check_params(self, *, adopt: bool = True) -> None:
        """Record the index parameters in an empty index; refuse a mismatching one."""
        p = self.fp.params
        row = self.archive.fetchone("SELECT value FROM dedup_state WHERE name = 'params'")
        current = {k: v for k, v in asdict(p).items()}
        if row is None:
            if adopt:
                self.save_params()
            return
        stored = {**_LEGACY, **json.loads(row["value"])}
        changed = [k for k in INDEX_PARAMS if stored.get(k) != current.get(k)]
        if changed:
            raise IndexMismatch(
                f"the archive's dedup index was built with other {', '.join(changed)}: run `akhbar dedup --rebuild`"
            )
        if stored != current:
            logger.warning("dedup thresholds differ from those the stories were built with; "
                           "`akhbar dedup --rebuild` recomputes them")

    def save_params(self) -> None:
        a = self.archive
        value = json.dumps(asdict(self.fp.params), sort_keys=True)
        if not a.execute("UPDATE dedup_state SET value = ? WHERE name = 'params'", (value,)):
            a.execute("INSERT INTO dedup_state (name, value) VALUES ('params', ?)", (value,))

    def lock(self) -> None:
        """Serialise story assignment across processes (inside a transaction)."""
        if self.archive.dialect == "postgresql":
            self.archive.execute("SELECT pg_advisory_xact_lock(?)", (DEDUP_LOCK_KEY,))
        # SQLite: archive.transaction() began with BEGIN IMMEDIATE, the database write lock

    # --- IndexStore -------------------------------------------------------------------
    def _doc(self, r: dict[str, Any]) -> tuple[IndexedDoc, Fingerprint]:
        fp = Fingerprint.from_stored(r["shingles"], r["figures"])
        return IndexedDoc(r["article_id"], r["key"], r["published"], r["story_id"]), fp

    def find(self, key: str, doc_id: int | None) -> tuple[IndexedDoc, Fingerprint] | None:
        if doc_id is None:
            raise ValueError("the archive index needs the article id")
        r = self.archive.fetchone("SELECT * FROM dedup_doc WHERE article_id = ?", (doc_id,))
        if r is None:
            return None
        doc, fp = self._doc(r)
        fp.band_keys = self.fp.band_keys(fp)
        return doc, fp

    def remove(self, doc: IndexedDoc, fp: Fingerprint, keys: Sequence[int]) -> None:
        a = self.archive
        if keys:
            a.execute(f"DELETE FROM dedup_band WHERE article_id = ? AND band_key IN ({_marks(len(keys))})",
                      (doc.doc_id, *keys))
            if self._rows:
                gone = set(keys)
                self._rows = [r for r in self._rows if not (r[1] == doc.doc_id and r[0] in gone)]
                for k in gone:
                    if self._pend.get(k) == doc.doc_id:
                        del self._pend[k]
                    ids = self._multi.get(k)
                    if ids and doc.doc_id in ids:
                        ids.remove(doc.doc_id)
        a.execute("DELETE FROM dedup_doc WHERE article_id = ?", (doc.doc_id,))
        self.touched.add(doc.story_id)

    def candidates(self, band_keys: Sequence[int], limit: int) -> list[int]:
        if not band_keys:
            return []
        # most shared keys first: when a stock phrase makes a passage key common, the
        # reports sharing several keys with this one are still within the limit
        rows = self.archive.fetch(
            f"SELECT article_id FROM dedup_band WHERE band_key IN ({_marks(len(band_keys))}) "
            "GROUP BY article_id ORDER BY COUNT(*) DESC, article_id DESC LIMIT ?",
            (*band_keys, limit),
        )
        found = [r["article_id"] for r in rows]
        if self._pend:
            seen = set(found)
            for k in self._pend.keys() & set(band_keys):
                for i in self._multi.get(k) or (self._pend[k],):
                    if i not in seen:
                        seen.add(i)
                        found.append(i)
        return found[:limit]

    def load(self, doc_ids: Sequence[int]) -> list[tuple[IndexedDoc, Fingerprint]]:
        if not doc_ids:
            return []
        rows = self.archive.fetch(
            f"SELECT * FROM dedup_doc WHERE article_id IN ({_marks(len(doc_ids))})", tuple(doc_ids))
        return [self._doc(r) for r in rows]

    def heads(self, story_ids: Sequence[str]) -> dict[str, Head]:
        if not story_ids:
            return {}
        rows = self.archive.fetch(
            f"SELECT story_id, head_published, head_key FROM stories WHERE story_id IN ({_marks(len(story_ids))})",
            tuple(story_ids))
        return {r["story_id"]: Head(r["head_published"], r["head_key"]) for r in rows}

    def add(self, key: str, published: str, story_id: str, fp: Fingerprint, doc_id: int | None,
            keys: Sequence[int], new_story: bool = False) -> int:
        if doc_id is None:
            raise ValueError("the archive index needs the article id")
        a = self.archive
        a.execute(
            "INSERT INTO dedup_doc (article_id, story_id, published, key, shingles, figures) VALUES (?, ?, ?, ?, ?, ?)",
            (doc_id, story_id, published, key, fp.shingles_blob(), fp.figures_text()),
        )
        if keys:
            pend = self._pend
            for k in pend.keys() & set(keys):  # another report of this transaction has it
                self._multi.setdefault(k, [pend[k]]).append(doc_id)
            pend.update(zip(keys, repeat(doc_id)))
            self._rows.extend(zip(keys, repeat(doc_id)))
        if new_story and story_id not in self.touched:
            # the common case, a report of its own: it is its story's canonical report;
            # no canonical refresh needed (saves four statements a report)
            a.execute("UPDATE articles SET story_id = ?, is_canonical = ? WHERE id = ?",
                      (story_id, a.enc_bool(True), doc_id))
            self._fresh[story_id] = doc_id
        else:
            a.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story_id, doc_id))
            self.touched.add(story_id)
        return doc_id

    def rename_story(self, old: str, new: str) -> None:
        a = self.archive
        a.execute("UPDATE dedup_doc SET story_id = ? WHERE story_id = ?", (new, old))
        a.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (new, old))
        for col in ("story_id", "related_id"):
            a.execute(
                f"INSERT INTO story_related (story_id, related_id, score) "
                f"SELECT {'?' if col == 'story_id' else 'story_id'}, {'?' if col == 'related_id' else 'related_id'}, score "
                f"FROM story_related WHERE {col} = ? "
                "ON CONFLICT (story_id, related_id) DO UPDATE SET score = "
                "CASE WHEN excluded.score > story_related.score THEN excluded.score ELSE story_related.score END",
                (new, old),
            )
            a.execute(f"DELETE FROM story_related WHERE {col} = ?", (old,))
        a.execute("DELETE FROM story_related WHERE story_id = related_id")
        a.execute("DELETE FROM stories WHERE story_id = ?", (old,))
        self.touched.discard(old)
        self.touched.add(new)

    def set_head(self, story_id: str, head: Head | None) -> None:
        a = self.archive
        if head is None:
            a.execute("DELETE FROM stories WHERE story_id = ?", (story_id,))
            a.execute("DELETE FROM story_related WHERE story_id = ? OR related_id = ?", (story_id, story_id))
            self.touched.discard(story_id)
            return
        fresh = self._fresh.pop(story_id, None)
        if fresh is not None:
            a.execute("INSERT INTO stories (story_id, head_published, head_key, canonical_id, size) VALUES (?, ?, ?, ?, 1)",
                      (story_id, head.published, head.key, fresh))
            return
        if not a.execute("UPDATE stories SET head_published = ?, head_key = ? WHERE story_id = ?",
                         (head.published, head.key, story_id)):
            a.execute("INSERT INTO stories (story_id, head_published, head_key) VALUES (?, ?, ?)",
                      (story_id, head.published, head.key))

    def recompute_head(self, story_id: str) -> Head | None:
        r = self.archive.fetchone(
            "SELECT published, key FROM dedup_doc WHERE story_id = ? ORDER BY published, key LIMIT 1", (story_id,))
        return Head(r["published"], r["key"]) if r else None

    def add_related(self, story_id: str, scores: dict[str, float], top: int) -> None:
        a = self.archive
        for other, score in scores.items():
            for s, o in ((story_id, other), (other, story_id)):
                a.execute(
                    "INSERT INTO story_related (story_id, related_id, score) VALUES (?, ?, ?) "
                    "ON CONFLICT (story_id, related_id) DO UPDATE SET score = "
                    "CASE WHEN excluded.score > story_related.score THEN excluded.score ELSE story_related.score END",
                    (s, o, float(score)),
                )
        for s in (story_id, *scores):
            a.execute(
                "DELETE FROM story_related WHERE story_id = ? AND related_id NOT IN ("
                "SELECT related_id FROM story_related WHERE story_id = ? ORDER BY score DESC, related_id LIMIT ?)",
                (s, s, top),
            )

    # --- story upkeep in the articles table -----------------------------------------------
    def flush(self) -> None:
        """Write the pending band rows (sorted: B-tree inserts in key order)."""
        if not self._rows:
            return
        rows = sorted(self._rows)
        self._rows, self._pend, self._multi = [], {}, {}
        full = f"INSERT INTO dedup_band (band_key, article_id) VALUES {', '.join(['(?, ?)'] * _FLUSH_ROWS)} " \
               "ON CONFLICT DO NOTHING"
        for start in range(0, len(rows), _FLUSH_ROWS):
            chunk = rows[start:start + _FLUSH_ROWS]
            sql = full if len(chunk) == _FLUSH_ROWS else (
                f"INSERT INTO dedup_band (band_key, article_id) VALUES {', '.join(['(?, ?)'] * len(chunk))} "
                "ON CONFLICT DO NOTHING")
            self.archive.execute(sql, list(chain.from_iterable(chunk)))

    def discard(self) -> None:
        """Forget what this transaction had pending (it rolled back)."""
        self._rows, self._pend, self._multi = [], {}, {}
        self._fresh = {}
        self.touched = set()

    def refresh_canonical(self) -> dict[str, int]:
        """Set ``is_canonical`` (earliest date_published, ties lowest id) and the story
        size for every story touched in this transaction; story -> canonical id."""
        a = self.archive
        out: dict[str, int] = {}
        for sid in sorted(self.touched):
            row = a.fetchone(
                "SELECT id FROM articles WHERE story_id = ? "
                "ORDER BY CASE WHEN date_published IS NULL THEN 1 ELSE 0 END, date_published, id LIMIT 1",
                (sid,),
            )
            if row is None:
                continue
            cid = row["id"]
            a.execute(
                "UPDATE articles SET is_canonical = CASE WHEN id = ? THEN ? ELSE ? END "
                "WHERE story_id = ? AND (is_canonical IS NULL OR is_canonical <> CASE WHEN id = ? THEN ? ELSE ? END)",
                (cid, a.enc_bool(True), a.enc_bool(False), sid, cid, a.enc_bool(True), a.enc_bool(False)),
            )
            a.execute(
                "UPDATE stories SET canonical_id = ?, size = (SELECT COUNT(*) FROM dedup_doc WHERE story_id = ?) "
                "WHERE story_id = ?",
                (cid, sid, sid),
            )
            out[sid] = cid
        self.touched.clear()
        return out
