"""Per-article cost of each stage of the chain, against the storage floor and parsing
the page with lxml alone, and a pyinstrument profile of the whole chain.

    .venv/bin/python -m bench.profile [--quick] [--pages 1000] [--corpus PATH] [--html FILE] [--cpu]

Article pages of the enlarged snapshot (`bench.site_server` in its own process) are fetched
once and kept in memory; then, per page, in this process and on the same bytes:

- baseline: ``lxml.html.fromstring(body)`` — the unavoidable parse;
- extraction: the site's page object (`to_article`), what the spider callback does;
- pipelines: validate → dates → bounds → topics → archive (SQLite, fresh) → dedup, the
  real pipeline objects built from a crawler with the project settings, items sent
  through them as Scrapy sends them (an awaitable answer is awaited: the archive
  pipeline's batch, ``ARCHIVE_BATCH_ITEMS``, whose transaction also assigns the
  stories, so the dedup pipeline's cost shows under ``archive``). Each stage's time is
  its own (a batch committed inside one stage's call releases earlier items into the
  next stages: their time is theirs); the last batch is stored when the spider closes.

The **storage floor** is what any searchable, deduplicated archive must at least do per
article, with no project code: one plain ``INSERT`` of URL, title and body plus one
FTS5 insert of title and body (SQLite's own tokenizer, no Arabic folding), one
transaction per article, and a datasketch ``MinHash`` (128 permutations) of the body's
3-word shingles. Target (issue 18): the pipelines' cost per article <= 1.5x that floor.
The floor with the archive's batch size (one commit per batch) is printed beside it,
and the lxml parse ratio for reference. So is the archive's and dedup's **SQL alone**:
every statement one more (untimed) run sends to the archive, replayed on a fresh archive
of the same schema with bare ``sqlite3`` calls, which bounds what cutting our Python can
win. ``--cpu`` times by CPU time (user + system) of
this process instead of wall time: on a machine other work keeps busy, wall time
measures the queue for a core as much as the code. A pyinstrument profile of
extraction + pipelines is printed (top frames) and written as HTML to
``bench/out/profile.html``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import OUT, ServerProcess, result

DEFAULT_CORPUS = Path("/work/shared/corpus")
TARGET_FLOOR = 1.5
"""Pipelines per article at most this multiple of the storage floor (issue 18)."""

clock = time.perf_counter
"""Wall time; ``--cpu`` switches to this process's CPU time (user + system), which a
machine shared with other work disturbs less."""


def fetch(urls: list[str]) -> list[tuple[str, str, bytes, dict[str, str]]]:
    from urllib.parse import urlsplit

    out = []
    for url in urls:
        with urllib.request.urlopen(url, timeout=30) as resp:
            out.append((_site_of(url, urlsplit), url, resp.read(), {"Content-Type": resp.headers["Content-Type"]}))
    return out


_PORT_SITE: dict[str, str] = {}


def _site_of(url: str, urlsplit: Any) -> str:
    return _PORT_SITE[urlsplit(url).netloc]


def page_classes() -> dict[str, Any]:
    from spiders.belpresse import BelpresseArticlePage
    from spiders.hespress import HespressArticlePage
    from spiders.hibapress import HibapressArticlePage
    from spiders.le12 import Le12ArticlePage
    from spiders.rue20 import Rue20ArticlePage

    return {"hespress": HespressArticlePage, "hibapress": HibapressArticlePage, "le12": Le12ArticlePage,
            "rue20": Rue20ArticlePage, "belpresse": BelpresseArticlePage}


def build_pipelines(data: Path) -> tuple[list[Any], Any]:
    from scrapy import Spider
    from scrapy.utils.misc import load_object
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.test import get_crawler

    settings = get_project_settings()
    order = sorted(settings.getdict("ITEM_PIPELINES").items(), key=lambda kv: kv[1])
    # the project's batching, as a crawl has it
    crawler = get_crawler(Spider, {"AKHBAR_DATA": str(data), "AKHBAR_ARCHIVE_URL": None,
                                   "ARCHIVE_BATCH_ITEMS": settings.getint("ARCHIVE_BATCH_ITEMS", 1),
                                   "ARCHIVE_BATCH_SECONDS": settings.getfloat("ARCHIVE_BATCH_SECONDS", 1.0)})
    crawler.spider = crawler._create_spider("bench")  # noqa: SLF001
    pipes = []
    for path, _ in order:
        cls = load_object(path)
        pipe = cls.from_crawler(crawler)
        pipes.append(pipe)
    for pipe in pipes:
        if hasattr(pipe, "open_spider"):
            pipe.open_spider()
    return pipes, crawler


def close_pipelines(pipes: list[Any], crawler: Any) -> None:
    # as Scrapy: the archive pipeline stores its last batch when the spider closes
    for pipe in pipes:
        if hasattr(pipe, "spider_closed"):
            pipe.spider_closed(crawler.spider, "finished")
    for pipe in reversed(pipes):
        if hasattr(pipe, "close_spider"):
            pipe.close_spider()


class StageClock:
    """Exclusive time per stage: a batch committed inside one stage's call releases
    earlier items into the next stages, whose time is theirs, not the caller's."""

    def __init__(self, names: list[str]) -> None:
        self.spent = dict.fromkeys(names, 0.0)
        self._nested = 0.0

    def call(self, name: str, fn: Any, *args: Any) -> Any:
        t = clock()
        outer, self._nested = self._nested, 0.0
        try:
            return fn(*args)
        finally:
            took = clock() - t
            self.spent[name] += took - self._nested
            self._nested = outer + took


class StatementLog:
    """Every statement the archive's connection runs (SQL, parameters) while installed:
    the chain's storage work as SQLite sees it, to replay without our Python around it."""

    def __init__(self) -> None:
        self.statements: list[tuple[bool, str, Any]] = []
        """(many, sql, parameters: one tuple, or a list of them for ``executemany``)."""

    def install(self) -> Any:
        """Wrap `Archive._conn` so the connections it hands out log; returns the undo."""
        from crawler.archive.base import Archive

        real = Archive._conn
        log = self.statements

        class Logged:
            def __init__(self, conn: Any) -> None:
                self._conn = conn

            def execute(self, sql: str, params: Any = ()) -> Any:
                params = tuple(params)
                log.append((False, sql, params))
                return self._conn.execute(sql, params)

            def executemany(self, sql: str, rows: Any) -> Any:
                rows = [tuple(r) for r in rows]
                log.append((True, sql, rows))
                return self._conn.executemany(sql, rows)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._conn, name)

        Archive._conn = lambda archive: Logged(real(archive))  # type: ignore[method-assign,assignment]
        return lambda: setattr(Archive, "_conn", real)

    def replay(self, work: Path) -> float:
        """Seconds to run the logged statements on a fresh archive of the same schema with
        bare ``sqlite3`` calls (the archive's pragmas): the SQL's own cost."""
        import sqlite3

        from crawler.archive.sqlite import SQLiteArchive

        work.mkdir(parents=True, exist_ok=True)
        fresh = SQLiteArchive(str(work / "replay.sqlite3"))
        fresh.migrate()
        fresh.close()
        db: sqlite3.Connection = fresh._connect()  # a bare connection with the archive's pragmas
        t = clock()
        for many, sql, params in self.statements:
            if many:
                db.executemany(sql, params)
            else:
                db.execute(sql, params).fetchall()
        took = clock() - t
        db.close()
        return took


def run_chain(pages: list[tuple[str, str, bytes, dict[str, str]]], classes: dict[str, Any], data: Path,
              per_stage: bool, log: StatementLog | None = None) -> dict[str, float]:
    """Seconds spent per stage over all pages (extraction, then each pipeline). Items go
    through the pipelines as Scrapy sends them: a stage may answer with an awaitable
    (the archive's batch), and the item goes on once it completes; the last batch is
    stored when the spider closes (timed as the archive's). `log`: the statements sent
    to the archive once the pipelines are open (migrations are not), logged."""
    from twisted.internet import reactor  # noqa: F401 - installs the default (non-asyncio) reactor, not run

    pipes, crawler = build_pipelines(data)
    undo = log.install() if log is not None else None
    try:
        return _run_items(pages, classes, pipes, crawler, per_stage)
    finally:
        if undo is not None:
            undo()


def _run_items(pages: list[tuple[str, str, bytes, dict[str, str]]], classes: dict[str, Any], pipes: list[Any],
               crawler: Any, per_stage: bool) -> dict[str, float]:
    import inspect

    from scrapy.exceptions import DropItem
    from twisted.internet.defer import Deferred

    names = ["extract"] + [type(p).__name__.removesuffix("Pipeline").lower() for p in pipes]
    clock = StageClock(names)
    call = clock.call if per_stage else (lambda _name, fn, *args: fn(*args))

    async def chain(item: Any) -> None:
        for name, pipe in zip(names[1:], pipes):
            try:
                out = call(name, pipe.process_item, item)
                item = (await out) if inspect.isawaitable(out) else out
            except DropItem:
                return

    pending = []
    for site, url, body, headers in pages:
        item: Any = call("extract", lambda site=site, url=url, body=body, headers=headers:
                          classes[site].from_bytes(url, body, headers=headers).to_article(site))
        pending.append(Deferred.fromCoroutine(chain(item)))
    archive_name = next((n for n, p in zip(names[1:], pipes) if hasattr(p, "flush")), names[-1])
    call(archive_name, close_pipelines, pipes, crawler)
    failures: list[Any] = []
    for d in pending:
        d.addErrback(failures.append)
    if failures:
        failures[0].raiseException()
    return clock.spent


def lxml_parse(pages: list[tuple[str, str, bytes, dict[str, str]]]) -> float:
    import lxml.html

    t = clock()
    for _site, _url, body, _headers in pages:
        lxml.html.fromstring(body)
    return clock() - t


def storage_floor(items: list[Any], work: Path, batch: int = 1) -> tuple[float, float]:
    """Seconds over all items for (bare row + FTS5 insert, one commit per `batch` items;
    datasketch MinHash)."""
    import sqlite3

    from datasketch import MinHash

    work.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(work / f"floor{batch}.sqlite3"), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")  # as the archive
    db.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, url TEXT UNIQUE, title TEXT, body TEXT)")
    db.execute("CREATE VIRTUAL TABLE f USING fts5(title, body)")
    t = clock()
    for start in range(0, len(items), batch):
        db.execute("BEGIN")
        for it in items[start:start + batch]:
            cur = db.execute("INSERT INTO a (url, title, body) VALUES (?, ?, ?)", (it.url, it.title, it.body_text))
            db.execute("INSERT INTO f (rowid, title, body) VALUES (?, ?, ?)", (cur.lastrowid, it.title, it.body_text))
        db.execute("COMMIT")
    store = clock() - t
    db.close()
    t = clock()
    for it in items:
        words = (it.body_text or "").split()
        m = MinHash(num_perm=128)
        m.update_batch([" ".join(words[k:k + 3]).encode("utf-8") for k in range(max(0, len(words) - 2))])
    return store, clock() - t


def main(argv: list[str] | None = None) -> int:
    global clock
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="200 pages, one round")
    ap.add_argument("--pages", type=int, default=None, help="article pages (default 1,000)")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds; the best counts (default 3)")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--html", type=Path, default=OUT / "profile.html")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--cpu", action="store_true", help="time by this process's CPU time, not wall time")
    args = ap.parse_args(argv)
    if args.cpu:
        clock = time.process_time
    n = args.pages or (200 if args.quick else 1000)
    rounds = args.rounds or (1 if args.quick else 3)
    corpus = args.corpus if args.corpus.exists() else None
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        work = Path(tmp)
        with ServerProcess(max(n, 300), corpus, urls_file=work / "urls.txt") as srv:
            for site, base in srv.base_urls.items():
                _PORT_SITE[base.split("//", 1)[1]] = site
            urls = srv.urls()
            step = max(1, len(urls) // n)
            pages = fetch(urls[::step][:n])
        classes = page_classes()
        run_chain(pages[:20], classes, work / "warm", per_stage=False)  # imports, model load, migrations
        from scrapy.utils.project import get_project_settings

        batch = get_project_settings().getint("ARCHIVE_BATCH_ITEMS", 1)
        best: dict[str, float] | None = None
        parse_best = float("inf")
        items = [classes[site].from_bytes(url, body, headers=headers).to_article(site)
                 for site, url, body, headers in pages]
        store_best = minhash_best = batched_best = float("inf")
        for r in range(rounds):
            parse_best = min(parse_best, lxml_parse(pages))
            store_s, minhash_s = storage_floor(items, work / f"floor{r}")
            store_best, minhash_best = min(store_best, store_s), min(minhash_best, minhash_s)
            batched_best = min(batched_best, storage_floor(items, work / f"floor{r}", batch)[0] if batch > 1 else store_s)
            spent = run_chain(pages, classes, work / f"round{r}", per_stage=True)
            if best is None or sum(spent.values()) < sum(best.values()):
                best = spent
        assert best is not None
        # the storage's own cost: the statements of one more (untimed) run, replayed bare
        log = StatementLog()
        run_chain(pages, classes, work / "logged", per_stage=False, log=log)
        sql_ms = 1000 * min(log.replay(work / f"replay{r}") for r in range(rounds)) / len(pages)
        per = {k: 1000 * v / len(pages) for k, v in best.items()}
        parse_ms = 1000 * parse_best / len(pages)
        pipelines_ms = sum(v for k, v in per.items() if k != "extract")
        kind = "CPU" if args.cpu else "wall"
        print(f"{len(pages)} article pages, best of {rounds} round(s); ms per article ({kind} time; "
              f"archive writes in batches of {batch}, the dedup pipeline's work inside them):")
        print(f"  {'lxml.html.fromstring (baseline)':34} {parse_ms:7.3f}")
        for k, v in per.items():
            print(f"  {k:34} {v:7.3f}  {v / parse_ms:5.2f}x parse")
        store_ms, minhash_ms = 1000 * store_best / len(pages), 1000 * minhash_best / len(pages)
        batched_ms = 1000 * batched_best / len(pages)
        floor_ms = store_ms + minhash_ms
        print(f"  {'pipelines (validate..dedup)':34} {pipelines_ms:7.3f}  {pipelines_ms / parse_ms:5.2f}x parse  "
              f"{pipelines_ms / floor_ms:5.2f}x floor  {pipelines_ms / (batched_ms + minhash_ms):5.2f}x batched floor")
        print(f"  {'floor: bare row + FTS5, 1 commit':34} {store_ms:7.3f}  {store_ms / parse_ms:5.2f}x parse")
        print(f"  {f'  ... 1 commit per {batch}':34} {batched_ms:7.3f}  {batched_ms / parse_ms:5.2f}x parse")
        print(f"  {'archive + stories: their SQL alone':34} {sql_ms:7.3f}  {sql_ms / store_ms:5.2f}x the floor's row + FTS5"
              f"  ({len(log.statements) / len(pages):.2f} statements an article, replayed bare)")
        print(f"  {'floor: datasketch MinHash(128)':34} {minhash_ms:7.3f}  {minhash_ms / parse_ms:5.2f}x parse")
        print(f"  {'floor (both)':34} {floor_ms:7.3f}  {floor_ms / parse_ms:5.2f}x parse")
        print(f"  {'extraction + pipelines':34} {pipelines_ms + per['extract']:7.3f}  "
              f"{(pipelines_ms + per['extract']) / parse_ms:5.2f}x parse")
        if not args.no_profile:
            from pyinstrument import Profiler

            prof = Profiler(interval=0.0005)
            prof.start()
            run_chain(pages, classes, work / "profiled", per_stage=False)
            prof.stop()
            OUT.mkdir(parents=True, exist_ok=True)
            args.html.write_text(prof.output_html(), encoding="utf-8")
            text = prof.output_text(unicode=True, color=False, show_all=False)
            print("\n".join(text.splitlines()[:60]))
            print(f"profile: {args.html}")
    ratio = pipelines_ms / floor_ms
    result("profile", f"pipelines per article (validate..dedup, {kind} time)", round(pipelines_ms, 3), "ms",
           "storage floor (bare row + FTS5, 1 commit each, + MinHash)", round(floor_ms, 3), round(ratio, 2),
           f"<= {TARGET_FLOOR}x", ratio <= TARGET_FLOOR)
    result("profile", f"pipelines per article (validate..dedup, {kind} time)", round(pipelines_ms, 3), "ms",
           f"storage floor batched as the archive ({batch} a commit)", round(batched_ms + minhash_ms, 3),
           round(pipelines_ms / (batched_ms + minhash_ms), 2), "", None)
    result("profile", f"archive + stories SQL alone per article (replayed, {kind} time)", round(sql_ms, 3), "ms",
           "floor: bare row + FTS5, 1 commit each", round(store_ms, 3), round(sql_ms / store_ms, 2), "", None)
    result("profile", "pipelines per article (validate..dedup)", round(pipelines_ms, 3), "ms",
           "lxml.html.fromstring", round(parse_ms, 3), round(pipelines_ms / parse_ms, 2), "", None)
    result("profile", "storage floor per article (bare row + FTS5 + MinHash)", round(floor_ms, 3), "ms",
           "lxml.html.fromstring", round(parse_ms, 3), round(floor_ms / parse_ms, 2), "", None)
    ratio2 = (pipelines_ms + per["extract"]) / parse_ms
    result("profile", "extraction + pipelines per article", round(pipelines_ms + per["extract"], 3), "ms",
           "lxml.html.fromstring", round(parse_ms, 3), round(ratio2, 2), "", None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
