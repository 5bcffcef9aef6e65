"""The naive scraper a user would otherwise write: one `requests.Session`, one article
page after another, BeautifulSoup, a few CSS selectors, one JSON line per article.

    .venv/bin/python -m bench.naive [--pages 1500] [--articles 20000] [--latency-ms 0]

Alone, it serves the enlarged snapshot (`bench.site_server`, its own process) and prints the
naive scraper's pages per minute; `bench.crawl` runs the same function as its baseline.
It parses with ``BeautifulSoup(html, "lxml")``, the fastest parser bs4 offers (the
default ``html.parser`` is ~2x slower), so the baseline is flattered, not handicapped.
It neither parses dates nor classifies, archives or dedupes: it is only fetch + pick.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from bench.common import ServerProcess, result, spread

DEFAULT_CORPUS = Path("/work/shared/corpus")


# (title, displayed date, body paragraphs) per site, as docs/snapshot-contract.md describes
# each site's markup: what a user would read off the page in a browser's inspector.
SELECTORS = {
    "hespress": ("h1.post-title", "span.date-post", "div.article-content p"),
    "hibapress": ("h1.post-title", "span.date.meta-item", ".entry-content p"),
    "le12": (".entry-header h1", "span.entry-time", ".entry-content p"),
    "rue20": ("h1.entry-title", "time.entry-date", "div.entry-content p"),
    "belpresse": ("div.bp-headline h1", "span.bp-date", "div.bp-text p"),
}


def naive_scrape(pages: list[tuple[str, str]], out: Path) -> float:
    """Fetch, soup, pick, write, sequentially, over (site, url) pairs. Returns pages per minute."""
    import requests
    from bs4 import BeautifulSoup

    session = requests.Session()
    t = time.perf_counter()
    with out.open("w", encoding="utf-8") as fh:
        for site, url in pages:
            resp = session.get(url, timeout=30)
            resp.raise_for_status()
            soup = BeautifulSoup(resp.content, "lxml")
            title_css, date_css, body_css = SELECTORS[site]
            title = soup.select_one(title_css)
            date = soup.select_one(date_css)
            paras = [p.get_text(" ", strip=True) for p in soup.select(body_css)]
            fh.write(json.dumps({
                "url": url,
                "title": title.get_text(" ", strip=True) if title else None,
                "date": date.get_text(" ", strip=True) if date else None,
                "body": "\n\n".join(p for p in paras if p),
            }, ensure_ascii=False) + "\n")
    return 60 * len(pages) / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="200 pages of a 2,000-article snapshot")
    ap.add_argument("--pages", type=int, default=None)
    ap.add_argument("--articles", type=int, default=None)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="server answers each request after this delay")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = ap.parse_args(argv)
    n = args.articles or (2000 if args.quick else 20000)
    pages = args.pages or (200 if args.quick else 1500)
    with tempfile.TemporaryDirectory(prefix="bench-naive-") as tmp:
        work = Path(tmp)
        corpus = args.corpus if args.corpus.exists() else None
        with ServerProcess(n, corpus, urls_file=work / "urls.txt", latency_ms=args.latency_ms) as srv:
            urls = spread(srv.site_urls(), pages)
            rate = naive_scrape(urls, work / "naive.jsonl")
            rows = [json.loads(line) for line in (work / "naive.jsonl").open(encoding="utf-8")]
    complete = sum(bool(r["title"] and r["body"]) for r in rows)
    print(f"naive requests + BeautifulSoup(lxml): {rate:,.0f} pages/min over {pages} pages "
          f"(latency {args.latency_ms:g} ms); title and body found on {complete}/{len(rows)}")
    result("naive", f"naive scraper alone (latency {args.latency_ms:g} ms)", round(rate), "pages/min",
           "", None, None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
