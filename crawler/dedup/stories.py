"""Stories in the archive: assign, rebuild, and read (members, related stories).

What the pipeline, ``akhbar dedup`` and the API/feeds call:

- `ArchiveDedup(archive).assign(article_id)`: give one archived article its story
  (one transaction, serialised across processes), keeping ``articles.story_id`` and
  ``is_canonical`` in step.
- `ArchiveDedup(archive).index_missing()`: every archived article without a story.
- `rebuild(archive)`: forget all stories and recompute them in one streaming pass.
- `story_members(archive, story_id)`: the canonical report first, then the others
  ("also reported by", with source and link).
- `related_stories(archive, story_id)`: the few most similar other stories.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from crawler.dedup.engine import Assignment, StoryIndex, epoch_keys, published_key
from crawler.dedup.fingerprint import DedupParams, Fingerprint, Fingerprinter, StoredFingerprint
from crawler.dedup.sqlstore import INDEX_PARAMS, SqlStore

logger = logging.getLogger(__name__)

_ARTICLE_COLUMNS = "id, url_key, title, body_text, summary, date_published, sort_key"
_KEY_COLUMNS = "id, url_key, sort_key"
_TEXT_COLUMNS = "id, title, body_text, summary, date_published"
BATCH = 500
PER_TRANSACTION = 8000
"""Rows a streaming pass (rebuild, backfill) indexes per transaction: each commit
writes the index pages it dirtied, and a larger transaction dirties fewer pages per
report (its band rows share leaf pages: the current epoch's band index is dirtied
nearly whole by 2,000 reports' random keys). 8,000 rather than 2,000: 8 % less serial
CPU a report at 50k (docs/benchmarks.md, 2026-12-03 fifth session), for some 50 MB
more held in a transaction and the write lock held a few seconds. The stories do not
depend on it."""


def ensure_schema(archive: Any) -> None:
    """Apply the dedup migration to an archive opened before this module was imported."""
    if getattr(archive, "_dedup_schema_ok", False):
        return
    if 100 not in archive.applied_migrations():
        archive.migrate()
    archive._dedup_schema_ok = True


@dataclass
class StoryResult:
    article_id: int
    story_id: str
    is_canonical: bool
    duplicates: int
    renamed: dict[str, str]


class ArchiveDedup:
    """Story assignment against one archive (one per process; cheap to build)."""

    def __init__(self, archive: Any, params: DedupParams | None = None, *, check: bool = True) -> None:
        """`params` None: those the archive's stories were built with (recorded by the
        first run or the last ``--rebuild``), else the defaults."""
        ensure_schema(archive)
        self.archive = archive
        if params is None:
            params = stored_params(archive) or DedupParams()
        self.fingerprinter = Fingerprinter(params)
        self.store = SqlStore(archive, self.fingerprinter)
        self.index = StoryIndex(self.store, fingerprinter=self.fingerprinter)
        if check:
            with archive.transaction():
                self.store.lock()
                self.store.check_params()

    def _add(self, row: dict[str, Any], *, known_new: bool = False) -> Assignment:
        return self.index.add_fingerprint(*self._report(row), known_new=known_new)

    def _report(self, row: dict[str, Any], fp: Fingerprint | None = None) -> tuple[str, Fingerprint, str, int]:
        if fp is None:
            fp = self.fingerprinter.fingerprint(title=row.get("title"), body=row.get("body_text"),
                                                summary=row.get("summary"))
        return row["url_key"], fp, published_key(row.get("date_published")), int(row["id"])

    def assign(self, article_id: int) -> StoryResult | None:
        """Give one archived article its story; None when there is no such article."""
        a = self.archive
        try:
            with a.transaction():
                self.store.lock()
                row = a.fetchone(f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id = ?", (int(article_id),))
                if row is None:
                    return None
                res = self._add(row)
                self.store.flush()
                canon = self.store.refresh_canonical()
                cid = canon.get(res.story_id)
                if cid is None:  # unchanged or a new story of its own: read it back
                    cid = a.fetchval("SELECT canonical_id FROM stories WHERE story_id = ?", (res.story_id,))
        except BaseException:
            self.store.discard()
            raise
        return StoryResult(int(article_id), res.story_id, cid == int(article_id), res.duplicates, res.renamed)

    def assign_many(self, article_ids: list[int], *, new: Collection[int] = ()) -> list[StoryResult | None]:
        """`assign` for several archived articles, in order, in one transaction (the
        caller's when one is open: the crawl's batch writes its articles and their
        stories together). Each result carries its story and canonical flag as they
        stand once the whole batch is assigned (a later report of the batch may have
        renamed a story or become its canonical); None for an id with no article.
        `new`: ids the caller has just inserted (not indexed yet: no lookup)."""
        if not article_ids:
            return []
        a = self.archive
        ids = [int(i) for i in article_ids]
        distinct = sorted(set(ids))
        try:
            with a.transaction():
                self.store.lock()
                rows = {r["id"]: r for r in a.fetch(
                    f"SELECT {_ARTICLE_COLUMNS} FROM articles WHERE id IN ({', '.join('?' * len(distinct))})",
                    distinct)}
                present = [aid for aid in ids if aid in rows]
                # an id twice in the batch: the second finds the first indexed
                fresh, earlier = [], set()
                for aid in present:
                    fresh.append(aid in new and aid not in earlier)
                    earlier.add(aid)
                results = self.index.add_batch([self._report(rows[aid]) for aid in present], known_new=fresh)
                assigned: dict[int, Assignment] = dict(zip(present, results))
                self.store.flush()
                self.store.refresh_canonical()
                final = {r["id"]: r for r in a.fetch(
                    f"SELECT id, story_id, is_canonical FROM articles WHERE id IN ({', '.join('?' * len(distinct))})",
                    distinct)}
        except BaseException:
            self.store.discard()
            raise
        out: list[StoryResult | None] = []
        for aid in ids:
            res, row = assigned.get(aid), final.get(aid)
            if res is None or row is None:
                out.append(None)
                continue
            out.append(StoryResult(aid, row["story_id"], bool(row["is_canonical"]), res.duplicates, res.renamed))
        return out

    def add_rows(self, rows: list[dict[str, Any]], fps: list[Fingerprint] | None = None,
                 *, known_new: bool = False) -> int:
        """Index several article rows in one transaction (bulk paths); `fps`: their
        fingerprints when already computed (by `FingerprintPool`); `known_new`: none
        of them is indexed yet (a rebuild, or articles without a story)."""
        if not rows:
            return 0
        return self._add_reports([self._report(row, None if fps is None else fps[i]) for i, row in enumerate(rows)],
                                 known_new=known_new and fps is not None)

    def _add_reports(self, reports: list[tuple[str, Fingerprint, str, int]], *, known_new: bool = False,
                     keys: list[list[int]] | None = None) -> int:
        """Index (url key, fingerprint, published key, article id) reports in one
        transaction; `keys`: their epoch band keys when already computed."""
        try:
            with self.archive.transaction():
                self.store.lock()
                self.index.add_batch(reports, known_new=known_new, keys=keys)
                self.store.flush()
                self.store.refresh_canonical()
        except BaseException:
            self.store.discard()
            raise
        return len(reports)

    def add_stream(self, batches: Iterator[list[dict[str, Any]]], *, workers: int | None = None,
                   known_new: bool = False, progress: Callable[[int], None] | None = None,
                   per_transaction: int = PER_TRANSACTION) -> int:
        """Index a stream of row batches: fingerprints are computed by `workers`
        processes (default: one per core; 0: in this process) while this one does
        the lookups and writes, which must stay serial; batches are joined into
        transactions of at least `per_transaction` rows. Rows without their texts
        (``iter_article_rows(texts=False)``) have them read by id where they are
        fingerprinted: by the workers, from the archive, when it is shared."""
        done = 0
        reports: list[tuple[str, Fingerprint, str, int]] = []
        keys: list[list[int]] = []
        with FingerprintPool(self.fingerprinter.params, workers, archive=self.archive) as pool:
            for batch in pool.map(batches):
                # only what the index needs is kept for the transaction (memory stays a
                # batch of texts, not 2,000 of them)
                reports += batch.reports
                keys += batch.keys
                if len(reports) >= per_transaction:
                    done += self._add_reports(reports, known_new=known_new, keys=keys)
                    reports, keys = [], []
                    if progress:
                        progress(done)
            if reports:
                done += self._add_reports(reports, known_new=known_new, keys=keys)
                if progress:
                    progress(done)
        return done

    def index_missing(self, *, batch: int = BATCH, workers: int | None = 0,
                      progress: Callable[[int], None] | None = None) -> int:
        """Assign a story to every archived article that has none (a crawl whose dedup
        step was off or interrupted), in date order; returns how many."""
        if not self.archive.fetchval("SELECT 1 FROM articles WHERE story_id IS NULL LIMIT 1"):
            return 0
        return self.add_stream(iter_article_rows(self.archive, batch=batch, where="story_id IS NULL",
                                                 texts=workers == 0),
                               workers=workers, progress=progress)


def stored_params(archive: Any, *, index: bool = True) -> DedupParams | None:
    """The parameters recorded in the archive's dedup index, if any. `index` False:
    the recorded thresholds with this version's index parameters (what a rebuild,
    which recomputes the index, should use)."""
    import json

    ensure_schema(archive)
    value = archive.fetchval("SELECT value FROM dedup_state WHERE name = 'params'")
    if not value:
        return None
    known = {k: v for k, v in json.loads(value).items() if k in DedupParams.__dataclass_fields__}
    if not index:
        known = {k: v for k, v in known.items() if k not in INDEX_PARAMS}
    elif "passage_keys" not in known:
        # an index built before passage keys has none: it keeps working as it was (whole
        # text and lead bands; the passage rule only sees what those find) until rebuilt
        logger.warning("the archive's dedup index has no passage keys: `akhbar dedup --rebuild` "
                       "lets it find partial rewrites (lead swapped, tail replaced)")
        known["passage_keys"] = 0
    return DedupParams(**known)


def iter_article_rows(archive: Any, *, batch: int = BATCH, where: str | None = None,
                      texts: bool = True) -> Iterator[list[dict[str, Any]]]:
    """Every article (matching `where`, fixed SQL), in date order (``sort_key``), as
    batches fetched by keyset pagination: no read snapshot stays open for the whole
    pass, and memory holds one batch. `texts` False: only ``id, url_key, sort_key``
    (`ArchiveDedup.add_stream`'s workers read the rest themselves)."""
    last = None
    cond = f" AND ({where})" if where else ""
    columns = _ARTICLE_COLUMNS if texts else _KEY_COLUMNS
    while True:
        if last is None:
            rows = archive.fetch(
                f"SELECT {columns} FROM articles WHERE 1 = 1{cond} ORDER BY sort_key LIMIT ?", (batch,))
        else:
            rows = archive.fetch(
                f"SELECT {columns} FROM articles WHERE sort_key > ?{cond} ORDER BY sort_key LIMIT ?",
                (last, batch))
        if not rows:
            return
        yield rows
        last = rows[-1]["sort_key"]


# --- fingerprints in worker processes ------------------------------------------------------

_worker_fp: Fingerprinter | None = None
_worker_url: str | None = None
_worker_archive: Any = None

_Texts = tuple[Any, Any, Any, Any]
"""title, body, summary, date_published of one article."""


def _init_worker(params: DedupParams, url: str | None = None) -> None:
    global _worker_fp, _worker_url, _worker_archive
    _worker_fp = Fingerprinter(params)
    _worker_url, _worker_archive = url, None


def _texts_by_id(archive: Any, ids: list[int]) -> list[_Texts]:
    """The texts of these articles, in order (an article gone since: no text)."""
    found: dict[int, _Texts] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for r in archive.fetch(f"SELECT {_TEXT_COLUMNS} FROM articles WHERE id IN ({', '.join('?' * len(chunk))})",
                               chunk):
            found[r["id"]] = (r["title"], r["body_text"], r["summary"], r["date_published"])
    return [found.get(i, (None, None, None, None)) for i in ids]


def _pack(fingerprinter: Fingerprinter, texts: list[_Texts]) -> tuple[str, bytes, bytes, str, bytes, bytes]:
    """Fingerprints, published keys and epoch band keys of a batch, packed in a few
    flat strings and arrays (what goes back to the indexing process: cheap to pickle
    and unpickle, unlike a tuple of Python objects a report)."""
    from array import array

    pubs: list[str] = []
    blobs: list[bytes] = []
    sizes = array("I")
    figs: list[str] = []
    keys = array("q")
    counts = array("I")
    for title, body, summary, date in texts:
        fp = fingerprinter.fingerprint(title=title, body=body, summary=summary)
        published = published_key(date)
        ek = epoch_keys(fp.band_keys, published)
        pubs.append(published)
        blobs.append(fp.shingles_blob())
        sizes.append(fp.size)
        figs.append(fp.figures_text())
        keys.extend(ek)
        counts.append(len(ek))
    return "\n".join(pubs), b"".join(blobs), sizes.tobytes(), "\n".join(figs), keys.tobytes(), counts.tobytes()


def _unpack(packed: tuple[str, bytes, bytes, str, bytes, bytes]) -> tuple[list[str], list[Fingerprint], list[list[int]]]:
    from array import array

    pub_text, blob, size_bytes, fig_text, key_bytes, count_bytes = packed
    sizes, counts = array("I"), array("I")
    sizes.frombytes(size_bytes)
    counts.frombytes(count_bytes)
    if not sizes:
        return [], [], []
    flat = array("q")
    flat.frombytes(key_bytes)
    all_keys = flat.tolist()
    fps: list[Fingerprint] = []
    keys: list[list[int]] = []
    at = k = 0
    for size, count, figs in zip(sizes, counts, fig_text.split("\n")):
        end = at + 4 * size
        fps.append(StoredFingerprint(blob[at:end], figs))
        keys.append(all_keys[k:k + count])
        at, k = end, k + count
    return pub_text.split("\n"), fps, keys


def _fingerprint_batch(texts: list[_Texts] | None, ids: list[int]) -> tuple[str, bytes, bytes, str, bytes, bytes]:
    """In a worker: `texts`, or when None those of `ids` read from the archive."""
    global _worker_archive
    assert _worker_fp is not None
    if texts is None:
        if _worker_archive is None:
            from crawler.archive import open_archive

            _worker_archive = open_archive(_worker_url, migrate=False)
        texts = _texts_by_id(_worker_archive, ids)
    return _pack(_worker_fp, texts)


@dataclass
class Fingerprinted:
    """A batch's reports (url key, fingerprint, published key, article id) and their
    epoch band keys, in input order."""

    reports: list[tuple[str, Fingerprint, str, int]]
    keys: list[list[int]]


def _shared_url(archive: Any) -> str | None:
    """The archive's URL when another process can open it (not an in-memory SQLite)."""
    if archive is None:
        return None
    if archive.dialect == "sqlite":
        path = str(getattr(archive, "path", ""))
        return archive.url if path and path != ":memory:" and not path.startswith("file::memory:") else None
    return str(archive.url)


class FingerprintPool:
    """Fingerprints row batches in worker processes, results in input order, a bounded
    number of batches in flight (memory stays flat). Rows without texts (no
    ``body_text`` key) have them read by id: by the workers from `archive` when it is
    shared, else here."""

    def __init__(self, params: DedupParams, workers: int | None = None, *, archive: Any = None) -> None:
        import os

        self.params = params
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.archive = archive
        self._url = _shared_url(archive)
        self._pool: Any = None
        self._local = Fingerprinter(params) if self.workers <= 0 else None

    def __enter__(self) -> FingerprintPool:
        if self.workers > 0:
            import multiprocessing as mp

            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            self._pool = ctx.Pool(self.workers, initializer=_init_worker, initargs=(self.params, self._url))
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()

    def _texts(self, rows: list[dict[str, Any]]) -> list[_Texts]:
        if rows and "body_text" not in rows[0]:
            if self.archive is None:
                raise ValueError("rows without their texts need the archive to read them from")
            return _texts_by_id(self.archive, [int(r["id"]) for r in rows])
        return [(r.get("title"), r.get("body_text"), r.get("summary"), r.get("date_published")) for r in rows]

    def map(self, batches: Iterator[list[dict[str, Any]]]) -> Iterator[Fingerprinted]:
        from collections import deque

        if self._pool is None:
            assert self._local is not None
            for rows in batches:
                reports, keys = [], []
                for r, (title, body, summary, date) in zip(rows, self._texts(rows)):
                    fp = self._local.fingerprint(title=title, body=body, summary=summary)
                    published = published_key(date)
                    reports.append((r["url_key"], fp, published, int(r["id"])))
                    keys.append(epoch_keys(fp.band_keys, published))
                yield Fingerprinted(reports, keys)
            return
        pending: deque[tuple[list[dict[str, Any]], Any]] = deque()
        limit = 2 * self.workers + 1
        for rows in batches:
            if rows and "body_text" not in rows[0] and self._url is not None:
                task: tuple[list[_Texts] | None, list[int]] = (None, [int(r["id"]) for r in rows])
            else:
                task = (self._texts(rows), [])
            pending.append((rows, self._pool.apply_async(_fingerprint_batch, task)))
            while len(pending) >= limit:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    @staticmethod
    def _collect(rows: list[dict[str, Any]], result: Any) -> Fingerprinted:
        pubs, fps, keys = _unpack(result.get())
        reports = [(r["url_key"], fp, published, int(r["id"])) for r, fp, published in zip(rows, fps, pubs)]
        return Fingerprinted(reports, keys)


def clear(archive: Any) -> None:
    """Forget every story (the articles stay)."""
    ensure_schema(archive)
    with archive.transaction():
        SqlStore(archive, Fingerprinter()).lock()
        for table in ("dedup_band", "dedup_doc", "stories", "story_related", "dedup_state"):
            archive.execute(f"DELETE FROM {table}")
        archive.execute("UPDATE articles SET story_id = NULL, is_canonical = NULL "
                        "WHERE story_id IS NOT NULL OR is_canonical IS NOT NULL")


def rebuild(archive: Any, params: DedupParams | None = None, *, batch: int = BATCH, workers: int | None = None,
            progress: Callable[[int, float], None] | None = None) -> int:
    """Recompute every story in one streaming pass (after a threshold change, say);
    returns the number of articles indexed. Without `params`: the recorded thresholds
    and this version's index parameters. Fingerprints are computed by `workers`
    processes (default one per core), lookups and writes in this one."""
    params = params or stored_params(archive, index=False) or DedupParams()
    clear(archive)
    dedup = ArchiveDedup(archive, params)
    with archive.transaction():
        dedup.store.save_params()
    t0 = time.perf_counter()
    n = dedup.add_stream(iter_article_rows(archive, batch=batch, texts=workers == 0), workers=workers, known_new=True,
                         progress=(lambda k: progress(k, time.perf_counter() - t0)) if progress else None)
    logger.info("dedup rebuild: %d articles in %.1fs", n, time.perf_counter() - t0)
    return n


# --- reading ---------------------------------------------------------------------------

_MEMBER_COLUMNS = "id, url, canonical_url, source, title, date_published, is_canonical, story_id"


def story_members(archive: Any, story_id: str) -> list[dict[str, Any]]:
    """Every report of a story, the canonical (earliest published) first, then the
    others ("also reported by") in date order; each with source and link."""
    rows = archive.fetch(
        f"SELECT {_MEMBER_COLUMNS} FROM articles WHERE story_id = ? "
        "ORDER BY CASE WHEN date_published IS NULL THEN 1 ELSE 0 END, date_published, id",
        (story_id,),
    )
    return [_member(r) for r in rows]


def also_reported_by(archive: Any, article_id: int) -> list[dict[str, Any]]:
    """The other reports of this article's story."""
    sid = archive.fetchval("SELECT story_id FROM articles WHERE id = ?", (int(article_id),))
    if sid is None:
        return []
    return [m for m in story_members(archive, sid) if m["id"] != int(article_id)]


def related_stories(archive: Any, story_id: str, limit: int = 5) -> list[dict[str, Any]]:
    """The most similar other stories (``أخبار ذات صلة``), best first: each is the
    related story's canonical report plus ``story_id`` and ``score``."""
    ensure_schema(archive)
    rows = archive.fetch(
        f"SELECT r.related_id AS related_story, r.score AS score, a.{_MEMBER_COLUMNS.replace(', ', ', a.')} "
        "FROM story_related r JOIN stories s ON s.story_id = r.related_id "
        "JOIN articles a ON a.id = s.canonical_id "
        "WHERE r.story_id = ? ORDER BY r.score DESC, r.related_id LIMIT ?",
        (story_id, int(limit)),
    )
    out = []
    for r in rows:
        m = _member(r)
        m["story_id"] = r["related_story"]
        m["score"] = round(float(r["score"]), 4)
        out.append(m)
    return out


def _member(r: dict[str, Any]) -> dict[str, Any]:
    from crawler.archive.records import parse_datetime

    published = r.get("date_published")
    if published is not None and not hasattr(published, "isoformat"):
        published = parse_datetime(published)
    canon = r.get("is_canonical")
    return {
        "id": r["id"],
        "story_id": r.get("story_id"),
        "url": r.get("url"),
        "canonical_url": r.get("canonical_url") or r.get("url"),
        "source": r.get("source"),
        "title": r.get("title"),
        "date_published": published,
        "is_canonical": None if canon is None else bool(canon),
    }


__all__ = [
    "ArchiveDedup",
    "StoryResult",
    "also_reported_by",
    "clear",
    "ensure_schema",
    "iter_article_rows",
    "published_key",
    "rebuild",
    "related_stories",
    "story_members",
]
