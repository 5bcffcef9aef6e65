"""`akhbar import` in batches: the item pipelines' work in worker processes, one archive
transaction per batch in this one.

One record at a time through Scrapy, an import spent most of its time outside storage
(the engine, one transaction and a dozen statements per article). Here:

- this process reads lines (`crawler.import_records`) and sends them in batches of
  ``batch_size`` to ``workers`` processes (default: one per core);
- a worker parses each line and runs it through the pipelines that come before the
  archive in ``ITEM_PIPELINES`` (validate, dates, bounds, topics: the same objects, built
  from the same settings, as a crawl), then derives what storage needs without the archive
  (`crawler.archive.bulk.prepare`: keys, content hash, normalised search text) and the
  dedup fingerprint;
- this process writes each batch in one transaction: the batch's keys looked up in a few
  queries; articles no row holds inserted in bulk with their search text and seen URLs;
  their stories assigned in order (`ArchiveDedup.add_rows`, the same index walk as one at a
  time); articles already stored unchanged (same key, same content hash, no field changed)
  skipped; anything else (an update, a key an earlier record of the batch holds, a
  canonical URL on another host) through the archive and dedup pipelines' own
  `process_item`, so the rules for those live in one place.

A batch whose bulk write fails is rolled back and written again one record at a time, each
in its own transaction, exactly as the pipelines do in a crawl. ``kill -9`` loses at most
the batch being written (never committed); running the same import again skips what is
stored and finishes the rest.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured
from scrapy.settings import Settings
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.import_records import Line, RecordError, parse_line

if TYPE_CHECKING:
    from crawler.import_progress import Progress

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 500
ARCHIVE_PIPELINE = "pipelines.archive.ArchivePipeline"
DEDUP_PIPELINE = "pipelines.dedup.DedupPipeline"


class ImportStats:
    """The stats API the pipelines use (``inc_value``, ``set_value``...), in a dict."""

    def __init__(self) -> None:
        self._stats: dict[str, Any] = {}

    def get_value(self, key: str, default: Any = None) -> Any:
        return self._stats.get(key, default)

    def get_stats(self) -> dict[str, Any]:
        return self._stats

    def set_value(self, key: str, value: Any) -> None:
        self._stats[key] = value

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self._stats[key] = self._stats.get(key, start) + count

    def max_value(self, key: str, value: Any) -> None:
        self._stats[key] = max(self._stats.get(key, value), value)

    def min_value(self, key: str, value: Any) -> None:
        self._stats[key] = min(self._stats.get(key, value), value)

    def merge(self, other: dict[str, Any]) -> None:
        """Add a worker's counts; lists (samples) are joined, at most 20 kept."""
        for key, value in other.items():
            mine = self._stats.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(mine, (int, float)):
                self._stats[key] = mine + value
            elif isinstance(value, list) and isinstance(mine, list):
                self._stats[key] = list(dict.fromkeys(mine + value))[:20]
            else:
                self._stats[key] = value

    def snapshot(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._stats.items()}

    def restore(self, snap: dict[str, Any]) -> None:
        self._stats = snap


class _ImportSpider:
    """What the pipelines read of the spider: an import has no site, base URL or hosts."""

    name = "import"


class ImportCrawler:
    """The parts of a Scrapy crawler the pipelines use (settings, stats, spider), without
    an engine: an import fetches nothing."""

    spidercls = _ImportSpider

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats = ImportStats()
        self.spider = _ImportSpider()


def project_settings(data_dir: Path, overrides: dict[str, Any]) -> Settings:
    from scrapy.utils.project import get_project_settings

    project = get_project_settings()
    project.set("AKHBAR_DATA", str(data_dir), priority="cmdline")
    # the import makes its own batches (one transaction each) and calls the archive
    # pipeline outside any reactor: the crawl's write batching would wait on one
    project.set("ARCHIVE_BATCH_ITEMS", 1, priority="cmdline")
    for k, v in overrides.items():
        project.set(k, v, priority="cmdline")
    return project


def pipeline_paths(settings: Settings) -> list[str]:
    """ITEM_PIPELINES in order."""
    from scrapy.utils.conf import build_component_list

    return [p if isinstance(p, str) else f"{p.__module__}.{p.__qualname__}"
            for p in build_component_list(settings.getwithbase("ITEM_PIPELINES"))]


def batchable(settings: Settings) -> str | None:
    """None when the batched import can run these pipelines, else why not: it replaces the
    archive and dedup pipelines and runs the ones before the archive as they are; a
    pipeline after the archive that it does not know needs the one-at-a-time import."""
    paths = pipeline_paths(settings)
    if ARCHIVE_PIPELINE not in paths:
        return "no archive pipeline in ITEM_PIPELINES"
    after = paths[paths.index(ARCHIVE_PIPELINE) + 1:]
    unknown = [p for p in after if p != DEDUP_PIPELINE]
    return f"pipelines after the archive: {', '.join(unknown)}" if unknown else None


# --- the workers' part ----------------------------------------------------------------------


@dataclass
class Outcome:
    """One line after the pipelines before the archive.

    From a worker process it travels packed (`pack`): the writer unpickles every outcome,
    and on the bulk path it needs the prepared row and the fingerprint's stored form, not
    the article; the article goes as its own pickle, opened (`article`) only when it is
    written one at a time."""

    kind: str
    """``ok``, ``invalid`` (not a record), ``dropped`` (DropItem) or ``failed`` (a pipeline raised)."""
    reason: str = ""
    item: Any = None
    prepared: Any = None
    fingerprint: Any = None
    packed_item: bytes | None = None

    def pack(self) -> Outcome:
        """For the trip to the writer: the prepared row (SQLite: without the record, its
        encoded values carry it), the fingerprint as stored, the article only when it was
        not prepared (else `article` makes it again from the row: pickling one, with its
        aware datetimes, cost more than the rest of the outcome)."""
        p = self.prepared
        if p is not None:
            self.item = None
            if p.values is not None:
                p.rec = None
        elif self.item is not None:
            self.packed_item = pickle.dumps(self.item, protocol=pickle.HIGHEST_PROTOCOL)
            self.item = None
        fp = self.fingerprint
        if fp is not None:
            keys: Any = fp.band_keys
            try:  # 64-bit keys as one bytes object: a list of them unpickles 30x slower
                keys = array("q", keys).tobytes()
            except OverflowError:
                pass
            self.fingerprint = (fp.shingles_blob(), fp.figures_text(), keys)
        return self

    def article(self) -> Any:
        """The item: as the pipelines left it, or made again from the prepared row (the
        same row stored either way)."""
        if self.item is None:
            if self.packed_item is not None:
                self.item = pickle.loads(self.packed_item)
                self.packed_item = None
            elif self.prepared is not None:
                self.item = self.prepared.article()
        return self.item

    def fp(self) -> Any:
        """The fingerprint, kept in its stored form (`StoredFingerprint`: decoded only if
        a comparison needs it)."""
        fp = self.fingerprint
        if isinstance(fp, tuple):
            from crawler.dedup.fingerprint import StoredFingerprint

            blob, figs, keys = fp
            fp = self.fingerprint = StoredFingerprint(
                blob, figs, array("q", keys).tolist() if isinstance(keys, bytes) else keys)
        return fp

    def full(self) -> Any:
        """The prepared row with its whole record (to compare with an archived row)."""
        p = self.prepared
        if p.rec is None:
            from crawler.archive.bulk import record

            p.rec = record(self.article())
        return p


class Preparer:
    """Parse, pipelines before the archive, storage derivations, fingerprint: one per
    worker process (its own pipelines and stats)."""

    def __init__(self, settings: Settings, dedup_params: Any | None) -> None:
        self.crawler = ImportCrawler(settings)
        self.pipes: list[Callable[[Any], Any]] = []
        for path in pipeline_paths(settings):
            if path == ARCHIVE_PIPELINE:
                break
            cls = load_object(path)
            try:
                # a stand-in crawler (no engine): enough for the pipelines before the archive
                pipe = build_from_crawler(cls, self.crawler)  # type: ignore[call-overload]
            except NotConfigured as exc:
                logger.debug("import: pipeline %s off: %s", path, exc)
                continue
            self.pipes.append(pipe.process_item)
        url = str(settings.get("AKHBAR_ARCHIVE_URL") or "")
        self.sqlite = not url.startswith(("postgresql://", "postgres://"))
        self.fingerprinter = None
        if dedup_params is not None:
            from crawler.dedup.fingerprint import Fingerprinter

            self.fingerprinter = Fingerprinter(dedup_params)

    def one(self, text: str) -> Outcome:
        from crawler.archive.bulk import prepare

        try:
            item = parse_line(Line(0, 0, text))
        except RecordError as exc:
            return Outcome("invalid", str(exc))
        try:
            for process in self.pipes:
                item = process(item)
        except DropItem as exc:
            return Outcome("dropped", f"dropped by the pipelines: {exc}")
        except Exception as exc:  # one record's failure is that record's: logged, counted, go on
            logger.error("pipeline error on %s", getattr(item, "url", "?"), exc_info=True)
            return Outcome("failed", f"pipeline error: {exc}")
        try:
            prep = prepare(item, sqlite=self.sqlite)
        except Exception as exc:  # the archive pipeline would refuse it too: it says why
            return Outcome("ok", item=item, reason=str(exc))
        fp = None
        if self.fingerprinter is not None:
            rec = prep.rec
            assert rec is not None  # set by prepare; dropped only by `Outcome.pack`
            fp = self.fingerprinter.fingerprint(title=rec.get("title"), body=rec.get("body_text"),
                                                summary=rec.get("summary"))
        return Outcome("ok", item=item, prepared=prep, fingerprint=fp)

    def batch(self, texts: list[str | None]) -> tuple[list[Outcome | None], dict[str, Any]]:
        out = [None if t is None else self.one(t) for t in texts]
        stats = self.crawler.stats.snapshot()
        self.crawler.stats.restore({})
        return out, stats


_worker: Preparer | None = None

GC_THRESHOLD = 20_000
"""Container allocations between two young-generation collections (Python's default,
700, collects several times for each batch an import unpickles or parses, and each
collection walks everything still young: the whole batch)."""


def _settle_gc() -> None:
    """After start-up: what is loaded stays (frozen: no collection walks it again; in
    the writer, before the fork, it also keeps the workers' collections from writing to
    the pages they share with it), and collections come every `GC_THRESHOLD` allocations
    instead of 700. Cycles are still collected; an import's batches make few."""
    gc.collect()
    gc.freeze()
    _, g1, g2 = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, g1, g2)


@contextmanager
def _settled_gc() -> Iterator[None]:
    """`_settle_gc` for the writer, undone after (the import may run inside a longer process)."""
    before = gc.get_threshold()
    _settle_gc()
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def _init_worker(settings: dict[str, Any], dedup_params: Any | None) -> None:
    global _worker
    import signal

    # Ctrl-C is the main process's to handle (it stops the pool); a worker dying of it
    # mid-batch would only print a second traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = Preparer(Settings(settings), dedup_params)
    _settle_gc()


_last_done: float | None = None
"""When this worker process last finished a batch (its idle time until the next one)."""


def _work(texts: list[str | None]) -> tuple[list[Outcome | None], dict[str, Any]]:
    global _last_done
    assert _worker is not None
    start = time.perf_counter()
    out, stats = _worker.batch(texts)
    packed = [None if o is None else o.pack() for o in out]
    if _last_done is not None:  # summed over workers by `ImportStats.merge`
        stats["import/worker_idle_s"] = start - _last_done
    _last_done = time.perf_counter()
    return packed, stats


class PreparePool:
    """Batches through `Preparer`s in worker processes, results in input order, a bounded
    number of batches in flight (memory stays flat); ``workers`` 0: in this process."""

    def __init__(self, settings: Settings, dedup_params: Any | None, workers: int) -> None:
        self.workers = workers
        self.settings = settings
        self.params = dedup_params
        self._pool: Any = None
        self._local: Preparer | None = None

    def __enter__(self) -> PreparePool:
        if self.workers > 0:
            import multiprocessing as mp

            # fork: the workers start with the project imported (a spawned one would take
            # seconds to import Scrapy and the topic model); they never touch the archive
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
            self._pool = ctx.Pool(self.workers, initializer=_init_worker,
                                  initargs=(self.settings.copy_to_dict(), self.params))
        else:
            self._local = Preparer(self.settings, self.params)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()

    def map(self, batches: Iterator[list[Line]]) -> Iterator[tuple[list[Line], list[Outcome | None], dict[str, Any]]]:
        def texts(lines: list[Line]) -> list[str | None]:
            return [ln.text for ln in lines]

        if self._pool is None:
            assert self._local is not None
            for lines in batches:
                yield (lines, *self._local.batch(texts(lines)))
            return
        pending: deque[tuple[list[Line], Any]] = deque()
        # one batch in each worker and one waiting for the writer: enough to keep every
        # process busy, and what the writer holds in memory stays a few batches
        limit = self.workers + 1
        for lines in batches:
            pending.append((lines, self._pool.apply_async(_work, (texts(lines),))))
            while len(pending) >= limit:
                lines0, res = pending.popleft()
                yield (lines0, *res.get())
        while pending:
            lines0, res = pending.popleft()
            yield (lines0, *res.get())


# --- the writer's part ----------------------------------------------------------------------


class _Redo(Exception):
    """A batch's bulk write must be rolled back and redone one record at a time."""


@dataclass
class Writer:
    """Writes prepared batches: bulk inserts, unchanged skips, the pipelines for the rest."""

    crawler: ImportCrawler
    archive_pipe: Any
    dedup_pipe: Any | None
    reject: Callable[[Line, str, str], None]
    bulk_batches: int = 0
    redone_batches: int = 0
    overlap: bool = True
    """SQLite: write the search text in a helper thread beside story assignment (`bulk.TextInsert`)."""
    _now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def archive(self) -> Any:
        return self.archive_pipe.archive

    @property
    def stats(self) -> ImportStats:
        return self.crawler.stats

    def write(self, lines: list[Line], outcomes: list[Outcome | None]) -> None:
        """Report the batch's refused lines (in line order) and store the rest."""
        ok: list[tuple[Line, Outcome]] = []
        for line, out in zip(lines, outcomes):
            if out is None:
                self.reject(line, line.error or "unreadable", "unreadable")
                self.stats.inc_value("import/rejected")
            elif out.kind == "invalid":
                self.reject(line, out.reason, "invalid")
                self.stats.inc_value("import/rejected")
            else:
                self.stats.inc_value("import/records")
                if out.kind == "dropped":
                    self.reject(line, out.reason, "dropped")
                elif out.kind == "failed":
                    self.reject(line, out.reason, "failed")
                else:
                    ok.append((line, out))
        if not ok:
            return
        snap = self.stats.snapshot()
        try:
            with self.archive.transaction():
                self._bulk(ok)
                if self.stats.get_value("archive/errors", 0) != snap.get("archive/errors", 0) or \
                        self.stats.get_value("dedup/errors", 0) != snap.get("dedup/errors", 0):
                    # an error inside the batch transaction may have aborted it (PostgreSQL):
                    # each record again in its own, as a crawl writes them
                    raise _Redo()
            self.bulk_batches += 1
        except Exception as exc:
            if not isinstance(exc, _Redo):
                logger.warning("import: batch of %d written one record at a time (%s: %s)", len(ok),
                               type(exc).__name__, exc)
            self.stats.restore(snap)
            self.redone_batches += 1
            if self.dedup_pipe is not None and self.dedup_pipe.dedup is not None:
                self.dedup_pipe.dedup.store.discard()
            for _line, out in ok:
                self._one(out.article(), fresh=True)

    def _one(self, item: Any, *, fresh: bool = False) -> None:
        if fresh:  # a redo: what the rolled-back attempt set on the item is not stored
            for name in ("story_id", "is_canonical"):
                if hasattr(item, name):
                    setattr(item, name, None)
        self.archive_pipe.process_item(item)
        if self.dedup_pipe is not None:
            self.dedup_pipe.process_item(item)

    def _bulk(self, ok: list[tuple[Line, Outcome]]) -> None:
        from crawler.archive import bulk

        archive = self.archive
        preps = [o.prepared for _, o in ok if o.prepared is not None]
        found = bulk.lookup(archive, preps)
        segment: list[Outcome] = []
        for _line, out in ok:
            p = out.prepared
            if p is None:  # the archive pipeline refuses it and says why
                self._flush(segment)
                self._one(out.article())
                continue
            new, row = found.claim(p)
            if new:
                segment.append(out)
            elif row is not None and bulk.unchanged(row, out.full()):
                self.stats.inc_value("archive/unchanged")
                self.stats.inc_value("import/skipped_stored")
            else:
                self._flush(segment)
                self._one(out.article())
        self._flush(segment)

    def _flush(self, segment: list[Outcome]) -> None:
        if not segment:
            return
        from crawler.archive import bulk

        archive = self.archive
        preps = [o.prepared for o in segment]
        # SQLite: the search text's FTS5 insert runs in a helper thread (without the GIL)
        # while this one assigns the stories; waited for before anything else is written
        background: list[bulk.TextInsert] | None = [] if self.overlap and archive.dialect == "sqlite" else None
        try:
            ids = bulk.insert_new(archive, preps, run_id=self.archive_pipe.run_id, now=self._now(),
                                  background=background)
            self.stats.inc_value("archive/inserted", len(ids))
            if self.dedup_pipe is not None and self.dedup_pipe.dedup is not None:
                rows = [{"id": aid, "url_key": p.url_key, "date_published": p.published()}
                        for aid, p in zip(ids, preps)]
                # ids this batch just took: no story index entry can name them yet
                top = archive.fetchval("SELECT MAX(article_id) AS m FROM dedup_doc")
                known_new = top is None or int(top) < min(ids)
                self.dedup_pipe.dedup.add_rows(rows, [o.fp() for o in segment], known_new=known_new)
                self.stats.inc_value("dedup/indexed", len(ids))
        finally:
            # also when story assignment failed: the transaction is rolled back only once
            # the helper's statements are done (its own error, if any, is raised here then)
            for job in background or ():
                job.wait()
        segment.clear()


def run_batched(path: str, settings: Settings, *, reject: Callable[[Line, str, str], None],
                max_line_bytes: int, batch_size: int = DEFAULT_BATCH, workers: int | None = None,
                progress: bool = True) -> dict[str, Any]:
    """Import `path` in batches; returns the stats (the keys `import_summary` reads)."""
    from crawler.import_progress import Progress
    from crawler.import_records import open_input, read_lines
    from pipelines.archive import ArchivePipeline
    from pipelines.dedup import DedupPipeline

    crawler = ImportCrawler(settings)
    archive_pipe = ArchivePipeline(crawler)
    dedup_pipe: Any = None
    try:
        dedup_pipe = DedupPipeline.from_crawler(crawler)
    except NotConfigured:
        pass
    archive_pipe.open_spider()
    reason = "finished"
    bar: Progress | None = None
    try:
        if dedup_pipe is not None:
            dedup_pipe.open_spider()
        params = dedup_pipe.dedup.fingerprinter.params if dedup_pipe is not None else None
        writer = Writer(crawler, archive_pipe, dedup_pipe, reject)
        n_workers = (os.cpu_count() or 1) if workers is None else workers
        with _settled_gc(), open_input(path) as stream, PreparePool(settings, params, n_workers) as pool:
            bar = Progress.for_input(path, _position(stream)) if progress else None
            lines = read_lines(stream, max_bytes=max_line_bytes)
            read = 0
            # where the writer's time goes: waiting for the workers' next batch, or writing
            busy = wait = 0.0
            mark = time.perf_counter()
            for batch, outcomes, wstats in pool.map(_batches(lines, batch_size)):
                got = time.perf_counter()
                crawler.stats.merge(wstats)
                writer.write(batch, outcomes)
                now = time.perf_counter()
                wait, busy, mark = wait + got - mark, busy + now - got, now
                crawler.stats.set_value("import/writer_wait_s", round(wait, 3))
                crawler.stats.set_value("import/writer_busy_s", round(busy, 3))
                read = batch[-1].offset + batch[-1].size
                if bar is not None:
                    bar.update(read, _done(crawler.stats))
            if bar is not None:
                bar.update(read, _done(crawler.stats), final=True)
        crawler.stats.set_value("import/bulk_batches", writer.bulk_batches)
        crawler.stats.set_value("import/redone_batches", writer.redone_batches)
    except KeyboardInterrupt:
        reason = "shutdown"
        raise
    finally:
        crawler.stats.set_value("finish_reason", reason)
        if bar is not None:
            bar.close()
        try:
            if dedup_pipe is not None:
                dedup_pipe.close_spider()
        finally:
            archive_pipe.spider_closed(crawler.spider, reason)
    return dict(crawler.stats.get_stats())


def _position(stream: Any) -> Callable[[], int] | None:
    """For a .gz input, the bytes read of the compressed file (what its size measures);
    None for a plain file, whose lines' own offsets say how far the import is."""
    raw = getattr(stream, "fileobj", None)
    if raw is None:
        return None

    def position() -> int:
        try:
            return int(raw.tell())
        except (OSError, ValueError):
            return 0

    return position


def _done(stats: ImportStats) -> int:
    return int(stats.get_value("import/records", 0)) + int(stats.get_value("import/rejected", 0))


def _batches(lines: Iterator[Line], size: int) -> Iterator[list[Line]]:
    batch: list[Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
