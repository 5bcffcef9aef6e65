"""Import benchmark: `akhbar import` end to end against the bare batched storage floor,
measured in the same run on the same file; then export memory and PostgreSQL import.

    .venv/bin/python -m bench.import [--sizes 100000,1000000] [--quick] [--corpus PATH]
                                     [--postgres URL | --no-postgres] [--workdir DIR]

Articles are synthetic, made from the Hespress corpus as `bench.dedup` makes them (words
replaced at random from the corpus vocabulary, so every text is new; one in ten is a
republished copy with a dateline, a cut or a rewritten lead or tail), with five sources,
the section as each site prints it for the corpus article's category (one article in ten
has none: the topic classifier reads those), tags, an ISO publication date and a fetch time. One JSON Lines
file per size (``bench/out/import/articles-<n>.jsonl``, reused; delete it to rebuild).

Per size, in this order, each into a fresh SQLite file:

- **floor**: what any searchable, deduplicated archive must at least do per article, no
  project code, one process: read the line (``json.loads``), one plain ``INSERT`` of URL,
  title and body, one FTS5 insert (SQLite's own tokenizer, no Arabic folding), a datasketch
  ``MinHash`` of 128 permutations of the body's 3-word shingles; one transaction per 1,000;
- **akhbar import**: ``akhbar import FILE --optimize-after 0`` (the CLI, run in a
  subprocess by ``--writer-split-child``, which also times the writer; its worker
  processes included): every pipeline, dates, topics, Arabic search
  text, dedup stories; without the closing ``akhbar optimize`` a large import runs by
  itself (the floor merges no index either; `bench.archive` times searches after it).

Printed: articles/s of each, the ratio (target >= 1.0 at 100k and at 1M), peak RSS of the
import's main process and of all its processes together (target <= 500 MB, flat: the same
at both sizes), and the import's own CPU split (`/proc` times of the main process and of
the workers), the cores used, and the writer's wall time an article split into writing
(of which story assignment) and waiting for the workers' batches, with the workers' idle
time between batches.

Then **export**: ``akhbar export`` of each archive to /dev/null, peak RSS at both sizes
(constant memory: the same at both). And **PostgreSQL** (unless ``--no-postgres``): the
smallest size imported into a fresh database of its own (created and dropped here),
target >= 1,500 articles/s, with the writer's time an article and the part of it story
assignment takes (wall: on PostgreSQL the writer mostly waits on the server), and beside
it a bare PostgreSQL storage floor on the same rows (`pg_floor`: COPY into one table with a
server-made tsvector under GIN, and the MinHash; the server's work counted).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.common import OUT, ROOT, env_with, result

DEFAULT_CORPUS = Path("/work/shared/corpus")
SOURCES = ("hespress", "le12", "rue20", "belpresse", "hibapress")
FLOOR_BATCH = 1000


# --- input ---------------------------------------------------------------------------------

def make_file(path: Path, n: int, corpus: Path) -> Path:
    """`n` synthetic articles as JSON Lines (cached)."""
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_dedup_pairs import load

    from bench.dedup import Synth
    from crawler.config import load_sources

    docs = load(corpus)
    synth = Synth(docs)
    sections = _site_sections(load_sources())
    rng = random.Random(5)
    start = datetime(2016, 1, 1, tzinfo=UTC)
    span = 10 * 365 * 86400
    tmp = path.with_suffix(".tmp")
    t = time.perf_counter()
    with tmp.open("w", encoding="utf-8") as out:
        for i in range(n):
            title, body, _copy = synth.make(i)
            src = docs[i % len(docs)]
            source = SOURCES[i % len(SOURCES)]
            when = start + timedelta(seconds=rng.randrange(span))
            rec = {
                "url": f"https://{source}.example/{when:%Y/%m}/article-{i}.html",
                "source": source,
                "site_article_id": str(i),
                "title": title,
                "body_text": body,
                "author": src.get("author"),
                # as a site prints it (its own section name), one in ten without one: the
                # topic classifier reads those
                "section_raw": None if i % 10 == 9 else sections.get((source, src.get("category"))),
                "tags": [w for w in title.split()[:3]],
                "date_published": when.astimezone(timezone(timedelta(hours=1))).isoformat(),
                "fetched_at": (when + timedelta(minutes=7)).isoformat(),
                "http_status": 200,
            }
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if (i + 1) % 100000 == 0:
                print(f"  made {i + 1:,}/{n:,} articles ({time.perf_counter() - t:.0f} s)", flush=True)
    tmp.replace(path)
    return path


def _site_sections(sources: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(source, corpus category) -> a section name of that site mapped to that topic."""
    topic_of = {"crime_incidents": "incidents"}
    out: dict[tuple[str, str], str] = {}
    for sid in SOURCES:
        smap = (sources[sid].raw.get("sections") or {}) if sid in sources else {}
        for category in ("politics", "sports", "economy", "crime_incidents", "society", "regions"):
            names = [name for name, topic in smap.items() if topic == topic_of.get(category, category)]
            arabic = [n for n in names if not n.isascii()]
            if names:
                out[(sid, category)] = (arabic or names)[0]
    return out


# --- floor ---------------------------------------------------------------------------------

def floor(path: Path, db: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of the bare batched storage floor over the file."""
    from datasketch import MinHash

    for p in db.parent.glob(db.name + "*"):
        p.unlink()
    conn = sqlite3.connect(str(db), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # as the archive
    conn.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, url TEXT UNIQUE, title TEXT, body TEXT)")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(title, body)")
    t = time.perf_counter()
    c = time.process_time()
    n = 0
    with path.open("rb") as fh:
        conn.execute("BEGIN")
        for line in fh:
            rec = json.loads(line)
            title, body = rec.get("title") or "", rec.get("body_text") or ""
            cur = conn.execute("INSERT INTO a (url, title, body) VALUES (?, ?, ?)", (rec["url"], title, body))
            conn.execute("INSERT INTO f (rowid, title, body) VALUES (?, ?, ?)", (cur.lastrowid, title, body))
            words = body.split()
            m = MinHash(num_perm=128)
            m.update_batch([" ".join(words[k:k + 3]).encode("utf-8") for k in range(max(0, len(words) - 2))])
            n += 1
            if n % FLOOR_BATCH == 0:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
        conn.execute("COMMIT")
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    conn.close()
    return secs, cpu


def pg_floor(path: Path, url: str) -> float:
    """Wall seconds of the bare batched storage floor on PostgreSQL: the SQLite floor's work
    (``json.loads``, a datasketch MinHash-128) with the row COPYed into one table whose
    ``tsvector`` the server makes (a stored generated column, 'simple' configuration) under
    a GIN index, one transaction per 1,000. No project code; the server's work is counted
    (it runs on the same two cores), which the import's target must also pay."""
    import psycopg
    from datasketch import MinHash

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS floor_rows")
        conn.execute("CREATE TABLE floor_rows (id BIGSERIAL PRIMARY KEY, url TEXT UNIQUE, title TEXT, body TEXT, "
                     "tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(title, '') || ' ' || "
                     "coalesce(body, ''))) STORED)")
        conn.execute("CREATE INDEX ON floor_rows USING gin (tsv)")
        t = time.perf_counter()
        rows: list[tuple[str, str, str]] = []

        def flush() -> None:
            with conn.transaction(), conn.cursor().copy("COPY floor_rows (url, title, body) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
            rows.clear()

        with path.open("rb") as fh:
            for line in fh:
                rec = json.loads(line)
                title, body = rec.get("title") or "", rec.get("body_text") or ""
                words = body.split()
                m = MinHash(num_perm=128)
                m.update_batch([" ".join(words[k:k + 3]).encode("utf-8") for k in range(max(0, len(words) - 2))])
                rows.append((rec["url"], title, body))
                if len(rows) == FLOOR_BATCH:
                    flush()
        if rows:
            flush()
        secs = time.perf_counter() - t
        conn.execute("DROP TABLE floor_rows")
    return secs


# --- a command, timed, with its memory -----------------------------------------------------

def _tree(pid: int) -> list[int]:
    out = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            for child in fh.read().split():
                out += _tree(int(child))
    except OSError:
        pass
    return out


def _stat(pid: int) -> tuple[int, int, float]:
    """(RSS KiB, PSS KiB, CPU seconds) of a process, zeros when it is gone. PSS shares the
    pages forked workers hold in common among them: the sum over processes is real memory."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            rss = next((int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS:")), 0)
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            pss = next((int(ln.split()[1]) for ln in fh if ln.startswith("Pss:")), rss)
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return rss, pss, cpu
    except (OSError, IndexError, ValueError):
        return 0, 0, 0.0


def run_measured(cmd: list[str], env: dict[str, str], stdout: Any = subprocess.DEVNULL) -> dict[str, Any]:
    """Run `cmd`; wall seconds, peak RSS of the main process, peak PSS of all its processes
    summed, CPU
    seconds of the main process and of its children, sampled from /proc."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.PIPE)
    peak_main = peak_all = 0
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_main, peak_all
        while not stop.is_set():
            total = 0
            for pid in _tree(proc.pid):
                rss, pss, c = _stat(pid)
                total += pss
                if pid == proc.pid:
                    peak_main = max(peak_main, rss)
                if c:
                    cpu[pid] = c
            peak_all = max(peak_all, total)
            stop.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    _, err = proc.communicate()
    stop.set()
    th.join()
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    main_cpu = cpu.get(proc.pid, 0.0)
    return {"secs": wall, "peak_main_mb": peak_main / 1024, "peak_all_mb": peak_all / 1024,
            "main_cpu": main_cpu, "child_cpu": sum(v for k, v in cpu.items() if k != proc.pid),
            "stderr": err.decode(errors="replace")}


def writer_split_child(src: str, data: str, out: str) -> int:
    """`akhbar import SRC` in this process (the archive from AKHBAR_ARCHIVE_URL), timing
    the writer's batches and, within them, story assignment (wall: on PostgreSQL most of
    it is waiting on the server), with the import's own wait figures (the writer's wait
    for batches, the workers' idle time); the split goes to `out` as JSON."""
    from crawler import import_batch
    from crawler.cli import main as cli
    from crawler.dedup import stories

    spent = {"writer": 0.0, "stories": 0.0}

    def timed(fn: Any, key: str) -> Any:
        def run(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[key] += time.perf_counter() - t
        return run

    kept: dict[str, Any] = {}
    run = import_batch.run_batched

    def run_kept(*a: Any, **k: Any) -> dict[str, Any]:
        kept.update(run(*a, **k))
        return kept

    import_batch.Writer.write = timed(import_batch.Writer.write, "writer")  # type: ignore[method-assign]
    stories.ArchiveDedup.add_rows = timed(stories.ArchiveDedup.add_rows, "stories")  # type: ignore[method-assign]
    import_batch.run_batched = run_kept  # type: ignore[assignment]
    code = cli(["--data", data, "import", src, "--optimize-after", "0"])
    # the writer's wait for the workers' batches and the workers' idle time (run_batched's stats)
    for key in ("import/writer_wait_s", "import/writer_busy_s", "import/worker_idle_s"):
        spent[key] = float(kept.get(key, 0.0))
    Path(out).write_text(json.dumps(spent))
    return int(code or 0)


def import_env(url: str) -> dict[str, str]:
    env = env_with(AKHBAR_ARCHIVE_URL=url)
    return {k: v for k, v in env.items() if not k.startswith("AKHBAR_") or k == "AKHBAR_ARCHIVE_URL"}


def pg_database(base: str, name: str, create: bool) -> str:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--quick", action="store_true", help="one size of 1,000 (CI: catches breakage only)")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--workdir", type=Path, default=OUT / "import")
    ap.add_argument("--postgres", default=os.environ.get("AKHBAR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--pg-size", type=int, default=None, help="articles imported into PostgreSQL (default: the smallest size)")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--writer-split-child", nargs=3, metavar=("SRC", "DATA", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--one-at-a-time", type=int, default=None,
                    help="also import this many articles with --one-at-a-time, the previous path "
                         "(default 300 quick, 5,000 full; 0: not)")
    args = ap.parse_args(argv)
    if args.writer_split_child:
        return writer_split_child(*args.writer_split_child)
    sizes = [1000] if args.quick else [int(s) for s in args.sizes.split(",")]
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores at the start", flush=True)
    imports: dict[int, dict[str, Any]] = {}
    exports: dict[int, dict[str, Any]] = {}
    for n in sizes:
        src = make_file(work / f"articles-{n}.jsonl", n, args.corpus)
        fl, fl_cpu = floor(src, work / f"floor-{n}.sqlite3")
        for p in work.glob(f"floor-{n}.sqlite3*"):
            p.unlink()
        db = work / f"import-{n}.sqlite3"
        for p in work.glob(db.name + "*"):
            p.unlink()
        url = f"sqlite:///{db}"
        data = work / "data"
        split_file = work / f"writer-split-{n}.json"
        m = run_measured([sys.executable, "-m", "bench.import", "--writer-split-child", str(src), str(data),
                          str(split_file)], import_env(url))
        split = json.loads(split_file.read_text())
        split_file.unlink()
        imports[n] = m
        summary = m["stderr"].strip().splitlines()[-1] if m["stderr"].strip() else ""
        rate, floor_rate = n / m["secs"], n / fl
        print(f"  {n:>9,}: floor {floor_rate:,.0f}/s ({fl:.1f} s); akhbar import {rate:,.0f}/s ({m['secs']:.1f} s) "
              f"= {rate / floor_rate:.2f}x floor; peak RSS main {m['peak_main_mb']:.0f} MB, all processes "
              f"{m['peak_all_mb']:.0f} MB (PSS); load {os.getloadavg()[0]:.2f}", flush=True)
        print(f"             CPU per article: floor {fl_cpu / n * 1e3:.2f} ms; import {m['main_cpu'] / n * 1e3:.2f} ms "
              f"in the writer + {m['child_cpu'] / n * 1e3:.2f} ms in the workers (parse, pipelines, search text, "
              f"fingerprint); {(m['main_cpu'] + m['child_cpu']) / m['secs']:.2f} cores used", flush=True)
        print(f"             the writer (wall, ms an article): writing {split['writer'] / n * 1e3:.2f} (story "
              f"assignment {split['stories'] / n * 1e3:.2f}), waiting for the workers "
              f"{split['import/writer_wait_s'] / n * 1e3:.2f}; the workers idle between batches "
              f"{split['import/worker_idle_s'] / n * 1e3:.2f} (summed)", flush=True)
        print(f"             {summary}", flush=True)
        result("import", f"akhbar import, {n:,} articles into SQLite (peak {m['peak_all_mb']:.0f} MB all processes)",
               round(rate), "articles/s", "bare batched storage floor (row + FTS5 + MinHash-128)", round(floor_rate),
               round(rate / floor_rate, 2), ">= 1.0x, <= 500 MB", rate >= floor_rate and m["peak_all_mb"] <= 500,
               peak_rss_main_mb=round(m["peak_main_mb"]), peak_pss_all_mb=round(m["peak_all_mb"]),
               floor_cpu_ms=round(fl_cpu / n * 1e3, 3), writer_cpu_ms=round(m["main_cpu"] / n * 1e3, 3),
               worker_cpu_ms=round(m["child_cpu"] / n * 1e3, 3),
               cores_used=round((m["main_cpu"] + m["child_cpu"]) / m["secs"], 2),
               writer_ms=round(split["writer"] / n * 1e3, 3), writer_wait_ms=round(split["import/writer_wait_s"] / n * 1e3, 3),
               worker_idle_ms=round(split["import/worker_idle_s"] / n * 1e3, 3),
               load_avg=round(os.getloadavg()[0], 2))
        if not args.no_export:
            e = run_measured([sys.executable, "-m", "crawler.cli", "--data", str(data), "export", "--archive", url],
                             import_env(url))
            exports[n] = e
            print(f"  {n:>9,}: akhbar export {n / e['secs']:,.0f} articles/s, peak RSS {e['peak_main_mb']:.0f} MB",
                  flush=True)
        for p in work.glob(db.name + "*"):
            p.unlink()
    old_n = args.one_at_a_time if args.one_at_a_time is not None else (300 if args.quick else 5000)
    if old_n:
        n = min(sizes)
        head = work / f"head-{old_n}.jsonl"
        with (work / f"articles-{n}.jsonl").open("rb") as src_fh, head.open("wb") as out:
            for _ in range(old_n):
                out.write(src_fh.readline())
        rates = {}
        for mode, extra in (("one at a time", ["--one-at-a-time"]), ("batched", [])):
            db = work / "old-path.sqlite3"
            for p in work.glob(db.name + "*"):
                p.unlink()
            m = run_measured([sys.executable, "-m", "crawler.cli", "--data", str(work / "data"), "import", str(head),
                              *extra], import_env(f"sqlite:///{db}"))
            rates[mode] = old_n / m["secs"]
            for p in work.glob(db.name + "*"):
                p.unlink()
        head.unlink()
        print(f"  first {old_n:,} articles: one at a time (the previous path) {rates['one at a time']:,.0f}/s, "
              f"batched {rates['batched']:,.0f}/s = {rates['batched'] / rates['one at a time']:.2f}x; "
              f"load {os.getloadavg()[0]:.2f}", flush=True)
        result("import", f"akhbar import batched vs one at a time, {old_n:,} articles (SQLite)",
               round(rates["batched"]), "articles/s", "akhbar import --one-at-a-time (the previous path)",
               round(rates["one at a time"]), round(rates["batched"] / rates["one at a time"], 2), "~5x (issue 18)",
               rates["batched"] >= 5 * rates["one at a time"])
    if len(sizes) > 1:
        lo, hi = min(sizes), max(sizes)
        grow = imports[hi]["peak_all_mb"] / imports[lo]["peak_all_mb"]
        print(f"  import peak RSS at {hi:,} / at {lo:,}: {grow:.2f}x", flush=True)
        if exports:
            eg = exports[hi]["peak_main_mb"] / exports[lo]["peak_main_mb"]
            result("import", f"akhbar export peak RSS at {hi:,} articles (SQLite)", round(exports[hi]["peak_main_mb"]),
                   "MB", f"the same at {lo:,} articles", round(exports[lo]["peak_main_mb"]), round(eg, 2),
                   "<= 1.1x (constant memory)", eg <= 1.1)
    elif exports:
        n = sizes[0]
        result("import", f"akhbar export, {n:,} articles (SQLite), peak RSS", round(exports[n]["peak_main_mb"]), "MB",
               "import peak RSS, same archive", round(imports[n]["peak_main_mb"]),
               round(exports[n]["peak_main_mb"] / imports[n]["peak_main_mb"], 2), "constant memory (two sizes in full mode)")
    if not args.no_postgres:
        n = args.pg_size or min(sizes)
        src = make_file(work / f"articles-{n}.jsonl", n, args.corpus)
        name = f"akhbar_bench_import_{os.getpid()}"
        try:
            url = pg_database(args.postgres, name, create=True)
        except Exception as exc:  # no server: reported, not a crash
            print(f"  PostgreSQL: not measured ({exc})", flush=True)
            return 0
        try:
            split_file = work / "pg-writer-split.json"
            m = run_measured([sys.executable, "-m", "bench.import", "--writer-split-child", str(src),
                              str(work / "data"), str(split_file)], import_env(url))
            rate = n / m["secs"]
            split = json.loads(split_file.read_text())
            print(f"  PostgreSQL {n:,}: akhbar import {rate:,.0f}/s ({m['secs']:.1f} s); peak RSS all processes "
                  f"{m['peak_all_mb']:.0f} MB; load {os.getloadavg()[0]:.2f}", flush=True)
            print(f"             the writer {split['writer'] / n * 1e3:.2f} ms an article (wall), of which story "
                  f"assignment {split['stories'] / n * 1e3:.2f} ms; workers' CPU "
                  f"{m['child_cpu'] / n * 1e3:.2f} ms an article", flush=True)
            fl_rate = n / floor(src, work / "floor-pg.sqlite3")[0]
            for p in work.glob("floor-pg.sqlite3*"):
                p.unlink()
            pg_rate = n / pg_floor(src, url)
            print(f"             the bare PostgreSQL storage floor (COPY, server-made tsvector under GIN, "
                  f"MinHash-128): {pg_rate:,.0f}/s; the SQLite floor {fl_rate:,.0f}/s", flush=True)
            result("import", f"akhbar import, {n:,} articles into PostgreSQL", round(rate), "articles/s",
                   "bare batched storage floor (SQLite, same run)", round(fl_rate), round(rate / fl_rate, 2),
                   ">= 1,500 articles/s", rate >= 1500, load_avg=round(os.getloadavg()[0], 2),
                   pg_floor=round(pg_rate), ratio_pg_floor=round(rate / pg_rate, 2))
            if not args.no_export:
                e = run_measured([sys.executable, "-m", "crawler.cli", "--data", str(work / "data"), "export",
                                  "--archive", url], import_env(url))
                print(f"  PostgreSQL {n:,}: akhbar export {n / e['secs']:,.0f} articles/s, peak RSS "
                      f"{e['peak_main_mb']:.0f} MB", flush=True)
        finally:
            pg_database(args.postgres, name, create=False)
    shutil.rmtree(work / "data", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
