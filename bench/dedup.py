"""Dedup benchmark: quality on labelled pairs, throughput and memory at scale, each
against datasketch's plain in-memory ``MinHashLSH`` (128 permutations, threshold
0.7) on the same data in the same run.

    .venv/bin/python -m bench.dedup [--corpus /work/shared/corpus] [--sizes 10000,100000,1000000]
                                    [--baseline-max 100000] [--workdir DIR]

1. Quality: labelled pairs built from the corpus by scripts/build_dedup_pairs.py
   (every republishing edit, hard negatives of the same category and day, templated
   series). Ours: the archive path (SQLite, `crawler.dedup.stories.rebuild`); pairs
   are "same story" or not. Baseline: a pair is one story when LSH makes them
   candidates (connected components), on plain normalised word 3-shingles.
2. Scale: synthetic articles made from the corpus (each word replaced by a random
   corpus word with probability 0.5, so texts are new; 10 % are republished copies
   of a recent article with an edit: dateline, truncated, closing added, lead or tail
   replaced by another article's text, so every matching path works too) are bulk-loaded
   into a SQLite archive (not timed), then given stories in one streaming pass
   (timed, end to end: read text from the archive, fingerprint, LSH lookup,
   verification, index and story writes, articles.story_id / is_canonical). Reported:
   docs/s overall at each size, the per-document cost in a window at each size (the
   growth), RSS and Python heap growth per archived document.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench.common import result  # noqa: E402
from crawler.arabic import tokens  # noqa: E402
from crawler.archive import open_archive  # noqa: E402
from crawler.dedup.stories import ArchiveDedup, iter_article_rows, rebuild  # noqa: E402

WINDOW = 2000


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- quality -----------------------------------------------------------------------------

def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(pairs: list[dict[str, Any]], same: Any) -> dict[str, Any]:
    tp = fp = fn = 0
    series_fp = 0
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pr in pairs:
        s = same(pr["a"], pr["b"])
        ok = s == bool(pr["label"])
        by_kind[pr["kind"]][0 if ok else 1] += 1
        if pr["label"] and s:
            tp += 1
        elif pr["label"]:
            fn += 1
        elif s:
            fp += 1
            series_fp += pr["kind"].startswith("series")
    p, r, f = _prf(tp, fp, fn)
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "fp": fp, "fn": fn, "series_fp": series_fp,
            "template_fp": sum(by_kind[k][1] for k in by_kind if k.startswith("template") and not k.endswith("republished")),
            "errors_by_kind": {k: v[1] for k, v in sorted(by_kind.items()) if v[1]},
            "by_kind": {k: {"pairs": v[0] + v[1], "wrong": v[1]} for k, v in sorted(by_kind.items())}}


REWRITE_KINDS = ("edit:lead_paragraph_swapped", "edit:tail_replaced", "edit:sentences_deleted", "edit:paragraphs_reordered")


def print_kinds(pairs: list[dict[str, Any]], ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    """Per pair kind: a positive kind's recall, a negative kind's false positives; and
    P/R/F1 on each partial-rewrite kind judged with all the negatives (precision is
    a property of the whole set, so it is the same on every row)."""
    label = {p["kind"]: p["label"] for p in pairs}
    print(f"  {'kind':32s} {'pairs':>6s}  {'ours':>12s}  {'baseline':>12s}")
    for kind, v in ours["by_kind"].items():
        b = theirs["by_kind"][kind]
        what = "recall" if label[kind] else "false pos"
        def cell(x: dict[str, int], positive: bool = label[kind]) -> str:
            return f"{1 - x['wrong'] / x['pairs']:.4f}" if positive else f"{x['wrong']:d}"
        print(f"  {kind:32s} {v['pairs']:6d}  {cell(v):>12s}  {cell(b):>12s}  ({what})")
    neg_fp = ours["fp"]
    for kind in REWRITE_KINDS:
        v = ours["by_kind"].get(kind)
        if v:
            tp, fn = v["pairs"] - v["wrong"], v["wrong"]
            p_, r_, f_ = _prf(tp, neg_fp, fn)
            print(f"  {kind:32s} P {p_:.4f}  R {r_:.4f}  F1 {f_:.4f}")


def plain_shingles(title: str, body: str) -> set[bytes]:
    toks = tokens(body or title or "")
    if len(toks) < 3:
        return {" ".join(toks).encode()}
    return {f"{toks[i]} {toks[i + 1]} {toks[i + 2]}".encode() for i in range(len(toks) - 2)}


class Baseline:
    """datasketch MinHashLSH, 128 permutations, threshold 0.7, in memory; candidates
    are duplicates (union-find)."""

    def __init__(self) -> None:
        from datasketch import MinHash, MinHashLSH

        self._MinHash = MinHash
        self.lsh = MinHashLSH(threshold=0.7, num_perm=128)
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def add(self, key: str, title: str, body: str) -> None:
        m = self._MinHash(num_perm=128)
        m.update_batch(list(plain_shingles(title, body)))
        self.parent[key] = key
        for other in self.lsh.query(m):
            ra, rb = self.find(key), self.find(other)
            if ra != rb:
                self.parent[ra] = rb
        self.lsh.insert(key, m)


def quality(corpus: Path, workdir: Path) -> dict[str, Any]:
    from build_dedup_pairs import build, load

    recs = build(load(corpus), seed=7, bases=300, small=None)
    docs = [r for r in recs if r["type"] == "doc"]
    pairs = [r for r in recs if r["type"] == "pair"]
    url = f"sqlite:///{workdir / 'quality.sqlite3'}"
    with open_archive(url) as archive:
        from crawler.items import Article

        with archive.transaction():
            for d in docs:
                archive.upsert_article(Article(
                    url=f"https://{d['source']}.example/{d['id']}", source=d["source"], title=d["title"],
                    body_text=d["body"], date_published=datetime.fromisoformat(d["published"]).replace(tzinfo=UTC)))
        t0 = time.perf_counter()
        rebuild(archive)
        ours_secs = time.perf_counter() - t0
        sid = {r["url"].rsplit("/", 1)[1]: r["story_id"] for r in archive.fetch("SELECT url, story_id FROM articles")}
    ours = score(pairs, lambda a, b: sid[a] == sid[b])
    base = Baseline()
    t0 = time.perf_counter()
    for d in sorted(docs, key=lambda d: (d["published"], d["id"])):
        base.add(d["id"], d["title"], d["body"])
    base_secs = time.perf_counter() - t0
    theirs = score(pairs, lambda a, b: base.find(a) == base.find(b))
    return {"documents": len(docs), "pairs": len(pairs), "positives": sum(p["label"] for p in pairs), "pair_list": pairs,
            "ours": ours, "baseline": theirs, "ours_secs": ours_secs, "baseline_secs": base_secs}


# --- scale ---------------------------------------------------------------------------------

class Synth:
    """New articles from corpus text: words replaced at random from the corpus vocabulary."""

    def __init__(self, corpus_docs: list[dict[str, Any]], seed: int = 11) -> None:
        self.docs = corpus_docs
        self.words = [d["body"].split() for d in corpus_docs]
        vocab = sorted({w for ws in self.words for w in ws})
        self.vocab = np.array(vocab, dtype=object)
        self.rng = np.random.default_rng(seed)
        self.prng = random.Random(seed)
        self.recent: list[tuple[str, str]] = []
        self.copies = 0

    def make(self, i: int) -> tuple[str, str, bool]:
        if self.recent and self.prng.random() < 0.10:
            title, body = self.prng.choice(self.recent[-1000:])
            edit = self.prng.randrange(5)
            if edit == 0:
                body = "هبة بريس - الرباط: " + body
            elif edit == 1:
                body = body[: int(len(body) * 0.6)]
            elif edit == 2:
                body = body + " وفي سياق متصل، أكد عدد من المهتمين أن هذه الخطوة تأتي في إطار تنزيل التوجهات الكبرى."
            else:  # partial rewrites: the lead (a fifth) or the tail (a quarter) replaced
                # by as much of another report's text
                other = self.prng.choice(self.recent[-1000:])[1]
                cut = body.find(" ", int(len(body) * (0.2 if edit == 3 else 0.75)))
                if cut > 0:
                    body = (other[:cut] + body[cut:]) if edit == 3 else (body[:cut] + other[-(len(body) - cut):])
            self.copies += 1
            return title, body, True
        base = self.words[i % len(self.words)]
        arr = np.array(base, dtype=object)
        mask = self.rng.random(len(arr)) < 0.5
        arr[mask] = self.vocab[self.rng.integers(0, len(self.vocab), int(mask.sum()))]
        body = " ".join(arr.tolist())
        title = " ".join(arr[:8].tolist())
        self.recent.append((title, body))
        if len(self.recent) > 2000:
            del self.recent[:1000]
        return title, body, False


def load_synthetic(path: Path, n: int, synth: Synth) -> dict[int, bool]:
    """Bulk-load n synthetic articles straight into the archive's articles table (not
    timed: this is the archive's job). Returns id -> is an injected copy."""
    archive = open_archive(f"sqlite:///{path}")
    archive.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    copies: dict[int, bool] = {}
    batch = []
    now = datetime.now(UTC).isoformat()
    for i in range(1, n + 1):
        title, body, is_copy = synth.make(i)
        copies[i] = is_copy
        published = start + timedelta(seconds=30 * i)
        batch.append((i, f"//synthetic.example/{i}", i * 1000, f"https://synthetic.example/{i}", "synthetic",
                      title, body, published.strftime("%Y-%m-%dT%H:%M:%S+00:00"), now, now))
        if len(batch) == 20000:
            conn.executemany("INSERT INTO articles (id, url_key, sort_key, url, source, title, body_text, "
                             "date_published, archived_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
            conn.commit()
            batch = []
    if batch:
        conn.executemany("INSERT INTO articles (id, url_key, sort_key, url, source, title, body_text, "
                         "date_published, archived_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
        conn.commit()
    conn.close()
    return copies


def scale(corpus_docs: list[dict[str, Any]], sizes: list[int], baseline_max: int, workdir: Path,
          workers: int | None) -> dict[str, Any]:
    n = max(sizes)
    synth = Synth(corpus_docs)
    path = workdir / "scale.sqlite3"
    t0 = time.perf_counter()
    copies = load_synthetic(path, n, synth)
    load_secs = time.perf_counter() - t0
    print(f"  loaded {n} synthetic articles ({synth.copies} republished copies) in {load_secs:.0f}s", flush=True)

    checkpoints = sorted(set(sizes))
    windows = {c: (max(0, c - WINDOW), c) for c in checkpoints}
    archive = open_archive(f"sqlite:///{path}")
    dedup = ArchiveDedup(archive)
    gc.collect()
    marks: dict[int, dict[str, float]] = {}
    t_start = time.perf_counter()
    cpu_start = time.process_time()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    win_t: dict[int, float] = {c: t_start for c, (lo, _) in windows.items() if lo == 0}
    win_cpu: dict[int, float] = {c: cpu_start for c, (lo, _) in windows.items() if lo == 0}
    pending = list(checkpoints)

    def progress(done: int) -> None:
        now = time.perf_counter()
        for c, (lo, _hi) in windows.items():
            if done == lo:
                win_t[c] = now
                win_cpu[c] = time.process_time()
        while pending and done >= pending[0]:
            c = pending.pop(0)
            marks[c] = {"secs": now - t_start, "cpu_main": time.process_time() - cpu_start,
                        "window_us": (now - win_t.get(c, now)) / max(1, c - windows[c][0]) * 1e6,
                        "window_main_cpu_us": (time.process_time() - win_cpu.get(c, 0.0)) / max(1, c - windows[c][0]) * 1e6,
                        "rss": rss_bytes(), "blocks": sys.getallocatedblocks()}
            print(f"  {c:>8} archived: {c / marks[c]['secs']:.0f} docs/s overall, "
                  f"{marks[c]['window_us']:.0f} µs/doc in the last {WINDOW}, RSS {marks[c]['rss'] / 2**20:.0f} MiB, "
                  f"{marks[c]['blocks']} Python objects", flush=True)

    dedup.add_stream(iter_article_rows(archive, batch=500, texts=False), workers=workers, known_new=True, progress=progress)
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    main_cpu = time.process_time() - cpu_start
    worker_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    wall = time.perf_counter() - t_start
    # injected copies joined to something, originals merged with something (false merges)
    sizes_by_story: dict[str, int] = defaultdict(int)
    story_of: dict[int, str] = {}
    for r in archive.iter_rows("SELECT id, story_id FROM articles"):
        story_of[r["id"]] = r["story_id"]
        sizes_by_story[r["story_id"]] += 1
    joined = sum(1 for i, c in copies.items() if c and sizes_by_story[story_of[i]] > 1)
    n_copies = sum(copies.values())
    archive.close()
    db_bytes = sum(p.stat().st_size for p in workdir.glob("scale.sqlite3*"))

    base: dict[int, dict[str, float]] = {}
    bsizes = [c for c in checkpoints if c <= baseline_max]
    if bsizes:
        bl = Baseline()
        synth_b = Synth(corpus_docs)
        gc.collect()
        rss0 = rss_bytes()
        spent = 0.0  # time in the baseline only (texts are synthesised outside it)
        win_start = 0.0
        bi = 0
        for i in range(1, max(bsizes) + 1):
            if bi < len(bsizes) and i - 1 == bsizes[bi] - WINDOW:
                win_start = spent
            title, body, _ = synth_b.make(i)
            t0 = time.perf_counter()
            bl.add(str(i), title, body)
            spent += time.perf_counter() - t0
            if bi < len(bsizes) and i == bsizes[bi]:
                base[i] = {"secs": spent, "window_us": (spent - win_start) / WINDOW * 1e6, "rss": rss_bytes() - rss0}
                print(f"  baseline {i:>8}: {i / base[i]['secs']:.0f} docs/s, "
                      f"{base[i]['window_us']:.0f} µs/doc, RSS +{base[i]['rss'] / 2**20:.0f} MiB", flush=True)
                bi += 1
        del bl
    return {"n": n, "marks": marks, "baseline": base, "copies": n_copies, "copies_joined": joined,
            "main_cpu_us": main_cpu / n * 1e6, "worker_cpu_us": worker_cpu / n * 1e6, "wall_us": wall / n * 1e6,
            "stories": len(sizes_by_story), "db_bytes": db_bytes, "load_secs": load_secs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="/work/shared/corpus")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--baseline-max", type=int, default=100000, help="largest size the in-memory baseline runs at")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--workers", type=int, default=None, help="fingerprint processes (default: one per core)")
    ap.add_argument("--workdir", default=None, help="where the benchmark archives go (default: a temp dir)")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-dedup-"))
    workdir.mkdir(parents=True, exist_ok=True)
    from build_dedup_pairs import load

    corpus_docs = load(Path(args.corpus))
    out: dict[str, Any] = {}
    try:
        if not args.skip_quality:
            print("quality on labelled pairs ...", flush=True)
            q = quality(Path(args.corpus), workdir)
            out["quality"] = {k: v for k, v in q.items() if k != "pair_list"}
            o, b = q["ours"], q["baseline"]
            print(f"  {q['documents']} documents, {q['pairs']} labelled pairs ({q['positives']} positive)")
            print(f"  ours:     P {o['precision']:.4f}  R {o['recall']:.4f}  F1 {o['f1']:.4f}  "
                  f"(fp {o['fp']}, fn {o['fn']}, series fp {o['series_fp']}) {o['errors_by_kind']}")
            print(f"  baseline: P {b['precision']:.4f}  R {b['recall']:.4f}  F1 {b['f1']:.4f}  "
                  f"(fp {b['fp']}, fn {b['fn']}, series fp {b['series_fp']}) {b['errors_by_kind']}")
            print(f"  F1 ratio ours/baseline: {o['f1'] / max(b['f1'], 1e-9):.3f}; template false positives: "
                  f"ours {o['template_fp']}, baseline {b['template_fp']}", flush=True)
            print_kinds(q["pair_list"], o, b)
            result("dedup", f"dedup F1, {q['pairs']} labelled pairs (P {o['precision']:.3f}, series fp {o['series_fp']}, "
                   f"template fp {o['template_fp']})",
                   round(o["f1"], 4), "F1", "datasketch MinHashLSH", round(b["f1"], 4), round(o["f1"] / max(b["f1"], 1e-9), 3),
                   "F1 >= 0.99, precision 1.0", o["f1"] >= 0.99 and o["precision"] == 1.0)
        print(f"scale: sizes {sizes} ...", flush=True)
        s = scale(corpus_docs, sizes, args.baseline_max, workdir, args.workers)
        out["scale"] = s
        marks, base = s["marks"], s["baseline"]
        first, last = min(marks), max(marks)
        print(f"  republished copies joined to their story: {s['copies_joined']}/{s['copies']}; "
              f"{s['stories']} stories; archive on disk {s['db_bytes'] / 2**30:.2f} GiB")
        for c in sorted(marks):
            m = marks[c]
            line = f"  {c:>8}: ours {c / m['secs']:.0f} docs/s ({m['window_us']:.0f} µs/doc in window)"
            if c in base:
                line += (f"; baseline {c / base[c]['secs']:.0f} docs/s ({base[c]['window_us']:.0f} µs/doc); "
                         f"ratio {(c / m['secs']) / (c / base[c]['secs']):.2f}x")
            print(line)
        for c in sorted(marks):
            if c in base:
                ours_rate, base_rate = c / marks[c]["secs"], c / base[c]["secs"]
                result("dedup", f"dedup throughput, {c:,} docs into a SQLite archive", round(ours_rate), "docs/s",
                       "datasketch MinHashLSH in memory", round(base_rate), round(ours_rate / base_rate, 2), ">= 2,000 docs/s",
                       ours_rate >= 2000)
        growth = marks[last]["window_us"] / marks[first]["window_us"]
        cpu_growth = marks[last]["window_main_cpu_us"] / marks[first]["window_main_cpu_us"]
        print(f"  per-document cost at {last} / at {first}: {growth:.2f}x wall, {cpu_growth:.2f}x CPU of the serial part "
              f"({marks[first]['window_main_cpu_us']:.0f} -> {marks[last]['window_main_cpu_us']:.0f} µs)")
        m_us, w_us = s["main_cpu_us"], s["worker_cpu_us"]
        est = min(1e6 / m_us, 2e6 / (m_us + w_us))
        print(f"  CPU per document: {m_us:.0f} µs serial (lookups, writes) + {w_us:.0f} µs in fingerprint workers; "
              f"wall {s['wall_us']:.0f} µs on this shared machine (load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); "
              f"CPU-bound on 2 free cores: {est:.0f} docs/s")
        if last > first:
            per_doc = (marks[last]["rss"] - marks[first]["rss"]) / (last - first)
            objs = (marks[last]["blocks"] - marks[first]["blocks"]) / (last - first)
            print(f"  memory growth per archived document between {first} and {last}: RSS {per_doc:.1f} B, "
                  f"Python objects {objs:.3f}")
            bl = [c for c in base if c > min(base)] if base else []
            if bl:
                c0, c1 = min(base), max(base)
                print(f"  baseline memory growth per document between {c0} and {c1}: "
                      f"{(base[c1]['rss'] - base[c0]['rss']) / (c1 - c0):.0f} B")
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps(out, indent=2, default=str))
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
