"""Archive benchmark: insert throughput, then search latency at 100k / 1M articles.

    .venv/bin/python -m bench.archive [--sizes 100000,1000000] [--corpus PATH] [--cache DIR]

Articles are made by resampling the Hespress corpus (title of one record, body of
another, five sources, dates spread over ten years). Each size's archive is built
once into ``bench/out/archive/`` and reused (delete it to rebuild).

Measured per size, p50/p95 over a fixed query set (common, mid-frequency and rare
words, two-word AND and phrases), top-20:

- akhbar's own search path (`Archive.search`, rows decoded): date-sorted and
  relevance-ranked, each without filter, with a source filter, with a date range;
- the floor: the bare FTS5 query on the same index returning the same top-20 rows straight
  from SQL (no query parsing, no row decoding), per date-sorted shape (same source / date
  filter); the bare index alone (matching ids only); naive relevance (``ORDER BY bm25``
  over every match, what a straightforward ranked FTS5 query does);
- the baseline: a ``LIKE '%word%'`` scan of the normalised text.

Targets (SQLite, 1M): p95 <= 5 ms for every shape; date-sorted within 2x the bare query.

First, in the same run, search quality (`bench.search_quality`): precision@10 and
recall@100 of the judged query set over the bundled sample, before and after the light
stemmer (``--quality-only`` stops there).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import result
from crawler.arabic import tokens
from crawler.archive import open_archive
from crawler.archive.records import sort_key_bounds
from crawler.archive.search import parse_date_bound
from crawler.items import Article

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path("/work/shared/corpus/hespress_stories/hespress_stories.jsonl.gz")
SOURCES = ("hespress", "le12", "rue20", "belpresse", "hibapress")
BASE_DATE = datetime(2016, 1, 1, tzinfo=UTC)
SPAN_S = 10 * 365 * 86400
ONLY_SHAPES: set[str] | None = None
NO_SLICES = False  # --no-slices: PostgreSQL without the newest-slice plan (the previous search path)
NO_PERIODS = False  # --no-periods: PostgreSQL without the period GIN indexes (the previous search path)
TOPICS = ("politics", "economy", "society", "sports", "culture", "world", "regions", "incidents")


def load_corpus(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def make_article(i: int, corpus: list[dict[str, Any]], rng: random.Random) -> Article:
    a = corpus[i % len(corpus)]
    b = corpus[(i * 7 + 3) % len(corpus)]
    source = SOURCES[i % len(SOURCES)]
    when = BASE_DATE + timedelta(seconds=rng.randrange(SPAN_S))
    return Article(
        url=f"https://{source}.example/{when:%Y/%m}/article-{i}.html",
        source=source,
        site_article_id=str(i),
        title=a.get("title") or "",
        body_text=b.get("body") or "",
        author=a.get("author"),
        section_raw=a.get("category"),
        date_published=when,
        fetched_at=when + timedelta(minutes=5),
        topic=TOPICS[i % len(TOPICS)],
        topic_confidence=1.0,
        is_canonical=True,
    )


def build(url: str, n: int, corpus: list[dict[str, Any]], batch: int = 20000) -> float | None:
    """Fill the archive up to `n` articles with the rows `Archive.upsert_article` would
    write, loaded in bulk (not timed: `insert_throughput` measures the upsert path).
    Returns rows loaded per second (None if cached)."""
    archive = open_archive(url)
    have = archive.count_articles()
    if have >= n:
        archive.close()
        return None
    for s in SOURCES:
        archive.upsert_source(s)
    t0 = time.perf_counter()
    if archive.dialect == "sqlite":
        _bulk_sqlite(archive, have, n, corpus, batch)
    else:
        _bulk_postgres(archive, have, n, corpus, batch)
    elapsed = time.perf_counter() - t0
    archive.optimize()
    archive.close()
    return (n - have) / elapsed


def bulk_rows(archive: Any, start: int, stop: int, corpus: list[dict[str, Any]], first_id: int,
              text_cache: dict[int, tuple[str, str]]) -> tuple[list[str], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(article columns, article rows, (id, sort_key, title, body) search rows) for articles
    `start`..`stop`: the values `Archive._insert` writes, without a statement per row.
    The resampler repeats its (title, body) pairs every len(corpus) articles, so their
    search text is computed once per pair."""
    from crawler.archive.base import _clean_record
    from crawler.archive.canonical import fold_url, own_key_url, site_id_key
    from crawler.archive.records import article_dict, content_hash, search_text, sort_date, sort_key_for

    now = datetime.now(UTC)
    rng = random.Random(42 + start)
    cols: list[str] = []
    rows: list[tuple[Any, ...]] = []
    texts: list[tuple[Any, ...]] = []
    for i in range(start, stop):
        rec = _clean_record(article_dict(make_article(i, corpus, rng)))
        url_key = fold_url(own_key_url(rec.get("url"), rec.get("canonical_url")))
        sort_key = sort_key_for(sort_date(rec, now), url_key)
        c = archive._columns_for(rec)
        c.update(id=first_id + i - start, url_key=url_key, site_key=site_id_key(rec["source"], rec.get("site_article_id")),
                 sort_key=sort_key, content_hash=content_hash(rec), version=1,
                 archived_at=archive.enc_datetime(now), updated_at=archive.enc_datetime(now), run_id=None)
        if not cols:
            cols = list(c)
        rows.append(tuple(c[k] for k in cols))
        pair = i % len(corpus)
        if pair not in text_cache:
            text_cache[pair] = search_text(rec)
        texts.append((c["id"], sort_key, *text_cache[pair]))
    return cols, rows, texts


def _bulk_sqlite(archive: Any, have: int, n: int, corpus: list[dict[str, Any]], batch: int) -> None:
    """executemany, with the articles' secondary indexes and the FTS5 triggers set aside
    during the load (re-created from their own SQL after it) and the FTS5 index rebuilt
    once from the loaded text: incremental FTS5 inserts with their segment merges, and ten
    B-trees maintained row by row, were ~200 rows/s on the loaded 2-core machine."""
    conn = archive._conn()
    conn.execute("PRAGMA synchronous = OFF")
    aside = archive.fetch(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
        "((type = 'index' AND tbl_name = 'articles') OR (type = 'trigger' AND tbl_name = 'article_text'))"
    )
    for r in aside:
        conn.execute(f'DROP {r["type"].upper()} "{r["name"]}"')
    try:
        cache: dict[int, tuple[str, str]] = {}
        first = int(archive.fetchval("SELECT COALESCE(MAX(id), 0) AS m FROM articles") or 0) + 1
        t0 = time.perf_counter()
        for start in range(have, n, batch):
            stop = min(n, start + batch)
            cols, rows, texts = bulk_rows(archive, start, stop, corpus, first + start - have, cache)
            with archive.transaction():
                conn.executemany(f"INSERT INTO articles ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows)
                conn.executemany("INSERT INTO article_text (article_id, sort_key, title, body) VALUES (?, ?, ?, ?)",
                                 texts)
            _progress(stop, have, n, t0, batch)
    finally:  # an interrupted load still leaves the schema's indexes and triggers in place
        print("  re-creating indexes, rebuilding the FTS5 index", file=sys.stderr, flush=True)
        for r in aside:
            conn.execute(r["sql"])
        conn.execute("INSERT INTO article_fts (article_fts) VALUES ('rebuild')")
        conn.execute("PRAGMA synchronous = NORMAL")


def _bulk_postgres(archive: Any, have: int, n: int, corpus: list[dict[str, Any]], batch: int) -> None:
    """COPY, with the secondary indexes of both tables dropped during the load and
    re-created from their own definitions after it (a GIN index built once is minutes;
    maintained row by row through its pending list, hours)."""

    idx = archive.fetch(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i JOIN pg_class c ON c.relname = i.indexname "
        "JOIN pg_namespace ns ON ns.oid = c.relnamespace AND ns.nspname = i.schemaname "
        "WHERE i.schemaname = current_schema() AND i.tablename IN ('articles', 'article_text') "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)"
    )
    for r in idx:
        archive.execute(f'DROP INDEX "{r["indexname"]}"')
    try:
        _copy_postgres(archive, have, n, corpus, batch)
    finally:  # an interrupted load still leaves the schema's indexes in place
        print("  re-creating indexes", file=sys.stderr, flush=True)
        archive.execute("SET maintenance_work_mem = '1GB'")
        for r in idx:
            archive.execute(r["indexdef"])
    archive.execute("SELECT setval(pg_get_serial_sequence('articles', 'id'), (SELECT MAX(id) FROM articles))")
    archive.execute("VACUUM ANALYZE articles")
    archive.execute("VACUUM ANALYZE article_text")


def _copy_postgres(archive: Any, have: int, n: int, corpus: list[dict[str, Any]], batch: int) -> None:
    cache: dict[int, tuple[str, str]] = {}
    first = int(archive.fetchval("SELECT COALESCE(MAX(id), 0) AS m FROM articles") or 0) + 1
    t0 = time.perf_counter()
    conn = archive._conn()
    for start in range(have, n, batch):
        stop = min(n, start + batch)
        cols, rows, texts = bulk_rows(archive, start, stop, corpus, first + start - have, cache)
        with conn.transaction():
            with conn.cursor() as cur:
                with cur.copy(f"COPY articles ({', '.join(cols)}) FROM STDIN") as cp:
                    for row in rows:
                        cp.write_row(row)
                with cur.copy("COPY article_text (article_id, sort_key, title, body) FROM STDIN") as cp:
                    for t in texts:
                        cp.write_row(t)
        _progress(stop, have, n, t0, batch)


def _progress(done: int, have: int, n: int, t0: float, batch: int) -> None:
    if done % 100000 < batch or done == n:
        rate = (done - have) / (time.perf_counter() - t0)
        print(f"  loaded {done:,}/{n:,} ({rate:,.0f}/s)", file=sys.stderr, flush=True)


def insert_throughput(corpus: list[dict[str, Any]], workdir: Path, n: int = 5000) -> dict[str, float]:
    """Articles/s into a fresh SQLite archive through `upsert_many` (normalising, FTS,
    indexes, seen URLs), the same articles again (the idempotent re-crawl path), and a
    bare baseline: the same rows by executemany into one plain table."""
    import sqlite3

    from crawler.archive.records import encode_json, iso_utc

    rng = random.Random(7)
    items = [make_article(i, corpus, rng) for i in range(n)]
    path = workdir / "insert-bench.sqlite3"
    for p in workdir.glob("insert-bench.sqlite3*"):
        p.unlink()
    archive = open_archive(path)
    t = time.perf_counter()
    for i in range(0, n, 500):
        archive.upsert_many(items[i:i + 500])
    fresh = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(0, n, 500):
        archive.upsert_many(items[i:i + 500])
    again = n / (time.perf_counter() - t)
    archive.close()
    conn = sqlite3.connect(str(workdir / "insert-bench.sqlite3"))
    conn.execute("CREATE TABLE plain (url, source, title, body_text, date_published, fetched_at, tags, extra)")
    t = time.perf_counter()
    with conn:
        conn.executemany("INSERT INTO plain VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (a.url, a.source, a.title, a.body_text, iso_utc(a.date_published), iso_utc(a.fetched_at),
             encode_json(a.tags), encode_json(a.extra)) for a in items])
    plain = n / (time.perf_counter() - t)
    conn.close()
    for p in workdir.glob("insert-bench.sqlite3*"):
        p.unlink()
    return {"upsert_per_s": fresh, "reupsert_per_s": again, "plain_insert_per_s": plain}


def query_set(corpus: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Words by document frequency in the corpus: common, mid, rare; and word pairs."""
    df: Counter[str] = Counter()
    for rec in corpus:
        df.update(set(tokens((rec.get("title") or "") + " " + (rec.get("body") or ""))))
    # ties by word: the corpus's words are counted from sets, whose order (and so
    # most_common's among equal counts) changes with each process's hash seed, and with
    # it the mid and rare picks: runs compared before/after must time the same queries
    ranked = [w for w, _ in sorted(df.items(), key=lambda kv: (-kv[1], kv[0])) if len(w) >= 4 and not w.isdigit()]
    common = ranked[:8]  # in ~half the corpus: the hard case for ranking
    mid = [w for w in ranked if 0.01 * len(corpus) <= df[w] <= 0.03 * len(corpus)][:8]
    rare = [w for w in ranked if 3 <= df[w] <= 6][:8]
    pairs = [f"{common[i]} {mid[i]}" for i in range(4)] + [f'"{p}"' for p in _phrases(corpus)[:4]]
    return {"common": common, "mid": mid, "rare": rare, "multi": pairs}


def _phrases(corpus: list[dict[str, Any]]) -> list[str]:
    c: Counter[str] = Counter()
    for rec in corpus[:2000]:
        t = tokens(rec.get("title") or "")
        c.update(f"{x} {y}" for x, y in zip(t, t[1:]) if len(x) > 3 and len(y) > 3)
    return [p for p, _ in c.most_common(40)][::5]


def timeit(fn: Callable[[], Any], reps: int) -> tuple[list[float], list[float]]:
    """(wall ms, CPU ms) per call. CPU time (this thread) is what the query costs;
    wall time also counts waiting for a core on a shared machine."""
    fn()  # warm
    wall, cpu = [], []
    for _ in range(reps):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
    return wall, cpu


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def run_size(url: str, n: int, corpus: list[dict[str, Any]], reps: int) -> dict[str, Any]:
    from crawler.archive.search import parse_query

    print(f"== {n:,} articles: {url}", file=sys.stderr, flush=True)
    rate = build(url, n, corpus)
    # no time budget while timing (a slow shape is a figure, not an error); the abusive
    # queries at the end run under the default one
    archive = open_archive(url, search_budget=None)
    if NO_SLICES and hasattr(archive, "use_slices"):
        archive.use_slices = False
    if NO_PERIODS and hasattr(archive, "use_periods"):
        archive.use_periods = False
    total = archive.count_articles()
    queries = [q for qs in query_set(corpus).values() for q in qs]
    mid_day = BASE_DATE + timedelta(days=5 * 365)
    since, until = mid_day.date().isoformat(), (mid_day + timedelta(days=180)).date().isoformat()
    sqlite = archive.dialect == "sqlite"
    lo, hi = sort_key_bounds(parse_date_bound(since), parse_date_bound(until, end=True))

    def bare(q: str, extra: str = "") -> list[dict[str, Any]]:
        """The floor: the same top-20 rows straight from one SQL query (no query parsing,
        no decoding), optionally with the same source or date filter."""
        pq = parse_query(q)
        assert pq is not None
        if sqlite:
            cond = {"source": " AND a.source = 'le12'", "range": " AND f.rowid BETWEEN ? AND ?"}.get(extra, "")
            sql = ("SELECT a.* FROM article_fts f CROSS JOIN articles a ON a.sort_key = f.rowid "
                   f"WHERE f.article_fts MATCH ?{cond} ORDER BY f.rowid DESC LIMIT 20")
            return archive.fetch(sql, [pq.fts5_text(), *([lo, hi] if extra == "range" else [])])
        cond = {"source": " AND a.source = 'le12'", "range": " AND t.sort_key BETWEEN ? AND ?"}.get(extra, "")
        sql = ("SELECT a.* FROM article_text t JOIN articles a ON a.id = t.article_id "
               f"WHERE t.tsv @@ to_tsquery('simple', ?){cond} ORDER BY t.sort_key DESC LIMIT 20")
        return archive.fetch(sql, [pq.tsquery(), *([lo, hi] if extra == "range" else [])])

    shapes: dict[str, Callable[[str], Any]] = {
        "date": lambda q: archive.search(q, sort="date", limit=20),
        "date+source": lambda q: archive.search(q, sort="date", source="le12", limit=20),
        "date+range": lambda q: archive.search(q, sort="date", since=since, until=until, limit=20),
        "relevance": lambda q: archive.search(q, sort="relevance", limit=20),
        "relevance+source": lambda q: archive.search(q, sort="relevance", source="le12", limit=20),
        "relevance+range": lambda q: archive.search(q, sort="relevance", since=since, until=until, limit=20),
        "bare FTS date (floor)": lambda q: bare(q),
        "bare FTS date+source": lambda q: bare(q, "source"),
        "bare FTS date+range": lambda q: bare(q, "range"),
        # ... and the index alone: matching ids only
        "bare FTS ids only": lambda q: archive.bare_search(parse_query(q), 20),  # type: ignore[arg-type]
        "bare FTS bm25, naive": lambda q: archive.bare_search(parse_query(q), 20, ranked=True),  # type: ignore[arg-type]
    }
    results: dict[str, dict[str, float]] = {}
    m = "cpu" if sqlite else "wall"
    for name, fn in shapes.items():
        if ONLY_SHAPES and name not in ONLY_SHAPES:
            continue
        wall: list[float] = []
        cpu: list[float] = []
        per_query: dict[str, float] = {}
        for q in queries:
            # naive ranking scores every match (seconds for a common word at 1M): once
            w, c = timeit(lambda: fn(q), 1 if "naive" in name else reps)  # noqa: B023 (called at once)
            wall += w
            cpu += c
            per_query[q] = sorted(c if sqlite else w)[len(w) // 2]
        results[name] = {"p50": pct(wall, 50), "p95": pct(wall, 95), "cpu_p50": pct(cpu, 50), "cpu_p95": pct(cpu, 95)}
        r = results[name]
        slow = sorted(per_query.items(), key=lambda kv: -kv[1])[:3]
        print(f"  {name:<24} wall p50 {r['p50']:7.2f} p95 {r['p95']:7.2f} ms   cpu p50 {r['cpu_p50']:7.2f} p95 {r['cpu_p95']:7.2f} ms"
              f"   slowest ({m} median): " + ", ".join(f"{q} {t:.1f}" for q, t in slow), file=sys.stderr, flush=True)
    if ONLY_SHAPES:  # a partial run: the shapes asked for only (LIKE at 1M is minutes)
        archive.close()
        return {"dialect": archive.dialect, "articles": total, "insert_per_s": rate, "db_mb": None,
                "queries": len(queries), "reps": reps, "shapes": results, "abuse": {}}
    # a mid-frequency word (the newest 20 turn up early in the scan) and a rare one (the scan
    # reads the whole table)
    like_words = [query_set(corpus)["mid"][0], query_set(corpus)["rare"][0]]
    wall, cpu = [], []
    for w in like_words:
        a, b = timeit(lambda w=w: archive.like_search(w, 20), 1)
        wall += a
        cpu += b
    results["LIKE scan (baseline)"] = {"p50": pct(wall, 50), "p95": pct(wall, 95), "cpu_p50": pct(cpu, 50), "cpu_p95": pct(cpu, 95)}
    from crawler.archive.search import search_budget_default

    archive.search_budget = search_budget_default()  # type: ignore[attr-defined]
    abuse = abusive_queries(archive, query_set(corpus))
    archive.close()
    size_mb = None
    if url.startswith("sqlite"):
        from crawler.archive.sqlite import path_from_url

        size_mb = path_from_url(url).stat().st_size / 2**20
    return {"dialect": archive.dialect, "articles": total, "insert_per_s": rate, "db_mb": size_mb, "queries": len(queries), "reps": reps, "shapes": results,
            "abuse": abuse}


def abusive_queries(archive: Any, qs: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Queries meant to hurt, each once, under the archive's time budget: wall ms to the
    answer or to `SearchTimeout`, and which."""
    from crawler.archive import SearchTimeout

    common = qs["common"]
    cases = {
        "32 x a one-letter prefix": " ".join(["ا*"] * 32),
        "4 two/three-letter prefixes": "من* في* على* الم*",
        "3 three-letter prefixes": "مست* انت* حكو*",
        "phrase of two common words": f'"{common[0]} {common[1]}"',
        "3 phrases of common words": " ".join(f'"{common[i]} {common[i + 1]}"' for i in range(0, 6, 2)),
        "32 distinct words": " ".join(common + qs["mid"] + qs["rare"] + [w.split()[-1] for w in qs["multi"][:4]] + ["المغرب"] * 4),
    }
    out: dict[str, dict[str, Any]] = {}
    print(f"  abusive queries (budget {archive.search_budget} s), relevance and date, wall ms:", file=sys.stderr)
    for name, q in cases.items():
        for sort in ("relevance", "date"):
            t = time.perf_counter()
            try:
                n = len(archive.search(q, sort=sort, limit=20).items)
                what = f"{n} results"
            except SearchTimeout:
                what = "SearchTimeout"
            ms = (time.perf_counter() - t) * 1000
            out[f"{name}, {sort}"] = {"ms": round(ms, 1), "outcome": what}
            print(f"    {name + ', ' + sort:<42} {ms:8.1f}  {what}", file=sys.stderr, flush=True)
    return out


def explain(url: str, corpus: list[dict[str, Any]]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement `Archive.search` runs, for one query of
    each kind (common, mid-frequency, rare word; two-word AND; phrase) in each shape."""
    archive = open_archive(url, search_budget=None)
    if NO_SLICES and hasattr(archive, "use_slices"):
        archive.use_slices = False
    if NO_PERIODS and hasattr(archive, "use_periods"):
        archive.use_periods = False
    qs = query_set(corpus)
    picks = {"common": qs["common"][0], "mid": qs["mid"][0], "rare": qs["rare"][0], "and": qs["multi"][0],
             "phrase": qs["multi"][5]}
    mid_day = BASE_DATE + timedelta(days=5 * 365)
    since, until = mid_day.date().isoformat(), (mid_day + timedelta(days=180)).date().isoformat()
    shapes = {"date": {}, "date+source": {"source": "le12"}, "date+range": {"since": since, "until": until},
              "relevance": {}, "relevance+source": {"source": "le12"},
              "relevance+range": {"since": since, "until": until}}
    seen: list[tuple[str, tuple[Any, ...]]] = []
    run = archive._run

    def spy(conn: Any, sql: str, params: Any) -> Any:
        seen.append((sql, tuple(params)))
        return run(conn, sql, params)

    for shape, kw in shapes.items():
        for kind, q in picks.items():
            sort = "relevance" if shape.startswith("relevance") else "date"
            archive.search(q, sort=sort, limit=20, **kw)  # warm, and the statistics
            seen.clear()
            archive._run = spy  # type: ignore[method-assign]
            t = time.perf_counter()
            archive.search(q, sort=sort, limit=20, **kw)
            ms = (time.perf_counter() - t) * 1000
            archive._run = run  # type: ignore[method-assign]
            print(f"\n### {shape}, {kind} ({q}): {ms:.1f} ms, {len(seen)} statement(s)")
            for sql, params in seen:
                prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if archive.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
                print("```")
                for r in archive.fetch(prefix + sql, params):
                    print(next(iter(r.values())) if archive.dialect == "postgresql" else r.get("detail"))
                print("```")
    archive.close()


def compare_periods(url: str, corpus: list[dict[str, Any]], reps: int, shapes: set[str] | None) -> None:
    """PostgreSQL: each query of each shape with the period GIN indexes (`use_periods`) and
    without (the previous path), alternating in this process, `reps` times each: wall
    median per query and p95 per shape of both, and the rows compared (same ids, same
    order, else an AssertionError)."""
    archive = open_archive(url, search_budget=None)
    queries = [q for qs in query_set(corpus).values() for q in qs]
    mid_day = BASE_DATE + timedelta(days=5 * 365)
    since, until = mid_day.date().isoformat(), (mid_day + timedelta(days=180)).date().isoformat()
    kws: dict[str, dict[str, Any]] = {
        "date": {"sort": "date"}, "date+source": {"sort": "date", "source": "le12"},
        "date+range": {"sort": "date", "since": since, "until": until},
        "relevance": {"sort": "relevance"}, "relevance+source": {"sort": "relevance", "source": "le12"},
        "relevance+range": {"sort": "relevance", "since": since, "until": until}}
    for shape, kw in kws.items():
        if shapes and shape not in shapes:
            continue
        times: dict[bool, list[float]] = {False: [], True: []}
        lines = []
        for q in queries:
            per: dict[bool, list[float]] = {False: [], True: []}
            ids: dict[bool, list[int]] = {}
            for rep in range(reps + 1):  # the first of each: warming, not counted
                for new in (False, True):
                    archive.use_periods = new  # type: ignore[attr-defined]
                    t = time.perf_counter()
                    r = archive.search(q, limit=20, **kw)
                    ms = (time.perf_counter() - t) * 1000
                    ids[new] = [i["id"] for i in r.items]
                    if rep:
                        per[new].append(ms)
            assert ids[False] == ids[True], (shape, q)
            for new in (False, True):
                times[new] += per[new]
            lines.append((q, sorted(per[False])[reps // 2], sorted(per[True])[reps // 2]))
        print(f"{shape:<18} p95 old {pct(times[False], 95):6.1f}  new {pct(times[True], 95):6.1f} ms   "
              f"p50 old {pct(times[False], 50):6.1f}  new {pct(times[True], 50):6.1f}", flush=True)
        for q, a, b in sorted(lines, key=lambda x: -max(x[1], x[2]))[:6]:
            print(f"    {q:<40} {a:6.1f} -> {b:6.1f}", flush=True)
    archive.close()


def report(all_results: dict[int, dict[str, Any]]) -> None:
    for r in all_results.values():
        s = r["shapes"]
        print(f"\narchive search at {r['articles']:,} articles ({r['queries']} queries x {r['reps']} reps, top 20)"
              + (f", DB {r['db_mb']:,.0f} MiB" if r["db_mb"] else ""))
        if r["insert_per_s"]:
            print(f"  built by bulk load (COPY / executemany, not the upsert path): {r['insert_per_s']:,.0f} rows/s")
        print(f"  {'shape':<24} {'wall p50':>9} {'wall p95':>9} {'cpu p50':>8} {'cpu p95':>8}  (ms)  ratio")
        ids, naive = s["bare FTS ids only"], s["bare FTS bm25, naive"]
        # SQLite runs in this thread: its CPU time is the query's cost. PostgreSQL works in
        # the server process: only wall time tells.
        m = "cpu_" if r.get("dialect", "sqlite") == "sqlite" else ""
        print(f"  ratios and targets on {'CPU' if m else 'wall'} time")
        for name, v in s.items():
            if name.startswith("date"):
                floor = s["bare FTS date (floor)" if name == "date" else f"bare FTS {name}"]
                ratio = (f"{v[m + 'p50'] / floor[m + 'p50']:4.2f}x/{v[m + 'p95'] / floor[m + 'p95']:4.2f}x bare rows "
                         f"p50/p95 (target <= 2x), {v[m + 'p95'] / ids[m + 'p95']:4.1f}x ids only")
            elif name.startswith("relevance"):
                ratio = f"{v[m + 'p95'] / naive[m + 'p95']:5.2f}x naive bm25"
            elif name.startswith("LIKE"):
                ratio = f"{v[m + 'p95'] / s['date'][m + 'p95']:,.0f}x akhbar date search (p95; mid and rare word)"
            else:
                ratio = ""
            if not name.startswith(("bare", "LIKE")):
                cap = 5 if m else 20  # SQLite's target, PostgreSQL's (issue 18)
                ratio += "  ok" if v[m + "p95"] <= cap else f"  > {cap} ms"
            print(f"  {name:<24} {v['p50']:9.2f} {v['p95']:9.2f} {v['cpu_p50']:8.2f} {v['cpu_p95']:8.2f}  {ratio}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="100000", help="comma-separated archive sizes (default 100000)")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSON Lines (.gz) corpus to resample")
    p.add_argument("--cache", type=Path, default=ROOT / "bench" / "out" / "archive", help="where built archives are kept")
    p.add_argument("--url", default=None, help="archive URL template with {n} (default: SQLite files in --cache)")
    p.add_argument("--reps", type=int, default=5, help="timed repetitions per query")
    p.add_argument("--inserts", type=int, default=5000, help="articles in the insert-throughput test")
    p.add_argument("--quality-only", action="store_true", help="only the judged-query precision/recall, no latency")
    p.add_argument("--build-only", action="store_true", help="only build (bulk load) the archives of --sizes")
    p.add_argument("--explain", action="store_true", help="only print the query plans of each shape (--url, --sizes)")
    p.add_argument("--no-slices", action="store_true", help="PostgreSQL: without the newest-slice plan (the previous path)")
    p.add_argument("--no-periods", action="store_true",
                   help="PostgreSQL: without the period GIN indexes (the previous path; they stay in the database)")
    p.add_argument("--compare-periods", action="store_true",
                   help="PostgreSQL: every query and shape with and without the period indexes, alternating (--url)")
    p.add_argument("--optimize", action="store_true",
                   help="run Archive.optimize() on each (cached) archive first: new indexes of this code's plan")
    p.add_argument("--shapes", default=None,
                   help="comma-separated shape names to time (default: all; given, no LIKE scan nor abusive queries)")
    args = p.parse_args(argv)
    global NO_SLICES, NO_PERIODS, ONLY_SHAPES
    NO_SLICES = args.no_slices
    NO_PERIODS = args.no_periods
    ONLY_SHAPES = set(args.shapes.split(",")) if args.shapes else None
    from bench import search_quality

    if args.optimize:
        for n in (int(x) for x in args.sizes.split(",")):
            url = args.url.format(n=n) if args.url else f"sqlite:///{(args.cache / f'archive-{n}.sqlite3').resolve()}"
            import logging

            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
            t = time.perf_counter()
            archive = open_archive(url)  # (migrated to this code's schema)
            # in one transaction: new indexes built plainly, not CONCURRENTLY (one heap
            # scan instead of two; nothing else writes to a bench archive)
            with archive.transaction():
                if archive.dialect == "postgresql":
                    archive.execute("SET LOCAL maintenance_work_mem = '512MB'")
                archive.optimize()
            archive.close()
            print(f"{url}: optimize() {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    if args.compare_periods:
        corpus = load_corpus(args.corpus)
        for n in (int(x) for x in args.sizes.split(",")):
            compare_periods(args.url.format(n=n), corpus, args.reps, ONLY_SHAPES)
        return 0
    if args.explain:
        corpus = load_corpus(args.corpus)
        for n in (int(x) for x in args.sizes.split(",")):
            explain(args.url.format(n=n) if args.url else f"sqlite:///{(args.cache / f'archive-{n}.sqlite3').resolve()}",
                    corpus)
        return 0
    if args.build_only:
        corpus = load_corpus(args.corpus)
        for n in (int(x) for x in args.sizes.split(",")):
            url = args.url.format(n=n) if args.url else f"sqlite:///{(args.cache / f'archive-{n}.sqlite3').resolve()}"
            args.cache.mkdir(parents=True, exist_ok=True)
            rate = build(url, n, corpus)
            print(f"{url}: {'cached' if rate is None else f'built, {rate:,.0f} rows/s'}")
        return 0
    search_quality.run()
    if args.quality_only:
        return 0
    if not args.corpus.exists():
        p.error(f"corpus not found: {args.corpus} (point --corpus at a JSON Lines file with title/body)")
    corpus = load_corpus(args.corpus)
    args.cache.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, Any]] = {}
    ins = insert_throughput(corpus, args.cache, args.inserts)
    print(f"insert throughput, {args.inserts:,} articles into a fresh SQLite archive (500 per transaction):\n"
          f"  upsert (normalise, FTS5, indexes, seen URLs)  {ins['upsert_per_s']:8,.0f} articles/s"
          f"  = 1/{ins['plain_insert_per_s'] / ins['upsert_per_s']:.0f} of a bare executemany into one plain table "
          f"({ins['plain_insert_per_s']:,.0f}/s)\n"
          f"  re-upsert of the same articles (unchanged)    {ins['reupsert_per_s']:8,.0f} articles/s")
    for n in (int(x) for x in args.sizes.split(",")):
        url = args.url.format(n=n) if args.url else f"sqlite:///{(args.cache / f'archive-{n}.sqlite3').resolve()}"
        results[n] = run_size(url, n, corpus, args.reps)
    if ONLY_SHAPES:
        return 0  # a partial run: the per-shape lines above are its report
    report(results)
    for r in results.values():
        s, m = r["shapes"], ("cpu_" if r.get("dialect", "sqlite") == "sqlite" else "")
        worst = max(v[m + "p95"] for k, v in s.items() if k.startswith(("date", "relevance")))
        date, floor = s["date"][m + "p95"], s["bare FTS date (floor)"][m + "p95"]
        cap = 5 if m else 20
        result("archive", f"search p95, date-sorted, {r['articles']:,} articles ({r['dialect']}, {m or 'wall '}time)",
               round(date, 2), "ms", "bare FTS query, same rows", round(floor, 2), round(date / floor, 2),
               f"<= 2x bare, every shape <= {cap} ms", date <= 2 * floor and worst <= cap,
               worst_shape_p95_ms=round(worst, 2))
        naive = s["bare FTS bm25, naive"][m + "p95"]
        rel = s["relevance"][m + "p95"]
        result("archive", f"search p95, relevance, {r['articles']:,} articles", round(rel, 2), "ms",
               "naive ORDER BY bm25", round(naive, 2), round(rel / naive, 3))
    result("archive", "archive inserts (upsert_many)", round(ins["upsert_per_s"]), "articles/s",
           "bare executemany, one plain table", round(ins["plain_insert_per_s"]),
           round(ins["upsert_per_s"] / ins["plain_insert_per_s"], 3))
    out = args.cache / "results.json"
    prev = json.loads(out.read_text()) if out.exists() else {}
    prev.update({str(k): v for k, v in results.items()})
    prev["insert"] = ins
    out.write_text(json.dumps(prev, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
