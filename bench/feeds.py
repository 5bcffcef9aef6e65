"""Time to publish every feed from archives of 100k and 1M articles.

    .venv/bin/python -m bench.feeds [--sizes 100000,1000000] [--corpus PATH] [--out bench/out]

Builds (once, cached as ``bench/out/feeds-archive-<N>.sqlite3``) a SQLite archive of
N articles resampled from the Hespress corpus (real titles and bodies, five sources,
every topic, ~25% of reports grouped into multi-source stories, dates over three
years), then times `feeds.query.publish` writing every feed (all + 16 topics + 5
sources, RSS + Atom + JSON, OPML, static front page) into a fresh ``public/``: a
first publish (every file written) and a republish (nothing changed, nothing
written). The baseline, measured in the same run on the same archive, is the naive
way to read the same stories: per feed a filtered, sorted scan without the feed
indexes (``NOT INDEXED``) and one "also reported by" query per story, followed by
the same build and write. Target: <= 2 s at 1M.

The bench archives hold no full-text index rows (feeds do not search), which keeps
building the 1M archive to a few minutes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import result

DEFAULT_CORPUS = Path("/work/shared/corpus/hespress_stories/hespress_stories.jsonl.gz")
OUT = Path(__file__).resolve().parent / "out"
SOURCES = ("hespress", "le12", "rue20", "belpresse", "hibapress")
HOSTS = {"hespress": "www.hespress.com", "le12": "le12.ma", "rue20": "www.rue20.com",
         "belpresse": "www.belpresse.com", "hibapress": "ar.hibapress.com"}
CATEGORY_TOPIC = {"crime_incidents": "incidents"}
START = datetime(2022, 9, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)


def load_corpus(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def build_archive(path: Path, n: int, corpus: list[dict[str, Any]], seed: int = 7) -> None:
    """Write an archive of `n` articles at `path` with bulk inserts (schema from the
    archive's own migrations)."""
    from crawler.archive import open_archive
    from crawler.archive.canonical import fold_url
    from crawler.archive.records import iso_utc, sort_key_for
    from crawler.taxonomy import TOPICS

    tmp = path.with_suffix(".building")
    for p in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
        p.unlink(missing_ok=True)
    open_archive(f"sqlite:///{tmp}").close()  # migrations: tables and indexes
    db = sqlite3.connect(tmp, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    rnd = random.Random(seed)
    topic_ids = [t.id for t in TOPICS]
    cols = ("url_key", "sort_key", "url", "source", "canonical_url", "title", "body_html", "summary", "author",
            "section_raw", "image_url", "language", "date_published", "date_published_precision", "fetched_at",
            "topic", "topic_confidence", "story_id", "is_canonical", "archived_at", "updated_at")
    sql = f"INSERT INTO articles ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    now = iso_utc(datetime.now(UTC))
    recent: list[tuple[str, str, str]] = []  # (story_id, source, topic) of recent stories
    step = SPAN / n
    batch: list[tuple[Any, ...]] = []
    t0 = time.perf_counter()
    db.execute("BEGIN")
    for i in range(n):
        doc = corpus[rnd.randrange(len(corpus))]
        when = START + step * i + timedelta(seconds=rnd.randrange(60))
        if recent and rnd.random() < 0.25:
            story_id, first_source, topic = recent[rnd.randrange(len(recent))]
            source = rnd.choice([s for s in SOURCES if s != first_source])
            canonical = 0
        else:
            source = rnd.choice(SOURCES)
            story_id = f"st{i:08d}"
            topic = rnd.choice(topic_ids) if rnd.random() < 0.2 else CATEGORY_TOPIC.get(doc["category"], doc["category"])
            canonical = 1
            recent.append((story_id, source, topic))
            if len(recent) > 300:
                recent.pop(0)
        url = f"https://{HOSTS[source]}/article-{i}.html"
        paragraphs = "".join(f"<p>{p}</p>" for p in doc["body"].split("\n\n") if p.strip())
        batch.append((
            fold_url(url), sort_key_for(when, url), url, source, url, doc["title"], paragraphs,
            doc["body"][:200], doc.get("author"), doc["category"],
            f"https://{HOSTS[source]}/images/{i}.jpg" if i % 2 else None, "ar", iso_utc(when), "minute",
            iso_utc(when + timedelta(minutes=30)), topic, 1.0, story_id, canonical, now, now,
        ))
        if len(batch) == 20000:
            db.executemany(sql, batch)
            batch.clear()
            if (i + 1) % 200000 == 0:
                db.execute("COMMIT")
                db.execute("BEGIN")
                print(f"  {i + 1:>9,} articles ({time.perf_counter() - t0:.0f}s)", flush=True)
    if batch:
        db.executemany(sql, batch)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    tmp.replace(path)
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)


def naive_feeds(archive: Any, names: dict[str, str], limit: int) -> list[Any]:
    """Baseline reader: full scan per feed, one query per story for its other reports."""
    from feeds.model import OtherReport, feed_specs
    from feeds.query import _COLUMNS, StoryBuilder, _dt, _story_url

    builder = StoryBuilder(archive, names)
    out = []
    for spec in feed_specs(names):
        where, params = ["is_canonical = 1", "date_published IS NOT NULL"], []
        if spec.kind != "all":
            where.append(f"{spec.kind} = ?")
            params.append(spec.value)
        rows = archive.fetch(
            f"SELECT {_COLUMNS} FROM articles NOT INDEXED WHERE {' AND '.join(where)} "
            f"ORDER BY date_published DESC LIMIT ?", [*params, limit])
        for r in rows:
            r["date_published"], r["date_modified"] = _dt(r["date_published"]), _dt(r["date_modified"])
        out.append((spec, builder.add(rows)))
    for aid, story in builder.by_id.items():
        if story.story_id:
            others = archive.fetch("SELECT source, url, canonical_url, title FROM articles WHERE story_id = ? AND id != ?",
                                   (story.story_id, aid))
            story.also_reported_by = [OtherReport(o["source"], names.get(o["source"], o["source"]), _story_url(o),
                                                  o["title"] or "") for o in others if o["source"] != story.source]
    return out


def naive_publish(data_dir: Path, archive: Any, names: dict[str, str], limit: int) -> float:
    from feeds.build import FeedContext, build_feed_files
    from feeds.publish import write_files

    t0 = time.perf_counter()
    files = build_feed_files(naive_feeds(archive, names, limit), FeedContext())
    write_files(data_dir / "public", files)
    return time.perf_counter() - t0


def run_size(n: int, corpus_path: Path, out: Path, limit: int, baseline: bool) -> dict[str, float]:
    from crawler.archive import open_archive
    from feeds.query import publish, source_names

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"feeds-archive-{n}.sqlite3"
    if not path.exists():
        print(f"building {path} ({n:,} articles from {corpus_path}) ...", flush=True)
        t0 = time.perf_counter()
        build_archive(path, n, load_corpus(corpus_path))
        print(f"  built in {time.perf_counter() - t0:.0f}s, {path.stat().st_size / 1e9:.2f} GB", flush=True)
    archive = open_archive(f"sqlite:///{path}")
    names = source_names()
    work = Path(tempfile.mkdtemp(prefix="bench-feeds-"))
    try:
        archive.fetch("SELECT count(*) AS n FROM articles")  # open and warm the connection
        first = publish(work, archive, limit=limit)
        again = publish(work, archive, limit=limit)
        result = {"first": first.seconds, "query": first.timings["query"], "build": first.timings["build"],
                  "write": first.timings["write"], "again": again.seconds, "files": first.files,
                  "stories": first.stories, "written_again": len(again.written)}
        if baseline:
            result["baseline"] = naive_publish(work / "naive", archive, names, limit)
        return result
    finally:
        archive.close()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated archive sizes (articles)")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="Hespress corpus (jsonl.gz) to resample")
    ap.add_argument("--out", type=Path, default=OUT, help="where the generated archives are cached")
    ap.add_argument("--limit", type=int, default=50, help="stories per feed")
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)
    print(f"{'articles':>10} {'publish':>8} {'query':>7} {'build':>7} {'write':>7} {'again':>7} "
          f"{'baseline':>9} {'speedup':>8}  files stories")
    for n in (int(s) for s in args.sizes.split(",")):
        r = run_size(n, args.corpus, args.out, args.limit, not args.no_baseline)
        base = r.get("baseline")
        base_s = f"{base:.2f}s" if base else "-"
        ratio = f"{base / r['first']:.1f}x" if base else "-"
        print(f"{n:>10,} {r['first']:>7.2f}s {r['query']:>6.3f}s {r['build']:>6.3f}s {r['write']:>6.3f}s "
              f"{r['again']:>6.2f}s {base_s:>9} {ratio:>8}  {r['files']:>5} {r['stories']:>7}"
              f"  (republish wrote {r['written_again']})", flush=True)
        result("feeds", f"publish every feed, {n:,} articles", round(r["first"], 2), "s", "naive per-feed scan",
               round(base, 2) if base else None, round(base / r["first"], 1) if base else None, "<= 2 s at 1M",
               r["first"] <= 2 if n >= 1_000_000 else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
