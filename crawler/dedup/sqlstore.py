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

Nothing of the index is kept in memory between transactions, so memory stays flat as
the archive grows, and several processes or machines share one index. Within one
(locked) transaction the store keeps what it read and wrote, and a batch reads its band
rows, candidates and story heads ahead in a few queries and writes at `flush`
(`SqlStore`): a few round trips a batch instead of five or more statements a report,
the same stories as one report at a time (tests/test_dedup_batch.py). Additions
are serialised (SQLite: the write lock ``BEGIN IMMEDIATE`` takes; PostgreSQL: a
transaction-scoped advisory lock), which is what makes concurrent crawls produce
the stories one crawl would (see `crawler.dedup.engine`).

The archive's ``articles.story_id`` / ``is_canonical`` columns are kept in step in
the same transaction: canonical = earliest ``date_published``, ties lowest id.
"""

from __future__ import annotations

import heapq
import json
import logging
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from itertools import chain, repeat
from operator import itemgetter
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


_UNNEST_ROWS = 50_000  # band rows per PostgreSQL INSERT ... unnest (two array parameters)
_IN_CHUNK = 400  # values per IN (...) list on SQLite at least; PostgreSQL takes one array


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class SqlStore:
    """`IndexStore` over an open archive. Use inside ``archive.transaction()`` after
    `lock()`; `StoryIndex` does the rest.

    Within one locked transaction the store keeps what it has read or written (band
    rows per key, indexed reports, story heads) and writes new reports, band rows,
    new stories and the articles' story ids at `flush`, in a few statements. Nobody
    else can write the index while the lock is held, so what it keeps is exactly
    what the tables hold; `lock` and `discard` forget it, so nothing outlives the
    transaction. `prefetch` reads what a batch will look up in a few queries: a
    batch then costs a handful of round trips instead of five or more a report,
    with the same answers as one report at a time."""

    def __init__(self, archive: Any, fingerprinter: Fingerprinter) -> None:
        self.archive = archive
        self.fp = fingerprinter
        self.touched: set[str] = set()
        """Stories whose membership changed in this transaction (canonical to refresh)."""
        self._fresh: dict[str, int] = {}
        """Stories created by `add` with one report, not written to ``stories`` yet."""
        self._in_chunk: int | None = None
        self._json_each = True
        """SQLite: band rows are read through ``json_each`` (False: this build has no JSON)."""
        self._reset()

    def _reset(self) -> None:
        self._row_keys: list[int] = []
        self._row_ids: list[int] = []
        """Band rows (key, report) of this transaction not written yet, as two flat
        lists: no tuple a row until `flush` writes them (zip reuses its tuple)."""
        self._bands: dict[int, list[int]] = {}
        """Band key -> the stored reports holding it; keys none holds have no entry
        (most keys of a new report: no empty list each)."""
        self._looked: set[int] = set()
        """Band keys whose stored rows are in `_bands`."""
        self._stale: list[dict[int, int]] = []
        """Pending keys (`_pend`s) written since, to drop from `_looked` (`_settle`)."""
        self._pend: dict[int, int] = {}
        """Band key -> the last report of this transaction holding it (rows unwritten);
        `_multi` lists them all where there are several. Kept in dict and set operations
        that run in C: most keys are a single report's."""
        self._multi: dict[int, list[int]] = {}
        self._docs: dict[int, tuple[IndexedDoc, Fingerprint]] = {}
        """Reports read or added in this transaction (story ids kept current on rename)."""
        self._absent: set[int] = set()
        """Article ids known not to be indexed."""
        self._by_story: dict[str, set[int]] = {}
        """Story -> the reports of `_docs` in it."""
        self._heads: dict[str, Head | None] = {}
        """Story heads read or set in this transaction; None: no such story."""
        self._new_docs: dict[int, bool] = {}
        """Reports added and not written yet -> whether they are their new story's canonical."""
        self._new_stories: dict[str, int] = {}
        """Stories created by `add`, not written yet -> their (only) report."""
        self._moved_heads: set[str] = set()
        """Stories (already stored) whose new head is not written yet."""

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
        """Serialise story assignment across processes (inside a transaction). What
        the store kept from an earlier transaction is forgotten: others may have
        written since."""
        self.discard()
        if self.archive.dialect == "postgresql":
            self.archive.execute("SELECT pg_advisory_xact_lock(?)", (DEDUP_LOCK_KEY,))
        # SQLite: archive.transaction() began with BEGIN IMMEDIATE, the database write lock

    # --- reading, through what this transaction keeps ------------------------------------
    def _in(self, column: str, values: Sequence[Any], cast: str) -> Iterator[tuple[str, list[Any]]]:
        """``column IN (...)`` conditions with their parameters, for `values`:
        PostgreSQL takes them as one array, SQLite in chunks of `_IN_CHUNK`."""
        if self.archive.dialect == "postgresql":
            yield f"{column} = ANY(?::{cast}[])", [list(values)]
            return
        n = self._chunk()
        for i in range(0, len(values), n):
            chunk = list(values[i:i + n])
            yield f"{column} IN ({_marks(len(chunk))})", chunk

    def _chunk(self) -> int:
        """Values per ``IN (...)`` on SQLite: this build's parameter limit allows (3.32+:
        32,766; older builds 999)."""
        if self._in_chunk is None:
            try:
                limit = int(self.archive._conn().getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
            except (AttributeError, sqlite3.Error):
                limit = 999
            self._in_chunk = max(_IN_CHUNK, min(limit - 8, 8000))
        return self._in_chunk

    def _keep(self, r: dict[str, Any]) -> None:
        fp = Fingerprint.from_stored(r["shingles"], r["figures"])
        doc = IndexedDoc(r["article_id"], r["key"], r["published"], r["story_id"])
        self._docs[doc.doc_id] = (doc, fp)
        self._by_story.setdefault(doc.story_id, set()).add(doc.doc_id)

    def _read_docs(self, doc_ids: Iterable[int]) -> None:
        missing = sorted({i for i in doc_ids if i not in self._docs and i not in self._absent})
        if not missing:
            return
        for cond, params in self._in("article_id", missing, "bigint"):
            for r in self.archive.fetch(f"SELECT * FROM dedup_doc WHERE {cond}", params):
                self._keep(r)
        self._absent.update(i for i in missing if i not in self._docs)

    def _read_bands(self, keys: Iterable[int], *, owned: bool = False) -> None:
        """Read the stored band rows of `keys` not read yet in this transaction.
        `owned`: `keys` is a set the caller hands over (prefetch's): the first read
        of a transaction keeps it as the looked-up keys instead of copying it."""
        if self._stale:
            self._settle()
        looked = self._looked
        if not looked and owned and isinstance(keys, set):
            missing: set[int] = keys
            self._looked = keys
        else:
            missing = set(keys) - looked
            looked.update(missing)
        if not missing:
            return
        bands = self._bands
        a = self.archive
        if a.dialect == "sqlite" and self._json_each:
            try:
                found = self._read_bands_json(missing)
            except sqlite3.OperationalError:  # a build without JSON: IN lists
                self._json_each = False
            else:
                for k, i in found:
                    ids = bands.get(k)
                    if ids is None:
                        bands[k] = [i]
                    elif i not in ids:
                        ids.append(i)
                return
        for cond, params in self._in("band_key", list(missing), "bigint"):
            sql = f"SELECT band_key, article_id FROM dedup_band WHERE {cond}"
            # SQLite: plain tuples (no dict a row); most keys of a new report hold nothing
            rows = a._conn().execute(sql, params) if a.dialect == "sqlite" else \
                ((r["band_key"], r["article_id"]) for r in a.fetch(sql, params))
            for k, i in rows:
                ids = bands.get(k)
                if ids is None:
                    bands[k] = [i]
                elif i not in ids:
                    ids.append(i)

    def _read_bands_json(self, keys: set[int]) -> list[tuple[int, int]]:
        """SQLite: the band rows of `keys` in one statement, the keys as one JSON array
        joined to the index. Cheaper than ``IN (...)`` lists (no parameter a key, no
        temporary B-tree SQLite builds of an IN list's values) and, the keys sorted,
        the index seeks go in key order (neighbouring pages)."""
        return self.archive._conn().execute(
            "SELECT b.band_key, b.article_id FROM json_each(?) AS j "
            "JOIN dedup_band AS b ON b.band_key = j.value", (json.dumps(sorted(keys)),)).fetchall()

    def _settle(self) -> None:
        """Forget that the band keys written at the last `_write` were looked up (their
        rows now include this transaction's: a later lookup reads them again). Done
        lazily: a stream's transaction ends at its write, and nothing looks again."""
        for pend in self._stale:
            self._looked.difference_update(pend.keys())
        self._stale = []

    def _read_heads(self, story_ids: Iterable[str]) -> None:
        missing = sorted({s for s in story_ids if s not in self._heads})
        if not missing:
            return
        for s in missing:
            self._heads[s] = None
        for cond, params in self._in("story_id", missing, "text"):
            for r in self.archive.fetch(
                    f"SELECT story_id, head_published, head_key FROM stories WHERE {cond}", params):
                self._heads[r["story_id"]] = Head(r["head_published"], r["head_key"])

    def prefetch(self, reports: Sequence[tuple[Sequence[int], int | None]], limit: int,
                 *, known_new: bool = False) -> None:
        """Read what a batch of reports (their epoch band keys, their article ids) will
        look up: its band rows, the reports its candidates name, their stories' heads,
        and (unless `known_new`) the batch's own index entries. Reports the batch adds
        can only push stored candidates out of a report's first `limit`, never bring
        others in: the candidates read here are all the stored ones it will load."""
        if not known_new:
            self._read_docs(i for _, i in reports if i is not None)
        every: set[int] = set().union(*(keys for keys, _ in reports))
        self._read_bands(every, owned=True)
        bands, pend, multi = self._bands, self._pend, self._multi
        wanted = {i for k in every & bands.keys() for i in bands[k]}
        wanted.update(i for k in every & pend.keys() for i in multi.get(k) or (pend[k],))
        if len(wanted) > limit:  # common keys: only each report's first `limit`
            wanted = set()
            for keys, _ in reports:
                wanted.update(self.candidates(keys, limit))
        self._read_docs(wanted)
        self._read_heads(self._docs[i][0].story_id for i in wanted if i in self._docs)

    def alone(self, keys: Sequence[Sequence[int]]) -> list[bool]:
        """See `IndexStore.alone`: a key counts as held when stored (`prefetch` read
        every key of the batch), pending in this transaction, or in two reports of
        the batch (or twice in one: never alone then, the full path decides)."""
        count = Counter(chain.from_iterable(keys))
        taken = {k for k, n in count.items() if n > 1}
        taken.update(self._bands.keys() & count.keys(), self._pend.keys() & count.keys())
        return [taken.isdisjoint(ks) for ks in keys]

    # --- IndexStore -------------------------------------------------------------------
    def find(self, key: str, doc_id: int | None) -> tuple[IndexedDoc, Fingerprint] | None:
        if doc_id is None:
            raise ValueError("the archive index needs the article id")
        self._read_docs((doc_id,))
        found = self._docs.get(doc_id)
        if found is None:
            return None
        found[1].band_keys = self.fp.band_keys(found[1])
        return found

    def remove(self, doc: IndexedDoc, fp: Fingerprint, keys: Sequence[int]) -> None:
        i = doc.doc_id
        if i in self._new_docs:  # added earlier in this transaction: never written
            del self._new_docs[i]
            kept = [(k, d) for k, d in zip(self._row_keys, self._row_ids) if d != i]
            self._row_keys, self._row_ids = [k for k, _ in kept], [d for _, d in kept]
            for k in set(keys):
                ids = self._multi.get(k)
                if ids and i in ids:
                    ids.remove(i)
                    if self._pend.get(k) == i:
                        self._pend[k] = ids[-1]
                elif self._pend.get(k) == i:
                    del self._pend[k]
        else:
            a = self.archive
            if keys:
                a.execute(f"DELETE FROM dedup_band WHERE article_id = ? AND band_key IN ({_marks(len(keys))})",
                          (i, *keys))
            a.execute("DELETE FROM dedup_doc WHERE article_id = ?", (i,))
        for k in keys:
            ids = self._bands.get(k)
            if ids is not None and i in ids:
                ids.remove(i)
        self._docs.pop(i, None)
        self._absent.add(i)
        self._by_story.get(doc.story_id, set()).discard(i)
        self.touched.add(doc.story_id)

    def candidates(self, band_keys: Sequence[int], limit: int) -> list[int]:
        if not band_keys:
            return []
        keys = set(band_keys)  # a key twice counts once, as in SQL's IN (...)
        if self._stale:
            self._settle()
        if not self._looked.issuperset(keys):
            self._read_bands(keys)
        bands, pend = self._bands, self._pend
        shared: dict[int, int] = {}
        for k in keys & bands.keys():
            for i in bands[k]:
                shared[i] = shared.get(i, 0) + 1
        if pend:
            multi = self._multi
            for k in keys & pend.keys():
                for i in multi.get(k) or (pend[k],):
                    shared[i] = shared.get(i, 0) + 1
        # most shared keys first (when a stock phrase makes a passage key common, the
        # reports sharing several keys with this one are still within the limit), then
        # the latest: one order for stored and pending reports alike
        if len(shared) <= limit:
            return sorted(shared, key=lambda i: (-shared[i], -i))
        return heapq.nsmallest(limit, shared, key=lambda i: (-shared[i], -i))

    def load(self, doc_ids: Sequence[int]) -> list[tuple[IndexedDoc, Fingerprint]]:
        if not doc_ids:
            return []
        self._read_docs(doc_ids)
        docs = self._docs
        return [docs[i] for i in doc_ids if i in docs]

    def heads(self, story_ids: Sequence[str]) -> dict[str, Head]:
        if not story_ids:
            return {}
        self._read_heads(story_ids)
        out: dict[str, Head] = {}
        for s in story_ids:
            h = self._heads.get(s)
            if h is not None:
                out[s] = h
        return out

    def add(self, key: str, published: str, story_id: str, fp: Fingerprint, doc_id: int | None,
            keys: Sequence[int], new_story: bool = False) -> int:
        if doc_id is None:
            raise ValueError("the archive index needs the article id")
        self._docs[doc_id] = (IndexedDoc(doc_id, key, published, story_id), fp)
        self._absent.discard(doc_id)
        self._by_story.setdefault(story_id, set()).add(doc_id)
        if keys:
            pend = self._pend
            for k in pend.keys() & keys:  # another report of this transaction has it
                self._multi.setdefault(k, [pend[k]]).append(doc_id)
            pend.update(zip(keys, repeat(doc_id)))
            self._row_keys.extend(keys)
            self._row_ids.extend([doc_id] * len(keys))
        if new_story and story_id not in self.touched:
            # the common case, a report of its own: it is its story's canonical report;
            # no canonical refresh needed
            self._new_docs[doc_id] = True
            self._fresh[story_id] = doc_id
        else:
            self._new_docs[doc_id] = False
            self.touched.add(story_id)
        return doc_id

    def rename_story(self, old: str, new: str) -> None:
        a = self.archive
        moved = self._by_story.pop(old, set())
        for i in moved:  # pending reports are written with their story at flush
            self._docs[i][0].story_id = new
        if moved:
            self._by_story.setdefault(new, set()).update(moved)
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
        if self._new_stories.pop(old, None) is None:
            a.execute("DELETE FROM stories WHERE story_id = ?", (old,))
        self._moved_heads.discard(old)
        self._heads[old] = None
        self.touched.discard(old)
        self.touched.add(new)

    def set_head(self, story_id: str, head: Head | None) -> None:
        if head is None:
            a = self.archive
            if self._new_stories.pop(story_id, None) is None:
                a.execute("DELETE FROM stories WHERE story_id = ?", (story_id,))
            a.execute("DELETE FROM story_related WHERE story_id = ? OR related_id = ?", (story_id, story_id))
            self._moved_heads.discard(story_id)
            self._heads[story_id] = None
            self.touched.discard(story_id)
            return
        self._heads[story_id] = head
        fresh = self._fresh.pop(story_id, None)
        if fresh is not None:
            self._new_stories[story_id] = fresh
        elif story_id not in self._new_stories:
            self._moved_heads.add(story_id)

    def recompute_head(self, story_id: str) -> Head | None:
        self._write()  # the story's reports added in this transaction count too
        r = self.archive.fetchone(
            "SELECT published, key FROM dedup_doc WHERE story_id = ? ORDER BY published, key LIMIT 1", (story_id,))
        return Head(r["published"], r["key"]) if r else None

    def add_related(self, story_id: str, scores: dict[str, float], top: int) -> None:
        rows: list[tuple[str, str, float]] = []
        for other, score in scores.items():
            rows += [(story_id, other, float(score)), (other, story_id, float(score))]
        self._many(
            "INSERT INTO story_related (story_id, related_id, score) VALUES (?, ?, ?) "
            "ON CONFLICT (story_id, related_id) DO UPDATE SET score = "
            "CASE WHEN excluded.score > story_related.score THEN excluded.score ELSE story_related.score END",
            rows)
        self._many(
            "DELETE FROM story_related WHERE story_id = ? AND related_id NOT IN ("
            "SELECT related_id FROM story_related WHERE story_id = ? ORDER BY score DESC, related_id LIMIT ?)",
            [(s, s, top) for s in (story_id, *scores)])

    # --- writing ------------------------------------------------------------------------
    def _many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """One statement over many parameter rows (PostgreSQL: pipelined, one round trip)."""
        if len(rows) == 1:
            self.archive.execute(sql, rows[0])
        else:
            self.archive.execute_many(sql, rows)

    def _write(self) -> None:
        """Write what this transaction added and has not written: reports, band rows
        (sorted: B-tree inserts in key order), new stories, moved heads, the articles'
        story ids. What the store keeps stays valid (it is now what the tables hold)."""
        a = self.archive
        if self._new_docs and a.dialect == "postgresql":
            self._write_docs_pg()
        if self._new_docs:
            docs = self._docs
            new = [docs[i] for i in self._new_docs]
            self._many("INSERT INTO dedup_doc (article_id, story_id, published, key, shingles, figures) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       [(d.doc_id, d.story_id, d.published, d.key, fp.shingles_blob(), fp.figures_text())
                        for d, fp in new])
            canon = a.enc_bool(True)
            self._many("UPDATE articles SET story_id = ?, is_canonical = ? WHERE id = ?",
                       [(docs[i][0].story_id, canon, i) for i, c in self._new_docs.items() if c])
            self._many("UPDATE articles SET story_id = ? WHERE id = ?",
                       [(docs[i][0].story_id, i) for i, c in self._new_docs.items() if not c])
            self._new_docs = {}
        if self._row_keys:
            keys, ids = self._row_keys, self._row_ids
            # stored now: a later lookup of these keys in this transaction reads them again
            if self._looked:
                self._stale.append(self._pend)
            self._row_keys, self._row_ids, self._pend, self._multi = [], [], {}, {}
            self._write_bands(keys, ids)
        heads = self._heads
        if self._new_stories:
            rows3 = []
            for sid, cid in self._new_stories.items():
                h = heads[sid]
                assert h is not None
                rows3.append((sid, h.published, h.key, cid))
            self._new_stories = {}
            self._many("INSERT INTO stories (story_id, head_published, head_key, canonical_id, size) "
                       "VALUES (?, ?, ?, ?, 1)", rows3)
        if self._moved_heads:
            rows4 = []
            for sid in sorted(self._moved_heads):
                h = heads[sid]
                assert h is not None
                rows4.append((sid, h.published, h.key))
            self._moved_heads = set()
            self._many("INSERT INTO stories (story_id, head_published, head_key) VALUES (?, ?, ?) "
                       "ON CONFLICT (story_id) DO UPDATE SET head_published = excluded.head_published, "
                       "head_key = excluded.head_key", rows4)

    def _write_docs_pg(self) -> None:
        """PostgreSQL: the new reports by COPY, their articles' story ids in one UPDATE."""
        docs, new = self._docs, self._new_docs
        self._new_docs = {}
        conn = self.archive._conn()
        with conn.cursor() as cur:
            with cur.copy("COPY dedup_doc (article_id, story_id, published, key, shingles, figures) FROM STDIN") as cp:
                for i in new:
                    d, fp = docs[i]
                    cp.write_row((d.doc_id, d.story_id, d.published, d.key, fp.shingles_blob(), fp.figures_text()))
        ids = list(new)
        self.archive.execute(
            "UPDATE articles AS a SET story_id = v.story_id, "
            "is_canonical = CASE WHEN v.canon THEN TRUE ELSE a.is_canonical END "
            "FROM unnest(?::bigint[], ?::text[], ?::boolean[]) AS v(id, story_id, canon) WHERE a.id = v.id",
            (ids, [docs[i][0].story_id for i in ids], [new[i] for i in ids]))

    def _write_bands(self, keys: list[int], ids: list[int]) -> None:
        a = self.archive
        if a.dialect == "postgresql":
            # COPY: 4-8x an INSERT of the same rows. A report's band rows can only be
            # stored already when the index is inconsistent (rows left without their
            # report); then the savepoint is rolled back and the rows inserted past
            # the conflict, as before
            import psycopg

            rows = sorted(set(zip(keys, ids)), key=itemgetter(0))  # B-tree inserts in key order
            a.execute("SAVEPOINT dedup_band_copy")
            try:
                with a._conn().cursor() as cur:
                    with cur.copy("COPY dedup_band (band_key, article_id) FROM STDIN") as cp:
                        for row in rows:
                            cp.write_row(row)
                a.execute("RELEASE SAVEPOINT dedup_band_copy")
                return
            except psycopg.errors.UniqueViolation:
                a.execute("ROLLBACK TO SAVEPOINT dedup_band_copy")
                logger.warning("dedup: band rows already stored for a report being indexed; inserting past them")
            # two arrays: the statement is parsed once, not a placeholder per value
            for start in range(0, len(rows), _UNNEST_ROWS):
                chunk = rows[start:start + _UNNEST_ROWS]
                a.execute("INSERT INTO dedup_band (band_key, article_id) "
                          "SELECT * FROM unnest(?::bigint[], ?::bigint[]) ON CONFLICT DO NOTHING",
                          ([k for k, _ in chunk], [i for _, i in chunk]))
            return
        a._conn().executemany("INSERT INTO dedup_band (band_key, article_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                              zip(keys, ids))

    def flush(self) -> None:
        """Write everything this transaction has pending."""
        self._write()

    def discard(self) -> None:
        """Forget what this transaction had pending and what it read (it rolled back,
        or a new one begins)."""
        self._reset()
        self._fresh = {}
        self.touched = set()

    def refresh_canonical(self) -> dict[str, int]:
        """Set ``is_canonical`` (earliest date_published, ties lowest id) and the story
        size for every story touched in this transaction; story -> canonical id."""
        self._write()
        a = self.archive
        out: dict[str, int] = {}
        touched = sorted(self.touched)
        if not touched:
            return out
        sizes: dict[str, int] = {}
        for cond, params in self._in("story_id", touched, "text"):
            # the first member of each story in canonical order, in one query
            for r in a.fetch(
                    "SELECT story_id, id FROM (SELECT story_id, id, ROW_NUMBER() OVER (PARTITION BY story_id "
                    "ORDER BY CASE WHEN date_published IS NULL THEN 1 ELSE 0 END, date_published, id) AS rn "
                    f"FROM articles WHERE {cond}) AS ranked WHERE rn = 1", params):
                out[r["story_id"]] = r["id"]
            for r in a.fetch(f"SELECT story_id, COUNT(*) AS n FROM dedup_doc WHERE {cond} GROUP BY story_id",
                             params):
                sizes[r["story_id"]] = int(r["n"])
        yes, no = a.enc_bool(True), a.enc_bool(False)
        ordered = sorted(out.items())
        self._many(
            "UPDATE articles SET is_canonical = CASE WHEN id = ? THEN ? ELSE ? END "
            "WHERE story_id = ? AND (is_canonical IS NULL OR is_canonical <> CASE WHEN id = ? THEN ? ELSE ? END)",
            [(cid, yes, no, sid, cid, yes, no) for sid, cid in ordered])
        self._many("UPDATE stories SET canonical_id = ?, size = ? WHERE story_id = ?",
                   [(cid, sizes.get(sid, 0), sid) for sid, cid in ordered])
        self.touched.clear()
        return out
