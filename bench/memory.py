"""Crawler memory over a long crawl: peak RSS and its slope after warm-up.

    .venv/bin/python -m bench.memory [--quick] [--articles 100000] [--corpus PATH]

The same crawl as `bench.crawl` (the five sites of the enlarged snapshot, every pipeline,
politeness lifted on loopback) over ``--articles`` articles (100,000 by default, 2,000
with ``--quick``), the server in its own process with a bounded page cache. The crawler
process's RSS is read from /proc every ``--interval`` seconds beside the number of
articles written so far; its peak is the kernel's high-water mark (``VmHWM``).

Reported: peak RSS (target <= 300 MB) and the growth after warm-up, as the least-squares
slope of RSS against articles crawled over the samples past the first 20 % of the
articles, in MiB per 10,000 articles (flat: ~0). The baseline in the same run is the
RSS right after warm-up; the ratio peak / warm-up says how much the rest of the crawl
added.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.common import OUT, ServerProcess, result
from bench.crawl import run_crawl

DEFAULT_CORPUS = Path("/work/shared/corpus")


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2,000 articles")
    ap.add_argument("--articles", type=int, default=None)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--interval", type=float, default=None, help="seconds between RSS samples (default 1, quick 0.25)")
    ap.add_argument("--warmup", type=float, default=0.2, help="share of the articles counted as warm-up")
    args = ap.parse_args(argv)
    n = args.articles or (2000 if args.quick else 100000)
    interval = args.interval or (0.25 if args.quick else 1.0)
    corpus = args.corpus if args.corpus.exists() else None
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        with ServerProcess(n, corpus, urls_file=work / "urls.txt", cache=2000) as srv:
            print(f"snapshot: {srv.served:,} articles, server up in {srv.start_seconds:.1f}s; crawling ...", flush=True)
            crawl, sampler = run_crawl(srv.base_urls, work, sample_interval=interval)
    samples = sampler.samples
    peak_mib = max(sampler.peak_kib, crawl["maxrss_kib"]) / 1024
    warm = [(items, kib / 1024) for _, items, kib in samples if items >= args.warmup * crawl["articles"]]
    warm_rss = warm[0][1] if warm else (samples[-1][2] / 1024 if samples else 0.0)
    growth = slope(warm) * 10000
    rate = 60 * crawl["articles"] / crawl["seconds"]
    print(f"crawled {crawl['articles']:,} articles in {crawl['seconds']:.0f}s ({rate:,.0f}/min), {crawl['stories']} stories, "
          f"errors {crawl['errors'] or 'none'}")
    print(f"peak RSS {peak_mib:.0f} MiB; RSS after warm-up ({args.warmup:.0%} of the articles) {warm_rss:.0f} MiB; "
          f"slope after warm-up {growth:+.2f} MiB per 10,000 articles ({len(warm)} samples)")
    step = max(1, len(samples) // 12)
    for t, items, kib in samples[::step]:
        print(f"  {t:7.0f}s {items:>8,} articles  RSS {kib / 1024:6.0f} MiB")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"memory-{n}.json").write_text(json.dumps({"articles": n, "crawl": crawl, "peak_mib": peak_mib,
                                                       "warm_mib": warm_rss, "slope_mib_per_10k": growth,
                                                       "samples": samples}, indent=1))
    ratio = peak_mib / warm_rss if warm_rss else None
    result("memory", f"peak RSS, {n:,}-article crawl", round(peak_mib), "MiB", "RSS after warm-up",
           round(warm_rss), round(ratio, 2) if ratio else None, "<= 300 MB", peak_mib * 2**20 <= 300e6)
    result("memory", f"RSS slope after warm-up, {n:,}-article crawl", round(growth, 2), "MiB/10k articles",
           "", None, None, "flat (< 2 MiB per 10k)", growth < 2)
    return 0 if crawl["articles"] >= 0.99 * n else 2  # articles missing: broken, not slow


if __name__ == "__main__":
    raise SystemExit(main())
