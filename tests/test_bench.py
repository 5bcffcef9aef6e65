"""The benchmarks' own plumbing: the enlarged snapshot, the bench sources file, bench/run.

Timings are never asserted here (bench/run judges nothing either); these prove the
benchmarks measure what they say: distinct articles served over HTTP, a crawl pointed at
them, results gathered.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path

from crawler.snapshot import SnapshotServer, catalog

ROOT = Path(__file__).resolve().parent.parent


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text)
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def test_enlarged_sample_is_distinct_articles_and_deterministic() -> None:
    base = [r for r in catalog.load_sample() if r["site"] in catalog.FIVE_SITE_IDS]
    records = catalog.enlarged_sample(1200)
    assert len(records) == 1200
    assert records == catalog.enlarged_sample(1200)  # same seed, same bytes served
    assert list(records[: len(base)]) == base  # the bundled sample itself is untouched
    keys = {(r["site"], r["id"]) for r in records}
    assert len(keys) == 1200
    slugs = {(r["site"], r["slug"]) for r in records}
    assert len(slugs) == 1200
    assert {r["site"] for r in records} == set(catalog.FIVE_SITE_IDS)
    variants = records[len(base):]
    assert min(r["age_minutes"] for r in variants) > max(r["age_minutes"] for r in base)
    # a variant shares few 3-word shingles with the text it was made from: its own story
    by_story: dict[str, str] = {}
    for v, r in enumerate(variants[: len(base)]):
        tmpl_text = " ".join(base[v % len(base)]["paragraphs"])  # without a corpus: the sample's own texts
        own = _shingles(" ".join(r["paragraphs"]))
        src = _shingles(tmpl_text)
        assert len(own & src) / len(own | src) < 0.4
        by_story[r["story_key"]] = r["title"]
    assert len(by_story) == len(base)


def test_enlarged_snapshot_serves_every_variant_page() -> None:
    try:
        assert catalog.enlarge(600) == 600
        with SnapshotServer(sites=["le12", "belpresse"]) as srv:
            arts = srv.articles("le12")
            variant = next(a for a in arts if a["id"] >= catalog.ENLARGED_FIRST_ID)
            with urllib.request.urlopen(variant["url"], timeout=10) as resp:
                html = resp.read().decode("utf-8")
            assert variant["title"].split()[0] in html
            api = f"{srv.base_urls['le12']}/wp-json/wp/v2/posts?per_page=100"
            with urllib.request.urlopen(api, timeout=10) as resp:
                assert int(resp.headers["X-WP-Total"]) == len(arts) > 100
    finally:
        catalog.enlarge(None)
    assert len(catalog.sample_records()) == len(catalog.load_sample())


def test_bench_sources_point_every_site_at_the_snapshot(tmp_path: Path) -> None:
    from bench.common import bench_sources
    from crawler.config import load_sources

    urls = {s: f"http://127.0.0.1:{9000 + i}" for i, s in enumerate(sorted(catalog.FIVE_SITE_IDS))}
    path = bench_sources(urls, tmp_path / "sources.toml", max_pages=5000)
    sources = load_sources(path)
    for site, url in urls.items():
        assert sources[site].base_url == url
        assert sources[site].max_pages == 5000
        assert sources[site].sections  # the rest of the file is kept


def test_bench_run_gathers_results_and_reports_broken() -> None:
    run = subprocess.run([str(ROOT / "bench" / "run"), "--quick", "snapshot"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "=== summary" in run.stdout and "snapshot server, cached article pages" in run.stdout
    summary = json.loads((ROOT / "bench" / "out" / "summary-quick.json").read_text(encoding="utf-8"))
    (snap,) = summary["runs"]
    assert snap["broken"] is None and snap["results"][0]["ratio"] > 0
    assert summary["machine"]["cores"] >= 1
    bad = subprocess.run([str(ROOT / "bench" / "run"), "nope"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown benchmark" in bad.stderr

    # a benchmark that dies is reported broken and fails the run
    from bench import runner

    broken = runner.run_one("common", [], 60)  # bench.common has no main: prints no result
    assert broken["broken"] == "printed no result"


def test_fetch_only_fetches_every_page_it_is_given(tmp_path: Path) -> None:
    # The bound bench.crawl puts on any Scrapy crawl against the naive scraper is only a
    # bound if the fetch-only spider really fetched the same pages.
    import sys

    with SnapshotServer(sites=["le12", "rue20"]) as srv:
        urls = [a["url"] for site in ("le12", "rue20") for a in srv.articles(site)][:60]
        (tmp_path / "urls.txt").write_text("\n".join(urls), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "bench.fetch_only", str(tmp_path / "urls.txt")],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        answered = {f"{site}:{path}" for site in ("le12", "rue20") for path in srv.hits(site)}
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["pages"] == len(urls) == 60
    assert out["pages_per_min"] > 0
    paths = {u.split("/", 3)[3] for u in urls}
    assert len({a.split(":", 1)[1].lstrip("/") for a in answered} & paths) == 60
